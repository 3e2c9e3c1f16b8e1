"""A CSV with only a header line: each command says so in one line, naming the file."""

from __future__ import annotations

from pathlib import Path

import joblib
import pytest
from typer.testing import CliRunner

from peerscreen.cli import app

runner = CliRunner()
HEADER = "record_id,title,abstract,authors,year,label_included\n"


@pytest.fixture
def header_only(tmp_path: Path) -> Path:
    path = tmp_path / "search_export.csv"
    path.write_text(HEADER)
    return path


def _one_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    return lines[0]


def test_import_warns_zero_records(header_only: Path, tmp_path: Path):
    result = runner.invoke(app, ["import", str(header_only), "-o", str(tmp_path / "out.csv")])
    assert result.exit_code == 0, result.output
    line = _one_line(result.stderr)
    assert line.startswith("warning:") and str(header_only) in line and "0 records" in line
    assert "header line but no rows" in line


def test_rank_names_the_file_and_exits_2(header_only: Path, trained, tmp_path: Path):
    model = tmp_path / "model.joblib"
    joblib.dump(trained.model, model)
    for output in ([], ["-o", str(tmp_path / "ranked.xlsx")]):
        result = runner.invoke(app, ["rank", str(header_only), "--model", str(model), *output])
        assert result.exit_code == 2, result.output
        line = _one_line(result.stderr)
        assert "no records to rank" in line and str(header_only) in line
    assert not (tmp_path / "ranked.xlsx").exists()


def test_simulate_says_there_are_no_labelled_records(header_only: Path, tmp_path: Path):
    result = runner.invoke(
        app, ["simulate", str(header_only), "-o", str(tmp_path / "sim"), "--no-track"]
    )
    assert result.exit_code == 2, result.output
    line = _one_line(result.stderr)
    assert "no labelled records" in line and str(header_only) in line
    assert not (tmp_path / "sim").exists()
