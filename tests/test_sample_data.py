"""The shipped sample export (data/customers.*): reproducible, and as messy as promised."""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.util
import re
import sys
import unicodedata
from pathlib import Path
from types import ModuleType

import polars as pl
import pytest
from polars.testing import assert_frame_equal

DATA = Path(__file__).resolve().parents[1] / "data"
PARQUET = DATA / "customers.parquet"
CSV = DATA / "customers.csv"
COLUMNS = [
    "customer_id", "email", "phone", "first_name", "last_name", "gender", "birth_date",
    "city", "state", "zip", "country", "madid", "value",
]
UUID = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
ZERO_MADID = "00000000-0000-0000-0000-000000000000"


def _load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("audframe_make_sample", DATA / "make_sample.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look the module up while it executes
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def df() -> pl.DataFrame:
    return pl.read_parquet(PARQUET)


def _values(df: pl.DataFrame, column: str) -> set[str]:
    return set(df[column].drop_nulls().to_list())


def _count(df: pl.DataFrame, expr: pl.Expr) -> int:
    return int(df.select(expr.fill_null(False).sum()).item())


# -- reproducibility ---------------------------------------------------------------


def test_regenerating_gives_the_shipped_files(tmp_path: Path) -> None:
    make_sample = _load_generator()
    make_sample.write_sample(tmp_path)
    assert (tmp_path / "customers.csv").read_bytes() == CSV.read_bytes()
    assert_frame_equal(
        pl.read_parquet(tmp_path / "customers.parquet"), pl.read_parquet(PARQUET)
    )


def test_csv_and_parquet_hold_the_same_cells(df: pl.DataFrame) -> None:
    # every column read as text: "" and null stay distinct, whitespace survives
    from_csv = pl.read_csv(CSV, infer_schema=False).with_columns(pl.col("value").cast(pl.Float64))
    assert_frame_equal(from_csv, df)


def test_shape_columns_and_size(df: pl.DataFrame) -> None:
    assert df.height == 10_000
    assert df.columns == COLUMNS
    assert all(dtype == pl.String for dtype in df.drop("value").dtypes)
    assert df.schema["value"] == pl.Float64
    assert PARQUET.stat().st_size + CSV.stat().st_size < 4 * 1024 * 1024


# -- Meta's documented examples are in the first rows ------------------------------


def test_meta_vectors_row(df: pl.DataFrame) -> None:
    first = df.row(0, named=True)
    assert first["email"] == "John_Smith@gmail.com"
    assert first["phone"] == "(650)555-1212"
    assert first["first_name"] == "Mary"
    assert first["birth_date"] == "2/16/1997"
    assert first["country"] == "United States"
    assert {"정", "Valéry"} <= _values(df, "first_name")


def test_seed_payload_rows(df: pl.DataFrame) -> None:
    rows = df.filter(pl.col("email").str.contains(r"^test[1-4]@example\.com$")).sort("email")
    assert rows["email"].to_list() == [f"test{i}@example.com" for i in range(1, 5)]
    assert rows["value"].to_list() == [44.5, 140.0, 0.0, 0.9]


# -- the mess ----------------------------------------------------------------------


def test_phones(df: pl.DataFrame) -> None:
    phones = _values(df, "phone")
    for literal in ("+44 20 7183 8750", "020 7183 8750", "00442071838750", "650.555.1212 x123",
                    "16505551212", "06 6982 0000", "8 (495) 123-45-67"):
        assert literal in phones
    p = pl.col("phone").str.strip_chars()
    assert _count(df, p.str.starts_with("+")) >= 1000
    assert _count(df, p.str.contains(r"^00[1-9]")) >= 100
    assert _count(df, p.str.contains(r"^\(\d{3}\) ?\d{3}-\d{4}$")) >= 100
    assert _count(df, p.str.contains(r"^\d{3}\.\d{3}\.\d{4}$")) >= 50
    assert _count(df, p.str.contains(r"^0\d")) >= 300  # national with trunk prefix
    assert _count(df, p.str.contains(r"(?i)(x|ext\.?|#)\s*\d+$")) >= 50  # extensions
    digits = p.str.replace_all(r"\D", "").str.len_chars()
    assert _count(df, (digits > 0) & (digits < 7)) >= 20  # too short
    assert _count(df, p.str.contains(r"^[A-Za-z /]+$")) >= 20  # letters only
    assert _count(df, p.str.contains(r"^[0\D]+$") & p.str.contains("0")) >= 5  # all zeros
    # numbers from many countries, and a country column to read them with
    codes = df.select(p.str.extract(r"^\+(\d{1,2})").drop_nulls().unique()).to_series()
    assert {"1", "44", "33", "49", "39", "82", "81", "7", "55", "52"} <= set(codes.to_list())


def test_countries(df: pl.DataFrame) -> None:
    countries = _values(df, "country")
    for spelling in ("United States", "USA", "US", "us", "United States of America",
                     "United Kingdom", "UK", "GB", "France", "Germany", "DE", "Canada"):
        assert spelling in countries
    assert {"Deutschland", "Narnia"} <= countries  # unknown to an English/ISO lookup
    c = pl.col("country")
    assert _count(df, c.is_null()) >= 100
    assert _count(df, c == "") >= 100
    assert _count(df, (c != "") & (c.str.strip_chars() == "")) >= 10


def test_names(df: pl.DataFrame) -> None:
    first, last = _values(df, "first_name"), _values(df, "last_name")
    assert {"Valéry", "Émilie", "정", "Mary Jane", "Jean-Luc", "Иван", "محمد", "陽菜"} <= first
    assert {"O'Brien", "Smith-Jones", "Müller", "D'Angelo", "Van Buren"} <= last
    fn = pl.col("first_name")
    assert _count(df, fn.str.contains(r"\p{Hangul}")) >= 50
    assert _count(df, fn.str.contains(r"\p{Cyrillic}")) >= 50
    assert _count(df, fn.str.contains(r"\p{Arabic}")) >= 10
    assert _count(df, fn.str.contains(r"\p{Han}")) >= 20
    assert _count(df, fn.str.contains(r"[À-ÿ]")) >= 300  # Latin accents
    assert _count(df, fn == fn.str.to_uppercase()) >= 100  # SHOUTED (or caseless scripts)
    # accents decomposed (NFD), as some exports write them
    nfd = [v for v in first | last if unicodedata.normalize("NFC", v) != v]
    assert len(nfd) >= 10


def test_cities_and_states(df: pl.DataFrame) -> None:
    cities, states = _values(df, "city"), _values(df, "state")
    assert {"Москва", "São Paulo", "Montréal", "서울", "東京", "Saint-Étienne", "دبي"} <= cities
    assert {"California", "CA", "N.Y.", "new york", "Massachusetts", "MA"} <= states
    assert {"Ontario", "ON", "QC", "Québec", "British Columbia", "B.C."} <= states  # Canada
    assert {"Île-de-France", "Bavaria", "Bayern", "Greater London"} <= states  # elsewhere


def test_zips(df: pl.DataFrame) -> None:
    zips = _values(df, "zip")
    assert {"94035-1234", "2134", "SW1A 1AA", "00184", "H3B 4W8"} <= zips
    z = pl.col("zip")
    assert _count(df, z.str.contains(r"^\d{5}-\d{4}$")) >= 100  # ZIP+4
    assert _count(df, z.str.contains(r"^[A-Z]{1,2}\d[A-Z\d]? \d[A-Z]{2}$")) >= 100  # UK
    # integer ZIPs that lost their leading zero: 4 digits in New England / New Jersey
    new_england = pl.col("state").str.strip_chars().str.to_lowercase().is_in(
        ["ma", "massachusetts", "mass.", "nj", "new jersey", "ct", "connecticut", "ri"]
    )
    assert _count(df, z.str.contains(r"^\d{4}$") & new_england) >= 50


def test_birth_dates(df: pl.DataFrame) -> None:
    b = pl.col("birth_date").str.strip_chars()
    shapes = {
        r"^\d{4}-\d{2}-\d{2}$": 500, r"^\d{4}/\d{2}/\d{2}$": 200, r"^\d{8}$": 200,
        r"^\d{1,2}/\d{1,2}/\d{4}$": 500,
    }
    for shape, at_least in shapes.items():
        assert _count(df, b.str.contains(shape)) >= at_least, shape
    assert "1997-02-30" in _values(df, "birth_date")

    impossible = future = early = 0
    today = dt.date.today()
    for text in _values(df, "birth_date"):
        m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", text)
        if not m:
            continue
        y, mo, d = map(int, m.groups())
        try:
            date = dt.date(y, mo, d)
        except ValueError:
            impossible += 1
            continue
        future += date > today
        early += y < 1900
    assert impossible >= 20 and future >= 20 and early >= 20


def test_madids(df: pl.DataFrame) -> None:
    m = pl.col("madid")
    assert _count(df, m.str.contains(r"^[0-9A-F-]{36}$") & m.str.contains(UUID)) >= 500
    assert _count(df, m.str.contains(r"^[0-9a-f-]{36}$") & m.str.contains(UUID)) >= 500
    assert _count(df, m == ZERO_MADID) >= 50
    garbage = ~m.str.contains(UUID) & (m.str.strip_chars() != "")
    assert _count(df, garbage) >= 50


def test_emails(df: pl.DataFrame) -> None:
    e = pl.col("email")
    assert _count(df, e.str.contains(r"^[0-9a-f]{64}$")) >= 100  # pre-hashed
    assert _count(df, e.str.contains(r"^[0-9A-F]{64}$")) >= 30  # pre-hashed, upper hex
    prehashed = _values(df.filter(e.str.contains(r"^[0-9a-fA-F]{64}$")), "email")
    assert hashlib.sha256(b"hashed.customer@example.com").hexdigest() in prehashed
    assert hashlib.sha256(b"hashed.upper@example.com").hexdigest().upper() in prehashed
    not_hashed = ~e.str.contains(r"^[0-9a-fA-F]{64}$") & (e.str.strip_chars() != "")
    assert _count(df, not_hashed & ~e.str.contains("@")) >= 20  # no @
    assert _count(df, e.str.contains(r"@\s*$")) >= 5  # no domain
    assert _count(df, e.str.contains(r"@[^.@\s]+\s*$")) >= 20  # domain without a dot
    assert _count(df, e.str.contains(r"@@")) >= 5
    assert _count(df, e.str.contains(r"[A-Z]")) >= 300  # capitals
    assert _count(df, e.str.contains(r"^\s|\s$")) >= 50  # padded with spaces or tabs


def test_genders(df: pl.DataFrame) -> None:
    genders = _values(df, "gender")
    assert {"M", "F", "male", "Female", "Mr", "Mrs", "unknown", "X"} <= genders


def test_duplicates(df: pl.DataFrame) -> None:
    assert df.height - df.unique().height >= 50  # the same row exported twice
    retyped = (
        df.filter(pl.col("email").str.contains("@"))
        .with_columns(norm=pl.col("email").str.strip_chars().str.to_lowercase())
        .group_by("norm")
        .agg(pl.col("customer_id").n_unique().alias("ids"), pl.col("email").n_unique())
        .filter((pl.col("ids") > 1) & (pl.col("email") > 1))
    )
    assert retyped.height >= 50  # the same person again, typed differently


def test_blank_and_whitespace_cells(df: pl.DataFrame) -> None:
    for column in ("email", "phone", "first_name", "last_name", "city", "state", "birth_date"):
        c = pl.col(column)
        assert _count(df, c.is_null()) >= 10, column
        assert _count(df, c == "") >= 10, column
        assert _count(df, (c != "") & (c.str.strip_chars() == "")) >= 10, column


def test_values(df: pl.DataFrame) -> None:
    v = pl.col("value")
    assert _count(df, v < 0) >= 50
    assert _count(df, v.is_null()) >= 50
    assert _count(df, v == 0) >= 50
    assert _count(df, v > 1000) >= 10


# -- the benchmark data generator (benchmarks/make_data.py): no timing here ------------


@pytest.fixture(scope="module")
def make_data() -> ModuleType:
    path = DATA.parent / "benchmarks" / "make_data.py"
    spec = importlib.util.spec_from_file_location("audframe_bench_make_data", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bench_rows(make_data: ModuleType) -> pl.DataFrame:
    rows: pl.DataFrame = make_data.make_rows(5_000)
    return rows


def test_benchmark_rows_are_deterministic_and_chunk_independent(
    make_data: ModuleType, bench_rows: pl.DataFrame
) -> None:
    assert bench_rows.columns == [
        "email", "phone", "country", "first_name", "last_name", "city", "state", "zip",
    ]
    assert all(dtype == pl.String for dtype in bench_rows.dtypes)
    assert_frame_equal(make_data.make_rows(5_000), bench_rows)
    assert_frame_equal(make_data.make_chunk(1_000, 500), bench_rows.slice(1_000, 500))
    assert not make_data.make_chunk(0, 200, seed=1).equals(bench_rows.head(200))


def test_benchmark_rows_look_like_an_export(bench_rows: pl.DataFrame) -> None:
    rows = bench_rows
    assert rows["email"].n_unique() > 0.95 * rows.height
    assert rows["phone"].n_unique() > 0.95 * rows.height
    assert 20 <= rows["country"].n_unique() <= 60
    p = pl.col("phone").str.strip_chars()
    codes = rows.select(p.str.extract(r"^\+(\d{1,2}) ").drop_nulls().unique()).to_series()
    assert set(codes.to_list()) == {"1", "44", "49", "33", "39", "34", "55", "52", "91"}
    assert _count(rows, p.str.starts_with("+")) > 0.3 * rows.height
    assert _count(rows, p.str.contains(r"^[0(]")) > 0.2 * rows.height  # national formats
    assert _count(rows, pl.col("zip").str.contains(r"^\d{5}-\d{4}$")) > 50


def test_benchmark_parquet_is_written_in_chunks(
    make_data: ModuleType, bench_rows: pl.DataFrame, tmp_path: Path
) -> None:
    path = make_data.write_parquet(tmp_path / "rows.parquet", 1_500, chunk_rows=1_000)
    assert_frame_equal(pl.read_parquet(path), bench_rows.head(1_500))
