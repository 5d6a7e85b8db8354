"""Coverage charts and self-contained HTML reports.

Charts are SVG drawn by pygal: pure Python, no numpy or browser engine, and the
SVG is inlined, so a report opens offline and in any notebook.
"""

from __future__ import annotations

import html
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
    """An SVG stacked bar per key: valid and invalid cells (together: present)."""
    import pygal
    from pygal.style import CleanStyle

    per_key = coverage(report)
    chart = pygal.HorizontalStackedBar(
        js=[],  # no script from the network: the SVG works offline
        style=CleanStyle(colors=("#2e7d32", "#c62828"), font_family="sans-serif"),
        width=720,
        height=max(160, 28 * per_key.height + 90),
        explicit_size=True,
        disable_xml_declaration=True,
        legend_at_bottom=True,
        print_values=False,
        title=title,
    )
    chart.x_labels = per_key["key"].to_list()
    chart.add("valid", per_key["valid"].to_list())
    chart.add("invalid", per_key["invalid"].to_list())
    svg: str = chart.render(is_unicode=True)
    return svg


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


class ValidationReport(pl.DataFrame):
    """The DataFrame :func:`audframe.validate` returns, with a chart in notebooks."""

    def _repr_html_(self, *args: Any, **kwargs: Any) -> str:
        return validation_html(self)
