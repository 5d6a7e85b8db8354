"""Small helpers shared by the stages: the frame type and column look-ups."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from typing import TypeVar

import polars as pl

from audframe.errors import ColumnNotFoundError, ValidationError
from audframe.keys import KEYS

__all__ = [
    "HEADER_ADVICE",
    "Frame",
    "at_least_one",
    "column_batches",
    "column_names",
    "data_like",
    "key_columns",
    "listed_columns",
    "refuse_pandas",
    "require_columns",
    "require_key_columns",
]

#: A DataFrame or a LazyFrame; functions return the kind they were given (and, given a
#: value typed as either, a value typed as either: the union is a constraint of its own).
Frame = TypeVar("Frame", pl.DataFrame, pl.LazyFrame, pl.DataFrame | pl.LazyFrame)


def refuse_pandas(data: object) -> None:
    """TypeError for a pandas object, which audframe takes once converted by polars."""
    if type(data).__module__.split(".")[0] == "pandas":
        raise TypeError(
            f"got a pandas {type(data).__name__}; convert it with pl.from_pandas(df) "
            "(cast columns that mix numbers and text to str first, and reset_index() to "
            "keep an index such as a customer id)"
        )


def column_names(frame: pl.DataFrame | pl.LazyFrame) -> list[str]:
    """The column names of a frame, without collecting a LazyFrame (TypeError for
    anything else, saying how to convert a pandas DataFrame)."""
    if not isinstance(frame, pl.DataFrame | pl.LazyFrame):
        refuse_pandas(frame)
        raise TypeError(f"expected a polars DataFrame or LazyFrame, got {type(frame).__name__}")
    return frame.collect_schema().names()


def key_columns(frame: pl.DataFrame | pl.LazyFrame) -> list[str]:
    """The Meta-key columns of a normalized or hashed frame, in catalogue order."""
    present = set(column_names(frame))
    return [k for k in KEYS if k in present]


def require_key_columns(frame: pl.DataFrame | pl.LazyFrame) -> list[str]:
    """:func:`key_columns`, or ValidationError naming the frame's columns when it has none
    (they are named by the source, not yet by Meta's keys)."""
    keys = key_columns(frame)
    if not keys:
        raise ValidationError(
            f"the frame has no Meta-key column (EMAIL, PHONE, …); its columns are "
            f"{listed_columns(column_names(frame))}: call "
            "audframe.normalize(frame, mapping) first, which names them by their keys "
            "(audframe.prepare(frame, mapping) normalizes and hashes)"
        )
    return keys


#: Columns an error message names at most (a wide export has thousands).
_LISTED = 40


#: A column name that is a customer's value: an email address, or a phone number (9 to
#: 15 digits between separators, maybe an extension after; not a date or a period). A
#: table read without its header row has such names (polars adds ``_duplicated_0`` … to
#: a name repeated).
_EMAIL_NAME = re.compile(r"\s*[^@\s]+@[^@\s]+\.[^@\s]+\s*")
_PHONE_NAME = re.compile(r"(?i:tel:)?'?[\s().+\-/]*(?:\d[\s().\-/]*){9,15}"
                         r"(?i:(?:x|ext\.?|extension|#)\s*\d{1,6}\s*)?")
_PERIOD = r"(?:\d{4}[-/.]?\d{2}(?:[-/.]?\d{2})?|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}|\d{1,2}[-/.]\d{4})"
_DATE_NAME = re.compile(rf"\s*{_PERIOD}(?:\s*[-–]\s*{_PERIOD})?\s*")
_REPEATED = re.compile(r"_duplicated_[0-9]+$")
#: What to do about a table read without its header row.
HEADER_ADVICE = ("give the table a header row (in polars: read_csv(…, has_header=False, "
                 "new_columns=[…]))")


def data_like(name: str) -> str | None:
    """``"email"`` or ``"phone"`` when a column name looks like a customer's email address
    or phone number (the name of a column of a table read without its header row), else
    None."""
    name = _REPEATED.sub("", name)
    if _EMAIL_NAME.fullmatch(name):
        return "email"
    if _PHONE_NAME.fullmatch(name) and name.count("+") <= 1 and not _DATE_NAME.fullmatch(name):
        return "phone"
    return None


def listed_columns(names: Sequence[str]) -> str:
    """``'a', 'b', …`` for messages: the first :data:`_LISTED` names, then how many more.

    When a name looks like a customer's value (a table without its header row), no name
    is shown: the others would be that customer's too.
    """
    if any(map(data_like, names)):
        return (f"{len(names):,}, not shown: one is named like an email address or a phone "
                f"number, as in a table read without its header row (then {HEADER_ADVICE})")
    shown = ", ".join(repr(c) for c in names[:_LISTED]) or "none"
    return shown + (f" and {len(names) - _LISTED:,} more" if len(names) > _LISTED else "")


def require_columns(frame: pl.DataFrame | pl.LazyFrame, wanted: Iterable[str]) -> None:
    """Raise ColumnNotFoundError naming the missing columns and the ones that exist (and
    one that differs only in its Unicode form: ``prénom`` typed and stored decomposed)."""
    have = column_names(frame)
    missing = [c for c in wanted if c not in have]
    if missing:
        nfc = {unicodedata.normalize("NFC", c): c for c in have}
        alike = [(c, nfc[n]) for c in missing if (n := unicodedata.normalize("NFC", c)) in nfc]
        hint = "".join(f"; {c!r} is written with other Unicode code points in the file "
                       "(decomposed accents): copy the name from the file" for c, _ in alike)
        raise ColumnNotFoundError(
            f"column {', '.join(repr(c) for c in missing)} not found; "
            f"columns are: {listed_columns(have)}{hint}"
        )


def column_batches(
    frame: pl.DataFrame | pl.LazyFrame, columns: Iterable[str], rows: int
) -> tuple[pl.Schema, Iterator[pl.DataFrame]]:
    """The schema of ``frame``'s ``columns``, and their rows: a DataFrame as one batch, a
    LazyFrame collected ``rows`` at a time (see :func:`at_least_one`)."""
    used = frame.select(list(dict.fromkeys(columns)))
    schema = used.collect_schema()
    if isinstance(used, pl.DataFrame):
        return schema, iter([used])
    return schema, at_least_one(used.collect_batches(chunk_size=rows), schema)


def at_least_one(batches: Iterable[pl.DataFrame], schema: pl.Schema) -> Iterator[pl.DataFrame]:
    """``batches``, or one empty batch of ``schema`` when there is none (so that the
    columns are known)."""
    produced = False
    for batch in batches:
        produced = True
        yield batch
    if not produced:
        yield pl.DataFrame(schema=schema)
