"""Tokens and secrets: in a header or the body, never in a URL, log, exception, repr, journal."""

from __future__ import annotations

import logging
import pickle
import traceback
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import APP_SECRET, TOKEN, make_chunks, make_rows

from audframe import emulator as emulator_module
from audframe.emulator import FaultPlan, GraphEmulator
from audframe.errors import AudframeError, GraphAPIError
from audframe.sender import Sender, appsecret_proof

MakeSender = Callable[..., Sender]
SECRETS = (TOKEN, APP_SECRET)


def test_appsecret_proof_matches_the_spec_vector() -> None:
    vector = "cdfcbc87edc90f8123cd3797a0d6f6f7eedf63d97038a15d1693d297f653d7f2"
    assert appsecret_proof("appsecret-123", "access-token-234") == vector
    assert emulator_module.appsecret_proof("appsecret-123", "access-token-234") == vector


def test_token_travels_in_a_header_and_the_secret_never_travels(
    make_sender: MakeSender,
) -> None:
    proof = appsecret_proof(APP_SECRET, TOKEN)
    with GraphEmulator(token=TOKEN, app_secret=APP_SECRET,
                       faults=FaultPlan(rate=0.3), seed=2) as emu:
        sender = make_sender(emu.url, app_secret=APP_SECRET)
        audience = sender.create_audience("99", "secret-free")
        report = sender.add(audience, make_chunks(make_rows(60), 10))
        sender.remove(audience, make_chunks(make_rows(10), 10, session_id=3))
        sender.session_status(audience, report.session_id)
        records = emu.requests
    assert len(records) > 8
    assert {q.method for q in records} == {"GET", "POST", "DELETE"}
    for q in records:
        assert TOKEN not in q.url and APP_SECRET not in q.url and "payload" not in q.url
        assert q.headers["Authorization"] == f"Bearer {TOKEN}"
        assert TOKEN.encode() not in q.body
        assert APP_SECRET not in str(q.headers) and APP_SECRET.encode() not in q.body
        sent_proof = q.form.get("appsecret_proof") or q.url.split("appsecret_proof=")[-1]
        assert sent_proof == proof


def test_no_secret_in_log_records(make_sender: MakeSender,
                                  caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, urllib3's included
    with GraphEmulator(token=TOKEN, app_secret=APP_SECRET, faults=FaultPlan(rate=0.4)) as emu:
        make_sender(emu.url, app_secret=APP_SECRET).add("5", make_chunks(make_rows(80), 10))
        with pytest.raises(GraphAPIError):
            make_sender(emu.url, app_secret="wrong-secret").add(
                "5", make_chunks(make_rows(10), 10))
    assert len(caplog.records) > 10
    for record in caplog.records:
        text = record.getMessage() + repr(record.args) + str(record.__dict__)
        for secret in (*SECRETS, "wrong-secret"):
            assert secret not in text


def test_no_secret_in_exceptions(make_sender: MakeSender, emulator: GraphEmulator) -> None:
    failures: list[BaseException] = []
    for kwargs in ({"token": "EAAbad-token-1234567"}, {"max_attempts": 1}):
        with GraphEmulator(token=TOKEN, faults=FaultPlan(rate=1.0, kinds=("drop",))) as down:
            url = emulator.url if "token" in kwargs else down.url
            sender = make_sender(url, app_secret=APP_SECRET, **kwargs)
            with pytest.raises(AudframeError) as info:
                sender.add("5", make_chunks(make_rows(10), 10))
            failures.append(info.value)
    assert isinstance(failures[0], GraphAPIError) and failures[0].code == 190
    for exc in failures:
        text = "".join(traceback.format_exception(exc)) + repr(exc) + repr(vars(exc))
        for secret in (*SECRETS, "EAAbad-token-1234567"):
            assert secret not in text


def test_no_secret_in_reprs_reports_or_pickles(
    make_sender: MakeSender, emulator: GraphEmulator
) -> None:
    sender = make_sender(emulator.url, app_secret=APP_SECRET)
    report = sender.add("5", make_chunks(make_rows(20), 10))
    texts = [repr(sender), str(sender), repr(vars(sender)), repr(report), str(report.to_dict()),
             report._repr_html_(), repr(emulator)]
    for text in texts:
        for secret in SECRETS:
            assert secret not in text
    assert "app_secret=***" in repr(sender)
    with pytest.raises(TypeError):
        pickle.dumps(sender)


def test_no_secret_in_journal_files(tmp_path: Path, make_sender: MakeSender) -> None:
    path = tmp_path / "upload.sqlite"
    with GraphEmulator(token=TOKEN, app_secret=APP_SECRET, faults=FaultPlan(rate=0.3)) as emu:
        make_sender(emu.url, app_secret=APP_SECRET).add(
            "5", make_chunks(make_rows(50), 10), journal=path)
    files = list(tmp_path.iterdir())
    assert path in files
    data = b"".join(f.read_bytes() for f in files)
    assert b"num_received" in data  # the journal is really in these bytes
    for secret in SECRETS:
        assert secret.encode() not in data
    assert appsecret_proof(APP_SECRET, TOKEN).encode() not in data
