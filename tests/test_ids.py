"""MADID, EXTERN_ID and LOOKALIKE_VALUE: the keys Meta takes unhashed."""

from __future__ import annotations

import hashlib
import math
from typing import Any

import polars as pl
import pytest

import audframe

IDFA = "6D92078A-8246-4BA4-AE5B-76104861E7DC"
DIGEST = "a" * 64


def col(key: str, values: list[Any], dtype: Any = pl.String) -> pl.Series:
    df = pl.DataFrame({"x": values}, schema={"x": dtype})
    return audframe.normalize(df, {key: "x"})[key]


# ----------------------------------------------------------------------------- MADID


def test_madid_trim_lowercase_keep_hyphens_never_hashed() -> None:
    got = col("MADID", [IDFA, f"  {IDFA.lower()}\t", "cdda802e-fb9c-47ad-9866-0794d394c912"])
    assert got.to_list() == [
        "6d92078a-8246-4ba4-ae5b-76104861e7dc",
        "6d92078a-8246-4ba4-ae5b-76104861e7dc",
        "cdda802e-fb9c-47ad-9866-0794d394c912",
    ]


@pytest.mark.parametrize(
    "raw",
    [
        "00000000-0000-0000-0000-000000000000",  # iOS with tracking off
        "6D92078A82464BA4AE5B76104861E7DC",  # hyphens are part of the form
        "6d92078a-8246-4ba4-ae5b-76104861e7d",
        "not-a-uuid",
        DIGEST,  # a digest is not passed through: MADID is never hashed
        "",
        None,
    ],
)
def test_madid_invalid_is_missing(raw: str | None) -> None:
    assert col("MADID", [raw]).to_list() == [None]


# ----------------------------------------------------------------------------- EXTERN_ID


def test_extern_id_is_trimmed_text_otherwise_exact() -> None:
    got = col("EXTERN_ID", ["  CRM-0001 ", "Abc Def", "ÉTÉ", DIGEST.upper(), "", "  ", None])
    # no lowercasing, inner spaces kept, digests not touched: Meta matches byte for byte
    assert got.to_list() == ["CRM-0001", "Abc Def", "ÉTÉ", DIGEST.upper(), None, None, None]


def test_extern_id_that_is_the_digest_of_an_empty_string_is_missing_and_counted() -> None:
    # a blank id an export hashed: never sent, whatever its case (hashed opt-in too)
    empty = hashlib.sha256(b"").hexdigest()
    df = pl.DataFrame({"x": [empty, f" {empty.upper()} ", "CRM-1"], "e": ["a@b.co"] * 3})
    for hash_extern_id in (False, True):
        got = audframe.prepare(df, {"EXTERN_ID": "x", "EMAIL": "e"},
                               hash_extern_id=hash_extern_id)["EXTERN_ID"].to_list()
        assert got[:2] == [None, None] and got[2] is not None
    report = audframe.validate(df, {"EXTERN_ID": "x"})
    assert report.filter(pl.col("key") == "EXTERN_ID").select("invalid", "reason").row(0) == (
        2, "extern id is the SHA-256 of an empty string")


def test_extern_id_of_invisible_characters_alone_is_missing_and_counted() -> None:
    # kept around other text (they may be part of the id), blank alone
    df = pl.DataFrame({"x": ["\u200b", " \ufeff ", "\u00ad", "c-1\u200b"]})
    assert audframe.normalize(df, {"EXTERN_ID": "x"})["EXTERN_ID"].to_list() == [
        None, None, None, "c-1\u200b"]
    report = audframe.validate(df, {"EXTERN_ID": "x"})
    assert report.select("invalid", "reason").row(0) == (3, "extern id is empty")
    with pytest.raises(audframe.ValidationError):
        audframe.check_normalized(pl.DataFrame({"EXTERN_ID": ["\u200b"]}))


def test_extern_id_integer_and_float_columns_become_text() -> None:
    assert col("EXTERN_ID", [123, None], pl.Int64).to_list() == ["123", None]
    assert col("EXTERN_ID", [123.0, 1.5, float("nan")], pl.Float64).to_list() == [
        "123", "1.5", None,
    ]


def test_extern_id_beyond_a_floats_exact_digits_is_missing_not_rounded() -> None:
    # 2**53 + 1 read into a float is 2**53: no id can be trusted from there on
    got = col("EXTERN_ID", [1e20, 2.0**62, 2.0**53, 2.0**53 - 1], pl.Float64).to_list()
    assert got == [None, None, None, str(2**53 - 1)]


def test_extern_id_decimal_column() -> None:
    from decimal import Decimal

    got = col("EXTERN_ID", [Decimal("123"), Decimal("4.50")], pl.Decimal(10, 2)).to_list()
    assert got == ["123", "4.50"]


# ----------------------------------------------------------------------------- LOOKALIKE_VALUE


def test_lookalike_value_is_a_float_number() -> None:
    got = col("LOOKALIKE_VALUE", ["44.5", " 140 ", "0", "0.9", "1e3"])
    assert got.dtype == pl.Float64
    assert got.to_list() == [44.5, 140.0, 0.0, 0.9, 1000.0]


@pytest.mark.parametrize("raw", ["-1", "-0.01", "abc", "inf", "nan", "", "  ", None, "1,5"])
def test_lookalike_value_invalid_is_missing(raw: str | None) -> None:
    assert col("LOOKALIKE_VALUE", [raw]).to_list() == [None]


def test_lookalike_value_numeric_columns() -> None:
    assert col("LOOKALIKE_VALUE", [140, -3, None], pl.Int64).to_list() == [140.0, None, None]
    got = col("LOOKALIKE_VALUE", [44.5, -1.0, float("nan"), math.inf], pl.Float64).to_list()
    assert got == [44.5, None, None, None]


def test_lookalike_value_expression_is_float64() -> None:
    df = pl.DataFrame({"v": ["1.5", "-2"]})
    out = df.select(audframe.normalize_key("v", "LOOKALIKE_VALUE"))
    assert out.schema == pl.Schema({"v": pl.Float64})
    assert out["v"].to_list() == [1.5, None]


@pytest.mark.parametrize("key", ["MADID", "EXTERN_ID"])
def test_unhashed_keys_keep_their_name_in_an_expression(key: str) -> None:
    df = pl.DataFrame({"id": [IDFA]})
    out = df.select(pl.col("id").audience.normalize(key))
    assert out.columns == ["id"]
