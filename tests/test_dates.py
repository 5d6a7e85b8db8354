"""DOBY, DOBM, DOBD and DOB (one column that expands into the three)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
import pytest

import audframe

TODAY = dt.date.today()
NULLS = (None, None, None)


def one(key: str, value: Any, dtype: Any = pl.String) -> Any:
    df = pl.DataFrame({"x": [value]}, schema={"x": dtype})
    return audframe.normalize(df, {key: "x"}).row(0)[0]


def dob(values: list[Any], dtype: Any = pl.String, **options: Any) -> list[tuple[Any, ...]]:
    df = pl.DataFrame({"born": values}, schema={"born": dtype})
    out = audframe.normalize(df, {"DOB": "born"}, **options)
    assert out.columns == ["DOBY", "DOBM", "DOBD"]
    assert all(d == pl.String for d in out.schema.values())
    return out.rows()


# ----------------------------------------------------------------------------- DOBY


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1997", "1997"), (" 1900 ", "1900"), (str(TODAY.year), str(TODAY.year))],
)
def test_year(raw: str, expected: str) -> None:
    assert one("DOBY", raw) == expected


@pytest.mark.parametrize("raw", ["1899", "97", "19970", "abcd", "19 7", "", None])
def test_year_invalid_is_missing(raw: str | None) -> None:
    assert one("DOBY", raw) is None


def test_next_year_is_missing() -> None:  # the year taken as the test runs, not collected
    assert one("DOBY", str(dt.date.today().year + 1)) is None


def test_year_integer_and_float_columns() -> None:
    assert one("DOBY", 1997, pl.Int64) == "1997"
    assert one("DOBY", 1997.0, pl.Float64) == "1997"
    assert one("DOBY", 1899, pl.Int32) is None


# ----------------------------------------------------------------------------- DOBM / DOBD


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("2", "02"), ("02", "02"), ("1", "01"), ("12", "12"), (" 9 ", "09")],
)
def test_month(raw: str, expected: str) -> None:
    assert one("DOBM", raw) == expected


@pytest.mark.parametrize("raw", ["0", "00", "13", "-1", "1a", "feb", "", None])
def test_month_invalid_is_missing(raw: str | None) -> None:
    assert one("DOBM", raw) is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("9", "09"), ("09", "09"), ("1", "01"), ("31", "31"), ("16", "16")],
)
def test_day(raw: str, expected: str) -> None:
    assert one("DOBD", raw) == expected


@pytest.mark.parametrize("raw", ["0", "32", "99", "x", " ", None])
def test_day_invalid_is_missing(raw: str | None) -> None:
    assert one("DOBD", raw) is None


def test_month_and_day_integer_columns() -> None:
    assert one("DOBM", 2, pl.UInt8) == "02"
    assert one("DOBD", 9, pl.Int64) == "09"
    assert one("DOBM", 13, pl.Int64) is None


# ----------------------------------------------------------------------------- DOB


def test_official_vector_us_date() -> None:
    assert dob(["2/16/1997"]) == [("1997", "02", "16")]


@pytest.mark.parametrize(
    "raw",
    ["1997-02-16", "1997/02/16", "19970216", "2/16/1997", "02/16/1997", " 1997-02-16 ",
     "1997-2-16", "1997-02-16 10:30:00", "1997-02-16T10:30:00Z",
     # US exports' 12-hour times, time zones after a space
     "2/16/1997 12:00:00 AM", "2/16/1997 10:30 PM", "2/16/1997 9:05:00 a.m.",
     "1997-02-16 00:00:00 +0000", "1997-02-16 00:00:00 UTC", "1997-02-16T10:30:00.000+01:00"],
)
def test_dob_accepted_strings(raw: str) -> None:
    assert dob([raw]) == [("1997", "02", "16")]


@pytest.mark.parametrize(
    "raw",
    [
        "1997-02-30",  # does not exist
        "2/30/1997",
        "1997-13-01",
        "2023-02-29",  # not a leap year
        "1899-12-31",  # before 1900
        "2999-01-01",
        "16.02.1997",  # not an accepted form without dob_format
        "+1997-02-16",  # what the lenient date parser alone would read as 1997-02-16
        "1997- 2-16",
        "1997-02-16T25:99",  # no time of day
        "1997-02-16 24:00",
        "2/16/1997 13:00 PM",  # no 12-hour time
        "2/16/1997 10:30 XM",
        "1997-02-16 10:30 UTC+",
        "yesterday",
        "",
        "  ",
        None,
    ],
)
def test_dob_invalid_makes_all_three_missing(raw: str | None) -> None:
    assert dob([raw]) == [NULLS]


def test_dob_tomorrow_is_the_future() -> None:  # the day taken as the test runs
    assert dob([(dt.date.today() + dt.timedelta(days=1)).isoformat()]) == [NULLS]


def test_dob_leap_day_and_bounds() -> None:
    assert dob(["2000-02-29", "1900-01-01", TODAY.isoformat()]) == [
        ("2000", "02", "29"),
        ("1900", "01", "01"),
        (f"{TODAY.year:04d}", f"{TODAY.month:02d}", f"{TODAY.day:02d}"),
    ]


def test_a_day_first_date_is_missing_with_a_reason_that_names_dob_format() -> None:
    df = pl.DataFrame({"dob": ["16/02/1997", "02/30/1997", "3/4/1997", "16/02/1850",
                               f"16/02/{dt.date.today().year + 1}"]})
    reasons = audframe.validate(df).filter(key="DOBD").select("reason", "example_rows")
    assert sorted(reasons.rows()) == [
        # no reading has a 30 February, and day first the others would be dropped too
        ("date does not exist", [1, 3, 4]),
        ("date does not exist as M/D/YYYY (day first? pass dob_format='%d/%m/%Y')", [0]),
    ]
    given = audframe.validate(df, dob_format="%Y.%m.%d").filter(key="DOBD")
    assert set(given["reason"]) == {"date does not exist"}  # a format given: no advice
    assert dob(df["dob"].to_list(), dob_format="%d/%m/%Y") == [
        ("1997", "02", "16"), (None, None, None), ("1997", "04", "03"), (None, None, None),
        (None, None, None),
    ]


def test_a_spreadsheets_day_number_is_missing_with_a_reason_that_says_so() -> None:
    # Excel's serial day (35431 is 1997-01-01), as text or as a number column
    for values in (["35431", "35431.5", "1997-01-01", "94035"], [35431, 35431, 19970101, 94035]):
        df = pl.DataFrame({"dob": values})
        reasons = audframe.validate(df).filter(key="DOBY").select("reason", "example_rows")
        assert sorted(reasons.rows()) == [  # (94035 would be a day in 2157: a ZIP?)
            ("a number, not a date (a spreadsheet's day number?): export the column as dates",
             [0, 1]),
            ("date not recognised", [3])]


def test_dob_format_option() -> None:
    rows = dob(["16.02.1997", "1997-02-16", "31.02.1997"], dob_format="%d.%m.%Y")
    assert rows == [("1997", "02", "16"), ("1997", "02", "16"), NULLS]


def test_an_integer_dob_column_read_with_a_digits_format_gets_its_leading_zero_back() -> None:
    # 01021997 stored as an integer is 1021997: padded to the 8 digits %d%m%Y writes
    assert dob([1021997, 16021997, None], pl.Int64, dob_format="%d%m%Y") == [
        ("1997", "02", "01"), ("1997", "02", "16"), NULLS]
    assert dob([2161997.0], pl.Float64, dob_format="%m%d%Y") == [("1997", "02", "16")]


def test_text_digits_read_with_a_digits_format_get_their_leading_zero_back() -> None:
    # a CSV saved by a spreadsheet that took the column for numbers
    assert dob(["1021997", "01021997"], dob_format="%d%m%Y") == [("1997", "02", "01")] * 2


@pytest.mark.parametrize("fmt", ["%d.%m.%y", "%D"])
def test_a_two_digit_year_is_the_latest_not_in_the_future(fmt: str) -> None:
    # polars' POSIX pivot read 30 as 2030 (then missing: the future); a birth year is past
    this = dt.date.today().year % 100
    values = {"%d.%m.%y": ["16.02.30", "16.02.05", f"16.02.{this + 1:02d}"],
              "%D": ["02/16/30", "02/16/05", f"02/16/{this + 1:02d}"]}[fmt]
    assert [row[0] for row in dob(values, dob_format=fmt)] == [
        "1930", "2005", str(1900 + this + 1)]


def test_dob_format_may_name_the_time_part() -> None:
    values = ["16.02.1997 10:30", "16.02.1997", "31.02.1997 10:30", "1997-02-16T10:30:00"]
    assert dob(values, dob_format="%d.%m.%Y %H:%M") == [
        ("1997", "02", "16"), NULLS, NULLS, ("1997", "02", "16"),
    ]
    assert dob(["16 Feb 1997 10:30"], dob_format="%d %b %Y %H:%M") == [("1997", "02", "16")]
    assert dob(["16.02.1997 10:30"], dob_format="%d.%m.%Y") == [("1997", "02", "16")]


@pytest.mark.parametrize("fmt", ["%Q", "%d.%m", "date", "%Y"])
def test_a_dob_format_that_cannot_read_a_date_is_refused(fmt: str) -> None:
    with pytest.raises(ValueError, match="cannot read back the date it writes"):
        dob(["16.02.1997"], dob_format=fmt)


def test_dob_date_column() -> None:
    rows = dob(
        [dt.date(1997, 2, 16), None, dt.date(1850, 1, 1), TODAY + dt.timedelta(days=3)],
        pl.Date,
    )
    assert rows == [("1997", "02", "16"), NULLS, NULLS, NULLS]


def test_dob_datetime_column() -> None:
    rows = dob([dt.datetime(1997, 2, 16, 23, 59), None], pl.Datetime("us"))
    assert rows == [("1997", "02", "16"), NULLS]


def test_dob_integer_yyyymmdd_column() -> None:
    assert dob([19970216, 19970230], pl.Int64) == [("1997", "02", "16"), NULLS]


def test_dob_and_its_parts_cannot_both_be_mapped() -> None:
    df = pl.DataFrame({"born": ["1997-02-16"], "y": ["1997"]})
    with pytest.raises(audframe.UnknownKeyError, match="DOB"):
        audframe.normalize(df, {"DOB": "born", "DOBY": "y"})


def test_dob_is_frame_level_only() -> None:
    with pytest.raises(audframe.UnknownKeyError, match=r"audframe\.normalize"):
        audframe.normalize_key("born", "DOB")


def test_dob_format_is_for_text_not_for_date_columns() -> None:
    df = pl.DataFrame({"birth": [dt.date(1997, 2, 6)], "text": ["1997-06-02"]})
    for dtype in (pl.Date, pl.Datetime("us")):
        frame = df.with_columns(pl.col("birth").cast(dtype))
        out = audframe.normalize(frame, {"DOB": "birth"}, dob_format="%Y-%d-%m")
        assert out.row(0) == ("1997", "02", "06")
    text = audframe.normalize(df, {"DOB": "text"}, dob_format="%Y-%d-%m")
    assert text.row(0) == ("1997", "02", "06")
