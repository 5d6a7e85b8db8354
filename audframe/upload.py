"""One ``add``/``remove``/``replace`` call: the batches sent in order, acknowledged, journaled.

Internal to :class:`audframe.Sender`. The rules of the send loop:

- the first batch of a session goes alone (a bad token or audience fails after one
  request, and a replace's batch 1 must be acknowledged before any other); then up to
  ``concurrency`` batches are in flight, and the next batch is built while they are, so
  a slot that frees is refilled at once;
- the batch with ``last_batch_flag`` goes last, alone, once every other batch was
  acknowledged, and exactly once: like a replace's batch 1 (a second one restarts the
  replace), when an attempt gets no reply it is sent again only if the session's status
  shows Meta did not count it (a status that cannot be read stops the upload), and a
  rerun that may follow its sending (the journal holds every batch before it) asks the
  status before sending it;
- when the session nears Meta's 90-minute window, the batches in flight settle and the
  rest goes into a new session (see :mod:`audframe.sessions`); a batch whose window ran
  out between its attempts is sent again in the new session;
- a fatal failure stops every worker before its next attempt and no new batch starts;
  what was acknowledged meanwhile is still journaled;
- batches a journal recorded as acknowledged are skipped (their digests must match).
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, Final, Literal

import orjson

from audframe.batches import Batch, batches
from audframe.errors import AudframeError, JournalError, TransportError, ValidationError
from audframe.journal import AckedBatch, Journal
from audframe.payloads import check_session_id
from audframe.progress import Progress, ProgressSetting
from audframe.sessions import Segment, Sessions
from audframe.transport import Aborted, Expired, Transport
from audframe.upload_report import SAMPLES_MAX, UploadReport, build_report

__all__ = ["Operation", "Upload"]

log = logging.getLogger("audframe")

Operation = Literal["add", "remove", "replace"]
_EDGES: Final[dict[str, tuple[str, str]]] = {
    "add": ("POST", "users"),
    "remove": ("DELETE", "users"),
    "replace": ("POST", "usersreplace"),
}


@dataclass(frozen=True)
class _Sent:
    response: dict[str, Any]
    segment: Segment
    seq: int
    attempts: int
    seconds: float


class Upload:
    """The state of one add/remove/replace call; :meth:`run` it once."""

    def __init__(
        self,
        transport: Transport,
        operation: Operation,
        audience_id: str,
        journal: Journal,
        *,
        session_id: int | None,
        concurrency: int,
        progress: ProgressSetting,
        clock: Callable[[], float],
    ) -> None:
        self.transport = transport
        self.operation = operation
        self.audience_id = audience_id
        self.journal = journal
        self.requested_session = session_id
        self.concurrency = concurrency
        self.progress_setting = progress
        self.clock = clock
        self.retries: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.abort = threading.Event()
        self.acked: dict[int, AckedBatch] = {}
        self.resumed: set[int] = set()
        self.progress = Progress(False, None, "")
        # the send loop
        self._source: Iterator[Batch] = iter(())
        self._requeue: deque[Batch] = deque()  # sent, but the session expired first
        self._held_last: Batch | None = None
        self._ahead: Batch | None = None  # read from the input while others were in flight
        self._inflight: dict[Future[_Sent], Batch] = {}
        self._gate: Batch | None = None  # the first batch of a session, alone in flight
        self._probe = False  # the next batch sent opens a session
        self._started_before: set[int] = set()  # sessions an earlier run sent to
        self._sent_any = False  # this run had a batch acknowledged

    def run(self, data: Any, batch_size: int) -> UploadReport:
        started = time.monotonic()
        self.journal.bind(operation=self.operation, audience_id=self.audience_id)
        self.acked.update(self.journal.acked())
        self.sessions = Sessions(self.journal, self.operation, self.requested_session,
                                 self.acked)
        source = batches(data, self.sessions.wanted, batch_size)
        first = next(source, None)
        if first is None and self.acked:
            raise JournalError(
                f"journal {self.journal.path} recorded {len(self.acked)} batches, and this "
                "input is empty, so it is other data and nothing was sent: rerun with the "
                "exact input that started the journal, or pass a new journal path"
            )
        if first is None:
            if self.operation == "replace":
                raise ValidationError(
                    "replace needs at least one row: an empty replace cannot be sent; to "
                    "empty an audience, remove its users"
                )
            log.info("%s audience %s: no rows to send", self.operation, self.audience_id)
        else:
            self._open(first)
            try:
                self._dispatch(self._checked_against_journal(itertools.chain([first], source)))
            finally:
                self.progress.close()
        if self.acked:
            self.journal.mark_completed(self.clock())
        report = build_report(
            operation=self.operation, audience_id=self.audience_id,
            sessions=self.sessions.all, acked=self.acked, resumed=self.resumed,
            retries=self.retries, elapsed=time.monotonic() - started,
            session_id=self.sessions.wanted,
        )
        log.info("%s audience %s: %d rows in %d batches, %d retries, %.2f s",
                 self.operation, self.audience_id, report.rows, report.batches,
                 report.total_retries, report.elapsed)
        return report

    def _open(self, first: Batch) -> None:
        """Check the input against the journal, open the session, start the progress."""
        own = first.session.get("session_id")
        if own is not None and self.requested_session is None:  # refused before a request
            check_session_id(own, name="the chunks' session.session_id")  # fails with 100
        estimated = first.session.get("estimated_num_total")
        total = int(estimated) if isinstance(estimated, int) else None
        self.journal.check_fingerprint(hashlib.sha256(orjson.dumps(
            [list(first.schema), total, first.digest])).hexdigest(), first_rows=first.rows)
        self.sessions.open(total, own if self.requested_session is None else None)
        # Sessions an earlier run sent to: the last batch (or a replace's batch 1) that run
        # sent may have been applied just before a crash, unjournaled.
        self._started_before = {s.n for s in self.sessions.all if s.started_at is not None}
        self.progress = Progress(self.progress_setting, total,
                                 f"{self.operation} {self.audience_id}")

    # -- one batch (in a worker thread) --------------------------------------------

    def _count_retry(self, reason: str) -> None:
        with self.lock:
            self.retries[reason] += 1

    def _send(self, batch: Batch, segment: Segment, sent_earlier: float | None) -> _Sent:
        """Send one batch (in a worker thread). ``sent_earlier``: when an earlier run sent
        this send-once batch in ``segment``, if it did."""
        session = segment.fields(batch.index, batch.last)
        seq = session["batch_seq"]
        method, edge = _EDGES[segment.operation]
        once = self._once(batch, segment)
        check_first = self._sent_before(batch, segment)
        # The earlier run's request may still be at work on the server (a rerun right
        # after a crash): Meta's status is asked once it has had the time a reply gets.
        wait_first = 0.0
        if check_first and sent_earlier is not None:
            # (at most that long: a clock set back, or a journal from another machine)
            settle = self.transport.settle
            wait_first = min(settle, max(0.0, sent_earlier + settle - self.clock()))
            if wait_first > 0:  # shown: a silent minute looks like a hang
                log.warning("batch %d of session %d: the run that stopped sent it moments "
                            "ago; Meta's status is asked in %.0f s, once its reply would "
                            "have come", seq, segment.session_id, wait_first)
        started = time.monotonic()
        try:
            response, attempts = self.transport.call(
                method, f"{self.audience_id}/{edge}",
                data={"payload": batch.payload, "session": orjson.dumps(session).decode()},
                what=f"batch {seq} of session {segment.session_id}",
                on_retry=self._count_retry, abort=self.abort,
                expired=lambda: segment.expired(self.clock()),
                confirm=(lambda: self._counted(batch, segment)) if once else None,
                check_first=check_first, wait_first=wait_first,
            )
        except (Expired, Aborted):
            raise
        except BaseException:
            self.abort.set()  # the other workers stop before their next attempt
            raise
        return _Sent(response, segment, seq, attempts, time.monotonic() - started)

    @staticmethod
    def _once(batch: Batch, segment: Segment) -> bool:
        """Whether the batch must reach the session once: its last, or a replace's batch 1."""
        return batch.last or (segment.operation == "replace" and segment.seq(batch.index) == 1)

    def _sent_before(self, batch: Batch, segment: Segment) -> bool:
        """Whether an earlier run may have sent this send-once batch in ``segment``
        (Meta applied it, the run stopped before journaling it). It sent it only if it
        sent every batch before it: then this run, which skips what the journal holds,
        has had none acknowledged yet."""
        return (self._once(batch, segment) and segment.n in self._started_before
                and not self._sent_any)

    def _counted(self, batch: Batch, segment: Segment) -> dict[str, Any] | None:
        """For a batch that must be sent once and may have been applied (no reply, or an
        earlier run): whether the session's status counts it (then a response built from
        the status), ``None`` when it does not.

        Raises TransportError when the status cannot be read: sending the batch again
        could apply it twice, so the upload stops (a rerun with the journal asks again).
        """
        what = f"batch {segment.seq(batch.index)} of session {segment.session_id}"
        try:
            body, _ = self.transport.call(
                "GET", f"{self.audience_id}/sessions",
                params={"session_id": str(segment.session_id)},
                what=f"status of session {segment.session_id}", abort=self.abort,
            )
        except AudframeError as exc:
            raise TransportError(
                f"{what} may have been applied and must be sent once, but the session's "
                f"status could not be read ({str(exc).split(' — ')[0]}); it was not sent "
                "again: rerun later with the same journal to ask again"
            ) from exc
        data = body.get("data")
        status = data[0] if isinstance(data, list) and data and isinstance(data[0], dict) else {}
        before = [b for b in list(self.acked.values()) if b.session_n == segment.n]
        received = status.get("num_received")
        expected = sum(b.rows for b in before) + batch.rows
        if not ((isinstance(received, int) and received >= expected)
                or (batch.last and status.get("stage") == "finished")):
            return None
        invalid = status.get("num_invalid_entries")
        invalid_before = sum(n for b in before
                             if isinstance(n := b.response.get("num_invalid_entries"), int))
        return {
            "audience_id": self.audience_id,
            "session_id": str(segment.session_id),
            "num_received": received,
            "num_invalid_entries": max(invalid - invalid_before, 0)
            if isinstance(invalid, int) else None,
            "invalid_entry_samples": {},
        }

    def _ack(self, batch: Batch, sent: _Sent, *, report: bool = True) -> None:
        """Journal an acknowledged batch, then (``report``) count it in the progress."""
        samples = sent.response.get("invalid_entry_samples")
        kept = {
            "audience_id": sent.response.get("audience_id"),
            "session_id": sent.response.get("session_id"),
            "num_received": sent.response.get("num_received"),
            "num_invalid_entries": sent.response.get("num_invalid_entries"),
            "invalid_entry_samples": dict(list(samples.items())[:SAMPLES_MAX])
            if isinstance(samples, dict) else {},
        }
        acked = AckedBatch(
            index=batch.index, session_n=sent.segment.n, seq=sent.seq, rows=batch.rows,
            digest=batch.digest, attempts=sent.attempts, seconds=sent.seconds,
            response=kept, acked_at=self.clock(),
        )
        self.journal.ack(acked, last=batch.last)
        self.acked[batch.index] = acked
        self._sent_any = True
        if report:  # a progress callback may raise: the batch is journaled already
            self.progress.update(batch.rows)
        log.debug("batch %d of session %d: %d rows acknowledged after %d attempt(s) in "
                  "%.3f s", sent.seq, sent.segment.session_id, batch.rows, sent.attempts,
                  sent.seconds)

    # -- the send loop --------------------------------------------------------------

    def _take(self) -> Batch | None:
        """The next batch to send (None: nothing more for now): a requeued one, else the
        one read ahead, else the next of the input."""
        if self._requeue:
            return self._requeue.popleft()
        if self._ahead is not None:
            batch, self._ahead = self._ahead, None
            return batch
        return self._read()

    def _read_ahead(self) -> None:
        """While batches are in flight, build the next one (its payload JSON), so that
        it goes as soon as a slot frees instead of after being built."""
        if self._ahead is None and self._inflight and not self.abort.is_set():
            self._ahead = self._read()

    def _checked_against_journal(self, source: Iterator[Batch]) -> Iterator[Batch]:
        """The input without what the journal recorded. On a resume, the input up to the
        last recorded batch is read and checked before anything is sent: other data is
        refused (JournalError) before a request goes. Recorded batches count as resumed;
        the others among them (the few in flight when the earlier run stopped) are kept,
        in order, to be sent first."""
        if not self.acked:
            return source
        last = max(self.acked)
        ended = self.journal.last_batch
        # (a journal an earlier version started cannot tell a shorter input)
        length = ended is not None or self.journal.records_last
        kept = []
        for batch in source:
            done = self.acked.get(batch.index)
            if done is None:
                kept.append(batch)
            elif done.digest != batch.digest:
                raise JournalError(
                    f"journal {self.journal.path} recorded other data for batch "
                    f"{batch.index + 1} than this input holds; nothing of it was sent: "
                    "rerun with the exact input that started the journal, or pass a new "
                    "journal path"
                )
            else:
                self.resumed.add(batch.index)
                self.progress.update(batch.rows)
            if batch.index >= last:
                if length and batch.last == (ended is None):
                    raise self._other_length(batch, ended)
                return itertools.chain(kept, source)
        if length:
            raise self._other_length(None, ended)
        return iter(kept)

    def _other_length(self, at: Batch | None, ended: int | None) -> JournalError:
        """The input ends elsewhere than the journal's: ``at`` (the batch at the last
        recorded position, None when the input ends before it) has more after it where
        the journal's upload ended (at ``ended``), or ends the input where that went on.
        Sending would lose rows, or leave the session without its last batch."""
        recorded = max(self.acked) + 1
        was = (f"an upload that ended with batch {recorded}" if ended is not None
               else f"batches up to {recorded} of an upload that went on")
        now = ("holds more batches" if at is not None and not at.last else
               f"ends with batch {recorded}" if at is not None else
               f"ends before batch {recorded}")
        return JournalError(
            f"journal {self.journal.path} recorded {was}; this input {now}, so it is other "
            "data and nothing of it was sent: rerun with the exact input that started the "
            "journal, or pass a new journal path"
        )

    def _read(self) -> Batch | None:
        """The next batch of the input to send (None: none left); holds back the last
        one. What the journal recorded is out already (:meth:`_checked_against_journal`)."""
        while True:
            batch = next(self._source, None)
            if batch is None:
                return None
            if not batch.last:
                return batch
            self._held_last = batch

    def _submit(self, pool: ThreadPoolExecutor, batch: Batch, now: float) -> None:
        """Send ``batch``, in a new session if the current one has neared its window at
        ``now``: the clock as the caller read it, so that a session is left only when
        the caller saw no batch of it in flight (read again here, the window could end
        in between, and batches in flight would be numbered again in the new session)."""
        sessions = self.sessions
        if sessions.current.expired(now):
            old = sessions.current
            # An earlier run may have sent it in the session now closing: Meta's status
            # says whether it was applied there, before it would go into a new one.
            if self._sent_before(batch, old) and (found := self._counted(batch, old)):
                self._ack(batch, _Sent(found, old, old.seq(batch.index), 0, 0.0))
                return
            sessions.rotate(self.audience_id)
            self._probe = True
        sessions.start(now)
        if self._probe:
            self._gate, self._probe = batch, False
        segment, earlier = sessions.current, None
        if self._once(batch, segment):  # journaled from this (the journal's) thread
            earlier = self.journal.sent_once_at(segment.n, batch.index)
            self.journal.note_sent_once(segment.n, batch.index, now)
        # In flight before the pool has it: a Ctrl-C inside submit (which may start a
        # worker thread) still finds the batch, so its reply is waited for and journaled.
        future: Future[_Sent] = Future()
        self._inflight[future] = batch
        pool.submit(_run_into, future, self._send, batch, segment, earlier)

    def _fill(self, pool: ThreadPoolExecutor) -> None:
        """Submit batches while the rules allow."""
        while (not self.abort.is_set() and self._gate is None
               and len(self._inflight) < self.concurrency):
            if self._inflight and self.sessions.current.expired(self.clock()):
                return  # let the session's batches settle, then start a new one
            batch = self._take()
            if batch is None:
                return
            now = self.clock()
            if self._inflight and self.sessions.current.expired(now):
                self._requeue.appendleft(batch)  # the window neared while it was read
                return
            self._submit(pool, batch, now)

    def _settle(self, failure: BaseException | None) -> BaseException | None:
        """Wait for a batch in flight to end; ack it, requeue it or keep its failure."""
        done, _ = wait(self._inflight, return_when=FIRST_COMPLETED)
        for future in done:
            failure = self._settle_one(future, self._inflight[future], failure)
            # Out of flight only once handled: after a Ctrl-C in between, _drain
            # still finds the reply in hand and journals it.
            del self._inflight[future]
        return failure

    def _settle_one(self, future: Future[_Sent], batch: Batch,
                    failure: BaseException | None) -> BaseException | None:
        """One finished batch: ack it, requeue it (its session's window ended) or keep
        its failure, the first one, to raise once the batches in flight have settled."""
        if self._gate is batch:
            self._gate = None
        # The batch's own outcome; a Ctrl-C landing here is not taken for it.
        error = future.exception()
        if error is None:
            self._ack(batch, future.result())
        elif isinstance(error, Expired):
            if batch.last:
                self._held_last = batch
            else:
                self._requeue.append(batch)
        elif not isinstance(error, Aborted) and failure is None:
            failure = error
            self.abort.set()
        return failure

    def _drain(self) -> None:
        """After a failure: wait for the batches in flight, journal those acknowledged.

        A Ctrl-C while waiting (replies are on their way, each within the timeout) is
        raised once they are journaled, so that none is sent again on the rerun. They
        are not counted in the progress: its callback may be what failed.
        """
        interrupted: KeyboardInterrupt | None = None
        for future, batch in list(self._inflight.items()):
            if future.cancel() or batch.index in self.acked:  # never sent, or journaled
                continue
            while True:
                try:
                    error = future.exception()
                    break
                except KeyboardInterrupt as exc:
                    interrupted = exc
            if error is None:
                self._ack(batch, future.result(), report=False)
        self._inflight.clear()
        if interrupted is not None:
            raise interrupted

    def _dispatch(self, source: Iterator[Batch]) -> None:
        self._source = source
        current = self.sessions.current.n
        self._probe = not any(b.session_n == current for b in self.acked.values())
        failure: BaseException | None = None
        pool = ThreadPoolExecutor(max_workers=self.concurrency,
                                  thread_name_prefix="audframe-send")
        try:
            while True:
                self._fill(pool)
                if not self._inflight:
                    if failure is not None:
                        raise failure
                    if self._held_last is None:
                        return
                    # every other batch is acknowledged: the last one goes, alone
                    self._submit(pool, self._held_last, self.clock())
                    self._held_last = None
                self._read_ahead()
                failure = self._settle(failure)
        except BaseException:
            self.abort.set()
            self._drain()
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def _run_into(future: Future[_Sent], send: Callable[..., _Sent], *args: Any) -> None:
    """``send(*args)`` into ``future``, unless the future was cancelled before it started."""
    if not future.set_running_or_notify_cancel():
        return
    try:
        future.set_result(send(*args))
    except BaseException as exc:  # the caller reads it from the future
        future.set_exception(exc)
