"""Evaluate an expression once per distinct input value, then map the results back.

Most key columns repeat heavily (first names, cities, ZIPs, countries): normalizing
and hashing each distinct value once, rather than each row, is most of audframe's
speed. Runs per batch, so it streams.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

__all__ = ["per_distinct"]

_OUT = "__audframe_out"


def per_distinct(
    inputs: Mapping[str, pl.Expr], expr: pl.Expr, dtype: pl.DataType | type[pl.DataType]
) -> pl.Expr:
    """``expr`` (written over columns named like ``inputs``' keys) evaluated per distinct input.

    Parameters
    ----------
    inputs : name → expression; ``expr`` refers to them as ``pl.col(name)``.
    expr : an elementwise expression: each output row depends only on its input row.
    dtype : the dtype ``expr`` returns.

    Returns
    -------
    An expression of ``dtype``, row for row equal to ``expr`` over ``inputs``. Nulls
    are values like any other (a null input gets ``expr``'s output for null). When
    most values of a batch are distinct, ``expr`` runs on the batch directly.
    """
    names = list(inputs)

    def run(batch: pl.Series) -> pl.Series:
        rows = batch.struct.unnest()
        unique = rows.unique()
        if unique.height * 2 > rows.height:
            return rows.lazy().select(expr.alias(_OUT)).collect().to_series()
        # Lazy, so that polars' common-subexpression elimination runs (eager skips it).
        mapped = unique.lazy().with_columns(expr.alias(_OUT)).collect()
        joined = rows.join(mapped, on=names, how="left", nulls_equal=True, maintain_order="left")
        return joined.get_column(_OUT)

    packed = pl.struct([e.alias(n) for n, e in inputs.items()])
    return packed.map_batches(run, return_dtype=dtype, is_elementwise=True)
