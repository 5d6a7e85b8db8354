"""Graph API payload chunks: at most 10,000 rows each, one session, JSON form fields.

A chunk is a plain dict, one per request to ``/{audience_id}/users``::

    {"payload": {"schema": ["EMAIL", "PHONE"], "data": [["<sha256>", ""], ...]},
     "session": {"session_id": 7412…, "batch_seq": 1, "last_batch_flag": False,
                 "estimated_num_total": 25000}}
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import orjson
import polars as pl

from audframe.errors import NotHashedError, ValidationError
from audframe.frames import key_columns
from audframe.keys import HASHED_KEYS
from audframe.schemas import DIGEST, not_digest

__all__ = [
    "MAX_BATCH_SIZE",
    "Chunk",
    "check_chunk",
    "form_fields",
    "new_session_id",
    "to_payloads",
]

log = logging.getLogger("audframe")

#: Meta rejects requests with more rows than this.
MAX_BATCH_SIZE = 10_000

Chunk = dict[str, Any]


def new_session_id() -> int:
    """A random positive 63-bit integer, as a Graph API ``session_id``."""
    return secrets.randbits(63) or 1


def _match_keys(keys: Sequence[str]) -> list[str]:
    return [k for k in keys if k != "LOOKALIKE_VALUE"]


def _prepare(frame: pl.LazyFrame, keys: list[str]) -> pl.LazyFrame:
    """Select the key columns, drop rows without any match key, refuse undigested cells."""
    match = _match_keys(keys)
    if not match:
        raise ValidationError(
            "the frame has no match-key column (EMAIL, PHONE, …); a LOOKALIKE_VALUE "
            "alone cannot match anyone"
        )
    hashed = [k for k in keys if k in HASHED_KEYS]

    def guard(s: pl.Series) -> pl.Series:
        counts = s.struct.unnest().sum().row(0, named=True)
        bad = {k: n for k, n in counts.items() if n}
        if bad:
            listed = ", ".join(f"{k} ({n} cells)" for k, n in bad.items())
            raise NotHashedError(
                f"cells that are not SHA-256 digests in {listed}; call "
                "audframe.hash(...) first: raw values are never sent"
            )
        return pl.repeat(True, len(s), eager=True)

    out = frame.select(keys).filter(pl.any_horizontal(pl.col(match).is_not_null()))
    if hashed:
        flags = pl.struct([not_digest(k).alias(k) for k in hashed])
        out = out.filter(flags.map_batches(guard, return_dtype=pl.Boolean))
    return out


def _rows(df: pl.DataFrame) -> list[list[Any]]:
    strings = [c for c, t in df.schema.items() if t == pl.String]
    return df.with_columns(pl.col(strings).fill_null("")).rows()  # type: ignore[return-value]


def _batches(frame: pl.LazyFrame, size: int) -> Iterator[pl.DataFrame]:
    """Exactly ``size``-row DataFrames (the last may be shorter), streamed."""
    pending: list[pl.DataFrame] = []
    held = 0
    for part in frame.collect_batches(chunk_size=size):
        pending.append(part)
        held += part.height
        while held >= size:
            whole = pl.concat(pending, rechunk=False)
            yield whole.head(size)
            rest = whole.slice(size)
            pending, held = ([rest], rest.height) if rest.height else ([], 0)
    if held:
        yield pl.concat(pending)


def to_payloads(
    frame: pl.DataFrame | pl.LazyFrame,
    *,
    batch_size: int = MAX_BATCH_SIZE,
    session_id: int | None = None,
    app_ids: Iterable[int | str] | None = None,
    page_ids: Iterable[int | str] | None = None,
) -> Iterator[Chunk]:
    """Turn a hashed frame into Graph API request chunks.

    Parameters
    ----------
    frame : a hashed DataFrame or LazyFrame (see :func:`audframe.hash`). Its Meta-key
        columns become the ``schema``, in catalogue order; other columns are ignored.
    batch_size : rows per chunk, 1 … 10,000.
    session_id : the Graph ``session_id``; a random positive 63-bit integer if None.
    app_ids, page_ids : added to every payload when given.

    Yields
    ------
    dict chunks (see the module docstring). Missing cells are ``""``;
    LOOKALIKE_VALUE stays a number. Rows without any match key are dropped (and
    logged as a count). ``estimated_num_total`` is the number of rows the chunks
    carry; ``last_batch_flag`` is true on the last chunk only.

    Raises
    ------
    ValueError
        ``batch_size`` outside 1 … 10,000.
    NotHashedError
        a hashed key holds a cell that is not a digest (no chunk carrying it is
        yielded).

    Notes
    -----
    A LazyFrame is read twice, streaming: once to count the rows, once to chunk
    them; it is never collected whole.
    """
    if not 1 <= batch_size <= MAX_BATCH_SIZE:
        raise ValueError(f"batch_size must be between 1 and {MAX_BATCH_SIZE}, got {batch_size}")
    keys = key_columns(frame)
    prepared = _prepare(frame.lazy(), keys)
    if isinstance(frame, pl.DataFrame):
        prepared = prepared.collect().lazy()
        total, read = prepared.select(pl.len()).collect().item(), frame.height
    else:
        counts = frame.lazy().select(
            pl.len().alias("read"),
            pl.any_horizontal(pl.col(_match_keys(keys)).is_not_null()).sum().alias("kept"),
        ).collect(engine="streaming")
        read, total = counts.row(0)
    if read - total:
        log.info("to_payloads: dropped %d of %d rows without any match key", read - total, read)
    sid = new_session_id() if session_id is None else int(session_id)
    extra: dict[str, Any] = {}
    if app_ids is not None:
        extra["app_ids"] = [int(a) for a in app_ids]
    if page_ids is not None:
        extra["page_ids"] = [int(p) for p in page_ids]
    n_batches = -(-total // batch_size)
    for seq, batch in enumerate(_batches(prepared, batch_size), start=1):
        yield {
            "payload": {"schema": list(keys), "data": _rows(batch), **extra},
            "session": {
                "session_id": sid,
                "batch_seq": seq,
                "last_batch_flag": seq == n_batches,
                "estimated_num_total": total,
            },
        }


def check_chunk(chunk: Chunk) -> None:
    """Refuse a chunk whose hashed-key cells are not 64 lowercase hex or ``""``.

    Raises NotHashedError naming the keys and counts (never the values).
    """
    payload = chunk.get("payload", {})
    schema = payload.get("schema")
    data = payload.get("data")
    if not isinstance(schema, list) or not isinstance(data, list):
        raise ValidationError("a chunk needs payload.schema (a list) and payload.data (a list)")
    hashed = [i for i, k in enumerate(schema) if k in HASHED_KEYS]
    if not hashed or not data:
        return
    width = len(schema)
    if any(not isinstance(r, list | tuple) or len(r) != width for r in data):
        raise ValidationError(f"every row of payload.data must have {width} cells, like schema")
    cols = {schema[i]: [r[i] for r in data] for i in hashed}
    bad = {
        k: n
        for k, values in cols.items()
        if (n := sum(1 for v in values if not (isinstance(v, str) and _is_digest_or_empty(v))))
    }
    if bad:
        listed = ", ".join(f"{k} ({n} cells)" for k, n in bad.items())
        raise NotHashedError(
            f"cells that are not SHA-256 digests in {listed}; call audframe.hash(...) first"
        )


# The DIGEST pattern, checked by hand: faster than a regex on Python strings.
_HEX = frozenset("0123456789abcdef")


def _is_digest_or_empty(v: str) -> bool:
    return v == "" or (len(v) == 64 and set(v) <= _HEX)


def form_fields(chunk: Chunk) -> dict[str, str]:
    """The form fields a POST sends for one chunk: ``payload`` and ``session`` as compact JSON."""
    return {
        "payload": orjson.dumps(chunk["payload"]).decode(),
        "session": orjson.dumps(chunk["session"]).decode(),
    }


