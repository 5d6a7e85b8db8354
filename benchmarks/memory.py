"""Peak memory of audframe's pipeline on a large Parquet export.

Usage (from the repository root)::

    .venv/bin/python benchmarks/memory.py                  # 20,000,000 rows
    .venv/bin/python benchmarks/memory.py --rows 2000000   # quicker

The Parquet file (``benchmarks/data/customers_<rows>.parquet``, made by
``benchmarks/make_data.py`` chunk by chunk if missing) is scanned lazily and sent
through ``normalize`` → ``hash`` → ``to_payloads``; every chunk is turned into its POST
form fields and discarded. This runs in a fresh subprocess, so the peak resident set
size (``ru_maxrss``) it reports is that pipeline's alone: interpreter, imports and
all. The same subprocess also reports its RSS after the imports, before any data is read.

Target (issue 6): 20,000,000 rows with peak RSS under 1 GiB.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import make_data  # noqa: E402

MAPPING = make_data.MAPPING
TARGET_MIB = 1024
TRACE_EVERY = 1_000_000


def _rss_mib() -> float:
    """Current resident set size (Linux /proc; psutil elsewhere)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        import psutil

        return float(psutil.Process().memory_info().rss) / 2**20


def _peak_mib() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10  # bytes vs KiB


def child(path: Path, batch_size: int) -> dict[str, Any]:
    """The measured run: scan → normalize → hash → payload chunks → form fields."""
    import polars as pl

    import audframe
    from audframe.payloads import form_fields

    baseline = _rss_mib()
    t0 = time.perf_counter()
    lf = pl.scan_parquet(path)
    keys = audframe.normalize(lf, MAPPING, default_country="US")
    chunks = rows = size = 0
    trace: list[tuple[int, float]] = []  # (rows sent, RSS): first chunk, then every 1M rows
    for chunk in audframe.to_payloads(audframe.hash(keys), batch_size=batch_size):
        fields = form_fields(chunk)
        chunks += 1
        rows += len(chunk["payload"]["data"])
        size += len(fields["payload"])
        if chunks == 1 or rows // TRACE_EVERY >= len(trace):
            trace.append((rows, _rss_mib()))
    return {
        "trace": trace,
        "rows_sent": rows,
        "chunks": chunks,
        "payload_mib": size / 2**20,
        "seconds": time.perf_counter() - t0,
        "rss_after_imports_mib": baseline,
        "peak_rss_mib": _peak_mib(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=20_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=10_000)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child is not None:
        print(json.dumps(child(args.child, args.batch_size)))
        return

    path = make_data.default_path(args.rows, args.seed)
    if not path.exists():
        print(f"generating {args.rows:,} rows into {path} (chunk by chunk) …", flush=True)
        t0 = time.perf_counter()
        # in its own process too, so nothing of it stays in this one
        subprocess.run(
            [sys.executable, str(HERE / "make_data.py"), "--rows", str(args.rows),
             "--seed", str(args.seed), "--out", str(path)],
            check=True,
        )
        print(f"  done in {time.perf_counter() - t0:.0f} s", flush=True)
    size_mib = path.stat().st_size / 2**20

    proc = subprocess.run(
        [sys.executable, __file__, "--child", str(path), "--batch-size", str(args.batch_size)],
        check=False, capture_output=True, text=True,
    )
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"the measured run failed (exit {proc.returncode})")
    out = json.loads(proc.stdout.strip().splitlines()[-1])

    peak = out["peak_rss_mib"]
    rate = out["rows_sent"] / out["seconds"] if out["seconds"] else float("nan")
    print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs, python "
          f"{platform.python_version()}")
    print(f"input: {args.rows:,} rows, {path.name} ({size_mib:,.0f} MiB on disk)")
    print(f"sent: {out['rows_sent']:,} rows in {out['chunks']:,} chunks "
          f"({out['payload_mib']:,.0f} MiB of payload JSON), {out['seconds']:,.1f} s, "
          f"{rate:,.0f} rows/s")
    print(f"RSS after imports: {out['rss_after_imports_mib']:,.0f} MiB")
    if out["trace"]:
        steps = ", ".join(f"{r:,}: {m:,.0f}" for r, m in out["trace"])
        print(f"RSS (MiB) after rows sent: {steps}")
    print(f"peak RSS: {peak:,.0f} MiB")
    under = "under" if peak < TARGET_MIB else "NOT under"
    if args.rows >= 20_000_000:
        print(f"target: peak RSS under {TARGET_MIB:,} MiB for 20,000,000 rows: "
              + ("met" if peak < TARGET_MIB else "NOT met"))
    else:
        print(f"peak RSS {under} {TARGET_MIB:,} MiB for {args.rows:,} rows; the target is "
              "for 20,000,000 rows, so this run does not decide it")


if __name__ == "__main__":
    main()
