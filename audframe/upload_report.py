"""What an upload did: :class:`UploadReport`, returned by ``Sender.add/remove/replace``."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, Final

import polars as pl

from audframe.journal import AckedBatch, JournalSession

__all__ = ["BATCH_COLUMNS", "SAMPLES_MAX", "UploadReport", "build_report"]

#: At most this many ``invalid_entry_samples`` are kept, per batch and per report.
SAMPLES_MAX: Final = 100

#: Columns of :attr:`UploadReport.batches_table`, with their dtypes.
BATCH_COLUMNS: dict[str, type[pl.DataType]] = {
    "seq": pl.Int64,
    "session_id": pl.Int64,
    "rows": pl.Int64,
    "attempts": pl.Int64,
    "num_received": pl.Int64,
    "num_invalid_entries": pl.Int64,
    "seconds": pl.Float64,
    "resumed": pl.Boolean,
}


def _frozen(mapping: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True, repr=False, eq=False)
class UploadReport:
    """The outcome of one ``add``, ``remove`` or ``replace`` call.

    Attributes
    ----------
    operation:
        ``"add"``, ``"remove"`` or ``"replace"``.
    audience_id:
        The custom audience.
    session_id:
        The session the upload started in (the one the journal keeps); 0 when nothing
        was sent and no session was asked for.
    session_ids:
        Every session used, in order: more than one when Meta's 90-minute window ran out
        and the rest went into a new session; empty when nothing was sent.
    batches, rows:
        Batches and rows acknowledged, including those a journal had recorded earlier.
    num_received:
        Meta's count of received rows: per session the largest running total Meta
        reported, summed over the sessions.
    num_invalid_entries:
        Meta's count of invalid entries (badly hashed cells), summed over batches.
    invalid_entry_samples:
        Examples Meta gave, value → reason (at most 100).
    retries:
        Retries by reason (``"rate_limit"``, ``"transport"``, …), this run only.
    elapsed:
        Seconds this run took.
    batches_table:
        One row per batch: ``seq``, ``session_id``, ``rows``, ``attempts``,
        ``num_received``, ``num_invalid_entries``, ``seconds``, ``resumed`` (acknowledged
        in an earlier run, read from the journal).
    coverage:
        The validation report of the uploaded data, when attached with
        :meth:`with_coverage`: its per-key chart is drawn in notebooks.
    """

    operation: str
    audience_id: str
    session_id: int
    batches: int
    rows: int
    num_received: int
    num_invalid_entries: int
    invalid_entry_samples: Mapping[str, str] = field(default_factory=dict)
    retries: Mapping[str, int] = field(default_factory=dict)
    elapsed: float = 0.0
    session_ids: tuple[int, ...] = ()
    batches_table: pl.DataFrame = field(
        default_factory=lambda: pl.DataFrame(schema=BATCH_COLUMNS)
    )
    coverage: pl.DataFrame | None = None

    def with_coverage(self, validation: pl.DataFrame) -> UploadReport:
        """This report with ``audframe.validate``'s report attached (drawn per key as a chart)."""
        return replace(self, coverage=validation)

    def __post_init__(self) -> None:
        object.__setattr__(self, "invalid_entry_samples", _frozen(self.invalid_entry_samples))
        object.__setattr__(self, "retries", _frozen(self.retries))
        if not self.session_ids and self.session_id:
            object.__setattr__(self, "session_ids", (self.session_id,))

    @property
    def total_retries(self) -> int:
        """All retries of this run, whatever the reason."""
        return sum(self.retries.values())

    def to_dict(self) -> dict[str, Any]:
        """Return the report as plain JSON-ready data (the batch table as a list of rows)."""
        return {
            "operation": self.operation,
            "audience_id": self.audience_id,
            "session_id": self.session_id,
            "session_ids": list(self.session_ids),
            "batches": self.batches,
            "rows": self.rows,
            "num_received": self.num_received,
            "num_invalid_entries": self.num_invalid_entries,
            "invalid_entry_samples": dict(self.invalid_entry_samples),
            "retries": dict(self.retries),
            "elapsed": self.elapsed,
            "batches_table": self.batches_table.to_dicts(),
        }

    def __repr__(self) -> str:
        retries = ", ".join(f"{k}={v}" for k, v in sorted(self.retries.items())) or "none"
        sessions = "" if len(self.session_ids) <= 1 else f" in {len(self.session_ids)} sessions"
        return (
            f"<UploadReport {self.operation} audience {self.audience_id}: "
            f"{self.rows:,} rows in {self.batches} batch{'' if self.batches == 1 else 'es'}"
            f"{sessions}, "
            f"num_received={self.num_received:,}, "
            f"num_invalid_entries={self.num_invalid_entries:,}, "
            f"retries: {retries}, {self.elapsed:.1f}s>"
        )

    def _summary_rows(self) -> list[tuple[str, str]]:
        retries = ", ".join(f"{k}: {v}" for k, v in sorted(self.retries.items())) or "none"
        return [
            ("operation", self.operation),
            ("audience", self.audience_id),
            ("session", ", ".join(str(s) for s in self.session_ids)),
            ("batches", f"{self.batches:,}"),
            ("rows", f"{self.rows:,}"),
            ("num_received", f"{self.num_received:,}"),
            ("num_invalid_entries", f"{self.num_invalid_entries:,}"),
            ("retries", retries),
            ("elapsed", f"{self.elapsed:.1f} s"),
        ]

    def _repr_html_(self) -> str:
        """A small HTML table for notebooks."""
        cells = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th>"
            f"<td style='text-align:left'>{html.escape(v)}</td></tr>"
            for k, v in self._summary_rows()
        )
        samples = ""
        if self.invalid_entry_samples:
            items = "".join(
                f"<li><code>{html.escape(str(k)[:80])}</code>: {html.escape(str(v))}</li>"
                for k, v in list(self.invalid_entry_samples.items())[:5]
            )
            samples = f"<p>invalid entry samples:</p><ul>{items}</ul>"
        chart = ""
        if self.coverage is not None:
            from audframe.charts import coverage_chart

            chart = coverage_chart(self.coverage, title="Cells per key in the uploaded data")
        return f"<div><b>UploadReport</b><table>{cells}</table>{samples}{chart}</div>"


def _count(value: Any) -> int | None:
    return int(value) if isinstance(value, int) else None


def build_report(
    *,
    operation: str,
    audience_id: str,
    sessions: Sequence[JournalSession],
    acked: Mapping[int, AckedBatch],
    resumed: set[int],
    retries: Mapping[str, int],
    elapsed: float,
    session_id: int | None,
) -> UploadReport:
    """The report of an upload from its journaled batches; ``session_id`` stands in when
    no session was used (nothing to send)."""
    by_n = {s.n: s.session_id for s in sessions}
    rows = []
    received: dict[int, int] = {}
    invalid = 0
    samples: dict[str, str] = {}
    for index in sorted(acked):
        b = acked[index]
        num_received = _count(b.response.get("num_received"))
        num_invalid = _count(b.response.get("num_invalid_entries"))
        if num_received is not None:
            received[b.session_n] = max(received.get(b.session_n, 0), num_received)
        invalid += num_invalid or 0
        got = b.response.get("invalid_entry_samples")
        if isinstance(got, dict):
            for k, v in got.items():
                if len(samples) >= SAMPLES_MAX:
                    break
                samples[str(k)] = str(v)
        rows.append({
            "seq": b.seq, "session_id": by_n.get(b.session_n, 0), "rows": b.rows,
            "attempts": b.attempts, "num_received": num_received,
            "num_invalid_entries": num_invalid, "seconds": b.seconds,
            "resumed": index in resumed,
        })
    session_ids = tuple(s.session_id for s in sessions)
    return UploadReport(
        operation=operation,
        audience_id=audience_id,
        session_id=session_ids[0] if session_ids else session_id or 0,
        session_ids=session_ids,
        batches=len(acked),
        rows=sum(b.rows for b in acked.values()),
        num_received=sum(received.values()),
        num_invalid_entries=invalid,
        invalid_entry_samples=samples,
        retries=dict(retries),
        elapsed=elapsed,
        batches_table=pl.DataFrame(rows, schema=BATCH_COLUMNS),
    )
