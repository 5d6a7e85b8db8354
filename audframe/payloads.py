"""Graph API payload chunks: at most 10,000 rows each, one session, JSON form fields.

A chunk is a plain dict, one per request to ``/{audience_id}/users``::

    {"payload": {"schema": ["EMAIL", "PHONE"], "data": [["<sha256>", ""], ...]},
     "session": {"session_id": 7412…, "batch_seq": 1, "last_batch_flag": False,
                 "estimated_num_total": 25000}}

:func:`to_payloads` returns a :class:`Payloads` iterator of those dicts. It also
carries the session's figures (:class:`PayloadStats`: rows read, rows dropped for
want of a match key, rows carried) and a fast path, :meth:`Payloads.fields`, that
yields each request's form fields as JSON built by polars, without a Python
object per cell.

How the rows get there:

- a DataFrame is cleaned and checked in memory, once;
- a LazyFrame, or an iterable of hashed DataFrames (the batches of one frame, as
  :func:`audframe.stream.hashed_batches` reads them from a Parquet file), is
  computed once, batch by batch: each batch is cleaned, checked and counted, and its
  rows with a match key go to a private temporary Arrow IPC file (the *spool*), which
  is then read back a block at a time. The counts are therefore known, and
  undigested cells refused, before the first chunk.
"""

from __future__ import annotations

import functools
import logging
import math
import re
import secrets
import shutil
import tempfile
import threading
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict

import orjson
import polars as pl
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]

from audframe.distinct import ROWS_PER_CHUNK
from audframe.errors import NotHashedError, ValidationError
from audframe.frames import key_columns, listed_columns, refuse_pandas
from audframe.keys import HASHED_KEYS, KEYS
from audframe.schemas import (
    DIGEST,
    EMPTY_DIGEST,
    PATTERNS,
    ZERO_UUID,
    blank_extern_id,
    not_digest,
    not_normalized,
)

__all__ = [
    "MAX_BATCH_SIZE",
    "Chunk",
    "Payload",
    "PayloadStats",
    "Payloads",
    "Session",
    "check_chunk",
    "check_session_id",
    "form_fields",
    "new_session_id",
    "to_payloads",
]

log = logging.getLogger("audframe")

#: Meta rejects requests with more rows than this.
MAX_BATCH_SIZE = 10_000

#: The largest Graph ``session_id`` (a positive int64).
_MAX_SESSION_ID = 2**63 - 1

#: Integral floats below this are sent as JSON integers (``140``, not ``140.0``).
_EXACT_INT = 2.0**53

_LOOKALIKE = "LOOKALIKE_VALUE"

#: Rows encoded per polars call: a whole number of chunks, about this many rows.
_BLOCK_ROWS = 50_000

#: Blocks whose JSON is built at once, in as many threads, while earlier ones are sent.
_BLOCKS_AHEAD = 2

#: Rows per batch when a LazyFrame is computed into the spool.
_SPOOL_BATCH_ROWS = 50_000

#: Rows sampled to decide whether a hashed column repeats enough to check each
#: distinct value once instead of every cell.
_SAMPLE_ROWS = 10_000

_HEX_DIGITS = b"0123456789abcdef"
#: Above this many string buffers, a column's buffers are copied into one before the
#: digest check reads them (see :func:`_only_hex_bytes`).
_MANY_BUFFERS = 64
#: Bytes of the block :func:`_heap_for_payloads` allocates and frees, once per process:
#: above any payload (10,000 rows of every key), within glibc's 32 MiB limit.
_HEAP_HINT_BYTES = 24 << 20

class Session(TypedDict):
    """A request's Graph API ``session`` field, as :func:`to_payloads` writes it."""

    session_id: int
    batch_seq: int
    last_batch_flag: bool
    estimated_num_total: int


class _Ids(TypedDict, total=False):
    app_ids: list[int]
    page_ids: list[int]


class Payload(_Ids):
    """A request's Graph API ``payload`` field, as :func:`to_payloads` writes it: the keys,
    and one row per person (digests and other cells as ``str``, missing ``""``;
    LOOKALIKE_VALUE an ``int`` or ``float``). ``app_ids``/``page_ids`` when given."""

    schema: list[str]
    data: list[list[str | int | float]]


class Chunk(TypedDict):
    """One request of an upload session, as :func:`to_payloads` yields it."""

    payload: Payload
    session: Session


def new_session_id() -> int:
    """A random positive 63-bit integer, as a Graph API ``session_id``."""
    return secrets.randbits(63) or 1


@dataclass(frozen=True)
class PayloadStats:
    """What one :func:`to_payloads` session carries.

    session_id: the Graph ``session_id`` of every chunk.
    rows_read: rows of the input frame.
    rows_dropped: rows without any match key (a LOOKALIKE_VALUE alone does not
        count), which no chunk carries.
    estimated_num_total: rows the chunks carry (``rows_read - rows_dropped``),
        the ``estimated_num_total`` of every chunk's session.
    batch_size: rows per chunk (the last may hold fewer).
    """

    session_id: int
    rows_read: int
    rows_dropped: int
    estimated_num_total: int
    batch_size: int

    @property
    def batches(self) -> int:
        """The number of chunks (requests) the session takes."""
        return -(-self.estimated_num_total // self.batch_size)


# -- cleaning and the digest check ----------------------------------------------------


def _match_keys(keys: Sequence[str]) -> list[str]:
    return [k for k in keys if k != _LOOKALIKE]


def _cleaned(key: str) -> pl.Expr:
    """One key column with every missing cell null: blank strings (in EXTERN_ID, also
    invisible characters alone), non-finite values, and in a hashed key or EXTERN_ID
    the digest of an empty string.

    String keys come out String, LOOKALIKE_VALUE Float64.
    """
    col = pl.col(key)
    if key == _LOOKALIKE:  # Meta takes numbers >= 0; the spec makes the rest missing
        number = col.cast(pl.Float64)
        return pl.when(number.is_finite() & (number >= 0)).then(number).alias(key)
    text = col.cast(pl.String)
    if key == "EXTERN_ID":
        present = ~blank_extern_id(text)
    else:
        present = text.str.contains(r"\S")
        if key in HASHED_KEYS:
            present = present & (text != EMPTY_DIGEST)
    return pl.when(present).then(text).alias(key)


def _has_key(keys: Sequence[str]) -> pl.Expr:
    return pl.any_horizontal(pl.col(_match_keys(keys)).is_not_null())


#: An email address (any case) anywhere in a cell: an EXTERN_ID that holds one (alone,
#: with whitespace around it, ``mailto:…``, ``Jane <jane@example.com>``) would leave as it
#: is, raw. The same pattern in polars and Python's ``re`` (unanchored: no ``$``, which
#: ``re`` matches before a final newline).
EMAIL_SHAPED = r"[^@＠﹫\s]+[@＠﹫][^@＠﹫\s.．。｡]+([.．。｡][^@＠﹫\s.．。｡]+)+"


def _extern_id_error(cells: int) -> NotHashedError:
    return NotHashedError(
        f"EXTERN_ID holds {cells} cells shaped like email addresses, which would be sent "
        "as they are (an extern id is not hashed by default): map that column as EMAIL, "
        "or hash it with audframe.hash(..., hash_extern_id=True) (the command line: "
        "--hash-extern-id)"
    )


def _not_hashed_error(counts: dict[str, int]) -> NotHashedError:
    listed = ", ".join(f"{k} ({n} cells)" for k, n in counts.items())
    return NotHashedError(
        f"cells that are not SHA-256 digests in {listed}; call audframe.hash(...) "
        "first: raw values are never sent"
    )


def _data_buffers(column: Any) -> list[Any]:
    """The data buffers of a pyarrow string-view array or chunked array, chunk after
    chunk (a buffer that several chunks view comes once per chunk, as an IPC file would
    store it)."""
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    return [b for chunk in chunks for b in chunk.buffers()[2:] if b is not None]


def _string_buffers(column: pl.Series) -> list[Any] | None:
    """The data buffers of a String column (no copy), or None when checking them would
    not prove its cells digests.

    A cell longer than 12 bytes lives in those buffers, so with every non-null cell 64
    bytes long, buffers of lowercase hex prove every cell a digest. It is only a
    shortcut: None when the buffers may hold anything else (a frame read from Parquet
    keeps length prefixes there) or are much larger than the cells (a slice of a
    bigger frame).
    """
    arrow = column.to_arrow(compat_level=pl.CompatLevel.newest())
    if arrow.type != pa.string_view():
        return None
    buffers = {b.address: b for b in _data_buffers(arrow)}
    cells = 64 * (column.len() - column.null_count())
    if sum(b.size for b in buffers.values()) > 2 * cells + (1 << 20):  # 1 MiB of slack
        return None
    # Anything else shows at once, mostly: length prefixes start a Parquet reader's buffers
    if any(bytes(memoryview(b)[:64]).translate(None, _HEX_DIGITS) for b in buffers.values()):
        return None
    return list(buffers.values())


def _only_hex_bytes(columns: dict[str, pl.Series]) -> set[str]:
    """The names of the String ``columns`` whose data buffers hold only lowercase hex
    (see :func:`_string_buffers`).

    Each column's buffers are read in place as bytes (UInt8) by polars, the columns in
    parallel; a column of many small buffers (a frame concatenated from many small ones)
    is copied into one first, which costs polars less than as many chunks.
    """
    buffers = {k: _string_buffers(c) for k, c in columns.items()}
    checked = {k: found for k, found in buffers.items() if found is not None}
    byte = pl.col("b")
    digit = (byte - 48).cast(pl.UInt8, wrap_numerical=True) < 10
    letter = (byte - 97).cast(pl.UInt8, wrap_numerical=True) < 6
    scans = []
    for found in checked.values():
        arrays = [pa.Array.from_buffers(pa.uint8(), b.size, [None, b]) for b in found]
        if len(arrays) > _MANY_BUFFERS:
            arrays = [pa.concat_arrays(arrays)]
        data = pl.from_arrow(pa.chunked_array(arrays, pa.uint8()))
        scans.append(pl.LazyFrame({"b": data}).select((digit | letter).all()))
    verdicts = pl.collect_all(scans) if scans else []
    return {k for k, ok in zip(checked, verdicts, strict=True) if ok.item()}


def _all_digests(frame: pl.DataFrame, hashed: list[str]) -> set[str]:
    """The hashed key columns of ``frame`` whose every non-null cell is a digest.

    A digest (64 lowercase hex characters) is never blank, so such a column needs no
    cleaning; a column holding the digest of an empty string (sent as missing) does, so
    it is never returned. Every non-null cell must be 64 bytes long; then the bytes are
    checked: the column's string buffers at once when they hold nothing else (as
    :func:`audframe.hash` leaves them), else once per distinct value for a column that
    repeats (names, cities, countries), else cell by cell. Nulls pass.
    """
    if not hashed or not frame.height:
        return set(hashed)
    text = {k: pl.col(k).cast(pl.String) for k in hashed}
    # a cell not 64 bytes long, or the digest of "": the column is not fine as it is
    odd = frame.select(
        ((t.str.len_bytes() != 64) | (t == EMPTY_DIGEST)).any().alias(k) for k, t in text.items()
    ).row(0, named=True)
    fine = _only_hex_bytes(
        {k: frame[k] for k in hashed if not odd[k] and frame[k].dtype == pl.String}
    )
    rest = [k for k in hashed if k not in fine]
    if not rest:
        return fine
    sample = frame.head(_SAMPLE_ROWS)
    distinct = sample.select(pl.col(k).n_unique() for k in rest).row(0)
    verdicts = []
    for k, n in zip(rest, distinct, strict=True):
        values = pl.col(k).cast(pl.String)
        if n * 4 <= sample.height:
            values = values.unique()
        verdicts.append(values.str.contains(DIGEST).all().alias(k))
    found = frame.select(verdicts).row(0, named=True)
    return fine | {k for k, ok in found.items() if ok and not odd[k]}


def _checked(frame: pl.DataFrame, keys: list[str], hashed: list[str]) -> pl.DataFrame:
    """The key columns of ``frame``, cleaned, only the rows with a match key.

    String keys come out String, LOOKALIKE_VALUE Float64, missing cells null. Raises
    NotHashedError, naming the keys and counts (never the values), when a hashed key
    holds a cell that is neither blank nor a digest.
    """
    fine = _all_digests(frame, hashed)
    cleaned = frame.select(
        pl.col(k).cast(pl.String) if k in fine else _cleaned(k) for k in keys
    )
    rest = [k for k in hashed if k not in fine]
    if rest:  # rare: blank cells, digests of "", or undigested ones to count and refuse
        counts = cleaned.select(not_digest(k).sum() for k in rest).row(0, named=True)
        bad = {k: n for k, n in counts.items() if n}
        if bad:
            raise _not_hashed_error(bad)
        empty = frame.select((pl.col(k).cast(pl.String) == EMPTY_DIGEST).sum() for k in rest)
        for k, n in empty.row(0, named=True).items():
            if n:
                log.info("to_payloads: %d %s cells are the SHA-256 of an empty string; "
                         "sent as missing", n, k)
    if "EXTERN_ID" in keys and (
        mail := cleaned.select(pl.col("EXTERN_ID").str.contains(EMAIL_SHAPED).sum()).item()
    ):
        raise _extern_id_error(mail)
    if "MADID" in keys and (odd := cleaned.select(not_normalized("MADID").sum()).item()):
        raise ValidationError(
            f"MADID holds {odd} cells that are not device ids (lowercase UUIDs, not all "
            "zeros); normalize the frame with audframe.normalize(...): other text is never sent"
        )
    return cleaned.filter(_has_key(keys))


def _ids(name: str, values: Iterable[int | str]) -> list[int]:
    """App or page ids as integers; a lone id, or one that is not a whole number, is refused."""
    if isinstance(values, str | bytes | int) or not isinstance(values, Iterable):
        raise ValueError(f"{name} takes a list of ids, such as [1234567890], not a "
                         f"{type(values).__name__}")
    ids = list(values)
    for v in ids:
        if isinstance(v, bool) or not (
            isinstance(v, int) or (isinstance(v, str) and v.strip().isdigit())
        ):
            raise ValueError(f"{name} holds {v!r}: ids are whole numbers (int or digits)")
    return [int(v) for v in ids]


def _check_options(batch_size: int, session_id: int | None) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int):
        raise ValueError(f"batch_size must be an integer, got {type(batch_size).__name__}")
    if not 1 <= batch_size <= MAX_BATCH_SIZE:
        raise ValueError(f"batch_size must be between 1 and {MAX_BATCH_SIZE}, got {batch_size}")
    return new_session_id() if session_id is None else check_session_id(session_id)


def check_session_id(session_id: Any, *, name: str = "session_id") -> int:
    """``session_id`` when it is a Graph ``session_id`` (an int, 1 … 2**63 - 1), else
    ValueError naming it ``name``."""
    if isinstance(session_id, bool) or not isinstance(session_id, int):
        raise ValueError(f"{name} must be an integer, got {type(session_id).__name__}")
    if not 1 <= session_id <= _MAX_SESSION_ID:
        raise ValueError(f"{name} must be a positive 63-bit integer, got {session_id}")
    return session_id


def _rechunk(parts: Iterable[pl.DataFrame], size: int) -> Iterator[pl.DataFrame]:
    """Exactly ``size``-row DataFrames (the last may be shorter) from frames of any size."""
    pending: list[pl.DataFrame] = []
    held = 0
    for part in parts:
        if not part.height:
            continue
        pending.append(part)
        held += part.height
        while held >= size:
            whole = pl.concat(pending, rechunk=False) if len(pending) > 1 else pending[0]
            yield whole.head(size)
            rest = whole.slice(size)
            pending, held = ([rest], rest.height) if rest.height else ([], 0)
    if held:
        yield pl.concat(pending, rechunk=False) if len(pending) > 1 else pending[0]


# -- the spool --------------------------------------------------------------------------


class _Spool:
    """The checked key rows of a computed frame, in a private temporary Arrow IPC file.

    The folder goes when ``owner`` is garbage-collected, when :meth:`cleanup` is
    called, or when writing fails.

    Strings are stored as Arrow string views, as polars holds them, so writing is a
    copy of their buffers and reading needs no decoding (1M rows × 8 keys: 0.14 s to
    write, against 0.79 s for an uncompressed Parquet file, and 0.4 s less to read; the
    file is a fifth larger, 296 against 242 MiB: a repetitive key's digests are stored
    once per distinct value of each batch, an other digest once).
    """

    def __init__(self, owner: object) -> None:
        folder = tempfile.mkdtemp(prefix="audframe-")
        self.cleanup = weakref.finalize(owner, shutil.rmtree, folder, ignore_errors=True)
        self.path = Path(folder) / "keys.arrow"
        self.rows_read = 0
        self.rows_kept = 0

    def write(self, batches: Iterable[pl.DataFrame], keys: list[str], hashed: list[str],
              dtypes: Mapping[str, pl.DataType]) -> None:
        """Clean, check, count and store every batch; NotHashedError at the first bad one.

        Every batch must be a DataFrame with the first batch's key columns (``keys``)
        and their ``dtypes`` (a Null column, all missing, goes with any)."""
        writer: pa.ipc.RecordBatchFileWriter | None = None
        try:
            for n, batch in enumerate(batches, 1):
                _same_as_first(n, batch, keys, dtypes)
                self.rows_read += batch.height
                kept = _checked(batch, keys, hashed)
                if not kept.height:
                    continue
                self.rows_kept += kept.height
                table = _arrow_views(kept)
                if writer is None:
                    writer = pa.ipc.new_file(self.path, table.schema)
                writer.write_table(table)
        except BaseException:
            if writer is not None:
                writer.close()
            self.cleanup()
            raise
        if writer is not None:
            writer.close()

    def read(self, rows: int) -> Iterator[pl.DataFrame]:
        """The stored rows in order, ``rows`` at a time (the last block may be shorter).

        Each stored batch is read when it is needed, so memory follows the batches."""
        if not self.rows_kept:
            return iter(())

        def parts() -> Iterator[pl.DataFrame]:
            with pa.OSFile(str(self.path)) as source:
                file = pa.ipc.open_file(source)
                for i in range(file.num_record_batches):
                    part = pl.from_arrow(file.get_batch(i))
                    if isinstance(part, pl.DataFrame):
                        yield part

        return _rechunk(parts(), rows)


#: The dtypes a key column other than LOOKALIKE_VALUE may have besides numbers: its
#: cells are sent as text (a Null column is all missing).
_TEXT_DTYPES = frozenset({pl.String, pl.Categorical, pl.Enum, pl.Null})


def _check_dtypes(keys: list[str], dtypes: Mapping[str, pl.DataType], where: str = "") -> None:
    """Refuse key columns whose dtype cannot be sent: LOOKALIKE_VALUE not numeric, a float
    unhashed key (``1.0`` and ``NaN`` would go as they print), any other key not text,
    integers or decimals (a list, struct, date, binary … would go as polars prints it)."""
    if _LOOKALIKE in keys and not (
        dtypes[_LOOKALIKE].is_numeric() or dtypes[_LOOKALIKE] == pl.Null
    ):
        raise ValidationError(
            f"{where}LOOKALIKE_VALUE has dtype {dtypes[_LOOKALIKE]}; it must be numeric "
            "(call audframe.normalize(...) first)"
        )
    floats = [k for k in keys if k not in (*HASHED_KEYS, _LOOKALIKE) and dtypes[k].is_float()]
    if floats:
        raise ValidationError(
            f"{where}{', '.join(f'{k} has dtype {dtypes[k]}' for k in floats)}; it is sent "
            "as text, where 1.0 and NaN would go as they print: call "
            "audframe.normalize(...) first (whole numbers become digits, NaN missing)"
        )
    odd = [f"{k} has dtype {dtypes[k]}" for k in keys if k != _LOOKALIKE
           and not (dtypes[k].is_numeric() or dtypes[k].base_type() in _TEXT_DTYPES)]
    if odd:
        raise ValidationError(
            f"{where}{', '.join(odd)}; key columns are sent as text (digests, device ids, "
            "extern ids): call audframe.prepare(frame, mapping) first, or cast the column"
        )


def _same_as_first(
    n: int, batch: Any, keys: list[str], dtypes: Mapping[str, pl.DataType]
) -> None:
    """Refuse a later batch that is no DataFrame, or whose key columns or their dtypes
    differ from the first batch's (its checks would not have held for it)."""
    if not isinstance(batch, pl.DataFrame):
        raise TypeError(f"batch {n} is a {type(batch).__name__}; every batch of one upload "
                        "is a hashed polars DataFrame")
    have = key_columns(batch)
    if have != keys:
        raise ValidationError(
            f"batch {n} has the key columns {', '.join(have) or 'none'}, the first batch "
            f"{', '.join(keys)}: every batch of one upload needs the same key columns"
        )
    odd = [f"{k} is {batch.schema[k]}, not {dtypes[k]}" for k in keys
           if batch.schema[k] != dtypes[k] and pl.Null not in (batch.schema[k], dtypes[k])]
    if odd:
        raise ValidationError(f"batch {n}: {'; '.join(odd)} as in the first batch: every "
                              "batch of one upload needs the same dtypes")
    # a column all Null in the first batch takes its dtype here: checked as the first's
    _check_dtypes(keys, batch.schema, where=f"batch {n}: ")


def _arrow_views(frame: pl.DataFrame) -> Any:
    """``frame`` as a pyarrow Table, strings as string views whose buffers hold the
    cells and not much more.

    A slice of a larger frame (a LazyFrame's batches may be) views the buffers of the
    whole, which an IPC file would store again with every slice: a column whose buffers
    hold more than a quarter more than its cells gets buffers of its own (a copy, which
    costs about what the cells cost to write).
    """
    table = frame.to_arrow(compat_level=pl.CompatLevel.newest())
    strings = [k for k, dtype in frame.schema.items() if dtype == pl.String]
    if not strings:
        return table
    cells = frame.select(pl.col(strings).str.len_bytes().sum()).row(0, named=True)
    for k in strings:
        held = sum(b.size for b in _data_buffers(table.column(k)))
        if held > cells[k] + cells[k] // 4:
            own = table.column(k).cast(pa.large_string()).cast(pa.string_view())
            table = table.set_column(table.schema.get_field_index(k), k, own)
    return table


# -- JSON -------------------------------------------------------------------------------

# JSON string escapes, as orjson writes them, for the cells that need escaping
# (EXTERN_ID, MADID): backslash, quote and the C0 control characters.
_SHORT_ESCAPES = {"\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_ESCAPE_FROM = ["\\", '"', *(chr(c) for c in range(0x20))]
_ESCAPE_TO = [
    "\\\\",
    '\\"',
    *(_SHORT_ESCAPES.get(chr(c), f"\\u{c:04x}") for c in range(0x20)),
]


_NEEDS_ESCAPE = r"[\\\"\x00-\x1f]"


def _closings(n: int, size: int, plain: str, inner: str, final: str) -> Any:
    """``n`` strings as a pyarrow ``large_string`` array: ``plain``, but ``inner`` in the
    last row of every ``size``-row chunk and ``final`` in the very last row."""
    text = pa.large_string()
    pieces = []
    for start in range(0, n, size):
        end = min(start + size, n)
        rest = pa.repeat(pa.scalar(plain, text), end - start - 1)
        pieces += [rest, pa.array([inner if end < n else final], text)]
    return pa.concat_arrays(pieces) if pieces else pa.array([], text)


def _join(*parts: Any, separator: str = "") -> Any:
    """``parts`` (arrays, or strings for every row) joined row by row; nulls as ``""``."""
    text = pa.large_string()
    return pc.binary_join_element_wise(
        *(pa.scalar(p, text) if isinstance(p, str) else p for p in parts),
        pa.scalar(separator, text),
        null_handling="replace",
        null_replacement="",
    )


def _json_rows(
    block: pl.DataFrame, keys: list[str], escaped: Iterable[str], size: int, opening: str,
    tail: str,
) -> Any:
    """Every row of a cleaned block as JSON text, in one pyarrow ``large_string`` array
    whose text is the payloads of the block's ``size``-row chunks, one after the other.

    A payload is ``opening`` (its head up to the first row's ``["``), its rows
    ``["cell","cell",…,number]`` (missing cells ``""``) separated by ``,``, then
    ``tail``. Each row's text ends with what follows its closing ``]`` up to the next
    row's first cell: ``,["``, or at the end of a chunk ``tail`` and ``opening`` (the
    very last row: ``tail`` alone); the first row starts with ``opening``. So a chunk's
    payload is contiguous text, which starts ``opening`` before its first row (the
    block's first chunk: at it). ``escaped``: the string keys whose cells hold
    characters JSON must escape. LOOKALIKE_VALUE (the catalogue's last key) is written
    as a number: integral values as integers (``140``, not ``140.0``).

    The string cells go to pyarrow as string views (no copy) and are cast to
    ``large_string``; pyarrow then joins them with ``","`` in one pass. Joining costs
    per part and row, so what comes between two rows' cells (``"],["``, with ``tail``
    and ``opening`` between chunks) is joined to the last cell beforehand rather than
    being a part of its own. As it holds the next row's opening, the first cell needs
    none but in the block's first row, where polars puts it (a copy of that cell and
    of the column's views, not of its text): 0.05 s less per 1M rows of 8 keys than
    joining every row's opening to its first cell.
    """
    escaped = set(escaped)
    strings = [k for k in keys if k != _LOOKALIKE]
    cells = [
        pl.col(k).str.replace_many(_ESCAPE_FROM, _ESCAPE_TO) if k in escaped else pl.col(k)
        for k in strings
    ]
    first = pl.concat_str(pl.lit(opening), cells[0].head(1).fill_null(""))
    cells[0] = first.append(cells[0].slice(1)).alias(strings[0])
    if _LOOKALIKE in keys:
        col = pl.col(_LOOKALIKE)  # Float64, finite or null (see _cleaned)
        exact = (col == col.floor()) & (col.abs() < _EXACT_INT)
        cells.append(
            pl.when(exact)
            .then(col.cast(pl.Int64).cast(pl.String))
            .otherwise(col.cast(pl.String))
            .fill_null('""')
        )
    # The first column comes in two pieces (its first row, the others): rechunking
    # copies their views, not the text.
    table = block.select(cells).rechunk().to_arrow(compat_level=pl.CompatLevel.newest())
    text = pa.large_string()
    columns = [table.column(k).cast(text) for k in strings]
    close = '"]'
    last = [columns[-1]]
    if _LOOKALIKE in keys:
        last += ['",', table.column(_LOOKALIKE).cast(text)]
        close = "]"
    closings = _closings(block.height, size, close + ',["', close + tail + opening, close + tail)
    columns[-1] = _join(*last, closings)
    rows = _join(*columns, separator='","') if len(columns) > 1 else columns[0]
    if isinstance(rows, pa.ChunkedArray):  # combine_chunks copies even a single chunk
        return rows.chunk(0) if rows.num_chunks == 1 else rows.combine_chunks()
    return rows


def _lookalike_list(s: pl.Series) -> list[Any]:
    """LOOKALIKE_VALUE cells (Float64) as JSON numbers: integral ones as ints, missing ``""``."""
    return [
        "" if v is None else (int(v) if v.is_integer() and abs(v) < _EXACT_INT else v)
        for v in s.to_list()
    ]


def _rows(df: pl.DataFrame) -> list[list[Any]]:
    """The rows of a cleaned batch as lists; missing cells ``""``."""
    columns = [
        _lookalike_list(df[c]) if c == _LOOKALIKE else df[c].fill_null("").to_list()
        for c in df.columns
    ]
    return list(map(list, zip(*columns, strict=True)))


_READ_ONCE = ("a Payloads iterator can be consumed only once: call to_payloads(frame, …) "
              "again for another pass (with the same session_id to resend that session)")


class Payloads(Iterator[Chunk]):
    """The chunks of one upload session, as :func:`to_payloads` returns them.

    Iterate it for plain dict chunks, or call :meth:`fields` for the form fields of
    each request (faster: the JSON is built by polars). Either way the frame is
    read once, chunk by chunk; a ``Payloads`` can be iterated only once.

    Attributes
    ----------
    stats : :class:`PayloadStats`, known before the first chunk (rows read,
        dropped without a match key, carried).
    schema : the payload ``schema``, the frame's key columns in catalogue order.
    """

    def __init__(
        self,
        frame: pl.DataFrame | pl.LazyFrame | Iterable[pl.DataFrame],
        *,
        batch_size: int,
        session_id: int | None,
        app_ids: Iterable[int | str] | None,
        page_ids: Iterable[int | str] | None,
    ) -> None:
        sid = _check_options(batch_size, session_id)
        refuse_pandas(frame)
        batches: Iterator[pl.DataFrame] = iter(())
        if isinstance(frame, pl.DataFrame | pl.LazyFrame):
            shape = frame
        else:
            shape, batches = _first_batch(frame)
        keys = key_columns(shape)
        dtypes = shape.collect_schema()
        if not _match_keys(keys):
            raise ValidationError(
                "the frame has no match-key column (EMAIL, PHONE, …; a LOOKALIKE_VALUE "
                f"alone cannot match anyone); its columns are {listed_columns(dtypes.names())}"
                ": hash a normalized frame (audframe.prepare(frame, mapping) does both)"
            )
        _check_dtypes(keys, dtypes)
        self.schema: list[str] = keys
        self._hashed = [k for k in keys if k in HASHED_KEYS]
        self._extra: _Ids = {}
        if app_ids is not None:
            self._extra["app_ids"] = _ids("app_ids", app_ids)
        if page_ids is not None:
            self._extra["page_ids"] = _ids("page_ids", page_ids)

        self._source: pl.DataFrame | _Spool
        if isinstance(frame, pl.DataFrame):
            self._source = _checked(frame, keys, self._hashed)
            read, total = frame.height, self._source.height
        else:
            if isinstance(frame, pl.LazyFrame):
                batches = frame.select(keys).collect_batches(chunk_size=_SPOOL_BATCH_ROWS)
            spool = _Spool(self)
            # The streaming engine hands row-by-row functions (the normalizers) morsels
            # of this many rows; its default (100,000) repeats their fixed costs and
            # finds fewer repeated values per morsel (prepare of a LazyFrame: 2.8 -> 2.2 s
            # per 1M rows; the whole lazy pipeline: 4.95 -> 4.55 s).
            with pl.Config(streaming_chunk_size=ROWS_PER_CHUNK):
                spool.write(batches, keys, self._hashed, dtypes)
            self._source = spool
            read, total = spool.rows_read, spool.rows_kept
        self.stats = PayloadStats(
            session_id=sid,
            rows_read=read,
            rows_dropped=read - total,
            estimated_num_total=total,
            batch_size=batch_size,
        )
        if read - total:
            log.info(
                "to_payloads: dropped %d of %d rows without any match key", read - total, read
            )
        if not total:
            log.warning("to_payloads: no row has a match key; there is nothing to send")
        self._started = False
        self._chunks: Iterator[Chunk] | None = None
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        st = self.stats
        state = "iterated already" if self._started else "not iterated yet"
        dropped = f", {st.rows_dropped:,} dropped without a match key" if st.rows_dropped else ""
        return (
            f"<Payloads of session {st.session_id}: {st.estimated_num_total:,} of "
            f"{st.rows_read:,} rows in {st.batches:,} chunk{'s' * (st.batches != 1)} of up to "
            f"{st.batch_size:,}{dropped}; schema {self.schema}; {state}>"
        )

    # -- the batches -------------------------------------------------------------

    def _blocks(self) -> Iterator[pl.DataFrame]:
        """The rows to send, a whole number of chunks at a time (the last may be short);
        once per Payloads."""
        with self._lock:
            if self._started:
                raise RuntimeError(_READ_ONCE)
            self._started = True
        return _blocks(self._source, self.stats.batch_size)

    def __iter__(self) -> Payloads:
        return self

    def __next__(self) -> Chunk:
        with self._lock:  # threads may share one: each chunk goes to one of them
            if self._chunks is None:
                # Not a method's generator: it would hold this object, which holds it, and
                # the spool would outlive a half-read iterator until the cyclic collector.
                self._chunks = _dict_chunks(self._blocks(), self.stats, self.schema,
                                            self._extra)
            return next(self._chunks)

    def fields(self) -> Iterator[tuple[Session, dict[str, str]]]:
        """Yield ``(session, form_fields)`` per request, the JSON built by polars and pyarrow.

        ``session`` is the chunk's session dict; ``form_fields`` equals
        ``form_fields(chunk)`` of the same chunk, byte for byte. Consumes this
        iterator (use it instead of iterating the dict chunks).
        """
        if self._chunks is not None:
            raise RuntimeError(_READ_ONCE)
        _heap_for_payloads()
        size, last = self.stats.batch_size, self.stats.batches
        schema = orjson.dumps(self.schema).decode()
        extra = orjson.dumps(self._extra).decode()[1:-1]
        # Digests (checked) need no escaping; EXTERN_ID and MADID cells may.
        others = [k for k in self.schema if k not in HASHED_KEYS and k != _LOOKALIKE]
        opening = '{"schema":' + schema + ',"data":[["'
        tail = "]" + ("," + extra if extra else "") + "}"

        def encode(block: pl.DataFrame) -> Any:
            escaped = [k for k in others if block[k].str.contains(_NEEDS_ESCAPE).any()]
            return _json_rows(block, self.schema, escaped, size, opening, tail)

        # A chunk after a block's first starts this many bytes before its first row
        back = len(opening.encode())
        seq = 0
        for rows in _ahead(encode, self._blocks()):
            # A chunk's payload is a slice of the rows' text: one copy, into a str.
            offsets = memoryview(rows.buffers()[1]).cast("q")[rows.offset :]
            text = memoryview(rows.buffers()[2])
            n = len(rows)
            for start in range(0, n, size):
                seq += 1
                session = _session(self.stats, seq, seq == last)
                end = min(start + size, n)
                begin = offsets[start] - back if start else offsets[0]
                stop = offsets[end] - back if end < n else offsets[n]
                payload = str(text[begin:stop], "utf-8")
                yield session, {"payload": payload, "session": orjson.dumps(session).decode()}


def _blocks(source: pl.DataFrame | _Spool, size: int) -> Iterator[pl.DataFrame]:
    """The rows of ``source``, a whole number of ``size``-row chunks at a time; a spool
    is removed once read, or when the reading stops (this generator is closed)."""
    rows = size * max(1, _BLOCK_ROWS // size)
    if isinstance(source, pl.DataFrame):
        yield from source.iter_slices(rows)
        return
    try:
        yield from source.read(rows)
    finally:
        source.cleanup()


def _session(stats: PayloadStats, seq: int, last: bool) -> Session:
    return {
        "session_id": stats.session_id,
        "batch_seq": seq,
        "last_batch_flag": last,
        "estimated_num_total": stats.estimated_num_total,
    }


def _dict_chunks(
    blocks: Iterator[pl.DataFrame], stats: PayloadStats, schema: list[str],
    extra: _Ids,
) -> Iterator[Chunk]:
    """The dict chunks of ``blocks``: a payload and a session each."""
    seq = 0
    for block in blocks:
        for batch in block.iter_slices(stats.batch_size):
            seq += 1
            yield {
                "payload": {"schema": list(schema), "data": _rows(batch), **extra},
                "session": _session(stats, seq, seq == stats.batches),
            }


@functools.cache
def _heap_for_payloads() -> None:
    """Let glibc's malloc serve the payload strings (5 MB each, 8 keys) from its heap.

    glibc maps every allocation above its mmap threshold (128 KiB at first) straight
    from the kernel and unmaps it when freed, so each payload string costs fresh pages:
    57,000 page faults per 1M rows, a quarter of :meth:`Payloads.fields`. Freeing one
    mapped block raises the threshold to that block's size (glibc's own adaptive rule);
    from then on payload strings come from the heap, and each reuses the memory of
    the one before. Elsewhere this only allocates and frees 24 MiB, untouched (calloc).
    """
    bytes(_HEAP_HINT_BYTES)


def _ahead(
    encode: Callable[[pl.DataFrame], Any], blocks: Iterator[pl.DataFrame]
) -> Iterator[Any]:
    """``map(encode, blocks)``, encoding up to :data:`_BLOCKS_AHEAD` blocks ahead.

    The encoding (polars and pyarrow, which release the GIL) runs in worker threads,
    so blocks are encoded on every core while the caller uses the previous ones.

    Closing never waits for the workers: a generator its caller abandons is closed by
    the garbage collector, at any point of any thread (even one that holds the
    interpreter's thread-bookkeeping lock while starting), where joining threads can
    deadlock. Blocks not started are cancelled; one being encoded finishes on its own.
    """
    pool = ThreadPoolExecutor(_BLOCKS_AHEAD, thread_name_prefix="audframe-json")
    pending: deque[Future[Any]] = deque()
    try:
        for block in blocks:
            pending.append(pool.submit(encode, block))
            if len(pending) >= _BLOCKS_AHEAD:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def _first_batch(
    batches: Iterable[pl.DataFrame],
) -> tuple[pl.DataFrame, Iterator[pl.DataFrame]]:
    """The first batch (its columns are the schema) and an iterator over all of them."""
    rest = iter(batches)
    first = next(rest, None)
    if first is None:
        raise ValidationError(
            "no batches, so no columns: even an empty frame comes as one empty batch"
        )
    if not isinstance(first, pl.DataFrame):
        raise TypeError(
            "to_payloads takes a hashed DataFrame or LazyFrame, or an iterable of hashed "
            f"DataFrames; got {type(batches).__name__} of {type(first).__name__}"
        )

    def every() -> Iterator[pl.DataFrame]:
        yield first
        yield from rest

    return first, every()


def to_payloads(
    frame: pl.DataFrame | pl.LazyFrame | Iterable[pl.DataFrame],
    *,
    batch_size: int = MAX_BATCH_SIZE,
    session_id: int | None = None,
    app_ids: Iterable[int | str] | None = None,
    page_ids: Iterable[int | str] | None = None,
) -> Payloads:
    """Turn a hashed frame into Graph API request chunks.

    Parameters
    ----------
    frame : a hashed DataFrame or LazyFrame (see :func:`audframe.hash`), or an
        iterable of hashed DataFrames with the same columns: the batches of one frame
        (see :func:`audframe.stream.hashed_batches`). Its Meta-key columns become the
        ``schema``, in catalogue order; other columns are ignored.
    batch_size : rows per chunk, 1 … 10,000.
    session_id : the Graph ``session_id``, 1 … 2**63 - 1; a random positive 63-bit
        integer if None.
    app_ids, page_ids : added to every payload when given.

    Returns
    -------
    A :class:`Payloads` iterator of dict chunks (see the module docstring). Missing
    cells are ``""``; LOOKALIKE_VALUE stays a number (an integral value is sent as
    an integer). Rows without any match key are dropped: their count is in
    ``.stats.rows_dropped`` and the ``audframe`` log (INFO). ``estimated_num_total``
    is the number of rows the chunks carry; ``last_batch_flag`` is true on the
    last chunk only. A frame without any row to send yields no chunk.

    Raises
    ------
    ValueError
        ``batch_size`` outside 1 … 10,000, or a ``session_id`` that is not a
        positive 63-bit integer (raised by the call, before any chunk).
    ValidationError
        no match-key column, or a LOOKALIKE_VALUE column that is not numeric.
    NotHashedError
        a hashed key holds a cell that is not 64 lowercase hex characters (nor
        blank): raised by the call, before any chunk. For a LazyFrame or batches, the
        counts are those of the first batch holding such cells.
    TypeError
        ``frame`` is neither a frame nor an iterable of DataFrames.

    Notes
    -----
    A LazyFrame (or an iterable of batches) is computed once and never collected
    whole: batch by batch, its key columns are checked and counted, and the rows with
    a match key are written to a temporary Arrow IPC file (digests and unhashed keys
    only, in a private temporary folder), which is then read back a block of chunks
    at a time. The file is deleted when the chunks are exhausted, when writing it
    fails, or when the ``Payloads`` object is dropped. Polars' streaming engine
    decodes Parquet ahead of slow operators (the normalizers), so for a large Parquet
    file :func:`audframe.stream.parquet_payloads` keeps memory lower.

    Examples
    --------
    >>> import polars as pl, audframe
    >>> df = pl.DataFrame({"EMAIL": ["a" * 64, None], "LOOKALIKE_VALUE": [1.5, 2.0]})
    >>> chunks = audframe.to_payloads(df, session_id=7)
    >>> chunks.stats.rows_dropped
    1
    >>> next(chunks)["session"]
    {'session_id': 7, 'batch_seq': 1, 'last_batch_flag': True, 'estimated_num_total': 1}
    """
    return Payloads(
        frame, batch_size=batch_size, session_id=session_id, app_ids=app_ids, page_ids=page_ids
    )


#: The fields a payload may carry besides ``schema`` and ``data`` (Graph API).
_PAYLOAD_FIELDS = frozenset({"schema", "data", "is_raw", "app_ids", "page_ids", "data_source"})


def _check_schema(payload: Mapping[str, Any]) -> list[str]:
    """The payload's schema: Meta keys (the catalogue's names), each once; and no
    field but the Graph API's."""
    schema = payload.get("schema")
    # Exact types, here and below: a subclass may show the check other items than the
    # JSON encoder reads (a list subclass's __getitem__ is not what orjson writes).
    if type(schema) is not list or type(payload.get("data")) is not list:
        raise ValidationError(
            "payload.schema must be a list of keys (the list form, even for one key) and "
            "payload.data a list of rows"
        )
    other = sorted(str(k) for k in payload if k not in _PAYLOAD_FIELDS)
    if other:
        raise ValidationError(
            f"payload holds fields the Graph API does not take: {other}; a payload has "
            f"{sorted(_PAYLOAD_FIELDS)}"
        )
    _check_options_fields(payload)
    unknown = [k for k in schema if not isinstance(k, str) or k not in KEYS]
    if unknown:
        raise ValidationError(
            f"payload.schema holds {unknown!r}, not Meta keys; keys are {', '.join(KEYS)} "
            "(upper case, as audframe.to_payloads writes them)"
        )
    twice = sorted({k for k in schema if schema.count(k) > 1})
    if twice:
        raise ValidationError(f"payload.schema names {', '.join(twice)} more than once")
    return schema


#: ``data_source`` values are Meta's enum names (``FILE_IMPORTED``, ``…_APP_EVENTS``).
_ENUM = re.compile(r"[A-Z][A-Z0-9_]*")


def _check_options_fields(payload: Mapping[str, Any]) -> None:
    """``is_raw`` a bool; ``app_ids`` and ``page_ids`` lists of whole numbers;
    ``data_source`` ``{"type": …, "sub_type": …}`` of Meta's enum names. Nothing else can
    ride along (a raw value among them would leave unhashed)."""
    if "is_raw" in payload and type(payload["is_raw"]) is not bool:
        raise ValidationError("payload.is_raw must be true or false")
    for name in ("app_ids", "page_ids"):
        ids = payload.get(name, [])
        if type(ids) is not list or not all(
            (type(v) is int and v > 0) or (type(v) is str and v.isascii() and v.isdigit())
            for v in ids
        ):
            raise ValidationError(f"payload.{name} must be a list of ids (whole numbers)")
    source = payload.get("data_source", {})
    if type(source) is not dict or not set(source) <= {"type", "sub_type"} or not all(
        type(v) is str and _ENUM.fullmatch(v) for v in source.values()
    ):
        raise ValidationError(
            'payload.data_source must be {"type": …, "sub_type": …} with Meta\'s enum names '
            "(such as FILE_IMPORTED)"
        )


def _bad_cells(key: str, values: list[Any]) -> int:
    """How many cells of ``key`` cannot be sent: not a digest or "" (hashed keys), not a
    number >= 0 or "" (LOOKALIKE_VALUE: not NaN or infinity, which go as ``null``), not a device
    id or "" (MADID: a lowercase UUID, not all zeros), not text or the digest of an empty
    string (EXTERN_ID)."""
    if key in HASHED_KEYS:
        if _all_digests_or_empty(values):
            return 0
        return sum(1 for v in values if not (type(v) is str and _is_digest_or_empty(v)))
    if key == _LOOKALIKE:
        return sum(1 for v in values if not (v == "" if type(v) is str else _is_value(v)))
    if key == "MADID":
        return sum(1 for v in values if not (type(v) is str and (v == "" or _is_device_id(v))))
    return sum(1 for v in values if type(v) is not str or v.strip().lower() == EMPTY_DIGEST)


def check_chunk(chunk: Mapping[str, Any]) -> None:
    """Refuse a chunk that is not what the Graph API takes, or that would send a raw value.

    The payload holds Graph API fields only; its schema names Meta keys, each once;
    every row has a cell per key. Hashed-key cells are 64 lowercase hex or ``""`` (and
    never the digest of an empty string), LOOKALIKE_VALUE cells numbers or ``""``,
    MADID cells device ids (lowercase UUIDs) or ``""``, EXTERN_ID cells text (not the
    digest of an empty string). Cells are checked by their exact type: a ``str``
    subclass may serialize as other text than it shows.

    Raises NotHashedError (hashed keys) or ValidationError naming the keys and counts,
    never the values.
    """
    payload = chunk.get("payload", {})
    if type(payload) is not dict:
        raise ValidationError("a chunk needs a payload dict, as audframe.to_payloads yields")
    schema = _check_schema(payload)
    data = payload["data"]
    if len(data) > MAX_BATCH_SIZE:
        raise ValidationError(
            f"a chunk holds {len(data):,} rows; Meta takes at most {MAX_BATCH_SIZE:,} per "
            "request: make the chunks with audframe.to_payloads(frame, batch_size=10_000)"
        )
    if not data:
        return
    width = len(schema)
    if any(type(r) not in (list, tuple) or len(r) != width for r in data):
        raise ValidationError(
            f"every row of payload.data must be a list (or tuple) of {width} cells, like schema"
        )
    cols = {key: [r[i] for r in data] for i, key in enumerate(schema)}
    bad = {k: n for k, values in cols.items() if (n := _bad_cells(k, values))}
    if "EXTERN_ID" in cols and (
        mail := sum(1 for v in cols["EXTERN_ID"] if type(v) is str and _EMAIL.search(v))
    ):
        raise _extern_id_error(mail)
    unhashed = {k: n for k, n in bad.items() if k in HASHED_KEYS}
    if unhashed:
        listed = ", ".join(f"{k} ({n} cells)" for k, n in unhashed.items())
        raise NotHashedError(
            f"cells that are not SHA-256 digests in {listed}; call audframe.hash(...) first"
        )
    if bad:
        listed = ", ".join(f"{k} ({n} cells)" for k, n in bad.items())
        raise ValidationError(
            f"cells that cannot be sent in {listed}: LOOKALIKE_VALUE takes numbers or "
            '"", MADID device ids (lowercase UUIDs) or "", EXTERN_ID text (not the SHA-256 '
            "of an empty string); normalize the frame with audframe.normalize(...)"
        )
    empty = {k: n for k in HASHED_KEYS & cols.keys() if (n := cols[k].count(EMPTY_DIGEST))}
    if empty:
        listed = ", ".join(f"{k} ({n} cells)" for k, n in empty.items())
        raise NotHashedError(
            f"cells that are the SHA-256 of an empty string in {listed}; a missing cell is "
            'sent as "" (audframe.to_payloads does so)'
        )


def _is_value(v: Any) -> bool:
    """A LOOKALIKE_VALUE cell Meta takes: an int or a finite float, not negative (NaN and
    infinity would go as ``null``)."""
    return (type(v) is int or (type(v) is float and math.isfinite(v))) and v >= 0


def _is_digest_or_empty(v: str) -> bool:
    """The DIGEST pattern (or ""), checked by hand: faster than a regex on Python strings."""
    return v == "" or (len(v) == 64 and not v.encode().translate(None, _HEX_DIGITS))


def _all_digests_or_empty(values: list[Any]) -> bool:
    """Whether every value is a ``str`` of 64 lowercase hex characters or ``""``: their
    text joined is checked at once (a non-ASCII character encodes to other bytes)."""
    if not all(type(v) is str and len(v) in (0, 64) for v in values):
        return False
    return not "".join(values).encode().translate(None, _HEX_DIGITS)


_DEVICE_ID = re.compile(PATTERNS["MADID"])
_EMAIL = re.compile(EMAIL_SHAPED)


def _is_device_id(v: str) -> bool:
    return _DEVICE_ID.fullmatch(v) is not None and v != ZERO_UUID  # "…\n" is none


def form_fields(chunk: Mapping[str, Any]) -> dict[str, str]:
    """The form fields a POST sends for one chunk: ``payload`` and ``session`` as compact JSON.

    orjson writes them: about 2 ms for 10,000 rows of 8 keys.
    """
    return {
        "payload": orjson.dumps(chunk["payload"]).decode(),
        "session": orjson.dumps(chunk["session"]).decode(),
    }
