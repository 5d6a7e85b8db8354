"""The retry policy: which Graph API failures are worth another attempt, and how long to wait.

A :class:`RetryPolicy` is a small frozen value, in the spirit of tenacity: the send loop
asks it two questions, "is this failure retryable, and under which reason?" and "how long
do I wait before attempt *n + 1*?", and holds no retry logic of its own.

Classification follows the table in the Graph API spec. Throttling arrives as HTTP 400
with a code in the body, so failures are classified by ``error.code`` /
``error.error_subcode``, never by HTTP status; transport failures (reset, timeout, 5xx,
non-JSON body) have the reason ``"transport"``.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import orjson

__all__ = [
    "REASONS",
    "THROTTLE_REASONS",
    "RetryPolicy",
    "regain_access_seconds",
]

#: Every reason a retry can be counted under (the keys of ``UploadReport.retries``).
REASONS: Final = (
    "rate_limit",  # 80003: the custom-audience limit of the ad account
    "call_limit",  # 17, 4, 32, 341, 613, 80004: user / app / account call limits
    "temporary",  # 1, 2: temporary or unknown errors
    "audience_busy",  # 2650/1870145: an update of the audience is in progress
    "audience_error",  # 2650/1870148: "something went wrong", a few tries only
    "not_visible",  # 803 right after the audience was created
    "transport",  # reset, timeout, HTTP 5xx, a body that is not JSON
)

#: Reasons that mean "you are throttled": they end in :class:`~audframe.errors.RateLimitError`.
THROTTLE_REASONS: Final = frozenset({"rate_limit", "call_limit"})


@dataclass(frozen=True)
class RetryPolicy:
    """When to retry a failed Graph API call, and how long to wait first.

    Parameters
    ----------
    max_attempts:
        Attempts per request, the first one included (``1`` disables retries).
    backoff_base:
        Seconds; the first retry waits a uniformly random time in ``[0, backoff_base]``,
        the *n*-th in ``[0, backoff_base * 2**(n-1)]`` ("full jitter").
    backoff_max:
        Seconds; no single wait is longer, including a wait the server asked for.
    throttle_factor:
        Throttling codes back off ``throttle_factor`` times longer than other failures.
    few_attempts:
        Failures of a request the spec says to retry only "a few times" (2650/1870148,
        803) after which it gives up; its failures for other reasons do not count.
    rate_limit_codes, call_limit_codes, temporary_codes, short_codes:
        The allow-list of retryable ``error.code`` values, by reason.
    retryable_subcodes:
        ``(code, subcode)`` pairs that are retryable although their code is not
        (2650 is fatal except for these subcodes).

    Examples
    --------
    >>> policy = RetryPolicy(backoff_base=1.0, backoff_max=60.0)
    >>> policy.reason(80003, 2446079)
    'rate_limit'
    >>> policy.reason(190, None) is None  # fatal
    True
    >>> policy.delay(3, "temporary", rand=lambda: 1.0)  # 1.0 * 2**2, full jitter at its top
    4.0
    """

    max_attempts: int = 8
    backoff_base: float = 1.0
    backoff_max: float = 300.0
    throttle_factor: float = 10.0
    few_attempts: int = 3
    rate_limit_codes: frozenset[int] = frozenset({80003})
    call_limit_codes: frozenset[int] = frozenset({17, 4, 32, 341, 613, 80004})
    temporary_codes: frozenset[int] = frozenset({1, 2})
    short_codes: frozenset[int] = frozenset({803})
    retryable_subcodes: frozenset[tuple[int, int]] = frozenset(
        {(2650, 1870145), (2650, 1870148)}
    )

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {self.max_attempts}")
        if self.few_attempts < 1:
            raise ValueError(f"few_attempts must be at least 1, got {self.few_attempts}")
        if self.backoff_base < 0 or self.backoff_max < 0 or self.throttle_factor < 0:
            raise ValueError(
                "backoff_base, backoff_max and throttle_factor must not be negative; got "
                f"{self.backoff_base}, {self.backoff_max}, {self.throttle_factor}"
            )

    def reason(self, code: int | None, subcode: int | None = None) -> str | None:
        """Return the retry reason for a Graph error, or ``None`` when it is fatal.

        Parameters
        ----------
        code, subcode:
            ``error.code`` and ``error.error_subcode`` of the error body.
        """
        if code is None:
            return None
        if subcode is not None and (code, subcode) in self.retryable_subcodes:
            return "audience_busy" if subcode == 1870145 else "audience_error"
        if code in self.rate_limit_codes:
            return "rate_limit"
        if code in self.call_limit_codes:
            return "call_limit"
        if code in self.temporary_codes:
            return "temporary"
        if code in self.short_codes:
            return "not_visible"
        return None

    def attempts_for(self, reason: str) -> int:
        """Return how many times a request may fail for ``reason`` before it gives up
        (failures for other reasons do not count; ``max_attempts`` caps them all)."""
        if reason in ("audience_error", "not_visible"):
            return min(self.few_attempts, self.max_attempts)
        return self.max_attempts

    def delay(
        self,
        attempt: int,
        reason: str,
        *,
        server_wait: float | None = None,
        rand: Callable[[], float] = random.random,
    ) -> float:
        """Return the seconds to wait after failed attempt number ``attempt`` (1-based).

        Full jitter: ``rand() * min(backoff_max, base * 2**(attempt - 1))``, where ``base``
        is ``backoff_base``, times ``throttle_factor`` for throttling reasons. A wait the
        server asked for (``server_wait``, seconds) is honoured, capped at ``backoff_max``.

        Parameters
        ----------
        attempt:
            The number of the attempt that just failed, from 1.
        reason:
            One of :data:`REASONS`.
        server_wait:
            Seconds the server asked for, e.g. from :func:`regain_access_seconds`.
        rand:
            A function returning a float in ``[0, 1)``; inject a seeded one in tests.
        """
        base = self.backoff_base
        if reason in THROTTLE_REASONS:
            base *= self.throttle_factor
        ceiling = min(self.backoff_max, base * 2.0 ** max(attempt - 1, 0))
        wait = rand() * ceiling
        if server_wait is not None and server_wait > 0:
            wait = max(wait, min(server_wait, self.backoff_max))
        return wait


def regain_access_seconds(headers: Mapping[str, str]) -> float | None:
    """Return the wait Meta asks for in ``X-Business-Use-Case-Usage``, in seconds.

    The header is JSON: ``{business_object_id: [{"estimated_time_to_regain_access":
    minutes, ...}, ...]}``. The largest value over all entries wins; ``None`` when the
    header is absent, malformed or says 0.

    Examples
    --------
    >>> regain_access_seconds(
    ...     {"X-Business-Use-Case-Usage":
    ...      '{"123": [{"type": "CUSTOM_AUDIENCE", "estimated_time_to_regain_access": 2}]}'}
    ... )
    120.0
    """
    raw: str | None = None
    for name, value in headers.items():
        if name.lower() == "x-business-use-case-usage":
            raw = value
            break
    if not raw:
        return None
    try:
        usage: Any = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    minutes = 0.0
    if isinstance(usage, dict):
        for entries in usage.values():
            items = entries if isinstance(entries, list) else [entries]
            for item in items:
                if isinstance(item, dict):
                    wait = item.get("estimated_time_to_regain_access")
                    if isinstance(wait, int | float) and not isinstance(wait, bool):
                        minutes = max(minutes, float(wait))
    return minutes * 60.0 if minutes > 0 else None
