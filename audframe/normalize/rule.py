"""The shape every key's normalizer shares: a value and, for rejected cells, a reason."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import polars as pl

__all__ = ["Rule", "clean", "make_rule", "present"]


class Rule(NamedTuple):
    """A normalized value (null when missing or invalid) and why a present cell was rejected."""

    value: pl.Expr
    reason: pl.Expr


def clean(expr: pl.Expr) -> pl.Expr:
    """Unicode NFC, then trim surrounding whitespace. String in, String out, null kept."""
    return expr.str.normalize("NFC").str.strip_chars()


def present(raw: pl.Expr) -> pl.Expr:
    """Boolean: the raw String cell holds something besides whitespace (null → False)."""
    return (raw.str.strip_chars() != "").fill_null(False)


def make_rule(
    raw: pl.Expr,
    cleaned: pl.Expr,
    checks: Sequence[tuple[pl.Expr, str]],
    *,
    empty: str,
    result: pl.Expr | None = None,
) -> Rule:
    """Build a Rule from a cleaned value and ordered (rejects, reason) checks.

    ``cleaned`` null or ``""`` means missing; a present raw cell that ends up missing is
    reported with the ``empty`` reason. The first check whose condition is true
    rejects the cell with its reason. ``result`` (default ``cleaned``) is the value
    of a cell that passes every check.
    """
    blank = cleaned.is_null() | (cleaned == "")
    value: Any = pl.when(blank).then(None)
    reason: Any = pl.when(~present(raw)).then(None).when(blank).then(pl.lit(empty))
    for condition, why in checks:
        value = value.when(condition).then(None)
        reason = reason.when(condition).then(pl.lit(why))
    return Rule(value.otherwise(cleaned if result is None else result), reason.otherwise(None))
