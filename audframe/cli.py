"""The ``audframe`` command: validate, prepare, upload, emulator.

User mistakes (a missing file, an unknown column, a bad key) end with one line on
stderr and exit status 2; failures while sending exit 1 and say whether a rerun
resumes. Tokens are read from the environment only.
"""

from __future__ import annotations

import argparse
import errno
import html
import io
import os
import re
import secrets
import signal
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

import orjson
import polars as pl

from audframe import __version__
from audframe.charts import coverage, report_html
from audframe.emulator import GraphEmulator, serve
from audframe.errors import AudframeError, GraphAPIError, PhoneRegionWarning, TransportError
from audframe.frames import listed_columns
from audframe.mapping import resolve_mapping
from audframe.normalize import phone_without_region
from audframe.payloads import EMAIL_SHAPED, MAX_BATCH_SIZE, Payloads
from audframe.report import validate
from audframe.sender import (
    MAX_CONCURRENCY,
    Sender,
    audience_id_of,
    check_api_version,
    check_base_url,
    check_credentials,
)
from audframe.stream import payloads_and_report, validate_parquet

__all__ = ["main"]

TOKEN_ENV = "AUDFRAME_ACCESS_TOKEN"
SECRET_ENV = "AUDFRAME_APP_SECRET"


_PARQUET = (".parquet", ".pq")
#: The files ``prepare`` writes in its --out folder.
_PREPARED = ("payloads.ndjson", "report.html", "report.csv")


class UsageError(Exception):
    """A mistake on the command line: exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a mistake is one line (``--help`` still shows the usage)."""

    def error(self, message: str) -> NoReturn:
        _fail(f"{message} (see {self.prog} --help)")


def read_input(path: str) -> pl.LazyFrame:
    """Scan Parquet, CSV or NDJSON lazily. CSV columns stay text (ZIP and phone zeros kept)."""
    file = Path(path)
    if file.is_dir():
        raise UsageError(f"{path!r} is a folder; give the file inside it")
    if not file.is_file():
        raise UsageError(f"input file {path!r} not found")
    suffix = file.suffix.lower()
    if suffix in _PARQUET:
        return pl.scan_parquet(file)
    if suffix in (".csv", ".tsv", ".txt"):
        with file.open("rb") as handle:
            head = handle.read(1 << 16)
        if head[:2] in (b"\xff\xfe", b"\xfe\xff"):  # Excel's "Unicode Text"
            raise UsageError(f"{path!r} is UTF-16 text; save it as CSV UTF-8")
        if b"\r" in head and b"\n" not in head:  # Excel's "CSV (Macintosh)"
            raise UsageError(
                f"{path!r} ends its lines with a carriage return alone (old Mac text), so "
                "it would read as one line: save it as CSV UTF-8, or convert it with "
                "tr '\\r' '\\n' < old.csv > new.csv"
            )
        return pl.scan_csv(file, infer_schema=False, separator="\t" if suffix == ".tsv" else ",")
    if suffix in (".ndjson", ".jsonl"):
        return pl.scan_ndjson(file, infer_schema_length=None)  # a field may start late
    raise UsageError(f"cannot read {path!r}: use a .parquet, .csv or .ndjson file")


def parse_map(items: Sequence[str] | None) -> dict[str, str] | None:
    """``["EMAIL=mail", "FN=first"]`` → ``{"EMAIL": "mail", "FN": "first"}``."""
    if not items:
        return None
    out: dict[str, str] = {}
    for item in items:
        key, sep, column = item.partition("=")
        if not sep or not key.strip() or not column:
            raise UsageError(f"--map takes KEY=column, got {item!r}")
        twice = next((k for k in out if k.upper() == key.strip().upper()), None)
        if twice is not None:
            raise UsageError(f"--map names {key.strip()} twice ({twice}={out[twice]} and "
                             f"{item}); give each key once")
        out[key.strip()] = column
    return out


def _say(*lines: str) -> None:
    try:
        print(*lines, sep="\n", flush=True)
    except BrokenPipeError:  # the reader stopped (… | head): the work goes on, unprinted
        _stdout_to_devnull()


def _stdout_to_devnull() -> None:
    """After a reader closed stdout: what is printed (and flushed) from now goes nowhere."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _print_validation(report: pl.DataFrame, rows: int) -> None:
    _say(f"rows read: {rows:,}", "", "per key (present = non-blank input cells):")
    with pl.Config(tbl_hide_dataframe_shape=True, tbl_rows=100, tbl_hide_column_data_types=True,
                   tbl_width_chars=120, fmt_str_lengths=60):
        per_key = coverage(report).with_columns(
            (pl.col("valid") / pl.lit(max(rows, 1)) * 100).round(1).alias("coverage %")
        )
        _say(str(per_key))
        dropped = report.filter(pl.col("reason").is_not_null()).select(
            "key", "reason", "count", "example_rows"
        )
        if dropped.height:
            _say("", "dropped as invalid, by reason (example rows are 0-based positions):",
                 str(dropped))
        else:
            _say("", "nothing dropped")


def _int_between(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is not between {low:,} and {high:,}")
        return value

    return parse


def _common(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("input", help="Parquet, CSV or NDJSON file")
    sub.add_argument("--map", action="append", metavar="KEY=column",
                     help="map a Meta key to a column (repeat); only the keys given are "
                     "used. Without --map, columns are recognised by name")
    sub.add_argument("--default-country", metavar="CC",
                     help="country for PHONE and ZIP where a row has none (US, GB, …)")
    sub.add_argument("--dob-format", metavar="FMT",
                     help="strftime format of DOB strings (such as %%d.%%m.%%Y), tried first")


def _writable(path: str | None, what: str) -> None:
    """Refuse, before any work, an output path that cannot be written."""
    if path is None:
        return
    target = Path(path)
    if target.is_dir():
        raise UsageError(f"{what} {path!r} is a folder; give a file name")
    if not target.parent.is_dir():
        raise UsageError(f"{what} {path!r}: folder {str(target.parent)!r} does not exist")
    _can_write_in(target.parent, f"{what} {path!r}")


def _can_write_in(folder: Path, what: str) -> None:
    """Refuse, before any work, a folder no file can be written in (read-only, /proc)."""
    try:
        tempfile.TemporaryFile(dir=folder).close()
    except OSError as exc:
        raise UsageError(f"{what}: cannot write in {str(folder)!r} ({exc.strerror})") from None


def _distinct_files(args: argparse.Namespace) -> None:
    """Refuse, before any work, an output that is the input or the journal (it would be
    overwritten), or a journal that is the input."""
    journal, out = getattr(args, "journal", None), getattr(args, "out", None)
    written = [("--html", getattr(args, "html", None)), ("--journal", journal),
               *((f"--out {out}/{n}", Path(out) / n) for n in _PREPARED if out)]
    for name, path in written:
        for other, taken in (("the input", args.input), ("--journal", journal)):
            if (name != other and path is not None and taken is not None
                    and Path(path).resolve() == Path(taken).resolve()):
                raise UsageError(f"{name} is {other}, which it would overwrite; give "
                                 "another path")


def _journal(path: str | None) -> None:
    """Refuse, before any work, a --journal that cannot be one."""
    _writable(path, "--journal")
    if path is not None and Path(path).is_file() and Path(path).stat().st_size:
        with Path(path).open("rb") as file:
            if file.read(16) != b"SQLite format 3\x00":
                raise UsageError(f"--journal {path!r} is another kind of file, not an upload "
                                 "journal; give a new path")


def _input(args: argparse.Namespace) -> tuple[pl.LazyFrame, dict[str, str]]:
    frame = read_input(args.input)
    columns = frame.collect_schema().names()
    csv = Path(args.input).suffix.lower() in (".csv", ".txt")
    if csv and not args.map and len(columns) == 1 and (
        separator := next((c for c in ";|\t" if c in columns[0]), None)
    ):
        raise UsageError(
            f"{args.input!r} looks separated by {separator!r}, not commas: audframe reads "
            "comma-separated CSV (tab-separated as .tsv); save it with commas"
        )
    mapping = resolve_mapping(frame, parse_map(args.map))
    used = set(mapping.values())
    twice = sorted({m[1] for c in columns if (m := re.match(r"(.*)_duplicated_[0-9]+$", c))
                    and m[1] in used})
    if twice:  # polars reads the first and renames the others, which no key reads
        raise UsageError(
            f"{args.input!r} names the column{'s' if len(twice) > 1 else ''} "
            f"{', '.join(map(repr, twice))} more than once in its header, and only the "
            "first would be read: give each column a name of its own"
        )
    _say(f"columns {'used' if args.map else 'recognised by name'}: "
         + ", ".join(f"{k}={c}" for k, c in mapping.items()))
    if unused := [c for c in columns if c not in used]:
        hint = "" if args.map else " (give --map KEY=column for any that holds a key)"
        _say(f"columns not used: {listed_columns(unused)}{hint}")
    if told := phone_without_region(mapping, args.default_country,
                                    option="--default-country"):
        print(f"audframe: {told}", file=sys.stderr, flush=True)
    return frame, mapping


def _is_parquet(args: argparse.Namespace) -> bool:
    return Path(args.input).suffix.lower() in _PARQUET


def cmd_validate(args: argparse.Namespace) -> int:
    """``audframe validate``: the report in the terminal, optionally as HTML.

    Two passes over the input: one counts the rows and the extern ids shaped like email
    addresses (which prepare and upload refuse; the report counts them valid), one makes
    the report (a Parquet file in bounded batches)."""
    _writable(args.html, "--html")
    _distinct_files(args)
    frame, mapping = _input(args)
    extern = mapping.get("EXTERN_ID")
    counts = frame.select(
        pl.len(),
        *([pl.col(extern).cast(pl.String).str.contains(EMAIL_SHAPED).sum()] if extern else []),
    ).collect().row(0)
    if _is_parquet(args):
        report = validate_parquet(args.input, mapping, default_country=args.default_country,
                                  dob_format=args.dob_format)
    else:
        report = validate(frame, mapping, default_country=args.default_country,
                          dob_format=args.dob_format)
    _print_validation(report, counts[0])
    if extern and counts[1]:
        print(f"audframe: EXTERN_ID (column {extern!r}) holds {counts[1]:,} cells shaped like "
              "email addresses, which prepare and upload refuse to send as they are: map "
              "that column as EMAIL, or add --hash-extern-id", file=sys.stderr, flush=True)
    if args.html:
        Path(args.html).write_text(report_html(report, title=f"audframe: {args.input}"),
                                   encoding="utf-8")
        _say("", f"HTML report written to {args.html}")
    return 0


def _prepared(args: argparse.Namespace) -> tuple[Payloads, pl.DataFrame, int]:
    """The payload chunks, the validation report (printed) and the rows read, from one
    pass over the input (:func:`audframe.stream.payloads_and_report`).

    A Parquet file is read with pyarrow batch by batch, so memory follows the batch,
    not the file; other formats are collected by polars in batches.
    """
    frame, mapping = _input(args)
    source: str | pl.LazyFrame = args.input if _is_parquet(args) else frame
    payloads, report = payloads_and_report(
        source, mapping, default_country=args.default_country, dob_format=args.dob_format,
        hash_extern_id=args.hash_extern_id, batch_size=args.batch_size,
    )
    rows = payloads.stats.rows_read
    _print_validation(report, rows)
    return payloads, report, rows


def _csv_safe(report: pl.DataFrame) -> pl.DataFrame:
    """The report with text cells that a spreadsheet would run as a formula (a column
    named ``=HYPERLINK(…)``) prefixed with ``'``, which shows them as text."""
    formula = r"^[=+\-@\t\r]"
    return report.with_columns(
        pl.when(pl.col(c).str.contains(formula)).then("'" + pl.col(c)).otherwise(pl.col(c))
        .alias(c)
        for c, dtype in report.schema.items() if dtype == pl.String
    )


def cmd_prepare(args: argparse.Namespace) -> int:
    """``audframe prepare``: payloads as NDJSON (one Graph request per line) and the report."""
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {args.out!r} is a file; give a folder (made if missing)")
    _distinct_files(args)
    _can_write_in(next(p for p in (out, *out.absolute().parents) if p.exists()),
                  f"--out {args.out!r}")
    payloads, report, _ = _prepared(args)
    out.mkdir(parents=True, exist_ok=True)
    # Written beside, then renamed into place together: an interrupted run leaves the
    # folder as it was, never a cut payloads file beside an earlier run's report.
    parts = {name: out / f".{name}.part" for name in _PREPARED}
    try:
        batches = 0
        with parts["payloads.ndjson"].open("wb") as sink:
            for _, fields in payloads.fields():
                sink.write(orjson.dumps(fields) + b"\n")
                batches += 1
        parts["report.html"].write_text(
            report_html(report, title=f"audframe: {args.input}"), encoding="utf-8")
        _csv_safe(report.drop("example_rows")).write_csv(parts["report.csv"])
        for name, part in parts.items():
            part.replace(out / name)
    finally:
        for part in parts.values():
            part.unlink(missing_ok=True)
    rows = payloads.stats.estimated_num_total
    _say("", f"{rows:,} rows in {batches} payload{'s' * (batches != 1)} written to "
             f"{out / 'payloads.ndjson'}",
         f"rows without any valid match key (not written): {payloads.stats.rows_dropped:,}",
         f"report: {out / 'report.html'}, {out / 'report.csv'}")
    return 0


#: What an environment variable's name looks like; anything else given to --token-env
#: may be the token itself, so it is never echoed.
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
#: A name shown in messages: upper case and short, as variable names are written and
#: Graph tokens (mixed case, long) are not. Other names may be a token pasted by mistake.
_SHOWN_NAME = re.compile(r"[A-Z_][A-Z0-9_]{0,39}")


def _token_variable(name: str) -> str:
    """How messages name the --token-env variable: by its name when it cannot be a token."""
    return name if _SHOWN_NAME.fullmatch(name) else "the variable --token-env names"


def _token(args: argparse.Namespace) -> str | None:
    if not _ENV_NAME.fullmatch(args.token_env):
        raise UsageError(
            "--token-env takes the name of an environment variable (such as "
            f"{TOKEN_ENV}); what was given does not look like one, so it is not shown"
        )
    variable = _token_variable(args.token_env)
    token = os.environ.get(args.token_env)
    if token is not None and not token.strip():
        raise UsageError(f"{variable} is set but empty")
    if token is None and not args.emulator:
        raise UsageError(
            f"no access token: set {variable} (or name another variable with "
            "--token-env), or try it locally with --emulator"
        )
    return token


def _resume_hint(args: argparse.Namespace) -> str:
    if args.journal:
        return f"rerun the same command to resume from {args.journal}"
    return "no --journal was given, so a rerun starts over"


def cmd_upload(args: argparse.Namespace) -> int:
    """``audframe upload``: the whole job, with progress and the upload report."""
    token = _token(args)
    if args.emulator:
        token = token or secrets.token_urlsafe(24)
    if token is None:  # _token() refused this already, unless --emulator made one
        raise UsageError(f"no access token: set {_token_variable(args.token_env)}")
    app_secret = os.environ.get(SECRET_ENV)
    # Options are refused before any row is read.
    audience = audience_id_of(args.audience_id)
    _writable(args.html, "--html")
    _journal(args.journal)
    _distinct_files(args)
    if not args.emulator:
        check_base_url(args.base_url)
    check_credentials(token, app_secret, None if args.emulator else args.base_url)
    check_api_version(args.api_version)
    payloads, validation, rows = _prepared(args)
    if not payloads.stats.estimated_num_total:
        _write_report(args, validation)
        print("audframe: nothing was sent: no row has a valid match key (see the report "
              "above; check --map and --default-country)", file=sys.stderr, flush=True)
        return 1
    operation = "remove" if args.remove else "replace" if args.replace else "add"
    emulator = None
    base_url = args.base_url
    if args.emulator:
        emulator = GraphEmulator(token=token, latency=args.emulator_latency).start()
        base_url = emulator.url
        _say("", f"sending to the built-in Graph API emulator at {base_url}")
    started = time.perf_counter()
    try:
        with Sender(token, app_secret=app_secret, base_url=base_url,
                    api_version=args.api_version, concurrency=args.concurrency,
                    progress=None if args.progress else False) as sender:
            send = getattr(sender, operation)
            upload = send(audience, payloads, journal=args.journal)
    except (GraphAPIError, TransportError) as exc:
        _write_report(args, validation, f"<p>The upload failed: {html.escape(str(exc))}</p>")
        print(f"audframe: upload failed: {exc}", f"audframe: {_resume_hint(args)}", sep="\n",
              file=sys.stderr, flush=True)
        return 1
    finally:
        if emulator is not None:
            state = emulator.audience(audience)
            held = state["size"] if state is not None else 0
            emulator.stop()
    seconds = time.perf_counter() - started
    earlier = upload.batches_table.filter("resumed")
    earlier_rows = int(earlier["rows"].sum())
    sent = upload.rows - earlier_rows
    if earlier.height:
        _say("", f"batches already acknowledged in {args.journal} (not sent again): "
                 f"{earlier.height}, {earlier_rows:,} rows")
    _say("", repr(upload), f"batches: {upload.batches}, rows sent by this run: {sent:,}",
         f"rows without any valid match key (not sent): {max(rows - upload.rows, 0):,}",
         f"Meta num_received: {upload.num_received:,}, "
         f"num_invalid_entries: {upload.num_invalid_entries:,}",
         f"elapsed: {seconds:.2f} s, {sent / max(seconds, 1e-9):,.0f} rows/s")
    if emulator is not None:
        fresh = " (a new emulator each run: it holds only what this run sent)"
        _say(f"the emulated audience {audience} now holds {held:,} people"
             + (fresh if earlier.height else ""))
    _write_report(args, validation, upload._repr_html_())
    return 0


def _write_report(args: argparse.Namespace, validation: pl.DataFrame, extra: str = "") -> None:
    """The --html report of ``upload``, if asked: the validation report, then ``extra``."""
    if args.html:
        Path(args.html).write_text(report_html(validation, title=f"audframe: {args.input}",
                                               extra=extra), encoding="utf-8")
        _say(f"HTML report written to {args.html}")


def cmd_emulator(args: argparse.Namespace) -> int:
    """``audframe emulator``: a local Graph API until Ctrl-C."""
    token = os.environ.get(args.token_env) or None
    if token is not None:  # one the uploader would refuse is refused here too
        try:
            check_credentials(token, None)
        except ValueError as exc:
            raise UsageError(f"{_token_variable(args.token_env)}: {exc}") from None
    try:
        serve(args.port, token)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise UsageError(f"port {args.port} is in use: give another --port, or leave "
                             "--port out for a free one") from None
        raise
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``audframe`` command."""
    parser = _Parser(
        prog="audframe", description="Customer tables into Meta Custom Audiences.",
        epilog="exit status: 0 done; 1 an upload failed or had nothing to send; 2 a mistake "
        "in the command or the input; 130 interrupted (Ctrl-C); 143 terminated (SIGTERM)",
    )
    parser.add_argument("--version", action="version", version=f"audframe {__version__}")
    subs = parser.add_subparsers(dest="command", required=True)

    p = subs.add_parser("validate", help="report what each key keeps and drops")
    _common(p)
    p.add_argument("--html", metavar="FILE", help="also write a self-contained HTML report")
    p.set_defaults(run=cmd_validate)

    p = subs.add_parser("prepare", help="write hashed payloads as NDJSON, plus the report")
    _common(p)
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.add_argument("--batch-size", type=_int_between(1, MAX_BATCH_SIZE), default=MAX_BATCH_SIZE,
                   help="rows per payload, 1 … 10,000 (default 10,000)")
    p.add_argument("--hash-extern-id", action="store_true", help="hash EXTERN_ID too")
    p.set_defaults(run=cmd_prepare)

    p = subs.add_parser("upload", help="normalize, hash and send to a custom audience")
    _common(p)
    p.add_argument("--audience-id", required=True, metavar="ID",
                   help="the custom audience's numeric id")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--remove", action="store_true", help="remove these people")
    mode.add_argument("--replace", action="store_true", help="replace the audience's people")
    p.add_argument("--journal", metavar="FILE", help="SQLite journal: a rerun resumes")
    p.add_argument("--emulator", action="store_true", help="send to a built-in local emulator")
    p.add_argument("--emulator-latency", type=float, default=0.0, help=argparse.SUPPRESS)
    p.add_argument("--token-env", default=TOKEN_ENV, metavar="VAR",
                   help=f"environment variable holding the token (default {TOKEN_ENV}); "
                   f"an app secret, if any, is read from {SECRET_ENV}")
    p.add_argument("--api-version", default="v21.0", help="Graph API version (default v21.0)")
    p.add_argument("--base-url", default="https://graph.facebook.com",
                   help="Graph API address (default https://graph.facebook.com)")
    p.add_argument("--concurrency", type=_int_between(1, MAX_CONCURRENCY), default=4,
                   help=f"requests in flight at once, 1 … {MAX_CONCURRENCY} (default 4)")
    p.add_argument("--batch-size", type=_int_between(1, MAX_BATCH_SIZE), default=MAX_BATCH_SIZE,
                   help="rows per request, 1 … 10,000 (default 10,000)")
    p.add_argument("--hash-extern-id", action="store_true", help="hash EXTERN_ID too")
    p.add_argument("--no-progress", dest="progress", action="store_false",
                   help="no progress bar")
    p.add_argument("--html", metavar="FILE", help="also write a self-contained HTML report")
    p.set_defaults(run=cmd_upload)

    p = subs.add_parser("emulator", help="run the local Graph API emulator")
    p.add_argument("--port", type=_int_between(0, 65_535), default=0,
                   help="port to listen on (default: a free one, printed)")
    p.add_argument("--token-env", default=TOKEN_ENV, metavar="VAR",
                   help=f"accept the token in this variable, never printed (default "
                   f"{TOKEN_ENV}); when it is unset, a random token is made and printed")
    p.set_defaults(run=cmd_emulator)
    return parser


def _fail(message: str) -> NoReturn:
    print(f"audframe: error: {message}", file=sys.stderr, flush=True)
    raise SystemExit(2)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``audframe`` command; returns the exit status."""
    if argv is None:
        # Arguments are UTF-8 (column names such as "prénom"), also where the locale is
        # ASCII and Python decoded their bytes with surrogate escapes.
        argv = [os.fsencode(a).decode("utf-8", "surrogateescape") for a in sys.argv[1:]]
        for stream in (sys.stdout, sys.stderr):  # and what it prints never fails there
            if isinstance(stream, io.TextIOWrapper):
                stream.reconfigure(errors="backslashreplace")
    args = build_parser().parse_args(argv)
    previous = _on_sigterm()
    try:
        with warnings.catch_warnings():  # _input says it, naming the option
            warnings.simplefilter("ignore", PhoneRegionWarning)
            status: int = args.run(args)
    except BrokenPipeError:  # the reader stopped (audframe validate … | head): not an error
        _stdout_to_devnull()
        return 0
    except KeyboardInterrupt as exc:
        hint = f"; {_resume_hint(args)}" if args.command == "upload" else ""
        print(f"audframe: {'terminated' if isinstance(exc, _Terminated) else 'interrupted'}"
              f"{hint}", file=sys.stderr, flush=True)
        return 143 if isinstance(exc, _Terminated) else 130
    except (UsageError, AudframeError, ValueError, OSError) as exc:
        _fail(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    except pl.exceptions.PolarsError as exc:
        _fail(_read_error(args.input, str(exc).splitlines()[0]))
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return status


class _Terminated(KeyboardInterrupt):
    """SIGTERM (``timeout``, ``docker stop``, systemd): stopped as Ctrl-C stops an upload,
    so the batches in flight are journaled and the temporary spool is removed."""


def _terminate(signum: int, frame: object) -> NoReturn:
    raise _Terminated


def _on_sigterm() -> Any:
    """Stop on SIGTERM as on Ctrl-C (see :class:`_Terminated`); the handler it replaces,
    or None outside the main thread (where no handler can be set)."""
    try:
        return signal.signal(signal.SIGTERM, _terminate)
    except ValueError:
        return None


def _read_error(path: str, first: str) -> str:
    """The message for an input polars cannot read, with advice for its format; never the
    text of the file (polars quotes the line it failed on, which holds customer data)."""
    suffix = Path(path).suffix.lower()
    hint = ("save the file as UTF-8" if "utf-8" in first.lower() else
            "give each column a name of its own" if "more than one occurrence" in first else
            "a line has more fields than the header: a separator at its end, or one inside a "
            "value that is not in double quotes (put such values in double quotes)"
            if "more fields than defined" in first else
            "check that it is a Parquet file (not another file renamed)" if suffix in _PARQUET
            else "check that each line is one JSON object" if suffix in (".ndjson", ".jsonl")
            else "check that it has a header row, one separator and closed quotes")
    quoted = re.sub(r"`[^`]*(`|$)|'[^']*('|$)|\"[^\"]*(\"|$)", "…", first)
    return f"could not read {path!r}: {quoted}; {hint}"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
