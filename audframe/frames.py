"""Small helpers shared by the stages: the frame type and column look-ups."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar

import polars as pl

from audframe.errors import ColumnNotFoundError
from audframe.keys import KEYS

__all__ = [
    "Frame",
    "at_least_one",
    "column_batches",
    "column_names",
    "key_columns",
    "require_columns",
]

#: A DataFrame or a LazyFrame; functions return the kind they were given.
Frame = TypeVar("Frame", pl.DataFrame, pl.LazyFrame)


def column_names(frame: pl.DataFrame | pl.LazyFrame) -> list[str]:
    """The column names of a frame, without collecting a LazyFrame."""
    return frame.collect_schema().names()


def key_columns(frame: pl.DataFrame | pl.LazyFrame) -> list[str]:
    """The Meta-key columns of a normalized or hashed frame, in catalogue order."""
    present = set(column_names(frame))
    return [k for k in KEYS if k in present]


def require_columns(frame: pl.DataFrame | pl.LazyFrame, wanted: Iterable[str]) -> None:
    """Raise ColumnNotFoundError naming the missing columns and the ones that exist."""
    have = column_names(frame)
    missing = [c for c in wanted if c not in have]
    if missing:
        raise ColumnNotFoundError(
            f"column {', '.join(repr(c) for c in missing)} not found; "
            f"columns are: {', '.join(repr(c) for c in have)}"
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
