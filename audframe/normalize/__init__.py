"""Normalization: one column per Meta key, each cell normalized or null.

:func:`normalize` works on whole frames; :func:`normalize_key` is the single-key
expression for a user's own ``select``. One module per family holds the rules:
``text`` (EMAIL, FN, LN, FI, CT, GEN), ``geo`` (COUNTRY, ST, ZIP), ``dates``
(DOB, DOBY, DOBM, DOBD), ``ids`` (MADID, EXTERN_ID, LOOKALIKE_VALUE), ``phone``.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Callable, Iterable, Mapping
from functools import partial
from types import FrameType
from typing import Any, TypeVar

import polars as pl

from audframe.distinct import collect_select, per_distinct, per_distinct_batch
from audframe.errors import ColumnTypeError, PhoneRegionWarning, UnknownKeyError
from audframe.frames import Frame, require_columns
from audframe.hashing import digest_text
from audframe.keys import DOB, KEYS, ROW_UNIQUE_KEYS, canonical_key
from audframe.mapping import resolve_mapping
from audframe.normalize import dates, geo, ids, text
from audframe.normalize.rule import Rule, nfc, nfc_series, present
from audframe.schemas import DIGEST, EMPTY_DIGEST
from audframe.whitespace import trim

__all__ = [
    "CHECK",
    "Finish",
    "build_rules",
    "check_keys",
    "normalize",
    "normalize_key",
    "phone_without_region",
    "select_keys",
]

_TEXT = "text"
_INT = "integer"
_FLOAT = "float"
_DATE = "date"
_NUMERIC_OK = {"PHONE", "ZIP", "DOBY", "DOBM", "DOBD", "EXTERN_ID", DOB, "LOOKALIKE_VALUE"}


def _family(dtype: pl.DataType) -> str | None:
    if dtype in (pl.String, pl.Null) or isinstance(dtype, pl.Categorical | pl.Enum):
        return _TEXT
    if dtype.is_integer():
        return _INT
    if dtype.is_float() or dtype.is_decimal():
        return _FLOAT
    if dtype in (pl.Date,) or isinstance(dtype, pl.Datetime):
        return _DATE
    return None


def _as_text(column: str, dtype: pl.DataType, key: str) -> pl.Expr:
    """The source column as a String expression fit for ``key``, or ColumnTypeError."""
    family = _family(dtype)
    allowed = {_TEXT}
    if key in _NUMERIC_OK:
        allowed |= {_INT, _FLOAT}
    if key == DOB:
        allowed |= {_DATE}
    if family not in allowed:
        raise ColumnTypeError(
            f"column {column!r} has dtype {dtype}, which cannot hold {key}; "
            f"{key} takes {' or '.join(sorted(allowed))} columns: cast it first"
        )
    if dtype == pl.Float32 and key in ("PHONE", "EXTERN_ID"):
        raise ColumnTypeError(
            f"column {column!r} is Float32, which keeps only about 7 digits, so a {key} "
            "loses its last ones (16505551212 reads 16505550848): read it as text or Int64"
        )
    col = pl.col(column)
    if family == _DATE:
        return col.dt.strftime("%Y-%m-%d")
    if dtype.is_decimal():
        # Exact digits: "2134.00" → "2134", "94035.10" stays.
        return col.cast(pl.String).str.replace(r"\.0*$", "")
    if family == _FLOAT and key == "LOOKALIKE_VALUE":
        col = pl.when(~col.is_nan()).then(col)  # NaN is pandas' null: a missing cell
    elif family == _FLOAT:
        # NaN (pandas' null) is missing; ±inf stays "inf"/"-inf", and a number beyond
        # what a float holds exactly becomes _INEXACT, for the rule to count (see _flaw).
        # Whole floats print as integers, in plain digits (1e15 → "1000000000000000").
        col = pl.when(~col.is_nan()).then(col)
        finite = pl.when(col.is_finite()).then(col)
        digits = finite.map_batches(_whole_digits, return_dtype=pl.String, is_elementwise=True)
        return (
            pl.when(finite.abs() >= _EXACT).then(pl.lit(_INEXACT))  # counted (see _flaw)
            .when(finite == finite.floor()).then(digits).otherwise(col.cast(pl.String))
        )
    return col.cast(pl.String)


#: Number keys whose text may be a whole float written by a tool that read the column
#: as floats ("3012345678.0"): read as its number (see :func:`nfc_series`).
_WHOLE_FLOAT_TEXT = frozenset({"PHONE", "ZIP", "DOBY", "DOBM", "DOBD"})


#: Floats from here on hold no longer every whole number: ``123456789012345678`` read
#: into a float column is ``123456789012345680``. Such a cell is no id, phone or ZIP.
_EXACT = 2.0**53
#: The text of such a cell, for :func:`_flaw` (no rule takes it as a value).
_INEXACT = "~inexact"


def _whole_digits(floats: pl.Series) -> pl.Series:
    """Whole floats below :data:`_EXACT` as their digits (``1e15`` →
    ``"1000000000000000"``, not ``"1e+15"``); String, null beyond."""
    return floats.cast(pl.Decimal(38, 0), strict=False).cast(pl.String)


_EMPTY_DIGEST_REASON = "pre-hashed value is the SHA-256 of an empty string"


def _prehashed(raw: pl.Expr, rule: Rule) -> Rule:
    """A hashed key's cell that is already a digest is lowercased and passed through;
    the digest of an empty string is missing."""
    digest = digest_text(raw)
    lowered = digest.str.to_lowercase()
    empty = lowered == EMPTY_DIGEST
    return Rule(
        pl.when(digest.is_null()).then(rule.value).when(~empty).then(lowered),
        pl.when(digest.is_null()).then(rule.reason).when(empty).then(pl.lit(_EMPTY_DIGEST_REASON)),
    )


_LIKE_A_DIGEST_REASON = "normalizes to 64 hex characters, which would read as pre-hashed"


def _rejected(rule: Rule, condition: pl.Expr, reason: str) -> Rule:
    """``rule``, with the cells where ``condition`` holds missing, for ``reason``."""
    return Rule(
        pl.when(condition).then(None).otherwise(rule.value),
        pl.when(condition).then(pl.lit(reason)).otherwise(rule.reason),
    )


def _unlike_a_digest(rule: Rule) -> Rule:
    """A cell that is no digest but normalizes into one's shape is missing.

    Removing spaces or dashes (ZIP) or all but letters (names, cities) can leave 64 hex
    characters (``e3b0…4 27ae…``): in a normalized frame that value reads as a
    pre-hashed cell, so :func:`audframe.hash` would pass it through unhashed. (A cell
    that is a digest is passed through by :func:`_prehashed`, whatever this says.)
    """
    return _rejected(rule, rule.value.str.contains(DIGEST), _LIKE_A_DIGEST_REASON)


#: Hex digests of other hash functions (MD5, SHA-1, SHA-224, SHA-384, SHA-512), and a
#: SHA-256 behind a prefix: Meta takes a SHA-256 as its 64 hex characters alone.
_OTHER_DIGEST = (r"^(?:[0-9A-Fa-f]{32}|[0-9A-Fa-f]{40}|[0-9A-Fa-f]{56}|[0-9A-Fa-f]{96}|"
                 r"[0-9A-Fa-f]{128}|(?i:0x|sha-?256:)[0-9A-Fa-f]{64})$")
_OTHER_DIGEST_REASON = ("a digest, but not SHA-256 as 64 hex characters alone (MD5, SHA-1, "
                        "SHA-512, a prefix …): give the raw value or its SHA-256")


def _unless_another_digest(key: str, rule: Rule, raw: pl.Expr) -> Rule:
    """``rule``, with a cell that is another digest (:data:`_OTHER_DIGEST`) missing for
    that reason: normalized as text it would be garbage (an MD5 in FN leaves its letters).

    Only cells of 32 bytes or more are matched, and only those with a letter (digits
    alone are left to the key's own reason: a number too long). For the row-unique keys
    (EMAIL, PHONE), whose rules refuse nearly every such cell, only the reason of a
    refused one changes, so that their values cost nothing more.
    """
    long = trim(pl.when(raw.str.len_bytes() >= 32).then(raw))
    other = (long.str.contains(_OTHER_DIGEST) & long.str.contains("[A-Fa-f]")).fill_null(False)
    if key in ROW_UNIQUE_KEYS:
        why = pl.when(other & rule.value.is_null()).then(pl.lit(_OTHER_DIGEST_REASON))
        return Rule(rule.value, why.otherwise(rule.reason))
    return _rejected(rule, other, _OTHER_DIGEST_REASON)


def _phone(raw: pl.Expr, region: pl.Expr | None) -> Rule:
    from audframe.normalize.phone import phone, phone_reason

    reason = phone_reason(raw, region=region)
    return Rule(phone(raw, region=region), _explained(reason, raw, region))


#: A cell of two phone numbers (7 digits or more each) between ``/``, ``,``, ``;``, ``&``,
#: ``|`` or a word ``or``/``and``.
_TWO_NUMBERS = (r"\d(?:[\s().-]*\d){6}.*?(?:[/,;&|]|\b(?i:or|and)\b)\s*\+?\d"
                r"(?:[\s().-]*\d){6}")
#: A number as a spreadsheet writes it in scientific notation (6.505551212E+09).
_SCIENTIFIC = r"^\s*[0-9](?:[.,][0-9]+)?[eE]\+?[0-9]{1,2}\s*$"
_TWO_NUMBERS_REASON = "phone holds more than one number: keep one per cell"
_SCIENTIFIC_REASON = ("phone in scientific notation (a spreadsheet's number format, which "
                      "may have lost digits): export the column as text")


def _explained(reason: pl.Expr, raw: pl.Expr, region: pl.Expr | None) -> pl.Expr:
    """PHONE's ``reason``, saying what libphonenumber's does not: that the row has no
    region (a number written without its calling code, '+' or '00', in a row with no
    region is read as if it began with one, and when that fails libphonenumber's reason
    misleads: it calls 415 555 0100 too short for Switzerland, +41), that the cell holds
    two numbers, or that a spreadsheet wrote it in scientific notation."""
    from audframe.normalize import phone as rules

    failed = [rules.TOO_SHORT, rules.TOO_LONG, rules.BAD_LENGTH, rules.BAD_COUNTRY_CODE]
    unread = reason.is_in(failed) & ~raw.str.contains(r"^\s*([+＋]|00)")
    if region is not None:
        unread = unread & region.is_null()
    rejected = pl.when(reason.is_not_null()).then(raw)  # the patterns read only these
    return (
        pl.when(rejected.str.contains(_SCIENTIFIC)).then(pl.lit(_SCIENTIFIC_REASON))
        .when(rejected.str.contains(_TWO_NUMBERS)).then(pl.lit(_TWO_NUMBERS_REASON))
        .when(unread).then(pl.lit(rules.NO_REGION))
        .otherwise(reason)
    )


def _rule(
    key: str, raw: pl.Expr, *, region: pl.Expr | None, from_integer: bool,
    flaw: pl.Expr | None = None,
) -> Rule:
    """The Rule of one key over a String expression (``flaw``: see :func:`_flaw`)."""
    match key:
        case "EMAIL":
            rule = text.email(raw)
        case "FN" | "LN":
            rule = _unlike_a_digest(text.name(raw))
        case "FI":
            digest = digest_text(raw).is_not_null()
            rule = _rejected(text.first_initial(raw), digest, "first name is pre-hashed")
            return _unless_another_digest(key, _guarded(key, rule, raw, flaw), raw)
        case "CT":
            rule = _unlike_a_digest(text.city(raw))
        case "GEN":
            rule = text.gender(raw)
        case "ST":
            rule = _unlike_a_digest(geo.state(raw))
        case "COUNTRY":
            rule = geo.country(raw)
        case "ZIP":
            rule = _unlike_a_digest(geo.zip_code(raw, region, from_integer=from_integer))
        case "PHONE":
            rule = _phone(raw, region)
        case "DOBY":
            rule = dates.year(raw)
        case "DOBM":
            rule = dates.month(raw)
        case "DOBD":
            rule = dates.day(raw)
        case "MADID":
            return ids.madid(raw)
        case "EXTERN_ID":
            return _guarded(key, ids.extern_id(raw), raw, flaw)
        case "LOOKALIKE_VALUE":
            return ids.lookalike_value(raw)
        case _:
            raise UnknownKeyError(f"{key} has no single-column rule; use audframe.normalize")
    return _finished(key, rule, raw, flaw)


def _finished(key: str, rule: Rule, raw: pl.Expr, flaw: pl.Expr | None) -> Rule:
    """A hashed key's ``rule`` with what every such key shares: :func:`_guarded`, another
    digest refused, a digest passed through."""
    # ZIP's checks and digests read the cell without a spreadsheet's marks ('nan, '<digest>)
    cell = geo.spreadsheet_text(raw) if key == "ZIP" else raw
    return _prehashed(cell, _unless_another_digest(key, _guarded(key, rule, cell, flaw), cell))


def _guarded(key: str, rule: Rule, raw: pl.Expr, flaw: pl.Expr | None) -> Rule:
    """``rule``, with what no rule of ``key`` should take missing: a number column's
    :func:`_flaw`, a :data:`PLACEHOLDERS` cell."""
    return _unless_placeholder(key, _unless_flawed(rule, flaw), raw)


#: What tools write for a missing value (pandas' ``astype(str)`` of NaN and None, SQL's
#: NULL, pandas' NA and NaT, spreadsheets' N/A), exactly so: ``Nan`` and ``NA`` may be names.
PLACEHOLDERS = ("nan", "NaN", "None", "NULL", "null", "<NA>", "NaT", "N/A", "n/a", "#N/A")
#: The keys whose rule would take a placeholder as a value (a name ``none``, a city
#: ``null``, a postcode ``nan``, an extern id ``None``); the others refuse it anyway.
_TAKES_PLACEHOLDERS = frozenset({"FN", "LN", "FI", "CT", "ST", "ZIP", "EXTERN_ID"})


def _unless_placeholder(key: str, rule: Rule, raw: pl.Expr) -> Rule:
    """``rule``, with a cell of :data:`PLACEHOLDERS` missing for it (``key`` in
    :data:`_TAKES_PLACEHOLDERS`)."""
    if key not in _TAKES_PLACEHOLDERS:
        return rule
    return _rejected(rule, raw.str.strip_chars().is_in(PLACEHOLDERS),
                     "a placeholder for a missing value (nan, None, NULL, <NA> …)")


def _flaw(key: str, raw: pl.Expr) -> pl.Expr:
    """String: why a number column's cell cannot be ``key`` whatever its rule says, else
    null: infinity (its text ``inf`` would pass as a postcode or an extern id), and for
    PHONE and ZIP a negative number (its text ``-2134`` would lose the sign as a dash or
    a symbol) or one with a fraction (``6505551212.5`` is no phone, ``1.5`` no postcode)."""
    flaw: Any = pl.when(raw.is_in(["inf", "-inf"])).then(pl.lit(f"{_name(key)} is not a "
                                                               "finite number"))
    flaw = flaw.when(raw == _INEXACT).then(pl.lit(
        f"{_name(key)} has more digits than a float column holds exactly (2**53): read the "
        "column as text or Int64"))
    if key in ("PHONE", "ZIP"):
        flaw = flaw.when(raw.str.starts_with("-")).then(pl.lit(f"{_name(key)} is a negative "
                                                               "number"))
        flaw = flaw.when(raw.str.contains(".", literal=True)).then(
            pl.lit(f"{_name(key)} is not a whole number"))
    found: pl.Expr = flaw.otherwise(None)
    return found


def _name(key: str) -> str:
    return "extern id" if key == "EXTERN_ID" else key.lower()


def _unless_flawed(rule: Rule, flaw: pl.Expr | None) -> Rule:
    """``rule``, with the cells of a number column that have a :func:`_flaw` missing for
    it. ``flaw``: String, or None for a text column."""
    if flaw is None:
        return rule
    return Rule(pl.when(flaw.is_null()).then(rule.value), pl.coalesce(flaw, rule.reason))


#: The keys a number column's cell may be flawed for (see :func:`_flaw`).
_FLAWED = frozenset({"PHONE", "ZIP", "EXTERN_ID"})
_RAW, _COUNTRY, _FLAW, _V = "raw", "country", "flaw", "__audframe_value"


def _region(code: pl.Expr | None, default_country: str | None) -> pl.Expr | None:
    """Each row's alpha-2 country (``code``, already normalized), else the default."""
    default = None if default_country is None else pl.lit(geo.country_code(default_country))
    if code is None:
        return default
    return code if default is None else pl.coalesce(code, default)


#: A function applied to a key's normalized value within the same pass (``finish``).
Finish = Callable[[pl.Expr], pl.Expr]
#: Builds a key's Rule over columns named like its inputs.
_Make = Callable[[Mapping[str, pl.Expr]], Rule]
_T = TypeVar("_T")


def _plan(
    key: str,
    inputs: dict[str, pl.Expr],
    make: Callable[[Mapping[str, pl.Expr]], Rule],
    finish: Finish | None = None,
) -> Rule:
    """The Rule over the frame, its text input in NFC; ``finish`` (hashing) applied to its value.

    The rule runs batch by batch over plain columns (see :func:`per_distinct`), once per
    distinct input for repetitive keys, and so do NFC and ``finish``; the value's dtype
    is then String. PHONE runs as it is: it works per distinct value itself.
    """
    if key == "PHONE":
        rule = make(inputs)
        if finish is None:
            return rule
        done = per_distinct({_RAW: rule.value}, pl.col(_RAW), pl.String, dedupe=False,
                            after=finish)  # the phones computed once, then finished
        return Rule(done, rule.reason)
    inner = make({name: pl.col(name) for name in inputs})
    before = partial(_nfc_raw, key=key)
    dedupe = key not in ROW_UNIQUE_KEYS
    dtype = KEYS[key].dtype if finish is None else pl.String
    return Rule(
        per_distinct(inputs, inner.value, dtype, dedupe=dedupe, before=before, after=finish),
        per_distinct(inputs, inner.reason, pl.String, dedupe=dedupe, before=before),
    )


def _nfc_raw(rows: pl.DataFrame, *, key: str) -> pl.DataFrame:
    """The input rows with their text (``raw``) in NFC, invisible characters dropped,
    and for number keys whole floats as their number (``"94035.0"``); EXTERN_ID's as
    they are (sent exactly as given: Meta matches its bytes)."""
    if key == "EXTERN_ID":
        return rows
    return rows.with_columns(nfc_series(rows.get_column(_RAW), drop_invisible=True,
                                        floats=key in _WHOLE_FLOAT_TEXT))


def _country_code(raw: pl.Expr) -> pl.Expr:
    """Each row's normalized COUNTRY (lowercase alpha-2 or null) from a String expression."""
    return _plan("COUNTRY", {_RAW: raw}, lambda c: geo.country(c[_RAW])).value


def phone_without_region(
    mapping: Mapping[str, str], default_country: str | None, *, option: str = "default_country="
) -> str | None:
    """What to tell a user whose PHONE has no region at all (no COUNTRY column, no default
    country; ``option`` names the way to give one), else None."""
    if "PHONE" not in mapping or "COUNTRY" in mapping or default_country:
        return None
    return (
        "PHONE without a COUNTRY column or a default country: every number is read as if "
        "it began with its calling code, right for +1 650 555 1212 and 44 20 7183 8750, "
        "wrong for national ones (650 555 1212 would be read as +65, Singapore): pass "
        f"{option}"
    )


def _outside_audframe() -> int:
    """The ``stacklevel`` of the caller's first caller outside audframe: a warning names
    the user's line (and Python shows it once per line), not audframe's."""
    frame: FrameType | None = sys._getframe(1)
    level = 1
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame, level = frame.f_back, level + 1
    return level


_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def build_rules(
    schema: pl.Schema,
    mapping: Mapping[str, str],
    *,
    default_country: str | None = None,
    dob_format: str | None = None,
    finish: Mapping[str, Finish] | None = None,
    region: pl.Expr | None = None,
) -> dict[str, tuple[str, pl.Expr, Rule]]:
    """Key → (source column, its text expression, Rule over the frame), in catalogue order.

    ``mapping`` is already resolved (canonical keys, existing columns). Repetitive
    keys are evaluated once per distinct value (see :mod:`audframe.distinct`).
    ``finish``: key → a function applied to that key's value in the same pass.
    ``region``: each row's region for PHONE and ZIP, when the caller has computed it
    (see :func:`_regions`); by default it is computed where used.
    """
    then = finish or {}

    def plan(key: str, inputs: dict[str, pl.Expr], make: _Make) -> Rule:
        return _plan(key, inputs, make, then.get(key))

    return _each_key(schema, mapping, plan, default_country=default_country,
                     dob_format=dob_format, region=region)


def _each_key(
    schema: pl.Schema,
    mapping: Mapping[str, str],
    plan: Callable[[str, dict[str, pl.Expr], _Make], _T],
    *,
    default_country: str | None,
    dob_format: str | None,
    region: pl.Expr | None,
) -> dict[str, tuple[str, pl.Expr, _T]]:
    """Key → (source column, its text expression, ``plan(key, inputs, make)``), in
    catalogue order: ``make`` builds the key's Rule over columns named like ``inputs``.

    Warns (PhoneRegionWarning) when PHONE has no region at all.
    """
    if (told := phone_without_region(mapping, default_country)) is not None:
        warnings.warn(told, PhoneRegionWarning, stacklevel=_outside_audframe())
    country = _regions(schema, mapping, default_country) if region is None else region
    planned: dict[str, tuple[str, pl.Expr, _T]] = {}
    for key, column in mapping.items():
        raw = _as_text(column, schema[column], key)
        if key == DOB:
            # a Date or Datetime column is read as the date it holds, not with dob_format
            given = None if _family(schema[column]) == _DATE else dob_format
            for i, part in enumerate(("DOBY", "DOBM", "DOBD")):
                def make_part(c: Mapping[str, pl.Expr], i: int = i,
                              fmt: str | None = given) -> Rule:
                    return dates.birth_date(c[_RAW], dob_format=fmt)[i]

                planned[part] = (column, raw, plan(part, {_RAW: raw}, make_part))
            continue
        from_integer = _family(schema[column]) in (_INT, _FLOAT)
        inputs, make = _key_inputs(key, raw, country, from_integer=from_integer)
        planned[key] = (column, raw, plan(key, inputs, make))
    return {k: planned[k] for k in KEYS if k in planned}


def _regions(
    schema: pl.Schema, mapping: Mapping[str, str], default_country: str | None
) -> pl.Expr | None:
    """Each row's lowercase alpha-2 region: its normalized COUNTRY, else the default."""
    code = None
    if "COUNTRY" in mapping:
        column = mapping["COUNTRY"]
        code = _country_code(_as_text(column, schema[column], "COUNTRY"))
    return _region(code, default_country)


#: The column in which :func:`select_keys` computes each row's region once.
_REGION_COLUMN = "__audframe_region"


def _with_region(
    frame: pl.DataFrame, schema: pl.Schema, mapping: Mapping[str, str],
    default_country: str | None,
) -> tuple[pl.DataFrame, pl.Expr | None]:
    """``frame`` with each row's region in a column when PHONE and ZIP both need it
    (computed once, not once per key), and that column; else ``frame`` and None."""
    if not {"COUNTRY", "PHONE", "ZIP"} <= mapping.keys():
        return frame, None
    where = _regions(schema, mapping, default_country)
    if where is None:
        return frame, None
    name = _REGION_COLUMN
    while name in schema:  # never a column of the user's
        name += "_"
    return frame.with_columns(where.alias(name)), pl.col(name)


#: What :func:`check_keys` says of each cell.
CHECK = pl.Struct({"present": pl.Boolean, "valid": pl.Boolean, "reason": pl.String})


def _check_dtype(value: pl.DataType | type[pl.DataType] | None) -> pl.Struct:
    """:data:`CHECK`, with a ``value`` field of dtype ``value`` unless it is None."""
    return CHECK if value is None else pl.Struct({**CHECK.to_schema(), "value": value})


def _check(
    key: str, inputs: dict[str, pl.Expr], make: _Make, finish: Finish | None, values: bool
) -> pl.Expr:
    """The check of one key over the frame (see :func:`check_keys`): its value and reason
    computed in one pass, once per distinct input for repetitive keys (see :func:`_plan`)."""
    value = pl.String if finish is not None else KEYS[key].dtype  # a finished value: a digest
    dtype = _check_dtype(value if values else None)

    def fields(value: pl.Expr) -> list[pl.Expr]:
        kept = finish(value) if finish is not None else value
        return [value.is_not_null().alias("valid"), *([kept.alias("value")] if values else [])]

    if key == "PHONE":
        # PHONE's rule is a Python function, which polars runs once per use: computed
        # once here (phone and reason together), then both its fields are read.
        from audframe.normalize.phone import phone_with_reason

        region = pl.col(_COUNTRY) if _COUNTRY in inputs else None
        flawed = [pl.col(_FLAW)] if _FLAW in inputs else []
        regions = [region] if region is not None else []
        found = pl.struct(
            pl.col(_RAW), *flawed, *regions,
            phone_with_reason(pl.col(_RAW), region=region).alias("phone"),
        )

        def judge(out: pl.Expr) -> pl.Expr:
            raw, phone = out.struct.field(_RAW), out.struct.field("phone")
            reason = _explained(phone.struct.field("reason"), raw,
                                out.struct.field(_COUNTRY) if regions else None)
            number = Rule(phone.struct.field("phone"), reason)
            rule = _finished(key, number, raw, out.struct.field(_FLAW) if flawed else None)
            valid, *value = fields(rule.value)
            return pl.struct(present(raw).alias("present"), valid,
                             rule.reason.alias("reason"), *value)

        return per_distinct(inputs, found, dtype, dedupe=False, after=judge)
    inner = make({name: pl.col(name) for name in inputs})

    def run(rows: pl.DataFrame) -> pl.Series:
        # The reasons only of the cells the rule rejects: their checks cost more than
        # the rule (EMAIL: 0.7 s of CPU per 1,000,000 rows) and most cells pass.
        rows = _nfc_raw(rows, key=key)
        seen = (
            rows.lazy()
            .select(present(pl.col(_RAW)).alias("present"), inner.value.alias(_V))
            .select("present", *fields(pl.col(_V)))
            .collect(engine="in-memory")
        )
        reason = pl.repeat(None, rows.height, dtype=pl.String, eager=True)
        rejected = (seen["present"] & ~seen["valid"]).arg_true()
        if rejected.len():
            why = rows[rejected].lazy().select(inner.reason).collect(engine="in-memory")
            reason = reason.scatter(rejected, why.to_series())
        return seen.insert_column(2, reason.alias("reason")).to_struct()

    return per_distinct_batch(inputs, run, dtype, dedupe=key not in ROW_UNIQUE_KEYS)


def check_keys(
    frame: pl.DataFrame,
    mapping: Mapping[str, str],
    *,
    default_country: str | None = None,
    dob_format: str | None = None,
    finish: Mapping[str, Finish] | None = None,
) -> pl.DataFrame:
    """What :func:`normalize` makes of each cell, for the validation report.

    ``mapping`` is already resolved (canonical keys, existing columns). Returns one
    Struct column per key, in catalogue order: ``present`` (Boolean: the input cell
    holds something besides whitespace), ``valid`` (Boolean: its normalized value is
    not null) and ``reason`` (String: why a present cell was dropped, else null), the
    fields of :data:`CHECK`. Each key's rule runs once for all of them, per distinct
    input for repetitive keys.

    ``finish`` (key → function, as :func:`select_keys` takes it): given, each struct
    also holds ``value``, the key's normalized value with its function applied, in the
    same pass (:func:`audframe.prepare`'s column, when it hashes); keys it does not
    name keep the normalized value (the dtype :func:`normalize` gives them).
    """
    schema = frame.collect_schema()
    frame, region = _with_region(frame, schema, mapping, default_country)
    then, values = finish or {}, finish is not None

    def plan(key: str, inputs: dict[str, pl.Expr], make: _Make) -> pl.Expr:
        return _check(key, inputs, make, then.get(key), values)

    checks = _each_key(schema, mapping, plan, default_country=default_country,
                       dob_format=dob_format, region=region)
    return collect_select(frame, {key: check.alias(key) for key, (_, _, check) in checks.items()})


def _key_inputs(
    key: str, raw: pl.Expr, country: pl.Expr | None, *, from_integer: bool
) -> tuple[dict[str, pl.Expr], _Make]:
    """The inputs of one (non-DOB) key's rule and the function that builds it over them;
    ``country``: each row's alpha-2 code."""
    if key == "PHONE":  # the other keys' text is cleaned per distinct value (see _plan)
        raw = nfc(raw, drop_invisible=True, floats=True)
    inputs = {_RAW: raw}
    if key in ("PHONE", "ZIP") and country is not None:
        inputs[_COUNTRY] = country
    if key in _FLAWED and from_integer:
        inputs[_FLAW] = _flaw(key, raw)

    def make(c: Mapping[str, pl.Expr]) -> Rule:
        return _rule(key, c[_RAW], region=c.get(_COUNTRY), from_integer=from_integer,
                     flaw=c.get(_FLAW))

    return inputs, make


def _key_rule(
    key: str, raw: pl.Expr, country: pl.Expr | None, *, from_integer: bool,
    finish: Finish | None = None,
) -> Rule:
    """The Rule of one (non-DOB) key over the frame; ``country``: each row's alpha-2 code."""
    inputs, make = _key_inputs(key, raw, country, from_integer=from_integer)
    return _plan(key, inputs, make, finish)


def select_keys(
    frame: Frame,
    mapping: Mapping[str, str] | None,
    *,
    default_country: str | None,
    dob_format: str | None,
    keep: Iterable[str],
    finish: Mapping[str, Finish] | None = None,
) -> Frame:
    """:func:`normalize`, with ``finish`` (key → function) applied to the keys it names.

    The finishing functions run inside the normalizing pass, once per distinct value
    for repetitive keys: :func:`audframe.prepare` hashes there.
    """
    resolved = resolve_mapping(frame, mapping)
    kept = [keep] if isinstance(keep, str) else list(keep)  # keep="id": one column
    require_columns(frame, kept)
    clash = [c for c in kept if c in KEYS]
    if clash:
        raise UnknownKeyError(f"keep= names key columns {clash}; rename them first")
    schema = frame.collect_schema()
    used = list(dict.fromkeys(list(resolved.values()) + kept))
    region = None
    if isinstance(frame, pl.DataFrame):
        frame, region = _with_region(frame.select(used), schema, resolved, default_country)
    rules = build_rules(
        schema, resolved, default_country=default_country, dob_format=dob_format,
        finish=finish, region=region,
    )
    exprs = {key: rule.value.alias(key) for key, (_, _, rule) in rules.items()}
    exprs |= {c: pl.col(c) for c in kept}
    if isinstance(frame, pl.DataFrame):
        return collect_select(frame, exprs)
    return frame.select(list(exprs.values()))


def normalize(
    frame: Frame,
    mapping: Mapping[str, str] | None = None,
    *,
    default_country: str | None = None,
    dob_format: str | None = None,
    keep: Iterable[str] = (),
) -> Frame:
    """Normalize a customer table into one column per Meta key.

    Parameters
    ----------
    frame : DataFrame or LazyFrame of raw customer data.
    mapping : Meta key → source column, keys in any case (``{"email": "mail"}``).
        ``DOB`` names one date column that becomes DOBY, DOBM and DOBD; one column
        may feed both FN and FI. ``None`` recognises columns by name
        (see :data:`audframe.mapping.ALIASES`) and logs the mapping used.
    default_country : country (any spelling COUNTRY accepts) for PHONE and ZIP
        where the row has no COUNTRY.
    dob_format : strftime format tried first for DOB strings.
    keep : other columns to carry through unchanged, after the keys.

    Returns
    -------
    The same kind of frame (a LazyFrame stays lazy) with one column per mapped key,
    named by the key, in catalogue order: String (LOOKALIKE_VALUE: Float64). A cell
    is null when its input is null, blank or invalid for its key; pre-hashed cells
    of hashed keys are lowercased and passed through.

    Raises
    ------
    ColumnNotFoundError, UnknownKeyError, ColumnTypeError, ValidationError
        for a missing column, an unknown key, a column of the wrong dtype, an
        unknown ``default_country``, or a frame read without its header row (a column
        named like an email address, a key's column named like a phone number). Bad
        *values* never raise.

    Examples
    --------
    >>> import polars as pl, audframe
    >>> df = pl.DataFrame({"email": [" John_Smith@Gmail.com "], "first_name": ["Valéry"]})
    >>> audframe.normalize(df).row(0)
    ('john_smith@gmail.com', 'valéry')
    """
    return select_keys(
        frame, mapping, default_country=default_country, dob_format=dob_format, keep=keep
    )


def normalize_key(
    expr: pl.Expr | str,
    key: str,
    *,
    region: pl.Expr | str | None = None,
    default_country: str | None = None,
) -> pl.Expr:
    """Normalize one column as ``key``, for use inside a ``select``.

    Parameters
    ----------
    expr : a String (or integer, for PHONE, ZIP, DOBY, DOBM, DOBD, EXTERN_ID,
        LOOKALIKE_VALUE) expression or column name. An expression does not say its
        dtype, so an integer ZIP+4 that lost its leading zero (7–8 digits) reads as the
        digits it has here; :func:`normalize`, which sees the column, pads it first.
        For PHONE, ZIP, DOBY, DOBM and DOBD, text that reads as a whole float
        (``"94035.0"``, as pandas writes a number column with gaps) counts as that
        number, here as in :func:`normalize`. Float columns themselves (NaN,
        infinity, ``1e20``) need :func:`normalize`, which sees their dtype.
    key : the Meta key, any case. DOB is frame-level only: use :func:`normalize`.
    region : for PHONE and ZIP, a column (name or expression) with each row's
        country in any spelling COUNTRY accepts.
    default_country : country where ``region`` is null or not given.

    Returns
    -------
    String expression (LOOKALIKE_VALUE: Float64), null when missing or invalid.

    Examples
    --------
    >>> import polars as pl, audframe
    >>> df = pl.DataFrame({"mail": ["John_Smith@gmail.com", "nope"]})
    >>> df.select(audframe.normalize_key("mail", "EMAIL"))["mail"].to_list()
    ['john_smith@gmail.com', None]
    """
    name = canonical_key(key)
    if name == DOB:
        raise UnknownKeyError("DOB expands into three columns: use audframe.normalize(frame, …)")
    col = pl.col(expr) if isinstance(expr, str) else expr
    if col.meta.has_multiple_outputs():
        raise ValueError(
            f"normalize_key takes one column, got {col} (several): call it once per column, "
            "or use audframe.normalize(frame, mapping)"
        )
    raw = col.cast(pl.String)  # a whole float (94035.0) reads as its number in the rules
    area = pl.col(region) if isinstance(region, str) else region
    code = None if area is None else _country_code(area.cast(pl.String))
    where = _region(code, default_country)
    value = _key_rule(name, raw, where, from_integer=False).value
    # Keep the input's name (some rules start with a literal, which would name it "literal").
    output = col.meta.output_name(raise_if_undetermined=False)
    return value.name.keep() if output is None else value.alias(output)
