"""The exceptions audframe raises.

What goes wrong with the data, a journal or the Graph API derives from
:class:`AudframeError`, so one ``except`` catches it all::

    AudframeError
    ├── ColumnNotFoundError      a mapped column is not in the frame
    ├── UnknownKeyError          a mapping names something that is not a Meta key
    ├── ColumnTypeError          a column's dtype cannot hold the key
    ├── ValidationError          a frame breaks the contract of its stage
    │   └── NotHashedError       hashed-key cells that are not SHA-256 digests
    ├── JournalError             a journal that belongs to other data or is unusable
    ├── TransportError           no usable HTTP answer: reset, timeout, 5xx, not JSON
    └── GraphAPIError            the Graph API answered with an error body
        └── RateLimitError       a throttling code that outlived the retry policy

One warning, :class:`PhoneRegionWarning` (a ``UserWarning``), says that phone numbers
have no region to be read in.

A wrong argument (``batch_size=0``, a pandas frame, ``retry={…}``) raises Python's own
``ValueError`` or ``TypeError``, as the standard library does, before any row is read or
any request sent. Messages say what to do next and never carry tokens, secrets or row
values.
"""

from __future__ import annotations

__all__ = [
    "AudframeError",
    "ColumnNotFoundError",
    "ColumnTypeError",
    "GraphAPIError",
    "JournalError",
    "NotHashedError",
    "PhoneRegionWarning",
    "RateLimitError",
    "TransportError",
    "UnknownKeyError",
    "ValidationError",
]


class AudframeError(Exception):
    """Base class of every audframe error."""


class ColumnNotFoundError(AudframeError, KeyError):
    """A mapped column does not exist; the message lists the columns that do."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class UnknownKeyError(AudframeError, ValueError):
    """A mapping names a key Meta does not know; the message lists the valid keys."""


class ColumnTypeError(AudframeError, TypeError):
    """A column's dtype cannot hold the key it is mapped to (a List for EMAIL, …)."""


class ValidationError(AudframeError, ValueError):
    """A frame does not satisfy the contract of the stage it was given to."""


class NotHashedError(ValidationError):
    """Cells of a hashed key are not 64-character hex digests: call ``hash`` first."""


class JournalError(AudframeError):
    """The journal belongs to other data, or cannot be used."""


class TransportError(AudframeError):
    """No usable answer from the Graph API: a reset, a timeout, a 5xx or a non-JSON body."""


class GraphAPIError(AudframeError):
    """The Graph API answered with an error body.

    Attributes
    ----------
    code, subcode:
        ``error.code`` and ``error.error_subcode`` of the body (``None`` when absent).
    message:
        ``error.message`` as Meta sent it.
    fbtrace_id:
        Meta's trace id, for support requests.
    http_status:
        The HTTP status of the answer.
    """

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        subcode: int | None = None,
        fbtrace_id: str | None = None,
        http_status: int | None = None,
    ) -> None:
        self.message = message
        self.code = code
        self.subcode = subcode
        self.fbtrace_id = fbtrace_id
        self.http_status = http_status
        detail = f"Graph API error {code}"
        if subcode is not None:
            detail += f"/{subcode}"
        detail += f": {message}"
        if fbtrace_id:
            detail += f" (fbtrace_id {fbtrace_id})"
        super().__init__(detail)


class RateLimitError(GraphAPIError):
    """A throttling code (80003, 17, 4, 32, 613, …) that outlived every retry."""


class PhoneRegionWarning(UserWarning):
    """PHONE is normalized without a region (no COUNTRY column, no ``default_country``):
    every number is read as if it began with its calling code, so national numbers are
    misread. Pass ``default_country=``."""
