"""What a user's own code sees of audframe's types: ``make lint`` runs ``mypy --strict``
over this file (never run, only checked).

``assert_type`` pins a type; a ``# type: ignore[code]`` line is wrong code mypy must
refuse (strict mypy reports an ignore that is not needed, so it fails if it passes).
"""

from __future__ import annotations

from typing import assert_type

import polars as pl

import audframe
from audframe.emulator import AudienceState, SessionState
from audframe.namespace import AudienceFrame
from audframe.payloads import Chunk, Payload, Session

MAPPING = {"EMAIL": "email", "PHONE": "phone", "COUNTRY": "country"}


def frames(df: pl.DataFrame, lf: pl.LazyFrame, either: pl.DataFrame | pl.LazyFrame) -> None:
    # each function returns the kind of frame it was given
    assert_type(audframe.normalize(df, MAPPING), pl.DataFrame)
    assert_type(audframe.normalize(lf, MAPPING), pl.LazyFrame)
    assert_type(audframe.prepare(lf, MAPPING), pl.LazyFrame)
    assert_type(audframe.hash(df), pl.DataFrame)
    # and a frame that may be either gives one that may be either
    keys = audframe.normalize(either, MAPPING, default_country="US")
    assert_type(keys, pl.DataFrame | pl.LazyFrame)
    assert_type(audframe.check_normalized(keys), pl.DataFrame | pl.LazyFrame)
    assert_type(audframe.hash(keys), pl.DataFrame | pl.LazyFrame)
    assert_type(audframe.prepare(either, MAPPING), pl.DataFrame | pl.LazyFrame)
    assert_type(AudienceFrame(either).hash(), pl.DataFrame | pl.LazyFrame)
    audframe.normalize(df, MAPPING, default_country=1)  # type: ignore[arg-type]


def payloads(hashed: pl.DataFrame) -> None:
    chunks = audframe.to_payloads(hashed)
    assert_type(chunks, audframe.Payloads)
    assert_type(chunks.stats, audframe.PayloadStats)
    chunk = next(chunks)
    assert_type(chunk, Chunk)
    assert_type(chunk["payload"], Payload)
    assert_type(chunk["payload"]["data"], list[list[str | int | float]])
    assert_type(chunk["session"]["batch_seq"], int)
    assert_type(chunk["session"]["last_batch_flag"], bool)
    chunk["session"]["batchseq"]  # type: ignore[typeddict-item]
    for session, form in audframe.to_payloads(hashed).fields():
        assert_type(session, Session)
        assert_type(form["payload"], str)
    assert_type(AudienceFrame(hashed).to_payloads(batch_size=5_000), audframe.Payloads)
    AudienceFrame(hashed).to_payloads(batch_sise=5_000)  # type: ignore[call-arg]
    sent, report = AudienceFrame(hashed).payloads_and_report(MAPPING, default_country="US")
    assert_type(sent, audframe.Payloads)
    assert_type(report, audframe.ValidationReport)
    AudienceFrame(hashed).payloads_and_report(defualt_country="US")  # type: ignore[call-arg]


def emulator(emu: audframe.GraphEmulator) -> None:
    state = emu.audience(120210000000000001)
    assert_type(state, AudienceState | None)
    if state is not None:
        assert_type(state["size"], int)
    session = emu.session(1)
    if session is not None:
        assert_type(session, SessionState)
        assert_type(session["num_received"], int)
    emu.audience("1")["size"]  # type: ignore[index]
