"""The resumable upload journal: a small SQLite file that survives a crash, even ``kill -9``.

One journal belongs to one call (``add``, ``remove`` or ``replace``) on one audience with
one input. It records

- ``meta``: the operation, the audience, a fingerprint of the input and whether the
  upload completed;
- ``sessions``: every Graph session the upload used, in order (a second one appears when
  Meta's 90-minute window ran out), with the time its first batch was sent;
- ``batches``: every acknowledged batch: its position in the input, the session and
  ``batch_seq`` it was sent under, its row count, a SHA-256 digest of its payload, the
  attempts it took and Meta's response.

Each acknowledgement is committed to the file itself before the next batch is scheduled
(SQLite's rollback journal, full sync: the file alone holds every acknowledgement, even
after ``kill -9``, and can be copied), so a rerun of the same call skips exactly what
Meta acknowledged. An open journal is locked (``<journal>.lock``, released when it is
closed or its process ends): a second upload on the same journal is refused before it
sends anything. The journal never holds the access token, the app secret or the
payloads; Meta's responses are kept as sent, and their ``invalid_entry_samples`` may
quote a few sent cells (digests, or the unhashed MADID and EXTERN_ID values).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Final

import orjson

from audframe.errors import JournalError

__all__ = ["AckedBatch", "Journal", "JournalSession"]

_VERSION: Final = "1"
_UPSERT: Final = (
    "INSERT INTO meta (key, value) VALUES (?, ?) "
    "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
)

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    n          INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL,
    operation  TEXT NOT NULL,
    started_at REAL
);
CREATE TABLE IF NOT EXISTS batches (
    idx       INTEGER PRIMARY KEY,
    session_n INTEGER NOT NULL REFERENCES sessions (n),
    seq       INTEGER NOT NULL,
    rows      INTEGER NOT NULL,
    digest    TEXT NOT NULL,
    attempts  INTEGER NOT NULL,
    seconds   REAL NOT NULL,
    response  TEXT NOT NULL,
    acked_at  REAL NOT NULL
);
"""


@dataclass(frozen=True)
class JournalSession:
    """One Graph session of an upload.

    ``n`` counts the sessions of the upload from 1; ``operation`` is the edge it used
    (``"add"``, ``"remove"`` or ``"replace"``); ``started_at`` is the wall-clock time its
    first batch was sent, ``None`` while nothing was sent.
    """

    n: int
    session_id: int
    operation: str
    started_at: float | None


@dataclass(frozen=True)
class AckedBatch:
    """A batch Meta acknowledged.

    ``index`` is the 0-based position of the chunk in the input; ``session_n`` and
    ``seq`` say under which session and ``batch_seq`` it was accepted.
    """

    index: int
    session_n: int
    seq: int
    rows: int
    digest: str
    attempts: int
    seconds: float
    response: dict[str, Any] = field(default_factory=dict)
    acked_at: float = 0.0


class Journal:
    """A SQLite upload journal at ``path``, created when missing.

    Parameters
    ----------
    path:
        The journal file. Its directory must exist.

    Raises
    ------
    JournalError
        When the file is not an audframe journal, cannot be opened or written, is
        damaged, or is open in another upload.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "upload.sqlite"
    >>> with Journal(path) as journal:
    ...     journal.bind(operation="add", audience_id="1")
    ...     journal.sessions()
    []
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = None if str(path) == ":memory:" else _Lock(self.path)
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None)
        except sqlite3.Error as exc:
            self._unlock()
            raise self._unusable(exc) from exc
        try:
            self._open()
        except BaseException:
            self.close()
            raise

    def _open(self) -> None:
        try:
            tables = {name for (name,) in self._db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}
            if tables - {"meta", "sessions", "batches"} or (tables and "meta" not in tables):
                raise JournalError(
                    f"{self.path} is a SQLite database but not an audframe journal; pass a "
                    "path to a new file or to a journal audframe wrote"
                )
            if self._db.execute("PRAGMA quick_check").fetchone() != ("ok",):
                raise JournalError(f"journal {self.path} is damaged; start over with a new path")
            self._db.execute("PRAGMA journal_mode=DELETE")  # the file alone is the journal
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
            version = self._get("version")
            if version is not None and version != _VERSION:
                raise JournalError(
                    f"{self.path} is an audframe journal of format {version}, this version "
                    f"reads format {_VERSION}; finish it with the audframe version that "
                    "wrote it, or use a new journal path"
                )
            # a real write (a new value), to find out now if it cannot be
            self._db.executemany(
                _UPSERT, [("version", _VERSION), ("opened_at", repr(time.time()))]
            )
        except sqlite3.Error as exc:
            raise self._unusable(exc) from exc

    def _unusable(self, exc: sqlite3.Error) -> JournalError:
        return JournalError(
            f"{self.path} cannot be used as an upload journal ({exc}); "
            "pass a path to a new file (in a writable folder) or to a journal audframe wrote"
        )

    @contextlib.contextmanager
    def _write(self) -> Iterator[None]:
        """One transaction; a failure to write (disk full, read-only) is a JournalError.

        Begun explicitly: the connection autocommits (``isolation_level=None``), where
        ``with connection:`` begins nothing, and each statement would commit alone (a
        crash between two would keep half of an acknowledgement).
        """
        try:
            self._db.execute("BEGIN IMMEDIATE")
            yield
            self._db.commit()
        except BaseException as exc:
            if self._db.in_transaction:  # nothing half-done stays, for this write or the next
                self._db.rollback()
            if not isinstance(exc, sqlite3.Error):
                raise
            raise JournalError(
                f"journal {self.path} could not be written ({exc}); what Meta acknowledged "
                "since is not recorded: free space or fix permissions, then rerun with the "
                "same journal (a last batch already applied is found in Meta's session "
                "status, other batches may be sent again)"
            ) from exc

    def _unlock(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def __repr__(self) -> str:
        return f"Journal({str(self.path)!r})"

    def __enter__(self) -> Journal:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the database connection and release the lock."""
        self._db.close()
        self._unlock()

    # -- meta -----------------------------------------------------------------

    def _get(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def _set(self, key: str, value: str) -> None:
        with self._write():
            self._db.execute(_UPSERT, (key, value))

    def bind(self, *, operation: str, audience_id: str) -> None:
        """Tie a new journal to an operation and audience, or check an existing one.

        Raises
        ------
        JournalError
            When the journal was written for another operation or audience.
        """
        if self._get("operation") is None:  # a new journal: it records the last batch
            self._set("records_last", "1")
        for key, value in (("operation", operation), ("audience_id", audience_id)):
            stored = self._get(key)
            if stored is None:
                self._set(key, value)
            elif stored != value:
                raise JournalError(
                    f"journal {self.path} belongs to {key} {stored!r}, not {value!r}; "
                    "pass a new journal path for this upload, or rerun the call that "
                    "wrote it"
                )

    def check_fingerprint(self, fingerprint: str, *, first_rows: int | None = None) -> None:
        """Store the input's fingerprint, or check it against the stored one.

        ``first_rows``: the rows of the input's first batch, stored and checked first, so
        that an input cut into batches of another size is named as such.

        Raises
        ------
        JournalError
            When the journal was written for other data, or in batches of another size.
        """
        stored_rows = self._get("first_batch_rows")
        if first_rows is not None and stored_rows is None:
            self._set("first_batch_rows", str(first_rows))
        elif first_rows is not None and stored_rows != str(first_rows):
            shorter = first_rows < int(stored_rows or 0)  # a smaller input, or smaller batches
            raise JournalError(
                f"journal {self.path} was written for batches of {int(stored_rows or 0):,} "
                f"rows, this input's first batch has {first_rows:,}"
                f"{' (other data, or another batch size)' if shorter else ''}; rerun with "
                "the input and batch size (--batch-size, batch_size=) that started it, or "
                "pass a new journal path"
            )
        stored = self._get("fingerprint")
        if stored is None:
            self._set("fingerprint", fingerprint)
        elif stored != fingerprint:
            raise JournalError(
                f"journal {self.path} was written for other data (input fingerprint "
                f"{stored[:12]}…, this input {fingerprint[:12]}…); rerun with the exact "
                "input that started it, or pass a new journal path"
            )

    @property
    def completed(self) -> bool:
        """Whether the upload this journal records has finished."""
        return self._get("completed_at") is not None

    @property
    def records_last(self) -> bool:
        """Whether this journal records the input's last batch (see :attr:`last_batch`);
        one an earlier audframe version started does not."""
        return self._get("records_last") is not None

    @property
    def last_batch(self) -> int | None:
        """The input position of the input's last batch once Meta acknowledged it (the
        input ends there), else None."""
        stored = self._get("last_batch")
        if stored is not None:
            return int(stored)
        if self.completed:  # a journal written before the position was recorded
            return max(self.acked(), default=None)
        return None

    def note_sent_once(self, session_n: int, index: int, when: float) -> None:
        """Record, before it is sent, when a batch that must reach its session once (the
        last, a replace's batch 1) was sent: a rerun right after a crash waits for that
        request to end before asking Meta whether it was applied (see
        :meth:`sent_once_at`)."""
        self._set("sent_once", orjson.dumps([session_n, index, when]).decode())

    def sent_once_at(self, session_n: int, index: int) -> float | None:
        """When an earlier run last sent the batch at input position ``index`` in the
        journal's session ``session_n`` as one that must go once, if it did (see
        :meth:`note_sent_once`), else None."""
        stored = self._get("sent_once")
        if stored is None:
            return None
        try:
            n, i, when = orjson.loads(stored)
        except (orjson.JSONDecodeError, TypeError, ValueError) as exc:
            raise JournalError(f"journal {self.path} is damaged ({exc}); start over with a "
                               "new path") from None
        return float(when) if (n, i) == (session_n, index) else None

    def mark_completed(self, when: float | None = None) -> None:
        """Record that every batch was acknowledged."""
        self._set("completed_at", repr(time.time() if when is None else when))

    # -- sessions -------------------------------------------------------------

    def sessions(self) -> list[JournalSession]:
        """Return the upload's sessions, oldest first."""
        rows = self._db.execute(
            "SELECT n, session_id, operation, started_at FROM sessions ORDER BY n"
        ).fetchall()
        return [JournalSession(int(n), int(s), str(op), st) for n, s, op, st in rows]

    def add_session(self, session_id: int, operation: str) -> JournalSession:
        """Record a new session (not started yet) and return it."""
        with self._write():
            cur = self._db.execute(
                "INSERT INTO sessions (session_id, operation) VALUES (?, ?)",
                (session_id, operation),
            )
        n = cur.lastrowid
        assert n is not None
        return JournalSession(n, session_id, operation, None)

    def mark_started(self, n: int, started_at: float) -> None:
        """Record the time the first batch of session ``n`` was sent."""
        with self._write():
            self._db.execute(
                "UPDATE sessions SET started_at = ? WHERE n = ? AND started_at IS NULL",
                (started_at, n),
            )

    # -- batches --------------------------------------------------------------

    def acked(self) -> dict[int, AckedBatch]:
        """Return the acknowledged batches by their input position."""
        rows = self._db.execute(
            "SELECT idx, session_n, seq, rows, digest, attempts, seconds, response, acked_at "
            "FROM batches ORDER BY idx"
        ).fetchall()
        try:
            return self._acked(rows)
        except (TypeError, ValueError) as exc:  # orjson's decode error is a ValueError
            raise JournalError(
                f"journal {self.path} is damaged (an acknowledged batch's record cannot be "
                "read); start over with a new path"
            ) from exc

    @staticmethod
    def _acked(rows: list[Any]) -> dict[int, AckedBatch]:
        return {
            int(r[0]): AckedBatch(
                index=int(r[0]),
                session_n=int(r[1]),
                seq=int(r[2]),
                rows=int(r[3]),
                digest=str(r[4]),
                attempts=int(r[5]),
                seconds=float(r[6]),
                response=orjson.loads(r[7]),
                acked_at=float(r[8]),
            )
            for r in rows
        }

    def ack(self, batch: AckedBatch, *, last: bool = False) -> None:
        """Record an acknowledged batch and commit at once; ``last``: it is the input's
        last batch (recorded in the same commit, see :attr:`last_batch`).

        The same batch recorded again is left as it is: an upload interrupted between
        journaling an acknowledgement and noting it journals it again on its way out.
        Another batch under the same input position is a JournalError.
        """
        with self._write():
            if last:
                self._db.execute(_UPSERT, ("last_batch", str(batch.index)))
            added = self._db.execute(
                "INSERT INTO batches "
                "(idx, session_n, seq, rows, digest, attempts, seconds, response, acked_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (idx) DO NOTHING",
                (
                    batch.index,
                    batch.session_n,
                    batch.seq,
                    batch.rows,
                    batch.digest,
                    batch.attempts,
                    batch.seconds,
                    orjson.dumps(batch.response).decode(),
                    batch.acked_at,
                ),
            ).rowcount
        same = (batch.session_n, batch.seq, batch.rows, batch.digest)
        if not added and self._db.execute(
            "SELECT session_n, seq, rows, digest FROM batches WHERE idx = ?", (batch.index,)
        ).fetchone() != same:
            raise JournalError(
                f"journal {self.path} recorded batch {batch.index + 1} acknowledged "
                "already, with other data; start over with a new journal path"
            )


class _Lock:
    """An exclusive lock on ``<journal>.lock``, held while a journal is open.

    The operating system drops it when its process ends (even ``kill -9``), so it never
    goes stale. Where file locks are unavailable, nothing is locked. A journal reached
    through a symbolic link is locked under its real path, as through any other.
    """

    def __init__(self, journal: Path) -> None:
        real = journal.resolve()
        self.path = real.with_name(real.name + ".lock")
        try:
            self._fd: int | None = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError:
            self._fd = None  # an unwritable folder: the journal itself says so
            return
        try:
            _try_lock(self._fd)
        except BlockingIOError:
            os.close(self._fd)
            self._fd = None
            raise JournalError(
                f"journal {journal} is in use by another upload (locked: {self.path}); "
                "wait for it to end, or pass another journal path"
            ) from None

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing drops the lock
            self._fd = None


def _try_lock(fd: int) -> None:
    """Lock ``fd`` exclusively without waiting; BlockingIOError when it is taken."""
    if sys.platform == "win32":
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError as exc:
            raise BlockingIOError(str(exc)) from None
    else:
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
