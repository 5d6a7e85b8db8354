"""The shape every key's normalizer shares: a value and, for rejected cells, a reason."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any, NamedTuple

import polars as pl

from audframe.distinct import per_distinct
from audframe.schemas import INVISIBLE_CLASS
from audframe.whitespace import trim

__all__ = [
    "Rule", "clean", "make_rule", "nfc", "nfc_series", "present", "staged", "whole_floats",
]


class Rule(NamedTuple):
    """A normalized value (null when missing or invalid) and why a present cell was rejected."""

    value: pl.Expr
    reason: pl.Expr


def staged(
    inputs: Mapping[str, pl.Expr],
    build: Callable[[Mapping[str, pl.Expr]], Rule],
    dtype: pl.DataType | type[pl.DataType] = pl.String,
) -> Rule:
    """A Rule whose inputs are computed once per batch before the rule runs.

    polars shares a repeated subexpression only at the outermost level, so a cleaned
    value that a rule tests five ways is otherwise cleaned five times. ``build`` gets
    each input as a plain column (``pl.col(name)``); its value has ``dtype``.
    """
    inner = build({name: pl.col(name) for name in inputs})
    return Rule(
        per_distinct(inputs, inner.value, dtype, dedupe=False),
        per_distinct(inputs, inner.reason, pl.String, dedupe=False),
    )


_INVISIBLE = f"[{INVISIBLE_CLASS}]"


def whole_floats(text: pl.Series) -> pl.Series:
    """``"94035.0"`` → ``"94035"``: digits and ``.0``, as pandas writes a number column
    with gaps, read as the number a float column holds (the ``.0`` is no digit of a
    phone or ZIP); other text as it is.

    Runs on every use of a phone column's text, so it costs next to nothing when no
    value ends in ``.0`` (a 2-byte comparison per value), and rebuilds the Series only
    when one is a whole float (``650.555.0120`` ends in ``0`` too, not in ``.0``).
    """
    where = text.str.ends_with(".0").arg_true()
    if where.len():
        where = where.filter(text.gather(where).str.contains(_WHOLE_FLOAT))
    if not where.len():
        return text
    return text.clone().scatter(where, text.gather(where).str.strip_suffix(".0"))


_WHOLE_FLOAT = r"^-?[0-9]+\.0$"


def nfc_series(
    values: pl.Series, *, drop_invisible: bool = False, floats: bool = False
) -> pl.Series:
    """NFC of a String Series, null kept; only non-ASCII values are touched.
    ``floats``: whole floats written as text read as their number (:func:`whole_floats`).

    ASCII text is already NFC, and NFC is costly. ``drop_invisible`` also removes the
    invisible characters, before NFC (so that the result is NFC): format characters
    (Unicode Cf: zero-width space, BOM, soft hyphen, direction marks) and the rest of
    Unicode's default-ignorable ones (Hangul fillers, which are letters that print as
    nothing; variation selectors; the combining grapheme joiner). Copy-pasted exports
    leave them in values and no key holds them (``john@example.com`` + U+200B would
    never match; a name of U+3164 alone is blank); all of them are non-ASCII.
    """
    if floats:
        values = whole_floats(values)
    wide = values.str.len_bytes() != values.str.len_chars()
    if not wide.any():
        return values
    where = wide.arg_true()
    text = values.gather(where)
    if drop_invisible:  # first: what they kept apart (e + U+200B + U+0301) composes
        text = text.str.replace_all(_INVISIBLE, "")
    return values.clone().scatter(where, text.str.normalize("NFC"))


def nfc(expr: pl.Expr, *, drop_invisible: bool = False, floats: bool = False) -> pl.Expr:
    """Unicode NFC (and with ``drop_invisible`` or ``floats``, see :func:`nfc_series`).
    String in, String out, null kept."""
    return expr.map_batches(partial(nfc_series, drop_invisible=drop_invisible, floats=floats),
                            return_dtype=pl.String, is_elementwise=True)


def clean(expr: pl.Expr) -> pl.Expr:
    """Trim surrounding whitespace. String in (already NFC: see below), String out, null kept.

    Rules expect NFC text: :func:`audframe.normalize` applies :func:`nfc_series` to
    each input (once per distinct value) before the rules run, so that every expression
    a rule builds stays free of Python functions and polars can share their common parts.
    """
    return trim(expr)


def present(raw: pl.Expr) -> pl.Expr:
    """Boolean: the raw String cell holds something besides whitespace (null → False)."""
    return (trim(raw) != "").fill_null(False)


def make_rule(
    raw: pl.Expr,
    cleaned: pl.Expr,
    checks: Sequence[tuple[pl.Expr, str]],
    *,
    empty: str,
    result: pl.Expr | None = None,
    valid: pl.Expr | None = None,
) -> Rule:
    """Build a Rule from a cleaned value and ordered (rejects, reason) checks.

    ``cleaned`` null or ``""`` means missing; a present raw cell that ends up missing is
    reported with the ``empty`` reason. The first check whose condition is true
    rejects the cell with its reason. ``result`` (default ``cleaned``) is the value
    of a cell that passes every check. ``valid``, when given, is a cheaper predicate
    equivalent to "not blank and no check fails", used for the value alone.
    """
    blank = cleaned.is_null() | (cleaned == "")
    reason: Any = pl.when(~present(raw)).then(None).when(blank).then(pl.lit(empty))
    for condition, why in checks:
        reason = reason.when(condition).then(pl.lit(why))
    result = cleaned if result is None else result
    if valid is not None:
        return Rule(pl.when(valid.fill_null(False)).then(result), reason.otherwise(None))
    value: Any = pl.when(blank).then(None)
    for condition, _ in checks:
        value = value.when(condition).then(None)
    return Rule(value.otherwise(result), reason.otherwise(None))
