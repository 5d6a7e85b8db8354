"""DOBY, DOBM, DOBD, and DOB (one date column that expands into the three)."""

from __future__ import annotations

import datetime as dt
from functools import cache

import polars as pl

from audframe.normalize.rule import Rule, clean, make_rule, present

__all__ = ["DATE_FORMATS", "birth_date", "day", "month", "year"]

#: The string forms DOB accepts without ``dob_format``.
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%m/%d/%Y")
_DATE_SHAPE = r"^([0-9]{4}[-/][0-9]{1,2}[-/][0-9]{1,2}|[0-9]{8}|[0-9]{1,2}/[0-9]{1,2}/[0-9]{4})$"
#: A time of day after the date, a real one only: 24-hour (``1997-02-16 00:00:00``,
#: ``…T10:30Z``) or 12-hour as US exports write it (``2/16/1997 12:00:00 AM``), with an
#: optional time zone (``+01:00``, `` +0000``, `` UTC``).
_SECONDS = r"(:[0-5][0-9](\.[0-9]+)?)?"
_TIME_PART = (
    rf"[ T]((0?[0-9]|1[0-2]):[0-5][0-9]{_SECONDS} ?[AaPp]\.?[Mm]\.?"
    rf"|([01]?[0-9]|2[0-3]):[0-5][0-9]{_SECONDS})"
    r"( ?(Z|UTC|GMT|[+-][0-9]{2}(:?[0-9]{2})?))?$"
)
#: Every accepted form, rewritten: the only text the date parser sees (it is lenient
#: on its own: "+1997-02-16" and "1997- 2-16" would pass).
_ISO = r"^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}$"
_FIRST = 1900
#: A spreadsheet's serial day of a birthday (10000 is 1927-05-18, 49999 2036-11-21), with
#: the time of day as its fraction.
_DAY_NUMBER_SHAPE = r"^[1-4][0-9]{4}(\.[0-9]+)?$"
_DAY_NUMBER = ("a number, not a date (a spreadsheet's day number?): export the column as "
               "dates")
_DAY_FIRST = "date does not exist as M/D/YYYY (day first? pass dob_format='%d/%m/%Y')"
_SLASHED = r"^([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})$"  # M/D/YYYY, or D/M/YYYY


def _number(raw: pl.Expr, low: int, high: int, digits: str, what: str) -> Rule:
    v = clean(raw)
    n = v.cast(pl.Int32, strict=False)
    return make_rule(
        raw,
        v,
        [(~v.str.contains(digits), f"{what} is not a number"),
         (~n.is_between(low, high), f"{what} out of range")],
        empty=f"{what} is empty",
        result=n.cast(pl.String).str.zfill(len(str(high))),
    )


def year(raw: pl.Expr) -> Rule:
    """DOBY: four digits, 1900 … the current year. String in (digits), String out."""
    v = clean(raw)
    n = v.cast(pl.Int32, strict=False)
    return make_rule(
        raw,
        v,
        [(~v.str.contains(r"^[0-9]{4}$"), "year is not four digits"),
         (n < _FIRST, "year before 1900"),
         (n > dt.date.today().year, "year in the future")],
        empty="year is empty",
    )


def month(raw: pl.Expr) -> Rule:
    """DOBM: ``01`` … ``12``; ``2`` → ``02``. String in (digits), String out."""
    return _number(raw, 1, 12, r"^[0-9]{1,2}$", "month")


def day(raw: pl.Expr) -> Rule:
    """DOBD: ``01`` … ``31``; ``9`` → ``09``. String in (digits), String out."""
    return _number(raw, 1, 31, r"^[0-9]{1,2}$", "day")


def _check_format(dob_format: str) -> None:
    """Refuse a ``dob_format`` that cannot read back a date it writes (``%Q``, no day…)."""
    if not isinstance(dob_format, str):
        raise ValueError(f"dob_format is a strftime format such as '%d.%m.%Y', got "
                         f"{type(dob_format).__name__}")
    _check_readable(dob_format)


@cache
def _check_readable(dob_format: str) -> None:
    sample = dt.datetime(1997, 2, 16, 10, 30, tzinfo=dt.UTC)  # so %H, %z … write something
    written = sample.strftime(dob_format)
    try:
        back = pl.Series([written]).str.to_date(dob_format, strict=True).item()
    except (pl.exceptions.PolarsError, ValueError):
        back = None
    if back != sample.date():
        raise ValueError(
            f"dob_format {dob_format!r} cannot read back the date it writes (1997-02-16 "
            f"becomes {written!r}); give a strftime format with the day, month and year, "
            "such as '%d.%m.%Y'"
        )


@cache
def _digits_width(dob_format: str) -> int | None:
    """How many digits ``dob_format`` writes when it writes digits alone (``%d%m%Y``: 8),
    else None: a value read with it that lost its leading zero (``01021997`` stored as
    the number ``1021997``) gets it back by padding to this width."""
    written = dt.date(1997, 2, 16).strftime(dob_format)
    return len(written) if written.isdigit() and written.isascii() else None


@cache
def _two_digit_year(dob_format: str) -> bool:
    """Whether ``dob_format`` writes the year with two digits (``%y``, ``%D``, ``%x``)."""
    return "1905" not in dt.date(1905, 2, 16).strftime(dob_format)


def _by_format(text: pl.Expr, dob_format: str) -> pl.Expr:
    """``text`` read with ``dob_format`` (Date, null where it does not read). Digits alone
    get back a lost leading zero; a two-digit year is the latest that is not in the
    future (``16.02.30`` is 1930, ``16.02.05`` 2005), not polars' POSIX pivot."""
    if width := _digits_width(dob_format):
        text = pl.when(text.str.contains(r"^[0-9]+$")).then(text.str.zfill(width)).otherwise(text)
    date = text.str.to_date(dob_format, strict=False)
    if _two_digit_year(dob_format):
        date = pl.when(date > dt.date.today()).then(date.dt.offset_by("-100y")).otherwise(date)
    return date


def birth_date(raw: pl.Expr, *, dob_format: str | None = None) -> tuple[Rule, Rule, Rule]:
    """DOB: one date, as String, expanded into DOBY, DOBM and DOBD.

    Accepts ``YYYY-MM-DD``, ``YYYY/MM/DD``, ``YYYYMMDD`` and US ``M/D/YYYY`` (a time
    of day after it, 24-hour or with AM/PM, with or without a time zone, is ignored);
    ``dob_format`` (strftime) is tried first, on the value as given and without its time
    part, and must read back a date it writes (else ValueError); with a digits-only
    format, a value of fewer digits is padded with zeros (an integer column lost them),
    and a two-digit year is the latest that is not in the future.
    Date and Datetime columns arrive here as ``YYYY-MM-DD`` strings. A date that does
    not exist, lies in the future or before 1900 makes all three missing.
    """
    if dob_format:
        _check_format(dob_format)
    text = clean(raw)
    v = text.str.replace(_TIME_PART, "")
    iso = (
        v.str.replace(r"^([0-9]{4})/([0-9]{1,2})/([0-9]{1,2})$", "${1}-${2}-${3}")
        .str.replace(r"^([0-9]{4})([0-9]{2})([0-9]{2})$", "${1}-${2}-${3}")
        .str.replace(_SLASHED, "${3}-${1}-${2}")
    )
    # One parse of the rewritten text: every accepted form is now YYYY-M-D.
    date: pl.Expr = pl.when(iso.str.contains(_ISO)).then(iso.str.to_date("%Y-%m-%d", strict=False))
    if dob_format:  # a format may name the time part itself, or leave it out
        date = pl.coalesce(_by_format(text, dob_format), _by_format(v, dob_format), date)
    today, first = dt.date.today(), dt.date(_FIRST, 1, 1)
    usable = pl.when(date.is_between(pl.lit(first), pl.lit(today))).then(date)
    # A day-first date (16/02/1997) that does not exist as M/D/YYYY, but would be kept
    # read day first, says what to pass (unless a format was given)
    day_first = pl.lit(False)
    if not dob_format:
        flipped = v.str.replace(_SLASHED, "${3}-${2}-${1}").str.to_date("%Y-%m-%d",
                                                                       strict=False)
        day_first = v.str.contains(_SLASHED) & flipped.is_between(pl.lit(first), pl.lit(today))
    reason = (
        pl.when(~present(raw)).then(None)
        .when(date.is_null() & day_first).then(pl.lit(_DAY_FIRST))
        .when(date.is_null() & v.str.contains(_DATE_SHAPE)).then(pl.lit("date does not exist"))
        .when(date.is_null() & v.str.contains(_DAY_NUMBER_SHAPE)).then(pl.lit(_DAY_NUMBER))
        .when(date.is_null()).then(pl.lit("date not recognised"))
        .when(date > today).then(pl.lit("date in the future"))
        .when(date < first).then(pl.lit("date before 1900"))
        .otherwise(None)
    )
    y, m, d = (Rule(usable.dt.strftime(p), reason) for p in ("%Y", "%m", "%d"))
    return y, m, d
