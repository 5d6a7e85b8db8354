"""audframe against the alternatives, in one process, on the same rows.

Usage (from the repository root; ``make bench`` runs it with the defaults)::

    .venv/bin/python benchmarks/run.py [--rows 1000000] [--sdk-rows 100000]
                                       [--phones-sample 100000] [--repeat 1]
                                       [--skip sdk,pandas,phones] [--out benchmarks/results.md]

The rows come from ``benchmarks/make_data.py``: EMAIL, PHONE, COUNTRY, FN, LN, CT, ST and
ZIP source columns, generated once into ``benchmarks/data/`` and read into memory before
any timing. Every method starts from that in-memory data, so the table compares the
work, not the disk:

audframe
    ``audframe.prepare(frame, mapping, default_country="US")`` (normalize and hash in
    one pass) → ``audframe.to_payloads(...).fields()``: the POST form fields of every
    request, ready to send (what the sender posts). Four variants: the same pipeline
    calling ``audframe.normalize`` then ``audframe.hash`` (same output), from the
    Parquet file by ``audframe.parquet_payloads`` (pyarrow batches in bounded memory,
    as the command line reads a file), from ``pl.scan_parquet`` (a LazyFrame,
    streamed), and through plain dict chunks each encoded by
    ``audframe.payloads.form_fields``. The two that read the file include reading it.
official SDK
    ``facebook_business`` ``CustomAudience.format_params(schema=[...], users=rows,
    is_raw=True)`` per 10,000-row chunk (the Graph limit), then the SDK's own form
    encoding of the payload (``facebook_business.api._top_level_param_json_encode``,
    which ``add_users`` applies before sending). Nulls are passed as ``""``; the SDK cannot
    take ``None``. Pure Python, so it is timed on the first ``--sdk-rows`` rows and its
    rate is shown. The rows are turned into lists before timing.
pandas + hashlib
    Idiomatic code: per column ``.fillna("").str.strip().str.lower()``
    (phone: digits only), ``.map(lambda s: hashlib.sha256(s.encode()).hexdigest())``
    with ``""`` for empty cells, then ``values.tolist()`` in 10,000-row chunks and
    ``json.dumps``. It normalizes far less than audframe or Meta asks for (no country
    codes, no accent rules). The pandas frame is built before timing.
hashing floor
    ``polars_hash`` ``chash.sha2_256()`` over the already-normalized key columns and
    nothing else: the cost of SHA-256 itself.
phones alone
    audframe's vectorized phone expression against ``per_row`` from
    ``benchmarks/phones.py`` (``phonenumbers.parse`` with the row's region, E.164 when
    possible), on this data's phones and normalized countries (default ``us``).
    Skipped when ``benchmarks/phones.py`` is not there.

With ``--repeat N`` every method runs N times, taking turns (one run of each per round),
and its best time is kept: the machine's speed drifts over minutes, so every ratio then
compares times from the same stretch. Benchmarks are not run by the test suite. Results
are printed and written as Markdown to ``benchmarks/results.md`` (``--out``).
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import importlib
import importlib.metadata
import json
import os
import platform
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import polars as pl

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import make_data  # noqa: E402

MAPPING = make_data.MAPPING
SCHEMA = list(MAPPING)  # the SDK's multi-key schema, in the same order as its rows
BATCH = 10_000
DEFAULT_COUNTRY = "US"


@dataclass
class Result:
    name: str
    rows: int
    seconds: float
    note: str = ""
    role: str = ""  # "audframe" (the reference row), "floor", "phones-base", "phones"
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds else float("inf")


# --- environment --------------------------------------------------------------------


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def cpu_model() -> str:
    """The processor's model name, and whether it has SHA extensions (Linux; else the
    platform's processor string). Hashing with and without them differs several-fold,
    and not alike for every method: the ratios depend on it."""
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or "unknown"
    fields = dict(
        (k.strip(), v.strip()) for k, _, v in (line.partition(":") for line in info.splitlines())
    )
    flags = set((fields.get("flags") or fields.get("Features", "")).split())  # x86 | arm
    sha = "with" if {"sha_ni", "sha2"} & flags else "without"
    return f"{fields.get('model name', 'unknown')}, {sha} SHA extensions"


def machine_label() -> dict[str, str]:
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu": cpu_model(),
        "cpus": str(os.cpu_count()),
        "python": platform.python_version(),
        "polars": pl.__version__,
        "polars-hash": _version("polars-hash"),
        "audframe": _version("audframe"),
        "pandas": _version("pandas"),
        "facebook-business": _version("facebook-business"),
        "phonenumbers": _version("phonenumbers"),
        "load average (1 min) at start": f"{load[0]:.2f}",
    }


def _optional(module: str) -> ModuleType | None:
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


@dataclass
class Job:
    """One method to time: its table row's name, the rows it handles, and how to run it."""

    name: str
    rows: int
    run: Callable[[], Any]
    role: str = ""
    note: Callable[[Any], str] = lambda _out: ""


def _turns(runs: list[Callable[[], Any]], repeat: int) -> list[tuple[float, float, Any]]:
    """Each function's best wall time over ``repeat`` rounds, that run's CPU time (the
    process time of all threads), and its last output.

    Every round runs every function once, with a collection before each. The machine's
    speed drifts by tens of percent over minutes; taking turns makes every method's best
    come from the same stretch of time, so the ratios compare like with like.
    """
    best = [(float("inf"), float("inf"))] * len(runs)
    outs: list[Any] = [None] * len(runs)
    for _ in range(max(1, repeat)):
        for i, run in enumerate(runs):
            gc.collect()
            wall, cpu = time.perf_counter(), time.process_time()
            outs[i] = run()
            best[i] = min(best[i], (time.perf_counter() - wall, time.process_time() - cpu))
    return [(wall, cpu, out) for (wall, cpu), out in zip(best, outs, strict=True)]


def _round_robin(jobs: list[Job], repeat: int) -> list[Result]:
    """:func:`_turns` over the jobs, as table rows."""
    timed = _turns([job.run for job in jobs], repeat)
    for job, (secs, _, _) in zip(jobs, timed, strict=True):
        print(f"  {job.name.strip()}: {secs:.2f} s", flush=True)
    return [
        Result(job.name, job.rows, secs, job.note(out), role=job.role)
        for job, (secs, _, out) in zip(jobs, timed, strict=True)
    ]


# --- the methods ----------------------------------------------------------------------


def audframe_pipeline(
    source: pl.DataFrame | pl.LazyFrame, *, chained: bool = False
) -> dict[str, int]:
    """prepare → to_payloads → ``Payloads.fields()``: the requests the sender posts.

    ``prepare`` normalizes and hashes in one pass; ``chained`` calls ``normalize`` and
    then ``hash`` instead (the same output). A DataFrame stays eager end to end; a
    LazyFrame (``pl.scan_parquet``) stays lazy until ``to_payloads`` streams it.
    """
    import audframe

    af: Any = audframe  # a DataFrame or a LazyFrame, each kept as it is
    if chained:
        hashed = af.hash(af.normalize(source, MAPPING, default_country=DEFAULT_COUNTRY))
    else:
        hashed = af.prepare(source, MAPPING, default_country=DEFAULT_COUNTRY)
    payloads = audframe.to_payloads(hashed, batch_size=BATCH)
    chunks = size = 0
    for _session, fields in payloads.fields():
        chunks += 1
        size += len(fields["payload"]) + len(fields["session"])
    return {"chunks": chunks, "rows": payloads.stats.estimated_num_total, "bytes": size}


def audframe_dicts(source: pl.DataFrame) -> dict[str, int]:
    """The same pipeline through plain dict chunks, each encoded by ``form_fields``."""
    import audframe
    from audframe.payloads import form_fields

    hashed = audframe.prepare(source, MAPPING, default_country=DEFAULT_COUNTRY)
    chunks = rows = size = 0
    for chunk in audframe.to_payloads(hashed, batch_size=BATCH):
        fields = form_fields(chunk)
        chunks += 1
        rows += len(chunk["payload"]["data"])
        size += len(fields["payload"]) + len(fields["session"])
    return {"chunks": chunks, "rows": rows, "bytes": size}


def _payload_bytes(payloads: Any) -> int:
    """Build every request's form fields; the bytes of their payloads."""
    return sum(len(fields["payload"]) for _session, fields in payloads.fields())


def _payload_stage(af: Any, hashed: pl.DataFrame) -> int:
    return _payload_bytes(af.to_payloads(hashed, batch_size=BATCH))


def _file_route(af: Any, path: Path) -> int:
    return _payload_bytes(af.parquet_payloads(path, MAPPING, default_country=DEFAULT_COUNTRY))


def _one_pass(af: Any, source: pl.DataFrame) -> dict[str, int]:
    """What ``audframe prepare`` and ``upload`` do: the report and the payloads, one pass."""
    payloads, report = af.payloads_and_report(source, MAPPING, default_country=DEFAULT_COUNTRY,
                                              batch_size=BATCH)
    return {"chunks": sum(1 for _ in payloads.fields()), "report": report.height}


def _json_encode_params(params: dict[str, Any]) -> dict[str, Any]:
    return {k: json.dumps(v, sort_keys=True, separators=(",", ":")) for k, v in params.items()}


def _sdk_form_encoder() -> Callable[[dict[str, Any]], dict[str, Any]]:
    """The SDK's own encoder for top-level params (what ``add_users`` sends)."""
    api = importlib.import_module("facebook_business.api")
    encoder: Callable[[dict[str, Any]], dict[str, Any]] = getattr(
        api, "_top_level_param_json_encode", _json_encode_params  # if the helper moves
    )
    return encoder


def sdk_pipeline(rows: list[list[str]]) -> dict[str, int]:
    """``CustomAudience.format_params`` per 10,000 rows, then the SDK's form encoding."""
    from facebook_business.adobjects.customaudience import CustomAudience

    encode = _sdk_form_encoder()
    chunks = size = 0
    for start in range(0, len(rows), BATCH):
        params = CustomAudience.format_params(
            schema=SCHEMA, users=rows[start : start + BATCH], is_raw=True
        )
        fields = encode(params)
        chunks += 1
        size += len(fields["payload"])
    return {"chunks": chunks, "rows": len(rows), "bytes": size}


def _sha(s: str) -> str:
    return hashlib.sha256(s.encode()).hexdigest() if s else ""


def pandas_pipeline(pdf: Any) -> dict[str, int]:
    """What a careful pandas user writes: strip, lower, hashlib per cell, chunk, JSON."""
    out = pdf.__class__(index=pdf.index)
    for key, column in MAPPING.items():
        s = pdf[column].fillna("").astype(str).str.strip().str.lower()
        if key == "PHONE":
            s = s.str.replace(r"\D", "", regex=True)
        out[key] = s.map(_sha)
    chunks = size = 0
    values = out.values
    for start in range(0, len(out), BATCH):
        payload = {"schema": SCHEMA, "data": values[start : start + BATCH].tolist()}
        size += len(json.dumps(payload, separators=(",", ":")))
        chunks += 1
    return {"chunks": chunks, "rows": len(out), "bytes": size}


def hash_floor(normalized: pl.DataFrame, columns: Sequence[str]) -> int:
    import polars_hash  # noqa: F401  (registers the chash namespace)

    out = normalized.select(pl.col(c).chash.sha2_256() for c in columns)  # type: ignore[attr-defined]
    return out.height


# --- the run ----------------------------------------------------------------------------


def _sample_note(timed: int, total: int) -> str:
    if timed >= total:
        return ""
    return f"timed on the first {timed:,} rows; rate extrapolated to {total:,}"


def run(args: argparse.Namespace) -> tuple[dict[str, str], list[Result], list[str]]:
    label = machine_label()
    notes: list[str] = []
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}

    t0 = time.perf_counter()
    path = make_data.ensure_parquet(args.rows, args.seed)
    df = pl.read_parquet(path)
    print(f"data: {df.height:,} rows from {path.relative_to(HERE.parent)} "
          f"({time.perf_counter() - t0:.1f} s to make or read)", flush=True)
    label["data"] = f"{df.height:,} rows from benchmarks/make_data.py (seed {args.seed})"

    audframe = _optional("audframe")
    api_ready = audframe is not None and all(
        hasattr(audframe, n)
        for n in ("prepare", "normalize", "hash", "to_payloads", "payloads_and_report",
                  "parquet_payloads")
    ) and _optional("audframe.payloads") is not None
    normalized: pl.DataFrame | None = None
    jobs: list[Job] = []

    if api_ready:
        af: Any = audframe
        audframe_pipeline(df.head(20_000))  # warm-up: plugin load, phone metadata, caches
        # The inputs of the stage timings, computed once beforehand (not timed).
        normalized = af.normalize(df, MAPPING, default_country=DEFAULT_COUNTRY)
        assert isinstance(normalized, pl.DataFrame)
        hashed = af.prepare(df, MAPPING, default_country=DEFAULT_COUNTRY)
        hashed_cols = [c for c in normalized.columns if c in MAPPING]
        hash_floor(normalized.head(1000), hashed_cols)  # warm-up
        rows = df.height
        jobs += [
            Job("audframe: prepare (normalize + hash) → payload form fields (DataFrame)",
                rows, lambda: audframe_pipeline(df), role="audframe",
                note=lambda i: f"{i['chunks']} chunks, {i['rows']:,} rows carried, "
                f"{i['bytes'] / 2**20:,.0f} MiB of form fields"),
            Job("audframe, same pipeline calling normalize then hash", rows,
                lambda: audframe_pipeline(df, chained=True),
                note=lambda i: f"{i['chunks']} chunks, same output"),
            Job("audframe, same pipeline from the Parquet file (parquet_payloads, batches)",
                rows, lambda: _file_route(af, path),
                note=lambda i: "pyarrow batches in bounded memory, as the command line "
                "reads a file; includes reading the file"),
            Job("audframe, same pipeline from pl.scan_parquet (LazyFrame, streaming)", rows,
                lambda: audframe_pipeline(pl.scan_parquet(path)),
                note=lambda i: "includes reading the Parquet file"),
            Job("audframe, same pipeline through dict chunks + form_fields (orjson)", rows,
                lambda: audframe_dicts(df), note=lambda i: f"{i['chunks']} chunks"),
            # where audframe's time goes: each stage alone, on the previous stage's output
            Job("  stage: normalize (eager DataFrame)", rows,
                lambda: af.normalize(df, MAPPING, default_country=DEFAULT_COUNTRY)),
            Job("  stage: hash (normalized DataFrame)", rows, lambda: af.hash(normalized)),
            Job("  stage: prepare, normalize + hash in one pass (eager)", rows,
                lambda: af.prepare(df, MAPPING, default_country=DEFAULT_COUNTRY)),
            Job("  stage: to_payloads + fields() (hashed DataFrame)", rows,
                lambda: _payload_stage(af, hashed)),
            Job("  beside: validate, the validation report (eager)", rows,
                lambda: af.validate(df, MAPPING, default_country=DEFAULT_COUNTRY),
                note=lambda r: f"{r.height} report rows"),
            Job("  beside: payloads_and_report, the report and the form fields in one pass",
                rows, lambda: _one_pass(af, df),
                note=lambda i: f"{i['chunks']} chunks, {i['report']} report rows"),
            Job("hashing floor: polars-hash sha2_256 over normalized columns", rows,
                lambda: hash_floor(normalized, hashed_cols), role="floor",
                note=lambda i: f"{len(hashed_cols)} columns, nothing else"),
        ]
    else:
        notes.append("audframe's API (prepare, normalize, hash, to_payloads, form_fields) "
                     "is not importable yet: its rows are missing and ratios are not shown.")

    if "sdk" not in skip:
        if _optional("facebook_business") is None:
            notes.append("facebook-business is not installed (pip install '.[bench]'): "
                         "SDK row skipped.")
        else:
            n = min(args.sdk_rows, df.height)
            user_rows = [list(r) for r in df.head(n).fill_null("").rows()]
            jobs.append(Job(
                "official SDK: CustomAudience.format_params(is_raw=True) + form encoding", n,
                lambda: sdk_pipeline(user_rows), note=lambda i: _sample_note(n, df.height),
            ))

    if "pandas" not in skip:
        if _optional("pandas") is None:
            notes.append("pandas is not installed: pandas row skipped.")
        else:
            n_pandas = min(args.pandas_rows or df.height, df.height)
            pdf = df.head(n_pandas).to_pandas()
            jobs.append(Job(
                "pandas + hashlib: strip/lower, .map(sha256), chunks, json.dumps", n_pandas,
                lambda: pandas_pipeline(pdf), note=lambda i: _sample_note(n_pandas, df.height),
            ))

    results = _round_robin(jobs, args.repeat)

    if "phones" not in skip:
        results += _phones(df, normalized, args, notes)

    return label, results, notes


def _phones(df: pl.DataFrame, normalized: pl.DataFrame | None, args: argparse.Namespace,
            notes: list[str]) -> list[Result]:
    phones = _optional("phones")  # benchmarks/phones.py, written alongside this file
    per_row = getattr(phones, "per_row", None)
    expr_fn = getattr(phones, "phone", None)
    if phones is None or per_row is None or expr_fn is None or normalized is None:
        notes.append("phones alone: benchmarks/phones.py (per_row, phone) or audframe's API "
                     "is not available; skipped.")
        return []
    region = normalized["COUNTRY"].fill_null(DEFAULT_COUNTRY.lower())
    frame = pl.DataFrame({"phone": df["phone"], "region": region})
    expr = expr_fn(pl.col("phone"), region=pl.col("region"))
    frame.head(1000).select(expr)  # load metadata
    n = min(args.phones_sample, frame.height)
    sample = frame.head(n)
    (secs, _, ours), (base_secs, _, base) = _turns([
        lambda: frame.select(expr).to_series(),
        lambda: per_row(sample["phone"].to_list(), sample["region"].to_list()),
    ], args.repeat)
    ours_head = ours.head(n).to_list()
    same = sum(a == b for a, b in zip(ours_head, base, strict=True))
    possible = [(a, b) for a, b in zip(ours_head, base, strict=True) if b is not None]
    same_possible = sum(a == b for a, b in possible)
    share = same / n if n else float("nan")
    share_possible = same_possible / len(possible) if possible else float("nan")
    spec_same, rules = _against_spec(phones, sample, ours_head, base)
    share_spec = spec_same / n if n else float("nan")
    why = "; ".join(f"{count:,} {rule}" for rule, count in rules.most_common())
    return [
        Result("phones alone: audframe phone expression", frame.height, secs,
               f"identical to per-row on {share:.3%} of {n:,} rows "
               f"({share_possible:.3%} of those libphonenumber finds possible); "
               f"to the spec's reference (per-row with the spec's rules) on {share_spec:.3%}"
               + (f"; per-row differs from the spec on: {why}" if why else ""),
               role="phones", extra={"identical": share, "spec": share_spec}),
        Result("phones alone: per-row phonenumbers (parse, E.164 if possible)", n,
               base_secs, _sample_note(n, frame.height), role="phones-base"),
    ]


def _against_spec(phones: ModuleType, sample: pl.DataFrame, ours: list[str | None],
                  base: list[str | None]) -> tuple[int, Counter[str]]:
    """Rows where audframe equals the spec's answer, and why per-row differs from it."""
    spec_answer = getattr(phones, "spec_answer", None)
    if spec_answer is None:
        return sum(a == b for a, b in zip(ours, base, strict=True)), Counter()
    same, rules = 0, Counter[str]()
    rows = zip(sample["phone"].to_list(), sample["region"].to_list(), ours, base, strict=True)
    for value, region, got, reference in rows:
        expected, rule = spec_answer(value, region, reference)
        same += got == expected
        if rule is not None:
            rules[rule] += 1
    return same, rules


# --- reporting --------------------------------------------------------------------------


def _ratio(r: Result, results: list[Result]) -> str:
    """audframe's speed over this row's (phones: over per-row phonenumbers)."""
    if r.role in ("phones", "phones-base"):
        base = next((x for x in results if x.role == "phones-base"), None)
        return f"{r.rate / base.rate:,.1f}×" if base else ""
    ref = next((x for x in results if x.role == "audframe"), None)
    if ref is None:
        return ""
    if r is ref:
        return "1.0×"
    return f"{ref.rate / r.rate:,.2f}×"


def markdown(label: dict[str, str], results: list[Result], notes: list[str],
             command: str) -> str:
    lines = [
        "| method | rows timed | seconds | rows/s | audframe is × faster | notes |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for r in results:
        lines.append(
            f"| {r.name} | {r.rows:,} | {r.seconds:,.2f} | {r.rate:,.0f} | "
            f"{_ratio(r, results)} | {r.note} |"
        )
    lines.append("")
    lines.append("Phones: the ratio column is the speed-up over per-row `phonenumbers`.")
    lines += ["", "Targets (issue 6), from this run:", ""]
    lines += [f"- {t}" for t in targets(results)]
    machine = "; ".join(f"{k} {v}" for k, v in label.items())
    head = [f"Command: `{command}`", "", f"Machine: {machine}.", ""]
    tail = ["", *(f"Note: {n}" for n in notes)] if notes else []
    return "\n".join([*head, *lines, *tail]) + "\n"


def targets(results: list[Result]) -> Iterator[str]:
    by_role = {r.role: r for r in results if r.role}
    ref = by_role.get("audframe")
    sdk = next((r for r in results if r.name.startswith("official SDK")), None)
    pdx = next((r for r in results if r.name.startswith("pandas")), None)

    def verdict(ok: bool) -> str:
        return "met" if ok else "**not met**"

    if ref and sdk:
        x = ref.rate / sdk.rate
        yield f"≥ 20× the official SDK: {x:,.1f}× ({verdict(x >= 20)})"
    if ref and pdx:
        x = ref.rate / pdx.rate
        yield f"≥ 5× pandas + hashlib: {x:,.1f}× ({verdict(x >= 5)})"
    floor = by_role.get("floor")
    if ref and floor:
        x = ref.seconds / floor.seconds
        yield f"whole pipeline ≤ 1.5× the hashing floor's time: {x:,.2f}× ({verdict(x <= 1.5)})"
    ph, base = by_role.get("phones"), by_role.get("phones-base")
    if ph and base:
        x = ph.rate / base.rate
        share = float(ph.extra.get("identical", 0.0))
        spec = float(ph.extra.get("spec", 0.0))
        yield (f"phones ≥ 20× per-row phonenumbers: {x:,.1f}× ({verdict(x >= 20)}); "
               f"≥ 99.9% identical output: {share:.3%} identical to plain per-row "
               f"({verdict(share >= 0.999)}), {spec:.3%} to per-row with the spec's rules "
               f"({verdict(spec >= 0.999)}); the rows table says where they differ")
    yield "20M rows from Parquet under 1 GiB peak RSS: see `benchmarks/memory.py`"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sdk-rows", type=int, default=100_000,
                        help="rows the (slow, pure-Python) SDK is timed on")
    parser.add_argument("--pandas-rows", type=int, default=0, help="0: all rows")
    parser.add_argument("--phones-sample", type=int, default=100_000,
                        help="rows the per-row phonenumbers baseline is timed on")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs of every timing (each method alike); the best is kept")
    parser.add_argument("--skip", default="", help="comma list of: sdk, pandas, phones")
    parser.add_argument("--out", type=Path, default=HERE / "results.md")
    args = parser.parse_args(argv)

    command = "python benchmarks/run.py" + ("" if argv is None and len(sys.argv) == 1
                                            else " " + " ".join(argv or sys.argv[1:]))
    label, results, notes = run(args)
    text = markdown(label, results, notes, command)
    print()
    print(text)
    args.out.write_text(text, encoding="utf-8")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
