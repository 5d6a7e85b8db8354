"""The HTTP side of the sender: one Graph API request, its auth, its failures, its retries.

Internal to :class:`audframe.Sender`. A :class:`Transport` holds the token, the
``appsecret_proof``, the ``requests`` session and the :class:`~audframe.retry.RetryPolicy`.
It sends form fields in the request body (URL-encoded here, once per batch, not by
``requests`` on every attempt), the token in an ``Authorization`` header, and turns Graph
error bodies into :class:`~audframe.errors.GraphAPIError` (fatal, or retried under a
reason) and everything else that is not a usable answer (reset, timeout, 5xx, a body
that is not JSON, a redirect, which is never followed) into
:class:`~audframe.errors.TransportError`. A body that echoes the token, the app secret
or the proof is read without them, so no error, report or journal holds them.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import quote, quote_plus

import orjson
import requests
import requests.auth
from urllib3.exceptions import NewConnectionError

from audframe.errors import AudframeError, GraphAPIError, RateLimitError, TransportError
from audframe.retry import THROTTLE_REASONS, RetryPolicy, regain_access_seconds

__all__ = ["Aborted", "Expired", "Transport", "appsecret_proof", "form_body"]

log = logging.getLogger("audframe")

_FATAL_HINTS: Final[dict[int, str]] = {
    190: "the access token is invalid or expired: make a new one (a system-user token "
    "does not expire) and rerun",
    200: "the token lacks a permission on this ad account or audience (ads_management): "
    "grant it and rerun",
    294: "the app lacks the ads_management permission: grant it and rerun",
    100: "a parameter was refused: check the audience id, api_version and the payload "
    "schema",
    105: "too many parameters: send only payload and session",
    194: "a required parameter is missing",
    368: "the account is blocked by a policy: see Meta's Business Support",
    2635: "this api_version is deprecated: pass a newer api_version",
    2650: "Meta refused the audience update (a data-source or schema mismatch, e.g. "
    "single-key data for a multi-key audience): send the schema the audience was created "
    "with",
}

#: Shorter text is not looked for: no real token or secret is that short, and a token
#: of one letter would blot out that letter everywhere (Sender refuses shorter ones).
SCRUBBED_LENGTH: Final = 8
_FORM: Final = "application/x-www-form-urlencoded"
# The bytes quote_plus leaves alone; every other byte is percent-encoded (space as '+').
_FORM_SAFE: Final = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~"
# Past this many distinct bytes to encode, one bytes.replace each stops paying off.
_FEW_UNSAFE: Final = 32


def appsecret_proof(app_secret: str, access_token: str) -> str:
    """Return ``appsecret_proof``: HMAC-SHA256 keyed with the app secret over the token.

    Examples
    --------
    >>> appsecret_proof("appsecret-123", "access-token-234")
    'cdfcbc87edc90f8123cd3797a0d6f6f7eedf63d97038a15d1693d297f653d7f2'
    """
    return hmac.new(app_secret.encode(), access_token.encode(), hashlib.sha256).hexdigest()


def _quote(text: str) -> bytes:
    """``quote_plus(text)``, fast for long text made of few distinct bytes (the JSON of
    digests has ``{}[]":,`` and hex): one C-level ``bytes.replace`` per byte to encode."""
    raw = text.encode()
    unsafe = set(raw.translate(None, _FORM_SAFE))
    if len(unsafe) > _FEW_UNSAFE:
        return quote_plus(raw).encode("ascii")
    # '%' first (every replacement adds one), ' ' last (its '+' must not be encoded).
    for byte in sorted(unsafe, key=lambda b: (b != 0x25, b == 0x20)):
        raw = raw.replace(bytes((byte,)), b"+" if byte == 0x20 else b"%%%02X" % byte)
    return raw


def form_body(fields: Mapping[str, str]) -> bytes:
    """URL-encode form fields, byte-identical to ``urllib.parse.urlencode(fields)``.

    Examples
    --------
    >>> form_body({"payload": '{"data":[["a b"]]}', "n": "1"})
    b'payload=%7B%22data%22%3A%5B%5B%22a+b%22%5D%5D%7D&n=1'
    """
    return b"&".join(_quote(k) + b"=" + _quote(v) for k, v in fields.items())


class _Secret:
    """A string that never shows itself in a repr, str or traceback."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "'***'"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("secrets are not picklable")


class _Bearer(requests.auth.AuthBase):
    """``Authorization: Bearer <token>``, as requests' ``auth=``: given explicitly, so that
    requests does not put a ``~/.netrc`` login in its place."""

    def __init__(self, token: _Secret) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._token.reveal()}"
        return request


@dataclass(frozen=True)
class _Failure:
    reason: str | None  # None: fatal
    error: AudframeError
    server_wait: float | None = None
    unsure: bool = False  # no reply, or a server error: the request may have been applied


class Expired(Exception):
    """The session's window ran out before the request could be sent."""


class Aborted(Exception):
    """Another request failed fatally; this one stops without sending."""


def _never_connected(exc: requests.RequestException) -> bool:
    """Whether the request failed before a connection existed (refused, unknown host):
    then nothing was sent, so nothing can have been applied."""
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(exc, requests.ConnectionError) and isinstance(reason, NewConnectionError)


def _as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class Transport:
    """Requests to one Graph API host with one token, retried by the policy.

    ``sleep`` is called with the seconds to wait between attempts (tests inject a
    fake); by default the wait ends at once when the call is aborted.
    """

    def __init__(
        self,
        access_token: str,
        *,
        app_secret: str | None,
        base_url: str,
        api_version: str,
        timeout: float,
        retry: RetryPolicy,
        session: requests.Session | None,
        pool_size: int,
        sleep: Callable[[float], object] | None,
        rng: random.Random,
    ) -> None:
        self._token = _Secret(access_token)
        self._auth = _Bearer(self._token)
        self._secret = _Secret(app_secret) if app_secret else None
        self._proof = _Secret(appsecret_proof(app_secret, access_token)) if app_secret else None
        self.base_url = base_url.rstrip("/")
        self.api_version = api_version.strip("/")
        self.timeout = timeout
        self.retry = retry
        self._sleep = sleep
        self._rng = rng
        self._own_session = session is None
        if session is None:
            session = requests.Session()
            adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=pool_size)
            session.mount("https://", adapter)
            session.mount("http://", adapter)
        self._session = session

    @property
    def has_secret(self) -> bool:
        return self._secret is not None

    def close(self) -> None:
        """Close the HTTP session if the transport made it."""
        if self._own_session:
            self._session.close()

    def _scrub(self, text: str) -> str:
        """``text`` with the token, the app secret and the proof replaced by ``***``, in
        any case and URL-encoded too (a server that echoes what it got)."""
        forms = {
            form
            for secret in (self._token, self._secret, self._proof) if secret is not None
            for form in (secret.reveal(), quote(secret.reveal(), safe=""),
                         quote_plus(secret.reveal()))
            if len(form) >= SCRUBBED_LENGTH
        }
        if not forms:
            return text
        pattern = "|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True))
        return re.sub(pattern, "***", text, flags=re.IGNORECASE)

    def _scrub_parsed(self, value: Any) -> Any:
        """A parsed JSON answer with every string (keys too) scrubbed: JSON escapes
        (``\\u0045AA…``, ``\\/``) hide a secret from :meth:`_scrub` of the raw text."""
        if isinstance(value, str):
            return self._scrub(value)
        if isinstance(value, list):
            return [self._scrub_parsed(v) for v in value]
        if isinstance(value, dict):
            return {self._scrub(k): self._scrub_parsed(v) for k, v in value.items()}
        return value

    def _attempt(
        self, method: str, path: str, body: bytes | None, params: Mapping[str, str] | None
    ) -> dict[str, Any] | _Failure:
        """One HTTP request; the parsed body, or a classified failure."""
        headers = {
            "User-Agent": "audframe/0.1",
            "Accept": "application/json",
        }
        if body is not None:
            headers["Content-Type"] = _FORM
        what = f"{method} /{path}"
        try:
            response = self._session.request(
                method, f"{self.base_url}/{self.api_version}/{path.lstrip('/')}",
                data=body, params=params, headers=headers, timeout=self.timeout,
                allow_redirects=False, auth=self._auth,
            )
        except requests.ConnectTimeout:  # no connection, so nothing was sent
            return _Failure("transport", TransportError(
                f"{what}: could not connect within {self.timeout:g} s"))
        except requests.Timeout:
            return _Failure("transport", TransportError(
                f"{what}: no answer within {self.timeout:g} s"), unsure=True)
        except (requests.exceptions.InvalidURL, requests.exceptions.InvalidSchema,
                requests.exceptions.MissingSchema) as exc:  # nothing was sent
            return _Failure(None, TransportError(
                f"{what}: base_url is not a URL requests can send to ({type(exc).__name__})"))
        except requests.RequestException as exc:
            if _never_connected(exc):
                return _Failure("transport", TransportError(
                    f"{what}: could not connect to {self.base_url} (refused or unknown host)"))
            return _Failure("transport", TransportError(
                f"{what}: the connection failed ({type(exc).__name__})"), unsure=True)
        status = response.status_code
        if 300 <= status < 400:  # not followed: the Authorization header would go along
            return _Failure(None, TransportError(
                f"{what}: HTTP {status} redirect, not followed; check base_url (the Graph "
                "API host, https://graph.facebook.com)"))
        try:  # a body that echoes a secret is read without it
            parsed: Any = orjson.loads(self._scrub(response.content.decode("utf-8", "replace")))
        except orjson.JSONDecodeError:
            kind = self._scrub(response.headers.get("Content-Type", "unknown").split(";")[0])
            return _Failure("transport", TransportError(
                f"{what}: HTTP {status} with a body that is not JSON ({kind})"),
                unsure=True)  # not Graph's answer: a proxy's, maybe after forwarding it
        parsed = self._scrub_parsed(parsed)
        if isinstance(parsed, dict) and isinstance(parsed.get("error"), dict):
            return self._graph_failure(parsed["error"], status, response.headers)
        if status >= 500:
            return _Failure("transport", TransportError(f"{what}: HTTP {status}"), unsure=True)
        if status >= 400 or not isinstance(parsed, dict):
            return _Failure(None, GraphAPIError(
                f"unexpected HTTP {status} answer without an error body", http_status=status))
        return parsed

    def _graph_failure(
        self, error: Mapping[str, Any], status: int, headers: Mapping[str, str]
    ) -> _Failure:
        code, subcode = _as_int(error.get("code")), _as_int(error.get("error_subcode"))
        message = str(error.get("message", "no message"))[:500]
        trace = error.get("fbtrace_id")
        reason = self.retry.reason(code, subcode)
        if reason is None and code is None and status >= 500:
            reason = "transport"  # a gateway's error body, not a Graph error code
        if reason is None and code is not None and code in _FATAL_HINTS:
            message = f"{message} — {_FATAL_HINTS[code]}"
        cls = RateLimitError if reason in THROTTLE_REASONS else GraphAPIError
        exc = cls(message, code=code, subcode=subcode,
                  fbtrace_id=str(trace) if trace else None, http_status=status)
        # a server error (a gateway's, or Graph's temporary or unknown error, code 1 or 2,
        # whatever its HTTP status) may come after the request was applied: a request
        # that must go once asks before it is resent
        unsure = status >= 500 or code in (1, 2)
        return _Failure(reason, exc, regain_access_seconds(headers), unsure=unsure)

    @staticmethod
    def _exhausted(failure: _Failure, attempts: int, what: str) -> AudframeError:
        advice = ("rerun later (with the same journal, if it had one, to resume where it "
                  "stopped)")
        exc = failure.error
        if isinstance(exc, GraphAPIError):
            extra = ""
            if exc.code == 1:
                extra = "; the batch may be too large: try a smaller batch_size"
            return type(exc)(
                f"{exc.message} — {what} gave up after {attempts} attempts{extra}; {advice}",
                code=exc.code, subcode=exc.subcode, fbtrace_id=exc.fbtrace_id,
                http_status=exc.http_status,
            )
        return TransportError(f"{exc} — {what} gave up after {attempts} attempts; check the "
                              f"network and base_url, then {advice}")

    @property
    def settle(self) -> float:
        """Seconds a request without a reply may still be at work on the server: the
        timeout, capped by the policy's ``backoff_max``."""
        return min(self.timeout, self.retry.backoff_max)

    def _wait(self, seconds: float, abort: threading.Event | None) -> None:
        if self._sleep is not None:
            self._sleep(seconds)
        elif abort is not None:
            abort.wait(seconds)
        else:
            time.sleep(seconds)

    @staticmethod
    def _confirm(
        confirm: Callable[[], dict[str, Any] | None] | None, what: str
    ) -> dict[str, Any] | None:
        if confirm is None:
            return None
        confirmed = confirm()
        log.info("%s may have been applied; Meta's status says %s", what,
                 "it was" if confirmed is not None else "it was not")
        return confirmed

    def call(
        self,
        method: str,
        path: str,
        *,
        what: str,
        data: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        on_retry: Callable[[str], object] | None = None,
        abort: threading.Event | None = None,
        expired: Callable[[], bool] | None = None,
        confirm: Callable[[], dict[str, Any] | None] | None = None,
        check_first: bool = False,
        wait_first: float = 0.0,
        not_again: str | None = None,
    ) -> tuple[dict[str, Any], int]:
        """Send with retries; return the body and the attempts it took.

        ``data`` goes in the body, ``params`` in the query string (never secrets other
        than ``appsecret_proof``, which Graph accepts there). Raises :class:`Aborted`
        when ``abort`` is set and :class:`Expired` when ``expired()`` says so, both
        before an attempt; a fatal or exhausted failure raises its error.

        ``confirm`` is for a request that must not be applied twice: after an attempt
        without a reply (timeout, connection reset) or with a server error (HTTP 5xx),
        which may have been applied, it is asked before the next attempt (or before
        giving up), at least ``timeout`` seconds later (capped by the policy's
        ``backoff_max``: the server may still be at work on it), and returns the body to
        answer with when the request was applied, ``None`` to go on retrying.
        ``check_first``: ask ``confirm`` before the first attempt too (an earlier run may
        have sent the request), ``wait_first`` seconds from now (that request may still be
        at work on the server). ``not_again``: for a request that must not be applied
        twice and has no status to ask (creating an audience), what to do after an
        attempt that may have been applied: a TransportError saying so is raised.
        """
        if self._proof is not None:
            if data is not None:
                data = {**data, "appsecret_proof": self._proof.reveal()}
            else:
                params = {**(params or {}), "appsecret_proof": self._proof.reveal()}
        body = None if data is None else form_body(data)
        attempts = 0
        failures: Counter[str] = Counter()  # by reason: "a few times" counts its own
        unsure = check_first
        if check_first and wait_first > 0:
            self._wait(wait_first, abort)
        while True:
            if abort is not None and abort.is_set():
                raise Aborted
            if unsure and (confirmed := self._confirm(confirm, what)) is not None:
                return confirmed, attempts
            if expired is not None and expired():
                raise Expired
            attempts += 1
            outcome = self._attempt(method, path, body, params)
            if not isinstance(outcome, _Failure):
                return outcome, attempts
            if outcome.reason is None:
                raise outcome.error
            unsure = outcome.unsure
            if unsure and not_again is not None:
                raise TransportError(f"{outcome.error} — {what} may have been applied, so it "
                                     f"was not sent again: {not_again}")
            failures[outcome.reason] += 1
            # A request that must go once may still be at work on the server after a
            # timeout: it gets as long again (capped by the policy) before the status is
            # asked, so that the status can count it.
            settle = self.settle if unsure and confirm else 0.0
            if (attempts >= self.retry.max_attempts
                    or failures[outcome.reason] >= self.retry.attempts_for(outcome.reason)):
                if settle:
                    self._wait(settle, abort)
                if unsure and (confirmed := self._confirm(confirm, what)) is not None:
                    return confirmed, attempts
                raise self._exhausted(outcome, attempts, what)
            delay = max(settle, self.retry.delay(
                attempts, outcome.reason, server_wait=outcome.server_wait, rand=self._rng.random
            ))
            if on_retry is not None:
                on_retry(outcome.reason)
            code = getattr(outcome.error, "code", None)
            if outcome.reason == "transport":  # shown: WARNING reaches stderr even without
                # logging set up, and retries that take a minute in silence look like a hang
                log.warning("%s; attempt %d, retrying in %.2f s", outcome.error, attempts, delay)
            else:
                log.info("%s: %s%s, attempt %d, retrying in %.2f s", what, outcome.reason,
                         f" (code {code})" if code is not None else "", attempts, delay)
            self._wait(delay, abort)
