"""The Graph API sender: sessions done right, retries by Graph code, a resumable journal.

:class:`Sender` uploads hashed rows to a customer-list custom audience::

    with Sender(token, app_secret=secret) as sender:
        report = sender.add("120210000000000001", hashed_frame, journal="upload.sqlite")

How a call runs
---------------
- The input (a hashed DataFrame/LazyFrame, or chunks from ``to_payloads``) is checked
  before anything is sent: hashed keys must hold SHA-256 digests.
- Every batch of one call carries one ``session_id``; ``batch_seq`` counts from 1. The
  first batch of a session goes alone (a bad token or audience fails after one request,
  and for ``replace`` batch 1 must be acknowledged before any other); then up to
  ``concurrency`` batches are in flight; the batch with ``last_batch_flag`` goes last,
  once every other batch was acknowledged, exactly once.
- Failures are classified by the Graph ``error.code``/``error_subcode`` (see
  :class:`~audframe.retry.RetryPolicy`); transport failures (reset, timeout, 5xx, a body
  that is not JSON) are retried too. Fatal codes raise
  :class:`~audframe.errors.GraphAPIError` at once, and no further request is started.
- Meta closes a session 90 minutes after its first batch. Shortly before that, the rest
  of an add or remove continues in a new session; the rest of a replace whose batch 1
  was accepted continues as adds (the audience holds what the replace received).
- With ``journal=``, every acknowledgement is committed to SQLite; the same call run
  again after a crash skips the acknowledged batches and finishes the same session.

The payload always travels in the request body (removals too), the token in an
``Authorization`` header: neither is ever in a URL, a log record, an exception, a repr,
the journal or the report.
"""

from __future__ import annotations

import bisect
import hashlib
import hmac
import logging
import random
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from os import PathLike
from types import TracebackType
from typing import Any, Final, Literal

import orjson
import polars as pl
import requests

from audframe.errors import (
    AudframeError,
    GraphAPIError,
    JournalError,
    NotHashedError,
    RateLimitError,
    TransportError,
    ValidationError,
)
from audframe.journal import AckedBatch, Journal, JournalSession
from audframe.keys import HASHED_KEYS
from audframe.retry import THROTTLE_REASONS, RetryPolicy, regain_access_seconds
from audframe.upload_report import BATCH_COLUMNS, UploadReport

__all__ = ["MAX_ROWS", "SESSION_MARGIN", "SESSION_WINDOW", "Sender", "appsecret_proof"]

log = logging.getLogger("audframe")

#: Meta's limit of rows per request.
MAX_ROWS: Final = 10_000
#: Meta ends a session this many seconds after its first batch.
SESSION_WINDOW: Final = 90 * 60.0
#: A session is left for a new one this many seconds before its window ends.
SESSION_MARGIN: Final = 5 * 60.0

Operation = Literal["add", "remove", "replace"]
_EDGES: Final[dict[str, tuple[str, str]]] = {
    "add": ("POST", "users"),
    "remove": ("DELETE", "users"),
    "replace": ("POST", "usersreplace"),
}
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
_SAMPLES_MAX: Final = 100

Chunk = Mapping[str, Any]
Progress = Callable[[int, int | None], object]


def appsecret_proof(app_secret: str, access_token: str) -> str:
    """Return ``appsecret_proof``: HMAC-SHA256 keyed with the app secret over the token.

    Examples
    --------
    >>> appsecret_proof("appsecret-123", "access-token-234")
    'cdfcbc87edc90f8123cd3797a0d6f6f7eedf63d97038a15d1693d297f653d7f2'
    """
    return hmac.new(app_secret.encode(), access_token.encode(), hashlib.sha256).hexdigest()


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


@dataclass(frozen=True)
class _Failure:
    reason: str | None  # None: fatal
    error: AudframeError
    server_wait: float | None = None


@dataclass
class _Batch:
    index: int
    body: str
    digest: str
    rows: int
    last: bool = False


@dataclass
class _Segment:
    """One Graph session of the current call; ``skip`` holds the input positions acked
    in earlier sessions, which the ``batch_seq`` numbering of this one leaves out."""

    n: int
    session_id: int
    operation: str
    started_at: float | None
    skip: list[int] = field(default_factory=list)
    estimated: int | None = None  # rows this session is expected to carry

    def seq(self, index: int) -> int:
        return index + 1 - bisect.bisect_left(self.skip, index)

    def expired(self, now: float) -> bool:
        return (
            self.started_at is not None
            and now >= self.started_at + SESSION_WINDOW - SESSION_MARGIN
        )


@dataclass(frozen=True)
class _Sent:
    response: dict[str, Any]
    segment: _Segment
    seq: int
    attempts: int
    seconds: float


class _Expired(Exception):
    """The session's window ran out before the batch could be sent."""


class _Aborted(Exception):
    """Another batch failed fatally; this one stops without sending."""


def _scrubbed(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def _in_notebook() -> bool:
    shell = sys.modules.get("IPython")
    if shell is None:
        return False
    try:
        ipython = shell.get_ipython()
    except AttributeError:
        return False
    return ipython is not None and type(ipython).__name__ == "ZMQInteractiveShell"


class Sender:
    """Uploads hashed rows to Meta custom audiences through the Graph API.

    Parameters
    ----------
    access_token:
        A system-user or user token with ``ads_management``. Sent in an
        ``Authorization: Bearer`` header, never in a URL, never logged.
    app_secret:
        When given, every call carries ``appsecret_proof``.
    base_url:
        The Graph API host, or a :class:`~audframe.emulator.GraphEmulator`'s ``url``.
    api_version:
        Graph API version, e.g. ``"v21.0"``.
    timeout:
        Seconds to connect and to wait for each answer.
    max_attempts, backoff_base, backoff_max:
        The retry policy (see :class:`~audframe.retry.RetryPolicy`); ignored when
        ``retry`` is given.
    concurrency:
        Batches in flight at once (1 … 32).
    progress:
        ``None``: a ``tqdm`` bar over rows when stderr is a terminal or in a notebook;
        ``True``/``False``: always/never; or a callable ``progress(rows_done,
        rows_total)`` (``rows_total`` is ``None`` when unknown).
    session:
        A ``requests.Session`` to send with (proxies, certificates, adapters); the
        sender closes only a session it made itself.
    retry:
        A full :class:`~audframe.retry.RetryPolicy`, overriding the three arguments above.
    sleep:
        Called with the seconds to wait between attempts (tests inject a fake);
        by default waits, but wakes at once when the call is aborted.
    clock:
        Wall-clock function for the sessions' 90-minute window (journaled, so it must
        be comparable across runs).
    rng:
        Random generator for the backoff jitter.

    Examples
    --------
    >>> with Sender("EAAB…", base_url=emu.url) as sender:  # doctest: +SKIP
    ...     report = sender.add("120210000000000001", hashed, journal="add.sqlite")
    """

    def __init__(
        self,
        access_token: str,
        *,
        app_secret: str | None = None,
        base_url: str = "https://graph.facebook.com",
        api_version: str = "v21.0",
        timeout: float = 60.0,
        max_attempts: int = 8,
        backoff_base: float = 1.0,
        backoff_max: float = 300.0,
        concurrency: int = 4,
        progress: bool | Progress | None = None,
        session: requests.Session | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], object] | None = None,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        if not isinstance(access_token, str) or not access_token.strip():
            raise ValueError("access_token must be a non-empty string")
        if not 1 <= concurrency <= 32:
            raise ValueError(f"concurrency must be between 1 and 32, got {concurrency}")
        if timeout <= 0:
            raise ValueError(f"timeout must be positive, got {timeout}")
        self._token = _Secret(access_token)
        self._secret = _Secret(app_secret) if app_secret else None
        self._proof = appsecret_proof(app_secret, access_token) if app_secret else None
        self.base_url = base_url.rstrip("/")
        self.api_version = api_version.strip("/")
        self.timeout = timeout
        self.concurrency = concurrency
        self.progress = progress
        self.retry = retry or RetryPolicy(
            max_attempts=max_attempts, backoff_base=backoff_base, backoff_max=backoff_max
        )
        self._sleep = sleep
        self._clock = clock
        self._rng = rng or random.Random()
        self._own_session = session is None
        if session is None:
            session = requests.Session()
            adapter = requests.adapters.HTTPAdapter(
                pool_connections=4, pool_maxsize=max(10, concurrency)
            )
            session.mount("https://", adapter)
            session.mount("http://", adapter)
        self._session = session

    # -- plumbing ---------------------------------------------------------------

    def __repr__(self) -> str:
        secret = ", app_secret=***" if self._secret else ""
        return (
            f"Sender(base_url={self.base_url!r}, api_version={self.api_version!r}, "
            f"concurrency={self.concurrency}{secret})"
        )

    def __enter__(self) -> Sender:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP session if the sender made it."""
        if self._own_session:
            self._session.close()

    def _scrub(self, text: str) -> str:
        secrets = [self._token.reveal()]
        if self._secret is not None:
            secrets.append(self._secret.reveal())
        return _scrubbed(text, secrets)

    def _url(self, path: str) -> str:
        return f"{self.base_url}/{self.api_version}/{path.lstrip('/')}"

    def _attempt(
        self,
        method: str,
        path: str,
        *,
        data: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> dict[str, Any] | _Failure:
        """One HTTP request; the parsed body, or a classified failure."""
        headers = {
            "Authorization": f"Bearer {self._token.reveal()}",
            "User-Agent": "audframe/0.1",
            "Accept": "application/json",
        }
        if self._proof is not None:
            if data is not None:
                data = {**data, "appsecret_proof": self._proof}
            else:
                params = {**(params or {}), "appsecret_proof": self._proof}
        what = f"{method} /{path}"
        try:
            response = self._session.request(
                method, self._url(path), data=data, params=params, headers=headers,
                timeout=self.timeout, allow_redirects=False,
            )
        except requests.Timeout:
            return _Failure("transport", TransportError(
                f"{what}: no answer within {self.timeout:g} s"))
        except requests.RequestException as exc:
            return _Failure("transport", TransportError(
                f"{what}: the connection failed ({type(exc).__name__})"))
        status = response.status_code
        try:
            body: Any = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            kind = response.headers.get("Content-Type", "unknown").split(";")[0]
            return _Failure("transport", TransportError(
                f"{what}: HTTP {status} with a body that is not JSON ({kind})"))
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            return self._graph_failure(body["error"], status, response.headers)
        if status >= 500:
            return _Failure("transport", TransportError(f"{what}: HTTP {status}"))
        if status >= 400 or not isinstance(body, dict):
            return _Failure(None, GraphAPIError(
                f"unexpected HTTP {status} answer without an error body", http_status=status))
        return body

    def _graph_failure(
        self, error: Mapping[str, Any], status: int, headers: Mapping[str, str]
    ) -> _Failure:
        def as_int(value: Any) -> int | None:
            try:
                return int(value)
            except (TypeError, ValueError):
                return None

        code, subcode = as_int(error.get("code")), as_int(error.get("error_subcode"))
        message = self._scrub(str(error.get("message", "no message")))[:500]
        trace = error.get("fbtrace_id")
        reason = self.retry.reason(code, subcode)
        if reason is None and code is not None and code in _FATAL_HINTS:
            message = f"{message} — {_FATAL_HINTS[code]}"
        cls = RateLimitError if reason in THROTTLE_REASONS else GraphAPIError
        exc = cls(message, code=code, subcode=subcode,
                  fbtrace_id=str(trace) if trace else None, http_status=status)
        return _Failure(reason, exc, regain_access_seconds(headers))

    def _exhausted(self, failure: _Failure, attempts: int, what: str) -> AudframeError:
        advice = "rerun later (with the same journal= to resume where it stopped)"
        exc = failure.error
        if isinstance(exc, GraphAPIError):
            extra = ""
            if exc.code == 1:
                extra = "; the batch may be too large: try a smaller batch_size"
            out = type(exc)(
                f"{exc.message} — {what} gave up after {attempts} attempts{extra}; {advice}",
                code=exc.code, subcode=exc.subcode, fbtrace_id=exc.fbtrace_id,
                http_status=exc.http_status,
            )
            return out
        return TransportError(f"{exc} — {what} gave up after {attempts} attempts; check the "
                              f"network and base_url, then {advice}")

    def _wait(self, seconds: float, abort: threading.Event | None) -> None:
        if self._sleep is not None:
            self._sleep(seconds)
        elif abort is not None:
            abort.wait(seconds)
        else:
            time.sleep(seconds)

    def _call(
        self,
        method: str,
        path: str,
        *,
        what: str,
        data: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        retries: Counter[str] | None = None,
        lock: threading.Lock | None = None,
        abort: threading.Event | None = None,
        expired: Callable[[], bool] | None = None,
    ) -> tuple[dict[str, Any], int]:
        """Send with retries; return the body and the attempts it took."""
        attempts = 0
        while True:
            if abort is not None and abort.is_set():
                raise _Aborted
            if expired is not None and expired():
                raise _Expired
            attempts += 1
            outcome = self._attempt(method, path, data=data, params=params)
            if not isinstance(outcome, _Failure):
                return outcome, attempts
            if outcome.reason is None:
                raise outcome.error
            if attempts >= self.retry.attempts_for(outcome.reason):
                raise self._exhausted(outcome, attempts, what)
            delay = self.retry.delay(
                attempts, outcome.reason, server_wait=outcome.server_wait, rand=self._rng.random
            )
            if retries is not None and lock is not None:
                with lock:
                    retries[outcome.reason] += 1
            code = getattr(outcome.error, "code", None)
            log.info("%s: %s%s, attempt %d, retrying in %.2f s", what, outcome.reason,
                     f" (code {code})" if code is not None else "", attempts, delay)
            self._wait(delay, abort)

    # -- small calls ------------------------------------------------------------

    def create_audience(
        self,
        ad_account_id: str | int,
        name: str,
        *,
        description: str | None = None,
        customer_file_source: str = "USER_PROVIDED_ONLY",
        value_based: bool = False,
    ) -> str:
        """Create a customer-list custom audience and return its id.

        Parameters
        ----------
        ad_account_id:
            The ad account, with or without the ``act_`` prefix.
        name, description:
            Shown in Ads Manager.
        customer_file_source:
            ``USER_PROVIDED_ONLY``, ``PARTNER_PROVIDED_ONLY`` or
            ``BOTH_USER_AND_PARTNER_PROVIDED``.
        value_based:
            Create a value-based audience (payloads then carry LOOKALIKE_VALUE).
        """
        account = str(ad_account_id).removeprefix("act_")
        if not account.isdigit():
            raise ValueError(f"ad_account_id must be digits (optionally act_…), got {account!r}")
        fields = {
            "name": name,
            "subtype": "CUSTOM",
            "customer_file_source": customer_file_source,
            "is_value_based": "true" if value_based else "false",
        }
        if description is not None:
            fields["description"] = description
        body, _ = self._call("POST", f"act_{account}/customaudiences", data=fields,
                             what="create_audience")
        if "id" not in body:
            raise GraphAPIError("the answer to create_audience has no id; check the ad account")
        log.info("created custom audience %s", body["id"])
        return str(body["id"])

    def session_status(self, audience_id: str | int, session_id: int) -> dict[str, Any]:
        """Return Meta's view of an upload session.

        Keys include ``stage``, ``progress``, ``num_received``, ``num_matched`` and
        ``num_invalid_entries``; an empty dict when Meta does not know the session.
        """
        body, _ = self._call("GET", f"{audience_id}/sessions",
                             params={"session_id": str(int(session_id))},
                             what="session_status")
        data = body.get("data")
        if isinstance(data, list):
            return dict(data[0]) if data else {}
        return body

    # -- uploads ----------------------------------------------------------------

    def add(
        self,
        audience_id: str | int,
        data: pl.DataFrame | pl.LazyFrame | Iterable[Chunk] | Chunk,
        *,
        session_id: int | None = None,
        journal: str | PathLike[str] | None = None,
        batch_size: int = MAX_ROWS,
    ) -> UploadReport:
        """Add rows to a custom audience.

        Parameters
        ----------
        audience_id:
            The custom audience.
        data:
            A hashed DataFrame or LazyFrame (see ``audframe.hash``), or the chunks
            ``audframe.to_payloads`` yields (any iterable of them, or one chunk).
            A list of chunks is checked whole before anything is sent; chunks from an
            iterator are checked one by one, and a bad one is never sent.
        session_id:
            The Graph ``session_id``; by default the chunks' own, else a random one.
        journal:
            Path of a SQLite journal; run the same call again after a crash to resume.
        batch_size:
            Rows per request when ``data`` is a frame (at most 10,000).

        Returns
        -------
        UploadReport

        Raises
        ------
        NotHashedError
            Hashed keys hold values that are not SHA-256 digests (nothing was sent).
        GraphAPIError
            A fatal Graph error, or a retryable one that outlived the retry policy
            (:class:`~audframe.errors.RateLimitError` for throttling).
        TransportError
            No usable answer after every attempt.
        JournalError
            The journal belongs to another call or to other data.
        """
        return self._upload("add", audience_id, data, session_id, journal, batch_size)

    def remove(
        self,
        audience_id: str | int,
        data: pl.DataFrame | pl.LazyFrame | Iterable[Chunk] | Chunk,
        *,
        session_id: int | None = None,
        journal: str | PathLike[str] | None = None,
        batch_size: int = MAX_ROWS,
    ) -> UploadReport:
        """Remove rows from a custom audience (``DELETE`` with the payload in the body).

        Parameters and errors as for :meth:`add`.
        """
        return self._upload("remove", audience_id, data, session_id, journal, batch_size)

    def replace(
        self,
        audience_id: str | int,
        data: pl.DataFrame | pl.LazyFrame | Iterable[Chunk] | Chunk,
        *,
        session_id: int | None = None,
        journal: str | PathLike[str] | None = None,
        batch_size: int = MAX_ROWS,
    ) -> UploadReport:
        """Replace every user of a custom audience with ``data`` (``/usersreplace``).

        Batch 1 is sent alone and acknowledged before any other, and never twice (a
        second batch 1 would restart the replace). If Meta's 90-minute window runs out,
        the rest is sent as adds. Parameters and errors as for :meth:`add`; ``data``
        must hold at least one row.
        """
        return self._upload("replace", audience_id, data, session_id, journal, batch_size)

    def _upload(
        self,
        operation: Operation,
        audience_id: str | int,
        data: Any,
        session_id: int | None,
        journal: str | PathLike[str] | None,
        batch_size: int,
    ) -> UploadReport:
        audience = str(audience_id).strip()
        if not audience.isdigit():
            raise ValueError(f"audience_id must be the audience's numeric id, got {audience!r}")
        if not 1 <= batch_size <= MAX_ROWS:
            raise ValueError(f"batch_size must be between 1 and {MAX_ROWS}, got {batch_size}")
        store = Journal(":memory:" if journal is None else journal)
        try:
            upload = _Upload(self, operation, audience, store, session_id)
            return upload.run(data, batch_size)
        finally:
            store.close()


# -- input --------------------------------------------------------------------------


def _check_frame(frame: pl.DataFrame | pl.LazyFrame) -> int:
    """Refuse a frame whose hashed-key cells are not digests; return its height."""
    from audframe.schemas import not_digest

    lazy = frame.lazy()
    schema = lazy.collect_schema()
    hashed = [c for c in schema.names() if c in HASHED_KEYS]
    wrong = [c for c in hashed if schema[c] != pl.String]
    if wrong:
        raise NotHashedError(
            f"hashed-key columns {wrong} are not strings of SHA-256 digests; call "
            "audframe.hash(frame) first (nothing was sent)"
        )
    exprs = [pl.len().alias("__rows")] + [not_digest(c).sum().alias(c) for c in hashed]
    counts = lazy.select(exprs).collect(engine="streaming").row(0, named=True)
    bad = {c: n for c, n in counts.items() if c != "__rows" and n}
    if bad:
        listed = ", ".join(f"{c} ({n} cells)" for c, n in bad.items())
        raise NotHashedError(
            f"cells that are not SHA-256 digests in {listed}; call audframe.hash(frame) "
            "first (nothing was sent)"
        )
    return int(counts["__rows"])


def _payload_of(chunk: Any) -> tuple[dict[str, Any], int]:
    """Check one chunk's shape, size and digests; return its payload and row count."""
    from audframe.payloads import check_chunk

    if not isinstance(chunk, Mapping) or not isinstance(chunk.get("payload"), Mapping):
        raise ValidationError(
            "each chunk must be a dict with a 'payload' dict, as audframe.to_payloads "
            f"yields; got {type(chunk).__name__}"
        )
    payload = dict(chunk["payload"])
    schema, rows = payload.get("schema"), payload.get("data")
    if not isinstance(schema, list) or not isinstance(rows, list):
        raise ValidationError(
            "payload.schema must be a list of keys (the list form, even for one key) and "
            "payload.data a list of rows"
        )
    if len(rows) > MAX_ROWS:
        raise ValidationError(
            f"a chunk holds {len(rows):,} rows; Meta takes at most {MAX_ROWS:,} per request: "
            "make the chunks with audframe.to_payloads(frame, batch_size=10_000)"
        )
    check_chunk({"payload": payload})
    return payload, len(rows)


def _batches(chunks: Iterable[Any], checked: bool) -> Iterator[tuple[_Batch, Chunk]]:
    """Number, encode and digest the chunks; mark the last one (one chunk read ahead)."""
    held: tuple[_Batch, Chunk] | None = None
    index = 0
    for chunk in chunks:
        payload, rows = _payload_of(chunk) if not checked else (dict(chunk["payload"]),
                                                                len(chunk["payload"]["data"]))
        if rows == 0:
            continue
        body = orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)
        batch = _Batch(index, body.decode(), hashlib.sha256(body).hexdigest(), rows)
        index += 1
        if held is not None:
            yield held
        held = (batch, chunk)
    if held is not None:
        held[0].last = True
        yield held


def _chunk_source(
    data: Any, session_id: int | None, batch_size: int
) -> tuple[Iterator[tuple[_Batch, Chunk]], int | None]:
    if isinstance(data, pl.DataFrame | pl.LazyFrame):
        from audframe.payloads import to_payloads

        height = _check_frame(data) if isinstance(data, pl.LazyFrame) else None
        chunks = to_payloads(data, batch_size=batch_size, session_id=session_id)
        return _batches(chunks, checked=False), height
    if isinstance(data, Mapping):
        data = [data]
    if isinstance(data, Sequence) and not isinstance(data, str | bytes):
        for chunk in data:
            _payload_of(chunk)
        return _batches(data, checked=True), None
    if isinstance(data, Iterable) and not isinstance(data, str | bytes):
        return _batches(data, checked=False), None
    raise TypeError(
        "data must be a hashed polars DataFrame/LazyFrame or the chunks of "
        f"audframe.to_payloads, got {type(data).__name__}"
    )


# -- one call -----------------------------------------------------------------------


class _Upload:
    """The state of one add/remove/replace call."""

    def __init__(
        self,
        sender: Sender,
        operation: Operation,
        audience_id: str,
        journal: Journal,
        session_id: int | None,
    ) -> None:
        self.sender = sender
        self.operation = operation
        self.audience_id = audience_id
        self.journal = journal
        self.requested_session = session_id
        self.retries: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.abort = threading.Event()
        self.acked: dict[int, AckedBatch] = {}
        self.sessions: list[JournalSession] = []
        self.segment: _Segment | None = None
        self.resumed: set[int] = set()
        self.total_rows: int | None = None
        self.rows_done = 0
        self.bar: Any = None

    # -- setup ------------------------------------------------------------------

    def _open(self, first: _Batch, chunk: Chunk, height: int | None) -> None:
        meta = chunk.get("session") if isinstance(chunk.get("session"), Mapping) else {}
        assert isinstance(meta, Mapping)
        estimated = meta.get("estimated_num_total")
        self.total_rows = int(estimated) if isinstance(estimated, int) else height
        schema = orjson.loads(first.body)["schema"]
        fingerprint = hashlib.sha256(orjson.dumps(
            [schema, self.total_rows, first.digest])).hexdigest()
        self.journal.check_fingerprint(fingerprint)
        if not self.sessions:
            sid = self.requested_session
            if sid is None and isinstance(meta.get("session_id"), int):
                sid = int(meta["session_id"])
            if sid is None:
                from audframe.payloads import new_session_id

                sid = new_session_id()
            self.sessions.append(self.journal.add_session(sid, self.operation))
        current = self.sessions[-1]
        skip = sorted(i for i, b in self.acked.items() if b.session_n < current.n)
        self.segment = _Segment(current.n, current.session_id, current.operation,
                                current.started_at, skip, self._remaining(skip))

    def _remaining(self, skip: list[int]) -> int | None:
        if self.total_rows is None:
            return None
        return max(self.total_rows - sum(self.acked[i].rows for i in skip), 0)

    def _rotate(self) -> None:
        """Leave an expiring session: continue in a new one (a replace goes on as adds)."""
        from audframe.payloads import new_session_id

        old = self.segment
        assert old is not None
        operation = old.operation
        if operation == "replace" and 0 in self.acked:
            operation = "add"
        session = self.journal.add_session(new_session_id(), operation)
        self.sessions.append(session)
        skip = sorted(self.acked)
        self.segment = _Segment(session.n, session.session_id, operation, None, skip,
                                self._remaining(skip))
        log.info("session %d of audience %s reached Meta's 90-minute window after %d "
                 "batches; the rest continues in session %d (%s)", old.session_id,
                 self.audience_id, len(self.acked), session.session_id, operation)

    # -- progress ---------------------------------------------------------------

    def _progress_start(self) -> None:
        progress = self.sender.progress
        if progress is None:
            progress = sys.stderr.isatty() or _in_notebook()
        if progress is True:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=self.total_rows, unit="rows", unit_scale=True,
                            desc=f"{self.operation} {self.audience_id}")

    def _progress(self, rows: int) -> None:
        self.rows_done += rows
        progress = self.sender.progress
        if self.bar is not None:
            self.bar.update(rows)
        elif callable(progress) and not isinstance(progress, bool):
            progress(self.rows_done, self.total_rows)

    # -- sending ----------------------------------------------------------------

    def _send(self, batch: _Batch, segment: _Segment) -> _Sent:
        seq = segment.seq(batch.index)
        session: dict[str, Any] = {
            "session_id": segment.session_id,
            "batch_seq": seq,
            "last_batch_flag": batch.last,
        }
        if segment.estimated is not None:
            session["estimated_num_total"] = segment.estimated
        fields = {"payload": batch.body, "session": orjson.dumps(session).decode()}
        method, edge = _EDGES[segment.operation]
        clock = self.sender._clock
        started = time.monotonic()
        response, attempts = self.sender._call(
            method, f"{self.audience_id}/{edge}", data=fields,
            what=f"batch {seq} of session {segment.session_id}",
            retries=self.retries, lock=self.lock, abort=self.abort,
            expired=lambda: segment.expired(clock()),
        )
        return _Sent(response, segment, seq, attempts, time.monotonic() - started)

    def _ack(self, batch: _Batch, sent: _Sent) -> None:
        segment = sent.segment
        samples = sent.response.get("invalid_entry_samples")
        kept = {
            "audience_id": sent.response.get("audience_id"),
            "session_id": sent.response.get("session_id"),
            "num_received": sent.response.get("num_received"),
            "num_invalid_entries": sent.response.get("num_invalid_entries"),
            "invalid_entry_samples": dict(list(samples.items())[:_SAMPLES_MAX])
            if isinstance(samples, dict) else {},
        }
        acked = AckedBatch(
            index=batch.index, session_n=segment.n, seq=sent.seq, rows=batch.rows,
            digest=batch.digest, attempts=sent.attempts, seconds=sent.seconds,
            response=kept, acked_at=self.sender._clock(),
        )
        self.journal.ack(acked)
        self.acked[batch.index] = acked
        self._progress(batch.rows)
        log.debug("batch %d of session %d: %d rows acknowledged after %d attempt(s) in "
                  "%.3f s", sent.seq, segment.session_id, batch.rows, sent.attempts,
                  sent.seconds)

    def run(self, data: Any, batch_size: int) -> UploadReport:
        started = time.monotonic()
        self.journal.bind(operation=self.operation, audience_id=self.audience_id)
        self.sessions = self.journal.sessions()
        self.acked = self.journal.acked()
        if (self.sessions and self.requested_session is not None
                and self.requested_session != self.sessions[0].session_id):
            raise JournalError(
                f"journal {self.journal.path} continues session {self.sessions[0].session_id},"
                f" not session_id={self.requested_session}; drop session_id= to resume, or "
                "pass a new journal path"
            )
        wanted = self.requested_session
        if wanted is None and self.sessions:
            wanted = self.sessions[0].session_id
        source, height = _chunk_source(data, wanted, batch_size)
        try:
            self._dispatch(source, height)
        finally:
            if self.bar is not None:
                self.bar.close()
        if self.acked:
            self.journal.mark_completed(self.sender._clock())
        report = self._report(time.monotonic() - started)
        log.info("%s audience %s: %d rows in %d batches, %d retries, %.2f s",
                 self.operation, self.audience_id, report.rows, report.batches,
                 report.total_retries, report.elapsed)
        return report

    def _dispatch(self, source: Iterator[tuple[_Batch, Chunk]], height: int | None) -> None:
        sender = self.sender
        clock = sender._clock
        first = next(source, None)
        if first is None:
            if self.operation == "replace":
                raise ValidationError(
                    "replace needs at least one row: an empty replace cannot be sent; to "
                    "empty an audience, remove its users"
                )
            log.info("%s audience %s: no rows to send", self.operation, self.audience_id)
            return
        self._open(first[0], first[1], height)
        self._progress_start()
        pending = _chain(first, source)
        requeue: deque[_Batch] = deque()  # sent, but the session expired first
        held_last: _Batch | None = None
        exhausted = False
        inflight: dict[Future[_Sent], _Batch] = {}
        gate: _Batch | None = None  # the first batch of a session, alone in flight
        failure: BaseException | None = None
        segment = self.segment
        assert segment is not None
        probe = not any(b.session_n == segment.n for b in self.acked.values())
        pool = ThreadPoolExecutor(max_workers=sender.concurrency,
                                  thread_name_prefix="audframe-send")

        def current() -> _Segment:
            assert self.segment is not None
            return self.segment

        def submit(batch: _Batch) -> None:
            nonlocal gate, probe
            seg = current()
            if seg.expired(clock()):
                self._rotate()
                probe = True
                seg = current()
            if seg.started_at is None:
                seg.started_at = clock()
                self.journal.mark_started(seg.n, seg.started_at)
            if probe:
                gate, probe = batch, False
            inflight[pool.submit(self._send, batch, seg)] = batch

        def take() -> _Batch | None:
            """The next batch to send (None: nothing more for now)."""
            nonlocal exhausted, held_last
            while True:
                if requeue:
                    return requeue.popleft()
                if exhausted:
                    return None
                item = next(pending, None)
                if item is None:
                    exhausted = True
                    return None
                batch = item[0]
                done = self.acked.get(batch.index)
                if done is not None:
                    if done.digest != batch.digest:
                        raise JournalError(
                            f"journal {self.journal.path} recorded other data for batch "
                            f"{batch.index + 1} than this input holds; rerun with the exact "
                            "input that started the journal, or pass a new journal path"
                        )
                    self.resumed.add(batch.index)
                    self._progress(batch.rows)
                    continue
                if batch.last:
                    held_last = batch
                    continue
                return batch

        try:
            while True:
                while failure is None and gate is None and len(inflight) < sender.concurrency:
                    if inflight and current().expired(clock()):
                        break  # let the session's batches settle, then start a new one
                    batch = take()
                    if batch is None:
                        break
                    submit(batch)
                if not inflight:
                    if failure is not None:
                        raise failure
                    if held_last is None:
                        break
                    # every other batch is acknowledged: the last one goes, alone
                    submit(held_last)
                    held_last = None
                done, _ = wait(inflight, return_when=FIRST_COMPLETED)
                for future in done:
                    batch = inflight.pop(future)
                    if gate is batch:
                        gate = None
                    try:
                        sent = future.result()
                    except _Expired:
                        if batch.last:
                            held_last = batch
                        else:
                            requeue.append(batch)
                        continue
                    except _Aborted:
                        continue
                    except BaseException as exc:
                        if failure is None:
                            failure = exc
                            self.abort.set()
                        continue
                    self._ack(batch, sent)
        except BaseException:
            self.abort.set()
            for future in list(inflight):
                batch = inflight.pop(future)
                try:
                    sent = future.result()
                except BaseException:
                    continue
                self._ack(batch, sent)
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    # -- the report -------------------------------------------------------------

    def _report(self, elapsed: float) -> UploadReport:
        by_n = {s.n: s.session_id for s in self.sessions}
        rows = []
        received: dict[int, int] = {}
        invalid = 0
        samples: dict[str, str] = {}
        for index in sorted(self.acked):
            b = self.acked[index]
            r = b.response
            num = r.get("num_received")
            num_received = int(num) if isinstance(num, int) else None
            bad = r.get("num_invalid_entries")
            num_invalid = int(bad) if isinstance(bad, int) else None
            if num_received is not None:
                received[b.session_n] = max(received.get(b.session_n, 0), num_received)
            invalid += num_invalid or 0
            got = r.get("invalid_entry_samples")
            if isinstance(got, dict):
                for k, v in got.items():
                    if len(samples) < _SAMPLES_MAX:
                        samples[str(k)] = str(v)
            rows.append({
                "seq": b.seq, "session_id": by_n.get(b.session_n, 0), "rows": b.rows,
                "attempts": b.attempts, "num_received": num_received,
                "num_invalid_entries": num_invalid, "seconds": b.seconds,
                "resumed": index in self.resumed,
            })
        table = pl.DataFrame(rows, schema=BATCH_COLUMNS)
        session_ids = tuple(s.session_id for s in self.sessions)
        return UploadReport(
            operation=self.operation,
            audience_id=self.audience_id,
            session_id=session_ids[0] if session_ids else self.requested_session or 0,
            session_ids=session_ids,
            batches=len(self.acked),
            rows=sum(b.rows for b in self.acked.values()),
            num_received=sum(received.values()),
            num_invalid_entries=invalid,
            invalid_entry_samples=samples,
            retries=dict(self.retries),
            elapsed=elapsed,
            batches_table=table,
        )


def _chain(first: tuple[_Batch, Chunk], rest: Iterator[tuple[_Batch, Chunk]]
           ) -> Iterator[tuple[_Batch, Chunk]]:
    yield first
    yield from rest
