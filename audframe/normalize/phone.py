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
  digits start with (the number is read as ``"+" + digits``).
* Extensions (``x123``, ``ext. 45``, ``#9``, ``;ext=1`` …) are dropped.
* Missing (null): fewer than 7 or more than 15 digits in the E.164 result, no digit
  at all (letters-only input), an all-zero number, an impossible length.
* **Decision, vanity numbers:** letters are read on the phone keypad exactly as
  libphonenumber does (``1-800-FLOWERS`` → ``18003569377``), rather than removed.
  libphonenumber only does so when the value has three letters or more; the lone
  letters of extension labels are dropped with the extension.

How it is fast: the work runs once per distinct ``(value, region)`` pair of a batch.
Values made only of digits, spaces, ``-``, ``.``, ``(``, ``)``, ``/``, a leading
``+`` and an optional simple extension are decided by polars expressions built from
libphonenumber's own metadata (calling codes, international and national prefixes,
national prefix transform rules, national number patterns, possible lengths): the
steps of ``phonenumbers.parse`` replayed column-wise, one region or calling code at
a time. Everything else (vanity letters, full-width digits, RFC 3966 ``tel:`` URIs,
``+`` numbers with an unknown calling code and a region, …) goes through
``phonenumbers`` itself, one distinct value at a time.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import phonenumbers
import polars as pl
from phonenumbers import NumberParseException, PhoneMetadata
from phonenumbers.phonenumberutil import ValidationResult

__all__ = ["phone", "phone_reason"]

# ----------------------------------------------------------------------------- reasons
NO_DIGITS = "phone has no digits"
TOO_SHORT = "phone too short"
TOO_LONG = "phone too long"
ALL_ZEROS = "phone is all zeros"
BAD_LENGTH = "phone length not possible for its country"
BAD_COUNTRY_CODE = "phone has no valid country calling code"
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
# libphonenumber cuts "… / x2303" (a second number) before it looks for extensions.
_SECOND_NUMBER = r"[\\/] *x"

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
    per distinct ``(value, region)`` pair of each batch.

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
    return _normalized(values, region).struct.field("phone").alias(_name(values))


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
    return _normalized(values, region).struct.field("reason").alias(_name(values))


def _name(values: pl.Expr) -> str:
    try:
        return values.meta.output_name()
    except pl.exceptions.ComputeError:  # an expression without a single input column
        return "phone"


def _normalized(values: pl.Expr, region: pl.Expr | None) -> pl.Expr:
    reg = pl.lit(None, dtype=pl.String) if region is None else region.cast(pl.String)
    return pl.struct(
        values.cast(pl.String).alias("value"), reg.alias("region")
    ).map_batches(_normalize_batch, return_dtype=_RESULT, is_elementwise=True)


# --------------------------------------------------------------------- the batch step
def _normalize_batch(batch: pl.Series) -> pl.Series:
    rows = batch.struct.unnest().select(
        v=pl.col("value").str.strip_chars(),
        r=pl.col("region").str.strip_chars().str.to_uppercase().fill_null(""),
    ).with_row_index("_i")
    # One row per distinct (value, region), numbered g. A pair whose hash no other row
    # shares is distinct already (g = its row number); the rest are grouped exactly.
    shared = pl.struct("v", "r").hash().is_duplicated()
    singles = rows.filter(~shared).select(g="_i", v="v", r="r")
    groups = (
        rows.filter(shared)
        .group_by("v", "r")
        .agg("_i")
        .with_row_index("g", offset=rows.height)
    )
    decided = _resolve(pl.concat([singles, groups.select("g", "v", "r")]))
    single_rows = decided.filter(pl.col("g") < rows.height).select(
        _i="g", phone="phone", reason="reason"
    )
    group_rows = (
        groups.select("g", "_i")
        .join(decided, on="g", how="inner")
        .explode("_i")
        .select("_i", "phone", "reason")
    )
    out = pl.concat([single_rows, group_rows]).sort("_i")
    return out.select(pl.struct("phone", "reason").alias(batch.name)).to_series()


def _resolve(distinct: pl.DataFrame) -> pl.DataFrame:
    """Phone and reason for distinct ``(g, v, r)`` rows (``r`` upper case or "")."""
    v, d, main = pl.col("v"), pl.col("d"), pl.col("main")
    absent = v.is_null() | (v == "")
    done = [distinct.filter(absent).select(*_KEY, phone=pl.lit(None, pl.String),
                                           reason=pl.lit(None, pl.String))]
    within = v.str.len_bytes() <= _MAX_INPUT
    df = distinct.filter(~absent).with_columns(simple=v.str.contains(_SIMPLE) & within)
    parts = [df.filter("simple").with_columns(main=v, has_ext=pl.lit(False))]
    other = df.filter(~pl.col("simple"))
    if other.height:  # maybe a simple number with an extension, else the fallback
        other = other.with_columns(main=v.str.replace(_EXT, ""))
        other = other.with_columns(has_ext=main.str.len_bytes() != v.str.len_bytes())
        other = other.with_columns(
            simple=pl.col("has_ext") & main.str.contains(_SIMPLE) & within
            & ~v.str.contains(_SECOND_NUMBER)
        )
        parts.append(other)
    df = pl.concat(parts, how="vertical_relaxed").with_columns(
        d=main.str.replace_many(_SEPARATORS, [""] * len(_SEPARATORS))
    )
    nd = d.str.len_bytes()
    simple, has_ext = pl.col("simple"), pl.col("has_ext")
    df = df.with_columns(
        early=pl.when(simple & (nd == 0)).then(pl.lit(NO_DIGITS))
        .when(simple & has_ext & (nd < 3)).then(None)
        .when(simple & d.str.contains(r"^0*$")).then(pl.lit(ALL_ZEROS))
        .when(simple & (nd < 3)).then(pl.lit(TOO_SHORT))
    )
    early = pl.col("early")
    done.append(
        df.filter(early.is_not_null()).select(*_KEY, phone=pl.lit(None, pl.String), reason=early)
    )
    slow = [df.filter(early.is_null() & ~(simple & (~has_ext | (nd >= 3)))).select(*_KEY)]
    work = df.filter(early.is_null() & simple & (~has_ext | (nd >= 3))).select(
        *_KEY, "d", plus=main.str.strip_chars_start(" (").str.starts_with("+")
    )

    plus, known = pl.col("plus"), pl.col("r").is_in(_REGION_SERIES)
    # After '+', or with no usable region, the digits start with a calling code.
    international = work.filter(plus | ~known).with_columns(
        x=pl.when(plus).then(d).otherwise(d.str.strip_chars_start("0")),
        retry=plus & known,  # a bad calling code after '+': libphonenumber retries nationally
    )
    national, by_idd = _national(work.filter(~plus & known))
    failed, found = _international(pl.concat([international, by_idd], how="diagonal_relaxed"))
    retry = pl.col("retry") & (pl.col("err") == BAD_COUNTRY_CODE)
    slow.append(failed.filter(retry).select(*_KEY))
    judged = pl.concat(
        [
            _judge(_finish(pl.concat([national, found], how="diagonal_relaxed"))),
            _judge(failed.filter(~retry)),
        ],
        how="diagonal_relaxed",
    )
    # The spec's '00' rule: a reading that failed, written with 00 → international.
    again = pl.col("phone").is_null() & (pl.col("r") != "") & d.str.starts_with("00")
    redo = judged.filter(again).select(*_KEY, "d").with_columns(
        x=d.str.slice(2), retry=pl.lit(False)
    )
    if redo.height:
        failed, found = _international(redo)
        judged = pl.concat(
            [judged.filter(~again), _judge(_finish(found)), _judge(failed)],
            how="diagonal_relaxed",
        )
    done.append(judged.select(*_KEY, "phone", "reason"))
    slow_rows = pl.concat(slow)
    if slow_rows.height:
        done.append(_fallback(slow_rows))
    return pl.concat(done, how="vertical_relaxed")


def _judge(parsed: pl.DataFrame) -> pl.DataFrame:
    """Turn (cc, nsn, err, code) into the final phone and reason."""
    df = parsed.with_columns(_e164=pl.col("cc") + pl.col("nsn"))
    n, code, err = pl.col("_e164").str.len_bytes(), pl.col("code"), pl.col("err")
    reason = (
        pl.when(err.is_not_null()).then(err)
        .when(pl.col("nsn").str.strip_chars_start("0") == "").then(pl.lit(ALL_ZEROS))
        .when(code == _SHORT).then(pl.lit(TOO_SHORT))
        .when(code == _LONG).then(pl.lit(TOO_LONG))
        .when(code == _INVALID).then(pl.lit(BAD_LENGTH))
        .when(n < MIN_DIGITS).then(pl.lit(TOO_SHORT))
        .when(n > MAX_DIGITS).then(pl.lit(TOO_LONG))
    )
    return df.with_columns(reason=reason).select(
        *_KEY, "d", phone=pl.when(pl.col("reason").is_null()).then("_e164"), reason="reason"
    )


# ----------------------------------------------------------------- metadata as tables
_KEY = ("g", "v", "r")
_SEPARATORS = [" ", "-", ".", "(", ")", "/", "+"]
_REGION_SERIES = pl.Series(sorted(_REGIONS), dtype=pl.String).implode()
_CODE_SERIES = pl.Series(sorted(_CALLING_CODES), dtype=pl.String).implode()
_REGEX_CACHE = 16
_LEN_CAP = 24  # every possible length is below; longer numbers test like this one


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
    return _Plan(
        key=key,
        cc=str(md.country_code),
        main=_main_key(str(md.country_code)),
        lengths=tuple(desc.possible_length),
        local=tuple(desc.possible_length_local_only or ()),
        nat_re=f"^(?:{pattern})$" if pattern else None,
        npp_re=f"^(?:{npp})" if npp else None,
        npp_groups=re.compile(npp).groups if npp else 0,
        transform=re.sub(r"\\(\d)", r"${\1}", rule) if rule else None,
        idd_re=f"^(?:{md.international_prefix})" if md.international_prefix else None,
    )


_PLAN_COLUMNS: dict[str, pl.DataType] = {
    "cc": pl.String(), "main": pl.String(), "nat_re": pl.String(), "npp_re": pl.String(),
    "npp_groups": pl.Int32(), "transform": pl.String(), "idd_re": pl.String(),
}


def _with_plan(df: pl.DataFrame, key: str, columns: tuple[str, ...]) -> pl.DataFrame:
    """Add the metadata ``columns`` of the plan named by column ``key``."""
    if df.height == 0:
        return df.with_columns(pl.lit(None, _PLAN_COLUMNS[c]).alias(c) for c in columns)
    keys = df[key].unique().to_list()
    plans = [_plan(k) for k in keys]
    index = pl.col(key).replace_strict(keys, list(range(len(keys))), return_dtype=pl.UInt32)
    return df.with_columns(_at=index).with_columns(
        pl.lit(pl.Series([getattr(p, c) for p in plans], dtype=_PLAN_COLUMNS[c]))
        .gather(pl.col("_at"))
        .alias(c)
        for c in columns
    ).drop("_at")


def _length_code(df: pl.DataFrame, key: str, number: str, out: str) -> pl.DataFrame:
    """Column ``out``: _test_number_length of column ``number`` under plan column ``key``."""
    if df.height == 0:
        return df.with_columns(pl.lit(None, pl.Int8).alias(out))
    keys = df[key].unique().to_list()
    width = _LEN_CAP + 1
    table = pl.Series(
        [_plan(k).length_code(n) for k in keys for n in range(width)], dtype=pl.Int8
    )
    slot = pl.col(key).replace_strict(
        keys, [i * width for i in range(len(keys))], return_dtype=pl.UInt32
    ) + pl.col(number).str.len_bytes().clip(upper_bound=_LEN_CAP)
    return df.with_columns(pl.lit(table).gather(slot).alias(out))


def _clustered(df: pl.DataFrame, column: str) -> pl.DataFrame:
    """Rows with equal ``column`` side by side.

    A regex given per row is compiled through a small cache, so many distinct
    patterns interleaved would be compiled over and over.
    """
    if df.height > _REGEX_CACHE and df[column].n_unique() > _REGEX_CACHE:
        return df.sort(column)
    return df


def _matches(number: pl.Expr) -> pl.Expr:
    """Full match of the plan's national number pattern (column ``nat_re``)."""
    return number.str.contains(pl.col("nat_re")).fill_null(False)


def _strip_national_prefix(df: pl.DataFrame, source: str, target: str, key: str) -> pl.DataFrame:
    """phonenumberutil._maybe_strip_national_prefix_carrier_code: the number it returns.

    Reads digits from column ``source`` and the metadata of the plan named in column
    ``key``; writes column ``target``.
    """
    number = pl.col(source)
    columns = df.columns
    df = _clustered(_with_plan(df, key, ("npp_re",)), "npp_re")
    hit = number.str.contains(pl.col("npp_re")).fill_null(False)
    df = df.with_columns(_hit=hit)
    parts = [df.filter(~pl.col("_hit")).select(*columns, number.alias(target))]
    todo = _with_plan(df.filter("_hit"), key, ("npp_groups", "transform", "nat_re"))
    for part in todo.partition_by("npp_re", "npp_groups", "transform"):
        npp, groups, rule = part["npp_re"][0], part["npp_groups"][0], part["transform"][0]
        part = _clustered(part, "nat_re")
        plain = number.str.replace(npp, "")
        if rule is not None and groups > 0:
            candidate = pl.when(number.str.extract(npp, groups).is_null()).then(plain).otherwise(
                number.str.replace(npp, rule)
            )
        else:
            candidate = plain
        part = part.with_columns(_candidate=candidate, _viable=_matches(number))
        keep = pl.col("_viable") & ~_matches(pl.col("_candidate"))
        parts.append(
            part.select(*columns, pl.when(keep).then(number).otherwise("_candidate").alias(target))
        )
    return pl.concat(parts, how="vertical_relaxed")


def _national(df: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Digits ``d`` written without '+' in a known region ``r``: the start of parse(d, r).

    Returns the rows read nationally (with ``cc``, ``national``, ``pkey``, ``mkey``)
    and the rows that start with the region's international prefix (with ``x``).
    """
    d = pl.col("d")
    df = _clustered(_with_plan(df, "r", ("cc", "main", "idd_re")), "r")
    df = df.with_columns(
        retry=pl.lit(False), _idd=d.str.contains(pl.col("idd_re")).fill_null(False)
    ).drop("idd_re")
    idd = []
    for part in _with_plan(df.filter("_idd"), "r", ("idd_re",)).partition_by("idd_re"):
        match = d.str.extract(part["idd_re"][0], 0)
        idd.append(part.drop("idd_re").with_columns(x=d.str.slice(match.str.len_bytes())))
    by_idd = pl.concat(idd, how="vertical_relaxed") if idd else df.clear().with_columns(x=d)
    # libphonenumber keeps the prefix when a 0 follows it: calling codes never start with 0
    after_zero = pl.col("x").str.starts_with("0")
    df = pl.concat([df.filter(~pl.col("_idd")), by_idd.filter(after_zero).drop("x")])
    by_idd = by_idd.filter(~after_zero).select(*_KEY, "d", "x", "retry")

    # The number may already start with the region's calling code (16505551212, US).
    cc = pl.col("cc")
    starts = df.filter(d.str.starts_with(cc)).with_columns(_rest=d.str.slice(cc.str.len_bytes()))
    starts = _strip_national_prefix(starts, "_rest", "_potential", "r")
    starts = _clustered(_length_code(starts, "r", "d", "_code"), "r")
    starts = _with_plan(starts, "r", ("nat_re",))
    has_cc = (~_matches(d) & _matches(pl.col("_potential"))) | (pl.col("_code") == _LONG)
    starts = starts.with_columns(_has_cc=has_cc)
    # parse switches to the calling code's main region once it has read the code itself
    with_cc = starts.filter("_has_cc").with_columns(national="_potential", pkey="main")
    rows = pl.concat(
        [
            df.filter(~d.str.starts_with(cc)),
            starts.filter(~pl.col("_has_cc")).select(df.columns),
        ]
    ).with_columns(national=d, pkey="r")
    national = pl.concat([rows.select(_PARSED), with_cc.select(_PARSED)]).with_columns(
        mkey=pl.col("main")
    )
    return national.drop("main"), by_idd


_PARSED = ("g", "v", "r", "d", "cc", "main", "national", "pkey", "retry")


def _international(df: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Digits ``x`` that start with a calling code (after '+', an IDD, or without region).

    Returns the rows that fail (with ``err``) and those with ``cc``, ``national``,
    ``pkey`` and ``mkey``.
    """
    x = pl.col("x")
    cc = pl.lit(None, pl.String)
    for width in (3, 2, 1):  # libphonenumber tries 1, 2, 3; calling codes are prefix-free
        head = x.str.slice(0, width)
        known = head.is_in(_CODE_SERIES) & (x.str.len_bytes() >= width)
        cc = pl.when(known).then(head).otherwise(cc)
    short = x.str.len_bytes() <= _MIN_NSN
    df = df.with_columns(cc=cc)
    failed = df.filter(pl.col("cc").is_null() | short).with_columns(
        cc=pl.lit("", pl.String),
        nsn=pl.lit("", pl.String),
        err=pl.when(short).then(pl.lit(TOO_SHORT)).otherwise(pl.lit(BAD_COUNTRY_CODE)),
        code=pl.lit(_INVALID, pl.Int8),
    )
    found = df.filter(pl.col("cc").is_not_null() & ~short)
    keys = pl.DataFrame(
        {"cc": (codes := found["cc"].unique().to_list()), "pkey": [_main_key(c) for c in codes]},
        schema={"cc": pl.String, "pkey": pl.String},
    )
    found = found.join(keys, on="cc", how="left").with_columns(
        national=x.str.slice(pl.col("cc").str.len_bytes()), mkey=pl.col("pkey")
    )
    return failed, found


def _finish(df: pl.DataFrame) -> pl.DataFrame:
    """The end of phonenumbers.parse (national prefix, lengths) and is_possible_number.

    Reads ``national``, the plan parse holds (``pkey``) and the calling code's main
    region (``mkey``, which is_possible_number uses); adds ``nsn``, ``err``, ``code``.
    """
    df = _strip_national_prefix(df, "national", "_stripped", "pkey")
    df = _length_code(df, "pkey", "_stripped", "_code")
    df = df.with_columns(
        nsn=pl.when((pl.col("_code") == _POSSIBLE) | (pl.col("_code") == _LONG))
        .then(pl.col("_stripped"))
        .otherwise(pl.col("national"))
    )
    df = _length_code(df, "mkey", "nsn", "code")
    n = pl.col("nsn").str.len_bytes()
    return df.with_columns(
        err=pl.when(pl.col("national").str.len_bytes() < _MIN_NSN).then(pl.lit(TOO_SHORT))
        .when(n > _MAX_NSN).then(pl.lit(TOO_LONG)),
    )


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
_LEADING_ZEROS = re.compile(r"^(?:[^\d+\uff0b]|0)*")
_DOUBLE_ZERO = re.compile(r"^[^\d+\uff0b]*0\D*0")


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
    it falls back to.
    """
    digits = _ANY_DIGIT.findall(value)
    if not digits:
        return None, NO_DIGITS
    if all(digit == "0" for digit in digits):
        return None, ALL_ZEROS
    start = _START.search(value)
    plus = start is not None and not start.group().isdigit()
    if region not in _REGIONS:
        region = None
    if region is None and not plus:
        return _e164("+" + _LEADING_ZEROS.sub("", value, count=1), None)
    out, why = _e164(value, region)
    if out is None and region is not None and not plus and _DOUBLE_ZERO.match(value):
        out, why = _e164(_DOUBLE_ZERO.sub("+", value, count=1), None)
    return out, why


def _fallback(df: pl.DataFrame, one: Callable[[str, str | None], tuple[str | None, str | None]]
              = _normalize_one) -> pl.DataFrame:
    results = [one(v, r or None) for v, r in df.select("v", "r").iter_rows()]
    return df.select(*_KEY).with_columns(
        phone=pl.Series([p for p, _ in results], dtype=pl.String),
        reason=pl.Series([w for _, w in results], dtype=pl.String),
    )
