"""The Graph API emulator, spoken to with plain requests over real HTTP."""

from __future__ import annotations

import json
from threading import Thread
from typing import Any
from urllib.parse import parse_qsl

import pytest
import requests
from conftest import APP_SECRET, TOKEN, FakeClock, digest, eventually, make_rows

from audframe.emulator import FaultPlan, GraphEmulator

AUTH = {"Authorization": f"Bearer {TOKEN}"}


def post(emu: GraphEmulator, path: str, fields: dict[str, Any], *, method: str = "POST",
         headers: dict[str, str] | None = None) -> requests.Response:
    data = {k: v if isinstance(v, str) else json.dumps(v) for k, v in fields.items()}
    return requests.request(method, f"{emu.url}/v21.0/{path}", data=data,
                            headers=AUTH if headers is None else headers, timeout=10)


def users(rows: list[list[Any]], sid: int = 9, seq: int = 1, last: bool = False,
          schema: list[str] | None = None) -> dict[str, Any]:
    return {"payload": {"schema": schema or ["EMAIL"], "data": rows},
            "session": {"session_id": sid, "batch_seq": seq, "last_batch_flag": last,
                        "estimated_num_total": 100}}


def code(response: requests.Response) -> int:
    return int(response.json()["error"]["code"])


def test_add_keeps_members_and_running_num_received(emulator: GraphEmulator) -> None:
    first, second = make_rows(3), make_rows(2, start=3)
    r1 = post(emulator, "55/users", users(first, seq=1))
    r2 = post(emulator, "55/users", users(second, seq=2, last=True))
    assert r1.status_code == r2.status_code == 200
    assert r1.json()["num_received"] == 3 and r2.json()["num_received"] == 5
    assert r2.json()["audience_id"] == "55" and r2.json()["session_id"] == "9"
    assert emulator.rows("55", ["EMAIL"]) == {tuple(r) for r in first + second}
    assert emulator.audience("55")["size"] == 5  # type: ignore[index]
    assert emulator.session(9)["last_seq"] == 2  # type: ignore[index]


@pytest.mark.violations  # made on purpose, and checked
def test_token_is_checked(emulator: GraphEmulator) -> None:
    assert code(post(emulator, "1/users", users(make_rows(1)),
                     headers={"Authorization": "Bearer nope"})) == 190
    assert code(post(emulator, "1/users", users(make_rows(1)), headers={})) == 190
    # a form field works too
    ok = post(emulator, "1/users", {**users(make_rows(1)), "access_token": TOKEN}, headers={})
    assert ok.status_code == 200
    assert emulator.members("1")  # only the accepted request changed anything
    assert len(emulator.members("1")) == 1
    assert emulator.violations == []
    # Graph takes it in the URL too, where logs keep it: answered, and a violation
    fields = {k: v if isinstance(v, str) else json.dumps(v)
              for k, v in users(make_rows(1), sid=2).items()}
    leaky = requests.post(f"{emulator.url}/v21.0/1/users?access_token={TOKEN}", data=fields,
                          timeout=10)
    assert leaky.status_code == 200
    assert emulator.violations == ["access_token in the URL (it belongs in a header or the body)"]


@pytest.mark.violations  # made on purpose, and checked
def test_a_payload_in_the_url_is_a_violation(emulator: GraphEmulator) -> None:
    # The official SDK's DELETE does this; Graph takes it while it is short
    fields = {k: json.dumps(v) for k, v in users(make_rows(2), sid=2, last=True).items()}
    query = "&".join(f"{k}={requests.utils.quote(v)}" for k, v in fields.items())
    gone = requests.delete(f"{emulator.url}/v21.0/1/users?{query}", headers=AUTH, timeout=10)
    assert gone.status_code == 200 and gone.json()["num_received"] == 2
    assert emulator.violations == ["payload in the URL (it belongs in the body)"]


def test_appsecret_proof_is_required_when_the_app_secret_is_set() -> None:
    from audframe.emulator import appsecret_proof

    with GraphEmulator(token=TOKEN, app_secret=APP_SECRET) as emu:
        assert code(post(emu, "1/users", users(make_rows(1)))) == 100
        bad = post(emu, "1/users", {**users(make_rows(1)), "appsecret_proof": "0" * 64})
        assert code(bad) == 100 and "appsecret_proof" in bad.json()["error"]["message"]
        good = post(emu, "1/users", {**users(make_rows(1)),
                                     "appsecret_proof": appsecret_proof(APP_SECRET, TOKEN)})
        assert good.status_code == 200


@pytest.mark.parametrize(
    ("path", "fields", "method"),
    [
        ("1/members", users(make_rows(1)), "POST"),
        ("1/users/extra", users(make_rows(1)), "POST"),
        ("abc/users", users(make_rows(1)), "POST"),
        ("1/usersreplace", users(make_rows(1)), "DELETE"),
        ("1/users", {**users(make_rows(1)), "color": "blue"}, "POST"),
        ("1/users", {"session": users([])["session"]}, "POST"),
        ("1/users", {"payload": "{not json", "session": "{}"}, "POST"),
        ("1/users", users(make_rows(1), schema=["EMAIL_SHA256"]), "POST"),
        ("1/users", {"payload": {"schema": "EMAIL", "data": [["x"]]}}, "POST"),
        ("1/users", {"payload": {"schema": ["EMAIL", "EMAIL"], "data": [["", ""]]}}, "POST"),
        ("1/users", users([[digest("a"), "extra"]]), "POST"),
        ("1/users", {**users(make_rows(1)), "session": {"session_id": -3, "batch_seq": 1}},
         "POST"),
        ("1/usersreplace", {"payload": users(make_rows(1))["payload"]}, "POST"),
    ],
)
def test_bad_paths_and_parameters_are_error_100(
    emulator: GraphEmulator, path: str, fields: dict[str, Any], method: str
) -> None:
    response = requests.request(
        method, f"{emulator.url}/v21.0/{path}", headers=AUTH, timeout=10,
        data={k: v if isinstance(v, str) else json.dumps(v) for k, v in fields.items()},
    )
    assert code(response) == 100
    assert emulator.members("1") == set()


def test_more_than_10000_rows_is_error_1(emulator: GraphEmulator) -> None:
    rows = [[digest("x")]] * 10_001
    response = post(emulator, "1/users", users(rows))
    assert response.status_code == 500 and code(response) == 1
    assert emulator.members("1") == set()


def test_badly_hashed_cells_are_counted_per_cell_with_short_samples(
    emulator: GraphEmulator,
) -> None:
    long_value = "x" * 5000
    rows = [[digest("a"), digest("1")], ["alice@example.com", digest("2")],
            [long_value, "+1 650 555"], ["", ""]]
    response = post(emulator, "1/users", users(rows, schema=["EMAIL", "PHONE"]))
    body = response.json()
    assert response.status_code == 200
    assert body["num_invalid_entries"] == 3 and body["num_received"] == 4
    samples = body["invalid_entry_samples"]
    assert "alice@example.com" in samples
    assert all(len(k) <= 41 for k in samples)  # huge values are never echoed
    assert long_value not in response.text
    # the valid cells still count: row 2 by its phone, row 1 by both keys
    assert ("", digest("2")) in emulator.rows("1", ["EMAIL", "PHONE"])
    assert len(emulator.members("1")) == 2


def test_unhashed_keys_pass_through(emulator: GraphEmulator) -> None:
    rows = [["cust-1", "6d3f0c8e-2b4a-4c1e-9f7a-0e5d3c2b1a09", 3.5]]
    response = post(emulator, "1/users", users(rows, schema=["EXTERN_ID", "MADID",
                                                             "LOOKALIKE_VALUE"]))
    assert response.json()["num_invalid_entries"] == 0
    assert emulator.rows("1", ["EXTERN_ID"]) == {("cust-1",)}


def test_form_values_decode_exactly_whatever_they_hold(emulator: GraphEmulator) -> None:
    # '%' and '+' literally, escapes that look like escapes once decoded, non-ASCII, a
    # quote, a backslash and control characters: the body decodes as urllib would.
    ids = ["100%", "a+b c", "%41%2541", "é€😀", 'q"\\t\x01\n', "x" * 70]
    rows = [[value, digest(value)] for value in ids]
    fields = users(rows, schema=["EXTERN_ID", "EMAIL"])
    raw = {k: json.dumps(v, ensure_ascii=False) for k, v in fields.items()}  # UTF-8 as is
    response = post(emulator, "1/users", raw)
    assert response.json()["num_invalid_entries"] == 0
    assert emulator.rows("1", ["EXTERN_ID", "EMAIL"]) == {tuple(r) for r in rows}


def test_a_member_is_its_valid_cells_whatever_the_schema(emulator: GraphEmulator) -> None:
    a, b, phone = digest("a"), digest("b"), digest("p")
    post(emulator, "1/users", users([[a, ""], [b, phone]], schema=["EMAIL", "PHONE"]))
    schema = ["EMAIL", "PHONE"]  # (a multi-key audience takes no single-key upload)
    post(emulator, "1/users", users([[a, ""]], sid=10, schema=schema))  # the same person again
    both = (("EMAIL", b), ("PHONE", phone))
    assert emulator.members("1") == {(("EMAIL", a),), both}
    assert emulator.audience("1")["size"] == 2  # type: ignore[index]
    post(emulator, "1/users", users([[a, ""], [b, ""]], sid=11, schema=schema), method="DELETE")
    assert emulator.members("1") == {both}
    assert emulator.rows("1", ["PHONE", "EMAIL"]) == {(phone, b)}


@pytest.mark.parametrize(
    "body",
    [
        "a=%7B%22x%22%3A%5B1%5D%7D&b=1",  # escapes only: the fast path
        "a=%7b%22x%22%3a%5b1%5d%7d",  # lowercase escapes
        "a=%2525%41%25&b=%",  # an escaped '%' before hex digits; a lone '%'
        "a=100%&b=%zz%4",  # '%' that escape nothing
        "a=x=y%3D%3d&b==",  # '=' in values, raw and escaped
        "a=%0D%0A%0d\r\n%20+%2B_&b=%3D%0A",  # CR, LF, spaces and '+', raw and escaped
        "a=%E2%82%AC%FF&b=%C3",  # UTF-8, and bytes that are not UTF-8
        "%61%3D=1&&b&c=",  # an escaped name, an empty part, blank values
    ],
)
def test_urlencoded_bodies_decode_as_parse_qsl_does(
    emulator: GraphEmulator, body: str
) -> None:
    requests.post(f"{emulator.url}/v21.0/1/sessions", data=body, timeout=10,
                  headers={**AUTH, "Content-Type": "application/x-www-form-urlencoded"})
    assert emulator.requests[-1].form == dict(parse_qsl(body, keep_blank_values=True))


@pytest.mark.parametrize(
    ("cell", "invalid"),
    [(digest("a").upper(), 1), (digest("a")[:63], 1), (digest("a") + "0", 1),
     (None, 0), (5, 1), ("", 0), (digest("a")[:32] + "\n" + digest("b")[:31], 1)],
)
def test_one_odd_hashed_cell_among_many_good_ones_is_found(
    emulator: GraphEmulator, cell: Any, invalid: int
) -> None:
    rows: list[list[Any]] = [[digest(f"p{i}")] for i in range(500)]
    rows[250] = [cell]
    body = post(emulator, "1/users", users(rows)).json()
    assert body["num_invalid_entries"] == invalid
    assert len(emulator.members("1")) == 499


def test_removal_by_delete_body_or_post_method_delete(emulator: GraphEmulator) -> None:
    rows = make_rows(4)
    post(emulator, "8/users", users(rows, sid=1, last=True))
    r = post(emulator, "8/users", users(rows[:1], sid=2, last=True), method="DELETE")
    assert r.status_code == 200
    r = post(emulator, "8/users", {**users(rows[1:2], sid=3, last=True), "method": "DELETE"})
    assert r.status_code == 200
    assert emulator.rows("8", ["EMAIL"]) == {tuple(r) for r in rows[2:]}
    delete = next(q for q in emulator.requests if q.method == "DELETE")
    assert "payload" not in delete.url and "payload" in delete.form


def test_multipart_bodies_are_accepted(emulator: GraphEmulator) -> None:
    fields = users(make_rows(2), last=True)
    files = {k: (None, json.dumps(v)) for k, v in fields.items()}
    response = requests.post(f"{emulator.url}/v21.0/3/users", files=files, headers=AUTH,
                             timeout=10)
    assert response.status_code == 200, response.text
    assert len(emulator.members("3")) == 2


@pytest.mark.violations  # made on purpose, and checked
def test_a_batch_after_the_last_is_rejected_but_the_last_may_be_repeated(
    emulator: GraphEmulator,
) -> None:
    post(emulator, "1/users", users(make_rows(1), seq=1))
    last = post(emulator, "1/users", users(make_rows(1, start=1), seq=2, last=True))
    again = post(emulator, "1/users", users(make_rows(1, start=1), seq=2, last=True))
    assert again.json() == last.json()
    late = post(emulator, "1/users", users(make_rows(1, start=2), seq=3))
    assert code(late) == 100 and "last batch" in late.json()["error"]["message"]
    assert len(emulator.members("1")) == 2
    assert emulator.session(9)["num_received"] == 2  # type: ignore[index]
    # both the repeat and the late batch are recorded as protocol violations
    assert any("last batch 2 received twice" in v for v in emulator.violations)
    assert any("batch_seq 3 after the last batch" in v for v in emulator.violations)


@pytest.mark.violations  # made on purpose, and checked
def test_last_batch_before_the_others_is_a_violation(emulator: GraphEmulator) -> None:
    post(emulator, "1/users", users(make_rows(1), seq=3, last=True))
    assert any("before batches [1, 2]" in v for v in emulator.violations)


def _in_flight(emu: GraphEmulator, path: str, fields: dict[str, Any]) -> Thread:
    """``fields`` posted from another thread, returned once the emulator has received them
    (and, with latency, not yet answered)."""
    seen = len(emu.requests)
    thread = Thread(target=post, args=(emu, path, fields))
    thread.start()
    eventually(lambda: len(emu.requests) > seen)
    return thread


@pytest.mark.violations  # made on purpose, and checked
@pytest.mark.parametrize("edge", ["users", "usersreplace"])
def test_a_batch_sent_while_the_one_it_must_follow_is_in_flight_is_a_violation(
    edge: str,
) -> None:
    # With latency, batch 1 is applied before the batch sent after it: only the arrival
    # tells that it was sent before batch 1 was acknowledged.
    with GraphEmulator(token=TOKEN, latency=0.5) as emu:
        first = _in_flight(emu, f"3/{edge}", users(make_rows(1), seq=1))
        second = post(emu, f"3/{edge}", users(make_rows(1, start=1), seq=2, last=True))
        first.join()
        assert second.status_code == 200
        expected = ("session 9: replace batch 2 before batch 1 was acknowledged"
                    if edge == "usersreplace" else
                    "session 9: last batch 2 before batches [1] were acknowledged")
        assert emu.violations == [expected]


@pytest.mark.violations  # made on purpose, and checked
def test_a_batch_sent_after_the_last_is_a_violation_even_if_applied_first() -> None:
    with GraphEmulator(token=TOKEN, faults=FaultPlan(script={2: "applied_late"}, late=0.5)) as emu:
        post(emu, "3/users", users(make_rows(1), seq=1))
        last = _in_flight(emu, "3/users", users(make_rows(1, start=1), seq=2, last=True))
        late = post(emu, "3/users", users(make_rows(1, start=2), seq=3))
        last.join()
        assert late.status_code == 200  # applied: the last had not been, yet
        assert emu.violations == ["session 9: batch_seq 3 after the last batch"]


def test_a_batch_refused_before_it_reaches_the_session_breaks_no_order(
    emulator: GraphEmulator,
) -> None:
    # without the token, or with a session Graph refuses, no session is reached
    early = post(emulator, "3/users", users(make_rows(1, start=1), seq=2, last=True),
                 headers={"Authorization": "Bearer wrong"})
    odd = post(emulator, "3/users", {**users(make_rows(1), seq=2, last=True),
                                     "session": {"session_id": "9", "batch_seq": 2,
                                                 "last_batch_flag": True}})
    assert code(early) == 190 and code(odd) == 100
    post(emulator, "3/users", users(make_rows(1), seq=1))
    post(emulator, "3/users", users(make_rows(1, start=1), seq=2, last=True))
    late = post(emulator, "3/users", users(make_rows(1, start=1), seq=3),
                headers={"Authorization": "Bearer wrong"})
    assert code(late) == 190
    assert emulator.violations == []


@pytest.mark.violations  # made on purpose, and checked
def test_a_batch_sent_out_of_order_is_a_violation_whatever_its_answer() -> None:
    # a throttled last batch was still sent before batch 1; so was one whose session
    # came in the URL (with its payload, as the official SDK's DELETE sends them)
    with GraphEmulator(token=TOKEN, faults=FaultPlan(script={1: "rate_limit"})) as emu:
        assert code(post(emu, "3/users", users(make_rows(1), sid=5, seq=2, last=True))) == 80003
        fields = {k: json.dumps(v) for k, v in users(make_rows(2), sid=6, seq=3, last=True).items()}
        query = "&".join(f"{k}={requests.utils.quote(v)}" for k, v in fields.items())
        requests.delete(f"{emu.url}/v21.0/3/users?{query}", headers=AUTH, timeout=10)
        assert emu.violations == [
            "session 5: last batch 2 before batches [1] were acknowledged",
            "session 6: last batch 3 before batches [1, 2] were acknowledged",
            "payload in the URL (it belongs in the body)",
        ]


def test_a_retry_in_flight_when_the_last_batch_is_sent_is_no_violation() -> None:
    # Batch 1's first request is still on its way (a timeout, say) when its retry is
    # acknowledged and the last batch sent: the sender kept the order.
    with GraphEmulator(token=TOKEN, faults=FaultPlan(script={1: "applied_late"}, late=0.5)) as emu:
        stale = _in_flight(emu, "3/users", users(make_rows(1), seq=1))
        assert post(emu, "3/users", users(make_rows(1), seq=1)).status_code == 200
        assert post(emu, "3/users", users(make_rows(1, start=1), seq=2, last=True)).ok
        stale.join()
        assert [r.outcome for r in emu.requests] == ["error:100", "ok", "ok"]  # applied last
        assert emu.violations == []


@pytest.mark.violations  # made on purpose, and checked
def test_replace_semantics(emulator: GraphEmulator) -> None:
    old, new = make_rows(3, prefix="old"), make_rows(4, prefix="new")
    post(emulator, "5/users", users(old, sid=1, last=True))
    early = post(emulator, "5/usersreplace", users(new[2:], sid=2, seq=2))
    assert code(early) == 100  # batch 1 first
    post(emulator, "5/usersreplace", users(new[:2], sid=2, seq=1))
    assert emulator.rows("5", ["EMAIL"]) == {tuple(r) for r in new[:2]}  # the old ones went
    other = post(emulator, "5/usersreplace", users(new, sid=3, seq=1))
    assert code(other) == 2650 and other.json()["error"]["error_subcode"] == 1870145
    post(emulator, "5/usersreplace", users(new[2:3], sid=2, seq=2))
    # a second batch 1 restarts the replace
    post(emulator, "5/usersreplace", users(new[3:], sid=2, seq=1))
    assert emulator.rows("5", ["EMAIL"]) == {tuple(new[3])}
    assert any("restarted" in v for v in emulator.violations)


def test_sessions_end_after_90_minutes_and_later_batches_are_discarded() -> None:
    clock = FakeClock()
    with GraphEmulator(token=TOKEN, clock=clock) as emu:
        post(emu, "1/users", users(make_rows(1), seq=1))
        clock.advance(91 * 60)
        late = post(emu, "1/users", users(make_rows(1, start=1), seq=2, last=True))
        assert late.status_code == 200 and late.json()["num_received"] == 1
        assert len(emu.members("1")) == 1
        assert emu.session(9)["discarded"] == 1  # type: ignore[index]


def test_create_audience_status_and_the_803_right_after(emulator: GraphEmulator) -> None:
    emulator.faults = FaultPlan(not_visible_after_create=1)
    created = post(emulator, "act_77/customaudiences", {
        "name": "VIPs", "subtype": "CUSTOM", "customer_file_source": "USER_PROVIDED_ONLY",
        "is_value_based": "false"})
    audience = created.json()["id"]
    assert emulator.audience(audience)["ad_account_id"] == "77"  # type: ignore[index]
    assert code(post(emulator, f"{audience}/users", users(make_rows(2)))) == 803
    assert post(emulator, f"{audience}/users", users(make_rows(2), last=True)).ok
    status = requests.get(f"{emulator.url}/v21.0/{audience}/sessions",
                          params={"session_id": "9"}, headers=AUTH, timeout=10).json()
    assert status["data"][0]["stage"] == "finished"
    assert status["data"][0]["num_received"] == 2
    missing = post(emulator, "act_77/customaudiences", {"customer_file_source": "X"})
    assert code(missing) == 100


def test_faults_are_seeded_and_change_nothing() -> None:
    plan = FaultPlan(rate=0.5)

    def run() -> list[str]:
        with GraphEmulator(token=TOKEN, faults=plan, seed=11) as emu:
            outcomes = []
            for i in range(60):
                try:
                    r = post(emu, "1/users", users(make_rows(1, start=i), seq=i + 1))
                    outcomes.append(str(r.status_code))
                except requests.ConnectionError:
                    outcomes.append("dropped")
            accepted = {i for i, o in enumerate(outcomes) if o == "200"}
            assert emu.rows("1", ["EMAIL"]) == {tuple(make_rows(1, start=i)[0])
                                                for i in accepted}
            assert emu.session(9)["num_received"] == len(accepted)  # type: ignore[index]
            kinds = {q.outcome for q in emu.requests}
            return [*outcomes, *sorted(kinds)]

    first = run()
    assert first == run()
    assert {"200", "400", "500", "502", "dropped"} <= set(first)


@pytest.mark.violations  # made on purpose, and checked
def test_applied_then_dropped_changes_state_but_sends_no_reply(
    emulator: GraphEmulator,
) -> None:
    emulator.faults = FaultPlan(script={1: "applied_then_dropped"})
    with pytest.raises(requests.ConnectionError):
        post(emulator, "1/users", users(make_rows(2), seq=1, last=True))
    record = emulator.requests[0]
    assert record.fault == "applied_then_dropped" and record.status is None
    assert record.outcome == "ok"
    assert len(emulator.members("1")) == 2
    status = requests.get(f"{emulator.url}/v21.0/1/sessions", params={"session_id": "9"},
                          headers=AUTH, timeout=10).json()["data"][0]
    assert status["stage"] == "finished" and status["num_received"] == 2
    assert emulator.violations == []
    post(emulator, "1/users", users(make_rows(2), seq=1, last=True))  # sent once more
    assert emulator.violations == ["session 9: last batch 1 received twice"]


@pytest.mark.violations  # made on purpose, and checked
def test_a_second_replace_batch_1_is_a_violation(emulator: GraphEmulator) -> None:
    post(emulator, "5/usersreplace", users(make_rows(2), sid=3, seq=1))
    assert emulator.violations == []
    post(emulator, "5/usersreplace", users(make_rows(2), sid=3, seq=1))
    assert emulator.violations == ["session 3: replace restarted by a second batch 1"]


def test_a_misspelt_scripted_fault_is_refused_naming_the_known_ones() -> None:
    with pytest.raises(ValueError, match="applied_then_dropped"):
        FaultPlan(script={1: "applied_then_lost"})


def test_throttle_faults_carry_the_usage_header(emulator: GraphEmulator) -> None:
    emulator.faults = FaultPlan(script={1: "rate_limit"}, regain_minutes=4)
    response = post(emulator, "1/users", users(make_rows(1)))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == 80003
    usage = json.loads(response.headers["X-Business-Use-Case-Usage"])
    assert next(iter(usage.values()))[0]["estimated_time_to_regain_access"] == 4


def test_unknown_fault_kinds_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown fault kinds"):
        FaultPlan(kinds=("meteor",))


def test_serve_prints_url_not_the_token_given_until_interrupted(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import audframe.emulator as module

    answers: list[int] = []

    def sleep_then_interrupt(seconds: float) -> None:
        out = capsys.readouterr().out
        url = out.split("listening on ", 1)[1].split()[0]
        assert "access token: the one you gave (not shown)" in out and "cli-tok" not in out
        fields = {k: json.dumps(v) for k, v in users(make_rows(1)).items()}
        answers.append(requests.post(f"{url}/v21.0/1/users", data=fields, timeout=10,
                                     headers={"Authorization": "Bearer cli-tok"}).status_code)
        raise KeyboardInterrupt

    monkeypatch.setattr("audframe.emulator.time.sleep", sleep_then_interrupt)
    module.serve(0, "cli-tok")
    assert answers == [200]
    assert "stopped" in capsys.readouterr().out


def test_lookalike_value_only_goes_to_value_based_audiences() -> None:
    import polars as pl
    import pytest

    import audframe

    digest = "a" * 64
    with_value = pl.DataFrame({"EMAIL": [digest], "LOOKALIKE_VALUE": [3.0]})
    without = pl.DataFrame({"EMAIL": [digest]})
    with audframe.GraphEmulator(token="t0ken-42") as emu, audframe.Sender(
        "t0ken-42", base_url=emu.url, progress=False
    ) as sender:
        plain = sender.create_audience("1", "plain")
        valued = sender.create_audience("1", "valued", value_based=True)
        with pytest.raises(audframe.GraphAPIError, match="value-based"):
            sender.add(plain, with_value)
        with pytest.raises(audframe.GraphAPIError, match="LOOKALIKE_VALUE"):
            sender.add(valued, without)
        assert sender.add(valued, with_value).num_received == 1
        assert sender.add(plain, without).num_received == 1


def test_an_audience_fed_multi_key_data_refuses_single_key_uploads(
    emulator: GraphEmulator,
) -> None:
    # the spec's error 2650: why payloads always use the list form of every key
    rows = make_rows(2)
    assert post(emulator, "61/users", users(rows, sid=1, last=True)).status_code == 200
    both = [[r[0], digest(f"phone{i}")] for i, r in enumerate(rows)]
    two = users(both, sid=2, last=True, schema=["EMAIL", "PHONE"])
    assert post(emulator, "61/users", two).status_code == 200
    again = post(emulator, "61/users", users(rows, sid=3, last=True))
    assert (again.status_code, code(again)) == (400, 2650)
    assert emulator.session(3) is None
    valued = users([[rows[0][0], 1.0]], sid=4, last=True, schema=["EMAIL", "LOOKALIKE_VALUE"])
    assert code(post(emulator, "61/users", valued)) == 100  # not value-based, first


def test_serve_stops_cleanly_when_ctrl_c_lands_while_it_prints(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import builtins

    import audframe.emulator as module

    real_print = builtins.print

    def print_then_interrupt(*args: object, **kwargs: Any) -> None:
        real_print(*args, **kwargs)
        if args and args[0] == "press Ctrl-C to stop":  # the line a user acts on
            raise KeyboardInterrupt

    monkeypatch.setattr(builtins, "print", print_then_interrupt)
    module.serve(0, None)  # returns: a Ctrl-C is a clean stop, not an error
    assert capsys.readouterr().out.endswith("press Ctrl-C to stop\nstopped\n")


@pytest.mark.violations  # made on purpose, and checked
def test_the_emulator_never_echoes_a_body_or_a_url_that_holds_the_token() -> None:
    # a JSON body is no form: its "field name" is the whole text, token included
    with GraphEmulator(token=TOKEN) as emu:
        answer = requests.post(f"{emu.url}/v21.0/5/users", timeout=10,
                               json={"access_token": TOKEN, "payload": {"schema": ["EMAIL"]}},
                               headers={"Authorization": f"Bearer {TOKEN}"})
        assert answer.status_code == 400 and "Unexpected parameter" in answer.text
        assert TOKEN not in answer.text and "payload" not in answer.text
        requests.get(f"{emu.url}/v21.0/5/sessions?session_id=1&access_token={TOKEN}",
                     timeout=10)
        assert TOKEN in emu.requests[-1].url and TOKEN not in repr(emu.requests)
        assert emu.violations == ["access_token in the URL (it belongs in a header or the body)"]
        assert "path='/v21.0/5/sessions'" in repr(emu.requests[-1])


def test_a_non_ascii_appsecret_proof_is_an_error_100_not_a_dropped_connection() -> None:
    with GraphEmulator(token=TOKEN, app_secret=APP_SECRET) as emu:
        answer = requests.post(f"{emu.url}/v21.0/5/users", timeout=10,
                               data={"appsecret_proof": "é" * 64},
                               headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 400 and answer.json()["error"]["code"] == 100
