"""Shared fixtures: a running Graph API emulator, hand-made chunks, fast senders."""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from audframe.emulator import GraphEmulator
from audframe.sender import Sender

# Property tests draw the same examples on every run, so that a run (CI's) cannot fail on
# an input no earlier run has seen; `make fuzz` (AUDFRAME_FUZZ=1) draws new ones each run.
settings.register_profile("fixed", derandomize=True)
settings.register_profile("fuzz", derandomize=False, max_examples=1000)
settings.load_profile("fuzz" if os.environ.get("AUDFRAME_FUZZ") else "fixed")

#: The token every emulator in the tests accepts; it must never leak anywhere.
TOKEN = "EAAtest-token-9f8e7d6c5b4a"
#: An app secret used by the appsecret_proof tests.
APP_SECRET = "app-secret-0a1b2c3d"


def digest(text: str) -> str:
    """SHA-256 hex of ``text``: what a hashed cell looks like."""
    return hashlib.sha256(text.encode()).hexdigest()


def eventually(condition: Callable[[], bool], *, within: float = 60.0) -> None:
    """Wait until ``condition()`` holds (what another thread or process does comes when it
    comes on a loaded machine); fail after ``within`` seconds."""
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "the awaited condition never came"
        time.sleep(0.01)


@contextlib.contextmanager
def database(path: Path) -> Iterator[sqlite3.Connection]:
    """A SQLite connection that commits and is closed (``with sqlite3.connect(…)`` only
    commits, and a connection left open is a ResourceWarning on newer Pythons)."""
    with contextlib.closing(sqlite3.connect(path, timeout=5)) as db, db:
        yield db


def batches_in(journal: Path) -> int:
    """How many batches the journal of a running upload holds (0 before it is made)."""
    try:  # read-only: never makes the file the upload is about to make
        uri = f"{journal.as_uri()}?mode=ro"
        with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=5)) as db:
            return int(db.execute("SELECT count(*) FROM batches").fetchone()[0])
    except sqlite3.OperationalError:  # not made yet, or its tables not yet
        return 0


def make_rows(n: int, *, start: int = 0, prefix: str = "user") -> list[list[Any]]:
    """``n`` one-column EMAIL rows of distinct digests."""
    return [[digest(f"{prefix}{i}@example.com")] for i in range(start, start + n)]


def make_chunks(
    rows: list[list[Any]], batch_size: int, *, schema: tuple[str, ...] = ("EMAIL",),
    session_id: int = 4242,
) -> list[dict[str, Any]]:
    """Chunks shaped like ``audframe.to_payloads``'s, built by hand."""
    chunks = []
    count = -(-len(rows) // batch_size)
    for i in range(count):
        chunks.append({
            "payload": {"schema": list(schema),
                        "data": rows[i * batch_size:(i + 1) * batch_size]},
            "session": {"session_id": session_id, "batch_seq": i + 1,
                        "last_batch_flag": i == count - 1, "estimated_num_total": len(rows)},
        })
    return chunks


class FakeClock:
    """A wall clock that only moves when told to."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(autouse=True)
def _no_protocol_violations(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """Every emulator a test starts must end without a session-protocol violation (a
    last batch before the others were acknowledged, a replace's batch before batch 1 …),
    unless the test is marked ``violations`` (it makes them on purpose, and checks them)."""
    made: list[GraphEmulator] = []
    start = GraphEmulator.__init__

    def noted(self: GraphEmulator, *args: Any, **kwargs: Any) -> None:
        start(self, *args, **kwargs)
        made.append(self)

    monkeypatch.setattr(GraphEmulator, "__init__", noted)
    yield
    if request.node.get_closest_marker("violations") is None:
        for emu in made:
            assert emu.violations == [], "the emulator saw session-protocol violations"


@pytest.fixture
def emulator() -> Iterator[GraphEmulator]:
    """A Graph API emulator on 127.0.0.1 accepting :data:`TOKEN`, without faults."""
    with GraphEmulator(token=TOKEN) as emu:
        yield emu


@pytest.fixture
def make_sender() -> Iterator[Callable[..., Sender]]:
    """Build senders with millisecond backoffs (closed after the test)."""
    made: list[Sender] = []

    def build(base_url: str, **kwargs: Any) -> Sender:
        options: dict[str, Any] = {
            "backoff_base": 0.001, "backoff_max": 0.005, "max_attempts": 40,
            "progress": False, "rng": random.Random(7), "timeout": 10.0,
        }
        options.update(kwargs)
        token = options.pop("token", TOKEN)
        sender = Sender(token, base_url=base_url, **options)
        made.append(sender)
        return sender

    yield build
    for sender in made:
        sender.close()
