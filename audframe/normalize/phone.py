"""PHONE: raw phone text → E.164 digits without ``+``, the way libphonenumber reads it.

The contract (``shared/spec/normalization.md``, *Phones*): whenever libphonenumber
(``phonenumbers.parse(value, REGION)``) finds a *possible* number
(``phonenumbers.is_possible_number``), the output is its E.164 form without ``+``.
On top of that:

* A value starting with ``+`` carries its country code. So does one starting with
  the international prefix ``00``, even where that region dials abroad with another
  prefix (``0044 20 7183 8750`` in the US → ``442071838750``); where libphonenumber
  already reads such a number as a possible national number, its reading wins.
* No region (null, or a code libphonenumber does not know): digits only, leading
  zeros stripped, kept only when the length is possible for the calling code the
  digits start with (the number is read as ``"+" + digits``); unless an RFC 3966
  ``;phone-context=+1`` names the calling code, as libphonenumber reads it.
* Extensions (``x123``, ``ext. 45``, ``#9``, ``;ext=1`` …) are dropped.
* **Decision, extension labels:** when libphonenumber finds no possible number in a
  value that ends in an extension after a label it does not know (Quebec's ``poste``,
  Brazil's ``ramal``, Argentina's ``interno``, ``p.``, ``Durchwahl``) or after a ``;``
  (``; ext 5``), the value is read again without the extension; and one with
  separators it refuses between digits (a tab, a thin or narrow no-break space, ``:``,
  ``_``, ``,``), read again with spaces there.
* Missing (null): fewer than 7 or more than 15 digits in the E.164 result, no digit
  at all (letters-only input), an all-zero number, an impossible length.
* **Decision, vanity numbers:** letters are read on the phone keypad exactly as
  libphonenumber does (``1-800-FLOWERS`` → ``18003569377``), rather than removed.
  libphonenumber only does so when the value has three letters or more; the lone
  letters of extension labels are dropped with the extension.
* **Decision, notes:** when libphonenumber finds no possible number in a value that
  ends in a note (letters after the last digit: ``650-555-1212 (cell)``,
  ``020 7183 8750 mob``, which it reads on the keypad, making the number too long),
  the value is read again up to its last digit, as Meta says ("remove symbols,
  letters"). Only when that part is a number read whole (no other letters but an
  extension's label, brackets closed): digits of a note never join the number. Where
  the second reading fails too, the first reading's reason stands.

How it is fast: the work runs once per distinct ``(value, region)`` pair of a batch
whose values repeat (else once per row: finding the pairs would cost more). Values
made only of digits, spaces, ``-``, ``.``, ``(``, ``)``, ``/``, a leading ``+`` and an
optional simple extension, with any text libphonenumber cuts off around
them (``Phone: …``, a trailing ``,``), are decided by polars expressions built from
libphonenumber's own metadata (calling codes, international and national prefixes,
national prefix transform rules, national number patterns, possible lengths): the
steps of ``phonenumbers.parse`` replayed column-wise, one region or calling code at
a time, with that plan's patterns as literals. There are two such passes: the
national reading by region, then the rest of parse, is_possible_number and the spec's
limits by the plan parse ends in (both the national readings and the numbers read
after a calling code); each plan's expressions are built once per process. The
'00' rule's second, international reading of a number goes through the second pass
along with the others, and is used where the national reading fails. Everything else
(vanity letters,
full-width digits, RFC 3966 ``tel:`` URIs, ``+`` numbers with an unknown calling code
and a region, …) goes through ``phonenumbers`` itself, one distinct value at a time;
so do the numbers of a region or calling code that has only a handful of them in the
batch, where one ``phonenumbers`` call per value costs less than the plan's passes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import phonenumbers
import polars as pl
from phonenumbers import NumberParseException, PhoneMetadata, phonenumberutil
from phonenumbers.phonenumberutil import ValidationResult

__all__ = ["phone", "phone_reason", "phone_with_reason"]

# ----------------------------------------------------------------------------- reasons
NO_DIGITS = "phone has no digits"
TOO_SHORT = "phone too short"
TOO_LONG = "phone too long"
ALL_ZEROS = "phone is all zeros"
BAD_LENGTH = "phone length not possible for its country"
BAD_COUNTRY_CODE = "phone has no valid country calling code"
#: (given by audframe.normalize, which knows the row has no region)
NO_REGION = "phone has no calling code, and its row no country (set a default country)"
NOT_A_NUMBER = "phone is not a phone number"

#: E.164 bounds the spec puts on the result (country code + national number).
MIN_DIGITS, MAX_DIGITS = 7, 15

_RESULT = pl.Struct({"phone": pl.String, "reason": pl.String})

# libphonenumber limits (phonenumberutil._MIN_LENGTH_FOR_NSN, _MAX_LENGTH_FOR_NSN, …)
_MIN_NSN, _MAX_NSN, _MAX_INPUT = 2, 17, 250

# Length-test outcomes, as in phonenumberutil._test_number_length.
_POSSIBLE, _LOCAL_ONLY, _SHORT, _LONG, _INVALID = 0, 1, 2, 3, 4

# ----------------------------------------------------------- shapes of the fast path
# A simple extension: libphonenumber's explicit ("ext", "extn", "extension", "xt") and
# one-character ("x", "#") labels with the same digit limits (20 and 9). Anything else
# that looks like an extension leaves letters or symbols behind, so it is not simple.
_EXT = (
    r"(?i)[ \t]*(?:e?xt(?:ensio)?n?[:.]?[ \t,\-]*[0-9]{1,20}"
    r"|[x#][:.]?[ \t,\-]*[0-9]{1,9})#?$"
)
# Digits and common separators, with an optional '+' after leading spaces/brackets.
_SIMPLE = r"^[ (]*\+?[0-9 ().\-/]*$"
# Text that libphonenumber does not simply cut out of a value: a second number
# ("… / x2303"), RFC 3966 parameters (";phone-context=", ";isub=").
_NOT_EXTRACTED = r";|[\\/] *x"

_CALLING_CODES: frozenset[str] = frozenset(
    str(cc) for cc in phonenumbers.COUNTRY_CODE_TO_REGION_CODE
)
_REGIONS: frozenset[str] = frozenset(phonenumbers.SUPPORTED_REGIONS)


# ------------------------------------------------------------------------ public API
def phone(values: pl.Expr, *, region: pl.Expr | None = None) -> pl.Expr:
    """Normalize phone numbers to E.164 digits without ``+``.

    Parameters
    ----------
    values
        String expression: raw cell text (untrimmed, with symbols, letters,
        extensions, ``+`` or ``00`` allowed). Integer columns must be cast to String
        first.
    region
        String expression, per row: a lowercase ISO 3166-1 alpha-2 code (``"us"``,
        ``"gb"``) for numbers written without a country code, or null. ``None``
        means no region for any row.

    Returns
    -------
    pl.Expr
        String: country calling code + national significant number (``"16505551212"``),
        or null when the value is null, empty, or not a possible number.

    Notes
    -----
    Works eagerly and lazily (including the streaming engine); the work runs once
    per distinct ``(value, region)`` pair of each batch whose values repeat.

    Examples
    --------
    >>> import polars as pl
    >>> df = pl.DataFrame({
    ...     "tel": ["(650)555-1212", "020 7183 8750", "06 6982 0000", "+49 30 1234567", "n/a"],
    ...     "country": ["us", "gb", "it", None, "us"],
    ... })
    >>> df.select(phone(pl.col("tel"), region=pl.col("country")))
    shape: (5, 1)
    ┌──────────────┐
    │ tel          │
    │ ---          │
    │ str          │
    ╞══════════════╡
    │ 16505551212  │
    │ 442071838750 │
    │ 390669820000 │
    │ 49301234567  │
    │ null         │
    └──────────────┘
    """
    return phone_with_reason(values, region=region).struct.field("phone").alias(_name(values))


def phone_reason(values: pl.Expr, *, region: pl.Expr | None = None) -> pl.Expr:
    """Say why a present phone value is missing after :func:`phone`.

    Parameters
    ----------
    values, region
        As for :func:`phone`.

    Returns
    -------
    pl.Expr
        String: one of ``"phone has no digits"``, ``"phone too short"``,
        ``"phone too long"``, ``"phone is all zeros"``,
        ``"phone length not possible for its country"``,
        ``"phone has no valid country calling code"``, ``"phone is not a phone number"``;
        null when the value is valid, null, or empty after trimming. It is non-null
        exactly when the trimmed value is non-empty and :func:`phone` is null.

    Examples
    --------
    >>> import polars as pl
    >>> df = pl.DataFrame({"tel": ["650 555 1212", "12345", "n/a", "", None]})
    >>> df.select(phone_reason(pl.col("tel"), region=pl.lit("us")))
    shape: (5, 1)
    ┌─────────────────────┐
    │ tel                 │
    │ ---                 │
    │ str                 │
    ╞═════════════════════╡
    │ null                │
    │ phone too short     │
    │ phone has no digits │
    │ null                │
    │ null                │
    └─────────────────────┘
    """
    return phone_with_reason(values, region=region).struct.field("reason").alias(_name(values))


def phone_with_reason(values: pl.Expr, *, region: pl.Expr | None = None) -> pl.Expr:
    """:func:`phone` and :func:`phone_reason` in one pass.

    Same parameters; returns a Struct of ``phone`` and ``reason`` (both String, as
    those functions return them). polars computes a Python function once per use,
    so a caller that needs both takes them from one computed column of this.
    """
    reg = pl.lit(None, dtype=pl.String) if region is None else region.cast(pl.String)
    return pl.struct(
        values.cast(pl.String).alias("value"), reg.alias("region")
    ).map_batches(_normalize_batch, return_dtype=_RESULT, is_elementwise=True)


def _name(values: pl.Expr) -> str:
    try:
        return values.meta.output_name()
    except pl.exceptions.ComputeError:  # an expression without a single input column
        return "phone"


# --------------------------------------------------------------------- the batch step
def _normalize_batch(batch: pl.Series) -> pl.Series:
    raw = batch.struct.unnest()
    # (values as given: _resolve trims those that need it)
    rows = pl.DataFrame({"v": raw["value"], "r": _region_plans(raw["region"])})
    n = rows.height
    groups = None
    if _repeats(rows):
        # One row per distinct (value, region), numbered g. A pair whose hash no other
        # row shares is distinct already (g = its row number); the rest are grouped
        # exactly, so any hash will do: a collision only sends both rows to the exact
        # grouping.
        hashes = rows.select(_PAIR).to_series()
        ordered = hashes.sort()  # cheaper than is_duplicated when few rows repeat
        repeated = ordered.filter(ordered == ordered.shift(1))
        shared = hashes.is_in(repeated.implode())
        rows = rows.with_row_index("g")
        groups = rows.filter(shared).group_by("v", "r").agg("g").with_row_index("k", offset=n)
        rows = pl.concat([rows.filter(~shared), groups.select(g="k", v="v", r="r")])
    else:  # each row is read, numbered g
        rows = rows.with_row_index("g")
    first, later = _resolve(rows)
    decided = pl.concat([first, later]).with_row_index("at")
    # Where each row finds its answer: its own decided row, or its group's; a later
    # answer replaces an earlier one.
    at = pl.zeros(n, dtype=pl.UInt32, eager=True)
    places = decided.select("g", "at")
    for part in (places.head(first.height), places.tail(later.height)):
        found = part.filter(pl.col("g") < n)
        at = at.scatter(found["g"], found["at"])
        if groups is not None and groups.height:
            members = part.filter(pl.col("g") >= n).join(
                groups.select(g="k", i="g"), on="g", how="inner"
            ).select("i", "at").explode("i")
            at = at.scatter(members["i"], members["at"])
    out = decided.select(pl.struct("phone", "reason").alias(batch.name)).to_series()
    return out.gather(at)


#: Rows of a batch sampled by ``_repeats``.
_SAMPLE = 8192
#: The share of a batch's rows that repeat another above which ``_repeats`` holds.
_REPEATS = 0.05
#: UInt64: a hash of a row's ``(v, r)`` pair.
_PAIR = pl.col("v").hash(11) ^ pl.col("r").hash(13)


def _repeats(rows: pl.DataFrame) -> bool:
    """Whether the rows ``(v, r)`` (String value, UInt16 plan or null) repeat enough for
    reading each distinct row once, rather than each row, to pay off: finding them costs
    about 60 ns a row, reading a row about 1 µs, so when more than ``_REPEATS`` of the
    rows repeat another.

    True for a batch of at most ``_SAMPLE`` rows. Else the share is estimated from a
    random (but fixed) sample of ``_SAMPLE`` rows: a row and one it repeats are both in
    it with a chance of (sample / rows)², so each row of the sample that shares its hash
    (``_PAIR``) with another stands for rows / sample² of the batch (more for a value
    repeated many times: it errs towards grouping).
    Null values are left out, as they cost nothing to read. Either way the answers are
    the same.
    """
    n = rows.height
    if n <= _SAMPLE:
        return True
    sample = rows.sample(_SAMPLE, seed=0).filter(pl.col("v").is_not_null()).select(_PAIR)
    repeats = sample.height - sample.to_series().n_unique()
    return repeats * n / _SAMPLE**2 > _REPEATS


def _region_plans(region: pl.Series) -> pl.Series:
    """UInt16: the number of the plan (see ``_PLAN_KEYS``) of each region code of the
    String ``region``, in any case and trimmed; null for null and for other text.

    libphonenumber reads a value with an unknown region as one without, so the other
    text needs no name. A known code in any case is looked up (cheaper than trimming
    and case mapping every row); only other text, if any, is trimmed and upper-cased.
    """
    known = region.cast(_REGION_ENUM, strict=False)
    if known.null_count() > region.null_count():
        known = region.str.strip_chars().str.to_uppercase().cast(_REGION_ENUM, strict=False)
    return _REGION_PLAN.gather(known.to_physical())


def _resolve(distinct: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Answers ``(g, phone, reason)`` for distinct ``(g, v, r)`` rows (``v`` untrimmed,
    ``r`` the region's plan number or null, see ``_region_plans``).

    Returns the answers, and later answers that replace some of them (same ``g``).
    """
    v, d, main, plus = pl.col("v"), pl.col("d"), pl.col("main"), pl.col("plus")
    absent = v.is_null() | (v == "")
    within = v.str.len_bytes() <= _MAX_INPUT
    # ``d``: the value without its separators, so its digits, behind a '+' (kept) if it
    # has one. Most values are plain: digits and separators, with a '+' only in front,
    # which is what ``d`` read as a number (``number``, UInt64) says; a plain value is
    # simple (see _SIMPLE) once trimmed, its spaces being separators. (A null value
    # counts as plain: it only needs its route, "absent".) Other values are trimmed first.
    number = pl.col("number")
    lf = distinct.lazy().with_columns(d=_unseparated(v), plus=v.str.starts_with("+"))
    lf = lf.with_columns(number=d.cast(pl.UInt64, strict=False)).with_columns(
        plain=v.is_null() | (number.is_not_null() & (plus | ~d.str.starts_with("+")) & within)
    )
    # What libphonenumber reads of any other text (_extract_possible_number): from the
    # first digit or '+' to the last letter, digit or '#'; then the extension goes.
    # Values it cuts otherwise (a second number, RFC 3966 parameters) and non-ASCII text
    # go to the fallback. (A simple value that is not plain reads the same either way.)
    text = v.str.replace(r"^[^+0-9]+", "").str.replace(r"[^#0-9A-Za-z]+$", "")
    other = lf.filter(~pl.col("plain")).with_columns(v=v.str.strip_chars())
    other = other.with_columns(_text=text).with_columns(main=pl.col("_text").str.replace(_EXT, ""))
    other = other.with_columns(
        has_ext=main.str.len_bytes() != pl.col("_text").str.len_bytes(),
        simple=(v.str.len_bytes() == v.str.len_chars())
        & ~v.str.contains(_NOT_EXTRACTED)
        & main.str.contains(_SIMPLE)
        & within,
        d=_unseparated(main),
        plus=main.str.contains("+", literal=True),  # simple text has its '+' in front
    ).with_columns(number=d.cast(pl.UInt64, strict=False))
    columns = ("g", "v", "r", "d", "plus", "number", "simple", "has_ext")
    lf = pl.concat(
        [
            lf.filter("plain").select(*columns[:-2], simple=pl.lit(True), has_ext=pl.lit(False)),
            other.select(*columns),
        ],
        how="vertical_relaxed",
    )
    nd = d.str.len_bytes() - plus.cast(pl.UInt32)  # (a '+' is in d)
    simple, has_ext = pl.col("simple"), pl.col("has_ext")
    # Fewer than 3 digits: libphonenumber's reason depends on how they are written ('12'
    # is too short in a region, '+12' and '1' are not numbers), so it gives it.
    fast = simple & (nd >= 3)
    lf = lf.with_columns(
        fast=fast,
        early=pl.when(absent).then(_NULL)
        .when(simple & (nd == 0) & ~has_ext).then(pl.lit(NO_DIGITS))  # ('+x4930…': fallback)
        .when(fast & (number == 0)).then(pl.lit(ALL_ZEROS)),  # (see _all_zeros)
        known=pl.col("r").is_not_null(),
    )
    early, fast, plus, known = pl.col("early"), pl.col("fast"), pl.col("plus"), pl.col("known")
    # Where each row goes: decided already (or absent), the fallback, read nationally, or
    # read after a calling code ('+', or no usable region).
    route = (
        pl.when(absent | early.is_not_null()).then(pl.lit(0, pl.UInt8))
        .when(~fast).then(pl.lit(1, pl.UInt8))
        .when(~plus & known).then(pl.lit(2, pl.UInt8))
        .otherwise(pl.lit(3, pl.UInt8))
    )
    df = lf.with_columns(_route=route).collect(engine="in-memory")

    def part(k: int, *columns: str) -> pl.DataFrame:  # only the columns a route needs
        return df.select(*columns, "_route").filter(pl.col("_route") == k).drop("_route")

    first = [part(0, "g", "early").select("g", phone=_NULL, reason="early")]
    slow = [part(1, "g", "v", "r")]
    international = part(3, "g", "d", "plus", "known").select(
        "g",
        x=pl.when(plus).then(d.str.slice(1)).otherwise(d.str.strip_chars_start("0")),
        retry=plus & known,  # a bad calling code after '+': libphonenumber retries nationally
        zz=pl.lit(False),
    )
    few: list[pl.Series] = []  # rows for the fallback, found on the way
    read, by_idd, alt = _national(part(2, "g", "r", "d"), few)
    failed, found = _international(
        pl.concat([international, by_idd, alt], how="diagonal_relaxed")
    )
    retry = pl.col("retry") & (pl.col("err") == BAD_COUNTRY_CODE)
    # At most 2 digits after a calling code's place: libphonenumber says 'too short' after
    # a region's IDD, 'not a number' after '+' (the '00' rule's '+' too), so it decides.
    short = pl.col("err") == TOO_SHORT
    g = pl.col("g")
    few.append(failed.filter(retry | short).select(pl.when(g >= _ALT).then(g - _ALT).otherwise(g))
               .to_series())
    # The rows read nationally are finished whatever their number: only those that
    # reach a plan through a calling code count towards _FEW (see _by_plan).
    found = found.with_columns(counted=pl.col("g") < _ALT)
    judged = pl.concat(
        [
            _finish(pl.concat([read, found], how="diagonal_relaxed"), few),
            failed.filter(~retry & ~short).select("g", "zz", phone=_NULL, reason="err"),
        ],
        how="diagonal_relaxed",
    ).lazy()
    phone = pl.col("phone")
    answers, again, seconds = pl.collect_all(
        [
            judged.filter(g < _ALT).select("g", "phone", "reason"),
            judged.filter(phone.is_null() & pl.col("zz") & (g < _ALT)).select("g"),
            judged.filter(g >= _ALT).select(g - _ALT, "phone", "reason", "pkey"),
        ],
        engine="in-memory",
    )
    first.append(answers)
    later = []
    if again.height:
        # The '00' rule: the second readings of the national readings that failed.
        seconds = seconds.filter(g.is_in(again["g"].implode()))
        # As if they alone were finished, the invalid ones of a calling code with few of
        # them go to the fallback, which names their reason (it reads the value from the
        # start); a valid reading is libphonenumber's anyway.
        reached = seconds.filter(pl.col("pkey").is_not_null())
        rare = reached.group_by("pkey").len().filter(pl.col("len") < _FEW)["pkey"]
        gone = pl.col("pkey").is_in(rare.implode()).fill_null(False) & phone.is_null()
        few.append(seconds.filter(gone)["g"])
        later.append(seconds.filter(~gone).select("g", "phone", "reason"))
    found_few = pl.concat(few)
    if found_few.len():
        slow.append(df.filter(pl.col("g").is_in(found_few.implode())).select("g", "v", "r"))
    slow_rows = pl.concat(slow)
    if slow_rows.height:
        # (libphonenumber reads trimmed values, see _normalize_one)
        later.append(_fallback(slow_rows.with_columns(v.str.strip_chars())))
    empty = pl.DataFrame(schema={"g": pl.UInt32, "phone": pl.String, "reason": pl.String})
    return (
        pl.concat(first, how="vertical_relaxed").select("g", "phone", "reason"),
        pl.concat([empty, *later], how="vertical_relaxed").select("g", "phone", "reason"),
    )


# ----------------------------------------------------------------- metadata as tables
#: Added to ``g`` for the second readings of the '00' rule (see ``_resolve``): above every
#: row and group number of a batch (below 2 * rows, and a batch has fewer than 2**30).
_ALT = 1 << 31
_SEPARATORS = [" ", "-", ".", "(", ")", "/"]
#: Every known region code (two letters) in every case ("US", "us", "Us", "uS").
_REGION_ENUM = pl.Enum(sorted({
    a + b
    for code in _REGIONS
    for a in (code[0], code[0].lower())
    for b in (code[1], code[1].lower())
}))
# The calling code that starts each three digits, if any: libphonenumber tries 1, 2 and
# 3 digits, and calling codes are prefix-free.
_CODE_BY_HEAD = {
    head: code
    for head in (f"{n:03d}" for n in range(1000))
    for code in [head[:1], head[:2], head]
    if code in _CALLING_CODES
}
_NULL = pl.lit(None, pl.String)
_Stage = dict[str, pl.Expr]  # columns a plan's query adds at once (see _run)
_LEN_CAP = 24  # every possible length is below; longer numbers test like this one
# A region or calling code with fewer distinct numbers than this in a batch goes to
# libphonenumber: its vectorized passes would cost more (about 40 µs per value against
# a few ms per plan).
_FEW = 48


@dataclass(frozen=True)
class _Plan:
    """What the fast path needs from one region's (or calling code's) metadata."""

    key: str  # region code, or "001/<cc>" for a non-geographic calling code
    cc: str
    main: str  # key of the calling code's main region
    lengths: tuple[int, ...]
    local: tuple[int, ...]
    nat_re: str | None  # anchored national number pattern
    npp_re: str | None  # anchored national prefix for parsing
    npp_groups: int
    transform: str | None  # national prefix transform rule, in polars syntax
    idd_re: str | None  # anchored international prefix
    npp_alts: tuple[str, ...] | None  # npp_re when it is only literal alternatives
    idd_alts: tuple[str, ...] | None  # idd_re likewise

    def length_code(self, n: int) -> int:
        """phonenumberutil._test_number_length for a number of ``n`` digits."""
        if n in self.local:
            return _LOCAL_ONLY
        if n in self.lengths:
            return _POSSIBLE
        if n < self.lengths[0]:
            return _SHORT
        if n > self.lengths[-1]:
            return _LONG
        return _INVALID


def _main_key(cc: str) -> str:
    region = phonenumbers.region_code_for_country_code(int(cc))
    return f"001/{cc}" if region == phonenumbers.REGION_CODE_FOR_NON_GEO_ENTITY else region


#: Every plan, numbered (a number groups rows faster than a name): regions, and the
#: non-geographic calling codes.
_PLAN_KEYS = sorted({*_REGIONS, *(_main_key(code) for code in _CALLING_CODES)})
_PLAN_NUMBER = {key: n for n, key in enumerate(_PLAN_KEYS)}
#: Indexed by three digits as a number (``"440"`` → 440): the calling code they start
#: with, and the number of the plan parse holds once it has read that code (its main
#: region's); null where no calling code starts them.
_CODE_AT = pl.Series([_CODE_BY_HEAD.get(f"{n:03d}") for n in range(1000)], dtype=pl.String)
_MAIN_PLAN_AT = pl.Series(
    [_PLAN_NUMBER[_main_key(code)] if code else None for code in _CODE_AT.to_list()],
    dtype=pl.UInt16,
)
#: The plan number of each code of ``_REGION_ENUM``, by its physical value.
_REGION_PLAN = pl.Series(
    [_PLAN_NUMBER[code.upper()] for code in _REGION_ENUM.categories], dtype=pl.UInt16
)


@cache
def _plan(key: str) -> _Plan:
    if key.startswith("001/"):
        md = PhoneMetadata.metadata_for_nongeo_region(int(key[4:]), None)
    else:
        md = PhoneMetadata.metadata_for_region(key, None)
    assert md is not None, key
    desc = md.general_desc
    assert desc is not None, key
    npp = md.national_prefix_for_parsing or None
    rule = md.national_prefix_transform_rule or None
    pattern = desc.national_number_pattern
    # (?-u): ASCII digits only, which compiles several times faster than Unicode \d
    return _Plan(
        key=key,
        cc=str(md.country_code),
        main=_main_key(str(md.country_code)),
        lengths=tuple(desc.possible_length),
        local=tuple(desc.possible_length_local_only or ()),
        nat_re=f"(?-u)^(?:{pattern})$" if pattern else None,
        npp_re=f"(?-u)^(?:{npp})" if npp else None,
        npp_groups=re.compile(npp).groups if npp else 0,
        transform=re.sub(r"\\(\d)", r"${\1}", rule) if rule else None,
        idd_re=f"(?-u)^(?:{md.international_prefix})" if md.international_prefix else None,
        npp_alts=None if rule else _literals(npp),
        idd_alts=_literals(md.international_prefix),
    )


def _literals(pattern: str | None) -> tuple[str, ...] | None:
    """``("0", "180020")`` for the pattern ``0|180020``; None for any other pattern."""
    if pattern and re.fullmatch(r"\d+(?:\|\d+)*", pattern):
        return tuple(pattern.split("|"))
    return None


def _unseparated(text: pl.Expr) -> pl.Expr:
    """String: ``text`` (String) without the separators of ``_SEPARATORS``; null for null."""
    return text.str.replace_many(_SEPARATORS, [""] * len(_SEPARATORS))


def _all_zeros(digits: pl.Expr) -> pl.Expr:
    """Boolean: the non-empty String of ASCII digits ``digits`` has no digit but 0.

    Null for null, for "" and for more significant digits than UInt64 holds (which are
    not all zeros). Parsing the digits as a number costs less than a regex.
    """
    return digits.cast(pl.UInt64, strict=False) == 0


def _prefix_length(number: pl.Expr, alternatives: tuple[str, ...]) -> pl.Expr:
    """Length of the first of ``alternatives`` that starts ``number`` (a regex
    alternation anchored at the start, without the regex); null when none does."""
    length = pl.lit(None, pl.UInt32)
    for text in reversed(alternatives):
        length = pl.when(number.str.starts_with(text)).then(pl.lit(len(text), pl.UInt32)).otherwise(
            length
        )
    return length


@cache
def _length_table(key: str) -> pl.Series:
    plan = _plan(key)
    return pl.Series([plan.length_code(n) for n in range(_LEN_CAP + 1)], dtype=pl.Int8)


# Each step below runs once per plan, on that plan's rows, with the plan's patterns as
# literals: one query per plan, whatever the number of rows, all collected together.
def _by_plan(df: pl.DataFrame, key: str, step: Callable[[pl.LazyFrame, _Plan], pl.LazyFrame],
             few: list[pl.Series]) -> pl.DataFrame:
    """``step`` on the rows of each plan numbered (UInt16, see ``_PLAN_KEYS``) in column
    ``key``, concatenated.

    The rows (``g``) of a plan with fewer than ``_FEW`` rows go to ``few`` instead: for
    them, libphonenumber costs less than the plan's vectorized passes. With a Boolean
    column ``counted``, only its true rows count, and only they go to ``few``; without
    one, every row counts. (Each plan's query filters its rows from ``df``, which costs
    less than partitioning it.)
    """
    if "counted" not in df.columns:
        df = df.with_columns(counted=pl.lit(True))
    plans = df.group_by(key).agg(rows=pl.len(), counted=pl.col("counted").sum()).sort(key)
    done, rare = [], []
    for k, rows, counted in plans.iter_rows():
        part = df.lazy() if plans.height == 1 else df.lazy().filter(pl.col(key) == k)
        if 0 < counted < _FEW:
            rare.append(k)
            if rows == counted:  # every row goes to few
                continue
            part = part.filter(~pl.col("counted"))
        query = step(part.drop(key, "counted"), _plan(_PLAN_KEYS[k]))
        done.append(query.with_columns(pl.lit(k, pl.UInt16).alias(key)))
    if rare:
        few.append(df.filter(pl.col(key).is_in(rare) & pl.col("counted"))["g"])
    if not done:  # no rows, but the columns a step adds
        empty = df.clear().drop(key, "counted")
        query = step(empty.lazy(), _plan("US"))
        return query.with_columns(pl.lit(None, pl.UInt16).alias(key)).collect(engine="in-memory")
    return pl.concat(pl.collect_all(done, engine="in-memory"), how="vertical_relaxed")


def _length_code(number: pl.Expr, plan: _Plan) -> pl.Expr:
    """phonenumberutil._test_number_length of ``number`` under ``plan``."""
    length = number.str.len_bytes().clip(upper_bound=_LEN_CAP)
    return pl.lit(_length_table(plan.key)).gather(length)


def _matches(number: pl.Expr, plan: _Plan) -> pl.Expr:
    """Full match of the plan's national number pattern."""
    return pl.lit(False) if plan.nat_re is None else number.str.contains(plan.nat_re)


def _strip_national_prefix(
    source: str, plan: _Plan
) -> tuple[list[_Stage], pl.Expr, pl.Expr | None]:
    """phonenumberutil._maybe_strip_national_prefix_carrier_code: the number it returns.

    Reads digits from String column ``source`` (null stays null). Returns the stages
    that add helper columns (``_candidate``, ``_keep``), the expression (String) of
    the number over them, and the test (Boolean, null for null) of the rows that start
    with a national prefix, the only ones it can change (None: the plan has none).
    """
    number = pl.col(source)
    if plan.npp_re is None:
        return [], number, None
    npp = plan.npp_re
    if plan.npp_alts is not None:
        cut = _prefix_length(number, plan.npp_alts)
        candidate, hit = number.str.slice(cut), cut.is_not_null()  # null: no prefix
    else:
        hit = number.str.contains(npp)
        candidate = number.str.replace(npp, "")
        if plan.transform is not None and plan.npp_groups > 0:
            candidate = pl.when(number.str.extract(npp, plan.npp_groups).is_null()).then(
                candidate
            ).otherwise(number.str.replace(npp, plan.transform))
        candidate = pl.when(hit).then(candidate)
    # The prefix stays when the number matches the national pattern and the rest does
    # not. (A pattern runs on every row, null or not: see _split.)
    stripped, viable = pl.col("_candidate"), pl.col("_keep")
    stages = [
        {"_candidate": candidate, "_keep": _matches(pl.when(hit).then(number), plan)},
        {"_keep": viable & ~_matches(pl.when(viable).then(stripped), plan)},
    ]
    return stages, pl.when(stripped.is_not_null() & ~viable.fill_null(False)).then(
        stripped
    ).otherwise(number), hit


def _split(
    df: pl.LazyFrame,
    test: pl.Expr,
    holds: Callable[[pl.LazyFrame], pl.LazyFrame],
    fails: Callable[[pl.LazyFrame], pl.LazyFrame],
) -> pl.LazyFrame:
    """``holds`` on the rows of ``df`` where the Boolean ``test`` is true, ``fails`` on
    the others (null included), concatenated (the two give the same columns).

    polars runs a string function on every row of a column, even where a ``when`` left
    it null, so the costly steps (the regular expressions of a plan) run cheaper on the
    few rows that need them, split off first.
    """
    marked = df.with_columns(_test=test.fill_null(False))
    return pl.concat(
        [
            holds(marked.filter("_test").drop("_test")),
            fails(marked.filter(~pl.col("_test")).drop("_test")),
        ]
    )


def _run(df: pl.LazyFrame, stages: list[_Stage]) -> pl.LazyFrame:
    """``df`` with each stage's columns added in turn."""
    for stage in stages:
        df = df.with_columns(**stage)
    return df


def _national(
    df: pl.DataFrame, few: list[pl.Series]
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Digits ``d`` written without '+' in a known region (plan number ``r``): the start
    of parse(d, region).

    Returns, with ``zz`` (Boolean: ``d`` starts with 00) and for ``_international``
    a false ``retry``:

    * the rows read nationally, to be finished (``national``, ``pkey``: see ``_finish``);
    * the rows that start with the region's international prefix, with ``x``;
    * for the spec's '00' rule, a second reading of each row with ``zz``: ``x`` after
      the 00, under ``g + _ALT`` (with ``zz`` false).
    """
    lf = _by_plan(df.select("g", "r", "d"), "r", _national_step, few).lazy()
    x, no = pl.col("x"), pl.lit(False)
    read, by_idd, alt = pl.collect_all(
        [
            lf.filter(x.is_null()).select("g", "national", "pkey", "zz", counted=no),
            lf.filter(x.is_not_null()).select("g", "x", "zz", retry=no),
            lf.filter("zz").select(
                g=pl.col("g") + _ALT, x=pl.col("d").str.slice(2), zz=no, retry=no
            ),
        ],
        engine="in-memory",
    )
    return read, by_idd, alt


def _national_step(df: pl.LazyFrame, plan: _Plan) -> pl.LazyFrame:
    """``(g, d)`` → ``(g, d, x, national, pkey, zz)``, see ``_national``."""
    stages, final, plain = _national_query(plan.key)
    # Only the digits that start with the region's calling code need its patterns.
    return _split(
        df,
        pl.col("d").str.starts_with(plan.cc),
        lambda rows: _run(rows, stages).select(**final),
        lambda rows: rows.select(**plain),
    )


@cache
def _national_query(key: str) -> tuple[list[_Stage], _Stage, _Stage]:
    """The stages of ``_national_step`` under plan ``key`` and its output columns; and
    those columns for digits that do not start with the plan's calling code."""
    plan = _plan(key)
    d = pl.col("d")
    # The digits after the region's international prefix (null without one) …
    if plan.idd_alts is not None:
        after = d.str.slice(_prefix_length(d, plan.idd_alts))
    elif plan.idd_re is not None:
        after = d.str.slice(d.str.extract(plan.idd_re, 0).str.len_bytes())
    else:
        after = _NULL
    # … unless a 0 follows: libphonenumber keeps the prefix, calling codes never start with 0
    x = pl.when(~after.str.starts_with("0")).then(after)
    # The number may already start with the region's calling code (16505551212, US).
    rest = d.str.slice(pl.when(d.str.starts_with(plan.cc)).then(pl.lit(len(plan.cc), pl.UInt32)))
    strip, potential, _ = _strip_national_prefix("_rest", plan)
    stages = [{"x": x, "_rest": rest}, *strip, {"_potential": potential}]
    starts = pl.col("_rest").is_not_null()
    has_cc = starts & (
        (~_matches(pl.when(starts).then(d), plan) & _matches(pl.col("_potential"), plan))
        | (_length_code(d, plan) == _LONG)
    )
    # parse switches to the calling code's main region once it has read the code itself
    own = pl.lit(_PLAN_NUMBER[plan.key], pl.UInt16)
    pkey = own
    if plan.main != plan.key:
        main = pl.lit(_PLAN_NUMBER[plan.main], pl.UInt16)
        pkey = pl.when(has_cc.fill_null(False)).then(main).otherwise(pkey)
    final = {
        "g": pl.col("g"),
        "d": d,
        "x": pl.col("x"),
        "national": pl.when(has_cc).then(pl.col("_potential")).otherwise(d),
        "pkey": pkey,
        "zz": d.str.starts_with("00"),
    }
    # (without the calling code in front, has_cc is false)
    return stages, final, {**final, "x": x, "national": d, "pkey": own}


def _international(df: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Digits ``x`` that start with a calling code (after '+', an IDD, or without region).

    Returns the rows that fail (with ``err``) and those with ``national`` and ``pkey``
    instead of ``x`` and ``retry``; other columns stay.
    """
    x, cc, head = pl.col("x"), pl.col("cc"), pl.col("_head")
    # The first three digits as a number index the tables (shorter numbers fail anyway).
    short = x.str.len_bytes() <= _MIN_NSN
    lf = df.lazy().with_columns(_head=x.str.slice(0, 3).cast(pl.UInt16, strict=False))
    lf = lf.with_columns(cc=pl.lit(_CODE_AT).gather(head))
    failed, found = pl.collect_all(
        [
            lf.filter(cc.is_null() | short).drop("_head").with_columns(
                err=pl.when(short).then(pl.lit(TOO_SHORT)).otherwise(pl.lit(BAD_COUNTRY_CODE)),
            ),
            lf.filter(cc.is_not_null() & ~short).select(
                pl.exclude("x", "cc", "retry", "_head"),
                national=x.str.slice(cc.str.len_bytes()),
                pkey=pl.lit(_MAIN_PLAN_AT).gather(head),
            ),
        ],
        engine="in-memory",
    )
    return failed, found


def _finish(df: pl.DataFrame, few: list[pl.Series]) -> pl.DataFrame:
    """The end of phonenumbers.parse (national prefix, lengths), is_possible_number and
    the spec's limits.

    Reads ``national`` (String) and the plan parse holds (``pkey``: its number in
    ``_PLAN_KEYS``, UInt16); replaces ``national`` by ``phone`` (String, null when
    missing) and ``reason`` (String, null when valid). The rows of a rare plan go to
    ``few`` (see ``_by_plan``).
    """
    return _by_plan(df, "pkey", _finish_step, few)


def _finish_step(df: pl.LazyFrame, plan: _Plan) -> pl.LazyFrame:
    """Replaces ``national`` by the answer: ``phone`` and ``reason`` (see ``_finish``)."""
    columns = [c for c in df.collect_schema().names() if c != "national"]
    prefixed, stages, plain, final = _finish_query(plan.key)
    if prefixed is None:
        return _run(df, stages).select(*columns, **final)
    # Only the numbers that start with a national prefix need the plan's patterns.
    return _split(
        df,
        prefixed,
        lambda rows: _run(rows, stages).select(*columns, **final),
        lambda rows: _run(rows, plain).select(*columns, **final),
    )


@cache
def _finish_query(
    key: str,
) -> tuple[pl.Expr | None, list[_Stage], list[_Stage], _Stage]:
    """For ``_finish_step`` under plan ``key``: the test (Boolean) of the numbers that
    start with a national prefix (None: the plan has none); the stages for them, and
    for the others (which keep their number); and the columns it adds."""
    plan = _plan(key)
    national = pl.col("national")
    stripped_stages, stripped, prefixed = _strip_national_prefix("national", plan)
    fits = _length_code(stripped, plan)
    nsn = pl.col("nsn")
    length = nsn.str.len_bytes()
    # The reason as its number in _REASONS (a choice among numbers costs less than among
    # texts): but for a short input and all zeros, the number's length tells it.
    reason = (
        pl.when(national.str.len_bytes() < _MIN_NSN).then(_reason_number(TOO_SHORT))
        .when((length <= _MAX_NSN) & _all_zeros(nsn)).then(_reason_number(ALL_ZEROS))
        .otherwise(pl.lit(_reason_by_length(key)).gather(length.clip(upper_bound=_MAX_NSN + 1)))
    )
    stages: list[_Stage] = [
        *stripped_stages,
        {"nsn": pl.when((fits == _POSSIBLE) | (fits == _LONG)).then(stripped).otherwise(national)},
        {"reason": reason},
    ]
    plain: list[_Stage] = [{"nsn": national}, {"reason": reason}]
    why = pl.col("reason")
    final = {
        "phone": pl.when(why == 0).then(pl.lit(plan.cc) + nsn),
        "reason": pl.lit(_REASON_SERIES).gather(why),
    }
    return prefixed, stages, plain, final


#: The reasons ``_finish`` gives, numbered; 0: none (the number is valid).
_REASONS = (None, TOO_SHORT, TOO_LONG, ALL_ZEROS, BAD_LENGTH)
_REASON_SERIES = pl.Series(_REASONS, dtype=pl.String)


def _reason_number(reason: str | None) -> pl.Expr:
    """UInt8 literal: the number of ``reason`` in ``_REASONS``."""
    return pl.lit(_REASONS.index(reason), pl.UInt8)


@cache
def _reason_by_length(key: str) -> pl.Series:
    """UInt8, indexed by the length of a national significant number read under plan
    ``key`` (longer than ``_MAX_NSN``: that plus one): the number in ``_REASONS`` of
    the reason a number of that length is missing (0: it is possible), by
    is_possible_number (the lengths of the calling code's main region) and the spec's
    limits."""
    plan = _plan(key)
    main = _plan(plan.main)
    by_code = {_SHORT: TOO_SHORT, _LONG: TOO_LONG, _INVALID: BAD_LENGTH}
    reasons = []
    for n in range(_MAX_NSN + 2):
        e164_length = n + len(plan.cc)
        if n > _MAX_NSN:
            reason = TOO_LONG
        elif (code := main.length_code(n)) in by_code:
            reason = by_code[code]
        elif e164_length < MIN_DIGITS:
            reason = TOO_SHORT
        elif e164_length > MAX_DIGITS:
            reason = TOO_LONG
        else:
            reason = None
        reasons.append(_REASONS.index(reason))
    return pl.Series(reasons, dtype=pl.UInt8)


# ------------------------------------------------------------------------ the fallback
_ERROR_REASON = {
    NumberParseException.INVALID_COUNTRY_CODE: BAD_COUNTRY_CODE,
    NumberParseException.NOT_A_NUMBER: NOT_A_NUMBER,
    NumberParseException.TOO_SHORT_AFTER_IDD: TOO_SHORT,
    NumberParseException.TOO_SHORT_NSN: TOO_SHORT,
    NumberParseException.TOO_LONG: TOO_LONG,
}
_POSSIBLE_REASON = {
    ValidationResult.TOO_SHORT: TOO_SHORT,
    ValidationResult.TOO_LONG: TOO_LONG,
    ValidationResult.INVALID_LENGTH: BAD_LENGTH,
    ValidationResult.INVALID_COUNTRY_CODE: BAD_COUNTRY_CODE,
}
_ANY_DIGIT = re.compile(r"\d")
_START = re.compile("[+\uff0b\\d]")
#: A zero in any script libphonenumber reads (ASCII, full-width, Arabic-Indic, Persian).
_ZERO = "[0\uff10\u0660\u06f0]"
#: Text before the first digit, then zeros and the symbols between them; not letters,
#: which libphonenumber reads itself (on the keypad). (The extension is gone by then: see
#: _without_extension.)
_LEADING_ZEROS = re.compile(rf"^[^\d+\uff0b]*(?:[^\d+\uff0bA-Za-z]|{_ZERO})*")
#: Three letters or more: libphonenumber reads the letters on the keypad (its own rule).
_VANITY = re.compile(r"(?:.*?[A-Za-z]){3}.*")
_DOUBLE_ZERO = re.compile(rf"^[^\d+\uff0b]*{_ZERO}\D*{_ZERO}")
#: libphonenumber's module, for steps of ``parse`` it has no public function for.
_UTIL: Any = phonenumberutil


def _e164(text: str, region: str | None) -> tuple[str | None, str | None]:
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException as exc:
        return None, _ERROR_REASON.get(exc.error_type, NOT_A_NUMBER)
    nsn = phonenumbers.national_significant_number(number)
    if not nsn.strip("0"):
        return None, ALL_ZEROS
    verdict = phonenumbers.is_possible_number_with_reason(number)
    if verdict not in (ValidationResult.IS_POSSIBLE, ValidationResult.IS_POSSIBLE_LOCAL_ONLY):
        return None, _POSSIBLE_REASON.get(verdict, NOT_A_NUMBER)
    e164 = f"{number.country_code}{nsn}"
    if len(e164) < MIN_DIGITS:
        return None, TOO_SHORT
    if len(e164) > MAX_DIGITS:
        return None, TOO_LONG
    return e164, None


def _normalize_one(value: str, region: str | None) -> tuple[str | None, str | None]:
    """The rules for one value, with ``phonenumbers`` doing all the work.

    ``value`` is trimmed and non-empty; ``region`` an upper-case code or None. Returns
    ``(phone, reason)``. This is what the vectorized path must agree with, and what
    it falls back to. (The vectorized path takes no value with letters after its last
    digit but an extension's label, so only this function reads notes: see
    :func:`_without_note` and the module's Decisions.)
    """
    out, why = _read(value, region)
    if out is not None:
        return out, why
    for number in (_without_note(value), _without_labelled_extension(value),
                   _with_plain_separators(value)):
        if number is not None and (again := _read(number, region)[0]) is not None:
            return again, None
    return out, why


#: An extension after a label libphonenumber does not know (Quebec's ``poste``, Brazil's
#: ``ramal``, Argentina's ``interno``, ``p.``, ``Durchwahl``), or after a known label where
#: it expects none (``; ext 5``, ``ext#12``): the number before it, ending in a digit.
_LABELLED_EXTENSION = re.compile(
    r"(?P<number>.*\d)[\s,;]*(?:poste|ramal|interno|int|durchwahl|dw|p|extension|extn|ext|x)"
    r"\.?\s*[#:.]?\s*\d{1,7}\s*", re.IGNORECASE,
)


#: Separators libphonenumber refuses between digits: tabs, the thin and narrow no-break
#: spaces (French typography's), ``:``, ``_`` and ``,``.
_ODD_SEPARATORS = re.compile(r"(?<=\d)[\t\u2000-\u200a\u202f\u205f:_,]+(?=\d)")


def _with_plain_separators(value: str) -> str | None:
    """``value`` with :data:`_ODD_SEPARATORS` between digits made spaces, when it has one
    (Decision: Meta says to remove symbols), else None."""
    spaced = _ODD_SEPARATORS.sub(" ", value)
    return None if spaced == value else spaced


def _without_labelled_extension(value: str) -> str | None:
    """``value`` without a :data:`_LABELLED_EXTENSION`, when the number before it has no
    letter after its first digit (Decision: "extensions are dropped"), else None."""
    found = _LABELLED_EXTENSION.fullmatch(value)
    if found is None:
        return None
    number = found.group("number")
    first = _ANY_DIGIT.search(number)
    return None if first is None or any(c.isalpha() for c in number[first.start():]) else number


_BRACKETS = (("(", ")"), ("[", "]"), ("\uff08", "\uff09"))


def _without_note(value: str) -> str | None:
    """``value`` up to its last digit when a note follows it, else None.

    A note is text with a letter after the last digit (``650-555-1212 (cell)``); the
    rest must be a number libphonenumber reads whole: no letter after its first digit
    but an extension's label, and its brackets closed (in ``02 1234 5678 (2 lines)``
    the ``2`` belongs to the note).
    """
    last = max((m.end() for m in _ANY_DIGIT.finditer(value)), default=0)
    number, note = value[:last], value[last:]
    if not last or not any(c.isalpha() for c in note):
        return None
    if any(number.count(a) != number.count(b) for a, b in _BRACKETS):
        return None
    main = _without_extension(number)
    first = _ANY_DIGIT.search(main)
    return None if first and any(c.isalpha() for c in main[first.start():]) else number


def _read(value: str, region: str | None) -> tuple[str | None, str | None]:
    """:func:`_normalize_one` without its second reading of a value with notes."""
    number = _without_extension(value)
    digits = _ANY_DIGIT.findall(number)
    if not digits:
        return None, NO_DIGITS
    # int() reads a digit of any script; a vanity number's letters are digits too
    if not any(map(int, digits)) and not _keypad_letters(number):
        return None, ALL_ZEROS
    start = _START.search(value)
    plus = start is not None and not start.group().isdigit()
    if region not in _REGIONS:
        region = None
    if region is None and not plus:
        # An RFC 3966 phone-context ("…;phone-context=+1") names the calling code.
        if _possible(value):
            return _e164(value, None)
        return _e164("+" + _LEADING_ZEROS.sub("", number, count=1), None)
    out, why = _e164(value, region)
    if out is None and region is not None and not plus and _DOUBLE_ZERO.match(number):
        out, why = _e164(_DOUBLE_ZERO.sub("+", number, count=1), None)
    return out, why


def _possible(value: str) -> bool:
    """Whether libphonenumber finds a possible number in ``value`` with no region."""
    try:
        return bool(phonenumbers.is_possible_number(phonenumbers.parse(value, None)))
    except NumberParseException:
        return False


def _keypad_letters(number: str) -> bool:
    """Whether libphonenumber reads letters of ``number`` on the keypad: three or more
    in the part it parses (its own step of ``parse``: RFC 3966 parameters cut)."""
    try:
        national = _UTIL._build_national_number_for_parsing(number)
    except NumberParseException:  # a phone-context it refuses: it reads nothing
        return False
    return _VANITY.fullmatch(national) is not None


def _without_extension(value: str) -> str:
    """``value`` without the extension libphonenumber finds in it, by its own rules.

    The '00' and no-region readings rewrite the value before libphonenumber reads it,
    which can change its mind: in ``0044 x207183875`` the ``x…`` is an extension, in
    ``+44 x207183875`` (too few digits before it) it is not, and its digits would become
    the number. They rewrite the number without its extension instead, as the fast path
    does. These two helpers are libphonenumber's own steps of ``parse``.
    """
    extension, number = _UTIL._maybe_strip_extension(_UTIL._extract_possible_number(value))
    return str(number) if extension else value


def _fallback(df: pl.DataFrame, one: Callable[[str, str | None], tuple[str | None, str | None]]
              = _normalize_one) -> pl.DataFrame:
    results = [
        one(v, None if r is None else _PLAN_KEYS[r]) for v, r in df.select("v", "r").iter_rows()
    ]
    return df.select("g").with_columns(
        phone=pl.Series([p for p, _ in results], dtype=pl.String),
        reason=pl.Series([w for _, w in results], dtype=pl.String),
    )
