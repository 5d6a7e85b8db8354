"""A local Graph API emulator: the custom-audience edges over real HTTP on 127.0.0.1.

:class:`GraphEmulator` runs a threaded HTTP server in a background thread and answers
like the Graph API edges in the spec: adding, removing and replacing users, session
status and customer-list audience creation. It checks the token (190), the
``appsecret_proof``, paths and parameters (100), the 10,000-row limit (error 1), the
schema and row widths, counts badly hashed cells as Meta does, and applies the session
rules. It keeps each audience's members so a test or a demo can ask what an audience
holds, logs every request, and injects seeded faults: throttling codes as HTTP 400,
code 2 as HTTP 500, HTML 502 pages, dropped connections and latency. A faulted request
changes no state, except ``applied_then_dropped``: processed, then the connection is
dropped without a reply (the reply lost after Meta applied the request), and
``applied_then_502``: processed, then answered with a gateway's HTML 502 (a proxy that
gave up on a backend that did finish), and ``applied_then_html_200``: processed, then
answered with an HTML page and HTTP 200 (a proxy's or a captive portal's), and
``applied_late``: processed only after :attr:`FaultPlan.late` seconds, then answered
(a client with a shorter timeout has given up on a request that still gets applied).

Examples
--------
>>> with GraphEmulator(token="local-t0ken") as emu:  # doctest: +SKIP
...     sender = Sender("local-t0ken", base_url=emu.url)
...     sender.add("120210000000000001", hashed)
...     emu.rows("120210000000000001", ["EMAIL"])
"""

from __future__ import annotations

import binascii
import email.parser
import email.policy
import hashlib
import hmac
import random
import re
import secrets
import sys
import threading
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final, TypedDict
from urllib.parse import parse_qsl, unquote, urlsplit

import orjson

from audframe.keys import HASHED_KEYS, KEYS

__all__ = [
    "AMBIGUOUS_FAULTS",
    "FATAL_FAULTS",
    "RETRYABLE_FAULTS",
    "AudienceState",
    "FaultPlan",
    "GraphEmulator",
    "RequestRecord",
    "SessionState",
    "serve",
]

MAX_ROWS: Final = 10_000
SESSION_WINDOW: Final = 90 * 60.0
_HEX64: Final = re.compile(r"[0-9a-f]{64}")
_LOWER_HEX: Final = b"0123456789abcdef"
_VERSION: Final = re.compile(r"v\d+\.\d+")
#: What a form field's name looks like (an error echoes names, never other text).
_FIELD_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_ID: Final = re.compile(r"\d{1,20}")
_COMMON_PARAMS: Final = frozenset({"access_token", "appsecret_proof", "method"})
_USERS_PARAMS: Final = frozenset({"payload", "session"})
_CREATE_PARAMS: Final = frozenset(
    {"name", "subtype", "customer_file_source", "description", "is_value_based"}
)
_SESSIONS_PARAMS: Final = frozenset({"session_id", "limit", "fields"})
_FILE_SOURCES: Final = frozenset(
    {"USER_PROVIDED_ONLY", "PARTNER_PROVIDED_ONLY", "BOTH_USER_AND_PARTNER_PROVIDED"}
)
_OPERATIONS: Final = {
    ("POST", "users"): "add",
    ("DELETE", "users"): "remove",
    ("POST", "usersreplace"): "replace",
}

#: Fault kinds: HTTP status, Graph code, subcode, message. ``html_502`` and ``drop`` are
#: transport faults without a Graph body; ``gateway_503`` has an error body without a code
#: (what a proxy in front of the API may answer).
_GRAPH_FAULTS: Final[dict[str, tuple[int, int, int | None, str, str]]] = {
    "rate_limit": (400, 80003, 2446079, "OAuthException",
                   "There have been too many calls to this ad-account. Wait a bit and try "
                   "again."),
    "user_limit": (400, 17, 2446079, "OAuthException", "User request limit reached"),
    "app_limit": (400, 4, None, "OAuthException", "Application request limit reached"),
    "call_limit": (400, 613, None, "OAuthException",
                   "Calls to this api have exceeded the rate limit."),
    "unknown": (500, 2, None, "OAuthException",
                "An unexpected error has occurred. Please retry your request later."),
    "temporary": (500, 1, None, "OAuthException", "An unknown error has occurred."),
    "temporary_400": (400, 1, None, "OAuthException", "An unknown error has occurred."),
    "busy": (400, 2650, 1870145, "OAuthException",
             "Failed to update the custom audience: an update is already in progress."),
    "went_wrong": (400, 2650, 1870148, "OAuthException",
                   "Failed to update the custom audience: something went wrong."),
    "invalid_token": (400, 190, None, "OAuthException",
                      "Invalid OAuth access token - Cannot parse access token"),
    "permission": (403, 200, None, "OAuthException",
                   "(#200) The user does not have permission to update this audience"),
    "invalid_param": (400, 100, None, "OAuthException", "(#100) Invalid parameter"),
}
_THROTTLE_FAULTS: Final = frozenset({"rate_limit", "user_limit", "app_limit", "call_limit"})

#: Faults a sender should survive by retrying.
RETRYABLE_FAULTS: Final = (
    "rate_limit", "user_limit", "app_limit", "call_limit", "unknown", "temporary", "busy",
    "html_502", "drop", "gateway_503",
)
#: Faults a sender must stop at, at once.
FATAL_FAULTS: Final = ("invalid_token", "permission", "invalid_param")
#: Faults after which a sender cannot tell whether the request was applied: the request is
#: processed (state changes), then the connection drops without a reply, or a gateway
#: answers HTML 502. Not drawn by default: script them.
AMBIGUOUS_FAULTS: Final = (
    "applied_then_dropped", "applied_then_502", "applied_then_html_200", "applied_late",
)

_HTML_502: Final = (
    b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head>"
    b"<body><h1>Sorry, something went wrong.</h1><p>We're working on it.</p></body></html>"
)


@dataclass(frozen=True)
class FaultPlan:
    """Which requests the emulator answers with a fault instead of processing them.

    Parameters
    ----------
    rate:
        Probability that a request to a users edge is faulted, drawn from the emulator's
        seeded generator.
    kinds:
        Fault kinds drawn from, uniformly: any of :data:`RETRYABLE_FAULTS`,
        :data:`FATAL_FAULTS` and :data:`AMBIGUOUS_FAULTS`.
    script:
        Request number (1-based, counting every request the emulator received) → fault
        kind, applied whatever ``rate`` says. Deterministic faults for tests.
    regain_minutes:
        ``estimated_time_to_regain_access`` sent with throttling faults.
    edges:
        The edges random faults apply to.
    not_visible_after_create:
        The first this-many requests to a newly created audience get error 803 (its id
        is not visible yet).
    late:
        Seconds an ``applied_late`` request waits before it is processed.
    """

    rate: float = 0.0
    kinds: tuple[str, ...] = RETRYABLE_FAULTS
    script: Mapping[int, str] = field(default_factory=dict)
    regain_minutes: float = 0.0
    edges: frozenset[str] = frozenset({"users", "usersreplace"})
    not_visible_after_create: int = 0
    late: float = 1.0

    def __post_init__(self) -> None:
        known = set(_GRAPH_FAULTS) | {"html_502", "drop", "gateway_503", *AMBIGUOUS_FAULTS}
        unknown = sorted({*self.kinds, *self.script.values()} - known)
        if unknown:
            raise ValueError(f"unknown fault kinds {unknown}; known kinds: {sorted(known)}")
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError(f"rate must be within [0, 1], got {self.rate}")


@dataclass
class RequestRecord:
    """One request the emulator received.

    ``n`` numbers the requests from 1; ``url`` is the path with the query string as
    sent; ``form`` holds the body's fields; ``status`` is ``None`` for a dropped
    connection; ``outcome`` says ``"ok"``, ``"fault:<kind>"``, ``"error:<code>"``,
    ``"replayed"`` (the last batch again) or ``"discarded"`` (a batch after the session's
    90-minute window). An ``applied_then_dropped`` request keeps the outcome of its
    processing, with ``fault`` set and ``status`` ``None``; an ``applied_then_502`` one
    likewise, with ``status`` 502.
    """

    n: int
    method: str
    # Not in the repr: the query may hold a token (a client's mistake, recorded as a
    # violation), the headers hold the token, the body and form the proof (and a
    # payload of megabytes). Read them as attributes; ``path`` is in the repr.
    url: str = field(repr=False)
    headers: dict[str, str] = field(repr=False)
    body: bytes = field(repr=False)
    form: dict[str, str] = field(repr=False)
    received_at: float
    fault: str | None = None
    status: int | None = None
    outcome: str = ""

    @property
    def path(self) -> str:
        """The URL path without the query string."""
        return urlsplit(self.url).path

    def __repr__(self) -> str:
        return (f"RequestRecord(n={self.n}, method={self.method!r}, path={self.path!r}, "
                f"fault={self.fault!r}, status={self.status!r}, outcome={self.outcome!r})")

    @property
    def session(self) -> dict[str, Any] | None:
        """The decoded ``session`` field, if any."""
        raw = self.form.get("session")
        if raw is None:
            return None
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return None
        return value if isinstance(value, dict) else None

    @property
    def rows(self) -> list[list[Any]]:
        """The rows of the ``payload`` field (empty when absent or invalid)."""
        raw = self.form.get("payload")
        if raw is None:
            return []
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return []
        data = value.get("data") if isinstance(value, dict) else None
        return data if isinstance(data, list) else []


class SessionState(TypedDict):
    """What :meth:`GraphEmulator.session` tells of a session."""

    session_id: int
    audience_id: str
    operation: str
    started_at: float
    #: rows received per batch_seq
    batches: dict[int, int]
    num_received: int
    num_invalid_entries: int
    last_seq: int | None
    discarded: int


class AudienceState(TypedDict):
    """What :meth:`GraphEmulator.audience` tells of an audience."""

    id: str
    name: str
    ad_account_id: str
    description: str
    customer_file_source: str
    is_value_based: bool
    #: people it holds
    size: int


@dataclass
class _Session:
    session_id: int
    audience_id: str
    operation: str
    started_at: float
    estimated_num_total: int | None = None
    rows_by_seq: dict[int, int] = field(default_factory=dict)
    responses: dict[int, dict[str, Any]] = field(default_factory=dict)
    num_received: int = 0
    num_matched: int = 0
    num_invalid_entries: int = 0
    last_seq: int | None = None
    replace_started: bool = False
    discarded: int = 0


@dataclass
class _Audience:
    id: str
    name: str = ""
    ad_account_id: str = ""
    description: str = ""
    customer_file_source: str = "USER_PROVIDED_ONLY"
    value_based: bool | None = False  # None: made on first use, the first upload decides
    created_at: float = 0.0
    # what the audience holds: a member's keys (those of its valid, non-empty match-key
    # cells, in schema order) → the members with those keys (see _Groups)
    members: dict[tuple[str, ...], set[Any]] = field(default_factory=dict)
    not_visible_left: int = 0
    multi_key: bool = False  # it took multi-key data: single-key uploads are refused (2650)


class _Reply:
    def __init__(
        self, status: int, body: Any, *, headers: Mapping[str, str] | None = None,
        outcome: str = "ok",
    ) -> None:
        self.status = status
        self.body = body
        self.headers = dict(headers or {})
        self.outcome = outcome


def _graph_error(
    status: int, code: int, message: str, *, subcode: int | None = None,
    kind: str = "OAuthException", headers: Mapping[str, str] | None = None,
) -> _Reply:
    error: dict[str, Any] = {"message": message, "type": kind, "code": code,
                             "fbtrace_id": secrets.token_urlsafe(8)}
    if subcode is not None:
        error["error_subcode"] = subcode
    return _Reply(status, {"error": error}, headers=headers, outcome=f"error:{code}")


def _param_error(message: str) -> _Reply:
    return _graph_error(400, 100, f"(#100) {message}", kind="GraphMethodException")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    emulator: GraphEmulator

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away (killed, timed out) is not the emulator's problem."""
        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError | TimeoutError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    timeout = 30
    disable_nagle_algorithm = True  # headers and body go out in separate writes

    def do_GET(self) -> None:
        self.server.emulator._handle(self, "GET")

    def do_POST(self) -> None:
        self.server.emulator._handle(self, "POST")

    def do_DELETE(self) -> None:
        self.server.emulator._handle(self, "DELETE")

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: requests are in ``GraphEmulator.requests``."""


def _parse_form(content_type: str, body: bytes) -> dict[str, str]:
    if not body:
        return {}
    if content_type.startswith("multipart/form-data"):
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
        )
        fields: dict[str, str] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if isinstance(name, str):
                raw = part.get_payload(decode=True)
                fields[name] = raw.decode("utf-8") if isinstance(raw, bytes) else ""
        return fields
    return _parse_urlencoded(body)


def _parse_urlencoded(body: bytes) -> dict[str, str]:
    """``dict(parse_qsl(body, keep_blank_values=True))``, fast for large payloads."""
    text = body.decode("utf-8")
    if not text.isascii():
        return dict(parse_qsl(text, keep_blank_values=True))
    fields: dict[str, str] = {}
    for part in body.split(b"&"):
        if part:
            name, _, value = part.partition(b"=")
            fields[_unquote_plus(name)] = _unquote_plus(value)
    return fields


def _unquote_plus(raw: bytes) -> str:
    """``unquote_plus`` as parse_qsl applies it, for ASCII ``raw``, fast for large payloads.

    ``binascii.a2b_qp`` decodes ``=XX`` escapes in one C pass; with '%' read as '=' it
    percent-decodes ``raw`` when ``raw`` holds no '=', CR or LF of its own and every '%'
    starts an escape. A '%' that does not (a2b_qp keeps it, drops it at the end, or
    makes one of two) shortens the output by less than the 2 bytes an escape does: the
    output's length tells. Anything else goes through ``urllib.parse.unquote``.
    """
    raw = raw.replace(b"+", b" ")
    escapes = raw.count(b"%")
    if not escapes:
        return raw.decode("ascii")
    if b"=" not in raw and b"\r" not in raw and b"\n" not in raw:
        decoded = binascii.a2b_qp(raw.replace(b"%", b"="))
        if len(decoded) == len(raw) - 2 * escapes:
            return decoded.decode("utf-8", errors="replace")
    return unquote(raw.decode("ascii"), errors="replace")


def _column_valid(key: str, column: tuple[Any, ...]) -> bool:
    """Whether every cell of a payload column is empty or valid for ``key`` (a hashed
    key's cells are checked at once: lengths 0 or 64, nothing but lowercase hex)."""
    if key in HASHED_KEYS:
        try:
            if not set(map(len, column)) <= {0, 64}:
                return False
            return not "".join(column).encode().translate(None, _LOWER_HEX)
        except TypeError:  # a cell that is not a string: the cell-by-cell check
            return False
    if key == "LOOKALIKE_VALUE":
        return all(
            v == "" or v is None
            or (isinstance(v, int | float) and not isinstance(v, bool) and v >= 0)
            for v in column
        )
    return all(v is None or isinstance(v, str) for v in column)


#: Members grouped by their keys: keys → each member's value for a single key (stored
#: bare: no tuple to make and hash per member), else its tuple of values in keys order.
_Groups = Mapping[tuple[str, ...], Sequence[Any]]


def _by_keys(members: Iterable[tuple[tuple[str, Any], ...]]) -> _Groups:
    """Members given as ``(key, value)`` pairs, grouped by their keys."""
    groups: dict[tuple[str, ...], list[Any]] = {}
    for member in members:
        keys, values = zip(*member, strict=True)
        groups.setdefault(keys, []).append(values if len(values) > 1 else values[0])
    return groups


def appsecret_proof(app_secret: str, access_token: str) -> str:
    """HMAC-SHA256 of the token keyed with the app secret, as lowercase hex."""
    return hmac.new(app_secret.encode(), access_token.encode(), hashlib.sha256).hexdigest()


class GraphEmulator:
    """A local Graph API server for the custom-audience edges.

    Parameters
    ----------
    token:
        The only access token accepted (anything else gets error 190).
    app_secret:
        When given, every request must carry the matching ``appsecret_proof``.
    seed:
        Seeds fault injection and generated ids.
    faults:
        A :class:`FaultPlan`; ``None`` injects nothing.
    latency:
        Seconds from a request's arrival until it is handled and answered (reading and
        decoding its body count towards them).
    host, port:
        Where to listen; port 0 picks a free port (see :attr:`url`).
    clock:
        Wall-clock function used for the sessions' 90-minute window.
    auto_create:
        Accept users-edge requests for numeric audience ids that were never created.
    log_limit:
        Keep only this many of the latest requests in :attr:`requests` (``None``: all;
        a long-running server should set it, request bodies are kept).
    invalid_cells:
        Well-formed cell values to count as invalid entries all the same, as Meta counts
        cells it cannot use (the sender refuses malformed ones before sending).

    Attributes
    ----------
    violations:
        What a client did that the spec forbids, as it happened: a batch sent before the
        batches it must follow were acknowledged, after the last batch, or a last batch
        applied twice; a replace restarted; a token or a payload in a URL. A correct
        client leaves it empty.

    Examples
    --------
    >>> with GraphEmulator(token="t0ken") as emu:
    ...     emu.url.startswith("http://127.0.0.1:")
    True
    """

    def __init__(
        self,
        token: str = "emulator-token",
        *,
        app_secret: str | None = None,
        seed: int = 0,
        faults: FaultPlan | None = None,
        latency: float = 0.0,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Callable[[], float] = time.time,
        auto_create: bool = True,
        log_limit: int | None = None,
        invalid_cells: Collection[str] = (),
    ) -> None:
        self.invalid_cells = frozenset(invalid_cells)
        self._token = token
        self._app_secret = app_secret
        self._rng = random.Random(seed)
        self.faults = faults or FaultPlan()
        self.latency = latency
        self._host = host
        self._port = port
        self._clock = clock
        self.auto_create = auto_create
        self.log_limit = log_limit
        self._lock = threading.Lock()
        self._requests: list[RequestRecord] = []
        self._count = 0
        self._audiences: dict[str, _Audience] = {}
        self._sessions: dict[int, _Session] = {}
        self._last_sent: dict[int, int] = {}  # session id → the batch_seq sent as its last
        self.violations: list[str] = []
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._next_audience = 120210000000000100

    def __repr__(self) -> str:
        state = self.url if self._server is not None else "stopped"
        return f"<GraphEmulator {state}>"

    # -- lifecycle ------------------------------------------------------------

    @property
    def url(self) -> str:
        """The base URL to give a sender, e.g. ``http://127.0.0.1:50123``."""
        if self._server is None:
            raise RuntimeError("the emulator is not running: call start() or use `with`")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> GraphEmulator:
        """Start serving in a background thread and return ``self``."""
        if self._server is not None:
            return self
        server = _Server((self._host, self._port), _Handler)
        server.emulator = self
        thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05},
            name="audframe-emulator", daemon=True,
        )
        thread.start()
        self._server, self._thread = server, thread
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> GraphEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- inspection -----------------------------------------------------------

    @property
    def requests(self) -> list[RequestRecord]:
        """Every request received so far, in arrival order (a copy)."""
        with self._lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        """Forget the request log (numbering of ``FaultPlan.script`` continues)."""
        with self._lock:
            self._requests.clear()

    def members(self, audience_id: str) -> set[tuple[tuple[str, Any], ...]]:
        """What an audience holds: one tuple of ``(key, value)`` pairs per person.

        Only valid, non-empty cells of match keys count (LOOKALIKE_VALUE is not one).
        """
        with self._lock:
            audience = self._audiences.get(str(audience_id))
            if audience is None:
                return set()
            return {tuple(zip(keys, values if len(keys) > 1 else (values,), strict=True))
                    for keys, held in audience.members.items() for values in held}

    def rows(self, audience_id: str, schema: Iterable[str]) -> set[tuple[Any, ...]]:
        """The audience's members as rows in ``schema`` order, ``""`` for missing cells."""
        keys = list(schema)
        return {
            tuple(dict(member).get(k, "") for k in keys) for member in self.members(audience_id)
        }

    def session(self, session_id: int) -> SessionState | None:
        """A session's state: audience, operation, batches by seq, counts, last batch."""
        with self._lock:
            s = self._sessions.get(int(session_id))
            if s is None:
                return None
            return {
                "session_id": s.session_id,
                "audience_id": s.audience_id,
                "operation": s.operation,
                "started_at": s.started_at,
                "batches": dict(s.rows_by_seq),
                "num_received": s.num_received,
                "num_invalid_entries": s.num_invalid_entries,
                "last_seq": s.last_seq,
                "discarded": s.discarded,
            }

    def audience(self, audience_id: str | int) -> AudienceState | None:
        """An audience's attributes as created, and its member count."""
        with self._lock:
            a = self._audiences.get(str(audience_id))
            if a is None:
                return None
            return {
                "id": a.id, "name": a.name, "ad_account_id": a.ad_account_id,
                "description": a.description, "customer_file_source": a.customer_file_source,
                "is_value_based": bool(a.value_based), "size": sum(map(len, a.members.values())),
            }

    # -- HTTP -----------------------------------------------------------------

    def _handle(self, handler: _Handler, method: str) -> None:
        answer_at = time.monotonic() + self.latency  # reading the body is part of the wait
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        headers = {k: v for k, v in handler.headers.items()}
        try:
            form = _parse_form(handler.headers.get("Content-Type", ""), body)
            bad_body = False
        except (UnicodeDecodeError, ValueError):
            form, bad_body = {}, True
        with self._lock:
            self._count += 1
            record = RequestRecord(
                n=self._count, method=method, url=handler.path, headers=headers,
                body=body, form=form, received_at=self._clock(),
            )
            self._requests.append(record)
            if self.log_limit is not None and len(self._requests) > self.log_limit:
                del self._requests[: len(self._requests) - self.log_limit]
            record.fault = self._draw_fault(record)
            self._check_order(handler.path, headers, form)
        if record.fault == "applied_late":
            answer_at += self.faults.late
        if (wait := answer_at - time.monotonic()) > 0:
            time.sleep(wait)
        if record.fault == "drop":
            record.outcome = "fault:drop"
            handler.close_connection = True
            return
        if record.fault == "html_502":
            reply = _Reply(502, _HTML_502, headers={"Content-Type": "text/html"},
                           outcome="fault:html_502")
        elif record.fault == "gateway_503":
            reply = _Reply(503, {"error": {"message": "Service temporarily unavailable"}},
                           outcome="fault:gateway_503")
        elif record.fault is not None and record.fault not in AMBIGUOUS_FAULTS:
            reply = self._fault_reply(record.fault)
        elif bad_body:
            reply = _param_error("the request body cannot be parsed")
        else:
            with self._lock:
                reply = self._dispatch(method, handler.path, headers, form)
        if record.fault == "applied_then_dropped":  # applied, then the reply is lost
            record.outcome = reply.outcome
            handler.close_connection = True
            return
        if record.fault in ("applied_then_502", "applied_then_html_200"):
            # applied (its outcome), then a gateway's page
            status = 502 if record.fault == "applied_then_502" else 200
            reply = _Reply(status, _HTML_502, headers={"Content-Type": "text/html"},
                           outcome=reply.outcome)
        record.status, record.outcome = reply.status, reply.outcome
        self._send(handler, reply)

    def _check_order(self, path: str, headers: Mapping[str, str], form: Mapping[str, str]
                     ) -> None:
        """Record the session-protocol violation a batch makes as it arrives (the lock
        held), whatever becomes of it: a client sent it (a request without the token or
        the proof, or with a session Graph refuses, reaches no session and is not judged).

        A batch is acknowledged once applied (its reply follows). So a last batch that
        arrives while an earlier batch is still in flight (latency, or a retry not yet
        answered), or a replace's batch sent before batch 1 was applied, broke the rule,
        even when latency has the earlier one applied first; and a batch sent after the
        last did, while one sent before it (a retry still in flight) did not, whenever
        it is applied.
        """
        url = urlsplit(path)
        edge = url.path.strip("/").split("/")[-1]
        params = dict(parse_qsl(url.query, keep_blank_values=True))
        params.update(form)
        if edge not in ("users", "usersreplace") or "session" not in params:
            return
        session = self._parse_session(params["session"], required=True)
        if isinstance(session, _Reply) or self._refused(headers, params) is not None:
            return
        sid, seq, last, _ = session
        s = self._sessions.get(sid)
        if s is not None and self._clock() - s.started_at > SESSION_WINDOW:
            return  # discarded when it is handled
        applied = s.rows_by_seq if s is not None else {}
        sent_last = self._last_sent.get(sid)
        if sent_last is not None and seq != sent_last:
            self.violations.append(f"session {sid}: batch_seq {seq} after the last batch")
        elif edge == "usersreplace" and seq > 1 and 1 not in applied:
            self.violations.append(
                f"session {sid}: replace batch {seq} before batch 1 was acknowledged")
        elif last and sent_last is None:
            self._last_sent[sid] = seq
            missing = [i for i in range(1, seq) if i not in applied]
            if missing:
                self.violations.append(f"session {sid}: last batch {seq} before batches "
                                       f"{missing[:10]} were acknowledged")

    def _send(self, handler: _Handler, reply: _Reply) -> None:
        if isinstance(reply.body, bytes):
            data = reply.body
            content_type = reply.headers.pop("Content-Type", "text/html; charset=utf-8")
        else:
            data = orjson.dumps(reply.body)
            content_type = "application/json; charset=UTF-8"
        handler.send_response(reply.status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(data)))
        handler.send_header("X-FB-Trace-ID", secrets.token_urlsafe(8))
        for name, value in reply.headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(data)

    def _draw_fault(self, record: RequestRecord) -> str | None:
        scripted = self.faults.script.get(record.n)
        if scripted is not None:
            return scripted
        parts = record.path.strip("/").split("/")
        if len(parts) != 3 or parts[2] not in self.faults.edges or self.faults.rate <= 0:
            return None
        if self._rng.random() < self.faults.rate and self.faults.kinds:
            return self._rng.choice(self.faults.kinds)
        return None

    def _usage_header(self, regain_minutes: float, call_count: int) -> dict[str, str]:
        usage = {"0": [{"type": "CUSTOM_AUDIENCE", "call_count": call_count,
                        "total_cputime": 1, "total_time": 1,
                        "estimated_time_to_regain_access": regain_minutes}]}
        return {"X-Business-Use-Case-Usage": orjson.dumps(usage).decode()}

    def _fault_reply(self, kind: str) -> _Reply:
        status, code, subcode, etype, message = _GRAPH_FAULTS[kind]
        headers = (
            self._usage_header(self.faults.regain_minutes, 100)
            if kind in _THROTTLE_FAULTS else None
        )
        reply = _graph_error(status, code, message, subcode=subcode, kind=etype, headers=headers)
        reply.outcome = f"fault:{kind}"
        return reply

    # -- the Graph API --------------------------------------------------------

    def _dispatch(
        self, method: str, raw_url: str, headers: Mapping[str, str], form: Mapping[str, str]
    ) -> _Reply:
        url = urlsplit(raw_url)
        params = dict(parse_qsl(url.query, keep_blank_values=True))
        if "access_token" in params:  # Graph takes it there; URLs end up in logs
            self.violations.append("access_token in the URL (it belongs in a header or the "
                                   "body)")
        if "payload" in params:  # removals above ~1,500 rows break there (the SDK's DELETE)
            self.violations.append("payload in the URL (it belongs in the body)")
        params.update(form)
        refused = self._refused(headers, params)
        if refused is not None:
            return refused
        if method == "POST" and params.get("method", "").upper() in ("DELETE", "GET"):
            method = params["method"].upper()
        parts = url.path.strip("/").split("/")
        if len(parts) != 3 or not _VERSION.fullmatch(parts[0]):
            return _param_error(f"Unknown path components: {url.path[:100]}")
        _, node, edge = parts
        if method == "POST" and edge == "customaudiences" and node.startswith("act_"):
            return self._create(node.removeprefix("act_"), params)
        operation = _OPERATIONS.get((method, edge))
        if operation is not None or (method == "GET" and edge == "sessions"):
            if not _ID.fullmatch(node):
                return _param_error(f"Object with ID '{node[:40]}' does not exist")
            audience = self._audiences.get(node)
            if audience is None:
                if not self.auto_create:
                    return _param_error(f"Object with ID '{node}' does not exist, cannot be "
                                        "loaded due to missing permissions")
                audience = self._audiences[node] = _Audience(
                    node, created_at=self._clock(), value_based=None
                )
            if audience.not_visible_left > 0:
                audience.not_visible_left -= 1
                return _graph_error(400, 803, "(#803) Some of the aliases you requested do "
                                    "not exist: " + node)
            if operation is None:
                return self._status(audience, params)
            return self._users(audience, operation, params)
        return _param_error(
            f"Unsupported {method} request. Object with ID '{node[:40]}' does not exist, "
            f"cannot be loaded due to missing permissions, or does not support edge "
            f"'{edge[:40]}'"
        )

    def _refused(self, headers: Mapping[str, str], params: Mapping[str, str]) -> _Reply | None:
        """The reply to a request without the token (190) or the proof (100), else None."""
        token = params.get("access_token")
        auth = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
        if auth.lower().startswith("bearer ") or auth.lower().startswith("oauth "):
            token = auth.split(" ", 1)[1].strip()
        if not token:
            return _graph_error(400, 190, "An access token is required to request this "
                                "resource.")
        if not hmac.compare_digest(token.encode(), self._token.encode()):
            return _graph_error(400, 190, "Invalid OAuth access token - Cannot parse access "
                                "token")
        if self._app_secret is not None:
            proof = params.get("appsecret_proof", "")
            if not hmac.compare_digest(proof.encode(),
                                       appsecret_proof(self._app_secret, token).encode()):
                return _param_error("Invalid appsecret_proof provided in the API argument")
        return None

    def _unknown_params(self, params: Mapping[str, str], allowed: frozenset[str]) -> _Reply | None:
        unknown = sorted(set(params) - allowed - _COMMON_PARAMS)
        if unknown:  # names only: a body that is no form (JSON) would echo its content
            named = [u if _FIELD_NAME.fullmatch(u) else "(a field that is no name)"
                     for u in unknown]
            return _param_error(f"Unexpected parameter(s): {', '.join(named)[:200]}")
        return None

    def _create(self, account: str, params: Mapping[str, str]) -> _Reply:
        error = self._unknown_params(params, _CREATE_PARAMS)
        if error is not None:
            return error
        if not _ID.fullmatch(account):
            return _param_error(f"ad account 'act_{account[:40]}' does not exist")
        name = params.get("name", "").strip()
        if not name:
            return _param_error("The parameter name is required")
        if params.get("subtype", "CUSTOM") != "CUSTOM":
            return _param_error("subtype must be CUSTOM for a customer-list audience")
        source = params.get("customer_file_source", "")
        if source not in _FILE_SOURCES:
            return _param_error(
                "customer_file_source must be one of " + ", ".join(sorted(_FILE_SOURCES))
            )
        value_based = params.get("is_value_based", "false").lower() in ("1", "true")
        self._next_audience += 1
        audience_id = str(self._next_audience)
        self._audiences[audience_id] = _Audience(
            audience_id, name=name, ad_account_id=account,
            description=params.get("description", ""), customer_file_source=source,
            value_based=value_based, created_at=self._clock(),
            not_visible_left=self.faults.not_visible_after_create,
        )
        return _Reply(200, {"id": audience_id})

    def _status(self, audience: _Audience, params: Mapping[str, str]) -> _Reply:
        error = self._unknown_params(params, _SESSIONS_PARAMS)
        if error is not None:
            return error
        wanted = params.get("session_id")
        if wanted is not None and not wanted.isdigit():
            return _param_error("session_id must be a positive integer")
        now = self._clock()
        data = []
        for s in self._sessions.values():
            if s.audience_id != audience.id or (wanted and s.session_id != int(wanted)):
                continue
            finished = s.last_seq is not None
            expired = now - s.started_at > SESSION_WINDOW
            total = s.estimated_num_total or 0
            progress = 100 if finished else min(99, s.num_received * 100 // total) if total else 0
            data.append({
                "session_id": str(s.session_id),
                "start_time": int(s.started_at),
                "stage": "finished" if finished else "timeout" if expired else "uploading",
                "progress": progress,
                "num_received": s.num_received,
                "num_matched": s.num_matched,
                "num_invalid_entries": s.num_invalid_entries,
            })
        return _Reply(200, {"data": data})

    def _users(self, audience: _Audience, operation: str, params: Mapping[str, str]) -> _Reply:
        error = self._unknown_params(params, _USERS_PARAMS)
        if error is not None:
            return error
        if "payload" not in params:
            return _param_error("The parameter payload is required")
        try:
            payload = orjson.loads(params["payload"])
        except orjson.JSONDecodeError:
            return _param_error("payload is not valid JSON")
        if not isinstance(payload, dict):
            return _param_error("payload must be a JSON object with schema and data")
        schema, data = payload.get("schema"), payload.get("data")
        if not isinstance(schema, list) or not schema:
            return _param_error("payload.schema must be a non-empty list of keys, e.g. "
                                '["EMAIL"]')
        bad_keys = [str(k)[:30] for k in schema if not isinstance(k, str) or k not in KEYS]
        if bad_keys or len(set(schema)) != len(schema):
            return _param_error(f"payload.schema has unknown or repeated keys: {bad_keys}")
        if not isinstance(data, list):
            return _param_error("payload.data must be a list of rows")
        valued = "LOOKALIKE_VALUE" in schema
        if audience.value_based is None:
            audience.value_based = valued
        elif valued != audience.value_based:
            return _param_error(
                "LOOKALIKE_VALUE is only for value-based audiences (is_value_based=true)"
                if valued else "this value-based audience needs LOOKALIKE_VALUE in the schema"
            )
        if len(data) > MAX_ROWS:
            return _graph_error(500, 1, "An unknown error occurred")
        if not (set(map(type, data)) <= {list} and set(map(len, data)) <= {len(schema)}):
            i, row = next((i, r) for i, r in enumerate(data)
                          if type(r) is not list or len(r) != len(schema))
            width = len(row) if isinstance(row, list) else "no"
            return _param_error(
                f"payload.data row {i} has {width} values, the schema has {len(schema)}"
            )
        match_keys = [k for k in schema if k != "LOOKALIKE_VALUE"]
        if audience.multi_key and len(match_keys) == 1:
            return _graph_error(400, 2650, "Failed to update the custom audience: this "
                                "audience was created from multi-key data and takes no "
                                "single-key upload")
        session = self._parse_session(params.get("session"), required=operation == "replace")
        if isinstance(session, _Reply):
            return session
        reply = self._apply(audience, operation, schema, data, *session)
        if reply.status == 200 and len(match_keys) > 1:
            audience.multi_key = True
        return reply

    def _parse_session(
        self, raw: str | None, *, required: bool
    ) -> tuple[int, int, bool, int | None] | _Reply:
        if raw is None:
            if required:
                return _param_error("The parameter session is required")
            return (self._rng.randrange(1, 2**63), 1, True, None)
        try:
            session = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return _param_error("session is not valid JSON")
        if not isinstance(session, dict):
            return _param_error("session must be a JSON object")
        sid, seq = session.get("session_id"), session.get("batch_seq")
        last = session.get("last_batch_flag", False)
        total = session.get("estimated_num_total")
        if not isinstance(sid, int) or isinstance(sid, bool) or not 0 < sid < 2**63:
            return _param_error("session.session_id must be a positive 64-bit integer")
        if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
            return _param_error("session.batch_seq must be an integer from 1")
        if not isinstance(last, bool):
            return _param_error("session.last_batch_flag must be a boolean")
        if total is not None and (not isinstance(total, int) or isinstance(total, bool)):
            return _param_error("session.estimated_num_total must be an integer")
        return sid, seq, last, total

    def _check_rows(
        self, schema: list[str], data: list[list[Any]]
    ) -> tuple[_Groups, int, int, dict[str, str]]:
        """The payload's members grouped by their keys (as ``_Audience.members``), how
        many there are, and its invalid cells: how many, and up to 10 samples."""
        members: list[tuple[tuple[str, Any], ...]] = []
        invalid = 0
        samples: dict[str, str] = {}
        columns = [tuple(row[i] for row in data) for i in range(len(schema) if data else 0)]
        scripted = self.invalid_cells and any(v in self.invalid_cells for c in columns for v in c)
        if columns and not scripted and all(
            _column_valid(k, c) for k, c in zip(schema, columns, strict=True)
        ):
            keys = tuple(k for k in schema if k != "LOOKALIKE_VALUE")
            kept = [c for k, c in zip(schema, columns, strict=True) if k != "LOOKALIKE_VALUE"]
            if keys and all("" not in c and None not in c for c in kept):  # no empty cell
                return ({keys: list(zip(*kept, strict=True)) if len(kept) > 1 else kept[0]},
                        len(data), 0, {})
            rows = (tuple((k, v) for k, v in zip(keys, values, strict=True)
                          if v != "" and v is not None) for values in zip(*kept, strict=True))
            members = [m for m in rows if m]
            return _by_keys(members), len(members), 0, {}
        for row in data:
            cells: list[tuple[str, Any]] = []
            for key, value in zip(schema, row, strict=True):
                if value == "" or value is None:
                    continue
                if key in HASHED_KEYS:
                    ok = isinstance(value, str) and _HEX64.fullmatch(value) is not None
                    reason = "not a SHA-256 hex digest"
                elif key == "LOOKALIKE_VALUE":
                    ok = isinstance(value, int | float) and not isinstance(value, bool) and (
                        value >= 0
                    )
                    reason = "not a number ≥ 0"
                else:
                    ok = isinstance(value, str)
                    reason = "not a string"
                if ok and value in self.invalid_cells:
                    ok, reason = False, "not usable"
                if not ok:
                    invalid += 1
                    if len(samples) < 10:
                        text = str(value)
                        samples[text[:40] + ("…" if len(text) > 40 else "")] = (
                            f"{key}: {reason}"
                        )
                elif key != "LOOKALIKE_VALUE":
                    cells.append((key, value))
            if cells:
                members.append(tuple(cells))
        return _by_keys(members), len(members), invalid, samples

    def _apply(
        self, audience: _Audience, operation: str, schema: list[str], data: list[list[Any]],
        sid: int, seq: int, last: bool, total: int | None,
    ) -> _Reply:
        now = self._clock()
        s = self._sessions.get(sid)
        if s is None:
            s = self._sessions[sid] = _Session(sid, audience.id, operation, started_at=now,
                                               estimated_num_total=total)
        elif s.audience_id != audience.id or s.operation != operation:
            return _param_error(
                f"session_id {sid} belongs to another session ({s.operation} on audience "
                f"{s.audience_id}); use a new session_id"
            )
        if now - s.started_at > SESSION_WINDOW:
            s.discarded += 1
            return _Reply(200, self._response(audience, s, 0, {}), outcome="discarded")
        if s.last_seq is not None:
            if seq == s.last_seq:
                self.violations.append(f"session {sid}: last batch {seq} received twice")
                return _Reply(200, s.responses[seq], outcome="replayed")
            # a violation when it was sent after the last (see _check_order), not when
            # it was a retry in flight while the last was sent
            return _param_error(
                f"session {sid} already received its last batch (batch_seq {s.last_seq}); "
                "start a new session"
            )
        if operation == "replace":
            if seq == 1:
                for other in self._sessions.values():
                    if (other is not s and other.operation == "replace"
                            and other.audience_id == audience.id and other.last_seq is None
                            and now - other.started_at <= SESSION_WINDOW
                            and other.replace_started):
                        return _graph_error(400, 2650, "Failed to update the custom audience: "
                                            "another replace is in progress",
                                            subcode=1870145)
                if s.replace_started:
                    self.violations.append(f"session {sid}: replace restarted by a second "
                                           "batch 1")
                s.replace_started = True
                s.rows_by_seq.clear()
                s.num_received = s.num_matched = s.num_invalid_entries = 0
                audience.members = {}
            elif not s.replace_started:  # a violation, recorded as it arrived
                return _param_error("a replace session must start with batch_seq 1, "
                                    "acknowledged before any other batch")
        groups, matched, invalid, samples = self._check_rows(schema, data)
        for keys, values in groups.items():
            held = audience.members.setdefault(keys, set())
            if operation == "remove":
                held.difference_update(values)
            else:
                held.update(values)
        if seq not in s.rows_by_seq:
            s.rows_by_seq[seq] = len(data)
            s.num_received += len(data)
            s.num_matched += matched
            s.num_invalid_entries += invalid
        if last:
            s.last_seq = seq
        response = self._response(audience, s, invalid, samples)
        s.responses[seq] = response
        return _Reply(200, response, headers=self._usage_header(0, 1))

    @staticmethod
    def _response(
        audience: _Audience, s: _Session, invalid: int, samples: dict[str, str]
    ) -> dict[str, Any]:
        return {
            "audience_id": audience.id,
            "session_id": str(s.session_id),
            "num_received": s.num_received,
            "num_invalid_entries": invalid,
            "invalid_entry_samples": samples,
        }


def serve(port: int = 0, token: str | None = None, *, host: str = "127.0.0.1") -> None:
    """Run an emulator in the foreground until Ctrl-C (the ``audframe emulator`` command).

    Parameters
    ----------
    port:
        Port to listen on (0 picks a free one).
    token:
        The access token to accept, never printed (it may be a real one); a random one
        is made and printed when ``None``.
    host:
        Interface to listen on.
    """
    shown = "the one you gave (not shown)" if token else None
    token = token or secrets.token_urlsafe(24)
    try:  # Ctrl-C is how it stops, also while the lines below are still being printed
        with GraphEmulator(token=token, host=host, port=port, log_limit=100) as emu:
            print(f"Graph API emulator listening on {emu.url}", flush=True)
            print(f"access token: {shown or token}", flush=True)
            print(f"use: audframe.Sender(token, base_url={emu.url!r})", flush=True)
            print("press Ctrl-C to stop", flush=True)
            while True:
                time.sleep(3600)
    except KeyboardInterrupt as exc:
        print("stopped", flush=True)
        if type(exc) is not KeyboardInterrupt:  # a signal its caller tells apart
            raise
