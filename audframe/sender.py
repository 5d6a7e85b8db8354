"""The Graph API sender: sessions done right, retries by Graph code, a resumable journal.

:class:`Sender` uploads hashed rows to a customer-list custom audience::

    with Sender(token, app_secret=secret) as sender:
        report = sender.add("120210000000000001", hashed_frame, journal="upload.sqlite")

How a call runs
---------------
- The input (a hashed DataFrame/LazyFrame, a ``Payloads``, or dict chunks) is checked
  before anything is sent: hashed keys must hold SHA-256 digests. A frame's payloads, and
  a ``Payloads``', are built by ``to_payloads(...).fields()`` (:mod:`audframe.batches`).
- Every batch of one call carries one ``session_id``; ``batch_seq`` counts from 1. The
  first batch of a session goes alone (a bad token or audience fails after one request,
  and for ``replace`` batch 1 must be acknowledged before any other); then up to
  ``concurrency`` batches are in flight; the batch with ``last_batch_flag`` goes last,
  once every other batch was acknowledged, exactly once (:mod:`audframe.upload`).
- Failures are classified by the Graph ``error.code``/``error_subcode`` (see
  :class:`~audframe.retry.RetryPolicy`); transport failures (reset, timeout, 5xx, a body
  that is not JSON) are retried too. Fatal codes raise
  :class:`~audframe.errors.GraphAPIError` at once, and no further request is started
  (:mod:`audframe.transport`).
- Meta closes a session 90 minutes after its first batch. Shortly before that, the rest
  of an add or remove continues in a new session; the rest of a replace whose batch 1
  was accepted continues as adds (:mod:`audframe.sessions`).
- With ``journal=``, every acknowledgement is committed to SQLite; the same call run
  again after a crash skips the acknowledged batches and finishes the same session.

The payload always travels in the request body (removals too), the token in an
``Authorization`` header: neither is ever in a URL, a log record, an exception, a repr,
the journal or the report.
"""

from __future__ import annotations

import ipaddress
import logging
import random
import re
import time
from collections.abc import Callable, Iterable, Mapping
from os import PathLike
from types import TracebackType
from typing import Any
from urllib.parse import unquote, urlsplit

import polars as pl
import requests

from audframe.batches import MAX_ROWS
from audframe.errors import GraphAPIError
from audframe.journal import Journal
from audframe.payloads import check_session_id
from audframe.progress import ProgressSetting
from audframe.retry import RetryPolicy
from audframe.sessions import SESSION_MARGIN, SESSION_WINDOW
from audframe.transport import SCRUBBED_LENGTH, Transport, appsecret_proof
from audframe.upload import Operation, Upload
from audframe.upload_report import UploadReport

__all__ = [
    "MAX_CONCURRENCY",
    "MAX_ROWS",
    "SESSION_MARGIN",
    "SESSION_WINDOW",
    "Sender",
    "appsecret_proof",
    "audience_id_of",
]

#: Batches in flight at once, at most.
MAX_CONCURRENCY = 32


def audience_id_of(audience_id: str | int) -> str:
    """The audience id as Graph takes it (digits), or ValueError."""
    audience = str(audience_id).strip()
    if not (audience.isascii() and audience.isdigit()):  # not "١٢" or "²"
        raise ValueError(f"audience_id must be the audience's numeric id, got {audience!r}")
    return audience


log = logging.getLogger("audframe")

Chunk = Mapping[str, Any]
#: What a token or an app secret is made of: visible ASCII characters.
_VISIBLE_ASCII = re.compile(r"[\x21-\x7e]+")


def _this_machine(host: str) -> bool:
    """Whether ``host`` is this machine (a loopback or unspecified address, localhost):
    the only place plain http may go (the emulator); anywhere else the token would
    travel unencrypted."""
    if host.rstrip(".").lower() == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


def check_base_url(base_url: str) -> None:
    """Refuse a ``base_url`` that is not a plain https URL (http only to this machine), or
    that names the API version (ValueError, never echoing it: it may hold credentials)."""
    parts = urlsplit(base_url)
    if (parts.scheme not in ("http", "https") or not parts.hostname or parts.username
            or parts.password or parts.query or parts.fragment):
        raise ValueError(
            "base_url must be a plain https URL such as https://graph.facebook.com, "
            "without credentials, query or fragment (the token travels in a header)"
        )
    if parts.scheme == "http" and not _this_machine(parts.hostname):
        raise ValueError("base_url must use https: over http the token would travel "
                         "unencrypted (plain http goes only to this machine, the emulator)")
    if re.search(r"/v\d+\.\d+/*$", parts.path, flags=re.IGNORECASE):
        raise ValueError("base_url names an API version; give the host alone and the version "
                         "as api_version (--api-version)")


def check_credentials(access_token: Any, app_secret: Any, base_url: str | None = None) -> None:
    """Refuse a token or app secret no Graph API one can be, or a ``base_url`` that holds
    one (ValueError, never echoing them)."""
    if not isinstance(access_token, str) or not access_token.strip():
        raise ValueError("access_token must be a non-empty string")
    if not _VISIBLE_ASCII.fullmatch(access_token):  # never echoed: it is the token
        raise ValueError(
            "access_token holds characters no Graph token has (spaces, line breaks, "
            "non-ASCII): copy the token again, without quotes or line breaks"
        )
    if app_secret is not None and not (isinstance(app_secret, str)
                                       and _VISIBLE_ASCII.fullmatch(app_secret)):
        raise ValueError("app_secret holds characters no app secret has (spaces, line "
                         "breaks, non-ASCII): copy it again from the app's settings")
    for name, secret in (("access_token", access_token), ("app_secret", app_secret)):
        if secret is not None and len(secret) < SCRUBBED_LENGTH:
            # Messages are scrubbed of secrets; one this short could not be told
            # from ordinary text (a token "t" would blot out every t).
            raise ValueError(
                f"{name} is shorter than {SCRUBBED_LENGTH} characters, which no real "
                f"one is: copy it again (the emulator takes any token of "
                f"{SCRUBBED_LENGTH} or more)"
            )
        if secret is not None and base_url is not None and any(
            secret.lower() in url.lower() for url in (base_url, unquote(base_url))
        ):
            raise ValueError(f"base_url holds the {name}; give the host alone (the token "
                             "travels in a header)")


def check_api_version(api_version: str) -> None:
    """Refuse an ``api_version`` not written as Graph versions are (``v21.0``)."""
    if not re.fullmatch(r"v\d+\.\d+", api_version):
        raise ValueError(f"api_version {api_version!r} is not a Graph API version such as "
                         "v21.0")


def _check_options(concurrency: Any, timeout: Any, progress: Any, session: Any,
                   retry: Any) -> None:
    """Refuse Sender options of the wrong kind before anything is sent (they would fail
    mid-upload: a dict for ``retry`` at the first throttle)."""
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or not (
        1 <= concurrency <= MAX_CONCURRENCY
    ):
        raise ValueError(f"concurrency must be a whole number between 1 and "
                         f"{MAX_CONCURRENCY}, got {concurrency!r}")
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    if not (progress is None or isinstance(progress, bool) or callable(progress)):
        raise TypeError("progress is True, False, None (a bar in a terminal or notebook) or "
                        f"a function (done, total), got {type(progress).__name__}")
    if session is not None and not isinstance(session, requests.Session):
        raise TypeError(f"session is a requests.Session, got {type(session).__name__}")
    if retry is not None and not isinstance(retry, RetryPolicy):
        raise TypeError(f"retry is an audframe.RetryPolicy(...), got {type(retry).__name__}")


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
        progress: ProgressSetting = None,
        session: requests.Session | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], object] | None = None,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        check_base_url(base_url)
        check_credentials(access_token, app_secret, base_url)
        check_api_version(api_version)
        _check_options(concurrency, timeout, progress, session, retry)
        self.concurrency = concurrency
        self.progress = progress
        self._clock = clock
        self._closed = False
        self._transport = Transport(
            access_token, app_secret=app_secret, base_url=base_url, api_version=api_version,
            timeout=timeout, session=session, pool_size=max(10, concurrency),
            retry=retry if retry is not None else RetryPolicy(
                max_attempts=max_attempts, backoff_base=backoff_base, backoff_max=backoff_max
            ),
            sleep=sleep, rng=rng or random.Random(),
        )

    @property
    def base_url(self) -> str:
        """The Graph API host requests go to."""
        return self._transport.base_url

    @property
    def api_version(self) -> str:
        """The Graph API version, e.g. ``"v21.0"``."""
        return self._transport.api_version

    @property
    def timeout(self) -> float:
        """Seconds to connect and to wait for each answer."""
        return self._transport.timeout

    @property
    def retry(self) -> RetryPolicy:
        """The retry policy."""
        return self._transport.retry

    # -- plumbing ---------------------------------------------------------------

    def __repr__(self) -> str:
        secret = ", app_secret=***" if self._transport.has_secret else ""
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
        """Close the HTTP session if the sender made it; the sender cannot send after."""
        self._transport.close()
        self._closed = True

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("this Sender is closed; make a new one (or use it in a with block)")

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

        Throttling and errors that say nothing was created are retried. An attempt that
        may have created the audience (no reply, a server error) is not: it raises
        TransportError, since a second attempt could create a duplicate.
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
        self._check_open()
        body, _ = self._transport.call(
            "POST", f"act_{account}/customaudiences", data=fields, what="create_audience",
            not_again=f"look in Ads Manager for an audience named {name!r} before creating "
            "it again (a second one would be a duplicate)",
        )
        if "id" not in body:
            raise GraphAPIError("the answer to create_audience has no id; check the ad account")
        log.info("created custom audience %s", body["id"])
        return str(body["id"])

    def session_status(self, audience_id: str | int, session_id: int) -> dict[str, Any]:
        """Return Meta's view of an upload session.

        Keys include ``stage``, ``progress``, ``num_received``, ``num_matched`` and
        ``num_invalid_entries``; an empty dict when Meta does not know the session.
        """
        self._check_open()
        body, _ = self._transport.call("GET", f"{audience_id_of(audience_id)}/sessions",
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
            A hashed DataFrame or LazyFrame (see ``audframe.hash``), a ``Payloads``
            as ``audframe.to_payloads`` or ``audframe.parquet_payloads`` return it
            (sent by its fast path, unconsumed), or dict chunks (any iterable of them,
            or one chunk). A list of chunks is checked whole before anything is sent;
            chunks from an iterator are checked one by one, and a bad one is never sent.
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
        self._check_open()
        audience = audience_id_of(audience_id)
        if not 1 <= batch_size <= MAX_ROWS:
            raise ValueError(f"batch_size must be between 1 and {MAX_ROWS}, got {batch_size}")
        if session_id is not None:
            check_session_id(session_id)
        store = Journal(":memory:" if journal is None else journal)
        try:
            upload = Upload(self._transport, operation, audience, store, session_id=session_id,
                            concurrency=self.concurrency, progress=self.progress,
                            clock=self._clock)
            return upload.run(data, batch_size)
        finally:
            store.close()
