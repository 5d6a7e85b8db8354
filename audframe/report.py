"""The validation report: per key, what the input held, what survived, and why not."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from itertools import chain
from typing import Literal

import polars as pl

from audframe.charts import ValidationReport
from audframe.mapping import resolve_mapping
from audframe.normalize import build_rules
from audframe.normalize.rule import Rule, present

__all__ = ["validate", "validate_batches"]

_ROW = "__audframe_row"


def validate(
    frame: pl.DataFrame | pl.LazyFrame,
    mapping: Mapping[str, str] | None = None,
    *,
    default_country: str | None = None,
    dob_format: str | None = None,
    examples: int = 3,
) -> ValidationReport:
    """Report, per Meta key, the cells present, valid after normalization and dropped.

    Takes the same arguments as :func:`audframe.normalize`. Reads the input once
    (streaming for a LazyFrame) and never copies a value into the report. On a
    LazyFrame its tallies grow with the input (3.7 GiB for 20,000,000 rows from
    ``pl.scan_parquet``): for a large Parquet file use
    :func:`audframe.validate_parquet`, which reads it in bounded batches.

    Returns
    -------
    DataFrame with one row per key and reason (``reason`` null on the row of a key
    that lost nothing), in catalogue order, most frequent reason first:

    ``key`` (str), ``column`` (str, the source column), ``present`` (u32, non-blank
    input cells), ``valid`` (u32, normalized cells), ``invalid`` (u32, present but
    dropped), ``reason`` (str), ``count`` (u32, cells dropped for that reason),
    ``example_rows`` (list[u32], 0-based row positions of a few of them).

    Examples
    --------
    >>> import polars as pl, audframe
    >>> df = pl.DataFrame({"email": ["a@b.co", "nope", None]})
    >>> audframe.validate(df).select("key", "present", "valid", "reason", "count").row(0)
    ('EMAIL', 2, 1, 'email has no @', 1)
    """
    resolved = resolve_mapping(frame, mapping)
    rules = build_rules(
        frame.collect_schema(), resolved, default_country=default_country, dob_format=dob_format
    )
    got, why = _tally(frame.lazy(), rules, examples, offset=0, engine="streaming")
    return _report(rules, got, why)


def validate_batches(
    schema: pl.Schema,
    batches: Iterable[pl.DataFrame],
    mapping: Mapping[str, str],
    *,
    default_country: str | None = None,
    dob_format: str | None = None,
    examples: int = 3,
) -> ValidationReport:
    """:func:`validate` of a table read batch by batch, in bounded memory.

    ``batches`` are the table's rows in order, as DataFrames with ``schema``'s columns
    (see :func:`audframe.stream.validate_parquet`); ``mapping`` is resolved (canonical
    keys to existing columns). Each batch is counted once and let go: the report equals
    ``validate`` of the whole table, ``example_rows`` numbered across batches.
    """
    rules = build_rules(schema, mapping, default_country=default_country, dob_format=dob_format)
    totals: Counter[str] = Counter()
    parts: list[pl.DataFrame] = []
    offset = 0
    # an empty frame last, so that even no batch at all gives every count (0)
    for batch in chain(batches, [pl.DataFrame(schema=schema)]):
        got, why = _tally(batch.lazy(), rules, examples, offset=offset, engine="in-memory")
        totals.update(got)
        parts.append(why)
        offset += batch.height
    why = pl.concat(parts).group_by("key", "reason").agg(
        pl.col("count").sum().cast(pl.UInt32),
        pl.col("example_rows").explode().sort().head(examples),
    )
    return _report(rules, dict(totals), why)


def _tally(
    frame: pl.LazyFrame, rules: dict[str, tuple[str, pl.Expr, Rule]], examples: int, *,
    offset: int, engine: Literal["in-memory", "streaming"],
) -> tuple[dict[str, int], pl.DataFrame]:
    """Per key, present and valid cells (``key\x00present``, ``key\x00valid``); per key
    and reason, the count and the first ``examples`` row positions (from ``offset``)."""
    lazy = frame.with_row_index(_ROW, offset=offset)
    totals = lazy.select(
        *(present(raw).sum().alias(f"{k}\x00present") for k, (_, raw, _) in rules.items()),
        *(r.value.is_not_null().sum().alias(f"{k}\x00valid") for k, (_, _, r) in rules.items()),
    )
    reasons = (
        lazy.select(_ROW, *(rule.reason.alias(k) for k, (_, _, rule) in rules.items()))
        .unpivot(index=_ROW, variable_name="key", value_name="reason")
        .drop_nulls("reason")
        .group_by("key", "reason")
        .agg(
            pl.len().cast(pl.UInt32).alias("count"),
            pl.col(_ROW).sort().head(examples).cast(pl.UInt32).alias("example_rows"),
        )
    )
    sums, why = pl.collect_all([totals, reasons], engine=engine)
    return sums.row(0, named=True), why


def _report(
    rules: dict[str, tuple[str, pl.Expr, Rule]], got: Mapping[str, int], why: pl.DataFrame
) -> ValidationReport:
    """The report's rows from the tallies of :func:`_tally`."""
    base = pl.DataFrame(
        {
            "key": list(rules),
            "column": [column for column, _, _ in rules.values()],
            "present": [got[f"{k}\x00present"] for k in rules],
            "valid": [got[f"{k}\x00valid"] for k in rules],
        },
        schema={"key": pl.String, "column": pl.String, "present": pl.UInt32, "valid": pl.UInt32},
    ).with_columns(invalid=pl.col("present") - pl.col("valid"))
    order = {k: i for i, k in enumerate(rules)}
    return ValidationReport(
        base.join(why, on="key", how="left")
        .with_columns(pl.col("count").fill_null(0))
        .sort(
            pl.col("key").replace_strict(order, return_dtype=pl.UInt32),
            pl.col("count"),
            pl.col("reason"),
            descending=[False, True, False],
        )
    )
