"""MADID, EXTERN_ID and LOOKALIKE_VALUE: the keys Meta takes unhashed."""

from __future__ import annotations

import polars as pl

from audframe.normalize.rule import Rule, clean, make_rule
from audframe.schemas import EMPTY_DIGEST_ANY_CASE, PATTERNS, VISIBLE, ZERO_UUID

#: Why an EXTERN_ID that is the digest of an empty string is missing.
EMPTY_DIGEST_ID = "extern id is the SHA-256 of an empty string"

__all__ = ["extern_id", "lookalike_value", "madid"]


def madid(raw: pl.Expr) -> Rule:
    """MADID: trim, lowercase, hyphens kept; must be a UUID (IDFA/GAID).

    The all-zero UUID (iOS with tracking off) is missing. Never hashed.
    """
    v = clean(raw).str.to_lowercase()
    return make_rule(
        raw,
        v,
        [(v == ZERO_UUID, "madid is all zeros (tracking off)"),
         (~v.str.contains(PATTERNS["MADID"]), "madid is not a UUID")],
        empty="madid is empty",
    )


def extern_id(raw: pl.Expr) -> Rule:
    """EXTERN_ID: trimmed text, otherwise exactly as given (Meta matches it byte for byte).

    Missing: a cell of invisible characters alone (zero-width space, BOM: kept around
    other text, where they may be part of the id), and the SHA-256 of an empty string
    (any case): a blank id, hashed by the export, and never to be sent.
    """
    v = clean(raw)
    return make_rule(raw, v, [(~v.str.contains(VISIBLE), "extern id is empty"),
                              (v.str.contains(EMPTY_DIGEST_ANY_CASE), EMPTY_DIGEST_ID)],
                     empty="extern id is empty")


def lookalike_value(raw: pl.Expr) -> Rule:
    """LOOKALIKE_VALUE: a number ≥ 0 as Float64. Negative or non-numeric → missing."""
    v = clean(raw)
    number = v.cast(pl.Float64, strict=False)
    return make_rule(
        raw,
        v,
        [(number.is_null() | ~number.is_finite(), "value is not a number"),
         (number < 0, "value is negative")],
        empty="value is empty",
        result=number,
    )
