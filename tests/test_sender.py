"""The sender against the emulator over real HTTP: faults, fatal errors, sessions, windows."""

from __future__ import annotations

import hashlib
import io
import logging
import socket
import sys
import threading
import time
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import requests
from conftest import TOKEN, FakeClock, digest, eventually, make_chunks, make_rows

from audframe.emulator import FATAL_FAULTS, FaultPlan, GraphEmulator, RequestRecord
from audframe.errors import (
    GraphAPIError,
    NotHashedError,
    RateLimitError,
    TransportError,
    ValidationError,
)
from audframe.payloads import form_fields, to_payloads
from audframe.progress import wants_bar
from audframe.retry import RetryPolicy
from audframe.sender import Sender
from audframe.stream import parquet_payloads

MakeSender = Callable[..., Sender]


def accepted(emu: GraphEmulator) -> list[RequestRecord]:
    """Requests the emulator applied, in arrival order (status reads apply nothing)."""
    return [q for q in emu.requests if q.outcome == "ok" and q.method != "GET"]


def as_set(rows: list[list[Any]]) -> set[tuple[Any, ...]]:
    return {tuple(r) for r in rows}


def check_session_protocol(emu: GraphEmulator) -> None:
    """One acceptance per batch_seq per session; a finished session holds 1..n, the flagged
    batch last and once. (A session left at the 90-minute window may have gaps: those
    batches went into the next session.)"""
    assert emu.violations == []
    by_session: dict[int, list[RequestRecord]] = {}
    for q in accepted(emu):
        assert q.session is not None
        by_session.setdefault(q.session["session_id"], []).append(q)
    for records in by_session.values():
        seqs = [q.session["batch_seq"] for q in records]  # type: ignore[index]
        assert len(set(seqs)) == len(seqs), "each batch_seq accepted once"
        flags = [q.session["last_batch_flag"] for q in records]  # type: ignore[index]
        if any(flags):  # a finished session: 1..n, the flagged one last
            assert sorted(seqs) == list(range(1, len(seqs) + 1))
            assert flags.count(True) == 1 and flags[-1] is True
            assert records[-1].session["batch_seq"] == len(seqs)  # type: ignore[index]


# -- everything arrives -------------------------------------------------------------


def test_every_row_arrives_under_heavy_faults(make_sender: MakeSender) -> None:
    rows = make_rows(600)
    with GraphEmulator(token=TOKEN, faults=FaultPlan(rate=0.5), seed=3) as emu:
        report = make_sender(emu.url, concurrency=4).add("101", make_chunks(rows, 10))
        assert emu.rows("101", ["EMAIL"]) == as_set(rows)
        check_session_protocol(emu)
        faulted = [q for q in emu.requests if q.fault]
        assert len(faulted) > len(emu.requests) / 3  # the faults were really heavy
        kinds = {q.fault for q in faulted}
        assert {"rate_limit", "unknown", "html_502", "drop"} <= kinds
    assert report.rows == report.num_received == 600 and report.batches == 60
    assert sum(report.retries.values()) == len(faulted)
    assert report.retries["transport"] > 0 and report.retries["rate_limit"] > 0
    assert report.batches_table["attempts"].sum() == len(emu.requests)


@pytest.mark.parametrize("total", [1, 9, 10, 11, 40, 41])
def test_the_last_batch_comes_last_also_at_exact_multiples(
    make_sender: MakeSender, emulator: GraphEmulator, total: int
) -> None:
    rows = make_rows(total)
    report = make_sender(emulator.url, concurrency=4).add("7", make_chunks(rows, 10))
    check_session_protocol(emulator)
    records = accepted(emulator)
    assert records[-1].session["last_batch_flag"] is True  # type: ignore[index]
    assert sum(q.session["last_batch_flag"] for q in records) == 1  # type: ignore[index]
    assert len(records) == report.batches == -(-total // 10)
    assert emulator.session(report.session_id)["last_seq"] == report.batches  # type: ignore[index]


def test_a_frame_of_exactly_20000_rows_ends_with_a_flagged_full_batch(
    make_sender: MakeSender, emulator: GraphEmulator
) -> None:
    emails = [digest(f"p{i}@example.com") for i in range(20_000)]
    frame = pl.DataFrame({"EMAIL": emails})
    report = make_sender(emulator.url).add("8", frame)
    records = accepted(emulator)
    assert [len(q.rows) for q in records] == [10_000, 10_000]
    assert [q.session["last_batch_flag"] for q in records] == [False, True]  # type: ignore[index]
    assert len(emulator.members("8")) == 20_000 and report.num_received == 20_000
    assert report.session_id == records[0].session["session_id"]  # type: ignore[index]


def test_concurrency_gives_the_same_audience_as_one_at_a_time(
    make_sender: MakeSender,
) -> None:
    rows = make_rows(230)
    with GraphEmulator(token=TOKEN, faults=FaultPlan(rate=0.3), seed=5, latency=0.002) as emu:
        make_sender(emu.url, concurrency=1).add("1", make_chunks(rows, 10, session_id=1))
        make_sender(emu.url, concurrency=4).add("4", make_chunks(rows, 10, session_id=4))
        check_session_protocol(emu)
        assert emu.members("1") == emu.members("4") and len(emu.members("4")) == 230


def test_remove_sends_a_delete_with_the_payload_in_the_body(
    make_sender: MakeSender, emulator: GraphEmulator
) -> None:
    rows = make_rows(50)
    sender = make_sender(emulator.url)
    sender.add("9", make_chunks(rows, 10))
    report = sender.remove("9", make_chunks(rows[:20], 10, session_id=77))
    assert emulator.rows("9", ["EMAIL"]) == as_set(rows[20:])
    deletes = [q for q in emulator.requests if q.method == "DELETE"]
    assert len(deletes) == report.batches == 2
    for q in deletes:
        assert "?" not in q.url and q.rows and digest("user0@example.com") not in q.url
    assert report.operation == "remove"


def test_replace_sends_batch_1_alone_first_and_never_again(make_sender: MakeSender) -> None:
    old, new = make_rows(30, prefix="old"), make_rows(95, prefix="new")
    with GraphEmulator(token=TOKEN, faults=FaultPlan(rate=0.4), seed=9) as emu:
        sender = make_sender(emu.url, concurrency=4)
        sender.add("12", make_chunks(old, 10))
        emu.clear_requests()
        report = sender.replace("12", make_chunks(new, 10, session_id=99))
        assert emu.rows("12", ["EMAIL"]) == as_set(new)
        check_session_protocol(emu)
        records = emu.requests
        firsts = [q for q in records if q.session and q.session["batch_seq"] == 1]
        assert [q.outcome for q in firsts][-1] == "ok"
        assert sum(q.outcome == "ok" for q in firsts) == 1  # accepted once
        first_ok = next(q.n for q in firsts if q.outcome == "ok")
        # nothing else was sent before batch 1 was acknowledged, and batch 1 never after
        assert all(q.n > first_ok for q in records if q.session and q.session["batch_seq"] > 1)
        assert all(q.n <= first_ok for q in firsts)
    assert report.batches == 10 and report.operation == "replace"


# -- a reply lost after Meta applied the request ------------------------------------


def test_a_last_batch_applied_but_unanswered_is_not_sent_again(make_sender: MakeSender) -> None:
    rows = make_rows(30)
    plan = FaultPlan(script={3: "applied_then_dropped"})  # request 3: the last batch
    with GraphEmulator(token=TOKEN, faults=plan) as emu:
        report = make_sender(emu.url).add("21", make_chunks(rows, 10))
        assert emu.rows("21", ["EMAIL"]) == as_set(rows)
        check_session_protocol(emu)
        lost = emu.requests[2]
        assert lost.fault == "applied_then_dropped" and lost.outcome == "ok"
        assert lost.session is not None and lost.session["last_batch_flag"] is True
        assert [q.method for q in emu.requests] == ["POST", "POST", "POST", "GET"]
        assert emu.requests[3].path == "/v21.0/21/sessions"
    assert report.batches == 3 and report.rows == report.num_received == 30
    # the lost reply counts as a transport failure; the status acknowledged the batch
    assert report.retries["transport"] == 1
    assert report.batches_table["attempts"].to_list() == [1, 1, 1]


@pytest.mark.parametrize("batch", ["last", "replace batch 1"])
def test_a_send_once_batch_still_at_work_after_the_timeout_is_not_sent_again(
    make_sender: MakeSender, batch: str
) -> None:
    # Meta applies it 3 s after it arrived; the sender gave up after 2 s and gives it as
    # long again before asking the status, which then counts it. The wait is the test's:
    # it ends once the emulator has applied the batch, however slow the machine.
    rows = make_rows(30)
    plan = FaultPlan(script={3 if batch == "last" else 1: "applied_late"}, late=3.0)
    waits: list[float] = []
    with GraphEmulator(token=TOKEN, faults=plan) as emu:

        def wait_until_applied(seconds: float) -> None:
            waits.append(seconds)
            late = next(q for q in emu.requests if q.fault == "applied_late")
            eventually(lambda: late.outcome != "")

        sender = make_sender(emu.url, timeout=2.0, backoff_max=5.0, sleep=wait_until_applied)
        report = (sender.add if batch == "last" else sender.replace)("25", make_chunks(rows, 10))
        check_session_protocol(emu)
        posts = [q for q in emu.requests if q.method == "POST"]
        assert len(posts) == 3 and posts[2 if batch == "last" else 0].fault == "applied_late"
        assert [q.method for q in emu.requests].count("GET") == 1
        assert emu.rows("25", ["EMAIL"]) == as_set(rows)
    assert waits == [2.0]  # as long again as the timeout, before the status was asked
    assert report.batches == 3 and report.rows == 30


@pytest.mark.parametrize("fault", ["applied_then_502", "applied_then_html_200"])
@pytest.mark.parametrize("batch", ["last", "replace batch 1"])
def test_a_batch_applied_then_answered_with_a_gateway_page_is_not_sent_again(
    make_sender: MakeSender, batch: str, fault: str
) -> None:
    # an HTML page is no Graph answer, whatever its status: the batch may be applied
    rows = make_rows(30)
    plan = FaultPlan(script={3 if batch == "last" else 1: fault})
    with GraphEmulator(token=TOKEN, faults=plan) as emu:
        sender = make_sender(emu.url)
        send = sender.add if batch == "last" else sender.replace
        report = send("24", make_chunks(rows, 10))
        assert emu.rows("24", ["EMAIL"]) == as_set(rows)
        check_session_protocol(emu)
        hit = emu.requests[2 if batch == "last" else 0]
        status = 502 if fault == "applied_then_502" else 200
        assert (hit.fault, hit.status, hit.outcome) == (fault, status, "ok")
        posts = [q for q in emu.requests if q.method == "POST"]
        assert len(posts) == 3  # the applied batch was not sent again
        assert [q.path for q in emu.requests if q.method == "GET"] == ["/v21.0/24/sessions"]
    assert report.batches == 3 and report.rows == report.num_received == 30
    assert report.retries["transport"] == 1


def test_a_last_batch_answered_with_code_1_asks_the_status_before_it_goes_again(
    make_sender: MakeSender,
) -> None:
    # Graph's temporary or unknown error may come after the request was applied,
    # whatever its HTTP status (here 400): the last batch, sent once, asks first
    rows = make_rows(30)
    with GraphEmulator(token=TOKEN, faults=FaultPlan(script={3: "temporary_400"})) as emu:
        report = make_sender(emu.url).add("25", make_chunks(rows, 10))
        assert emu.rows("25", ["EMAIL"]) == as_set(rows)
        check_session_protocol(emu)
        methods = [(q.method, q.outcome) for q in emu.requests]
        assert methods[2:] == [("POST", "fault:temporary_400"), ("GET", "ok"), ("POST", "ok")]
    assert report.batches == 3 and report.num_received == 30


def test_a_replace_batch_1_applied_but_unanswered_is_not_sent_again(
    make_sender: MakeSender,
) -> None:
    old, new = make_rows(20, prefix="old"), make_rows(35, prefix="new")
    plan = FaultPlan(script={3: "applied_then_dropped"})  # request 3: replace batch 1
    with GraphEmulator(token=TOKEN, faults=plan) as emu:
        sender = make_sender(emu.url, concurrency=4)
        sender.add("22", make_chunks(old, 10))
        report = sender.replace("22", make_chunks(new, 10, session_id=77))
        assert emu.rows("22", ["EMAIL"]) == as_set(new)
        check_session_protocol(emu)
        firsts = [q for q in emu.requests
                  if q.session and (q.session["session_id"], q.session["batch_seq"]) == (77, 1)]
        assert [q.fault for q in firsts] == ["applied_then_dropped"]  # sent once
    assert report.batches == 4 and report.rows == report.num_received == 35


@pytest.mark.parametrize("kind", ["drop", "unknown", "html_502", "gateway_503"])
def test_a_plain_fault_on_the_last_batch_is_retried(make_sender: MakeSender, kind: str) -> None:
    rows = make_rows(30)
    with GraphEmulator(token=TOKEN, faults=FaultPlan(script={3: kind})) as emu:
        report = make_sender(emu.url).add("23", make_chunks(rows, 10))
        assert emu.rows("23", ["EMAIL"]) == as_set(rows)
        check_session_protocol(emu)
        methods = [q.method for q in emu.requests]
        # without a reply, or after a server error, the status is asked first (it shows
        # the batch missing)
        assert methods == ["POST"] * 3 + ["GET", "POST"]
        assert [q.outcome for q in emu.requests if q.method == "POST"][2:] == [
            f"fault:{kind}", "ok"]
    assert report.retries["transport" if kind != "unknown" else "temporary"] == 1
    assert report.rows == report.num_received == 30


def test_a_last_batch_without_reply_and_an_unreadable_status_is_not_sent_again(
    make_sender: MakeSender, tmp_path: Path
) -> None:
    rows = make_rows(30)
    journal = tmp_path / "j.sqlite"
    # request 3: the last batch, applied, its reply lost; 4 and 5: both status reads fail
    plan = FaultPlan(script={3: "applied_then_dropped", 4: "unknown", 5: "unknown"})
    with GraphEmulator(token=TOKEN, faults=plan) as emu:
        with pytest.raises(TransportError, match=r"must be sent once.*not sent again"):
            make_sender(emu.url, concurrency=1, max_attempts=2).add(
                "21", make_chunks(rows, 10), journal=journal)
        assert [q.method for q in emu.requests] == ["POST"] * 3 + ["GET"] * 2
        report = make_sender(emu.url).add("21", make_chunks(rows, 10), journal=journal)
        # the rerun asks the status before sending the last batch, and finds it applied
        assert [q.method for q in emu.requests[5:]] == ["GET"]
        assert emu.violations == [] and emu.rows("21", ["EMAIL"]) == as_set(rows)
    assert report.num_received == 30 and report.batches == 3


def test_an_empty_replace_is_refused(make_sender: MakeSender, emulator: GraphEmulator) -> None:
    with pytest.raises(ValidationError, match="at least one row"):
        make_sender(emulator.url).replace("3", [])
    assert emulator.requests == []
    assert make_sender(emulator.url).add("3", []).rows == 0


# -- input checks --------------------------------------------------------------------


def test_unhashed_frames_are_refused_before_any_request(
    make_sender: MakeSender, emulator: GraphEmulator
) -> None:
    good = [digest(f"x{i}") for i in range(30)]
    frame = pl.DataFrame({"EMAIL": [*good, "alice@example.com"]})
    sender = make_sender(emulator.url)
    with pytest.raises(NotHashedError, match="hash"):
        sender.add("5", frame)
    with pytest.raises(NotHashedError):
        sender.add("5", frame.lazy(), batch_size=10)
    assert emulator.requests == []


def test_a_list_of_chunks_is_checked_whole_before_anything_is_sent(
    make_sender: MakeSender, emulator: GraphEmulator
) -> None:
    rows = make_rows(50)
    rows[37] = ["bob@example.com"]
    with pytest.raises(NotHashedError):
        make_sender(emulator.url).add("5", make_chunks(rows, 10))
    assert emulator.requests == []


def test_a_bad_chunk_from_an_iterator_is_never_sent(
    make_sender: MakeSender, emulator: GraphEmulator
) -> None:
    rows = make_rows(50)
    rows[37] = ["bob@example.com"]

    def stream() -> Iterator[dict[str, Any]]:
        yield from make_chunks(rows, 10)

    with pytest.raises(NotHashedError):
        make_sender(emulator.url, concurrency=1).add("5", stream())
    assert all(b"bob@example.com" not in q.body for q in emulator.requests)
    assert all(q.session["batch_seq"] < 4 for q in emulator.requests)  # type: ignore[index]


def test_oversized_and_malformed_chunks_are_refused(
    make_sender: MakeSender, emulator: GraphEmulator
) -> None:
    sender = make_sender(emulator.url)
    with pytest.raises(ValidationError, match="10,000"):
        sender.add("5", make_chunks(make_rows(10_001), 10_001))
    with pytest.raises(ValidationError, match="list form"):
        sender.add("5", {"payload": {"schema": "EMAIL", "data": []}})
    with pytest.raises(TypeError):
        sender.add("5", 42)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="numeric"):
        sender.add("my-audience", [])
    with pytest.raises(ValueError, match="numeric"):
        sender.session_status("5/../act_1", 1)  # no other path of the API
    assert emulator.requests == []


def test_the_digest_of_an_empty_string_is_refused_before_any_request(
    make_sender: MakeSender, emulator: GraphEmulator
) -> None:
    empty = hashlib.sha256(b"").hexdigest()
    with pytest.raises(NotHashedError, match="empty string"):
        make_sender(emulator.url).add("5", make_chunks([*make_rows(3), [empty]], 2))
    assert emulator.requests == []


def test_a_refused_connection_is_retried_without_status_checks_and_shown(
    make_sender: MakeSender, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sender = make_sender(f"http://127.0.0.1:{port}", max_attempts=4)
    with caplog.at_level(logging.INFO, logger="audframe"), pytest.raises(
        TransportError, match=r"could not connect.*gave up after 4 attempts"
    ):
        sender.add("5", make_chunks(make_rows(3), 3))
    retries = [r for r in caplog.records if "retrying" in r.getMessage()]
    assert len(retries) == 3 and all(r.levelno == logging.WARNING for r in retries)
    # never connected, so nothing can have been applied: no session-status reads
    assert not any("applied" in r.getMessage() for r in caplog.records)
    assert TOKEN not in caplog.text


def test_a_hashed_lazy_frame_streams_through(
    make_sender: MakeSender, emulator: GraphEmulator
) -> None:
    emails = [digest(f"z{i}") for i in range(45)]
    frame = pl.LazyFrame({"EMAIL": emails, "PHONE": [None] * 44 + [digest("+1650")]})
    report = make_sender(emulator.url).add("6", frame, batch_size=10, session_id=31337)
    assert report.session_id == 31337 and report.batches == 5
    assert {r[0] for r in emulator.rows("6", ["EMAIL"])} == set(emails)
    check_session_protocol(emulator)


def test_a_frame_is_sent_as_the_payloads_fast_path_builds_it(
    make_sender: MakeSender, emulator: GraphEmulator
) -> None:
    frame = pl.DataFrame({"EMAIL": [digest(f"f{i}") for i in range(25)],
                          "PHONE": [digest("+16505550100"), *[None] * 24]})
    report = make_sender(emulator.url, concurrency=2).add("15", frame, batch_size=10,
                                                           session_id=15)
    expected = [form_fields(chunk)["payload"]
                for chunk in to_payloads(frame, batch_size=10, session_id=15)]
    sent = sorted((q.session["batch_seq"], q.form["payload"])  # type: ignore[index]
                  for q in accepted(emulator))
    assert [payload for _, payload in sent] == expected  # byte for byte
    assert report.batches_table["rows"].to_list() == [10, 10, 5]
    assert report.rows == report.num_received == 25
    check_session_protocol(emulator)


def test_a_payloads_is_sent_by_its_fast_path_in_its_own_session(
    make_sender: MakeSender, emulator: GraphEmulator, tmp_path: Path
) -> None:
    source = tmp_path / "people.parquet"
    pl.DataFrame({"email": [f"P{i}@Example.com " for i in range(25)]}).write_parquet(source)
    expected = [form_fields(chunk)["payload"]
                for chunk in parquet_payloads(source, batch_size=10, session_id=4242)]
    report = make_sender(emulator.url, concurrency=2).add(
        "16", parquet_payloads(source, batch_size=10, session_id=4242))
    sent = sorted((q.session["batch_seq"], q.form["payload"])  # type: ignore[index]
                  for q in accepted(emulator))
    assert [payload for _, payload in sent] == expected  # byte for byte
    assert report.session_id == 4242 and report.batches_table["rows"].to_list() == [10, 10, 5]
    assert {r[0] for r in emulator.rows("16", ["EMAIL"])} == {
        hashlib.sha256(f"p{i}@example.com".encode()).hexdigest() for i in range(25)}
    check_session_protocol(emulator)


def test_a_payloads_already_read_from_is_refused_not_half_sent(
    make_sender: MakeSender, emulator: GraphEmulator
) -> None:
    payloads = to_payloads(pl.DataFrame({"EMAIL": [digest(f"h{i}") for i in range(25)]}),
                           batch_size=10)
    next(payloads)  # the first chunk is gone: sending the rest would lose it
    with pytest.raises(RuntimeError, match="only once"):
        make_sender(emulator.url).add("17", payloads)
    assert accepted(emulator) == []


@pytest.mark.parametrize("lazy", [False, True])
@pytest.mark.parametrize(
    "frame",
    [pl.DataFrame({"EMAIL": []}, schema={"EMAIL": pl.String}),
     pl.DataFrame({"EMAIL": [None, "  "], "LOOKALIKE_VALUE": [1.0, 2.0]})],
    ids=["empty", "no-match-key"],
)
def test_a_frame_without_rows_to_send_sends_nothing(
    make_sender: MakeSender, emulator: GraphEmulator, frame: pl.DataFrame, lazy: bool
) -> None:
    data = frame.lazy() if lazy else frame
    sender = make_sender(emulator.url)
    report = sender.add("16", data, session_id=16)
    assert (report.batches, report.rows, report.num_received) == (0, 0, 0)
    assert report.batches_table.height == 0 and report.session_id == 16
    assert sender.remove("16", data).rows == 0
    with pytest.raises(ValidationError, match="at least one row"):
        sender.replace("16", data)
    assert emulator.requests == []


# -- fatal errors and exhausted retries -----------------------------------------------


def test_a_bad_token_stops_after_one_request(make_sender: MakeSender,
                                             emulator: GraphEmulator) -> None:
    sender = make_sender(emulator.url, token="EAAwrong", concurrency=4)
    with pytest.raises(GraphAPIError) as info:
        sender.add("5", make_chunks(make_rows(100), 10))
    assert info.value.code == 190 and "190" in str(info.value)
    assert "new" in str(info.value)  # says what to do next
    assert len(emulator.requests) == 1


@pytest.mark.parametrize("kind", FATAL_FAULTS)
def test_fatal_codes_mid_upload_stop_at_once(make_sender: MakeSender, kind: str) -> None:
    plan = FaultPlan(script={4: kind})
    with GraphEmulator(token=TOKEN, faults=plan) as emu:
        with pytest.raises(GraphAPIError) as info:
            make_sender(emu.url, concurrency=1).add("5", make_chunks(make_rows(100), 10))
        assert len(emu.requests) == 4
    assert not isinstance(info.value, RateLimitError)
    assert str(info.value.code) in str(info.value)
    assert info.value.fbtrace_id


class RecordingSession(requests.Session):
    """A real ``requests`` session that notes, in order, when each request starts and
    when its answer is back, with the Graph error code it carried."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[tuple[str, int | None]] = []
        self._events_lock = threading.Lock()

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        with self._events_lock:
            self.events.append(("start", None))
        response = super().request(*args, **kwargs)
        code = response.json()["error"]["code"] if response.status_code >= 400 else None
        with self._events_lock:
            self.events.append(("answer", code))
        return response


def test_a_fatal_code_with_batches_in_flight_starts_no_new_request(
    make_sender: MakeSender, monkeypatch: pytest.MonkeyPatch
) -> None:
    import audframe.upload

    plan = FaultPlan(script={5: "permission"})
    session = RecordingSession()

    class NotedStop(threading.Event):  # when the sender decides to stop, among the events
        def set(self) -> None:
            with session._events_lock:
                session.events.append(("stop", None))
            super().set()

    made = audframe.upload.Upload.__init__

    def noting(self: audframe.upload.Upload, *args: Any, **kwargs: Any) -> None:
        made(self, *args, **kwargs)
        self.abort = NotedStop()

    monkeypatch.setattr(audframe.upload.Upload, "__init__", noting)
    with GraphEmulator(token=TOKEN, faults=plan, latency=0.02) as emu:
        with pytest.raises(GraphAPIError) as info:
            make_sender(emu.url, concurrency=4, session=session).add(
                "5", make_chunks(make_rows(2000), 10))
        received = len(emu.requests)
    session.close()
    events = session.events
    stop = events.index(("stop", None))
    assert ("answer", 200) in events[:stop]  # the stop follows the fatal answer
    # Once the sender stops, no batch is started: the only requests that may still start
    # are those whose worker had already begun its attempt (at most one for each of the
    # other concurrency - 1 workers). The stop comes at once: without it, all 200 batches
    # would go (the margin is for a machine that pauses the worker holding the answer).
    assert sum(kind == "start" for kind, _ in events[stop:]) <= 3
    assert received == sum(kind == "start" for kind, _ in events) < 100
    assert info.value.code == 200


def test_throttling_is_retried_although_it_arrives_as_http_400(
    make_sender: MakeSender,
) -> None:
    plan = FaultPlan(script={1: "rate_limit", 2: "call_limit", 3: "busy"})
    with GraphEmulator(token=TOKEN, faults=plan) as emu:
        report = make_sender(emu.url).add("5", make_chunks(make_rows(20), 10))
        assert [q.status for q in emu.requests[:3]] == [400, 400, 400]
    assert dict(report.retries) == {"rate_limit": 1, "call_limit": 1, "audience_busy": 1}
    assert report.batches_table.filter(pl.col("seq") == 1)["attempts"].item() == 4


def test_the_regain_access_estimate_is_waited_for_within_the_cap(
    make_sender: MakeSender,
) -> None:
    waits: list[float] = []
    plan = FaultPlan(script={1: "rate_limit", 2: "rate_limit"}, regain_minutes=2)
    with GraphEmulator(token=TOKEN, faults=plan) as emu:
        make_sender(emu.url, sleep=waits.append, backoff_max=300.0).add(
            "5", make_chunks(make_rows(5), 10))
    assert waits == [120.0, 120.0]
    waits.clear()
    with GraphEmulator(token=TOKEN, faults=plan) as emu:
        make_sender(emu.url, sleep=waits.append, backoff_max=30.0).add(
            "5", make_chunks(make_rows(5), 10))
    assert waits == [30.0, 30.0]


def test_exhausted_throttling_raises_rate_limit_error(make_sender: MakeSender) -> None:
    plan = FaultPlan(rate=1.0, kinds=("rate_limit",))
    with GraphEmulator(token=TOKEN, faults=plan) as emu:
        with pytest.raises(RateLimitError) as info:
            make_sender(emu.url, max_attempts=3).add("5", make_chunks(make_rows(50), 10))
        assert len(emu.requests) == 3
    assert info.value.code == 80003 and info.value.subcode == 2446079
    assert "3 attempts" in str(info.value) and "journal" in str(info.value)


def test_exhausted_transport_raises_transport_error(make_sender: MakeSender) -> None:
    plan = FaultPlan(rate=1.0, kinds=("drop", "html_502"))
    with GraphEmulator(token=TOKEN, faults=plan) as emu:
        with pytest.raises(TransportError, match="4 attempts"):
            make_sender(emu.url, max_attempts=4).add("5", make_chunks(make_rows(5), 10))
        # the one batch is the last, to be sent once: after each failure the status is
        # asked (it says the batch is missing) before the next attempt
        assert [q.method for q in emu.requests] == ["POST", "GET"] * 4


def test_timeouts_are_retried_then_a_transport_error(make_sender: MakeSender) -> None:
    with GraphEmulator(token=TOKEN, latency=0.3) as emu:
        with pytest.raises(TransportError, match=r"no answer within 0\.05 s.*not sent again"):
            make_sender(emu.url, timeout=0.05, max_attempts=2).add(
                "5", make_chunks(make_rows(5), 10))
        # the one batch is the last: before its retry the session status was asked, timed
        # out too, so the batch (maybe applied, to be sent once) was not sent again
        eventually(lambda: len(emu.requests) >= 3)  # the server notes them when it reads
        assert [q.method for q in emu.requests] == ["POST", "GET", "GET"]
        assert all(q.path == "/v21.0/5/sessions" for q in emu.requests if q.method == "GET")


def test_error_1_that_keeps_coming_suggests_a_smaller_batch(make_sender: MakeSender) -> None:
    plan = FaultPlan(rate=1.0, kinds=("temporary",))
    with GraphEmulator(token=TOKEN, faults=plan) as emu, pytest.raises(
        GraphAPIError, match="batch_size"
    ) as info:
        make_sender(emu.url, max_attempts=2).add("5", make_chunks(make_rows(5), 10))
    assert info.value.code == 1


def test_a_full_retry_policy_can_be_given(make_sender: MakeSender) -> None:
    plan = FaultPlan(rate=1.0, kinds=("went_wrong",))
    with GraphEmulator(token=TOKEN, faults=plan) as emu:
        policy = RetryPolicy(max_attempts=10, few_attempts=2, backoff_base=0.0)
        with pytest.raises(GraphAPIError) as info:
            make_sender(emu.url, retry=policy).add("5", make_chunks(make_rows(5), 10))
        assert len(emu.requests) == 2  # "retry a few times" only
    assert info.value.subcode == 1870148


def test_retry_a_few_times_counts_only_its_own_failures(make_sender: MakeSender) -> None:
    # Two throttles, then "something went wrong" (retry a few times: 2 here), then success
    script = {1: "rate_limit", 2: "rate_limit", 3: "went_wrong"}
    with GraphEmulator(token=TOKEN, faults=FaultPlan(script=script)) as emu:
        policy = RetryPolicy(max_attempts=10, few_attempts=2, backoff_base=0.0)
        report = make_sender(emu.url, retry=policy).add("5", make_chunks(make_rows(5), 10))
        assert [q.fault for q in emu.requests] == ["rate_limit", "rate_limit", "went_wrong", None]
    assert report.rows == 5
    with GraphEmulator(token=TOKEN, faults=FaultPlan(rate=1.0, kinds=("rate_limit",))) as emu:
        with pytest.raises(RateLimitError):  # max_attempts still caps every reason
            make_sender(emu.url, retry=RetryPolicy(max_attempts=3, backoff_base=0.0)).add(
                "5", make_chunks(make_rows(5), 10))
        assert len(emu.requests) == 3


# -- the 90-minute window ----------------------------------------------------------------


def advance_after(clock: FakeClock, rows: int, seconds: float) -> Callable[[int, int | None],
                                                                          None]:
    moved = []

    def progress(done: int, total: int | None) -> None:
        if done >= rows and not moved:
            moved.append(done)
            clock.advance(seconds)

    return progress


def test_an_add_outliving_its_session_continues_in_a_new_one(make_sender: MakeSender) -> None:
    clock = FakeClock()
    rows = make_rows(120)
    with GraphEmulator(token=TOKEN, clock=clock) as emu:
        sender = make_sender(emu.url, clock=clock, concurrency=4,
                             progress=advance_after(clock, 50, 86 * 60))
        report = sender.add("20", make_chunks(rows, 10))
        assert emu.rows("20", ["EMAIL"]) == as_set(rows)
        first, second = (emu.session(s) for s in report.session_ids)
        assert first is not None and second is not None
        assert first["last_seq"] is None and first["discarded"] == 0
        assert second["operation"] == "add" and second["last_seq"] == len(second["batches"])
        assert len(first["batches"]) + len(second["batches"]) == 12
        check_session_protocol(emu)
    assert len(report.session_ids) == 2 and report.batches == 12
    assert report.num_received == 120


def test_batches_retrying_when_the_window_ends_move_to_the_new_session(
    make_sender: MakeSender,
) -> None:
    clock = FakeClock()
    rows = make_rows(300)
    with GraphEmulator(token=TOKEN, clock=clock, faults=FaultPlan(rate=0.5), seed=4) as emu:
        sender = make_sender(emu.url, clock=clock, concurrency=4,
                             progress=advance_after(clock, 100, 86 * 60))
        report = sender.add("22", make_chunks(rows, 10))
        assert emu.rows("22", ["EMAIL"]) == as_set(rows)
        check_session_protocol(emu)
        sessions = [emu.session(s) for s in report.session_ids]
        assert sum(len(s["batches"]) for s in sessions) == 30  # type: ignore[index]
        assert sessions[0]["last_seq"] is None  # type: ignore[index]
    assert len(report.session_ids) == 2 and report.rows == 300


def test_a_batch_whose_retry_would_cross_the_window_goes_to_the_new_session(
    make_sender: MakeSender,
) -> None:
    clock = FakeClock()
    rows = make_rows(60)

    def slow_sleep(seconds: float) -> None:  # this backoff outlasts the window
        clock.advance(86 * 60)

    with GraphEmulator(token=TOKEN, clock=clock, faults=FaultPlan(script={4: "rate_limit"})
                       ) as emu:
        report = make_sender(emu.url, clock=clock, concurrency=1, sleep=slow_sleep).add(
            "23", make_chunks(rows, 10))
        throttled = emu.requests[3]
        retried = [q for q in emu.requests if q.rows == throttled.rows]
        assert [q.outcome for q in retried] == ["fault:rate_limit", "ok"]
        old, new = (q.session["session_id"] for q in retried)  # type: ignore[index]
        assert (old, new) == report.session_ids
        assert retried[1].session["batch_seq"] == 1  # type: ignore[index]
        assert emu.rows("23", ["EMAIL"]) == as_set(rows)
        check_session_protocol(emu)
    assert report.retries == {"rate_limit": 1} and report.batches == 6


def test_the_window_nearing_while_a_batch_is_read_waits_for_those_in_flight(
    make_sender: MakeSender,
) -> None:
    clock = FakeClock()
    rows = make_rows(60)
    chunks = make_chunks(rows, 10)

    def slow_input() -> Iterator[dict[str, Any]]:
        for i, chunk in enumerate(chunks):
            if i == 3:  # building this chunk takes long enough to cross the 85-minute mark
                time.sleep(0.05)
                clock.advance(86 * 60)
            yield chunk

    with GraphEmulator(token=TOKEN, clock=clock, latency=0.2) as emu:
        report = make_sender(emu.url, clock=clock, concurrency=4).add("20", slow_input())
        assert emu.rows("20", ["EMAIL"]) == as_set(rows)
        check_session_protocol(emu)  # the new session holds 1..n, its last batch last
        new = emu.session(report.session_ids[1])
        assert new is not None and sorted(new["batches"]) == list(range(1, new["last_seq"] + 1))
    assert report.batches == 6 and report.num_received == 60


class _JumpsAtRead(FakeClock):
    """Jumps past the session's window at the sending thread's ``k``-th reading."""

    def __init__(self, k: int) -> None:
        super().__init__()
        self.k, self.reads = k, 0

    def __call__(self) -> float:
        if threading.current_thread() is threading.main_thread():
            self.reads += 1
            if self.reads == self.k:
                self.advance(86 * 60)
        return self.now


def test_wherever_the_window_ends_no_batch_in_flight_is_numbered_again(
    make_sender: MakeSender,
) -> None:
    # The 85-minute mark may pass between any two readings of the clock. It used to be
    # read again when a batch was submitted: passing just before, the session was left
    # with batches in flight, and their places in the new one were never sent (its last
    # batch went before batches 1, 2 … that no request carried).
    rows = make_rows(120)
    jumped = []
    for k in range(2, 40):  # (the first reading starts the session)
        clock = _JumpsAtRead(k)
        with GraphEmulator(token=TOKEN, clock=clock, latency=0.02) as emu:
            report = make_sender(emu.url, clock=clock, concurrency=4).add(
                "30", make_chunks(rows, 10))
            assert emu.violations == [], k
            assert emu.rows("30", ["EMAIL"]) == as_set(rows), k
            check_session_protocol(emu)
        if len(report.session_ids) == 2:
            jumped.append(k)
    # it went on in a new session when the mark passed at each reading before the last
    # batch went (a run reads the clock about 37 times)
    assert len(jumped) >= 25, jumped


def test_a_replace_outliving_its_session_finishes_with_adds(make_sender: MakeSender) -> None:
    clock = FakeClock()
    old, new = make_rows(40, prefix="old"), make_rows(80, prefix="new")
    with GraphEmulator(token=TOKEN, clock=clock) as emu:
        sender = make_sender(emu.url, clock=clock, concurrency=2)
        sender.add("21", make_chunks(old, 10))
        sender = make_sender(emu.url, clock=clock, concurrency=2,
                             progress=advance_after(clock, 30, 88 * 60))
        report = sender.replace("21", make_chunks(new, 10, session_id=555))
        assert emu.rows("21", ["EMAIL"]) == as_set(new)
        replace, rest = (emu.session(s) for s in report.session_ids)
        assert replace["operation"] == "replace" and rest["operation"] == "add"  # type: ignore[index]
        assert rest["last_seq"] is not None  # type: ignore[index]
        check_session_protocol(emu)
    assert report.session_id == 555 and report.rows == 80


# -- progress, small calls ---------------------------------------------------------------


def test_progress_callable_counts_rows(make_sender: MakeSender, emulator: GraphEmulator) -> None:
    seen: list[tuple[int, int | None]] = []
    make_sender(emulator.url, progress=lambda d, t: seen.append((d, t))).add(
        "5", make_chunks(make_rows(35), 10))
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert seen[-1] == (35, 35) and len(seen) == 4


def tqdm_monitors() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if type(t).__name__ == "TMonitor"}


def test_a_tqdm_bar_can_be_forced(make_sender: MakeSender, emulator: GraphEmulator,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    before = tqdm_monitors()
    make_sender(emulator.url, progress=True).add("5", make_chunks(make_rows(25), 10))
    err = capsys.readouterr().err
    assert "25" in err and "rows" in err
    assert err.endswith("\n") and "100%" in err.splitlines()[-1]  # closed, drawn in full
    # no tqdm monitor thread: nothing else draws on stderr, during or after the upload
    assert tqdm_monitors() <= before


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_by_default_a_bar_is_drawn_in_a_terminal(
    emulator: GraphEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with Sender(TOKEN, base_url=emulator.url) as sender:
        sender.add("5", make_chunks(make_rows(25), 10))
    assert "25.0/25.0" in terminal.getvalue() and "add 5" in terminal.getvalue()


def test_by_default_a_bar_is_drawn_in_a_notebook_only(monkeypatch: pytest.MonkeyPatch) -> None:
    class ZMQInteractiveShell:  # what get_ipython() returns in Jupyter
        pass

    class TerminalInteractiveShell:  # what it returns in the IPython shell
        pass

    shell: list[object] = []
    fake = types.ModuleType("IPython")
    fake.get_ipython = lambda: shell[0] if shell else None  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "IPython", fake)
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert not wants_bar(None)  # IPython imported, no shell running
    shell.append(TerminalInteractiveShell())
    assert not wants_bar(None)
    shell[0] = ZMQInteractiveShell()
    assert wants_bar(None)
    assert not wants_bar(False) and wants_bar(True)
    assert not wants_bar(lambda done, total: None)


def test_no_bar_by_default_when_stderr_is_not_a_terminal(
    emulator: GraphEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    with Sender(TOKEN, base_url=emulator.url) as sender:
        assert sender.progress is None
        sender.add("5", make_chunks(make_rows(25), 10))
    assert capsys.readouterr().err == ""


def test_create_audience_then_upload_and_read_the_session(make_sender: MakeSender) -> None:
    with GraphEmulator(token=TOKEN, faults=FaultPlan(not_visible_after_create=1)) as emu:
        sender = make_sender(emu.url)
        audience = sender.create_audience("act_123", "VIP customers", description="LTV > 1k")
        info = emu.audience(audience)
        assert info is not None and info["is_value_based"] is False
        assert info["ad_account_id"] == "123" and info["description"] == "LTV > 1k"
        report = sender.add(audience, make_chunks(make_rows(30), 10))
        status = sender.session_status(audience, report.session_id)
        assert status["stage"] == "finished" and status["num_received"] == 30
        assert sender.session_status(audience, 1) == {}
    assert report.retries == {"not_visible": 1}


@pytest.mark.parametrize("fault", ["applied_then_dropped", "applied_then_502", "drop"])
def test_create_audience_is_not_sent_again_after_it_may_have_been_applied(
    make_sender: MakeSender, fault: str
) -> None:
    # a second create would make a duplicate audience; a throttle is retried
    with GraphEmulator(token=TOKEN, faults=FaultPlan(script={1: fault, 2: "rate_limit"})) as emu:
        sender = make_sender(emu.url)
        with pytest.raises(TransportError, match=r"may have been applied.*named 'VIP'"):
            sender.create_audience("123", "VIP")
        assert len(emu.requests) == 1
        audience = sender.create_audience("123", "Second")
        assert [q.fault for q in emu.requests[1:]] == ["rate_limit", None]
        assert emu.audience(audience) is not None


def test_logs_hold_counts_and_timings_not_rows(
    make_sender: MakeSender, caplog: pytest.LogCaptureFixture
) -> None:
    rows = make_rows(40)
    with caplog.at_level(logging.DEBUG, logger="audframe"), GraphEmulator(
        token=TOKEN, faults=FaultPlan(script={2: "rate_limit"})
    ) as emu:
        make_sender(emu.url).add("5", make_chunks(rows, 10))
    text = "\n".join(r.getMessage() for r in caplog.records if r.name == "audframe")
    assert "40 rows in 4 batches" in text and "rate_limit" in text
    assert rows[0][0] not in text and rows[0][0][:16] not in text


def test_a_given_requests_session_is_used_and_left_open(emulator: GraphEmulator) -> None:
    session = requests.Session()
    session.headers["X-Probe"] = "yes"
    with Sender(TOKEN, base_url=emulator.url, session=session, progress=False) as sender:
        sender.add("5", make_chunks(make_rows(3), 10))
    assert emulator.requests[0].headers.get("X-Probe") == "yes"
    assert session.get(f"{emulator.url}/v21.0/5/sessions", headers={
        "Authorization": f"Bearer {TOKEN}"}, timeout=5).ok
    session.close()


def test_invalid_entries_are_reported(make_sender: MakeSender) -> None:
    rows = [[digest("a"), 1.0], [digest("b"), 2.5], [digest("c"), 0.0]]
    chunks = make_chunks(rows, 2, schema=("EMAIL", "LOOKALIKE_VALUE"))
    with GraphEmulator(token=TOKEN, invalid_cells={digest("a")}) as emulator:
        report = make_sender(emulator.url).add("5", chunks)
    assert report.num_invalid_entries == 1 and report.num_received == 3
    sample = digest("a")[:40] + "…"
    assert report.invalid_entry_samples == {sample: "EMAIL: not usable"}
    table = report.batches_table
    assert table.columns == ["seq", "session_id", "rows", "attempts", "num_received",
                             "num_invalid_entries", "seconds", "resumed"]
    assert table["num_invalid_entries"].to_list() == [1, 0]
    assert table["num_received"].to_list() == [2, 3]
    assert report.to_dict()["batches_table"] == table.to_dicts()
    assert "3 rows in 2 batches" in repr(report)
    assert "<table>" in report._repr_html_() and sample in report._repr_html_()


def test_a_closed_sender_refuses_to_send(make_sender: MakeSender, emulator: GraphEmulator) -> None:
    sender = make_sender(emulator.url)
    sender.close()
    sender.close()  # twice is fine
    with pytest.raises(RuntimeError, match="closed"):
        sender.add("5", make_chunks(make_rows(3), 3))
    with pytest.raises(RuntimeError, match="closed"):
        sender.session_status("5", 1)
    assert emulator.requests == []


def test_nothing_to_send_reports_no_session(
    make_sender: MakeSender, emulator: GraphEmulator
) -> None:
    report = make_sender(emulator.url).add("5", [])
    assert report.batches == 0 and report.session_ids == () and report.session_id == 0


def test_a_bar_asked_for_without_stderr_is_skipped(
    make_sender: MakeSender, emulator: GraphEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stderr", None)  # pythonw, some services
    report = make_sender(emulator.url, progress=True).add("5", make_chunks(make_rows(20), 10))
    assert report.rows == 20


def test_a_ctrl_c_while_a_batch_is_handed_to_a_worker_loses_no_reply(
    make_sender: MakeSender, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import audframe.upload as upload_module

    class InterruptedPool(upload_module.ThreadPoolExecutor):
        """Ctrl-C lands inside the second submit, after the pool has taken the batch
        (where starting a worker thread waits) and the worker has sent it."""

        calls = 0

        def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
            future = super().submit(fn, *args, **kwargs)
            type(self).calls += 1
            if type(self).calls == 2:
                time.sleep(0.02)  # the request is out; its reply comes after 50 ms
                raise KeyboardInterrupt
            return future

    rows = make_rows(40)
    journal = tmp_path / "j.sqlite"
    with GraphEmulator(token=TOKEN, latency=0.05) as emu:
        monkeypatch.setattr(upload_module, "ThreadPoolExecutor", InterruptedPool)
        with pytest.raises(KeyboardInterrupt):
            make_sender(emu.url, concurrency=2).add("31", make_chunks(rows, 10), journal=journal)
        applied = {q.session["batch_seq"] for q in emu.requests
                   if q.session and q.outcome == "ok"}
        # batch 1 before the interrupt; batch 2 too, unless the worker saw the abort first
        assert applied in ({1}, {1, 2})
        monkeypatch.undo()
        report = make_sender(emu.url).add("31", make_chunks(rows, 10), journal=journal)
        # every batch applied before the interrupt was journaled, so none went twice
        seqs = [q.session["batch_seq"] for q in emu.requests if q.session and q.outcome == "ok"]
        assert sorted(seqs) == [1, 2, 3, 4]
        assert emu.violations == [] and emu.rows("31", ["EMAIL"]) == as_set(rows)
    assert report.batches_table["resumed"].sum() == len(applied)


def test_a_ctrl_c_with_a_reply_in_hand_loses_no_reply(
    make_sender: MakeSender, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import audframe.upload as upload_module

    ack = upload_module.Upload._ack
    interrupted = []

    def interrupted_ack(self: Any, batch: Any, sent: Any, **options: Any) -> None:
        """Ctrl-C lands after the send loop took batch 2's reply, before it is journaled."""
        if batch.index == 1 and not interrupted:
            interrupted.append(batch.index)
            raise KeyboardInterrupt
        ack(self, batch, sent, **options)

    rows = make_rows(40)
    journal = tmp_path / "j.sqlite"
    with GraphEmulator(token=TOKEN) as emu:
        monkeypatch.setattr(upload_module.Upload, "_ack", interrupted_ack)
        with pytest.raises(KeyboardInterrupt):
            make_sender(emu.url).add("31", make_chunks(rows, 10), journal=journal)
        applied = sum(1 for q in emu.requests if q.session and q.outcome == "ok")
        assert interrupted == [1] and applied >= 2
        monkeypatch.undo()
        report = make_sender(emu.url).add("31", make_chunks(rows, 10), journal=journal)
        # batch 2, applied and in hand when interrupted, was journaled: none went twice
        seqs = [q.session["batch_seq"] for q in emu.requests if q.session and q.outcome == "ok"]
        assert sorted(seqs) == [1, 2, 3, 4]
        assert emu.violations == [] and emu.rows("31", ["EMAIL"]) == as_set(rows)
    assert report.batches_table["resumed"].sum() == applied


def test_a_second_ctrl_c_while_replies_are_awaited_loses_no_reply(
    make_sender: MakeSender, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import audframe.upload as upload_module

    Upload = upload_module.Upload
    ack, send = Upload._ack, Upload._send
    interrupts: list[str] = []

    def interrupted_ack(self: Any, batch: Any, sent: Any, **options: Any) -> None:
        if batch.index == 1 and not interrupts:  # the first Ctrl-C
            interrupts.append("first")
            raise KeyboardInterrupt
        ack(self, batch, sent, **options)

    third_sent, second_ctrl_c = threading.Event(), threading.Event()

    def slow_reply(self: Any, batch: Any, *rest: Any) -> Any:
        sent = send(self, batch, *rest)
        if batch.index == 1:  # batch 2's reply (the first Ctrl-C) comes after batch 3 went
            assert third_sent.wait(30)
        if batch.index == 2:  # applied by Meta, its reply on its way until the second one
            third_sent.set()
            assert second_ctrl_c.wait(30)
        return sent

    class InterruptedWait(upload_module.Future):  # type: ignore[type-arg]
        """The second Ctrl-C lands while the loop waits for a reply still on its way."""

        def _interrupted(self) -> None:
            if not self.done() and interrupts == ["first"]:
                interrupts.append("second")
                second_ctrl_c.set()
                raise KeyboardInterrupt

        def result(self, timeout: float | None = None) -> Any:
            self._interrupted()
            return super().result(timeout)

        def exception(self, timeout: float | None = None) -> Any:
            self._interrupted()
            return super().exception(timeout)

    rows = make_rows(40)
    journal = tmp_path / "j.sqlite"
    with GraphEmulator(token=TOKEN) as emu:
        monkeypatch.setattr(Upload, "_ack", interrupted_ack)
        monkeypatch.setattr(Upload, "_send", slow_reply)
        monkeypatch.setattr(upload_module, "Future", InterruptedWait)
        with pytest.raises(KeyboardInterrupt):
            make_sender(emu.url, concurrency=3).add("31", make_chunks(rows, 10),
                                                    journal=journal)
        assert interrupts == ["first", "second"]
        monkeypatch.undo()
        report = make_sender(emu.url).add("31", make_chunks(rows, 10), journal=journal)
        # batches 1-3 were applied before the interrupts and journaled: none went twice
        seqs = [q.session["batch_seq"] for q in emu.requests if q.session and q.outcome == "ok"]
        assert sorted(seqs) == [1, 2, 3, 4]
        assert emu.violations == [] and emu.rows("31", ["EMAIL"]) == as_set(rows)
    assert report.batches_table["resumed"].sum() == 3


def test_a_base_url_requests_cannot_send_to_fails_at_once(make_sender: MakeSender) -> None:
    waits: list[float] = []
    sender = make_sender("https://exa mple.com", max_attempts=8, backoff_base=1.0,
                         sleep=waits.append)
    with pytest.raises(TransportError, match="base_url is not a URL requests can send to"):
        sender.add("5", make_chunks(make_rows(3), 3))
    assert waits == []  # not retried with backoff


@pytest.mark.parametrize(("option", "value", "error", "message"), [
    ("retry", {"max_attempts": 2}, TypeError, "retry is an audframe.RetryPolicy"),
    ("retry", {}, TypeError, "retry is an audframe.RetryPolicy"),  # not the default, silently
    ("progress", "yes", TypeError, "progress is True, False, None"),
    ("session", {}, TypeError, "session is a requests.Session"),
    ("concurrency", True, ValueError, "concurrency must be a whole number"),
    ("concurrency", 2.5, ValueError, "concurrency must be a whole number"),
    ("concurrency", 0, ValueError, "concurrency must be a whole number"),
    ("timeout", "5", ValueError, "timeout must be a positive number"),
    ("timeout", 0, ValueError, "timeout must be a positive number"),
])
def test_sender_options_of_the_wrong_kind_are_refused_before_anything_is_sent(
    option: str, value: Any, error: type[Exception], message: str
) -> None:
    # they used to fail mid-upload: a dict for retry at the first throttle
    with pytest.raises(error, match=message):
        Sender(TOKEN, **{option: value})


@pytest.mark.parametrize("api_version", ["21", "v21", "21.0", "v21.0/"])
def test_an_api_version_graph_has_not_is_refused(api_version: str) -> None:
    with pytest.raises(ValueError, match="is not a Graph API version"):
        Sender(TOKEN, api_version=api_version)


@pytest.mark.parametrize("bad", [True, 0, -5, 2**63, "7"])
def test_a_session_id_meta_would_refuse_is_refused_before_anything_is_sent(
    make_sender: MakeSender, emulator: GraphEmulator, bad: Any
) -> None:
    chunks = make_chunks(make_rows(3), 3)
    chunks[0]["session"]["session_id"] = bad
    with pytest.raises(ValueError, match=r"the chunks' session\.session_id must be"):
        make_sender(emulator.url).add("5", chunks)
    with pytest.raises(ValueError, match=r"^session_id must be"):
        make_sender(emulator.url).add("5", make_chunks(make_rows(3), 3), session_id=bad)
    assert emulator.requests == []
    # the chunks' own id is not used when one is given
    assert make_sender(emulator.url).add("5", chunks, session_id=77).session_id == 77
