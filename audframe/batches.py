"""What the sender sends: the input turned into numbered, encoded, digested batches.

Internal to :class:`audframe.Sender`. A hashed DataFrame/LazyFrame goes through
:func:`audframe.to_payloads` and its fast path ``fields()`` (the payload JSON built by
polars, refused at call time when a hashed key holds a non-digest), and so does a
:class:`~audframe.payloads.Payloads` given as it is (``parquet_payloads`` of a large
file, say), already checked when it was made; other dict chunks (built by hand) are
checked and encoded with orjson. Either way a batch
carries its ``payload`` JSON exactly as it is sent, and the journal's digest is the
SHA-256 of that string: a frame and ``to_payloads`` of the same frame give the same
digests. The last batch is marked by reading one ahead.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Final

import orjson
import polars as pl

from audframe.errors import ValidationError
from audframe.frames import refuse_pandas
from audframe.payloads import MAX_BATCH_SIZE, Payloads, check_chunk, to_payloads

__all__ = ["MAX_ROWS", "Batch", "batches"]

#: Meta's limit of rows per request.
MAX_ROWS: Final = MAX_BATCH_SIZE


@dataclass
class Batch:
    """One request's payload. ``index`` is its 0-based position in the input;
    ``session`` is the input's own session dict (its ``session_id`` and
    ``estimated_num_total`` are read from the first batch)."""

    index: int
    payload: str
    rows: int
    schema: Sequence[str]
    session: Mapping[str, Any]
    last: bool = False

    @cached_property
    def digest(self) -> str:
        return hashlib.sha256(self.payload.encode()).hexdigest()


def _payload_of(chunk: Any) -> tuple[dict[str, Any], int]:
    """Check one chunk (:func:`audframe.payloads.check_chunk`); return its payload and
    row count."""
    if not isinstance(chunk, Mapping) or not isinstance(chunk.get("payload"), Mapping):
        raise ValidationError(
            "each chunk must be a dict with a 'payload' dict, as audframe.to_payloads "
            f"yields; got {type(chunk).__name__}"
        )
    payload = dict(chunk["payload"])
    check_chunk({"payload": payload})
    return payload, len(payload["data"])


def _from_chunks(chunks: Iterable[Any]) -> Iterator[Batch]:
    """Check and encode dict chunks; skip empty ones. Each chunk is encoded right after
    its check, so what is sent is what was checked (a sequence read twice may change)."""
    index = 0
    for chunk in chunks:
        payload, rows = _payload_of(chunk)
        if rows == 0:
            continue
        session = chunk.get("session")
        yield Batch(index, orjson.dumps(payload).decode(), rows, payload["schema"],
                    session if isinstance(session, Mapping) else {})
        index += 1


def _from_payloads(payloads: Payloads) -> Iterator[Batch]:
    """The batches of a :class:`Payloads`, by its fast path (checked when it was made)."""
    total, size = payloads.stats.estimated_num_total, payloads.stats.batch_size
    return (
        Batch(index, fields["payload"], min(size, total - index * size), payloads.schema,
              session)
        for index, (session, fields) in enumerate(payloads.fields())
    )


def _flag_last(source: Iterator[Batch]) -> Iterator[Batch]:
    held = next(source, None)
    while held is not None:
        batch, held = held, next(source, None)
        batch.last = held is None
        yield batch


def batches(data: Any, session_id: int | None, batch_size: int) -> Iterator[Batch]:
    """The batches of ``data``, the last one flagged.

    A frame or a list of chunks is refused here, before anything is sent, when it holds
    undigested hashed cells; chunks from an iterator are checked one by one as read
    (and those of a list again, as they are encoded).
    """
    refuse_pandas(data)
    if isinstance(data, pl.DataFrame | pl.LazyFrame):
        data = to_payloads(data, batch_size=batch_size, session_id=session_id)
    if isinstance(data, Payloads):
        return _flag_last(_from_payloads(data))
    if isinstance(data, Mapping):
        data = [data]
    if isinstance(data, Sequence) and not isinstance(data, str | bytes):
        for chunk in data:  # all refused before anything is sent …
            _payload_of(chunk)
    if isinstance(data, Iterable) and not isinstance(data, str | bytes):
        return _flag_last(_from_chunks(data))  # … and each checked again as it is read
    raise TypeError(
        "data must be a hashed polars DataFrame/LazyFrame or the chunks of "
        f"audframe.to_payloads, got {type(data).__name__}"
    )
