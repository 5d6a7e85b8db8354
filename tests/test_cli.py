"""The `audframe` command, run in-process on the sample data."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import batches_in
from polars.testing import assert_frame_equal

from audframe import cli
from audframe.cli import main
from audframe.emulator import GraphEmulator
from audframe.stream import payloads_and_report

DATA = Path(__file__).parent.parent / "data"
CSV = str(DATA / "customers.csv")
PARQUET = str(DATA / "customers.parquet")


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        status = main(argv)
    except SystemExit as exc:
        status = int(exc.code or 0)
    out, err = capsys.readouterr()
    return status, out, err


def test_validate_prints_mapping_coverage_and_reasons(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    page = tmp_path / "report.html"
    status, out, _ = run(["validate", CSV, "--default-country", "US", "--html", str(page)], capsys)
    assert status == 0
    assert "columns recognised by name: " in out and "EMAIL=email" in out
    assert "rows read: 10,000" in out
    assert "email has no @" in out
    text = page.read_text()
    assert "<svg" in text and "email has no @" in text
    assert not re.search(r"<script[^>]+src=", text)  # nothing fetched from the network


def test_explicit_map_is_used(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(["validate", PARQUET, "--map", "email=email"], capsys)
    assert status == 0
    assert "EMAIL" in out and "PHONE" not in out
    assert "recognised by name" not in out


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["validate", "no/such/file.parquet"], "not found"),
        (["validate", PARQUET, "--map", "EMAIL=mail"], "columns are: "),
        (["validate", PARQUET, "--map", "EMIAL=email"], "valid keys are: "),
        (["validate", PARQUET, "--map", "EMAIL"], "KEY=column"),
        (["validate", PARQUET, "--default-country", "Atlantis"], "is not a country"),
        (["upload", PARQUET, "--audience-id", "1"], "AUDFRAME_ACCESS_TOKEN"),
        (["upload", PARQUET, "--audience-id", "abc", "--emulator"], "audience"),
        (["upload", PARQUET, "--audience-id", "1", "--concurrency", "0"], "between 1"),
        (["prepare", PARQUET, "--out", "x", "--batch-size", "0"], "between 1"),
        (["prepare", PARQUET, "--out", "x", "--batch-size", "10001"], "between 1"),
        (["validate", PARQUET, "--html", str(DATA)], "is a folder"),
        (["validate", PARQUET, "--html", "no/such/folder/r.html"], "does not exist"),
        (["upload", PARQUET, "--audience-id", "1", "--emulator", "--html", "no/x.html"],
         "does not exist"),
        (["prepare", PARQUET, "--out", PARQUET], "is a file"),
        (["validate", str(DATA)], "is a folder"),
        (["validate", PARQUET, "--dob-format", "%Q"], "cannot read back"),
        (["upload", PARQUET, "--audience-id", "1", "--token-env", "EAABsecret" + "x1Y" * 50],
         "does not look like one"),  # a token's length (Meta's are ~200 characters)
        (["upload", PARQUET, "--audience-id", "1", "--token-env", "EAABsecret-FAKE-123"],
         "does not look like one"),
        # a short token of name characters passes for a name, but is never shown
        (["upload", PARQUET, "--audience-id", "1", "--token-env", "EAABsecret1234abcdXYZ"],
         "no access token: set the variable --token-env names"),
        (["upload", PARQUET, "--audience-id", "1", "--token-env", "MY_TOKEN"],
         "no access token: set MY_TOKEN"),
        (["upload", PARQUET, "--audience-id", "1", "--emulator", "--journal", "no/dir/j.sqlite"],
         "--journal 'no/dir/j.sqlite': folder 'no/dir' does not exist"),
        (["upload", PARQUET, "--audience-id", "1", "--emulator", "--journal", PARQUET],
         "another kind of file, not an upload journal"),
        (["upload", PARQUET, "--audience-id", "1", "--emulator", "--api-version", "21"],
         "'21' is not a Graph API version"),
        (["validate", PARQUET, "--map", "EMAIL=email", "--map", "email=phone"],
         "--map names email twice (EMAIL=email and email=phone)"),
        (["emulator", "--port", "-1"], "not between"),
    ],
)
def test_user_mistakes_exit_2_with_one_line(
    argv: list[str], needle: str, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    monkeypatch.delenv("AUDFRAME_ACCESS_TOKEN", raising=False)
    monkeypatch.chdir(tmp_path)
    status, out, err = run(argv, capsys)
    assert status == 2
    assert needle in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert "rows read" not in out  # refused before any row was read
    assert "EAABsecret" not in err


def test_prepare_writes_one_request_per_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    status, out, _ = run(
        ["prepare", PARQUET, "--out", str(tmp_path), "--default-country", "US",
         "--batch-size", "3000"],
        capsys,
    )
    assert status == 0
    lines = (tmp_path / "payloads.ndjson").read_text().splitlines()
    assert len(lines) >= 3
    seqs = []
    for line in lines:
        fields = json.loads(line)
        payload, session = json.loads(fields["payload"]), json.loads(fields["session"])
        hashed = [i for i, k in enumerate(payload["schema"]) if k in ("EMAIL", "PHONE", "FN")]
        for row in payload["data"]:
            assert all(re.fullmatch(r"[0-9a-f]{64}|", row[i]) for i in hashed)
        seqs.append(session["batch_seq"])
    assert seqs == list(range(1, len(lines) + 1))
    assert (tmp_path / "report.html").exists() and (tmp_path / "report.csv").exists()
    assert f"payloads written to {tmp_path}" in out


def test_prepare_counts_the_rows_it_does_not_write(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    source = tmp_path / "f.csv"
    # blank lines read as rows without any value (as polars reads them)
    source.write_text("email,zip\n\na@b.co,94035\nnot an email,\nc@d.co,\n\n")
    status, out, err = run(["prepare", str(source), "--out", str(tmp_path / "out"),
                            "--default-country", "US"], capsys)
    assert status == 0, err
    assert "rows read: 5" in out and "2 rows in 1 payload" in out
    assert "rows without any valid match key (not written): 3" in out


def test_an_interrupted_prepare_leaves_the_earlier_output_whole(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    argv = ["prepare", PARQUET, "--out", str(tmp_path), "--default-country", "US",
            "--batch-size", "3000"]
    assert run(argv, capsys)[0] == 0
    before = {f.name: f.read_bytes() for f in tmp_path.iterdir()}
    assert set(before) == {"payloads.ndjson", "report.html", "report.csv"}

    def interrupted(*args: object, **kwargs: object) -> str:  # after the payloads
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "report_html", interrupted)
    status, _, err = run([*argv[:-1], "1000"], capsys)
    assert status == 130 and "interrupted" in err
    assert {f.name: f.read_bytes() for f in tmp_path.iterdir()} == before  # no part files


def test_validate_warns_of_extern_ids_that_prepare_would_refuse(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    source = tmp_path / "crm.csv"
    source.write_text("email,customer_id\na@b.co,jane@example.com\nc@d.co,c-2\n")
    status, _, err = run(["validate", str(source)], capsys)
    assert status == 0
    assert "EXTERN_ID (column 'customer_id') holds 1 cells shaped like email" in err
    assert "jane" not in err
    status, _, err = run(["prepare", str(source), "--out", str(tmp_path / "out")], capsys)
    assert status == 2 and "EXTERN_ID holds 1 cells shaped like email" in err
    assert run(["prepare", str(source), "--out", str(tmp_path / "out"), "--hash-extern-id"],
               capsys)[0] == 0


def test_the_mapping_used_and_the_columns_not_used_are_printed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # one --map turns recognition off: what is left out is said, not silently dropped
    source = tmp_path / "crm.csv"
    source.write_text("E-mail Address,phone,cust_no\na@b.co,+16505551212,c-1\n")
    status, out, _ = run(["validate", str(source)], capsys)
    assert status == 0
    assert "columns recognised by name: EMAIL=E-mail Address, PHONE=phone" in out
    assert "columns not used: 'cust_no' (give --map KEY=column" in out
    status, out, _ = run(["validate", str(source), "--map", "EXTERN_ID=cust_no"], capsys)
    assert status == 0
    assert "columns used: EXTERN_ID=cust_no\ncolumns not used: 'E-mail Address', 'phone'" in out


def test_the_emulator_command_refuses_a_token_the_uploader_would(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUDFRAME_ACCESS_TOKEN", "tok abc")
    status, _, err = run(["emulator"], capsys)
    assert status == 2 and "AUDFRAME_ACCESS_TOKEN" in err and "tok abc" not in err


@pytest.mark.parametrize("command", ["validate", "prepare"])
def test_a_header_that_names_a_column_twice_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, command: str
) -> None:
    # polars would read the first and rename the second (phone_duplicated_0), which no key
    # reads: the second row's phone and email were lost without a word
    source = tmp_path / "twice.csv"
    source.write_text("email,phone,phone,email\na@b.co,6505551212,4155550000,c@d.co\n"
                      ",,4155550001,e@f.co\n")
    extra = ["--out", str(tmp_path / "out")] if command == "prepare" else []
    status, _, err = run([command, str(source), "--default-country", "US", *extra], capsys)
    assert status == 2
    assert "names the columns 'email', 'phone' more than once in its header" in err
    assert not (tmp_path / "out").exists()
    # a repeated name no key reads (notes, the blank names of Excel's empty columns) is fine
    source.write_text("email,notes,notes,,\na@b.co,x,y,,\n")
    assert run([command, str(source), *extra], capsys)[0] == 0


def test_a_reader_that_stops_early_is_no_error(tmp_path: Path) -> None:
    # audframe validate … | head -1: the pipe closes while the report is printed
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.Popen(
        [sys.executable, "-m", "audframe.cli", "validate", PARQUET, "--default-country", "US"],
        cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.readline()
    proc.stdout.close()  # as head does after its line
    with proc.stderr:
        err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 0, err
    assert "Broken pipe" not in err and "Traceback" not in err


def test_a_ndjson_field_that_starts_late_is_read(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    source = tmp_path / "late.ndjson"
    lines = [json.dumps({"email": f"u{i}@example.com", "zip": i}) for i in range(150)]
    lines.append(json.dumps({"email": "z@example.com", "zip": "SW1A 1AA",
                             "phone": "+44 20 7183 8750"}))
    source.write_text("\n".join(lines) + "\n")
    status, out, _ = run(["validate", str(source)], capsys)
    assert status == 0 and "PHONE=phone" in out


def test_html_reports_are_utf_8_whatever_the_locale(tmp_path: Path) -> None:
    source, page = tmp_path / "clients.csv", tmp_path / "report.html"
    source.write_text("courriel,prénom\nléa@example.com,Léa\n", encoding="utf-8")
    ascii_locale = {"LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0"}
    proc = _cli("validate", str(source), "--map", "EMAIL=courriel", "--map", "FN=prénom",
                "--html", str(page), env=ascii_locale)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert "prénom" in page.read_text(encoding="utf-8")


def test_prepare_reads_parquet_once_in_bounded_batches(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import polars as pl
    import pyarrow.parquet as pq

    import audframe
    from audframe import cli

    calls: list[Any] = []
    one_pass = cli.payloads_and_report

    def spy(source: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(source)
        return one_pass(source, *args, **kwargs)

    read: list[int] = []  # rows pyarrow reads from the input (not from the spool)
    iter_batches = pq.ParquetFile.iter_batches

    def reads(self: Any, *args: Any, **kwargs: Any) -> Any:
        for batch in iter_batches(self, *args, **kwargs):
            if "email" in batch.schema.names:
                read.append(batch.num_rows)
            yield batch

    monkeypatch.setattr(cli, "payloads_and_report", spy)
    monkeypatch.setattr(pq.ParquetFile, "iter_batches", reads)
    status, _, _ = run(["prepare", PARQUET, "--out", str(tmp_path), "--default-country", "US"],
                       capsys)
    assert status == 0 and calls == [PARQUET]
    rows = pl.scan_parquet(PARQUET).select(pl.len()).collect().item()
    assert sum(read) == rows  # read once, for both the report and the payloads
    report = audframe.validate(pl.scan_parquet(PARQUET), default_country="US")
    written = pl.read_csv(tmp_path / "report.csv", schema=report.drop("example_rows").schema)
    assert_frame_equal(written, report.drop("example_rows"))
    lines = (tmp_path / "payloads.ndjson").read_text().splitlines()
    lazy = audframe.to_payloads(
        audframe.hash(audframe.normalize(pl.scan_parquet(PARQUET), default_country="US"))
    )
    assert [json.loads(line)["payload"] for line in lines] == [
        fields["payload"] for _, fields in lazy.fields()
    ]


def test_upload_to_the_emulator_reports_meta_counts(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUDFRAME_ACCESS_TOKEN", "tok-cli-secret-value")
    status, out, err = run(
        ["upload", PARQUET, "--audience-id", "4242", "--emulator", "--default-country", "US",
         "--no-progress"],
        capsys,
    )
    assert status == 0, err
    received = int(re.search(r"Meta num_received: ([\d,]+)", out).group(1).replace(",", ""))  # type: ignore[union-attr]
    sent = int(re.search(r"rows sent by this run: ([\d,]+)", out).group(1).replace(",", ""))  # type: ignore[union-attr]
    assert received == sent > 9_000
    assert "now holds" in out and "rows/s" in out
    assert "tok-cli-secret-value" not in out + err


def test_upload_reads_parquet_in_bounded_batches_and_takes_a_batch_size(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import audframe.cli

    calls: list[dict[str, Any]] = []

    def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append({"source": args[0], **kwargs})
        return payloads_and_report(*args, **kwargs)

    monkeypatch.setattr(audframe.cli, "payloads_and_report", spy)
    monkeypatch.setenv("AUDFRAME_ACCESS_TOKEN", "tok-cli-bounded")
    status, out, err = run(
        ["upload", PARQUET, "--audience-id", "4243", "--emulator", "--default-country", "US",
         "--no-progress", "--batch-size", "2500"],
        capsys,
    )
    assert status == 0, err
    assert [(c["source"], c["batch_size"]) for c in calls] == [(PARQUET, 2500)]
    sent = int(re.search(r"rows sent by this run: ([\d,]+)", out).group(1).replace(",", ""))  # type: ignore[union-attr]
    assert f"batches: {-(-sent // 2500)}," in out and sent > 9_000


def test_send_failure_exits_1_and_says_whether_a_rerun_resumes(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("AUDFRAME_ACCESS_TOKEN", "wrong-token")
    with GraphEmulator(token="right-token") as emu:
        status, out, err = run(
            ["upload", PARQUET, "--audience-id", "77", "--base-url", emu.url, "--no-progress",
             "--journal", str(tmp_path / "j.sqlite")],
            capsys,
        )
    assert status == 1
    assert "190" in err
    assert "resume" in err and "j.sqlite" in err
    assert "Traceback" not in err
    assert "wrong-token" not in out + err


def test_an_empty_token_is_a_user_mistake(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUDFRAME_ACCESS_TOKEN", "  ")
    status, _, err = run(["upload", PARQUET, "--audience-id", "1"], capsys)
    assert status == 2 and "empty" in err and "Traceback" not in err


def test_ndjson_input_remove_replace_html_and_journal_resume(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import polars as pl

    source = tmp_path / "people.ndjson"
    pl.read_csv(CSV, infer_schema=False).head(300).write_ndjson(source)
    monkeypatch.setenv("AUDFRAME_ACCESS_TOKEN", "tok-ndjson")
    base = ["upload", str(source), "--audience-id", "99", "--emulator", "--no-progress",
            "--default-country", "US"]
    page = tmp_path / "upload.html"
    status, out, err = run([*base, "--replace", "--html", str(page)], capsys)
    assert status == 0, err
    assert "rows read: 300" in out and "replace audience 99" in out
    assert "<svg" in page.read_text() and "num_received" in page.read_text()
    status, out, err = run([*base, "--remove"], capsys)
    assert status == 0, err
    assert "remove audience 99" in out
    journal = tmp_path / "run.sqlite"
    first = run([*base, "--journal", str(journal)], capsys)
    again = run([*base, "--journal", str(journal)], capsys)
    assert first[0] == again[0] == 0
    sent_first = re.search(r"rows sent by this run: ([\d,]+)", first[1])
    sent_again = re.search(r"rows sent by this run: ([\d,]+)", again[1])
    assert sent_first is not None and sent_again is not None
    assert sent_again.group(1) == "0"  # the journal's batches, not resent
    assert "(not sent again)" not in first[1]
    assert f"(not sent again): 1, {sent_first.group(1)} rows" in again[1]
    assert "it holds only what this run sent" in again[1]


@pytest.mark.parametrize("mode", [[], ["--replace"]])  # (an empty replace cannot be sent)
def test_an_upload_with_nothing_to_send_exits_1(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
    mode: list[str],
) -> None:
    source = tmp_path / "bad.csv"
    source.write_text("email\nnot-an-email\n@\n")
    monkeypatch.delenv("AUDFRAME_ACCESS_TOKEN", raising=False)
    status, out, err = run(["upload", str(source), "--audience-id", "5", "--emulator",
                            "--no-progress", *mode], capsys)
    assert status == 1
    assert "email has no @" in out
    assert "nothing was sent: no row has a valid match key" in err


def test_no_recognised_column_tells_a_cli_user_about_map(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    source = tmp_path / "odd.csv"
    source.write_text("a,b\n1,2\n")
    status, _, err = run(["validate", str(source)], capsys)
    assert status == 2 and "--map EMAIL=your_email_column" in err


def _cli(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    root = Path(__file__).resolve().parent.parent
    return subprocess.Popen(
        [sys.executable, "-m", "audframe.cli", *args], cwd=root, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(root), **env},
    )


def _line_with(proc: subprocess.Popen[str], text: str) -> str:
    """Read the process's stdout until a line holds ``text`` (it must come)."""
    assert proc.stdout is not None
    seen = []
    for line in proc.stdout:
        seen.append(line)
        if text in line:
            return line
    raise AssertionError(f"{text!r} never came; stdout was: {''.join(seen)[-2000:]}")


@pytest.mark.parametrize(("stop", "status", "word"), [(signal.SIGINT, 130, "interrupted"),
                                                      (signal.SIGTERM, 143, "terminated")])
def test_ctrl_c_mid_upload_says_how_to_resume_and_the_rerun_does(
    tmp_path: Path, stop: signal.Signals, status: int, word: str
) -> None:
    # SIGTERM (timeout, docker stop) as Ctrl-C: in-flight batches journaled, spool removed
    journal = tmp_path / "j.sqlite"
    spool = tmp_path / "tmp"
    spool.mkdir()
    args = ["upload", PARQUET, "--audience-id", "5", "--emulator", "--emulator-latency",
            "0.2", "--batch-size", "250", "--concurrency", "1", "--no-progress",
            "--default-country", "US", "--journal", str(journal)]
    proc = _cli(*args, env={"AUDFRAME_ACCESS_TOKEN": "tok-ctrl-c", "TMPDIR": str(spool)})
    try:
        _line_with(proc, "sending to the built-in Graph API emulator")
        deadline = time.monotonic() + 120
        while batches_in(journal) < 2:  # mid-upload: 40 batches at 0.2 s each
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        proc.send_signal(stop)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == status, err
    assert err.strip().splitlines()[-1] == (
        f"audframe: {word}; rerun the same command to resume from {journal}"
    )
    assert "Traceback" not in err
    assert list(spool.iterdir()) == []  # the spool of digests is gone
    again = _cli(*args, env={"AUDFRAME_ACCESS_TOKEN": "tok-ctrl-c"})
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    done = re.search(r"\(not sent again\): (\d+), ([\d,]+) rows", out)
    sent = re.search(r"rows sent by this run: ([\d,]+)", out)
    carried = re.search(r"batches: (\d+)", out)
    assert done is not None and sent is not None and carried is not None
    assert int(done.group(1)) >= 1
    total = int(done.group(2).replace(",", "")) + int(sent.group(1).replace(",", ""))
    assert total > 9_000 and int(carried.group(1)) == -(-total // 250)



def test_the_emulator_command_never_prints_a_token_it_was_given() -> None:
    given = _cli("emulator", env={"AUDFRAME_ACCESS_TOKEN": "EAAB-REAL-LOOKING-SECRET"})
    made = _cli("emulator", env={"AUDFRAME_ACCESS_TOKEN": ""})
    try:
        line = _line_with(given, "access token:")
        assert "EAAB-REAL-LOOKING-SECRET" not in line and "not shown" in line
        line = _line_with(made, "access token:")
        assert len(line.split(": ", 1)[1].strip()) >= 24  # a random token, printed to use
        for proc in (given, made):
            _line_with(proc, "press Ctrl-C to stop")  # serving: a signal now stops it
    finally:
        given.send_signal(signal.SIGINT)  # Ctrl-C is how it is meant to stop: exit 0
        made.terminate()  # SIGTERM, as --help says: exit 143
        for proc in (given, made):
            proc.communicate(timeout=30)
    assert (given.returncode, made.returncode) == (0, 143)


def test_report_csv_shows_formula_like_column_names_as_text(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import polars as pl

    source = tmp_path / "people.csv"
    source.write_text("=SUM(1+1),phone\na@b.co,6505551212\nnope,\n")
    status, _, err = run(["prepare", str(source), "--out", str(tmp_path / "out"),
                          "--map", "EMAIL==SUM(1+1)", "--map", "PHONE=phone",
                          "--default-country", "US"], capsys)
    assert status == 0, err
    columns = pl.read_csv(tmp_path / "out" / "report.csv")["column"].to_list()
    assert "'=SUM(1+1)" in columns and "phone" in columns


def test_a_base_url_that_is_no_url_is_refused_before_any_row_is_read(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUDFRAME_ACCESS_TOKEN", "EAAtoken-for-this-test")
    status, out, err = run(["upload", PARQUET, "--audience-id", "1", "--base-url", "notaurl"],
                           capsys)
    assert status == 2 and "plain https URL" in err and "rows read" not in out
    assert "EAAtoken" not in err


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b"email;phone;zip\na@b.com;650;94035\n", "looks separated by ';'"),
        ("email,first_name\nj@x.com,J\u00fcrgen\n".encode("latin-1"), "save the file as UTF-8"),
        # Excel's "CSV (Macintosh)": one line to polars, every row lost
        (b"Email,Phone\rjohn@x.com,650 555 1212\rmary@y.com,650 555 1213\r",
         "ends its lines with a carriage return alone"),
        (b"email,phone,country\na@b.com,6505551212,US,\n", "more fields than the header"),
    ],
)
def test_a_csv_audframe_cannot_read_says_what_to_do(
    content: bytes, needle: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(content)
    status, _, err = run(["validate", str(path)], capsys)
    assert status == 2 and needle in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("options", [[], ["--map", "EMAIL=john@x.com"], ["--map", "FN=Jane"]])
def test_a_csv_without_its_header_row_is_refused_without_showing_its_first_row(
    options: list[str], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "export.csv"
    path.write_text("Jane,Doe,john@x.com,(650) 555-1212,Boston\nMary,Roe,mary@y.com,"
                    "650-555-1213,Salem\n")
    status, out, err = run(["validate", str(path), *options], capsys)
    assert status == 2 and "no header row" in err and "give the table a header row" in err
    for data in ("Jane", "Doe", "john", "555", "Boston"):  # never the customer's data
        assert data not in err + out
    # a header naming a fiscal year, a date and an id is one
    path.write_text("email,2022-2023,2024-01-15,1234567\na@b.co,1,2,3\n")
    mapped = ["--map", "EMAIL=email"] if options else []
    status, out, err = run(["validate", str(path), *mapped], capsys)
    assert status == 0 and "rows read: 1" in out, err


def test_the_emulator_on_a_port_in_use_says_what_to_do(
    capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        status, _, err = run(["emulator", "--port", str(port)], capsys)
    assert status == 2 and f"port {port} is in use: give another --port" in err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0 and capsys.readouterr().out.strip() == "audframe 0.1.0"


def test_a_closed_output_pipe_does_not_stop_the_work(tmp_path: Path) -> None:
    # audframe upload … | head -1: the upload and its files still happen
    out = tmp_path / "out"
    journal = tmp_path / "j.sqlite"
    for args in (["prepare", PARQUET, "--out", str(out)],
                 ["upload", PARQUET, "--audience-id", "5", "--emulator", "--no-progress",
                  "--journal", str(journal)]):
        proc = _cli(*args, "--default-country", "US", env={})
        assert proc.stdout is not None
        proc.stdout.readline()
        proc.stdout.close()
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    assert sorted(p.name for p in out.iterdir()) == ["payloads.ndjson", "report.csv",
                                                      "report.html"]
    assert journal.stat().st_size > 0


def test_an_output_that_is_the_input_or_the_journal_is_refused_before_any_work(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    source = tmp_path / "in.csv"
    source.write_text("email\na@b.co\n")
    journal = tmp_path / "j.sqlite"
    for argv, needle in [
        (["validate", str(source), "--html", str(source)], "--html is the input"),
        (["upload", str(source), "--audience-id", "5", "--emulator", "--html", str(journal),
          "--journal", str(journal)], "--html is --journal"),
        (["upload", str(source), "--audience-id", "5", "--emulator", "--journal", str(source)],
         "not an upload journal"),
        (["prepare", str(tmp_path / "report.csv"), "--out", str(tmp_path)],
         "is the input, which it would overwrite"),
    ]:
        if argv[0] == "prepare":
            (tmp_path / "report.csv").write_text("email\na@b.co\n")
        status, out, err = run(argv, capsys)
        assert status == 2 and needle in err and "rows read" not in out, (argv, err)
    assert source.read_text() == "email\na@b.co\n" and not journal.exists()


@pytest.mark.parametrize(("argv", "env", "needle"), [
    (["--audience-id", "5"], {"AUDFRAME_ACCESS_TOKEN": "short"}, "shorter than 8"),
    (["--audience-id", "5"], {"AUDFRAME_ACCESS_TOKEN": "EAAtok en-1234"}, "copy the token"),
    (["--audience-id", "5", "--emulator"], {"AUDFRAME_APP_SECRET": "sec ret-12"},
     "app_secret holds"),
    (["--audience-id", "١٢", "--emulator"], {}, "numeric id"),
    (["--audience-id", "5", "--emulator", "--html", "/proc/report.html"], {}, "cannot write"),
    (["--audience-id", "5", "--base-url", "https://graph.facebook.com/EAAtoken-xyz-123"],
     {"AUDFRAME_ACCESS_TOKEN": "EAAtoken-xyz-123"}, "base_url holds the access_token"),
])
def test_options_are_refused_before_any_row_is_read(
    argv: list[str], env: dict[str, str], needle: str, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("AUDFRAME_ACCESS_TOKEN", "AUDFRAME_APP_SECRET"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    status, out, err = run(["upload", PARQUET, *argv], capsys)
    assert status == 2 and needle in err and "rows read" not in out, err
    assert "EAAtok" not in err and "sec ret" not in err


def test_a_row_polars_cannot_parse_is_not_quoted_in_the_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    source = tmp_path / "u.csv"
    source.write_text('email,phone\njohn@pii.com,650\n"mary.secret@pii.com,650\n')
    status, _, err = run(["validate", str(source)], capsys)
    assert status == 2 and "could not read" in err and "closed quotes" in err
    assert "secret" not in err and "pii" not in err


def test_a_parquet_file_naming_a_column_twice_is_told_so(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    source = tmp_path / "twice.parquet"
    pq.write_table(pa.table([pa.array(["a@b.co"]), pa.array(["c@d.co"])],
                            names=["email", "email"]), source)
    status, _, err = run(["validate", str(source)], capsys)
    assert status == 2 and "give each column a name of its own" in err
    assert "not another file renamed" not in err


@pytest.mark.parametrize(("name", "content", "needle"), [
    ("x.parquet", b"email\na@b.co\n", "check that it is a Parquet file"),
    ("x.csv", "email\na@b.co\n".encode("utf-16"), "is UTF-16 text; save it as CSV UTF-8"),
    ("x.txt", "email\tphone\na@b.co\t1\n".encode("utf-16"), "is UTF-16 text"),
])
def test_an_input_of_another_format_says_what_it_is(
    name: str, content: bytes, needle: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / name).write_bytes(content)
    status, _, err = run(["validate", str(tmp_path / name)], capsys)
    assert status == 2 and needle in err, err
    assert "header row" not in err


def test_a_single_column_named_with_a_semicolon_is_read_when_mapped(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import polars as pl

    path = tmp_path / "x.parquet"
    pl.DataFrame({"Email; primary": ["a@b.co"]}).write_parquet(path)
    status, out, err = run(["validate", str(path), "--map", "EMAIL=Email; primary"], capsys)
    assert status == 0 and "rows read: 1" in out, err


def test_a_cli_user_is_told_when_phones_have_no_region(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    source = tmp_path / "f.csv"
    source.write_text("email,phone\na@b.com,6505551212\n")
    status, _, err = run(["validate", str(source)], capsys)
    assert status == 0 and "pass --default-country" in err
    # once, naming the option, not as the Python API's warning too (a real process: pytest
    # would catch the warning)
    told = subprocess.run([sys.executable, "-m", "audframe.cli", "validate", str(source)],
                          capture_output=True, text=True, timeout=120)
    assert told.returncode == 0 and told.stderr.count("as if it began") == 1
    assert "PhoneRegionWarning" not in told.stderr and "pass --default-country" in told.stderr
    status, _, err = run(["validate", str(source), "--default-country", "US"], capsys)
    assert status == 0 and "default-country" not in err


def test_a_wide_file_lists_some_columns_and_a_decomposed_name_is_explained(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    wide = tmp_path / "wide.csv"
    wide.write_text(",".join(f"c{i}" for i in range(500)) + "\n" + ",".join("x" * 500) + "\n")
    status, _, err = run(["validate", str(wide)], capsys)
    assert status == 2 and "'c39' and 460 more" in err and "'c40'" not in err
    nfd = tmp_path / "nfd.csv"
    nfd.write_text("email,pre\u0301nom\na@b.co,Ann\n")
    status, _, err = run(["validate", str(nfd), "--map", "FN=pr\u00e9nom"], capsys)
    assert status == 2 and "written with other Unicode code points" in err


def test_an_upload_that_fails_still_writes_its_html_report(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("AUDFRAME_ACCESS_TOKEN", "EAAtoken-for-this-test")
    page = tmp_path / "r.html"
    with GraphEmulator(token="EAAother-token-1234") as emu:  # the token is refused: 190
        status, _, err = run(["upload", PARQUET, "--audience-id", " 12 ", "--base-url", emu.url,
                              "--html", str(page), "--no-progress", "--default-country", "US"],
                             capsys)
    assert status == 1 and "upload failed" in err
    text = page.read_text()
    assert "The upload failed" in text and "<svg" in text  # and the validation report
    assert "EAAtoken-for-this-test" not in text


def test_an_emulated_upload_names_the_audience_as_sent(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AUDFRAME_ACCESS_TOKEN", raising=False)
    status, out, _ = run(["upload", PARQUET, "--audience-id", " 12 ", "--emulator",
                          "--no-progress", "--default-country", "US"], capsys)
    assert status == 0
    assert re.search(r"the emulated audience 12 now holds [1-9][\d,]* people", out)

