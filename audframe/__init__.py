"""audframe: customer tables into Meta Custom Audience uploads, the polars way.

``import audframe`` registers the ``audience`` namespace on DataFrame, LazyFrame
and Expr. The typed functions below are the same operations.
"""

from __future__ import annotations

from audframe import namespace as _namespace  # noqa: F401  (registers the namespaces)
from audframe.charts import ValidationReport
from audframe.emulator import GraphEmulator
from audframe.errors import (
    AudframeError,
    ColumnNotFoundError,
    ColumnTypeError,
    GraphAPIError,
    JournalError,
    NotHashedError,
    PhoneRegionWarning,
    RateLimitError,
    TransportError,
    UnknownKeyError,
    ValidationError,
)
from audframe.hashing import hash
from audframe.keys import KEYS
from audframe.mapping import detect_mapping
from audframe.normalize import normalize, normalize_key
from audframe.payloads import Payloads, PayloadStats, form_fields, to_payloads
from audframe.prepare import prepare
from audframe.report import validate
from audframe.retry import RetryPolicy
from audframe.schemas import check_hashed, check_normalized
from audframe.sender import Sender
from audframe.stream import parquet_payloads, payloads_and_report, validate_parquet
from audframe.upload_report import UploadReport

__version__ = "0.1.0"

__all__ = [
    "KEYS",
    "AudframeError",
    "ColumnNotFoundError",
    "ColumnTypeError",
    "GraphAPIError",
    "GraphEmulator",
    "JournalError",
    "NotHashedError",
    "PayloadStats",
    "Payloads",
    "PhoneRegionWarning",
    "RateLimitError",
    "RetryPolicy",
    "Sender",
    "TransportError",
    "UnknownKeyError",
    "UploadReport",
    "ValidationError",
    "ValidationReport",
    "__version__",
    "check_hashed",
    "check_normalized",
    "detect_mapping",
    "form_fields",
    "hash",
    "normalize",
    "normalize_key",
    "parquet_payloads",
    "payloads_and_report",
    "prepare",
    "to_payloads",
    "validate",
    "validate_parquet",
]
