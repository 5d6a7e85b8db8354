"""Bad input raises one clear audframe error; bad *values* never raise."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
import pytest

import audframe
from audframe.errors import (
    AudframeError,
    ColumnNotFoundError,
    ColumnTypeError,
    UnknownKeyError,
    ValidationError,
)
from audframe.keys import INPUT_KEYS


def frame() -> pl.DataFrame:
    return pl.DataFrame({"mail": ["a@b.co"], "first": ["Mary"], "zip": ["94035"]})


@pytest.mark.parametrize("lazy", [False, True])
def test_missing_column_names_the_existing_columns(lazy: bool) -> None:
    df: Any = frame().lazy() if lazy else frame()
    with pytest.raises(ColumnNotFoundError) as info:
        audframe.normalize(df, {"EMAIL": "email_address"})
    message = str(info.value)
    assert "'email_address' not found" in message
    for column in ("'mail'", "'first'", "'zip'"):
        assert column in message
    assert isinstance(info.value, AudframeError)


def test_missing_column_in_validate() -> None:
    with pytest.raises(ColumnNotFoundError, match=r"columns are: 'mail', 'first', 'zip'"):
        audframe.validate(frame(), {"FN": "first_name"})


def test_no_recognisable_column_without_mapping() -> None:
    df = pl.DataFrame({"a": [1], "b": [2]})
    with pytest.raises(ColumnNotFoundError, match="columns are: 'a', 'b'"):
        audframe.normalize(df)


@pytest.mark.parametrize("name", ["EMAILS", "first name", "PHONE_NUMBER", ""])
def test_unknown_key_lists_the_valid_keys(name: str) -> None:
    with pytest.raises(UnknownKeyError) as info:
        audframe.normalize(frame(), {name: "mail"})
    message = str(info.value)
    assert f"{name!r} is not a Meta match key" in message
    for key in INPUT_KEYS:
        assert key in message
    assert isinstance(info.value, AudframeError)


def test_unknown_key_in_an_expression() -> None:
    with pytest.raises(UnknownKeyError, match=r"valid keys are: .*EMAIL"):
        audframe.normalize_key("mail", "MAIL")


def test_empty_mapping_is_an_error_not_an_empty_frame() -> None:
    with pytest.raises(UnknownKeyError, match="mapping is empty"):
        audframe.normalize(frame(), {})
    with pytest.raises(UnknownKeyError, match="mapping is empty"):
        audframe.validate(frame(), {})


def test_key_mapped_twice() -> None:
    with pytest.raises(UnknownKeyError, match="EMAIL is mapped twice"):
        audframe.normalize(frame(), {"email": "mail", "EMAIL": "first"})


def test_list_column_for_email() -> None:
    df = pl.DataFrame({"mail": [["a@b.co", "c@d.co"]]})
    with pytest.raises(ColumnTypeError) as info:
        audframe.normalize(df, {"EMAIL": "mail"})
    message = str(info.value)
    assert "'mail'" in message
    assert "List" in message
    assert "EMAIL" in message
    assert "cast it first" in message
    assert isinstance(info.value, AudframeError)


def test_boolean_column_for_zip() -> None:
    df = pl.DataFrame({"zip": [True, False]})
    with pytest.raises(ColumnTypeError, match=r"'zip' has dtype Boolean, which cannot hold ZIP"):
        audframe.normalize(df, {"ZIP": "zip"})


@pytest.mark.parametrize(
    ("key", "dtype", "value"),
    [
        ("EMAIL", pl.Int64, 1),  # numbers only where they make sense
        ("FN", pl.Float64, 1.5),
        ("CT", pl.Date, dt.date(2020, 1, 1)),
        ("COUNTRY", pl.Boolean, True),
        ("DOBY", pl.Date, dt.date(2020, 1, 1)),
        ("ZIP", pl.Struct({"a": pl.String}), {"a": "x"}),
    ],
)
def test_other_wrong_dtypes(key: str, dtype: Any, value: Any) -> None:
    df = pl.DataFrame({"c": [value]}, schema={"c": dtype})
    with pytest.raises(ColumnTypeError, match=f"cannot hold {key}"):
        audframe.normalize(df, {key: "c"})


def test_wrong_dtype_in_validate() -> None:
    with pytest.raises(ColumnTypeError):
        audframe.validate(pl.DataFrame({"mail": [[1]]}), {"EMAIL": "mail"})


def test_unknown_default_country() -> None:
    with pytest.raises(ValidationError, match="is not a country"):
        audframe.normalize(frame(), {"ZIP": "zip"}, default_country="Atlantis")


# ----------------------------------------------------------------------------- bad values


GARBAGE = [
    None, "", " ", "\x00", "@", "@@", "💥", "'; DROP TABLE", "ÿ" * 500, "\u0301", "-",
    "0" * 64, "9" * 40, "1e400", "NaN", "inf", "-0", "２０２０", "1997-02-30", "2/30/1997",
    "00000000-0000-0000-0000-000000000000", "\ud7ff", "\t\n\r", "a@b", "+", "00",
]


def test_garbage_values_never_raise_and_stay_missing_or_valid() -> None:
    df = pl.DataFrame({"g": GARBAGE}, schema={"g": pl.String})
    parts = ("DOBY", "DOBM", "DOBD")
    with_dob = {k: "g" for k in audframe.KEYS if k not in parts} | {"DOB": "g"}
    out = audframe.normalize(df, with_dob, default_country="US")
    assert out.height == len(GARBAGE)
    strings = [c for c, d in out.schema.items() if d == pl.String]
    assert out.select(pl.any_horizontal(pl.col(strings) == "").any()).item() is False
    for mapping in (with_dob, {k: "g" for k in audframe.KEYS}):
        report = audframe.validate(df, mapping, default_country="US")
        assert set(report["key"]) == set(audframe.KEYS)


@pytest.mark.parametrize(
    ("key", "dtype", "values"),
    [
        ("ZIP", pl.Float64, [1e20, -1e20, float("inf"), float("-inf"), float("nan"), 0.5]),
        ("PHONE", pl.Float64, [1e300, float("nan"), 16505551212.0]),
        ("DOBY", pl.Float64, [1e19, 1997.0]),
        ("EXTERN_ID", pl.Float64, [9.3e18, float("inf")]),
        ("ZIP", pl.UInt64, [2**64 - 1, 0]),
        ("DOB", pl.Int64, [-1, 2**63 - 1, 19970216]),
        ("DOB", pl.Datetime("ns"), [dt.datetime(1677, 9, 22), None]),
        ("LOOKALIKE_VALUE", pl.Float32, [float("nan"), -0.0, 3.5]),
        ("ZIP", pl.Decimal(20, 4), [None]),
    ],
)
def test_extreme_numbers_never_raise(key: str, dtype: Any, values: list[Any]) -> None:
    df = pl.DataFrame({"n": values}, schema={"n": dtype})
    out = audframe.normalize(df, {key: "n"}, default_country="US")
    assert out.height == len(values)
    audframe.validate(df, {key: "n"}, default_country="US")


def test_decimal_zip_column() -> None:
    from decimal import Decimal

    df = pl.DataFrame({"z": [Decimal("2134"), Decimal("94035")]}, schema={"z": pl.Decimal(10, 2)})
    assert audframe.normalize(df, {"ZIP": "z"}, default_country="US")["ZIP"].to_list() == [
        "02134", "94035",
    ]
