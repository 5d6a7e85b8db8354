"""Tokens and secrets: in a header or the body, never in a URL, log, exception, repr, journal."""

from __future__ import annotations

import hashlib
import json
import logging
import pickle
import threading
import traceback
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from conftest import APP_SECRET, TOKEN, make_chunks, make_rows

from audframe import emulator as emulator_module
from audframe.emulator import FaultPlan, GraphEmulator
from audframe.errors import AudframeError, GraphAPIError, NotHashedError, TransportError
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
    assert TOKEN not in repr(records) and APP_SECRET not in repr(records)
    for q in records:
        assert TOKEN not in q.url and APP_SECRET not in q.url and "payload" not in q.url
        assert q.headers["Authorization"] == f"Bearer {TOKEN}"
        assert TOKEN.encode() not in q.body
        assert APP_SECRET not in str(q.headers) and APP_SECRET.encode() not in q.body
        sent_proof = q.form.get("appsecret_proof") or q.url.split("appsecret_proof=")[-1]
        assert sent_proof == proof


def test_a_netrc_login_does_not_replace_the_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make_sender: MakeSender,
    emulator: GraphEmulator,
) -> None:
    # requests puts a ~/.netrc login in place of an Authorization header it was given
    netrc = tmp_path / ".netrc"
    netrc.write_text("default login someone password hunter2\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    report = make_sender(emulator.url).add("5", make_chunks(make_rows(3), 3))
    assert report.rows == 3
    assert [q.headers["Authorization"] for q in emulator.requests] == [f"Bearer {TOKEN}"]


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
    texts = [repr(sender), str(sender), repr(vars(sender)), repr(vars(sender._transport)),
             repr(report), str(report.to_dict()), report._repr_html_(), repr(emulator)]
    for text in texts:
        for secret in (*SECRETS, appsecret_proof(APP_SECRET, TOKEN)):
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


# -- a server that echoes what it got (a gateway, a proxy, a misbehaving Graph) ------------

ECHOED_TOKEN = "EAA+tok/en=="  # the characters of real tokens that URL-encoding changes


@contextmanager
def echo_server(
    status: int,
    body: Callable[[str, str], dict[str, Any]],
    encode: Callable[[dict[str, Any]], str] = json.dumps,
    content_type: Callable[[str], str] = lambda authorization: "application/json",
) -> Iterator[str]:
    """A local HTTP server answering every POST with ``status`` and ``encode`` (JSON)
    of ``body(authorization header, appsecret_proof)``, as ``content_type(authorization
    header)``; yields its base URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # the session's status: the same answer
            query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))
            self.answer(query.get("appsecret_proof", ""))

        def do_POST(self) -> None:
            form = dict(urllib.parse.parse_qsl(
                self.rfile.read(int(self.headers["Content-Length"])).decode()))
            self.answer(form.get("appsecret_proof", ""))

        def answer(self, proof: str) -> None:
            out = encode(body(self.headers["Authorization"], proof))
            self.send_response(status)
            self.send_header("Content-Type", content_type(self.headers["Authorization"]))
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out.encode())

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def _echoed(authorization: str, proof: str) -> str:
    token = authorization.removeprefix("Bearer ")
    return f"{token} {urllib.parse.quote(token, safe='')} {token.lower()} {proof}"


def _leaks(text: str) -> list[str]:
    proof = appsecret_proof(APP_SECRET, ECHOED_TOKEN)
    forms = [ECHOED_TOKEN, urllib.parse.quote(ECHOED_TOKEN, safe=""), ECHOED_TOKEN.lower(), proof]
    return [form for form in forms if form in text]


def _json_escaped(reply: dict[str, Any]) -> str:
    """JSON as some servers write it: every letter E as \\u0045, every / as \\/. The raw
    text then holds no secret (\\u0045AA+tok\\/en==); its decoded strings do."""
    return json.dumps(reply).replace("E", "\\u0045").replace("/", "\\/")


ENCODINGS = pytest.mark.parametrize("encode", [json.dumps, _json_escaped], ids=["plain", "escaped"])


@ENCODINGS
def test_an_error_body_that_echoes_the_secrets_is_read_without_them(
    make_sender: MakeSender, encode: Callable[[dict[str, Any]], str]
) -> None:
    def error(authorization: str, proof: str) -> dict[str, Any]:
        return {"error": {"message": f"Cannot parse access token: {_echoed(authorization, proof)}",
                          "code": 190, "fbtrace_id": authorization,
                          "error_user_msg": _echoed(authorization, proof)}}

    with echo_server(400, error, encode=encode) as url:
        sender = make_sender(url, token=ECHOED_TOKEN, app_secret=APP_SECRET)
        with pytest.raises(GraphAPIError) as info:
            sender.add("5", make_chunks(make_rows(3), 3))
    text = "".join(traceback.format_exception(info.value)) + repr(info.value)
    assert "Cannot parse access token: ***" in text and info.value.code == 190
    assert _leaks(text) == []


@ENCODINGS
def test_a_reply_that_echoes_the_secrets_is_kept_without_them(
    make_sender: MakeSender, tmp_path: Path, encode: Callable[[dict[str, Any]], str]
) -> None:
    def reply(authorization: str, proof: str) -> dict[str, Any]:
        return {"audience_id": "5", "session_id": "1", "num_received": 3,
                "num_invalid_entries": 1,
                "invalid_entry_samples": {_echoed(authorization, proof): authorization}}

    journal = tmp_path / "j.sqlite"
    with echo_server(200, reply, encode=encode) as url:
        report = make_sender(url, token=ECHOED_TOKEN, app_secret=APP_SECRET).add(
            "5", make_chunks(make_rows(3), 3), journal=journal)
    assert report.num_invalid_entries == 1
    texts = [repr(report), str(report.to_dict()), report._repr_html_(),
             b"".join(f.read_bytes() for f in tmp_path.iterdir()).decode("utf-8", "replace")]
    assert "***" in report._repr_html_()
    for text in texts:
        assert _leaks(text) == []


def test_a_content_type_that_echoes_the_token_is_read_without_it(
    make_sender: MakeSender, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with echo_server(502, lambda a, p: {}, encode=lambda reply: "<html>bad gateway</html>",
                     content_type=lambda a: f"text/html-{a.removeprefix('Bearer ')}") as url:
        sender = make_sender(url, token=ECHOED_TOKEN)
        with pytest.raises(TransportError) as info:
            sender.add("5", make_chunks(make_rows(3), 3))
    text = "".join(traceback.format_exception(info.value)) + caplog.text
    assert "body that is not JSON (text/html-***)" in text
    assert _leaks(text) == []


@pytest.mark.parametrize("name", ["access_token", "app_secret"])
def test_a_secret_too_short_to_scrub_is_refused_unseen(name: str) -> None:
    secrets = {"access_token": TOKEN, "app_secret": APP_SECRET, name: "s3cr3t7"}
    with pytest.raises(ValueError, match=f"{name} is shorter than 8") as info:
        Sender(secrets["access_token"], app_secret=secrets["app_secret"])
    assert "s3cr3t7" not in str(info.value)


def test_a_redirect_is_not_taken_for_an_answer(make_sender: MakeSender) -> None:
    with echo_server(307, lambda authorization, proof: {}) as url:
        sender = make_sender(url, app_secret=APP_SECRET)
        with pytest.raises(TransportError, match="HTTP 307 redirect, not followed"):
            sender.add("5", make_chunks(make_rows(3), 3))


@pytest.mark.parametrize("token", ["EAA\u00e9token", "EAAtoken\n", "EAA token", "EAAтокен"])
def test_a_token_no_graph_token_looks_like_is_refused_unseen(token: str) -> None:
    with pytest.raises(ValueError, match="characters no Graph token has") as info:
        Sender(token)
    assert token.strip() not in str(info.value)


@pytest.mark.parametrize("base_url", [
    f"https://graph.facebook.com/?access_token={TOKEN}",
    f"https://user:{TOKEN}@graph.facebook.com",
    f"https://graph.facebook.com#{TOKEN}",
    "graph.facebook.com",
])
def test_a_base_url_with_credentials_is_refused_unseen(base_url: str) -> None:
    with pytest.raises(ValueError, match="plain https") as info:
        Sender(TOKEN, base_url=base_url)
    assert TOKEN not in str(info.value)


@pytest.mark.parametrize(("base_url", "message"), [
    (f"https://graph.facebook.com/{TOKEN}", "base_url holds the access_token"),
    (f"https://graph.facebook.com/{APP_SECRET.upper()}", "base_url holds the app_secret"),
    (f"https://graph.facebook.com/{TOKEN.replace('-', '%2D')}", "holds the access_token"),
    ("http://graph.facebook.com", "must use https"),  # the token would go unencrypted
    ("http://emulator:8080", "must use https"),
    ("https://graph.facebook.com/v21.0", "names an API version"),
    ("https://graph.facebook.com//V21.0//", "names an API version"),
])
def test_a_base_url_that_would_leak_or_misroute_is_refused_unseen(
    base_url: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message) as info:
        Sender(TOKEN, app_secret=APP_SECRET, base_url=base_url)
    assert TOKEN not in str(info.value) and APP_SECRET.lower() not in str(info.value).lower()
    for local in ("http://127.0.0.1:8000", "http://localhost", "http://[::1]:1",
                  "http://127.0.0.2", "http://localhost.:9", "http://0.0.0.0:80",
                  "http://[0:0:0:0:0:0:0:1]", "https://proxy.example/graph"):
        Sender(TOKEN, base_url=local).close()  # the emulator's


def test_a_list_of_chunks_is_sent_as_it_was_checked(
    make_sender: MakeSender, emulator: GraphEmulator
) -> None:
    raw = "alice@example.com"

    class Changing(Sequence[dict[str, Any]]):
        """Chunks that hold digests when checked and raw values when read again."""

        reads = 0

        def __len__(self) -> int:
            return 1

        def __getitem__(self, i: Any) -> Any:
            if i != 0:
                raise IndexError(i)
            type(self).reads += 1
            cell = hashlib.sha256(raw.encode()).hexdigest() if self.reads == 1 else raw
            return {"payload": {"schema": ["EMAIL"], "data": [[cell]]}}

    with pytest.raises(NotHashedError):
        make_sender(emulator.url).add("5", Changing())
    assert Changing.reads == 2
    assert not any(raw.encode() in q.body or b"alice%40" in q.body for q in emulator.requests)
