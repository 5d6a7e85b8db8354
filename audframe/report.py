"""The validation report: per key, what the input held, what survived, and why not."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

import polars as pl

from audframe.charts import ValidationReport
from audframe.frames import column_batches
from audframe.keys import DOB
from audframe.mapping import resolve_mapping
from audframe.normalize import Finish, check_keys

__all__ = ["Tally", "validate", "validate_batches"]

_ROW = "__audframe_row"
#: Rows of a LazyFrame read and counted at a time by :func:`validate`.
_LAZY_BATCH_ROWS = 250_000


def validate(
    frame: pl.DataFrame | pl.LazyFrame,
    mapping: Mapping[str, str] | None = None,
    *,
    default_country: str | None = None,
    dob_format: str | None = None,
    examples: int = 3,
) -> ValidationReport:
    """Report, per Meta key, the cells present, valid after normalization and dropped.

    Takes the arguments of :func:`audframe.normalize` but ``keep``, and ``examples``:
    how many row positions to give per reason. Reads the input once and
    never copies a value into the report: a DataFrame at once, a LazyFrame in batches
    of 250,000 rows (its mapped columns only), each counted and let go. For a large
    Parquet file, :func:`audframe.validate_parquet` reads in smaller batches with
    pyarrow, which decodes no further ahead than it is asked to.

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
    schema, batches = column_batches(frame, resolved.values(), _LAZY_BATCH_ROWS)
    return validate_batches(schema, batches, resolved,
                            default_country=default_country, dob_format=dob_format,
                            examples=examples)


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
    tally = Tally(schema, mapping, default_country=default_country, dob_format=dob_format,
                  examples=examples)
    for batch in batches:
        tally.check(batch)
    return tally.report()


class Tally:
    """The validation report of a table whose batches are checked one by one, in order.

    ``schema``: the batches' columns; ``mapping``: resolved (canonical keys to existing
    columns); the options are :func:`validate`'s. :meth:`check` checks a batch and
    counts it; :meth:`report` gives the report of every batch so far (all zeros for
    none), equal to ``validate`` of their rows together.
    """

    def __init__(
        self,
        schema: pl.Schema,
        mapping: Mapping[str, str],
        *,
        default_country: str | None = None,
        dob_format: str | None = None,
        examples: int = 3,
    ) -> None:
        if isinstance(examples, bool) or not isinstance(examples, int) or examples < 0:
            raise ValueError(f"examples must be a whole number, 0 or more; got {examples!r}")
        self._schema, self._mapping, self._examples = schema, mapping, examples
        self._options = {"default_country": default_country, "dob_format": dob_format}
        self._totals: Counter[str] = Counter()
        self._parts: list[pl.DataFrame] = []
        self._keys: list[str] | None = None
        self._rows = 0

    def check(
        self, batch: pl.DataFrame, finish: Mapping[str, Finish] | None = None
    ) -> pl.DataFrame:
        """Count ``batch``; return its :func:`audframe.normalize.check_keys` (with
        ``finish``, each key's ``value`` too)."""
        checked = check_keys(batch, self._mapping, finish=finish, **self._options)
        got, why = _tally(checked, self._examples, offset=self._rows)
        self._totals.update(got)
        self._parts.append(why)
        self._keys = checked.columns
        self._rows += batch.height
        return checked

    def report(self) -> ValidationReport:
        """The report of the batches checked so far, as :func:`validate` gives it."""
        if self._keys is None:  # no batch at all: every count is 0
            self.check(pl.DataFrame(schema=self._schema))
        mapping = self._mapping
        sources = {k: mapping.get(k) or mapping[DOB] for k in self._keys or []}
        why = pl.concat(self._parts).group_by("key", "reason").agg(
            pl.col("count").sum().cast(pl.UInt32),
            pl.col("example_rows").explode().sort().head(self._examples),
        )
        return _report(sources, dict(self._totals), why)


def _tally(
    checked: pl.DataFrame, examples: int, *, offset: int
) -> tuple[dict[str, int], pl.DataFrame]:
    """Per key, present and valid cells (``key\x00present``, ``key\x00valid``); per key
    and reason, the count and the first ``examples`` row positions (from ``offset``).

    ``checked``: one :data:`audframe.normalize.CHECK` column per key (see
    :func:`audframe.normalize.check_keys`).
    """
    keys = checked.columns
    totals = checked.select(
        *(pl.col(k).struct.field("present").sum().alias(f"{k}\x00present") for k in keys),
        *(pl.col(k).struct.field("valid").sum().alias(f"{k}\x00valid") for k in keys),
    )
    numbered = checked.lazy().with_row_index(_ROW, offset=offset)
    dropped = [
        numbered.select(_ROW, key=pl.lit(k), reason=pl.col(k).struct.field("reason"))
        .drop_nulls("reason")
        for k in keys
    ]
    why = pl.concat(dropped).group_by("key", "reason").agg(
        pl.len().cast(pl.UInt32).alias("count"),
        pl.col(_ROW).sort().head(examples).cast(pl.UInt32).alias("example_rows"),
    )
    return totals.row(0, named=True), why.collect()


def _report(
    sources: Mapping[str, str], got: Mapping[str, int], why: pl.DataFrame
) -> ValidationReport:
    """The report's rows from the tallies of :func:`_tally`; ``sources``: key → column."""
    base = pl.DataFrame(
        {
            "key": list(sources),
            "column": list(sources.values()),
            "present": [got[f"{k}\x00present"] for k in sources],
            "valid": [got[f"{k}\x00valid"] for k in sources],
        },
        schema={"key": pl.String, "column": pl.String, "present": pl.UInt32, "valid": pl.UInt32},
    ).with_columns(invalid=pl.col("present") - pl.col("valid"))
    order = {k: i for i, k in enumerate(sources)}
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
