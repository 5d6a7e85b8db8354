"""Trimming whitespace the way ``str.strip()`` does, in a form polars can reuse.

``Expr.str.strip_chars()`` (no argument) trims Unicode White_Space, but polars does not
eliminate it as a common subexpression: a rule that uses the trimmed value five
times trims it five times. Naming the characters keeps the result shared.
"""

from __future__ import annotations

import polars as pl

__all__ = ["WHITESPACE", "trim"]

#: The Unicode White_Space characters: what ``strip_chars()`` trims.
WHITESPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


def trim(expr: pl.Expr) -> pl.Expr:
    """Leading and trailing Unicode whitespace removed. String in, String out, null kept."""
    return expr.str.strip_chars(WHITESPACE)
