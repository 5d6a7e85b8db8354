"""audframe.prepare: normalize and hash in one pass, equal to hash(normalize(...))."""

from __future__ import annotations

import hashlib
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

import audframe
from audframe.errors import ColumnNotFoundError
from audframe.keys import HASHED_KEYS

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "customers.parquet"


def chained(frame: pl.DataFrame, **options: object) -> pl.DataFrame:
    hash_extern_id = bool(options.pop("hash_extern_id", False))
    use_plugin = options.pop("use_plugin", None)
    normalized = audframe.normalize(frame, **options)  # type: ignore[arg-type]
    return audframe.hash(normalized, hash_extern_id=hash_extern_id,
                         use_plugin=use_plugin)  # type: ignore[arg-type]


@pytest.mark.parametrize("hash_extern_id", [False, True])
@pytest.mark.parametrize("use_plugin", [True, False], ids=["plugin", "hashlib"])
def test_the_sample_data_comes_out_as_normalize_then_hash(
    hash_extern_id: bool, use_plugin: bool
) -> None:
    raw = pl.read_parquet(SAMPLE)
    mapping = audframe.detect_mapping(raw) | {"LOOKALIKE_VALUE": "value"}
    options = {"mapping": mapping, "default_country": "US", "hash_extern_id": hash_extern_id,
               "use_plugin": use_plugin}
    got = audframe.prepare(raw, **options)  # type: ignore[arg-type]
    assert_frame_equal(got, chained(raw, **options))
    assert {"EMAIL", "PHONE", "DOBY", "MADID", "EXTERN_ID", "LOOKALIKE_VALUE"} <= set(got.columns)
    assert got["EMAIL"].drop_nulls().str.contains(r"^[0-9a-f]{64}$").all()
    assert got["EXTERN_ID"].drop_nulls().str.contains(r"^[0-9a-f]{64}$").all() == hash_extern_id


def test_a_lazyframe_stays_lazy_and_keeps_columns_after_the_keys() -> None:
    raw = pl.DataFrame({"mail": ["Ann@Example.com", " ", None], "id": [1, 2, 3]})
    lazy = audframe.prepare(raw.lazy(), {"EMAIL": "mail"}, keep=["id"])
    assert isinstance(lazy, pl.LazyFrame)
    got = lazy.collect()
    assert got.columns == ["EMAIL", "id"]
    assert got["EMAIL"].to_list() == [hashlib.sha256(b"ann@example.com").hexdigest(), None, None]
    assert got["id"].to_list() == [1, 2, 3]
    assert_frame_equal(got, audframe.prepare(raw, {"EMAIL": "mail"}, keep=["id"]))


def test_the_namespace_is_the_same_function() -> None:
    raw = pl.DataFrame({"first_name": ["Mary", "MARY ", "Valéry"]})
    assert_frame_equal(raw.audience.prepare(), audframe.prepare(raw))
    assert_frame_equal(raw.lazy().audience.prepare().collect(), audframe.prepare(raw))


def test_a_missing_column_names_the_columns_that_exist() -> None:
    raw = pl.DataFrame({"mail": ["a@b.co"]})
    with pytest.raises(ColumnNotFoundError, match="mail"):
        audframe.prepare(raw, {"EMAIL": "email"})


def test_pre_hashed_cells_pass_through_lowercased() -> None:
    digest = hashlib.sha256(b"someone").hexdigest()
    raw = pl.DataFrame({"email": [f" {digest.upper()} "], "last_name": [digest]})
    got = audframe.prepare(raw)
    assert got.row(0) == (digest, digest)


# Few distinct values per column, so repetitive keys go through the per-distinct path.
VALUES = st.sampled_from([
    None, "", " ", "Mary", "MARY ", "Valéry", "o\u0301brien", "Москва", "São Paulo", "CA",
    "California", "94035-1234", "SW1A 1AA", "United States", "gb", "(650) 555-1212",
    "+44 20 7183 8750", "0044 20 7183 8750", "John_Smith@Gmail.com", "x", "1997-02-16",
    "F", "male", hashlib.sha256(b"x").hexdigest().upper(), hashlib.sha256(b"").hexdigest(),
])
KEYS = ("EMAIL", "PHONE", "FN", "LN", "CT", "ST", "ZIP", "COUNTRY", "GEN", "DOB")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(*[VALUES] * len(KEYS)), min_size=1, max_size=60))
def test_any_table_comes_out_as_normalize_then_hash(rows: list[tuple[str | None, ...]]) -> None:
    raw = pl.DataFrame(rows, schema=[k.lower() for k in KEYS], orient="row")
    mapping = {k: k.lower() for k in KEYS}
    got = audframe.prepare(raw, mapping, default_country="GB")
    assert_frame_equal(got, chained(raw, mapping=mapping, default_country="GB"))
    # A LazyFrame takes another route (no region column computed ahead, no chunking).
    lazy = audframe.prepare(raw.lazy(), mapping, default_country="GB")
    assert_frame_equal(lazy.collect(), got)
    hashed = [c for c in got.columns if c in HASHED_KEYS]
    digests = pl.col(hashed).str.contains(r"^[0-9a-f]{64}$").fill_null(True).all()
    assert all(got.select(digests).row(0))


# A cell that is no digest but whose normalized value is 64 hex characters: the empty
# string's digest split by a space (ZIP drops it), or hex letters split by a space (a
# name or city drops it). Unhashed, prepare would have passed it through as a digest.
EMPTY = hashlib.sha256(b"").hexdigest()
SPLIT_EMPTY_DIGEST = EMPTY[:32] + " " + EMPTY[32:]
HEX_LETTERS = "ab" * 16 + " " + "cd" * 16


@pytest.mark.parametrize(
    ("key", "cell"),
    [
        ("ZIP", SPLIT_EMPTY_DIGEST),
        ("ZIP", SPLIT_EMPTY_DIGEST.replace(" ", "-")),
        *((key, HEX_LETTERS) for key in ("ZIP", "FN", "LN", "CT", "ST")),
    ],
)
def test_a_value_normalized_into_a_digests_shape_is_missing(key: str, cell: str) -> None:
    df = pl.DataFrame({"x": [cell, "Mary"]})
    mapping = {key: "x"}
    normalized = audframe.normalize(df, mapping, default_country="GB")
    assert normalized[key][0] is None
    assert normalized[key][1] is not None
    assert audframe.prepare(df, mapping, default_country="GB")[key][0] is None
    assert audframe.hash(normalized)[key][0] is None
    report = audframe.validate(df, mapping, default_country="GB")
    assert report["reason"].to_list() == [
        "normalizes to 64 hex characters, which would read as pre-hashed"
    ]
