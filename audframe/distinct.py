"""Evaluate an expression once per distinct input value, then map the results back.

Most key columns repeat heavily (first names, cities, ZIPs, countries): normalizing
and hashing each distinct value once, rather than each row, is most of audframe's
speed. Runs per batch, so it streams.

How distinct rows are found cheaply: each row is hashed to 64 bits, the first row of
each hash is its group's representative, and rows find their representative by a join
on the hash (integers, not strings). Every row is then compared with its
representative exactly, so a hash collision can never mix two values: if one occurs,
the batch falls back to an exact join on the values themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import NamedTuple

import polars as pl
import pyarrow.compute as pc  # type: ignore[import-untyped]

from audframe.keys import ROW_UNIQUE_KEYS

__all__ = [
    "ROWS_PER_CHUNK",
    "Distinct",
    "collect_select",
    "distinct",
    "per_distinct",
    "per_distinct_batch",
]

_OUT = "__audframe_out"
_I = "__audframe_i"


class Distinct(NamedTuple):
    """The distinct rows of a frame and, per row, the position of its distinct row.

    ``rows[i]`` equals ``reps[positions[i]]`` for every ``i`` (nulls equal nulls), so a
    Series computed on ``reps`` is back per row as ``series[positions]``.
    """

    reps: pl.DataFrame
    positions: pl.Series


def _exact(rows: pl.DataFrame) -> Distinct:
    """Distinct rows by an exact join on the values (the collision fallback)."""
    names = rows.columns
    reps = rows.unique(maintain_order=True)
    numbered = reps.with_row_index(_I)
    positions = rows.join(
        numbered, on=names, how="left", nulls_equal=True, maintain_order="left"
    ).get_column(_I)
    return Distinct(reps, positions)


def _row_hash(rows: pl.DataFrame) -> pl.Series:
    """A 64-bit hash per row (UInt64); equal rows hash alike."""
    return rows.hash_rows() if rows.width > 1 else rows.to_series().hash()


def distinct(rows: pl.DataFrame, *, most: float = 0.5) -> Distinct | None:
    """Find the distinct rows of ``rows``, or None when more than ``most`` of them are.

    Parameters
    ----------
    rows : any columns; nulls are values like any other.
    most : the share of distinct rows above which grouping does not pay off.

    Returns
    -------
    A :class:`Distinct` (representatives in order of first appearance), or None.
    """
    h = _row_hash(rows)
    # pyarrow numbers the hashes in order of first appearance (a hash table, about
    # half the time of a join on them); the first row of each hash comes in that order.
    codes = pc.dictionary_encode(h.to_arrow())
    if len(codes.dictionary) > most * rows.height:
        return None
    positions = pl.Series(codes.indices)
    reps = rows[h.arg_unique()]
    if not reps[positions].equals(rows, null_equal=True):
        return _exact(rows)  # a 64-bit hash collision
    return Distinct(reps, positions)


def per_distinct(
    inputs: Mapping[str, pl.Expr],
    expr: pl.Expr,
    dtype: pl.DataType | type[pl.DataType],
    *,
    dedupe: bool = True,
    before: Callable[[pl.DataFrame], pl.DataFrame] | None = None,
    after: Callable[[pl.Expr], pl.Expr] | None = None,
) -> pl.Expr:
    """``expr`` (written over columns named like ``inputs``' keys) evaluated per distinct input.

    Parameters
    ----------
    inputs : name → expression; ``expr`` refers to them as ``pl.col(name)``.
    expr : an elementwise expression: each output row depends only on its input row.
    dtype : the dtype ``expr`` returns.
    before : a row-wise function of the (distinct) input rows, applied before ``expr``
        (Unicode normalization, which is Python and costly, so best run per distinct
        value and kept out of ``expr``).
    after : a function of ``expr``'s computed values (an expression over them), for
        work that uses them more than once: polars would otherwise compute ``expr``
        once per use.

    Returns
    -------
    An expression of ``dtype``, row for row equal to ``expr`` over ``inputs``. Nulls
    are values like any other (a null input gets ``expr``'s output for null). When
    most values of a batch are distinct, or ``dedupe`` is false, ``expr`` runs on
    the batch directly.

    Either way ``expr`` runs over plain columns, so polars shares its common
    subexpressions (which it does not do across a Python function such as the
    ones computing ``inputs``).
    """

    def evaluate(frame: pl.DataFrame) -> pl.Series:
        if before is not None:
            frame = before(frame)
        # Lazy, so that polars' common-subexpression elimination runs (eager skips it).
        out = frame.lazy().select(expr.alias(_OUT))
        if after is not None:
            out = out.select(after(pl.col(_OUT)).alias(_OUT))
        return out.collect(engine="in-memory").to_series()

    return per_distinct_batch(inputs, evaluate, dtype, dedupe=dedupe)


def per_distinct_batch(
    inputs: Mapping[str, pl.Expr],
    fn: Callable[[pl.DataFrame], pl.Series],
    dtype: pl.DataType | type[pl.DataType],
    *,
    dedupe: bool = True,
) -> pl.Expr:
    """Like :func:`per_distinct`, with a function of a frame of distinct inputs.

    ``fn`` takes a DataFrame whose columns are named like ``inputs``' keys and returns
    a Series of ``dtype``, one value per row.
    """

    def run(batch: pl.Series) -> pl.Series:
        rows = batch.struct.unnest()
        found = distinct(rows) if dedupe else None
        if found is None:
            return fn(rows).alias(batch.name)
        # Rechunked first: gathered as it comes, the polars-hash plugin's output ends up
        # with every row's digest copied (64 MB per 1M rows), not views of the few.
        return fn(found.reps).rechunk()[found.positions].alias(batch.name)

    packed = pl.struct([e.alias(n) for n, e in inputs.items()])
    return packed.map_batches(run, return_dtype=dtype, is_elementwise=True)


#: Rows per chunk for row-by-row work, which polars then runs on every core. Each
#: chunk has a fixed cost (PHONE runs a few dozen small queries per chunk, about 40 ms
#: of CPU), so chunks are no smaller than it takes to keep the cores busy.
ROWS_PER_CHUNK = 250_000
#: A smaller frame is still cut into one chunk per thread, down to chunks of this many
#: rows: batches of 100,000 rows then prepare 9% faster.
_MIN_ROWS_PER_CHUNK = 50_000


def _chunk_rows(n: int) -> int:
    """Rows per chunk for ``n`` rows: :data:`ROWS_PER_CHUNK`, or for fewer rows than
    that per thread, ``n`` shared evenly by the threads (as many as chunks of at least
    :data:`_MIN_ROWS_PER_CHUNK` rows allow)."""
    threads = pl.thread_pool_size()
    if n >= threads * ROWS_PER_CHUNK:
        return ROWS_PER_CHUNK
    chunks = max(1, min(threads, n // _MIN_ROWS_PER_CHUNK))
    return max(1, -(-n // chunks))


def collect_select(frame: pl.DataFrame, exprs: Mapping[str, pl.Expr]) -> pl.DataFrame:
    """``frame.select(exprs)`` (name → expression), each fed the chunks that suit it.

    The in-memory engine hands an elementwise function one chunk at a time, and runs
    chunks in parallel. Expressions of repetitive keys (per-distinct work) see the frame
    as one chunk, so distinct values are found across whole columns; those of the
    row-unique keys (:data:`audframe.keys.ROW_UNIQUE_KEYS`) see it in chunks of
    :data:`ROWS_PER_CHUNK` rows (a smaller frame: one per thread, see
    :func:`_chunk_rows`), so their row-by-row work runs on every core. Lazy, so
    that polars' common-subexpression elimination runs (eager ``select`` skips it).
    """
    whole = frame.rechunk()
    grouped = [e for name, e in exprs.items() if name not in ROW_UNIQUE_KEYS]
    rowwise = [e for name, e in exprs.items() if name in ROW_UNIQUE_KEYS]
    outputs = []
    if grouped or not rowwise:
        outputs.append(whole.lazy().select(grouped).collect(engine="in-memory"))
    if rowwise:
        parts = list(whole.iter_slices(_chunk_rows(whole.height))) or [whole]
        chunked = pl.concat(parts, rechunk=False)
        outputs.append(chunked.lazy().select(rowwise).collect(engine="in-memory"))
    out = pl.concat(outputs, how="horizontal") if len(outputs) > 1 else outputs[0]
    return out.select(list(exprs))
