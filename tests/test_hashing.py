"""audframe.hash, hash_key and sha256: SHA-256 of normalized keys, plugin and hashlib paths."""

from __future__ import annotations

import hashlib
import logging
import sys

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

import audframe
from audframe import hashing
from audframe.errors import ColumnTypeError, ValidationError
from audframe.hashing import hash_key, sha256
from audframe.keys import HASHED_KEYS

EMPTY_DIGEST = hashlib.sha256(b"").hexdigest()
PLUGIN_PATHS = pytest.mark.parametrize("use_plugin", [True, False], ids=["plugin", "hashlib"])


def h(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


# One normalized value per hashed key.
NORMALIZED = {
    "EMAIL": "john_smith@gmail.com",
    "PHONE": "16505551212",
    "GEN": "f",
    "DOBY": "1997",
    "DOBM": "02",
    "DOBD": "16",
    "LN": "o\u0301brien",  # a combining accent: letters and marks are normalized
    "FN": "valéry",
    "FI": "é",
    "CT": "москва",
    "ST": "ca",
    "ZIP": "sw1a1aa",
    "COUNTRY": "us",
}
MADID = "6d92078a-8246-4ba4-ae5b-76104861e7dc"


def frame() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "EXTERN_ID": ["Cust 42", None],
            **{k: [v, None] for k, v in NORMALIZED.items()},
            "MADID": [MADID, None],
            "LOOKALIKE_VALUE": [44.5, None],
        },
        schema_overrides={"LOOKALIKE_VALUE": pl.Float64},
    )


def test_every_hashed_key_is_covered() -> None:
    assert set(NORMALIZED) == HASHED_KEYS


@PLUGIN_PATHS
def test_every_hashed_key_becomes_its_hashlib_digest(use_plugin: bool) -> None:
    out = audframe.hash(frame(), use_plugin=use_plugin)
    assert out.columns == frame().columns
    for key, value in NORMALIZED.items():
        assert out[key].to_list() == [h(value), None], key


@PLUGIN_PATHS
def test_metas_official_vectors(use_plugin: bool) -> None:
    df = pl.DataFrame(
        {
            "EMAIL": ["john_smith@gmail.com"],
            "PHONE": ["16505551212"],
            "FN": ["valéry"],
            "COUNTRY": ["us"],
        }
    )
    assert audframe.hash(df, use_plugin=use_plugin).row(0) == (
        "62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f",
        "e323ec626319ca94ee8bff2e4c87cf613be6ea19919ed1364124e16807ab3176",
        "08e1996b5dd49e62a4b4c010d44e4345592a863bb9f8e3976219bac29417149c",
        "79adb2a2fce5c6ba215fe5f27f532d4e7edbac4b6a5e09e1ef3a08084a904621",
    )
    korean = pl.DataFrame({"FN": ["정", "mary"]})
    assert audframe.hash(korean, use_plugin=use_plugin)["FN"].to_list() == [
        "8fa8cd9c440be61d0151429310034083132b35975c4bea67fdd74158eb51db14",
        "6915771be1c5aa0c886870b6951b03d7eafc121fea0e80a5ea83beb7c449f4ec",
    ]


@PLUGIN_PATHS
def test_unhashed_keys_are_left_alone(use_plugin: bool) -> None:
    df = frame()
    out = audframe.hash(df, use_plugin=use_plugin)
    for key in ("EXTERN_ID", "MADID", "LOOKALIKE_VALUE"):
        assert_frame_equal(out.select(key), df.select(key))


@PLUGIN_PATHS
def test_hash_extern_id_is_an_opt_in_for_every_row(use_plugin: bool) -> None:
    df = pl.DataFrame({"EXTERN_ID": ["Cust 42", "x", None, ""], "EMAIL": ["a@b.co"] * 4})
    out = audframe.hash(df, hash_extern_id=True, use_plugin=use_plugin)
    assert out["EXTERN_ID"].to_list() == [h("Cust 42"), h("x"), None, None]
    assert audframe.hash(df, use_plugin=use_plugin)["EXTERN_ID"].to_list() == [
        "Cust 42", "x", None, "",
    ]


@PLUGIN_PATHS
def test_nulls_stay_null_and_empty_strings_are_never_hashed(use_plugin: bool) -> None:
    df = pl.DataFrame({"EMAIL": [None, "", "   ", "a@b.co"], "FN": ["", None, "\t", "x"]})
    out = audframe.hash(df, use_plugin=use_plugin)
    assert out["EMAIL"].to_list() == [None, None, None, h("a@b.co")]
    assert out["FN"].to_list() == [None, None, None, h("x")]
    assert EMPTY_DIGEST not in out.unpivot()["value"].to_list()


@PLUGIN_PATHS
def test_the_digest_of_an_empty_string_is_missing_not_passed_through(use_plugin: bool) -> None:
    df = pl.DataFrame({"EMAIL": [EMPTY_DIGEST, f" {EMPTY_DIGEST.upper()}\t", "a@b.co"]})
    out = audframe.hash(df, use_plugin=use_plugin)
    assert out["EMAIL"].to_list() == [None, None, h("a@b.co")]
    assert df.select(hash_key(pl.col("EMAIL"), use_plugin=use_plugin))["EMAIL"].to_list() == [
        None, None, h("a@b.co"),
    ]


@PLUGIN_PATHS
def test_an_all_null_column_stays_null(use_plugin: bool) -> None:
    df = pl.DataFrame({"EMAIL": [None, None]}, schema={"EMAIL": pl.String})
    assert audframe.hash(df, use_plugin=use_plugin)["EMAIL"].to_list() == [None, None]
    nulls = pl.DataFrame({"EMAIL": [None, None]})  # dtype Null
    assert audframe.hash(nulls, use_plugin=use_plugin)["EMAIL"].to_list() == [None, None]


@PLUGIN_PATHS
def test_pre_hashed_cells_are_lowercased_and_passed_through(use_plugin: bool) -> None:
    digest = h("someone@example.com")
    df = pl.DataFrame(
        {"EMAIL": [digest.upper(), f"  {digest} ", f"\t{digest[:10].upper()}{digest[10:]}\n",
                   "someone@example.com"]}
    )
    out = audframe.hash(df, use_plugin=use_plugin)
    assert out["EMAIL"].to_list() == [digest] * 4


@PLUGIN_PATHS
def test_a_lazyframe_stays_lazy_and_equals_the_eager_result(use_plugin: bool) -> None:
    lazy = audframe.hash(frame().lazy(), use_plugin=use_plugin)
    assert isinstance(lazy, pl.LazyFrame)
    assert_frame_equal(lazy.collect(), audframe.hash(frame(), use_plugin=use_plugin))


def test_the_namespace_is_the_same_function() -> None:
    df = frame()
    assert_frame_equal(df.audience.hash(), audframe.hash(df))
    assert_frame_equal(df.lazy().audience.hash().collect(), audframe.hash(df))
    out = df.select(pl.col("FN").audience.hash())
    assert out["FN"].to_list() == [h("valéry"), None]


@pytest.mark.parametrize(
    ("key", "raw"),
    [
        ("EMAIL", "John@Example.com"),
        ("EMAIL", " john@example.com"),
        ("FN", "Mary"),
        ("PHONE", "+1 650 555 1212"),
        ("COUNTRY", "United States"),
        ("ZIP", "SW1A 1AA"),
    ],
)
def test_raw_input_is_refused_with_a_hint_to_normalize(key: str, raw: str) -> None:
    df = pl.DataFrame({key: [NORMALIZED[key], raw]})
    with pytest.raises(ValidationError, match=r"normalize") as info:
        audframe.hash(df)
    assert key in str(info.value)
    assert raw.strip() not in str(info.value)
    lazy = audframe.hash(df.lazy())  # lazy: refused when collected
    with pytest.raises(ValidationError, match=r"normalize"):
        lazy.collect()


def test_a_non_string_hashed_key_is_refused() -> None:
    with pytest.raises(ColumnTypeError, match="normalize"):
        audframe.hash(pl.DataFrame({"ZIP": [94035]}))


def test_categorical_keys_are_hashed_as_their_text() -> None:
    text = pl.DataFrame({"EMAIL": [h("a"), "b@c.co", None]})
    for dtype in (pl.Categorical, pl.Enum([h("a"), "b@c.co"])):
        assert audframe.hash(text.cast({"EMAIL": dtype})).equals(audframe.hash(text))


def test_a_frame_without_key_columns_is_refused_naming_its_columns() -> None:
    # raw source columns: hash would return them unchanged, and nothing would be hashed
    raw = pl.DataFrame({"email": ["a@b.co"], "Phone": ["650"]})
    for source in (raw, raw.lazy()):
        with pytest.raises(ValidationError,
                           match=r"no Meta-key column.*columns are 'email', 'Phone'"):
            audframe.hash(source)
        with pytest.raises(ValidationError, match=r"its columns are 'email', 'Phone'"):
            audframe.to_payloads(source)


@PLUGIN_PATHS
def test_hash_key_on_its_own(use_plugin: bool) -> None:
    df = pl.DataFrame({"v": ["mary", "", None, "  ", " " + "AB" * 32, "mary "]})
    out = df.select(hash_key(pl.col("v"), use_plugin=use_plugin))["v"].to_list()
    assert out == [h("mary"), None, None, None, "ab" * 32, h("mary")]


@PLUGIN_PATHS
def test_sha256_is_hashlib(use_plugin: bool) -> None:
    values = ["", "a", "é", "정", "x" * 1000, None]
    out = pl.DataFrame({"v": values}).select(sha256(pl.col("v"), use_plugin=use_plugin))
    assert out["v"].to_list() == [None if v is None else h(v) for v in values]


@pytest.fixture
def plugin_broken(monkeypatch: pytest.MonkeyPatch) -> None:
    """polars_hash cannot be imported, and the plugin check has not run yet."""
    monkeypatch.setattr(hashing, "_plugin_state", {})
    monkeypatch.setitem(sys.modules, "polars_hash", None)  # import raises ImportError


def test_a_broken_plugin_falls_back_to_hashlib_and_says_so_once(
    plugin_broken: None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="audframe")
    df = frame()
    outs = [audframe.hash(df), audframe.hash(df.lazy()).collect(), audframe.hash(df)]
    for out in outs:
        assert_frame_equal(out, audframe.hash(df, use_plugin=False))
        assert out["EMAIL"][0] == h(NORMALIZED["EMAIL"])
    records = [r for r in caplog.records if r.name == "audframe"]
    assert len(records) == 1
    assert "hashlib" in records[0].getMessage()
    assert hashing._plugin_works() is False


def test_a_working_plugin_is_used_silently(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(hashing, "_plugin_state", {})
    caplog.set_level(logging.WARNING, logger="audframe")
    assert hashing._plugin_works() is True
    audframe.hash(frame())
    assert not [r for r in caplog.records if r.name == "audframe"]


# a normalized name: a letter, then letters and marks (a mark needs a letter before it)
normalized_text = st.builds(
    str.__add__,
    st.characters(categories=("Ll", "Lo")),
    st.text(alphabet=st.characters(categories=("Ll", "Lo", "Mn")), max_size=11),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.none(), normalized_text), min_size=0, max_size=30))
def test_both_paths_equal_hashlib_on_random_names(values: list[str | None]) -> None:
    df = pl.DataFrame({"FN": values}, schema={"FN": pl.String})
    expected = [None if v is None else h(v) for v in values]
    for use_plugin in (True, False):
        assert audframe.hash(df, use_plugin=use_plugin)["FN"].to_list() == expected
        lazy = audframe.hash(df.lazy(), use_plugin=use_plugin).collect()
        assert lazy["FN"].to_list() == expected


def test_hash_extern_id_hashes_every_row_alike() -> None:
    looks_hashed = "ab" * 32
    df = pl.DataFrame({"EXTERN_ID": [" C001 ", looks_hashed, None]})
    out = audframe.hash(df, hash_extern_id=True)["EXTERN_ID"].to_list()
    assert out == [
        hashlib.sha256(b"C001").hexdigest(),
        hashlib.sha256(looks_hashed.encode()).hexdigest(),
        None,
    ]
    assert audframe.hash(df)["EXTERN_ID"].to_list() == df["EXTERN_ID"].to_list()


def test_refusals_are_counted_per_cell_and_name_every_column() -> None:
    # FN is checked once per distinct value; the count is still per cell.
    df = pl.DataFrame(
        {"FN": ["Mary", "mary", "Mary", "Mary"], "EMAIL": ["A@b.co", None, "", "a@b.co"]}
    )
    with pytest.raises(ValidationError) as info:
        audframe.hash(df)
    assert "FN (3 cells)" in str(info.value)
    assert "EMAIL (1 cells)" in str(info.value)


def test_refusals_are_counted_exactly_across_chunks_hashed_in_parallel(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Over ROWS_PER_CHUNK rows, EMAIL is checked chunk by chunk on several threads.
    from audframe import distinct

    monkeypatch.setattr(distinct, "ROWS_PER_CHUNK", 2_000)
    n = 2 * distinct.ROWS_PER_CHUNK + 1_000
    emails = pl.Series("EMAIL", [f"u{i}@example.com" for i in range(n)])
    bad = list(range(0, n, 997))
    df = emails.scatter(bad, "Not@Normalized.com").to_frame()
    with pytest.raises(ValidationError) as info:
        audframe.hash(df)
    assert f"EMAIL ({len(bad)} cells)" in str(info.value)
