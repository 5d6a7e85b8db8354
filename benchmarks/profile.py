"""Where the pipeline's time goes: wall and CPU time of each stage, on the same rows.

Usage (from the repository root)::

    .venv/bin/python benchmarks/profile.py [--rows 1000000] [--repeat 5]

``run.py`` compares audframe with the alternatives; this script splits audframe's own
pipeline (``prepare`` → ``to_payloads`` → ``fields()``) and the hashing floor into
their parts, so that a ratio can be explained. Every part runs ``--repeat`` times, the
parts taking turns (``run.py``'s rounds), and its fastest run is kept (with that run's
CPU time: the process time of all threads, so CPU ÷ wall shows how many cores the part
kept busy).

The parts:

* the whole pipeline, and the hashing floor (as in ``run.py``);
* ``prepare`` alone, and then each key alone (``prepare`` of that key's column; PHONE
  and ZIP with COUNTRY, which they read, so COUNTRY's own row is in theirs);
* ``to_payloads`` alone (the check that every cell is a digest, before anything is
  sent; serial), and ``fields()`` alone (the JSON, built in worker threads);
* SHA-256 itself: polars-hash on one column of 1,000,000 distinct values, in ns per
  value, and how many values each side hashes (the pipeline hashes each distinct value
  of a repetitive key once; the floor hashes every cell).

The closing lines give the CPU time of the parts the pipeline is made of and the wall
time that CPU would take on every core without a pause: no scheduling can beat it.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import make_data  # noqa: E402
import run as bench  # noqa: E402

MAPPING = make_data.MAPPING
COUNTRY_READERS = {"PHONE", "ZIP"}  # the keys whose rule reads the row's country


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    import polars_hash  # noqa: F401  (registers chash)

    import audframe
    from audframe.keys import ROW_UNIQUE_KEYS

    df = pl.read_parquet(make_data.ensure_parquet(args.rows, args.seed))
    country = bench.DEFAULT_COUNTRY
    normalized = audframe.normalize(df, MAPPING, default_country=country)
    hashed = audframe.prepare(df, MAPPING, default_country=country)
    columns = list(normalized.columns)
    bench.audframe_pipeline(df.head(20_000))  # warm-up: plugin, phone metadata, caches
    one_column = pl.DataFrame({"v": [f"customer{i}@example.com" for i in range(1_000_000)]})

    def key_alone(key: str) -> Callable[[], Any]:
        mapping = {key: MAPPING[key]}
        if key in COUNTRY_READERS:
            mapping["COUNTRY"] = MAPPING["COUNTRY"]
        return lambda: audframe.prepare(df, mapping, default_country=country)

    parts: dict[str, Callable[[], Any]] = {
        "pipeline: prepare → to_payloads → fields()": lambda: bench.audframe_pipeline(df),
        "hashing floor (8 columns)": lambda: bench.hash_floor(normalized, columns),
        "prepare": lambda: audframe.prepare(df, MAPPING, default_country=country),
        **{f"  prepare, {k}" + (" (+ COUNTRY)" if k in COUNTRY_READERS else ""): key_alone(k)
           for k in MAPPING},
        "to_payloads (digest check)": lambda: audframe.to_payloads(hashed),
        "to_payloads + fields() (JSON)": lambda: bench._payload_stage(audframe, hashed),
        "polars-hash, 1,000,000 distinct values": lambda: one_column.select(
            pl.col("v").chash.sha2_256()  # type: ignore[attr-defined]
        ),
    }
    print(f"{df.height:,} rows, {os.cpu_count()} CPUs ({bench.cpu_model()}), "
          f"best of {args.repeat}; load average at start {os.getloadavg()[0]:.2f}", flush=True)
    timed = bench._turns(list(parts.values()), args.repeat)
    best = {name: (wall, cpu) for name, (wall, cpu, _) in zip(parts, timed, strict=True)}

    print("\n| part | wall s | CPU s | CPU ÷ wall |\n|---|---:|---:|---:|")
    for name, (wall, cpu) in best.items():
        print(f"| {name} | {wall:.3f} | {cpu:.3f} | {cpu / wall:.2f} |")

    per_hash = best["polars-hash, 1,000,000 distinct values"][0] / 1_000_000 * 1e9
    repetitive = [k for k in columns if k not in ROW_UNIQUE_KEYS]
    # prepare hashes once per distinct input: the raw cell, and the row's country code
    # for the keys reading it
    region = normalized["COUNTRY"].fill_null(country.lower())
    distinct = sum(
        pl.DataFrame([df[MAPPING[k]], *([region] if k in COUNTRY_READERS else [])]).n_unique()
        for k in repetitive
    )
    unique_cells = sum(normalized[k].count() for k in columns if k not in repetitive)
    print(f"\nSHA-256 (polars-hash): {per_hash:.0f} ns per value on one core. "
          f"The floor hashes {normalized.height * len(columns):,} cells; the pipeline "
          f"hashes about {unique_cells + distinct:,} values ({unique_cells:,} of the "
          f"row-unique keys, {distinct:,} distinct inputs of the others).")
    cpu = best["prepare"][1] + best["to_payloads + fields() (JSON)"][1]
    cores = os.cpu_count() or 1
    print(f"CPU of prepare + to_payloads + fields(): {cpu:.2f} s; on {cores} cores without "
          f"a pause that is {cpu / cores:.2f} s of wall time, against "
          f"{best['hashing floor (8 columns)'][0]:.2f} s for the floor.")


if __name__ == "__main__":
    main()
