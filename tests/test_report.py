"""validate: per key, present / valid / invalid, reasons with counts and example rows."""

from __future__ import annotations

import datetime as dt
import logging

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import audframe
from audframe.keys import KEYS

FUTURE = (dt.date.today() + dt.timedelta(days=30)).isoformat()
DIGEST = "ab" * 32

SCHEMA = pl.Schema(
    {
        "key": pl.String, "column": pl.String, "present": pl.UInt32, "valid": pl.UInt32,
        "invalid": pl.UInt32, "reason": pl.String, "count": pl.UInt32,
        "example_rows": pl.List(pl.UInt32),
    }
)


def emails() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "mail": ["a@b.co", "SecretOne", None, "   ", "john@", "x@y@z.co", "c@d.co",
                     "SecretTwo", "SecretThree", DIGEST],
            "first": ["Mary", "Valéry", "42", None, "Ann", "정", "Bo", "Al", "Ed", "Jo"],
        }
    )


def by_reason(report: pl.DataFrame, key: str) -> dict[str | None, tuple[int, list[int]]]:
    rows = report.filter(pl.col("key") == key)
    return {r["reason"]: (r["count"], r["example_rows"]) for r in rows.iter_rows(named=True)}


def test_counts_per_key() -> None:
    report = audframe.validate(emails(), {"EMAIL": "mail", "FN": "first"})
    assert report.schema == SCHEMA
    totals = report.unique("key", maintain_order=True).select(
        "key", "column", "present", "valid", "invalid"
    )
    # EMAIL: 8 non-blank cells; a@b.co, c@d.co and the digest survive.
    # FN: 9 non-blank cells; "42" has no letters.
    assert totals.rows() == [("EMAIL", "mail", 8, 3, 5), ("FN", "first", 9, 8, 1)]


def test_reasons_with_counts_and_example_rows() -> None:
    report = audframe.validate(emails(), {"EMAIL": "mail", "FN": "first"}, examples=2)
    email = by_reason(report, "EMAIL")
    assert email["email has no @"] == (3, [1, 7])  # most frequent first, rows 0-based, capped
    assert email["email has no domain"] == (1, [4])
    assert sum(c for c, _ in email.values()) == 5
    assert next(iter(email)) == "email has no @"
    fn = by_reason(report, "FN")
    assert list(fn.values()) == [(1, [2])]


def test_key_that_lost_nothing_has_one_row_with_null_reason() -> None:
    df = pl.DataFrame({"mail": ["a@b.co", None]})
    report = audframe.validate(df, {"EMAIL": "mail"})
    assert report.rows() == [("EMAIL", "mail", 1, 1, 0, None, 0, None)]


def test_sum_of_reason_counts_is_invalid_for_every_key() -> None:
    df = pl.DataFrame(
        {
            "id": ["C1", " ", None, "C4", "C5", "C6"],
            "mail": ["a@b.co", "nope", "@x.co", None, "a@b", "q@r.st"],
            "phone": ["(650)555-1212", "12", "abc", "0000000000", None, "+44 20 7183 8750"],
            "gender": ["male", "x", "F", None, "", "unknown"],
            "born": ["2/16/1997", "1997-02-30", FUTURE, "1850-01-01", "soon", None],
            "last": ["O'Brien", "1", None, "Li", "-", "김"],
            "city": ["São Paulo", "12", None, "Москва", "!", "x"],
            "state": ["CA", "", "N.Y.", None, "4", "Bavaria"],
            "zip": ["94035-1234", "9", "SW1A 1AA", None, "abcdef", "02134"],
            "country": ["US", "Narnia", "UK", None, "", "ZZ"],
            "madid": ["6d92078a-8246-4ba4-ae5b-76104861e7dc",
                      "00000000-0000-0000-0000-000000000000", "x", None, "", "-"],
            "ltv": ["1", "-1", "x", None, "0", "inf"],
        }
    )
    mapping = {
        "EXTERN_ID": "id", "EMAIL": "mail", "PHONE": "phone", "GEN": "gender", "DOB": "born",
        "LN": "last", "FN": "last", "FI": "last", "CT": "city", "ST": "state", "ZIP": "zip",
        "COUNTRY": "country", "MADID": "madid", "LOOKALIKE_VALUE": "ltv",
    }
    report = audframe.validate(df, mapping, default_country="US")
    keys = list(report["key"].unique(maintain_order=True))
    assert keys == [k for k in KEYS if k in keys]  # catalogue order
    assert set(keys) == {*mapping, "DOBY", "DOBM", "DOBD"} - {"DOB"}
    sums = report.group_by("key").agg(
        pl.col("invalid").first(), pl.col("count").sum(), pl.col("present").first(),
        pl.col("valid").first(),
    )
    for key, invalid, count, present, valid in sums.iter_rows():
        assert invalid == count, key
        assert present == valid + invalid, key
    # the counts agree with what normalize keeps
    out = audframe.normalize(df, mapping, default_country="US")
    for key, valid in report.unique("key").select("key", "valid").iter_rows():
        assert out[key].is_not_null().sum() == valid, key
    reasons = set(report["reason"].drop_nulls())
    for wanted in ("phone too short", "unknown country", "date in the future",
                   "date before 1900", "date does not exist"):
        assert wanted in reasons


def test_reason_rows_point_at_the_right_rows() -> None:
    df = pl.DataFrame({"c": ["US", "Narnia", "DE", "Atlantis", None, "Oz"]})
    report = audframe.validate(df, {"COUNTRY": "c"})
    assert by_reason(report, "COUNTRY") == {"unknown country": (3, [1, 3, 5])}


def test_future_date_reason_counts_on_each_part() -> None:
    df = pl.DataFrame({"born": ["1997-02-16", FUTURE, FUTURE]})
    report = audframe.validate(df, {"DOB": "born"})
    for key in ("DOBY", "DOBM", "DOBD"):
        assert by_reason(report, key) == {"date in the future": (2, [1, 2])}


def test_no_raw_values_in_the_report_or_its_repr_or_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.DEBUG):
        report = audframe.validate(emails())
    text = repr(report) + str(report) + str(report.rows()) + caplog.text
    for secret in ("SecretOne", "secretone", "SecretTwo", "SecretThree", "john@", "x@y@z.co",
                   "a@b.co", "Valéry", DIGEST):
        assert secret not in text


def test_readable_repr() -> None:
    report = audframe.validate(emails(), {"EMAIL": "mail"})
    text = repr(report)
    for word in ("key", "present", "valid", "invalid", "reason", "count", "example_rows",
                 "EMAIL", "email has no @"):
        assert word in text


def test_lazy_input_gives_the_same_report() -> None:
    eager = audframe.validate(emails(), {"EMAIL": "mail", "FN": "first"})
    lazy = audframe.validate(emails().lazy(), {"EMAIL": "mail", "FN": "first"})
    assert isinstance(lazy, pl.DataFrame)
    assert_frame_equal(eager, lazy)


def test_namespace_validate_equals_function() -> None:
    df = emails()
    assert_frame_equal(df.audience.validate({"EMAIL": "mail"}),
                       audframe.validate(df, {"EMAIL": "mail"}))
    assert_frame_equal(df.lazy().audience.validate({"EMAIL": "mail"}),
                       audframe.validate(df, {"EMAIL": "mail"}))


def test_default_country_in_the_report() -> None:
    df = pl.DataFrame({"zip": ["94035", "SW1A 1AA", "2134"]})
    loose = audframe.validate(df, {"ZIP": "zip"})
    assert loose.row(0, named=True)["valid"] == 3
    us = audframe.validate(df, {"ZIP": "zip"}, default_country="US")
    assert us.select("present", "valid", "invalid", "count", "example_rows").row(0) == (
        3, 2, 1, 1, [1],
    )


def test_prehashed_cells_are_valid() -> None:
    df = pl.DataFrame({"mail": [DIGEST, DIGEST.upper()]})
    report = audframe.validate(df, {"EMAIL": "mail"})
    assert report.select("present", "valid", "invalid").row(0) == (2, 2, 0)


def test_phones_are_read_once_for_their_values_and_reasons(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from audframe.normalize import phone

    calls: list[int] = []
    real = phone._normalize_batch

    def counted(batch: pl.Series) -> pl.Series:
        calls.append(batch.len())
        return real(batch)

    monkeypatch.setattr(phone, "_normalize_batch", counted)
    df = pl.DataFrame({"tel": ["(650) 555-1212", "12", f" {DIGEST.upper()} ", None, "n/a"]})
    report = audframe.validate(df, {"PHONE": "tel"}, default_country="US")
    assert sum(calls) == df.height  # each row once, not once for values and once for reasons
    assert report.unique("key").select("present", "valid", "invalid").row(0) == (4, 2, 2)
    assert by_reason(report, "PHONE") == {"phone too short": (1, [1]),
                                          "phone has no digits": (1, [4])}


def test_a_lazy_frame_is_counted_in_batches_numbered_across_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from audframe import report as module

    sizes: list[int] = []
    real = module.check_keys

    def spy(batch: pl.DataFrame, *args: object, **kwargs: object) -> pl.DataFrame:
        sizes.append(batch.height)
        return real(batch, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(module, "_LAZY_BATCH_ROWS", 3)
    monkeypatch.setattr(module, "check_keys", spy)
    mapping = {"EMAIL": "mail", "FN": "first"}
    lazy = audframe.validate(emails().lazy(), mapping)
    assert max(sizes) <= 3 and sum(sizes) == emails().height
    monkeypatch.setattr(module, "check_keys", real)
    assert_frame_equal(lazy, audframe.validate(emails(), mapping))


def test_doc_example() -> None:
    df = pl.DataFrame({"email": ["a@b.co", "nope", None]})
    row = audframe.validate(df).row(0, named=True)
    assert (row["key"], row["present"], row["valid"], row["invalid"]) == ("EMAIL", 2, 1, 1)
    assert (row["reason"], row["count"], row["example_rows"]) == ("email has no @", 1, [1])
