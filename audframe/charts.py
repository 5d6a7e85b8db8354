"""Coverage charts and self-contained HTML reports.

Charts are SVG drawn by matplotlib (imported only when a chart is drawn) and
inlined, so a report opens offline, in any browser or notebook, with no script.
"""

from __future__ import annotations

import html
import io
from typing import Any

import polars as pl

__all__ = ["ValidationReport", "coverage", "coverage_chart", "report_html"]


def coverage(report: pl.DataFrame) -> pl.DataFrame:
    """One row per key of a validation report: ``key``, ``column``, ``present``, ``valid``,
    ``invalid`` (u32), in the report's order."""
    return report.select("key", "column", "present", "valid", "invalid").unique(
        "key", maintain_order=True
    )


def coverage_chart(report: pl.DataFrame, *, title: str = "Cells per key") -> str:
    """An inline SVG: one stacked bar per key, valid and invalid cells (together: present)."""
    import matplotlib
    from matplotlib.figure import Figure

    per_key = coverage(report)
    keys = per_key["key"].to_list()
    valid = per_key["valid"].to_list()
    invalid = per_key["invalid"].to_list()
    figure = Figure(figsize=(7.5, 0.32 * len(keys) + 1.2))
    axes = figure.subplots()
    axes.barh(keys, valid, color="#2e7d32", label="valid")
    axes.barh(keys, invalid, left=valid, color="#c62828", label="invalid")
    axes.invert_yaxis()
    axes.set_title(title, loc="left")
    axes.set_xlabel("cells")
    axes.spines[["top", "right"]].set_visible(False)
    axes.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    buffer = io.StringIO()
    # Text stays text (small, searchable); a fixed salt keeps ids stable between runs.
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "audframe"}):
        figure.savefig(buffer, format="svg", bbox_inches="tight")
    svg = buffer.getvalue()
    return svg[svg.index("<svg"):]


def _reasons_table(report: pl.DataFrame) -> str:
    rows = report.filter(pl.col("reason").is_not_null())
    if rows.is_empty():
        return "<p>No cell was dropped.</p>"
    body = "".join(
        f"<tr><td>{html.escape(k)}</td><td>{html.escape(r)}</td><td>{n:,}</td>"
        f"<td>{html.escape(', '.join(map(str, ex or [])))}</td></tr>"
        for k, r, n, ex in rows.select("key", "reason", "count", "example_rows").iter_rows()
    )
    return (
        "<table><thead><tr><th>key</th><th>reason</th><th>cells</th><th>example rows</th>"
        f"</tr></thead><tbody>{body}</tbody></table>"
    )


def _coverage_table(report: pl.DataFrame) -> str:
    body = "".join(
        f"<tr><td>{html.escape(k)}</td><td>{html.escape(c)}</td><td>{p:,}</td><td>{v:,}</td>"
        f"<td>{i:,}</td></tr>"
        for k, c, p, v, i in coverage(report).iter_rows()
    )
    return (
        "<table><thead><tr><th>key</th><th>column</th><th>present</th><th>valid</th>"
        f"<th>invalid</th></tr></thead><tbody>{body}</tbody></table>"
    )


def validation_html(report: pl.DataFrame) -> str:
    """An HTML fragment: the coverage chart, the per-key table and the reasons."""
    return (
        f"<div class='audframe-report'>{coverage_chart(report)}"
        f"<h3>Per key</h3>{_coverage_table(report)}"
        f"<h3>Dropped, by reason</h3>{_reasons_table(report)}</div>"
    )


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:60em}}
table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:.25em .6em;
text-align:left}}th{{background:#f3f3f3}}</style></head>
<body><h1>{title}</h1>{body}</body></html>
"""


def report_html(report: pl.DataFrame, *, title: str = "audframe report", extra: str = "") -> str:
    """A self-contained HTML page (no network needed) for a validation report.

    ``extra`` is an HTML fragment appended after it (an upload report's ``_repr_html_``).
    """
    return _PAGE.format(title=html.escape(title), body=validation_html(report) + extra)


#: The columns the chart and tables read.
_REPORT_COLUMNS = frozenset({"key", "column", "present", "valid", "invalid", "reason", "count",
                             "example_rows"})


class ValidationReport(pl.DataFrame):
    """The DataFrame :func:`audframe.validate` returns, with a chart in notebooks.

    A part of it without every report column (``report[["key", "count"]]``) shows as the
    plain DataFrame it is.
    """

    def _repr_html_(self, *args: Any, **kwargs: Any) -> str:
        if not _REPORT_COLUMNS.issubset(self.columns):
            return pl.DataFrame(self)._repr_html_(*args, **kwargs)
        return validation_html(self)
