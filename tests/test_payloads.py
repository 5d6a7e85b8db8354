"""audframe.to_payloads, form_fields, check_chunk: Graph API chunks and sessions."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import tempfile
import threading
import urllib.parse
from pathlib import Path
from typing import Any

import orjson
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import audframe
from audframe import payloads
from audframe.errors import NotHashedError, ValidationError
from audframe.payloads import (
    MAX_BATCH_SIZE,
    Payloads,
    check_chunk,
    form_fields,
    new_session_id,
    to_payloads,
)

SEED = Path(__file__).parent / "data" / "seed_example.txt"  # lines of the seed page
DIGEST = re.compile(r"^[0-9a-f]{64}$")
HEX4 = re.compile(r"^[0-9a-f]{4}$")


def h(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def hashed(n: int, *, offset: int = 0) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "EMAIL": [h(f"user{i}@example.com") for i in range(offset, offset + n)],
            "LOOKALIKE_VALUE": [float(i) for i in range(offset, offset + n)],
        }
    )


def seed_payload() -> Any:
    text = SEED.read_text()
    encoded = re.search(r"^payload=(\S+)$", text, re.MULTILINE)
    assert encoded is not None
    return orjson.loads(urllib.parse.unquote(encoded.group(1)))


def test_the_seeds_own_example() -> None:
    emails = [f"test{i}@example.com" for i in range(1, 5)]
    raw = pl.DataFrame({"email": emails, "value": [44.5, 140, 0, 0.9]})
    frame = audframe.hash(audframe.normalize(raw, {"EMAIL": "email", "LOOKALIKE_VALUE": "value"}))
    expected = seed_payload()
    chunks = list(to_payloads(frame, session_id=1))
    assert len(chunks) == 1
    fields = form_fields(chunks[0])
    assert orjson.loads(fields["payload"]) == expected
    # Byte for byte, as the seed's PHP example sends it: 140 and 0 are integers.
    php = re.search(r"'payload' => '(\{.*\})'", SEED.read_text())
    assert php is not None
    assert fields["payload"] == php.group(1)
    (session, fast), = to_payloads(frame, session_id=1).fields()
    assert fast == fields
    assert session == chunks[0]["session"]


def test_chunk_shape_schema_order_missing_cells_and_numbers() -> None:
    digest = h("a@b.co")
    df = pl.DataFrame(
        {
            "other": ["ignored", "ignored", "ignored"],
            "LOOKALIKE_VALUE": [1.5, None, 3.0],
            "PHONE": [None, h("15551234567"), None],
            "EMAIL": [digest, None, digest],
            "EXTERN_ID": ["c1", "c2", None],
        }
    )
    (chunk,) = to_payloads(df, session_id=42)
    assert chunk == {
        "payload": {
            "schema": ["EXTERN_ID", "EMAIL", "PHONE", "LOOKALIKE_VALUE"],
            "data": [
                ["c1", digest, "", 1.5],
                ["c2", "", h("15551234567"), ""],
                ["", digest, "", 3],
            ],
        },
        "session": {
            "session_id": 42, "batch_seq": 1, "last_batch_flag": True, "estimated_num_total": 3,
        },
    }
    assert type(chunk["payload"]["data"][2][3]) is int
    assert form_fields(chunk)["payload"].startswith('{"schema":["EXTERN_ID","EMAIL"')


def test_rows_without_a_match_key_are_dropped_and_counted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="audframe")
    df = pl.DataFrame(
        {
            "EMAIL": [h("a"), None, "", None, h("b")],
            "MADID": [None, None, None, "6d92078a-8246-4ba4-ae5b-76104861e7dc", None],
            "LOOKALIKE_VALUE": [1.0, 2.0, 3.0, 4.0, None],
        }
    )
    chunks = to_payloads(df)
    assert chunks.stats.rows_read == 5
    assert chunks.stats.rows_dropped == 2
    assert chunks.stats.estimated_num_total == 3
    assert "dropped 2 of 5 rows" in caplog.text
    data = [row for chunk in chunks for row in chunk["payload"]["data"]]
    assert [row[0] for row in data] == [h("a"), "", h("b")]


@pytest.mark.parametrize("bad", [0, -1, MAX_BATCH_SIZE + 1, 2.5, True, "10"])
def test_batch_size_outside_the_range_is_refused_by_the_call(bad: Any) -> None:
    with pytest.raises(ValueError, match="batch_size"):
        to_payloads(hashed(3), batch_size=bad)


@pytest.mark.parametrize("bad", [0, -5, 2**63, 1.0])
def test_a_bad_session_id_is_refused(bad: Any) -> None:
    with pytest.raises(ValueError, match="session_id"):
        to_payloads(hashed(3), session_id=bad)


def test_random_session_ids_are_positive_63_bit() -> None:
    ids = {new_session_id() for _ in range(200)} | {
        to_payloads(hashed(1)).stats.session_id for _ in range(20)
    }
    assert len(ids) == 220
    assert all(0 < i < 2**63 for i in ids)
    assert any(i >= 2**62 for i in ids)  # the high bits are used


@pytest.mark.parametrize(
    ("rows", "size", "lengths"),
    [
        (1, 1, [1]),
        (3, 1, [1, 1, 1]),
        (10, 5, [5, 5]),  # an exact multiple still flags its last chunk
        (11, 5, [5, 5, 1]),
        (20_000, MAX_BATCH_SIZE, [10_000, 10_000]),
        (20_001, MAX_BATCH_SIZE, [10_000, 10_000, 1]),
    ],
)
@pytest.mark.parametrize("lazy", [False, True], ids=["eager", "lazy"])
def test_chunk_sizes_and_session_fields(
    rows: int, size: int, lengths: list[int], lazy: bool
) -> None:
    df = hashed(rows)
    frame = df.lazy() if lazy else df
    chunks = list(to_payloads(frame, batch_size=size, session_id=7))
    assert [len(c["payload"]["data"]) for c in chunks] == lengths
    sessions = [c["session"] for c in chunks]
    assert [s["batch_seq"] for s in sessions] == list(range(1, len(lengths) + 1))
    assert [s["last_batch_flag"] for s in sessions] == [False] * (len(lengths) - 1) + [True]
    assert {s["estimated_num_total"] for s in sessions} == {rows}
    assert {s["session_id"] for s in sessions} == {7}
    data = [row for c in chunks for row in c["payload"]["data"]]
    assert data == [list(r) for r in df.with_columns(pl.col("LOOKALIKE_VALUE").cast(int)).rows()]


def test_the_default_batch_is_the_graph_maximum() -> None:
    chunks = list(to_payloads(hashed(10_001)))
    assert [len(c["payload"]["data"]) for c in chunks] == [10_000, 1]
    assert chunks[0]["session"]["session_id"] == chunks[1]["session"]["session_id"]


def test_app_and_page_ids_go_into_every_payload() -> None:
    chunks = list(to_payloads(hashed(3), batch_size=2, app_ids=["123", 456], page_ids=[789]))
    for chunk in chunks:
        assert chunk["payload"]["app_ids"] == [123, 456]
        assert chunk["payload"]["page_ids"] == [789]
    assert "app_ids" not in next(to_payloads(hashed(1)))["payload"]
    fast = [f for _, f in to_payloads(hashed(3), batch_size=2, app_ids=["123", 456],
                                      page_ids=[789], session_id=3).fields()]
    slow = [form_fields(c) for c in to_payloads(hashed(3), batch_size=2, app_ids=["123", 456],
                                                page_ids=[789], session_id=3)]
    assert fast == slow


@pytest.mark.parametrize("lazy", [False, True], ids=["eager", "lazy"])
def test_undigested_cells_are_refused_before_any_chunk(lazy: bool) -> None:
    df = pl.concat([hashed(5), pl.DataFrame({"EMAIL": ["secret@example.com"],
                                             "LOOKALIKE_VALUE": [1.0]})])
    with pytest.raises(NotHashedError, match=r"EMAIL \(1 cells\).*audframe.hash") as info:
        to_payloads(df.lazy() if lazy else df, batch_size=2)
    assert "secret" not in str(info.value)
    upper = pl.DataFrame({"FN": [h("x").upper()]})  # digests travel lowercase only
    with pytest.raises(NotHashedError):
        to_payloads(upper)


@pytest.mark.parametrize("lazy", [False, True], ids=["eager", "lazy"])
def test_blank_hashed_cells_are_missing_and_other_non_digests_refused(lazy: bool) -> None:
    blanks = ["", " ", "\t", " " * 64, None]
    df = pl.DataFrame({"EMAIL": [h("a"), *blanks], "FN": [None, *([h("b")] * 5)]})
    chunks = list(to_payloads(df.lazy() if lazy else df, session_id=1))
    assert [r[0] for r in chunks[0]["payload"]["data"]] == [h("a"), "", "", "", "", ""]
    for bad in ["0" * 63, "0" * 65, "g" * 64, " " + "0" * 63, h("a").upper()]:
        frame = pl.DataFrame({"EMAIL": [h("a"), bad, " "]})
        with pytest.raises(NotHashedError, match=r"EMAIL \(1 cells\)"):
            to_payloads(frame.lazy() if lazy else frame)


@pytest.mark.parametrize("lazy", [False, True], ids=["eager", "lazy"])
def test_the_digest_of_an_empty_string_is_sent_as_missing(
    lazy: bool, caplog: pytest.LogCaptureFixture
) -> None:
    empty = hashlib.sha256(b"").hexdigest()
    df = pl.DataFrame({"EMAIL": [h("a"), empty, empty], "FN": [empty, h("b"), None]})
    with caplog.at_level(logging.INFO, logger="audframe"):
        chunks = to_payloads(df.lazy() if lazy else df, session_id=1)
        fields = [f for _session, f in chunks.fields()]
    assert chunks.stats.rows_dropped == 1  # its only key was the digest of ""
    assert orjson.loads(fields[0]["payload"])["data"] == [[h("a"), ""], ["", h("b")]]
    assert "2 EMAIL cells are the SHA-256 of an empty string" in caplog.text
    assert empty not in fields[0]["payload"]
    with pytest.raises(NotHashedError, match=r"empty string in EMAIL \(1 cells\)"):
        check_chunk({"payload": {"schema": ["EMAIL"], "data": [[h("a")], [empty]]}})


def test_an_extern_id_that_is_the_digest_of_an_empty_string_is_never_sent() -> None:
    empty = hashlib.sha256(b"").hexdigest()
    df = pl.DataFrame({"EXTERN_ID": [empty.upper(), "c-1", f" {empty} "],
                       "EMAIL": [h("a"), h("b"), h("c")]})
    fields = [f for _session, f in to_payloads(df, session_id=1).fields()]
    assert orjson.loads(fields[0]["payload"])["data"] == [["", h("a")], ["c-1", h("b")],
                                                          ["", h("c")]]
    for cell in (empty, empty.upper(), f" {empty}\n"):
        with pytest.raises(ValidationError, match=r"EXTERN_ID \(1 cells\).*empty string"):
            check_chunk({"payload": {"schema": ["EXTERN_ID"], "data": [["c-1"], [cell]]}})


def test_digests_are_checked_whatever_the_string_buffers_hold() -> None:
    fresh = audframe.hash(pl.DataFrame({"EMAIL": [f"u{i}@example.com" for i in range(300)]}))
    mixed = pl.Series("EMAIL", ["raw-" * 20, *fresh["EMAIL"]])  # a long raw value, stored
    sliced = mixed.slice(1).to_frame()  # its bytes stay in the buffers of the slice
    # the shortcut, where it applies, and where it does not
    assert payloads._only_hex_bytes({"A": fresh["EMAIL"], "B": sliced["EMAIL"]}) == {"A"}
    # a column of many small buffers, read as one (a raw value among them is seen)
    cells = fresh["EMAIL"].to_list()
    pieces = [pl.Series([c.upper() for c in cells[i : i + 3]]).str.to_lowercase()
              for i in range(0, 300, 3)]
    many = pl.concat(pieces, rechunk=False)
    raw = pl.concat([*pieces[:50], pl.Series([cells[0], "raw-" * 16, cells[1]]), *pieces[50:]],
                    rechunk=False)
    assert len(payloads._string_buffers(many) or ()) > payloads._MANY_BUFFERS
    assert payloads._only_hex_bytes({"A": many, "B": raw}) == {"A"}
    expected = list(to_payloads(fresh, session_id=1))
    assert list(to_payloads(sliced, session_id=1)) == expected
    assert list(to_payloads(pl.concat([fresh, fresh.head(0)]), session_id=1)) == expected
    with pytest.raises(NotHashedError, match=r"EMAIL \(1 cells\)"):
        to_payloads(mixed.to_frame())


def test_a_lazy_source_is_computed_once_and_its_spool_removed() -> None:
    calls = []

    def source(s: pl.Series) -> pl.Series:  # digests on the first read, raw on any later one
        calls.append(len(s))
        return s if len(calls) == 1 else pl.Series(s.name, ["raw@example.com"] * len(s))

    lazy = hashed(4).lazy().with_columns(
        pl.col("EMAIL").map_batches(source, return_dtype=pl.String)
    )
    chunks = to_payloads(lazy, batch_size=2)
    spool = chunks._source.cleanup.peek()[2][0]  # type: ignore[union-attr]
    assert Path(spool).is_dir()
    rows = [r for c in chunks for r in c["payload"]["data"]]
    assert calls == [4]  # one read of the source, never a second
    assert [r[0] for r in rows] == hashed(4)["EMAIL"].to_list()
    assert not Path(spool).exists()  # the temporary file went with the chunks


@pytest.mark.parametrize("lazy", [False, True], ids=["eager", "lazy"])
def test_nothing_to_send_yields_no_chunk(lazy: bool) -> None:
    empty = hashed(0)
    no_keys = pl.DataFrame({"EMAIL": [None, ""], "LOOKALIKE_VALUE": [1.0, 2.0]})
    for df in (empty, no_keys):
        chunks = to_payloads(df.lazy() if lazy else df)
        assert list(chunks) == []
        assert chunks.stats.estimated_num_total == 0
        assert chunks.stats.batches == 0
        assert list(to_payloads(df.lazy() if lazy else df).fields()) == []


def test_a_frame_without_a_match_key_column_is_refused() -> None:
    with pytest.raises(ValidationError, match="match-key"):
        to_payloads(pl.DataFrame({"LOOKALIKE_VALUE": [1.0]}))
    with pytest.raises(ValidationError, match="match-key"):
        to_payloads(pl.DataFrame({"email": [h("x")]}))
    with pytest.raises(ValidationError, match="numeric"):
        to_payloads(pl.DataFrame({"EMAIL": [h("x")], "LOOKALIKE_VALUE": ["1"]}))


def test_non_finite_and_negative_lookalike_values_are_missing() -> None:
    df = pl.DataFrame({"EMAIL": [h("a")] * 5,
                       "LOOKALIKE_VALUE": [float("nan"), float("inf"), -5.0, 2, -0.0]})
    (chunk,) = to_payloads(df)
    assert [r[1] for r in chunk["payload"]["data"]] == ["", "", "", 2, 0]
    assert orjson.loads(form_fields(chunk)["payload"])["data"][0][1] == ""


def test_a_payloads_iterator_is_consumed_once() -> None:
    chunks = to_payloads(hashed(3))
    assert isinstance(chunks, Payloads)
    assert iter(chunks) is chunks
    assert len(list(chunks)) == 1
    assert list(chunks) == []
    with pytest.raises(RuntimeError, match="once: call to_payloads"):
        list(chunks.fields())


def test_a_payloads_repr_says_what_it_carries() -> None:
    frame = pl.DataFrame({"EMAIL": [h("a"), None, h("b"), h("c")]})
    chunks = to_payloads(frame, session_id=77, batch_size=2)
    assert repr(chunks) == (
        "<Payloads of session 77: 3 of 4 rows in 2 chunks of up to 2, 1 dropped without a "
        "match key; schema ['EMAIL']; not iterated yet>"
    )
    next(chunks)
    assert repr(chunks).endswith("iterated already>")
    assert repr(to_payloads(frame.head(1), session_id=5)) == (
        "<Payloads of session 5: 1 of 1 rows in 1 chunk of up to 10,000; schema ['EMAIL']; "
        "not iterated yet>"
    )


def test_the_namespace_gives_the_same_chunks() -> None:
    df = hashed(3)
    assert list(df.audience.to_payloads(session_id=5)) == list(to_payloads(df, session_id=5))


def test_form_fields_are_compact_json_and_equal_the_fast_path() -> None:
    tricky = ['quote " back \\ slash', "tab\tnew\nline\r\x00\x1f\x7f", "é 정 \u2028 🎉", "plain"]
    df = pl.DataFrame(
        {
            "EXTERN_ID": tricky,
            "EMAIL": [h(t) for t in tricky],
            "LOOKALIKE_VALUE": [0.1 + 0.2, 1e16, 1e-7, None],
        }
    )
    (chunk,) = to_payloads(df, session_id=9)
    fields = form_fields(chunk)
    assert set(fields) == {"payload", "session"}
    assert fields["session"] == (
        '{"session_id":9,"batch_seq":1,"last_batch_flag":true,"estimated_num_total":4}'
    )
    assert ": " not in fields["payload"] and ", " not in fields["payload"].replace(", ", "", 0)
    assert orjson.loads(fields["payload"]) == chunk["payload"]
    assert orjson.loads(fields["payload"])["data"][0][0] == tricky[0]
    ((session, fast),) = to_payloads(df, session_id=9).fields()
    assert session == chunk["session"]
    assert fast == fields  # byte for byte


def test_check_chunk() -> None:
    (chunk,) = to_payloads(hashed(3))
    check_chunk(chunk)
    bad = {"payload": {"schema": ["EMAIL", "MADID"], "data": [["raw@example.com", ""]]}}
    with pytest.raises(NotHashedError, match=r"EMAIL \(1 cells\)") as info:
        check_chunk(bad)
    assert "raw@" not in str(info.value)
    with pytest.raises(ValidationError, match="cells"):
        check_chunk({"payload": {"schema": ["EMAIL"], "data": [["", ""]]}})
    with pytest.raises(ValidationError, match="at most"):
        check_chunk({"payload": {"schema": ["EMAIL"], "data": [[""]] * (MAX_BATCH_SIZE + 1)}})
    with pytest.raises(ValidationError):
        check_chunk({"payload": {}})
    check_chunk({"payload": {"schema": ["MADID", "EXTERN_ID"], "data": [[UUID, "any id"]]}})
    check_chunk({"payload": {"schema": ["EMAIL"], "data": [(h("a"),)], "is_raw": True,
                             "app_ids": [123, "456"], "page_ids": [],
                             "data_source": {"type": "FILE_IMPORTED", "sub_type": "NONE"}}})


UUID = "6d92078a-8246-4ba4-ae5b-76104861e7dc"
RAW = "alice@example.com"


class Lying(str):
    """A str that shows the digest check 64 hex characters but serializes as itself."""

    def __len__(self) -> int:
        return 64

    def __iter__(self) -> Any:
        return iter("a")


class LyingRow(list):  # type: ignore[type-arg]
    """A row that shows the check a digest but serializes as the raw value it holds."""

    def __getitem__(self, i: Any) -> Any:
        return h("b")


@pytest.mark.parametrize(
    ("payload", "error", "message"),
    [
        ({"schema": ["EMAIL"], "data": [LyingRow([RAW])]}, ValidationError,
         "must be a list"),
        ({"schema": ["EMAIL"], "data": [[h("b")]], "is_raw": RAW}, ValidationError,
         "is_raw must be true or false"),
        ({"schema": ["EMAIL"], "data": [[h("b")]], "app_ids": [RAW]}, ValidationError,
         "app_ids must be a list of ids"),
        ({"schema": ["EMAIL"], "data": [[h("b")]], "page_ids": ["+1 555 0100"]},
         ValidationError, "page_ids must be a list of ids"),
        ({"schema": ["EMAIL"], "data": [[h("b")]], "data_source": {"type": RAW}},
         ValidationError, "data_source must be"),
        ({"schema": ["EMAIL"], "data": [[h("b")]], "data_source": {"type": "FILE_IMPORTED",
                                                               "note": RAW}},
         ValidationError, "data_source must be"),
        ({"schema": ["MADID"], "data": [[UUID + "\n"]]}, ValidationError, r"MADID \(1 cells\)"),
        ({"schema": ["EMAIL", "EMAIL"], "data": [[RAW, h("b")]]}, ValidationError,
         "names EMAIL more than once"),
        ({"schema": ["email"], "data": [[RAW]]}, ValidationError, r"\['email'\], not Meta keys"),
        ({"schema": ["EMAIL_SHA256"], "data": [[RAW]]}, ValidationError, "not Meta keys"),
        ({"schema": ["EMAIL"], "data": [[h("b")]], "raw_emails": [RAW]}, ValidationError,
         r"fields the Graph API does not take: \['raw_emails'\]"),
        ({"schema": ["EMAIL"], "data": [[Lying(RAW)]]}, NotHashedError, r"EMAIL \(1 cells\)"),
        ({"schema": ["EMAIL", "LOOKALIKE_VALUE"], "data": [[h("b"), RAW]]}, ValidationError,
         r"LOOKALIKE_VALUE \(1 cells\)"),
        ({"schema": ["MADID"], "data": [[RAW]]}, ValidationError, r"MADID \(1 cells\)"),
        ({"schema": ["MADID"], "data": [["00000000-0000-0000-0000-000000000000"]]},
         ValidationError, "MADID"),
        ({"schema": ["EXTERN_ID"], "data": [[{"email": RAW}]]}, ValidationError, "EXTERN_ID"),
    ],
)
def test_check_chunk_refuses_what_could_carry_a_raw_value(
    payload: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message) as info:
        check_chunk({"payload": payload})
    assert RAW not in str(info.value)


def test_check_chunk_takes_numbers_and_blanks_for_lookalike_values() -> None:
    check_chunk({"payload": {"schema": ["EMAIL", "LOOKALIKE_VALUE"],
                             "data": [[h("a"), 140], [h("b"), 2.5], [h("c"), ""], [h("d"), 0]]}})
    # NaN and infinity would go as null; Meta takes numbers >= 0
    for bad in [True, -1, -0.5, float("nan"), float("inf"), "1"]:
        with pytest.raises(ValidationError, match=r"LOOKALIKE_VALUE \(1 cells\)"):
            check_chunk({"payload": {"schema": ["EMAIL", "LOOKALIKE_VALUE"],
                                     "data": [[h("a"), bad], [h("b"), 1]]}})


def test_a_frame_whose_madid_is_not_a_device_id_is_refused() -> None:
    frame = pl.DataFrame({"EMAIL": [h("a"), h("b")], "MADID": [UUID, RAW]})
    with pytest.raises(ValidationError, match="MADID holds 1 cells") as info:
        to_payloads(frame)
    assert RAW not in str(info.value)
    (chunk,) = to_payloads(frame.head(1))
    assert chunk["payload"]["data"] == [[h("a"), UUID]]


# -- properties over random frames ---------------------------------------------------

_raw_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=0, max_size=12
)
_email = st.builds(
    lambda local, domain: f"{local}@{domain}.com",
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789._", min_size=1, max_size=10),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyzé", min_size=1, max_size=8),
)
_name = st.text(alphabet=st.characters(categories=("Ll", "Lo")), min_size=1, max_size=10)
_prehashed = st.builds(
    lambda s, upper, pad: (" " * pad) + (h(s).upper() if upper else h(s)) + (" " * pad),
    _raw_text, st.booleans(), st.integers(0, 2),
)
_row = st.fixed_dictionaries(
    {
        "EXTERN_ID": st.one_of(st.none(), st.text(min_size=1, max_size=8).map(str.strip)),
        "EMAIL": st.one_of(st.none(), st.just(""), _email, _prehashed),
        "FN": st.one_of(st.none(), _name, _prehashed),
        "LOOKALIKE_VALUE": st.one_of(st.none(), st.floats(0, 1e9), st.integers(0, 10**6)),
    }
)


@st.composite
def _frames(draw: st.DrawFn) -> tuple[pl.DataFrame, int]:
    size = draw(st.integers(1, 7))
    n = draw(st.one_of(st.integers(0, 3 * size + 1), st.sampled_from([size, 2 * size])))
    rows = draw(st.lists(_row, min_size=n, max_size=n))
    df = pl.DataFrame(
        rows,
        schema={"EXTERN_ID": pl.String, "EMAIL": pl.String, "FN": pl.String,
                "LOOKALIKE_VALUE": pl.Float64},
        orient="row",
    ).with_columns(pl.col("EXTERN_ID").replace("", None))
    return df, size


@settings(max_examples=40, deadline=None)
@given(_frames())
def test_payload_properties_on_random_frames(case: tuple[pl.DataFrame, int]) -> None:
    df, size = case
    normalized = df.with_columns(
        pl.col("EMAIL").str.strip_chars(), pl.col("FN").str.strip_chars()
    )
    hashed_frame = audframe.hash(normalized)
    chunks = list(to_payloads(hashed_frame, batch_size=size, session_id=11))
    lazy = list(to_payloads(audframe.hash(normalized.lazy()), batch_size=size, session_id=11))
    assert chunks == lazy  # eager = lazy
    fields = list(to_payloads(hashed_frame, batch_size=size, session_id=11).fields())
    assert [f for _, f in fields] == [form_fields(c) for c in chunks]

    # Every hashed cell is a digest or "".
    for chunk in chunks:
        assert chunk["payload"]["schema"] == ["EXTERN_ID", "EMAIL", "FN", "LOOKALIKE_VALUE"]
        assert 1 <= len(chunk["payload"]["data"]) <= size
        check_chunk(chunk)
        for row in chunk["payload"]["data"]:
            assert all(c == "" or DIGEST.match(c) for c in row[1:3])

    # The chunks, concatenated, are the hashed frame minus rows without a key, in order.
    keyed = hashed_frame.filter(
        pl.any_horizontal(pl.col("EXTERN_ID", "EMAIL", "FN").is_not_null())
    )
    expected = [
        ["" if v is None else v for v in row[:3]] + [("" if row[3] is None else row[3])]
        for row in keyed.rows()
    ]
    data = [row for chunk in chunks for row in chunk["payload"]["data"]]
    assert data == expected

    # Session fields.
    n = len(chunks)
    assert n == -(-keyed.height // size)
    for i, chunk in enumerate(chunks, start=1):
        assert chunk["session"] == {
            "session_id": 11, "batch_seq": i, "last_batch_flag": i == n,
            "estimated_num_total": keyed.height,
        }

    # No raw value of a hashed key leaks into the JSON (EXTERN_ID is sent as given, a
    # digest may hold any hex 4-gram by chance, and the JSON's own words are not data).
    sent = "".join(f["payload"] + f["session"] for _, f in fields)
    for word in ("schema", "data", "session_id", "batch_seq", "last_batch_flag", "false",
                 "true", "estimated_num_total", *df.columns):
        sent = sent.replace(word, " ")
    extern = " ".join(df["EXTERN_ID"].drop_nulls())
    for raw in normalized.select("EMAIL", "FN").unpivot()["value"].drop_nulls():
        if DIGEST.match(raw.lower()):
            continue
        for i in range(len(raw) - 3):
            gram = raw[i : i + 4]
            if not HEX4.match(gram) and gram not in extern:
                assert gram not in sent


@pytest.mark.parametrize("columns", [["EMAIL"], ["EMAIL", "LOOKALIKE_VALUE"],
                                     ["EXTERN_ID", "EMAIL", "PHONE", "LOOKALIKE_VALUE"]])
def test_fast_fields_over_blocks_of_several_arrow_chunks(
    columns: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Blocks of 3 chunks of 4 rows; the frame is made of pieces, so a block's columns
    # come to pyarrow in several chunks; the last block and its last chunk are short.
    monkeypatch.setattr(payloads, "_BLOCK_ROWS", 12)
    pieces = []
    for start in range(0, 29, 5):
        ids = range(start, min(start + 5, 29))
        pieces.append(
            pl.DataFrame(
                {
                    "EXTERN_ID": [f'id "{i}"\n' if i % 3 else None for i in ids],
                    "EMAIL": [h(str(i)) if i % 4 else None for i in ids],
                    "PHONE": [h(f"p{i}") if i % 5 else None for i in ids],
                    "LOOKALIKE_VALUE": [i / 2 if i % 6 else None for i in ids],
                }
            ).select(columns)
        )
    frame = pl.concat(pieces, rechunk=False)
    assert frame.n_chunks() > 1
    chunks = list(to_payloads(frame, batch_size=4, session_id=3, app_ids=[12]))
    fast = list(to_payloads(frame, batch_size=4, session_id=3, app_ids=[12]).fields())
    assert [f for _, f in fast] == [form_fields(c) for c in chunks]
    assert [s for s, _ in fast] == [c["session"] for c in chunks]


def test_closing_abandoned_fields_never_waits_for_the_json_workers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The garbage collector closes an abandoned fields() generator wherever it runs,
    # even inside a thread's start-up, where joining threads deadlocks: closing must not
    # wait for a block still being encoded.
    monkeypatch.setattr(payloads, "_BLOCK_ROWS", 4)
    release = threading.Event()
    encode = payloads._json_rows
    calls: list[int] = []

    def slow(block: pl.DataFrame, *args: Any) -> Any:
        calls.append(block.height)
        if len(calls) > 1:  # every block after the first waits to be released
            release.wait(30)
        return encode(block, *args)

    monkeypatch.setattr(payloads, "_json_rows", slow)
    frame = pl.DataFrame({"EMAIL": [h(str(i)) for i in range(40)]})
    fields = to_payloads(frame, batch_size=4, session_id=1).fields()
    next(fields)
    closer = threading.Thread(target=fields.close)
    closer.start()
    closer.join(10)
    closed = not closer.is_alive()
    release.set()
    closer.join()
    assert closed
    assert len(calls) < 10  # the blocks not started were cancelled



def test_app_and_page_ids_must_be_lists_of_whole_numbers() -> None:
    frame = hashed(2)
    assert next(to_payloads(frame, app_ids=["12", 34], session_id=1))["payload"]["app_ids"] == [
        12, 34,
    ]
    for bad, message in [("1234", "a list of ids"), (1234, "a list of ids"),
                         ([1.5], "whole numbers"), (["abc"], "whole numbers"),
                         ([True], "whole numbers")]:
        with pytest.raises(ValueError, match=message):
            to_payloads(frame, page_ids=bad)


@pytest.mark.parametrize("lazy", [False, True])
def test_an_extern_id_that_is_an_email_address_is_refused_unless_hashed(lazy: bool) -> None:
    # An extern id is sent as it is: one that is an email address would leave raw
    # (alone, or with whitespace or text around it: to_payloads does not trim)
    mails = ["Jane.Doe@example.com", " john@x.com ", "jane@y.com\n", "Jo <jo@z.org>",
             "jo＠example.com", "jo﹫example.com",  # full-width and small at signs too
             "ｊｏ＠ｅｘａｍｐｌｅ．ｃｏｍ", "jo@example。com"]  # and dots, as CJK keyboards type
    frame = pl.DataFrame({"EXTERN_ID": ["c-1", "a@b", *mails, None]})
    source: Any = frame.lazy() if lazy else frame
    with pytest.raises(NotHashedError, match="EXTERN_ID holds 8 cells shaped like email") as info:
        list(to_payloads(source))
    assert "Jane" not in str(info.value)
    for mail in mails:
        with pytest.raises(NotHashedError, match="EXTERN_ID holds 1 cells"):
            check_chunk({"payload": {"schema": ["EXTERN_ID"], "data": [[mail], ["c-1"]]}})
    (chunk,) = to_payloads(audframe.hash(frame, hash_extern_id=True))
    assert [len(row[0]) for row in chunk["payload"]["data"]] == [64] * 10


def test_an_extern_id_of_invisible_characters_alone_is_missing() -> None:
    frame = pl.DataFrame({"EXTERN_ID": ["\u200b", " \ufeff ", "c-1\u200b"],
                          "EMAIL": [h("a"), h("b"), h("c")]})
    (chunk,) = to_payloads(frame)
    assert [row[0] for row in chunk["payload"]["data"]] == ["", "", "c-1\u200b"]


def test_a_float_extern_id_is_refused_not_sent_as_it_prints() -> None:
    frame = pl.DataFrame({"EMAIL": [h("a"), None], "EXTERN_ID": [1.0, float("nan")]})
    with pytest.raises(ValidationError, match="EXTERN_ID has dtype Float64"):
        to_payloads(frame)
    ints = pl.DataFrame({"EMAIL": [h("a")], "EXTERN_ID": [7]})
    assert next(to_payloads(ints, session_id=1))["payload"]["data"] == [["7", h("a")]]


def test_batches_without_the_first_batchs_key_columns_are_refused_by_name() -> None:
    first = pl.DataFrame({"EMAIL": [h("a")], "LOOKALIKE_VALUE": [1.0]})
    second = pl.DataFrame({"EMAIL": [h("b")]})
    with pytest.raises(ValidationError, match="batch 2 has the key columns EMAIL, the first "
                       "batch EMAIL, LOOKALIKE_VALUE"):
        to_payloads([first, second])


def test_a_later_batch_with_other_keys_dtypes_or_type_is_refused() -> None:
    # the first batch's checks would not hold for it: an extra key went unsent, a float
    # EXTERN_ID out as "1.0"
    emails = pl.DataFrame({"EMAIL": [h("a")], "EXTERN_ID": ["c-1"]})
    for later, error, message in [
        (emails.with_columns(PHONE=pl.lit(h("p"))), ValidationError, "the same key columns"),
        (emails.with_columns(EXTERN_ID=pl.lit(1.0)), ValidationError,
         "EXTERN_ID is Float64, not String"),
        ({"EMAIL": [h("b")]}, TypeError, "batch 2 is a dict"),
        (emails.lazy(), TypeError, "batch 2 is a LazyFrame"),
    ]:
        with pytest.raises(error, match=message):
            to_payloads([emails, later])
    nulls = pl.DataFrame({"EMAIL": [None], "EXTERN_ID": [None]})  # all missing: any dtype
    assert to_payloads([nulls, emails]).stats.estimated_num_total == 1


def test_a_later_batch_is_checked_where_the_first_was_all_null() -> None:
    # the Null column took its dtype in batch 2, which gets the first batch's checks; the
    # raw cell is never quoted (polars would, failing to cast it)
    first = pl.DataFrame({"EMAIL": [h("a")], "EXTERN_ID": [None], "LOOKALIKE_VALUE": [None]})
    for later, message in [
        (first.with_columns(EXTERN_ID=pl.lit(1.0)), "batch 2: EXTERN_ID has dtype Float64"),
        (first.with_columns(LOOKALIKE_VALUE=pl.lit("john@example.com")),
         "batch 2: LOOKALIKE_VALUE has dtype String"),
    ]:
        with pytest.raises(ValidationError, match=message) as info:
            to_payloads([first, later])
        assert "john" not in str(info.value)


@pytest.mark.parametrize("key", ["EMAIL", "EXTERN_ID", "MADID"])
@pytest.mark.parametrize("values", [
    pl.Series([[1]]), pl.Series([[1]], dtype=pl.Array(pl.Int64, 1)), pl.Series([{"a": 1}]),
    pl.Series([dt.timedelta(1)]), pl.Series([dt.date(2020, 1, 1)]), pl.Series([b"x"]),
    pl.Series([True]), pl.Series([object()], dtype=pl.Object),
], ids=lambda s: str(s.dtype))
def test_a_key_column_of_a_dtype_that_is_no_text_is_refused_by_name(
    key: str, values: pl.Series
) -> None:
    # sent as polars prints it ("{1}", "true") or a polars cast error: neither is a key
    frame = pl.DataFrame({"PHONE": [h("p")]}).with_columns(values.alias(key))
    with pytest.raises(ValidationError, match=f"{key} has dtype {values.dtype.base_type()}"):
        to_payloads(frame)


def test_a_half_read_iterator_removes_its_spool_when_dropped(tmp_path: Path,
                                                              monkeypatch: Any) -> None:
    # at once, not at the next cyclic garbage collection
    import gc

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    frame = pl.LazyFrame({"EMAIL": [h(str(i)) for i in range(30)]})
    gc.disable()
    try:
        chunks = to_payloads(frame, batch_size=10)
        next(chunks)
        assert len(list(tmp_path.iterdir())) == 1
        del chunks
        assert list(tmp_path.iterdir()) == []
    finally:
        gc.enable()


def test_threads_sharing_one_payloads_get_each_chunk_once() -> None:
    from concurrent.futures import ThreadPoolExecutor

    chunks = to_payloads(pl.DataFrame({"EMAIL": [h(str(i)) for i in range(500)]}),
                         batch_size=7)

    def take() -> list[int]:
        return [chunk["session"]["batch_seq"] for chunk in chunks]

    with ThreadPoolExecutor(4) as pool:
        taken = [seq for part in pool.map(lambda _: take(), range(4)) for seq in part]
    assert sorted(taken) == list(range(1, 73))
