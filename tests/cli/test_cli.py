"""The CLI: thin commands, one-line errors with exit code 2, no traceback, no partial output."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from peerscreen import __version__
from peerscreen.cli import app
from tests.conftest import SHARED_DATA, needs_shared

runner = CliRunner()


def test_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert __version__ in result.stdout


@pytest.mark.parametrize("args", [["--help"], ["import", "--help"]])
def test_help(args):
    result = runner.invoke(app, args)
    assert result.exit_code == 0
    assert "Usage" in result.stdout


def test_import_writes_output_and_reports(tmp_path: Path):
    source = tmp_path / "in.csv"
    source.write_text(
        "title,abstract,doi,included\n"
        "Peer specialists,Trial of peers,10.5555/a,1\n"
        "Peer specialists,Trial of peers,10.5555/A,1\n"
        ",,,0\n"
    )
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["import", str(source), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "duplicates merged: 1 (1 by doi)" in result.stdout
    assert "neither title nor abstract" in result.stdout
    assert "2 records (2 labelled, 1 included)" in result.stdout
    assert len(out.read_text().splitlines()) == 2


def test_no_dedup_keeps_all(tmp_path: Path):
    source = tmp_path / "in.csv"
    source.write_text("title,doi\nA study of peers,10.5555/a\nA study of peers,10.5555/a\n")
    out = tmp_path / "out.csv"
    result = runner.invoke(app, ["import", str(source), "-o", str(out), "--no-dedup"])
    assert result.exit_code == 0
    assert "2 records" in result.stdout


def _assert_clean_failure(result, out: Path, *needles: str) -> None:
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error:")
    for needle in needles:
        assert needle in lines[0]
    assert "Traceback" not in result.output
    assert not out.exists()
    assert not [p for p in out.parent.iterdir() if p.name.startswith(f".{out.name}")]


def test_binary_ris_exits_2_with_one_line_and_no_output(tmp_path: Path):
    source = tmp_path / "export.ris"
    source.write_bytes(bytes(range(256)) * 16)
    out = tmp_path / "out.csv"
    result = runner.invoke(app, ["import", str(source), "-o", str(out)])
    _assert_clean_failure(result, out, "export.ris", "binary")


def test_csv_without_text_columns_exits_2(tmp_path: Path):
    source = tmp_path / "refs.csv"
    source.write_text("id,foo\n1,2\n")
    out = tmp_path / "out.csv"
    result = runner.invoke(app, ["import", str(source), "-o", str(out)])
    _assert_clean_failure(result, out, "refs.csv", "no title or abstract column")


def test_broken_jsonl_names_file_and_line(tmp_path: Path):
    source = tmp_path / "labels.jsonl"
    source.write_text('{"title": "a"}\n{oops\n')
    out = tmp_path / "out.csv"
    result = runner.invoke(app, ["import", str(source), "-o", str(out)])
    _assert_clean_failure(result, out, "labels.jsonl", "line 2")


def test_one_bad_file_among_good_ones_writes_nothing(tmp_path: Path):
    good = tmp_path / "good.csv"
    good.write_text("title\nA\n")
    bad = tmp_path / "bad.json"
    bad.write_text("[{")
    out = tmp_path / "out.csv"
    result = runner.invoke(app, ["import", str(good), str(bad), "-o", str(out)])
    _assert_clean_failure(result, out, "bad.json")


def test_unknown_output_format(tmp_path: Path):
    source = tmp_path / "in.csv"
    source.write_text("title\nA\n")
    out = tmp_path / "out.docx"
    result = runner.invoke(app, ["import", str(source), "-o", str(out)])
    _assert_clean_failure(result, out, "out.docx")


@needs_shared
def test_import_openalex_folder(tmp_path: Path):
    out = tmp_path / "x.parquet"
    result = runner.invoke(
        app, ["import", str(SHARED_DATA / "raw" / "openalex_Donners_2021"), "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "257 records (257 labelled, 15 included)" in result.stdout  # one paper twice
    assert out.exists()


def test_real_process_prints_one_line_and_exits_2(tmp_path: Path):
    """Outside CliRunner too: the installed entry point never shows a traceback."""
    import subprocess
    import sys

    source = tmp_path / "export.ris"
    source.write_bytes(b"\x00\x01\x02" * 1000)
    out = tmp_path / "out.csv"
    proc = subprocess.run(
        [sys.executable, "-m", "peerscreen", "import", str(source), "-o", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0
    assert "export.ris" in proc.stderr and "Traceback" not in proc.stderr
    assert not out.exists()


def test_help_is_never_cut_at_80_columns():
    """Every command's help wraps at the terminal's width instead of cutting option names
    or descriptions short with an ellipsis."""
    import sys

    from tests.conftest import ROOT

    sys.path.insert(0, str(ROOT / "tools"))
    try:
        from cli_reference import _commands
    finally:
        sys.path.pop(0)
    for path in _commands():
        result = CliRunner().invoke(
            app, [*path, "--help"], env={"COLUMNS": "80", "TERM": "dumb"}, color=False
        )
        assert result.exit_code == 0, (path, result.output)
        assert "…" not in result.stdout, (path, result.stdout)
        too_long = [line for line in result.stdout.splitlines() if len(line) > 80]
        # an unbreakable word (a long option pair) may run past the margin, never get cut
        assert all("--" in line for line in too_long), (path, too_long)


def test_import_writes_a_duplicates_report(tmp_path: Path):
    source = tmp_path / "in.csv"
    source.write_text(
        "record_id,title,doi,pmid,included\n"
        "a,Peer specialists in community mental health care,10.5555/a,,0\n"
        "b,Peer specialists in community mental health care,10.5555/A,,1\n"
        "c,Another study,,42,\n"
        "d,Another study (erratum),,42,\n"
    )
    out, report = tmp_path / "out.csv", tmp_path / "dups.csv"
    result = runner.invoke(
        app, ["import", str(source), "-o", str(out), "--duplicates-report", str(report)]
    )
    assert result.exit_code == 0, result.output
    assert "2 merged records in 2 groups" in result.stdout
    rows = report.read_text(encoding="utf-8").splitlines()
    assert rows[0].startswith("group,kept_id,merged_id,rule,matched_on,")
    assert rows[1].startswith("1,a,b,doi,10.5555/a,")
    assert rows[1].endswith('0,1,"kept 0, merged 1: kept as included"')
    assert rows[2].startswith("2,c,d,pmid,42,")


def test_duplicates_report_needs_dedup_and_a_table(tmp_path: Path):
    source = tmp_path / "in.csv"
    source.write_text("title\nA study of peers\n")
    out = tmp_path / "out.csv"
    for extra in (["--no-dedup", "--duplicates-report", "d.csv"], ["--duplicates-report", "d.ris"]):
        result = runner.invoke(app, ["import", str(source), "-o", str(out), *extra])
        _assert_clean_failure(result, out, "duplicates report")
