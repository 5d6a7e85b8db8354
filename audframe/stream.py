"""A Parquet file through normalize → hash → payload chunks, and its validation report,
in bounded batches.

``to_payloads(hash(normalize(pl.scan_parquet(path), …)))`` streams, but polars'
streaming engine decodes Parquet row groups well ahead of the normalizers, which
run Python code per batch and are slower than the decoder: what it buffers, not the
file's size, sets the peak memory (about 750 MiB above the interpreter on a 2-core
machine, see ``benchmarks/memory.py``). Here pyarrow reads the file
``rows`` at a time (``ParquetFile.iter_batches``), nothing is read before it is
needed, and each batch goes through the public :func:`audframe.prepare` (normalize
and hash) as an in-memory DataFrame; :func:`audframe.to_payloads` then
checks, counts and spools the hashed batches. The output is the same as the lazy
pipeline's, row for row. :func:`validate_parquet` reads the file the same way for the
validation report (the command line's ``audframe validate`` of 20,000,000 rows: 577 MiB
peak; :func:`audframe.validate` of the lazy frame, batched by polars' streaming engine,
903 MiB). :func:`payloads_and_report` gives both from one pass: each batch is checked
and hashed together (:class:`audframe.report.Tally`), so every cell is normalized once.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from os import PathLike

import polars as pl

from audframe.charts import ValidationReport
from audframe.errors import ValidationError
from audframe.frames import at_least_one, column_batches
from audframe.mapping import resolve_mapping
from audframe.payloads import MAX_BATCH_SIZE, Payloads, to_payloads
from audframe.prepare import finishers, prepare
from audframe.report import Tally, validate_batches

__all__ = ["hashed_batches", "parquet_payloads", "payloads_and_report", "validate_parquet"]

#: Rows read, normalized and hashed at a time. Fewer, larger batches repeat less of the
#: normalizers' fixed work per batch: 20,000,000 rows through :func:`parquet_payloads`
#: take 74 s and peak at 822 MiB, against 117 s and 646 MiB in batches of 100,000 rows.
DEFAULT_ROWS = 250_000


def hashed_batches(
    path: str | PathLike[str],
    mapping: Mapping[str, str] | None = None,
    *,
    default_country: str | None = None,
    dob_format: str | None = None,
    hash_extern_id: bool = False,
    rows: int = DEFAULT_ROWS,
) -> Iterator[pl.DataFrame]:
    """Read a Parquet file ``rows`` at a time; yield each batch normalized and hashed.

    Parameters
    ----------
    path : a Parquet file of raw customer data.
    mapping, default_country, dob_format : as for :func:`audframe.normalize`;
        ``None`` recognises columns by name (resolved once, on the file's schema).
    hash_extern_id : as for :func:`audframe.hash`.
    rows : rows per batch (at least 1). Only the mapped columns are read.

    Yields
    ------
    DataFrames as ``hash(normalize(batch, …))`` returns them: one String column per
    key (LOOKALIKE_VALUE Float64), digests or null. A file without rows yields one
    empty batch, so that the columns are known.

    Raises
    ------
    As :func:`audframe.normalize` and :func:`audframe.hash` do, for the first batch
    they refuse (a missing column, an unknown key, a wrong dtype).
    """
    resolved, _, raw = _read(path, mapping, rows)
    for batch in raw:
        yield prepare(batch, resolved, default_country=default_country, dob_format=dob_format,
                      hash_extern_id=hash_extern_id)


def _read(
    path: str | PathLike[str], mapping: Mapping[str, str] | None, rows: int
) -> tuple[dict[str, str], pl.Schema, Iterator[pl.DataFrame]]:
    """The resolved mapping, the file's schema, and its mapped columns ``rows`` at a time.

    A file without rows gives one empty batch, so that the columns are known.
    """
    _check_rows(rows)
    import pyarrow as pa  # type: ignore[import-untyped]  # loaded when a file is read
    import pyarrow.parquet as pq  # type: ignore[import-untyped]

    try:
        file = pq.ParquetFile(path, pre_buffer=False)  # pre-buffering keeps every page read
    except pa.ArrowNotImplementedError:  # a type pyarrow cannot read (Int128): polars can
        return _read_with_polars(path, mapping, rows)
    except pa.ArrowInvalid as exc:
        raise ValidationError(f"{path!s} is not a Parquet file ({exc}); read other formats "
                              "with polars and pass the frame") from exc
    empty = pl.from_arrow(file.schema_arrow.empty_table())
    if not isinstance(empty, pl.DataFrame):  # a table always converts to a DataFrame
        raise TypeError(f"cannot read {path!s} as a table")
    resolved = resolve_mapping(empty, mapping)
    columns = list(dict.fromkeys(resolved.values()))

    def batches() -> Iterator[pl.DataFrame]:
        for record_batch in file.iter_batches(batch_size=rows, columns=columns):
            batch = pl.from_arrow(record_batch)
            if isinstance(batch, pl.DataFrame):
                yield batch

    return resolved, empty.schema, at_least_one(batches(), empty.select(columns).schema)


def _read_with_polars(
    path: str | PathLike[str], mapping: Mapping[str, str] | None, rows: int
) -> tuple[dict[str, str], pl.Schema, Iterator[pl.DataFrame]]:
    """:func:`_read` through polars' streaming engine, for a file pyarrow cannot open (it
    buffers more row groups ahead than pyarrow's reader)."""
    lazy = pl.scan_parquet(os.fspath(path))
    resolved = resolve_mapping(lazy, mapping)
    picked = lazy.select(list(dict.fromkeys(resolved.values())))
    return resolved, lazy.collect_schema(), at_least_one(picked.collect_batches(chunk_size=rows),
                                                         picked.collect_schema())


def _check_rows(rows: int) -> None:
    if isinstance(rows, bool) or not isinstance(rows, int) or rows < 1:
        raise ValueError(f"rows must be a positive integer, got {rows!r}")


def validate_parquet(
    path: str | PathLike[str],
    mapping: Mapping[str, str] | None = None,
    *,
    default_country: str | None = None,
    dob_format: str | None = None,
    examples: int = 3,
    rows: int = DEFAULT_ROWS,
) -> ValidationReport:
    """``validate(pl.scan_parquet(path), …)`` in bounded memory.

    The file is read once, ``rows`` at a time, as :func:`hashed_batches` reads it;
    each batch is counted and let go (see :func:`audframe.report.validate_batches`).
    The report is the one :func:`audframe.validate` gives for the whole file.

    Examples
    --------
    >>> import tempfile, pathlib, polars as pl
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "customers.parquet"
    >>> pl.DataFrame({"email": ["Ann@Example.com", "nope"]}).write_parquet(path)
    >>> validate_parquet(path, rows=1).select("key", "valid", "reason", "example_rows").row(0)
    ('EMAIL', 1, 'email has no @', [1])
    """
    resolved, schema, raw = _read(path, mapping, rows)
    return validate_batches(schema, raw, resolved, default_country=default_country,
                            dob_format=dob_format, examples=examples)


def parquet_payloads(
    path: str | PathLike[str],
    mapping: Mapping[str, str] | None = None,
    *,
    default_country: str | None = None,
    dob_format: str | None = None,
    hash_extern_id: bool = False,
    batch_size: int = MAX_BATCH_SIZE,
    session_id: int | None = None,
    app_ids: Iterable[int | str] | None = None,
    page_ids: Iterable[int | str] | None = None,
    rows: int = DEFAULT_ROWS,
) -> Payloads:
    """``to_payloads(hash(normalize(<the Parquet file>, …)))`` in bounded memory.

    The file is read once, ``rows`` at a time (see :func:`hashed_batches`); the
    returned :class:`~audframe.payloads.Payloads` is the one :func:`audframe.to_payloads`
    gives for the same rows, its ``stats`` known before the first chunk. Peak memory
    follows ``rows``, not the file's size.

    Examples
    --------
    >>> import tempfile, pathlib, polars as pl
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "customers.parquet"
    >>> pl.DataFrame({"email": ["Ann@Example.com", None]}).write_parquet(path)
    >>> chunks = parquet_payloads(path, session_id=1)
    >>> chunks.stats.rows_read, chunks.stats.estimated_num_total
    (2, 1)
    """
    batches = hashed_batches(path, mapping, default_country=default_country,
                             dob_format=dob_format, hash_extern_id=hash_extern_id, rows=rows)
    return to_payloads(batches, batch_size=batch_size, session_id=session_id, app_ids=app_ids,
                       page_ids=page_ids)


def payloads_and_report(
    source: str | PathLike[str] | pl.DataFrame | pl.LazyFrame,
    mapping: Mapping[str, str] | None = None,
    *,
    default_country: str | None = None,
    dob_format: str | None = None,
    hash_extern_id: bool = False,
    batch_size: int = MAX_BATCH_SIZE,
    session_id: int | None = None,
    app_ids: Iterable[int | str] | None = None,
    page_ids: Iterable[int | str] | None = None,
    examples: int = 3,
    rows: int = DEFAULT_ROWS,
) -> tuple[Payloads, ValidationReport]:
    """The payload chunks and the validation report of a table, from one pass over it.

    Equal to ``to_payloads(prepare(source, …), …)`` and ``validate(source, …)``, at
    about the cost of the first alone: each key's rule runs once per cell (per
    distinct value for repetitive keys) for both the report and the digests.

    Parameters
    ----------
    source : a Parquet file (read as :func:`parquet_payloads` reads it, ``rows`` at a
        time, in bounded memory), a LazyFrame (collected ``rows`` at a time, its
        mapped columns only) or a DataFrame (at once).
    mapping, default_country, dob_format, hash_extern_id : as for :func:`audframe.prepare`.
    batch_size, session_id, app_ids, page_ids : as for :func:`audframe.to_payloads`.
    examples : as for :func:`audframe.validate`.
    rows : rows per batch for a file or a LazyFrame (at least 1).

    Returns
    -------
    ``(payloads, report)``: every row is read, checked and hashed before this returns,
    so the report is complete and ``payloads.stats`` known; the chunks are then
    built as they are consumed.

    Examples
    --------
    >>> import polars as pl
    >>> df = pl.DataFrame({"email": ["Ann@Example.com", "nope", None]})
    >>> payloads, report = payloads_and_report(df, session_id=1)
    >>> payloads.stats.rows_read, payloads.stats.estimated_num_total
    (3, 1)
    >>> report.select("key", "present", "valid", "reason").row(0)
    ('EMAIL', 2, 1, 'email has no @')
    """
    if isinstance(source, str | PathLike):
        resolved, schema, raw = _read(source, mapping, rows)
    else:
        _check_rows(rows)
        resolved = resolve_mapping(source, mapping)
        schema, raw = column_batches(source, resolved.values(), rows)
    tally = Tally(schema, resolved, default_country=default_country, dob_format=dob_format,
                  examples=examples)
    finish = finishers(hash_extern_id=hash_extern_id)

    def hashed(batch: pl.DataFrame) -> pl.DataFrame:
        checked = tally.check(batch, finish)
        return checked.select(pl.col(k).struct.field("value").alias(k) for k in checked.columns)

    # A DataFrame stays one (no spool); batches are spooled as to_payloads reads them.
    frames = hashed(next(raw)) if isinstance(source, pl.DataFrame) else map(hashed, raw)
    payloads = to_payloads(frames, batch_size=batch_size, session_id=session_id,
                           app_ids=app_ids, page_ids=page_ids)
    return payloads, tally.report()

