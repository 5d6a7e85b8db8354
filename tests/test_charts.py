"""Coverage charts and HTML reports: drawn from the report, offline, no values inside."""

from __future__ import annotations

import re

import polars as pl

import audframe
from audframe.charts import coverage, coverage_chart, report_html

FRAME = pl.DataFrame(
    {
        "email": ["a@b.co", "secret-no-at", None, "c@d.org"],
        "first_name": ["Mary", "Jo", "!!!", None],
    }
)


def test_coverage_is_one_row_per_key_with_counts() -> None:
    per_key = coverage(audframe.validate(FRAME))
    assert per_key["key"].to_list() == ["EMAIL", "FN"]
    assert per_key.select("present", "valid", "invalid").rows() == [(3, 2, 1), (3, 2, 1)]


def test_chart_is_inline_svg_with_every_key() -> None:
    svg = coverage_chart(audframe.validate(FRAME))
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    assert ">EMAIL<" in svg and ">FN<" in svg
    assert "valid" in svg and "invalid" in svg


def test_notebook_repr_shows_chart_and_reasons_but_no_values() -> None:
    page = audframe.validate(FRAME)._repr_html_()
    assert "<svg" in page
    assert "email has no @" in page and "name has no letters" in page
    assert "secret-no-at" not in page and "Mary" not in page


def test_a_part_of_the_report_shows_as_a_plain_table() -> None:
    report = audframe.validate(FRAME)
    part = report[["key", "reason", "count"]]
    page = part._repr_html_()
    assert "<svg" not in page and "<table" in page and "count" in page
    assert "<svg" in report._repr_html_()


def test_html_page_needs_no_network() -> None:
    page = report_html(audframe.validate(FRAME), title="t <&>")
    assert page.startswith("<!doctype html>")
    assert "t &lt;&amp;&gt;" in page
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=", page)
    assert "@import" not in page


def test_upload_report_draws_the_chart_of_the_data_it_sent() -> None:
    report = audframe.validate(FRAME)
    hashed = audframe.hash(audframe.normalize(FRAME))
    with audframe.GraphEmulator(token="t0ken-42") as emu, audframe.Sender(
        "t0ken-42", base_url=emu.url, progress=False
    ) as sender:
        upload = sender.add("42", hashed)
    assert "<svg" not in upload._repr_html_()
    page = upload.with_coverage(report)._repr_html_()
    assert "<svg" in page and ">EMAIL<" in page and "num_received" in page
    assert upload.with_coverage(report).rows == upload.rows == 3
