"""Small helpers shared by the stages: the frame type and column look-ups."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

import polars as pl

from audframe.errors import ColumnNotFoundError
from audframe.keys import KEYS

__all__ = ["Frame", "column_names", "key_columns", "require_columns"]

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
