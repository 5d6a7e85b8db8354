"""Per-distinct evaluation: rows map back to their own value, collisions or not."""

from __future__ import annotations

import polars as pl
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_series_equal

from audframe import distinct as module
from audframe.distinct import distinct, per_distinct
from audframe.hashing import sha256
from audframe.whitespace import WHITESPACE, trim

TEXT = st.one_of(st.none(), st.sampled_from(["a", "b", "", " a", "é", "e\u0301", "ß"]))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(TEXT, TEXT), min_size=1, max_size=60))
def test_every_row_maps_to_an_equal_representative(pairs: list[tuple[str | None, ...]]) -> None:
    rows = pl.DataFrame(pairs, schema=["x", "y"], orient="row")
    found = distinct(rows, most=1.0)
    assert found is not None
    assert found.reps.height == rows.unique().height
    assert found.reps[found.positions].equals(rows, null_equal=True)


def test_a_hash_collision_falls_back_to_exact_grouping(monkeypatch: pytest.MonkeyPatch) -> None:
    # Every row hashes alike: only the exact comparison can tell the values apart.
    monkeypatch.setattr(module, "_row_hash", lambda rows: pl.repeat(7, rows.height, eager=True,
                                                                     dtype=pl.UInt64))
    rows = pl.DataFrame({"x": ["a", "b", "a", None, "b", None]})
    found = distinct(rows, most=1.0)
    assert found is not None
    assert found.reps["x"].to_list() == ["a", "b", None]
    assert found.positions.to_list() == [0, 1, 0, 2, 1, 2]


def test_mostly_distinct_batches_are_not_grouped() -> None:
    rows = pl.DataFrame({"x": ["a", "b", "c", "a"]})
    assert distinct(rows, most=0.5) is None
    assert distinct(rows, most=0.75) is not None


@pytest.mark.parametrize("dedupe", [True, False])
def test_per_distinct_equals_the_plain_expression(dedupe: bool) -> None:
    df = pl.DataFrame({"v": ["Ab", "ab", None, "Ab", "x", "Ab", "ab", "ab"]})
    expr = pl.col("v").str.to_lowercase() + "!"
    got = df.select(per_distinct({"v": pl.col("v")}, expr, pl.String, dedupe=dedupe))
    assert_series_equal(got.to_series(), df.select(expr).to_series(), check_names=False)


@pytest.mark.parametrize("dedupe", [True, False])
def test_before_runs_on_the_distinct_rows_ahead_of_the_expression(dedupe: bool) -> None:
    df = pl.DataFrame({"v": ["Ab", "ab", None, "Ab", "x", "Ab", "ab", "ab"]})
    seen: list[int] = []

    def before(rows: pl.DataFrame) -> pl.DataFrame:
        seen.append(rows.height)
        return rows.with_columns(pl.col("v").str.to_uppercase())

    expr = pl.col("v") + "!"
    got = df.select(per_distinct({"v": pl.col("v")}, expr, pl.String, dedupe=dedupe,
                                 before=before))
    assert got.to_series().to_list() == ["AB!", "AB!", None, "AB!", "X!", "AB!", "AB!", "AB!"]
    assert seen == ([4] if dedupe else [8])


@pytest.mark.parametrize("dedupe", [True, False])
def test_after_is_a_function_of_the_computed_values(dedupe: bool) -> None:
    df = pl.DataFrame({"v": ["Ab", "ab", None, "Ab", "x", "Ab", "ab", "ab"]})
    got = df.select(per_distinct({"v": pl.col("v")}, pl.col("v").str.to_lowercase(), pl.String,
                                 dedupe=dedupe, after=lambda out: out + out.str.to_uppercase()))
    assert got.to_series().to_list() == ["abAB", "abAB", None, "abAB", "xX", "abAB", "abAB",
                                         "abAB"]


def test_digests_of_repeated_values_are_stored_once() -> None:
    # 20,000 rows of 50 values: the output's string buffers hold the 50 digests, not
    # 20,000 copies (a memory and speed property, checked on the layout, not timed).
    df = pl.DataFrame({"v": [f"name{i % 50}" for i in range(20_000)]})
    out = df.lazy().select(per_distinct({"v": pl.col("v")}, sha256(pl.col("v")), pl.String))
    column = out.collect(engine="in-memory").to_series()
    arrow = column.to_arrow(compat_level=pl.CompatLevel.newest())
    chunks = arrow.chunks if isinstance(arrow, pa.ChunkedArray) else [arrow]
    stored = {b.address: b.size for c in chunks for b in c.buffers()[2:] if b is not None}
    assert column.n_unique() == 50
    assert sum(stored.values()) < 20 * 64 * 50


def test_trim_removes_exactly_what_strip_chars_removes() -> None:
    points = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    s = pl.Series("s", [f"a{c}" for c in points] + [f"{c}a" for c in points])
    plain = s.to_frame().select(pl.col("s").str.strip_chars()).to_series()
    assert_series_equal(s.to_frame().select(trim(pl.col("s"))).to_series(), plain)
    assert len(WHITESPACE) == 25


def test_trim_is_shared_as_a_common_subexpression() -> None:
    # The reason trim() exists: polars shares it, and not strip_chars() without argument.
    v = trim(pl.col("a"))
    plan = pl.LazyFrame({"a": [" x "]}).select(v.str.len_bytes() + v.str.len_chars()).explain()
    assert plan.count("strip_chars") == 1


@pytest.mark.parametrize(("rows", "minimum", "expected"), [(100, 10, [50, 50]), (100, 60, [100])])
def test_a_small_frame_is_cut_into_one_chunk_per_thread_for_row_unique_keys(
    monkeypatch: pytest.MonkeyPatch, rows: int, minimum: int, expected: list[int]
) -> None:
    monkeypatch.setattr(module, "_MIN_ROWS_PER_CHUNK", minimum)
    monkeypatch.setattr(pl, "thread_pool_size", lambda: 2)
    seen: list[int] = []

    def batch(frame: pl.DataFrame) -> pl.Series:
        seen.append(frame.height)
        return frame.to_series().str.to_uppercase()

    df = pl.DataFrame({"v": [f"v{i}" for i in range(rows)]})
    expr = module.per_distinct_batch({"v": pl.col("v")}, batch, pl.String, dedupe=False)
    out = module.collect_select(df, {"EMAIL": expr.alias("EMAIL")})
    assert sorted(seen) == expected
    assert out["EMAIL"].to_list() == [f"V{i}" for i in range(rows)]


def test_rows_in_several_chunks_map_to_their_representatives() -> None:
    parts = [pl.DataFrame({"x": ["a", "b", "a"]}), pl.DataFrame({"x": ["b", "c", None]})]
    rows = pl.concat(parts, rechunk=False)
    assert rows.n_chunks() == 2
    found = distinct(rows, most=1.0)
    assert found is not None
    assert found.reps["x"].to_list() == ["a", "b", "c", None]
    assert found.positions.to_list() == [0, 1, 0, 1, 2, 3]
