"""The sender against the Graph API emulator: one batch at a time against concurrent.

Usage (from the repository root)::

    .venv/bin/python benchmarks/sender.py [--rows 1000000] [--latency 0.1]
                                          [--concurrency 1,4,8]

``--rows`` synthetic hashed rows (one EMAIL column: SHA-256 of ``0``, ``1``, … made by
polars-hash) are uploaded with ``Sender.add`` (10,000 rows per request) to a
:class:`~audframe.emulator.GraphEmulator` that waits ``--latency`` seconds before it
answers each request, once per ``--concurrency`` value, each into its own audience. The
first value is the baseline of the speed-up column; ``4`` is the sender's default.

The emulator runs in a child process, as a remote Graph API would: its own work
(parsing, checking and storing 10,000 rows a request) does not compete with the sender
for this process's interpreter. That process runs without the cyclic garbage collector:
the emulator keeps every member it received (millions of objects over the runs), and each
full collection would walk them all, making the stand-in server, not the sender, the
bottleneck. The sender's process is left as it is. Each run checks that the audience
holds every row. Not run by the test suite.
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing as mp
import time
from multiprocessing.connection import Connection

import polars as pl
import polars_hash as plh

TOKEN = "benchmark-token"
DEFAULT_CONCURRENCY = 4  # Sender's default


def serve(latency: float, conn: Connection) -> None:
    """The child process: run an emulator until the parent says stop; answer size queries."""
    from audframe.emulator import GraphEmulator

    gc.disable()
    with GraphEmulator(token=TOKEN, latency=latency, log_limit=10) as emu:
        conn.send(emu.url)
        while (audience := conn.recv()) is not None:
            info = emu.audience(audience)
            conn.send(0 if info is None else info["size"])


def hashed_rows(rows: int) -> pl.DataFrame:
    source = pl.int_range(rows, eager=True).cast(pl.String).alias("EMAIL").to_frame()
    return source.select(plh.col("EMAIL").chash.sha2_256())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--latency", type=float, default=0.1,
                        help="seconds the emulator waits before answering a request")
    parser.add_argument("--concurrency", default=f"1,{DEFAULT_CONCURRENCY},8",
                        help="comma-separated values; the first is the baseline")
    args = parser.parse_args()
    levels = [int(c) for c in args.concurrency.split(",")]

    from audframe.sender import Sender

    frame = hashed_rows(args.rows)
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    server = ctx.Process(target=serve, args=(args.latency, child), daemon=True)
    server.start()
    try:
        url = parent.recv()
        results = []
        for n, level in enumerate(levels, start=1):
            audience = str(1000 + n)
            with Sender(TOKEN, base_url=url, concurrency=level, progress=False) as sender:
                started = time.perf_counter()
                report = sender.add(audience, frame)
                seconds = time.perf_counter() - started
            parent.send(audience)
            held = parent.recv()
            if held != args.rows or report.rows != args.rows:
                raise SystemExit(f"concurrency {level}: the audience holds {held} rows, "
                                 f"the report says {report.rows}, expected {args.rows}")
            results.append((level, report.batches, seconds))
        parent.send(None)
    finally:
        server.join(timeout=10)
        if server.is_alive():
            server.terminate()

    base = results[0][2]
    print(f"sender benchmark: {args.rows:,} rows, {results[0][1]} requests of up to 10,000 "
          f"rows, emulator latency {args.latency:g} s per request")
    print()
    print("| concurrency | requests | seconds | rows/s | speed-up |")
    print("|---:|---:|---:|---:|---:|")
    for level, batches, seconds in results:
        label = f"{level} (default)" if level == DEFAULT_CONCURRENCY else str(level)
        print(f"| {label} | {batches} | {seconds:.2f} | {args.rows / seconds:,.0f} "
              f"| {base / seconds:.2f}× |")


if __name__ == "__main__":
    main()
