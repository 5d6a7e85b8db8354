"""The contract of a normalized frame and of a hashed frame, as pandera models.

One table, :data:`PATTERNS`, states the format of every normalized key. The pandera
models are built from it, and the fast checks that later stages run on every
batch (:func:`not_normalized`, :func:`not_digest`) use the same table.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import TYPE_CHECKING, Any

import polars as pl

from audframe.errors import ValidationError
from audframe.frames import Frame, require_key_columns
from audframe.keys import HASHED_KEYS, KEYS

if TYPE_CHECKING:  # pandera (and pandas under it) load only when a schema is used
    import pandera.polars as pa

__all__ = [
    "DIGEST",
    "EMPTY_DIGEST",
    "EMPTY_DIGEST_ANY_CASE",
    "INVISIBLE_CLASS",
    "PATTERNS",
    "VISIBLE",
    "ZERO_UUID",
    "blank_extern_id",
    "check_hashed",
    "check_normalized",
    "hashed_schema",
    "normalized_schema",
    "not_digest",
    "not_normalized",
]

#: A SHA-256 digest as it travels: 64 lowercase hex characters.
DIGEST = r"^[0-9a-f]{64}$"
#: The SHA-256 of an empty string: never sent. A missing cell is ``""`` in a payload, and
#: a cell holding this digest (what tools that hash blanks upload) is missing too.
EMPTY_DIGEST = hashlib.sha256(b"").hexdigest()
#: A whole cell that is :data:`EMPTY_DIGEST`, in any case, whitespace around it (an
#: EXTERN_ID a tool hashed).
EMPTY_DIGEST_ANY_CASE = rf"(?i)^\s*{EMPTY_DIGEST}\s*$"
#: Invisible characters (regex class body): Unicode format characters (Cf: zero-width
#: space, BOM, soft hyphen, direction marks) and the other default-ignorable ones.
INVISIBLE_CLASS = r"\p{Cf}\p{Default_Ignorable_Code_Point}"
#: A character that shows: neither whitespace nor invisible.
VISIBLE = rf"[^\s{INVISIBLE_CLASS}]"
_LETTERS = r"^\p{L}[\p{L}\p{M}]*$"
_UUID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"

#: What wraps or lists addresses, for a regex character class (<>, brackets, quotes,
#: ',', ';', ':', a backslash): "<john@x.com>" and "john@x.com;" are no address.
ADDRESS_WRAPPERS = r'<>()\[\]\\,;:"'
#: The control characters (C0, DEL, C1), for a regex character class: in no address
#: (fixed-width and database exports pad with NUL).
CONTROLS = r"\x00-\x1f\x7f-\x9f"

#: The format of each normalized String key (LOOKALIKE_VALUE is a Float64 ≥ 0).
PATTERNS: dict[str, str] = {
    "EXTERN_ID": r"^\S(?s:.*\S)?$",
    # no whitespace or control character, and nothing of ADDRESS_WRAPPERS
    "EMAIL": rf"^[^@\s{CONTROLS}{ADDRESS_WRAPPERS}]+@[^@\s.{CONTROLS}{ADDRESS_WRAPPERS}]+"
             rf"(\.[^@\s.{CONTROLS}{ADDRESS_WRAPPERS}]+)+$",
    "PHONE": r"^[1-9][0-9]{6,14}$",
    "GEN": r"^[mf]$",
    "DOBY": r"^(19[0-9]{2}|2[0-9]{3})$",
    "DOBM": r"^(0[1-9]|1[0-2])$",
    "DOBD": r"^(0[1-9]|[12][0-9]|3[01])$",
    "LN": _LETTERS,
    "FN": _LETTERS,
    "FI": r"^\p{L}\p{M}*$",
    "CT": _LETTERS,
    "ST": _LETTERS,
    "ZIP": r"^[^\s\-]+$",
    "COUNTRY": r"^[a-z]{2}$",
    "MADID": _UUID,
}
#: The device id iOS reports when tracking is off: a missing MADID.
ZERO_UUID = "00000000-0000-0000-0000-000000000000"


#: Keys whose normalized pattern admits no cased letter: no lowercase test needed.
_CASELESS = frozenset({"PHONE", "GEN", "DOBY", "DOBM", "DOBD", "COUNTRY", "MADID"})


def _well_formed(key: str, *, digest: bool = True) -> pl.Expr:
    """Boolean: a non-null cell of ``key`` has the normalized format (null stays null).

    ``digest``: a hashed key's cell may also be a SHA-256 digest (not of an empty string).
    """
    col = pl.col(key)
    if key == "LOOKALIKE_VALUE":
        return col.is_finite() & (col >= 0)
    ok = col.str.contains(PATTERNS[key])
    if (key in HASHED_KEYS or key == "MADID") and key not in _CASELESS:
        ok = ok & (col == col.str.to_lowercase())
    if key == "DOBY":
        ok = ok & (col.cast(pl.Int32, strict=False) <= dt.date.today().year)
    if key == "MADID":
        ok = ok & (col != ZERO_UUID)
    if key == "EXTERN_ID":
        ok = ok & ~blank_extern_id(col)
    if key in HASHED_KEYS and digest:
        ok = ok | (col.str.contains(DIGEST) & (col != EMPTY_DIGEST))
    return ok


def blank_extern_id(text: pl.Expr) -> pl.Expr:
    """Boolean: an EXTERN_ID cell (String) that holds no id though it is not null:
    whitespace or invisible characters alone, or the SHA-256 of an empty string."""
    return ~text.str.contains(VISIBLE) | text.str.contains(EMPTY_DIGEST_ANY_CASE)


def not_normalized(key: str, *, digest: bool = True) -> pl.Expr:
    """Boolean: the cell is present but breaks the normalized contract of ``key``.

    ``digest``: a digest in a hashed key keeps the contract (``False``: it breaks it).
    """
    return pl.col(key).is_not_null() & ~_well_formed(key, digest=digest)


def not_digest(key: str) -> pl.Expr:
    """Boolean: a hashed key's cell is present but not 64 lowercase hex characters."""
    return pl.col(key).is_not_null() & ~pl.col(key).str.contains(DIGEST)


def _column(key: str, *, hashed: bool) -> pa.Column:
    import pandera.polars as pa

    dtype: type[pl.DataType] = pl.String
    if key == "LOOKALIKE_VALUE":  # not pa.Check.ge(0): polars orders NaN above every number
        dtype, expr = pl.Float64, _well_formed(key)
        name = f"{key} is a finite number >= 0"
    elif hashed and key in HASHED_KEYS:
        expr = pl.col(key).str.contains(DIGEST) & (pl.col(key) != EMPTY_DIGEST)
        name = f"{key} is a SHA-256 digest, not of an empty string"
    else:
        expr, name = _well_formed(key), f"{key} is normalized"

    def fn(data: Any, expr: pl.Expr = expr) -> pl.LazyFrame:
        out: pl.LazyFrame = data.lazyframe.select(expr.fill_null(True))
        return out

    return pa.Column(dtype, pa.Check(fn, name=name), nullable=True, required=False)


def normalized_schema() -> pa.DataFrameSchema:
    """The pandera schema of a normalized frame: one nullable column per key."""
    import pandera.polars as pa

    return pa.DataFrameSchema(
        {k: _column(k, hashed=False) for k in KEYS}, strict=False, name="NormalizedFrame"
    )


def hashed_schema() -> pa.DataFrameSchema:
    """The pandera schema of a hashed frame: hashed keys are digests."""
    import pandera.polars as pa

    return pa.DataFrameSchema(
        {k: _column(k, hashed=True) for k in KEYS}, strict=False, name="HashedFrame"
    )


def _run(schema: pa.DataFrameSchema, frame: Frame) -> Frame:
    import pandera.polars as pa

    require_key_columns(frame)  # every key column is optional: a raw frame would pass
    try:  # pandera checks only the schema of a LazyFrame: its data is collected here
        schema.validate(frame.collect() if isinstance(frame, pl.LazyFrame) else frame,
                        lazy=True)
    except (pa.errors.SchemaErrors, pa.errors.SchemaError) as exc:
        # Summarise by column and check only: failure cases hold customer data.
        failures = getattr(exc, "failure_cases", None)
        if isinstance(failures, pl.DataFrame) and failures.height:
            summary = (
                failures.group_by("column", "check", maintain_order=True)
                .len()
                .iter_rows()
            )
            detail = "; ".join(f"{c}: {chk} fails on {n} cells" for c, chk, n in summary)
        else:
            detail = "the frame does not match its schema"
        raise ValidationError(f"{schema.name}: {detail}") from None
    return frame


def check_normalized(frame: Frame) -> Frame:
    """Validate a normalized DataFrame or LazyFrame (collected to be checked) with
    pandera; return it as it is, or raise ValidationError (no values; also when no column
    is named by a Meta key)."""
    return _run(normalized_schema(), frame)


def check_hashed(frame: Frame) -> Frame:
    """Validate a hashed DataFrame or LazyFrame (collected to be checked) with pandera;
    return it as it is, or raise ValidationError (no values; also when no column is
    named by a Meta key)."""
    return _run(hashed_schema(), frame)
