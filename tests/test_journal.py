"""The resumable journal: crash (even kill -9), rerun, nothing lost, nothing acked re-sent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from conftest import (
    TOKEN,
    FakeClock,
    batches_in,
    database,
    digest,
    eventually,
    make_chunks,
    make_rows,
)

import audframe
from audframe.emulator import FaultPlan, GraphEmulator, RequestRecord
from audframe.errors import GraphAPIError, JournalError
from audframe.journal import AckedBatch, Journal
from audframe.payloads import to_payloads
from audframe.sender import Sender

MakeSender = Callable[..., Sender]


def as_set(rows: list[list[Any]]) -> set[tuple[Any, ...]]:
    return {tuple(r) for r in rows}


def ok(records: list[RequestRecord]) -> list[RequestRecord]:
    return [q for q in records if q.outcome == "ok"]


def crashing(chunks: list[dict[str, Any]], at: int) -> Iterator[dict[str, Any]]:
    """The chunks, until the input itself fails at chunk ``at`` (a crash stand-in)."""
    for i, chunk in enumerate(chunks):
        if i == at:
            raise RuntimeError("the process died here")
        yield chunk


# -- the journal itself -----------------------------------------------------------------


def test_acks_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    with Journal(path) as journal:
        journal.bind(operation="add", audience_id="1")
        journal.check_fingerprint("f" * 64)
        session = journal.add_session(77, "add")
        journal.mark_started(session.n, 123.0)
        journal.ack(AckedBatch(0, session.n, 1, 10, "d" * 64, 2, 0.5,
                               {"num_received": 10}, 124.0))
    with Journal(path) as journal:
        journal.bind(operation="add", audience_id="1")
        journal.check_fingerprint("f" * 64)
        assert [s.session_id for s in journal.sessions()] == [77]
        assert journal.sessions()[0].started_at == 123.0
        acked = journal.acked()
        assert list(acked) == [0] and acked[0].response == {"num_received": 10}
        assert acked[0].attempts == 2 and not journal.completed
        journal.mark_completed()
        assert journal.completed


def test_the_same_ack_twice_is_recorded_once_and_another_is_refused(tmp_path: Path) -> None:
    with Journal(tmp_path / "j.sqlite") as journal:
        journal.bind(operation="add", audience_id="1")
        journal.check_fingerprint("f" * 64)
        session = journal.add_session(77, "add")
        batch = AckedBatch(0, session.n, 1, 10, "d" * 64, 2, 0.5, {}, 124.0)
        journal.ack(batch)
        journal.ack(batch)  # an upload interrupted between journaling and noting it
        assert list(journal.acked()) == [0]
        with pytest.raises(JournalError, match="batch 1 acknowledged already"):
            journal.ack(AckedBatch(0, session.n, 7, 10, "e" * 64, 1, 0.5, {}, 125.0))
        assert journal.acked()[0].digest == "d" * 64


def test_a_write_that_failed_leaves_nothing_and_the_next_one_works(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    batch = AckedBatch(0, 1, 1, 10, "d" * 64, 1, 0.5, {}, 124.0)
    with Journal(path) as journal:
        journal.bind(operation="add", audience_id="1")
        journal.add_session(77, "add")
        journal._db.execute("PRAGMA busy_timeout = 100")  # (not 5 s) while it is locked
        with database(path) as reader:
            reader.execute("BEGIN")
            reader.execute("SELECT * FROM meta").fetchall()  # a reader holds the file
            with pytest.raises(JournalError, match="could not be written"):
                journal.ack(batch)
            assert journal.acked() == {}  # not even as this connection sees it
            reader.execute("COMMIT")
        journal.ack(batch)  # it used to fail: a transaction was left open
        journal.mark_completed()
    with Journal(path) as journal:
        assert list(journal.acked()) == [0] and journal.completed


_DIES_INSIDE_AN_ACK = """
import os, signal, sys
from audframe.journal import AckedBatch, Journal
journal = Journal(sys.argv[1])
journal.bind(operation="add", audience_id="1")
journal.check_fingerprint("f" * 64)
session = journal.add_session(77, "add")
journal.ack(AckedBatch(0, session.n, 1, 10, "d" * 64, 1, 0.5, {}, 124.0))
def die_at_the_batch_row(sql):  # after the input's end is noted, before the batch's row
    if sql.lstrip().upper().startswith("INSERT INTO BATCHES"):
        os.kill(os.getpid(), signal.SIGKILL)
journal._db.set_trace_callback(die_at_the_batch_row)
journal.ack(AckedBatch(1, session.n, 2, 10, "e" * 64, 1, 0.5, {}, 125.0), last=True)
"""


def test_a_crash_inside_an_acknowledgement_keeps_none_of_it(tmp_path: Path) -> None:
    # Each statement used to commit alone: killed between them, the journal said the input
    # ended at a batch it did not hold, and every rerun was refused as other data.
    path = tmp_path / "j.sqlite"
    died = subprocess.run([sys.executable, "-c", _DIES_INSIDE_AN_ACK, str(path)], timeout=60)
    assert died.returncode == -signal.SIGKILL
    with Journal(path) as journal:
        journal.bind(operation="add", audience_id="1")
        journal.check_fingerprint("f" * 64)
        assert list(journal.acked()) == [0]
        assert journal.last_batch is None  # the rerun sends (or finds) the last batch


@pytest.mark.parametrize(
    ("operation", "audience", "fingerprint", "needle"),
    [("remove", "1", "f" * 64, "operation"), ("add", "2", "f" * 64, "audience_id"),
     ("add", "1", "e" * 64, "other data")],
)
def test_a_journal_for_something_else_is_refused(
    tmp_path: Path, operation: str, audience: str, fingerprint: str, needle: str
) -> None:
    path = tmp_path / "j.sqlite"
    with Journal(path) as journal:
        journal.bind(operation="add", audience_id="1")
        journal.check_fingerprint("f" * 64)
    with Journal(path) as journal, pytest.raises(JournalError, match=needle) as info:
        journal.bind(operation=operation, audience_id=audience)
        journal.check_fingerprint(fingerprint)
    assert "new journal path" in str(info.value)


def test_a_file_that_is_not_a_journal_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.sqlite"
    path.write_bytes(b"these are my notes, not a database" * 100)
    with pytest.raises(JournalError, match="cannot be used"):
        Journal(path)


# -- resuming with the sender ------------------------------------------------------------


def _filled(path: Path, batches: int) -> Journal:
    journal = Journal(path)
    journal.bind(operation="add", audience_id="1")
    session = journal.add_session(5, "add")
    for i in range(batches):
        journal.ack(AckedBatch(index=i, session_n=session.n, seq=i + 1, rows=10,
                               digest="a" * 64, attempts=1, seconds=0.1,
                               response={"num_received": 10 * (i + 1), "pad": "x" * 50}))
    return journal


def test_an_open_journal_is_locked_and_its_file_alone_holds_every_ack(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    journal = _filled(path, 300)
    with pytest.raises(JournalError, match="in use by another upload"):
        Journal(path)
    copy = tmp_path / "copy.sqlite"
    copy.write_bytes(path.read_bytes())  # the file alone, as after a crash, while open
    assert not list(tmp_path.glob("*-wal"))
    journal.close()
    with Journal(copy) as copied, Journal(path) as reopened:  # closing released the lock
        assert len(copied.acked()) == len(reopened.acked()) == 300


def test_a_journal_reached_through_a_symbolic_link_shares_its_lock(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    (tmp_path / "elsewhere").mkdir()
    alias = tmp_path / "elsewhere" / "alias.sqlite"
    alias.symlink_to(path)
    with Journal(path), pytest.raises(JournalError, match="in use by another upload"):
        Journal(alias)
    with Journal(alias), pytest.raises(JournalError, match="in use by another upload"):
        Journal(path)


def test_a_second_upload_on_an_open_journal_sends_nothing(
    tmp_path: Path, make_sender: MakeSender, emulator: GraphEmulator
) -> None:
    path = tmp_path / "j.sqlite"
    with Journal(path), pytest.raises(JournalError, match="in use"):
        make_sender(emulator.url).add("5", make_chunks(make_rows(20), 10), journal=path)
    assert emulator.requests == []


def test_a_damaged_journal_or_another_database_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    _filled(path, 300).close()
    data = bytearray(path.read_bytes())
    data[4096 * 3 : 4096 * 3 + 200] = b"\x13" * 200
    path.write_bytes(bytes(data))
    with pytest.raises(JournalError, match=r"malformed|damaged"):
        Journal(path)
    other = tmp_path / "crm.sqlite"
    with database(other) as db:
        db.execute("CREATE TABLE customers (email TEXT)")
    with pytest.raises(JournalError, match="not an audframe journal"):
        Journal(other)
    with database(other) as db:
        assert db.execute("SELECT name FROM sqlite_master").fetchall() == [("customers",)]


def test_a_journal_whose_record_cannot_be_read_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    _filled(path, 3).close()
    with database(path) as db:
        db.execute("UPDATE batches SET response = '{not json' WHERE idx = 1")
    with Journal(path) as journal, pytest.raises(JournalError, match="is damaged"):
        journal.acked()


def kill_once(proc: subprocess.Popen[bytes], ready: Callable[[], bool]) -> None:
    """SIGKILL the upload ``proc`` once ``ready()`` (it must not end first); never leave
    it running."""
    try:
        while not ready():
            assert proc.poll() is None, "the upload ended before it could be killed"
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait() == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_kill_9_mid_upload_then_rerun_finishes_the_same_session(
    tmp_path: Path, make_sender: MakeSender
) -> None:
    path = tmp_path / "upload.sqlite"
    rows = make_rows(600)
    script = (
        "import hashlib, sys\n"
        "from audframe.sender import Sender\n"
        "url, journal, token = sys.argv[1:4]\n"
        "rows = [[hashlib.sha256(f'user{i}@example.com'.encode()).hexdigest()]"
        " for i in range(600)]\n"
        "chunks = [{'payload': {'schema': ['EMAIL'], 'data': rows[k:k + 10]},"
        " 'session': {'session_id': 4242, 'batch_seq': k // 10 + 1,"
        " 'last_batch_flag': k + 10 >= 600, 'estimated_num_total': 600}}"
        " for k in range(0, 600, 10)]\n"
        "with Sender(token, base_url=url, concurrency=2, progress=False) as sender:\n"
        "    sender.add('31', chunks, journal=journal)\n"
    )
    root = Path(audframe.__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": str(root)}

    with GraphEmulator(token=TOKEN, latency=0.05) as emu:
        proc = subprocess.Popen([sys.executable, "-c", script, emu.url, str(path), TOKEN],
                                env=env)
        kill_once(proc, lambda: batches_in(path) >= 8)
        def settled() -> bool:  # the dead client's last requests, read and answered
            seen = len(emu.requests)
            time.sleep(0.5)
            return len(emu.requests) == seen and all(q.outcome for q in emu.requests)

        eventually(settled)
        with Journal(path) as journal:
            before = journal.acked()
            assert [s.session_id for s in journal.sessions()] == [4242]
            assert not journal.completed
        assert 8 <= len(before) < 60
        cut = len(emu.requests)
        emu.latency = 0.0

        report = make_sender(emu.url, concurrency=4).add("31", make_chunks(rows, 10),
                                                          journal=path)

        after = emu.requests[cut:]
        assert after, "the rerun had work left"
        assert {q.session["session_id"] for q in after} == {4242}  # type: ignore[index]
        resent = {q.session["batch_seq"] for q in after} & {b.seq for b in before.values()}
        assert resent == set(), "acknowledged batches were sent again"
        assert emu.rows("31", ["EMAIL"]) == as_set(rows)  # nothing lost
        flagged = [q for q in ok(emu.requests) if q.session["last_batch_flag"]]  # type: ignore[index]
        assert len(flagged) == 1 and flagged[0] is ok(emu.requests)[-1]
        assert emu.session(4242)["last_seq"] == 60  # type: ignore[index]
        assert emu.violations == []
    assert report.session_id == 4242 and report.session_ids == (4242,)
    assert report.batches == 60 and report.rows == 600
    assert report.batches_table["resumed"].sum() == len(before)
    with Journal(path) as journal:
        assert journal.completed and len(journal.acked()) == 60


@pytest.mark.parametrize("operation", ["add", "replace"])
def test_a_rerun_right_after_a_crash_waits_for_its_last_request_before_asking(
    tmp_path: Path, make_sender: MakeSender, operation: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Killed while its send-once batch (the last; a replace's batch 1) was still at work
    # on the server, and rerun at once: Meta's status did not count it yet, so the rerun
    # sent it again, and the first was applied too (a replace restarted, losing rows).
    path = tmp_path / "upload.sqlite"
    rows = make_rows(30)
    once = 3 if operation == "add" else 1  # the request that must go once
    script = (
        "import sys\n"
        "sys.path.insert(0, sys.argv[4])\n"
        "from conftest import make_chunks, make_rows\n"
        "from audframe.sender import Sender\n"
        "url, journal, token = sys.argv[1:4]\n"
        "with Sender(token, base_url=url, concurrency=1, progress=False, timeout=3.0,\n"
        "            backoff_max=3.0) as sender:\n"
        f"    sender.{operation}('32', make_chunks(make_rows(30), 10), journal=journal)\n"
    )
    root = Path(audframe.__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": str(root)}
    plan = FaultPlan(script={once: "applied_late"}, late=1.5)
    with GraphEmulator(token=TOKEN, faults=plan) as emu:
        proc = subprocess.Popen([sys.executable, "-c", script, emu.url, str(path), TOKEN,
                                 str(Path(__file__).parent)], env=env)
        kill_once(proc, lambda: len(emu.requests) >= once)  # sent, not yet applied
        sender = make_sender(emu.url, concurrency=1, timeout=3.0, backoff_max=3.0)
        getattr(sender, operation)("32", make_chunks(rows, 10), journal=path)
        assert f"batch {once} of session 4242: the run that stopped sent it moments ago; " \
            "Meta's status is asked in " in caplog.text
        assert emu.violations == []
        assert emu.rows("32", ["EMAIL"]) == as_set(rows)
        posts = [q for q in emu.requests if q.method == "POST"]
        assert [q.session["batch_seq"] for q in posts].count(once) == 1  # type: ignore[index]


def test_a_rerun_waits_no_longer_than_a_reply_would_take_whatever_the_clock_says(
    tmp_path: Path, make_sender: MakeSender
) -> None:
    path = tmp_path / "upload.sqlite"
    rows = make_rows(30)

    def die(seconds: float) -> None:  # the first wait: after the last batch got no reply
        raise RuntimeError("died")

    ahead = FakeClock(1_700_000_000.0 + 3600)  # the run that died: its clock an hour ahead
    with GraphEmulator(token=TOKEN, faults=FaultPlan(script={3: "drop"})) as emu:
        with pytest.raises(RuntimeError, match="died"):
            make_sender(emu.url, clock=ahead, concurrency=1, timeout=0.5, backoff_max=0.5,
                        sleep=die).add("33", make_chunks(rows, 10), journal=path)
        waits: list[float] = []
        make_sender(emu.url, clock=FakeClock(), concurrency=1, timeout=0.5, backoff_max=0.5,
                    sleep=waits.append).add("33", make_chunks(rows, 10), journal=path)
        assert waits == [0.5]  # not an hour and a half second
        assert emu.rows("33", ["EMAIL"]) == as_set(rows)


def test_rerun_after_a_crash_skips_acked_batches(
    tmp_path: Path, make_sender: MakeSender, emulator: GraphEmulator
) -> None:
    path = tmp_path / "j.sqlite"
    rows = make_rows(100)
    chunks = make_chunks(rows, 10)
    sender = make_sender(emulator.url, concurrency=1)
    with pytest.raises(RuntimeError, match="died"):
        sender.add("40", crashing(chunks, 6), journal=path)
    first_run = ok(emulator.requests)
    assert 1 <= len(first_run) <= 5
    cut = len(emulator.requests)
    report = make_sender(emulator.url, concurrency=3).add("40", chunks, journal=path)
    again = {q.session["batch_seq"] for q in emulator.requests[cut:]}  # type: ignore[index]
    assert again.isdisjoint(q.session["batch_seq"] for q in first_run)  # type: ignore[index]
    assert len(again) + len(first_run) == 10
    assert emulator.rows("40", ["EMAIL"]) == as_set(rows)
    assert report.num_received == 100 and report.batches == 10


def test_a_progress_callback_that_raises_loses_no_acknowledged_batch(
    tmp_path: Path, make_sender: MakeSender
) -> None:
    # It raises from its second call on: the batches in flight are still journaled
    # (without calling it again), so the rerun sends none of them twice.
    path = tmp_path / "j.sqlite"
    rows = make_rows(100)
    calls: list[int] = []

    with GraphEmulator(token=TOKEN, latency=0.05) as emu:

        def progress(done: int, total: int) -> None:
            calls.append(done)
            if len(calls) >= 2:
                eventually(lambda: len(emu.requests) >= 4)  # others reached the server
                raise RuntimeError("callback failed")

        with pytest.raises(RuntimeError, match="callback failed"):
            make_sender(emu.url, concurrency=4, progress=progress).add(
                "41", make_chunks(rows, 10), journal=path)
        first = {q.session["batch_seq"] for q in ok(emu.requests)}  # type: ignore[index]
        assert len(first) >= 3  # more than the callback saw, in flight when it failed
        cut = len(emu.requests)
        make_sender(emu.url, concurrency=4).add("41", make_chunks(rows, 10), journal=path)
        again = {q.session["batch_seq"] for q in ok(emu.requests[cut:])}  # type: ignore[index]
        assert again.isdisjoint(first) and len(again | first) == 10
        assert emu.rows("41", ["EMAIL"]) == as_set(rows)


def test_a_resume_with_other_data_is_refused_before_any_of_it_is_sent(
    tmp_path: Path, make_sender: MakeSender
) -> None:
    # The journal records batches 1 and 3, not 2 (in flight when the run stopped: its
    # record is taken out here, as a crash would have left it). The rerun's data differs
    # in batch 2 (never recorded, so it would go first) and in batch 3: refused before
    # a request goes.
    path = tmp_path / "j.sqlite"
    emails = [digest(f"r{i}") for i in range(60)]
    with GraphEmulator(token=TOKEN, faults=FaultPlan(script={4: "invalid_param"})) as emu:
        with pytest.raises(GraphAPIError):
            make_sender(emu.url, concurrency=1).add(
                "49", pl.DataFrame({"EMAIL": emails}), batch_size=10, journal=path)
        with database(path) as db:
            db.execute("DELETE FROM batches WHERE idx = 1")
        with Journal(path) as journal:
            assert sorted(journal.acked()) == [0, 2]
        other = list(emails)
        other[10:30] = [digest(f"other{k}") for k in range(20)]
        cut = len(emu.requests)
        with pytest.raises(JournalError, match="nothing of it was sent"):
            make_sender(emu.url, concurrency=4).add(
                "49", pl.DataFrame({"EMAIL": other}), batch_size=10, journal=path)
        assert emu.requests[cut:] == []


@pytest.mark.parametrize("again_as", ["frame", "lazy", "chunks", "parquet"])
def test_a_frame_upload_resumes_from_its_journal(
    tmp_path: Path, make_sender: MakeSender, again_as: str
) -> None:
    path = tmp_path / "j.sqlite"
    frame = pl.DataFrame({"EMAIL": [digest(f"r{i}") for i in range(95)]})
    frame.write_parquet(tmp_path / "hashed.parquet")  # digests pass normalize unchanged
    # to_payloads and parquet_payloads draw a new random session id: the journal's wins
    again: Any = {"frame": frame, "lazy": frame.lazy(),
                  "chunks": to_payloads(frame, batch_size=10),
                  "parquet": audframe.parquet_payloads(tmp_path / "hashed.parquet",
                                                       batch_size=10)}[again_as]
    with GraphEmulator(token=TOKEN, faults=FaultPlan(script={4: "permission"})) as emu:
        with pytest.raises(GraphAPIError):
            make_sender(emu.url, concurrency=1).add("48", frame, batch_size=10, journal=path)
        first = ok(emu.requests)
        assert len(first) == 3
        cut = len(emu.requests)
        report = make_sender(emu.url, concurrency=3).add("48", again, batch_size=10,
                                                          journal=path)
        later = emu.requests[cut:]
        # the same session, nothing acknowledged sent again, nothing lost
        sid = first[0].session["session_id"]  # type: ignore[index]
        assert {q.session["session_id"] for q in later} == {sid}  # type: ignore[index]
        assert sorted(q.session["batch_seq"] for q in later) == list(range(4, 11))  # type: ignore[index]
        assert emu.rows("48", ["EMAIL"]) == {(e,) for e in frame["EMAIL"]}
        assert emu.violations == []
    assert report.session_id == sid and report.batches == 10 and report.rows == 95
    assert report.batches_table["resumed"].sum() == 3


def test_a_finished_journal_sends_nothing_more(
    tmp_path: Path, make_sender: MakeSender, emulator: GraphEmulator
) -> None:
    path = tmp_path / "j.sqlite"
    chunks = make_chunks(make_rows(30), 10)
    first = make_sender(emulator.url).add("41", chunks, journal=path)
    count = len(emulator.requests)
    second = make_sender(emulator.url).add("41", chunks, journal=path)
    assert len(emulator.requests) == count == 3
    assert second.rows == first.rows == 30 and second.num_received == 30
    assert second.batches_table["resumed"].all()


@pytest.mark.parametrize(("first", "again", "crash"), [(3, 4, False), (4, 1, True)])
def test_a_rerun_whose_input_ends_elsewhere_is_refused_before_anything_is_sent(
    tmp_path: Path, make_sender: MakeSender, emulator: GraphEmulator, first: int, again: int,
    crash: bool,
) -> None:
    """Chunks without a session (no total in the fingerprint), the first ones alike: a
    finished upload's rerun with one more chunk would leave it unsent yet reported; a
    crashed one's rerun with fewer would send no last batch."""
    path = tmp_path / "j.sqlite"
    chunks = [{"payload": c["payload"]} for c in make_chunks(make_rows(40), 10)]
    sender = make_sender(emulator.url, concurrency=1)
    if crash:
        with pytest.raises(RuntimeError, match="died"):
            sender.add("56", crashing(chunks[:first], 3), journal=path)
    else:
        sender.add("56", chunks[:first], journal=path)
    cut, held = len(emulator.requests), emulator.rows("56", ["EMAIL"])
    with pytest.raises(JournalError, match=r"an upload that went on; this input ends (with|"
                       r"before) batch" if crash else "ended with batch 3; this input holds "
                       "more batches"):
        sender.add("56", chunks[:again], journal=path)
    with pytest.raises(JournalError, match="this input is empty"):  # not taken for done
        sender.add("56", [], journal=path)
    assert emulator.requests[cut:] == []
    assert emulator.rows("56", ["EMAIL"]) == held
    # the exact input still resumes (or finds nothing more to send)
    report = sender.add("56", chunks[:first], journal=path)
    assert report.rows == first * 10
    assert len(emulator.rows("56", ["EMAIL"])) == first * 10


def test_a_replace_resumed_never_repeats_batch_1(
    tmp_path: Path, make_sender: MakeSender, emulator: GraphEmulator
) -> None:
    path = tmp_path / "j.sqlite"
    old, new = make_rows(20, prefix="old"), make_rows(70, prefix="new")
    make_sender(emulator.url).add("42", make_chunks(old, 10))
    chunks = make_chunks(new, 10, session_id=808)
    with pytest.raises(RuntimeError):
        make_sender(emulator.url, concurrency=2).replace("42", crashing(chunks, 4),
                                                         journal=path)
    make_sender(emulator.url, concurrency=2).replace("42", chunks, journal=path)
    firsts = [q for q in emulator.requests
              if q.path.endswith("usersreplace") and q.session["batch_seq"] == 1]  # type: ignore[index]
    assert len(firsts) == 1
    assert emulator.rows("42", ["EMAIL"]) == as_set(new)
    assert emulator.violations == []


def test_the_sender_refuses_a_journal_made_for_other_data_or_batch_size(
    tmp_path: Path, make_sender: MakeSender, emulator: GraphEmulator
) -> None:
    path = tmp_path / "j.sqlite"
    sender = make_sender(emulator.url)
    with pytest.raises(RuntimeError):
        sender.add("43", crashing(make_chunks(make_rows(50), 10), 3), journal=path)
    count = len(emulator.requests)
    other = make_chunks(make_rows(50, prefix="someone-else"), 10)
    with pytest.raises(JournalError, match="other data"):
        sender.add("43", other, journal=path)
    with pytest.raises(JournalError, match="audience_id"):
        sender.add("44", make_chunks(make_rows(50), 10), journal=path)
    with pytest.raises(JournalError, match="operation"):
        sender.remove("43", make_chunks(make_rows(50), 10), journal=path)
    with pytest.raises(JournalError, match="session"):
        sender.add("43", make_chunks(make_rows(50), 10), journal=path, session_id=1)
    with pytest.raises(JournalError, match=r"batches of 10 rows, this input's first batch "
                                           r"has 25; rerun with the input and batch size"):
        sender.add("43", make_chunks(make_rows(50), 25), journal=path)
    with pytest.raises(JournalError, match=r"has 5 \(other data, or another batch size\)"):
        sender.add("43", make_chunks(make_rows(5), 10), journal=path)  # a shorter input
    assert len(emulator.requests) == count  # refused before any request
    assert sender.add("43", make_chunks(make_rows(50), 10), journal=path).rows == 50  # resumes


@pytest.mark.parametrize(("operation", "index"), [("add", 2), ("replace", 0)])
def test_a_crash_after_meta_applied_a_send_once_batch_does_not_resend_it(
    tmp_path: Path, make_sender: MakeSender, operation: str, index: int
) -> None:
    """kill -9 between Meta's reply to the last batch (or a replace's batch 1) and the
    journal's commit: the rerun asks the session's status and does not send it again."""
    path = tmp_path / "j.sqlite"
    script = (
        "import hashlib, os, signal, sys\n"
        "from audframe import journal\n"
        "from audframe.sender import Sender\n"
        "url, path, token, operation, index = sys.argv[1:6]\n"
        "ack = journal.Journal.ack\n"
        "def dying_ack(self, batch, **kw):\n"
        "    if batch.index == int(index):\n"
        "        os.kill(os.getpid(), signal.SIGKILL)\n"
        "    ack(self, batch, **kw)\n"
        "journal.Journal.ack = dying_ack\n"
        "rows = [[hashlib.sha256(f'user{i}@example.com'.encode()).hexdigest()]"
        " for i in range(30)]\n"
        "chunks = [{'payload': {'schema': ['EMAIL'], 'data': rows[k:k + 10]},"
        " 'session': {'session_id': 777, 'batch_seq': k // 10 + 1,"
        " 'last_batch_flag': k == 20, 'estimated_num_total': 30}} for k in (0, 10, 20)]\n"
        "with Sender(token, base_url=url, concurrency=1, progress=False) as sender:\n"
        "    getattr(sender, operation)('55', chunks, journal=path)\n"
    )
    root = Path(audframe.__file__).resolve().parent.parent
    with GraphEmulator(token=TOKEN) as emu:
        child = subprocess.run(
            [sys.executable, "-c", script, emu.url, str(path), TOKEN, operation, str(index)],
            env={**os.environ, "PYTHONPATH": str(root)}, timeout=120,
        )
        assert child.returncode == -signal.SIGKILL
        sent = len(emu.requests)
        report = getattr(make_sender(emu.url), operation)(
            "55", make_chunks(make_rows(30), 10, session_id=777), journal=path)
        again = emu.requests[sent:]
        assert again[0].method == "GET"  # the status, before anything is sent again
        assert all(q.session is None or q.session["batch_seq"] != index + 1 for q in again)
        assert emu.violations == []
        assert emu.rows("55", ["EMAIL"]) == {tuple(r) for r in make_rows(30)}
    assert report.rows == 30


def test_a_journal_whose_later_batch_changed_is_refused(
    tmp_path: Path, make_sender: MakeSender, emulator: GraphEmulator
) -> None:
    path = tmp_path / "j.sqlite"
    rows = make_rows(50)
    sender = make_sender(emulator.url, concurrency=1)
    with pytest.raises(RuntimeError):
        sender.add("45", crashing(make_chunks(rows, 10), 4), journal=path)
    changed = [*rows[:10], *make_rows(10, prefix="edited"), *rows[20:]]
    with pytest.raises(JournalError, match="batch 2"):
        sender.add("45", make_chunks(changed, 10), journal=path)


def test_resuming_after_the_90_minute_window_uses_a_new_session(
    tmp_path: Path, make_sender: MakeSender
) -> None:
    clock = FakeClock()
    path = tmp_path / "j.sqlite"
    rows = make_rows(80)
    chunks = make_chunks(rows, 10, session_id=1001)
    with GraphEmulator(token=TOKEN, clock=clock) as emu:
        with pytest.raises(RuntimeError):
            make_sender(emu.url, clock=clock).add("46", crashing(chunks, 4), journal=path)
        done = {q.session["batch_seq"] for q in ok(emu.requests)}  # type: ignore[index]
        clock.advance(2 * 3600)
        cut = len(emu.requests)
        report = make_sender(emu.url, clock=clock).add("46", chunks, journal=path)
        later = emu.requests[cut:]
        assert {q.session["session_id"] for q in later} == {report.session_ids[1]}  # type: ignore[index]
        assert emu.session(1001)["last_seq"] is None  # type: ignore[index]
        assert emu.session(1001)["discarded"] == 0  # type: ignore[index]
        assert len(later) == 8 - len(done)
        assert emu.rows("46", ["EMAIL"]) == as_set(rows)
        assert emu.violations == []
    assert report.session_id == 1001 and len(report.session_ids) == 2
    assert report.batches == 8


def test_a_journal_an_earlier_version_started_still_resumes_its_last_batch(
    tmp_path: Path, make_sender: MakeSender, emulator: GraphEmulator
) -> None:
    # It records no last batch: a crash after journaling the last batch, before marking
    # the upload completed, left a journal that the rerun finishes (sending nothing).
    path = tmp_path / "j.sqlite"
    chunks = [{"payload": c["payload"]} for c in make_chunks(make_rows(30), 10)]
    make_sender(emulator.url).add("58", chunks, journal=path)
    with database(path) as db:
        db.execute("DELETE FROM meta WHERE key IN ('records_last', 'last_batch', "
                   "'completed_at')")
    cut = len(emulator.requests)
    report = make_sender(emulator.url).add("58", chunks, journal=path)
    assert report.rows == 30 and report.batches_table["resumed"].all()
    assert emulator.requests[cut:] == []  # every batch journaled: nothing to send
    with Journal(path) as journal:
        assert journal.completed


class _Died(BaseException):
    """A crash stand-in that nothing in the sender catches."""


@pytest.mark.parametrize(("operation", "index"), [("add", 2), ("replace", 0)])
def test_a_send_once_batch_applied_before_a_crash_is_not_resent_after_the_window(
    tmp_path: Path, make_sender: MakeSender, monkeypatch: pytest.MonkeyPatch, operation: str,
    index: int,
) -> None:
    """Meta applied the last batch (or a replace's batch 1), the run died before journaling
    it, and the rerun comes after the 90-minute window: the old session's status is asked
    before the batch would go into a new session."""
    clock = FakeClock()
    path = tmp_path / "j.sqlite"
    rows = make_rows(30)
    chunks = make_chunks(rows, 10, session_id=888)
    ack = Journal.ack

    def dying_ack(self: Journal, batch: AckedBatch, **kw: Any) -> None:
        if batch.index == index:
            raise _Died
        ack(self, batch, **kw)

    with GraphEmulator(token=TOKEN, clock=clock) as emu:
        monkeypatch.setattr(Journal, "ack", dying_ack)
        with pytest.raises(_Died):
            getattr(make_sender(emu.url, clock=clock, concurrency=1), operation)(
                "57", chunks, journal=path)
        monkeypatch.setattr(Journal, "ack", ack)
        clock.advance(2 * 3600)
        cut = len(emu.requests)
        report = getattr(make_sender(emu.url, clock=clock, concurrency=1), operation)(
            "57", chunks, journal=path)
        again = emu.requests[cut:]
        assert again[0].method == "GET"
        assert emu.session(888)["batches"].get(index + 1) == 10  # type: ignore[index]
        # batch `index` never again; after a replace's batch 1, the rest go as adds
        assert [q.rows for q in again[1:]] == [rows[k:k + 10] for k in range(10, 30, 10)
                                               if operation == "replace"]
        assert emu.rows("57", ["EMAIL"]) == as_set(rows)
        assert emu.violations == []
    assert report.rows == 30


def test_a_replace_resumed_after_the_window_finishes_with_adds(
    tmp_path: Path, make_sender: MakeSender
) -> None:
    clock = FakeClock()
    path = tmp_path / "j.sqlite"
    old, new = make_rows(30, prefix="old"), make_rows(60, prefix="new")
    chunks = make_chunks(new, 10, session_id=2002)
    with GraphEmulator(token=TOKEN, clock=clock) as emu:
        make_sender(emu.url, clock=clock).add("47", make_chunks(old, 10, session_id=1))
        with pytest.raises(RuntimeError):
            make_sender(emu.url, clock=clock).replace("47", crashing(chunks, 3), journal=path)
        clock.advance(95 * 60)
        report = make_sender(emu.url, clock=clock).replace("47", chunks, journal=path)
        rest = emu.session(report.session_ids[1])
        assert rest is not None and rest["operation"] == "add"
        assert emu.rows("47", ["EMAIL"]) == as_set(new)
        replace_firsts = [q for q in ok(emu.requests) if q.path.endswith("usersreplace")
                          and q.session["batch_seq"] == 1]  # type: ignore[index]
        assert len(replace_firsts) == 1
    assert report.rows == 60
