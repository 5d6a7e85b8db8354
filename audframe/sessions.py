"""The Graph sessions of one upload: which session a batch goes in, under which ``batch_seq``.

Internal to :class:`audframe.Sender`. Meta closes a session 90 minutes after its first
batch. :class:`Sessions` opens the upload's first session (the journal's, the caller's,
the input's or a random id), and before the window ends moves the rest into a new one:
an add or remove goes on as it was; a replace whose batch 1 was accepted goes on as adds
(the audience holds what the replace received). Every session is journaled.
"""

from __future__ import annotations

import bisect
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from audframe.errors import JournalError
from audframe.journal import AckedBatch, Journal, JournalSession
from audframe.payloads import new_session_id

__all__ = ["SESSION_MARGIN", "SESSION_WINDOW", "Segment", "Sessions"]

log = logging.getLogger("audframe")

#: Meta ends a session this many seconds after its first batch.
SESSION_WINDOW: Final = 90 * 60.0
#: A session is left for a new one this many seconds before its window ends.
SESSION_MARGIN: Final = 5 * 60.0


@dataclass
class Segment:
    """One Graph session of the current call; ``skip`` holds the input positions acked
    in earlier sessions, which the ``batch_seq`` numbering of this one leaves out."""

    n: int
    session_id: int
    operation: str
    started_at: float | None
    skip: list[int] = field(default_factory=list)
    estimated: int | None = None  # rows this session is expected to carry

    def seq(self, index: int) -> int:
        return index + 1 - bisect.bisect_left(self.skip, index)

    def expired(self, now: float) -> bool:
        return (
            self.started_at is not None
            and now >= self.started_at + SESSION_WINDOW - SESSION_MARGIN
        )

    def fields(self, index: int, last: bool) -> dict[str, Any]:
        """The ``session`` form field of the batch at input position ``index``."""
        session: dict[str, Any] = {
            "session_id": self.session_id,
            "batch_seq": self.seq(index),
            "last_batch_flag": last,
        }
        if self.estimated is not None:
            session["estimated_num_total"] = self.estimated
        return session


class Sessions:
    """The sessions of one upload, read from and written to its journal.

    ``acked`` is shared with the caller, which adds every acknowledged batch to it.
    """

    def __init__(
        self, journal: Journal, operation: str, requested: int | None,
        acked: Mapping[int, AckedBatch],
    ) -> None:
        self.journal = journal
        self.operation = operation
        self.acked = acked
        self.all: list[JournalSession] = journal.sessions()
        if self.all and requested is not None and requested != self.all[0].session_id:
            raise JournalError(
                f"journal {journal.path} continues session {self.all[0].session_id},"
                f" not session_id={requested}; drop session_id= to resume, or "
                "pass a new journal path"
            )
        #: The session id the upload starts (or resumes) in, when already known.
        self.wanted = self.all[0].session_id if self.all else requested
        self.total_rows: int | None = None
        self._current: Segment | None = None

    @property
    def current(self) -> Segment:
        assert self._current is not None, "open() first"
        return self._current

    def open(self, total_rows: int | None, input_session_id: int | None) -> None:
        """Start or resume the upload's last session. ``total_rows``: the rows the whole
        input carries, if known; ``input_session_id``: the input's own session id."""
        self.total_rows = total_rows
        if not self.all:
            sid = self.wanted if self.wanted is not None else input_session_id
            if sid is None:
                sid = new_session_id()
            self.all.append(self.journal.add_session(sid, self.operation))
        last = self.all[-1]
        skip = sorted(i for i, b in self.acked.items() if b.session_n < last.n)
        self._current = Segment(last.n, last.session_id, last.operation, last.started_at,
                                skip, self._remaining(skip))

    def _remaining(self, skip: list[int]) -> int | None:
        if self.total_rows is None:
            return None
        return max(self.total_rows - sum(self.acked[i].rows for i in skip), 0)

    def start(self, now: float) -> None:
        """Record the current session's first send, once."""
        segment = self.current
        if segment.started_at is None:
            segment.started_at = now
            self.journal.mark_started(segment.n, now)

    def rotate(self, audience_id: str) -> None:
        """Leave an expiring session: continue in a new one (a replace goes on as adds)."""
        old = self.current
        operation = old.operation
        if operation == "replace" and 0 in self.acked:
            operation = "add"
        session = self.journal.add_session(new_session_id(), operation)
        self.all.append(session)
        skip = sorted(self.acked)
        self._current = Segment(session.n, session.session_id, operation, None, skip,
                                self._remaining(skip))
        log.info("session %d of audience %s reached Meta's 90-minute window after %d "
                 "batches; the rest continues in session %d (%s)", old.session_id,
                 audience_id, len(self.acked), session.session_id, operation)
