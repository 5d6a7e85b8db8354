"""A LazyFrame is turned into chunks batch by batch, never collected whole."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import polars_hash  # noqa: F401  (the chash namespace, to make test data fast)
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]
import pytest
from polars.testing import assert_frame_equal

import audframe
from audframe import payloads
from audframe.errors import NotHashedError, ValidationError
from audframe.payloads import form_fields, to_payloads
from audframe.report import validate_batches
from audframe.stream import (
    hashed_batches,
    parquet_payloads,
    payloads_and_report,
    validate_parquet,
)

SAMPLE = Path(__file__).parent.parent / "data" / "customers.parquet"


def _hashed_parquet(path: Path, rows: int) -> Path:
    i = pl.int_range(rows)
    pl.select(
        EMAIL=i.cast(pl.String).chash.sha2_256(),
        PHONE=(i * 7).cast(pl.String).chash.sha2_256(),
        FN=(i % 5000).cast(pl.String).chash.sha2_256(),
        LN=(i % 40000).cast(pl.String).chash.sha2_256(),
        LOOKALIKE_VALUE=(i % 100).cast(pl.Float64),
    ).write_parquet(path, row_group_size=50_000)
    return path


def test_the_chunk_pass_reads_batches_and_collects_nothing_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _hashed_parquet(tmp_path / "h.parquet", 25_000)
    collected: list[int] = []
    batches: list[int] = []
    collect = pl.LazyFrame.collect
    collect_batches = pl.LazyFrame.collect_batches

    def spy_collect(self: pl.LazyFrame, *args: Any, **kwargs: Any) -> pl.DataFrame:
        out = collect(self, *args, **kwargs)
        collected.append(out.height)
        return out

    def spy_batches(self: pl.LazyFrame, *args: Any, **kwargs: Any) -> Any:
        for part in collect_batches(self, *args, **kwargs):
            batches.append(part.height)
            yield part

    monkeypatch.setattr(pl.LazyFrame, "collect", spy_collect)
    monkeypatch.setattr(pl.LazyFrame, "collect_batches", spy_batches)
    monkeypatch.setattr(payloads, "_SPOOL_BATCH_ROWS", 3_000)
    monkeypatch.setattr(payloads, "_BLOCK_ROWS", 6_000)
    chunks = to_payloads(pl.scan_parquet(path), batch_size=3_000)
    assert sum(batches) == 25_000  # the source, computed once, batch by batch
    assert max(batches) <= 3_000
    sizes = [len(c["payload"]["data"]) for c in chunks]
    assert sizes == [3_000] * 8 + [1_000]
    assert collected == []  # nothing collected whole, not even for the counts
    assert sum(batches) == 25_000  # and the chunks were read back from the spool


@pytest.mark.parametrize("rows", [30_000, 4_000])
def test_the_spool_stores_each_slice_of_a_frame_once(rows: int) -> None:
    # slices of one frame view its whole string buffers; the spool keeps what each holds
    i = pl.int_range(rows)
    whole = pl.select(EMAIL=i.cast(pl.String).chash.sha2_256(), FN=(i % 7).cast(pl.String))
    whole = whole.with_columns(pl.col("FN").chash.sha2_256())
    slices = list(whole.iter_slices(rows // 40))
    chunks = to_payloads(iter(slices), batch_size=4_000, session_id=3)
    spool = chunks._source.path  # type: ignore[union-attr]
    # the digests (2 × 64 bytes a row) and their views (2 × 16 bytes), and some room;
    # with the whole buffers in every slice: 20 times the digests
    assert spool.stat().st_size < rows * 160 * 1.25 + 100_000
    assert [f for _, f in chunks.fields()] == [
        f for _, f in to_payloads(whole, batch_size=4_000, session_id=3).fields()
    ]


def test_lazy_hash_then_payloads_equals_eager(tmp_path: Path) -> None:
    path = tmp_path / "n.parquet"
    pl.DataFrame(
        {"EMAIL": [f"u{i}@example.com" for i in range(2_500)] + [None] * 10,
         "FN": ["mary"] * 2_510}
    ).write_parquet(path)
    lazy = list(to_payloads(audframe.hash(pl.scan_parquet(path)), batch_size=1_000,
                            session_id=1))
    eager = list(to_payloads(audframe.hash(pl.read_parquet(path)), batch_size=1_000,
                             session_id=1))
    assert lazy == eager
    assert [c["session"]["last_batch_flag"] for c in lazy] == [False, False, True]


def _raw_sample(tmp_path: Path) -> Path:
    """300 rows of the sample data, then 3 rows without any key."""
    df = pl.read_parquet(SAMPLE).head(300)
    path = tmp_path / "raw.parquet"
    pl.concat([df, df.clear(3)]).write_parquet(path)
    return path


def test_batches_of_a_frame_give_the_frames_chunks() -> None:
    df = pl.read_parquet(SAMPLE).head(200)
    whole = audframe.hash(audframe.normalize(df, default_country="US"))
    parts = [whole.slice(0, 7), whole.slice(7, 0), whole.slice(7)]
    assert list(to_payloads(parts, batch_size=5, session_id=2)) == list(
        to_payloads(whole, batch_size=5, session_id=2)
    )
    fast = [f for _, f in to_payloads(iter(parts), batch_size=5, session_id=2).fields()]
    assert fast == [form_fields(c) for c in to_payloads(whole, batch_size=5, session_id=2)]


def test_batches_are_checked_before_any_chunk_and_the_spool_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    good = pl.DataFrame({"EMAIL": ["a" * 64, None]})
    bad = pl.DataFrame({"EMAIL": ["raw@example.com", "b" * 64]})
    with pytest.raises(NotHashedError, match=r"EMAIL \(1 cells\)") as info:
        to_payloads(iter([good, good, bad, good]))
    assert "raw@" not in str(info.value)
    assert list(tmp_path.iterdir()) == []  # the spool went with the error
    with pytest.raises(TypeError, match="iterable of hashed DataFrames"):
        to_payloads([{"EMAIL": "a" * 64}])  # type: ignore[list-item]
    with pytest.raises(ValidationError, match="no batches"):
        to_payloads([])


def _parquet_reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The sizes of the record batches pyarrow reads from Parquet files from now on."""
    seen: list[int] = []
    iter_batches = pq.ParquetFile.iter_batches

    def spy(self: Any, *args: Any, **kwargs: Any) -> Any:
        for batch in iter_batches(self, *args, **kwargs):
            seen.append(batch.num_rows)
            yield batch

    monkeypatch.setattr(pq.ParquetFile, "iter_batches", spy)
    return seen


def _batch_sizes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The sizes of the record batches pyarrow reads from now on: from Parquet files
    (the input) and from Arrow IPC files (the spool)."""
    seen = _parquet_reads(monkeypatch)
    read_spool = payloads._Spool.read

    def spy_spool(self: Any, rows: int) -> Any:
        get_batch = pa.ipc.RecordBatchFileReader.get_batch

        def counted(reader: Any, i: int) -> Any:
            batch = get_batch(reader, i)
            seen.append(batch.num_rows)
            return batch

        with monkeypatch.context() as patch:
            patch.setattr(pa.ipc.RecordBatchFileReader, "get_batch", counted)
            yield from read_spool(self, rows)

    monkeypatch.setattr(payloads._Spool, "read", spy_spool)
    return seen


def test_a_parquet_file_in_bounded_batches_equals_the_lazy_pipeline(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    raw = _raw_sample(tmp_path)
    seen = _batch_sizes(monkeypatch)
    monkeypatch.setattr(payloads, "_BLOCK_ROWS", 64)
    got = parquet_payloads(raw, default_country="US", batch_size=40, session_id=5, rows=64)
    chunks = list(got)
    # the file, and then the spool, are read once each, a bounded batch at a time
    assert sum(seen) == got.stats.rows_read + got.stats.estimated_num_total
    assert max(seen) <= 64
    lazy = to_payloads(
        audframe.hash(audframe.normalize(pl.scan_parquet(raw), default_country="US")),
        batch_size=40, session_id=5,
    )
    assert got.stats == lazy.stats
    assert got.stats.rows_dropped >= 3
    assert chunks == list(lazy)
    fields = list(parquet_payloads(raw, default_country="US", batch_size=40,
                                   session_id=5, rows=64).fields())
    eager = audframe.hash(audframe.normalize(pl.read_parquet(raw), default_country="US"))
    assert [f for _, f in fields] == [
        form_fields(c) for c in to_payloads(eager, batch_size=40, session_id=5)
    ]
    assert [s["last_batch_flag"] for s, _ in fields] == [False] * (len(fields) - 1) + [True]


def test_hashed_batches_reads_only_the_mapped_columns_rows_at_a_time(tmp_path: Path) -> None:
    path = tmp_path / "raw.parquet"
    pl.DataFrame(
        {"mail": [f"u{i}@example.com" for i in range(10)], "note": ["x"] * 10}
    ).write_parquet(path)
    batches = list(hashed_batches(path, {"EMAIL": "mail"}, rows=4))
    assert [b.height for b in batches] == [4, 4, 2]
    assert all(b.columns == ["EMAIL"] for b in batches)
    assert batches[0]["EMAIL"][0] == audframe.hash(
        audframe.normalize(pl.DataFrame({"mail": ["u0@example.com"]}), {"EMAIL": "mail"})
    )["EMAIL"][0]
    with pytest.raises(ValueError, match="rows"):
        next(hashed_batches(path, {"EMAIL": "mail"}, rows=0))


def test_an_empty_parquet_file_has_columns_but_no_chunk(tmp_path: Path) -> None:
    path = tmp_path / "empty.parquet"
    pl.DataFrame({"mail": []}, schema={"mail": pl.String}).write_parquet(path)
    (batch,) = hashed_batches(path, {"EMAIL": "mail"})
    assert batch.columns == ["EMAIL"] and batch.height == 0
    chunks = parquet_payloads(path, {"EMAIL": "mail"})
    assert chunks.stats.rows_read == 0
    assert list(chunks.fields()) == []


@pytest.mark.parametrize("mapped", [False, True], ids=["unmapped", "mapped"])
def test_a_parquet_file_pyarrow_cannot_open_is_read_by_polars(
    tmp_path: Path, mapped: bool
) -> None:
    # pyarrow: "Integers with more than 64 bits not implemented", whichever column it is
    path = tmp_path / "wide.parquet"
    frame = pl.DataFrame({"mail": [f"u{i}@example.com" for i in range(10)],
                          "big": pl.Series(range(10), dtype=pl.Int128)})
    frame.write_parquet(path)
    mapping = {"EMAIL": "mail", **({"EXTERN_ID": "big"} if mapped else {})}
    batches = list(hashed_batches(path, mapping, rows=4))
    assert [b.height for b in batches] == [4, 4, 2]
    assert_frame_equal(pl.concat(batches), audframe.prepare(frame, mapping))
    assert_frame_equal(validate_parquet(path, mapping, rows=4),
                       audframe.validate(frame, mapping))


def test_a_file_that_is_not_parquet_is_named_as_such(tmp_path: Path) -> None:
    path = tmp_path / "people.parquet"
    path.write_text("email\na@b.co\n")  # a CSV file under a Parquet name
    with pytest.raises(ValidationError, match="is not a Parquet file"):
        parquet_payloads(path, {"EMAIL": "email"})


def test_a_parquet_file_validated_in_bounded_batches_equals_validate(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    raw = _raw_sample(tmp_path)
    seen = _batch_sizes(monkeypatch)
    whole = audframe.validate(pl.scan_parquet(raw), default_country="US", examples=5)
    got = validate_parquet(raw, default_country="US", examples=5, rows=16)
    assert max(seen) <= 16 and len(seen) > 3  # read a bounded batch at a time
    assert_frame_equal(got, whole)
    later = got.filter(pl.col("example_rows").list.max() >= 16)
    assert later.height  # examples numbered across batches, not within each


def test_an_empty_parquet_file_validates_to_zero_counts(tmp_path: Path) -> None:
    path = tmp_path / "empty.parquet"
    pl.DataFrame({"mail": []}, schema={"mail": pl.String}).write_parquet(path)
    got = validate_parquet(path, {"EMAIL": "mail"})
    assert_frame_equal(got, audframe.validate(pl.scan_parquet(path), {"EMAIL": "mail"}))
    assert got.select("present", "valid", "count").row(0) == (0, 0, 0)
    no_batch = validate_batches(pl.Schema({"mail": pl.String}), [], {"EMAIL": "mail"})
    assert_frame_equal(no_batch, got)  # no batch at all: the counts of an empty table


def _both(payloads: Any, report: pl.DataFrame) -> tuple[list[dict[str, str]], pl.DataFrame]:
    return [f for _, f in payloads.fields()], report


def _separately(source: pl.DataFrame | pl.LazyFrame, **options: Any) -> tuple[Any, pl.DataFrame]:
    """The payload form fields and the report, each from its own pass."""
    hash_extern_id = options.pop("hash_extern_id", False)
    report = audframe.validate(source, default_country="US", examples=5, **options)
    hashed = audframe.prepare(source, default_country="US", hash_extern_id=hash_extern_id,
                              **options)
    chunks = to_payloads(hashed, batch_size=40, session_id=9)
    return [f for _, f in chunks.fields()], report


def test_one_pass_gives_the_payloads_and_report_of_two(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    raw = _raw_sample(tmp_path)
    want_fields, want_report = _separately(pl.read_parquet(raw))
    assert want_report.filter(pl.col("count") > 0).height > 3  # reasons to count
    seen = _parquet_reads(monkeypatch)  # rows read from the raw file (not the spool)
    for source in (raw, pl.scan_parquet(raw), pl.read_parquet(raw)):
        got = payloads_and_report(source, default_country="US", examples=5, rows=16,
                                  batch_size=40, session_id=9)
        fields, report = _both(*got)
        assert fields == want_fields
        assert_frame_equal(report, want_report)  # example rows numbered across batches
        assert got[0].stats.rows_read == 303 and got[0].stats.rows_dropped >= 3
    assert sum(seen) == 303 and max(seen) <= 16  # the file read once, 16 rows at a time


class _Place:
    """A path-like that is no ``pathlib.Path`` (as ``fsspec``'s or ``upath``'s are)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __fspath__(self) -> str:
        return str(self.path)


def test_files_are_read_from_any_path_like(tmp_path: Path) -> None:
    raw = _raw_sample(tmp_path)
    want_fields, want_report = _both(*payloads_and_report(raw, default_country="US",
                                                          session_id=9))
    got_fields, got_report = _both(*payloads_and_report(_Place(raw), default_country="US",
                                                        session_id=9))
    assert got_fields == want_fields
    assert_frame_equal(got_report, want_report)
    assert_frame_equal(validate_parquet(_Place(raw), default_country="US"), want_report)
    fields = [f for _, f in parquet_payloads(_Place(raw), default_country="US",
                                              session_id=9).fields()]
    assert fields == want_fields


def test_one_pass_with_digests_dates_ids_and_values() -> None:
    digest = "AB" * 32
    df = pl.DataFrame({
        "email": [f" {digest} ", "Ann@Example.com", "nope", None, "x@y.co"],
        "first_name": ["Émilie", digest, "!!", "Bo", None],
        "birthday": ["1997-02-16", "2/30/1990", "19900101", None, "3000-01-01"],
        "madid": ["6D92078A-8246-4BA4-AE5B-76104861E7DC", "0" * 8, None, "x", None],
        "customer_id": [" 17 ", "a", None, "", "b"],
        "value": [1.5, -2.0, None, 140.0, 3.0],
    })
    mapping = {"EMAIL": "email", "FN": "first_name", "FI": "first_name", "DOB": "birthday",
               "MADID": "madid", "EXTERN_ID": "customer_id", "LOOKALIKE_VALUE": "value"}
    for hash_extern_id in (False, True):
        want = _separately(df, mapping=mapping, hash_extern_id=hash_extern_id)
        for source in (df, df.lazy()):
            got = _both(*payloads_and_report(source, mapping, default_country="US", examples=5,
                                             hash_extern_id=hash_extern_id, rows=2,
                                             batch_size=40, session_id=9))
            assert got[0] == want[0]
            assert_frame_equal(got[1], want[1])


def test_one_pass_over_nothing_gives_zero_counts_and_no_chunk(tmp_path: Path) -> None:
    path = tmp_path / "empty.parquet"
    empty = pl.DataFrame({"mail": []}, schema={"mail": pl.String})
    empty.write_parquet(path)
    want = validate_parquet(path, {"EMAIL": "mail"})
    for source in (path, empty, empty.lazy()):
        chunks, report = payloads_and_report(source, {"EMAIL": "mail"})
        assert_frame_equal(report, want)
        assert chunks.stats.rows_read == 0 and list(chunks.fields()) == []
    with pytest.raises(ValueError, match="rows"):
        payloads_and_report(empty.lazy(), {"EMAIL": "mail"}, rows=0)


def test_the_lazy_route_leaves_polars_streaming_chunk_size_as_it_was() -> None:
    lazy = pl.LazyFrame({"EMAIL": ["a" * 64, None, "b" * 64]})
    bad = pl.LazyFrame({"EMAIL": ["raw@example.com"]})
    before = pl.Config.state().get("POLARS_IDEAL_MORSEL_SIZE")
    with pl.Config(streaming_chunk_size=1234):
        assert to_payloads(lazy).stats.estimated_num_total == 2
        with pytest.raises(NotHashedError):
            to_payloads(bad)
        assert pl.Config.state()["POLARS_IDEAL_MORSEL_SIZE"] == "1234"
    assert to_payloads(lazy).stats.estimated_num_total == 2
    assert pl.Config.state().get("POLARS_IDEAL_MORSEL_SIZE") == before


def test_the_namespace_gives_the_same_payloads_and_report() -> None:
    df = pl.read_parquet(SAMPLE).head(500)
    want_chunks, want_report = payloads_and_report(df, default_country="US", session_id=3)
    for frame in (df, df.lazy()):
        chunks, report = frame.audience.payloads_and_report(default_country="US", session_id=3)
        assert_frame_equal(report, want_report)
        assert chunks.stats == want_chunks.stats
    assert list(chunks) == list(want_chunks)
