"""The ``audience`` namespaces on DataFrame, LazyFrame and Expr: thin sugar over the functions.

Importing :mod:`audframe` registers them. Type checkers cannot see registered
namespaces; the typed functions (:func:`audframe.normalize` …) are the same thing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Generic

import polars as pl

from audframe.charts import ValidationReport
from audframe.frames import Frame
from audframe.hashing import hash, hash_key
from audframe.normalize import normalize, normalize_key
from audframe.payloads import MAX_BATCH_SIZE, Payloads, to_payloads
from audframe.prepare import prepare
from audframe.report import validate
from audframe.stream import DEFAULT_ROWS, payloads_and_report

__all__ = ["AudienceExpr", "AudienceFrame"]


class AudienceFrame(Generic[Frame]):
    """``df.audience`` and ``lf.audience``."""

    _frame: Frame

    def __init__(self, frame: Frame) -> None:
        self._frame = frame

    def normalize(
        self,
        mapping: Mapping[str, str] | None = None,
        *,
        default_country: str | None = None,
        dob_format: str | None = None,
        keep: Iterable[str] = (),
    ) -> Frame:
        """See :func:`audframe.normalize`."""
        return normalize(
            self._frame, mapping, default_country=default_country, dob_format=dob_format,
            keep=keep,
        )

    def prepare(
        self,
        mapping: Mapping[str, str] | None = None,
        *,
        default_country: str | None = None,
        dob_format: str | None = None,
        keep: Iterable[str] = (),
        hash_extern_id: bool = False,
        use_plugin: bool | None = None,
    ) -> Frame:
        """See :func:`audframe.prepare`."""
        return prepare(
            self._frame, mapping, default_country=default_country, dob_format=dob_format,
            keep=keep, hash_extern_id=hash_extern_id, use_plugin=use_plugin,
        )

    def validate(
        self,
        mapping: Mapping[str, str] | None = None,
        *,
        default_country: str | None = None,
        dob_format: str | None = None,
        examples: int = 3,
    ) -> ValidationReport:
        """See :func:`audframe.validate`."""
        return validate(
            self._frame, mapping, default_country=default_country, dob_format=dob_format,
            examples=examples,
        )

    def hash(self, *, hash_extern_id: bool = False, use_plugin: bool | None = None) -> Frame:
        """See :func:`audframe.hash`."""
        return hash(self._frame, hash_extern_id=hash_extern_id, use_plugin=use_plugin)

    def to_payloads(
        self,
        *,
        batch_size: int = MAX_BATCH_SIZE,
        session_id: int | None = None,
        app_ids: Iterable[int | str] | None = None,
        page_ids: Iterable[int | str] | None = None,
    ) -> Payloads:
        """See :func:`audframe.to_payloads`."""
        return to_payloads(
            self._frame, batch_size=batch_size, session_id=session_id, app_ids=app_ids,
            page_ids=page_ids,
        )

    def payloads_and_report(
        self,
        mapping: Mapping[str, str] | None = None,
        *,
        default_country: str | None = None,
        dob_format: str | None = None,
        hash_extern_id: bool = False,
        batch_size: int = MAX_BATCH_SIZE,
        session_id: int | None = None,
        app_ids: Iterable[int | str] | None = None,
        page_ids: Iterable[int | str] | None = None,
        examples: int = 3,
        rows: int = DEFAULT_ROWS,
    ) -> tuple[Payloads, ValidationReport]:
        """See :func:`audframe.payloads_and_report`."""
        return payloads_and_report(
            self._frame, mapping, default_country=default_country, dob_format=dob_format,
            hash_extern_id=hash_extern_id, batch_size=batch_size, session_id=session_id,
            app_ids=app_ids, page_ids=page_ids, examples=examples, rows=rows,
        )


class AudienceExpr:
    """``pl.col(...).audience``."""

    def __init__(self, expr: pl.Expr) -> None:
        self._expr = expr

    def normalize(
        self, key: str, *, region: pl.Expr | str | None = None, default_country: str | None = None
    ) -> pl.Expr:
        """See :func:`audframe.normalize_key`."""
        return normalize_key(self._expr, key, region=region, default_country=default_country)

    def hash(self, *, use_plugin: bool | None = None) -> pl.Expr:
        """SHA-256 of a normalized String column; digests pass through (see :func:`hash_key`)."""
        return hash_key(self._expr, use_plugin=use_plugin)


pl.api.register_dataframe_namespace("audience")(AudienceFrame)
pl.api.register_lazyframe_namespace("audience")(AudienceFrame)
pl.api.register_expr_namespace("audience")(AudienceExpr)
