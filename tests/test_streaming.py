"""A LazyFrame is turned into chunks batch by batch, never collected whole."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import polars_hash  # noqa: F401  (the chash namespace, to make test data fast)
import pytest

import audframe
from audframe.payloads import to_payloads


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
    chunks = list(to_payloads(pl.scan_parquet(path), batch_size=3_000))
    assert [len(c["payload"]["data"]) for c in chunks] == [3_000] * 8 + [1_000]
    assert collected == [1]  # the count: one row of figures
    assert sum(batches) == 25_000
    assert max(batches) <= 3_000


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
