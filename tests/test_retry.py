"""RetryPolicy: classification by Graph code, full-jitter backoff, the server's wait."""

from __future__ import annotations

import dataclasses
import random

import pytest

from audframe.retry import REASONS, RetryPolicy, regain_access_seconds


@pytest.mark.parametrize(
    ("code", "subcode", "reason"),
    [
        (80003, 2446079, "rate_limit"),
        (80003, None, "rate_limit"),
        (17, None, "call_limit"),
        (4, None, "call_limit"),
        (32, None, "call_limit"),
        (341, None, "call_limit"),
        (613, None, "call_limit"),
        (80004, None, "call_limit"),
        (1, None, "temporary"),
        (2, None, "temporary"),
        (2650, 1870145, "audience_busy"),
        (2650, 1870148, "audience_error"),
        (803, None, "not_visible"),
    ],
)
def test_retryable_codes_have_a_reason(code: int, subcode: int | None, reason: str) -> None:
    assert RetryPolicy().reason(code, subcode) == reason
    assert reason in REASONS


@pytest.mark.parametrize(
    ("code", "subcode"),
    [(190, None), (190, 463), (100, None), (100, 33), (105, None), (194, None), (200, None),
     (294, None), (368, None), (2635, None), (2650, None), (2650, 1870034), (None, None),
     (12345, None)],
)
def test_everything_else_is_fatal(code: int | None, subcode: int | None) -> None:
    assert RetryPolicy().reason(code, subcode) is None


def test_the_allow_list_is_explicit_and_replaceable() -> None:
    policy = RetryPolicy(call_limit_codes=frozenset({17}))
    assert policy.reason(17) == "call_limit"
    assert policy.reason(613) is None


def test_full_jitter_spans_zero_to_the_exponential_ceiling() -> None:
    policy = RetryPolicy(backoff_base=0.5, backoff_max=100.0)
    assert policy.delay(1, "temporary", rand=lambda: 1.0) == pytest.approx(0.5)
    assert policy.delay(4, "temporary", rand=lambda: 1.0) == pytest.approx(4.0)
    assert policy.delay(4, "temporary", rand=lambda: 0.0) == 0.0
    assert policy.delay(4, "temporary", rand=lambda: 0.25) == pytest.approx(1.0)


def test_backoff_is_capped() -> None:
    policy = RetryPolicy(backoff_base=1.0, backoff_max=30.0)
    assert policy.delay(40, "transport", rand=lambda: 1.0) == pytest.approx(30.0)
    rng = random.Random(1)
    delays = [policy.delay(n, "rate_limit", rand=rng.random) for n in range(1, 30)]
    assert max(delays) <= 30.0
    assert len(set(delays)) > 20  # jittered, not a constant


def test_throttles_back_off_longer() -> None:
    policy = RetryPolicy(backoff_base=1.0, backoff_max=1000.0, throttle_factor=10.0)
    top = 1.0 - 1e-12
    assert policy.delay(2, "call_limit", rand=lambda: top) > 10 * policy.delay(
        2, "temporary", rand=lambda: top) * 0.99
    assert policy.delay(2, "rate_limit", rand=lambda: top) == pytest.approx(20.0)


def test_server_wait_is_honoured_within_the_cap() -> None:
    policy = RetryPolicy(backoff_base=0.001, backoff_max=300.0)
    assert policy.delay(1, "rate_limit", server_wait=120.0, rand=lambda: 0.5) == 120.0
    capped = RetryPolicy(backoff_base=0.001, backoff_max=30.0)
    assert capped.delay(1, "rate_limit", server_wait=3600.0, rand=lambda: 0.5) == 30.0
    # a server wait never shortens a longer jittered delay
    assert policy.delay(12, "rate_limit", server_wait=0.001, rand=lambda: 1.0) > 1.0


def test_few_attempts_for_the_spec_s_retry_a_few_times() -> None:
    policy = RetryPolicy(max_attempts=8, few_attempts=3)
    assert policy.attempts_for("audience_error") == 3
    assert policy.attempts_for("not_visible") == 3
    assert policy.attempts_for("rate_limit") == 8
    assert RetryPolicy(max_attempts=2, few_attempts=3).attempts_for("not_visible") == 2


def test_policy_is_a_frozen_hashable_value() -> None:
    policy = RetryPolicy()
    with pytest.raises(dataclasses.FrozenInstanceError):
        policy.max_attempts = 3  # type: ignore[misc]
    assert policy == RetryPolicy()
    assert len({policy, RetryPolicy(), RetryPolicy(max_attempts=2)}) == 2


@pytest.mark.parametrize(
    "kwargs", [{"max_attempts": 0}, {"backoff_base": -1.0}, {"backoff_max": -1.0},
               {"few_attempts": 0}],
)
def test_nonsense_is_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


def test_regain_access_header_is_parsed_in_minutes() -> None:
    header = ('{"111": [{"type": "CUSTOM_AUDIENCE", "call_count": 98, '
              '"estimated_time_to_regain_access": 3}], '
              '"222": [{"type": "ADS_MANAGEMENT", "estimated_time_to_regain_access": 7}]}')
    assert regain_access_seconds({"X-Business-Use-Case-Usage": header}) == 7 * 60.0
    assert regain_access_seconds({"x-business-use-case-usage": header}) == 7 * 60.0


@pytest.mark.parametrize(
    "headers",
    [{}, {"X-Business-Use-Case-Usage": "not json"},
     {"X-Business-Use-Case-Usage": '{"1": [{"estimated_time_to_regain_access": 0}]}'},
     {"X-Business-Use-Case-Usage": '{"1": [{"estimated_time_to_regain_access": "x"}]}'},
     {"X-Business-Use-Case-Usage": "[1, 2]"}],
)
def test_regain_access_header_absent_or_odd_means_no_wait(headers: dict[str, str]) -> None:
    assert regain_access_seconds(headers) is None
