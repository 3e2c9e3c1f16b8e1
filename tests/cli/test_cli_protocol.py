"""`peerscreen protocol new/check`, and a screen-only protocol through `screen` and `simulate`."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from peerscreen.cli import app
from tests.review.test_protocol import MINIMAL
from tests.screening.test_project import write_records

runner = CliRunner()


def protocol(*args: str | Path):
    return runner.invoke(app, ["protocol", *map(str, args)])


def test_new_writes_a_template_that_check_accepts(tmp_path):
    path = tmp_path / "statins.toml"
    result = protocol("new", path)
    assert result.exit_code == 0, result.output
    assert f"peerscreen protocol check {path}" in result.stdout
    checked = protocol("check", path)
    assert checked.exit_code == 0, checked.output
    out = checked.stdout
    assert "valid protocol" in out and "review      statins:" in out
    assert "3 inclusion criteria" in out and "4 codes" in out
    assert "wrong_population    11 phrases" in out
    assert "out_of_window       date/language window" in out
    assert "categories  none" in out and "January 2000 to December 2024" in out
    assert "still the template's example: review.title" in checked.stderr


def test_new_refuses_to_overwrite_unless_forced(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text("edited by hand")
    result = protocol("new", path)
    assert result.exit_code == 2
    assert result.stderr.strip() == f"error: {path}: already exists (use --force to replace it)"
    assert path.read_text() == "edited by hand"
    assert protocol("new", path, "--force", "--name", "Mine Too").exit_code == 0
    assert 'name = "mine-too"' in path.read_text()


def test_check_lists_every_problem_one_line_each_exit_2(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(
        MINIMAL.replace('name = "screen-only"', 'name = "Bad Name"').replace(
            'phrases = ["children", "adolescents"]', 'confidence = 2\nphrases = ["children"]'
        )
        + "\n[window]\nstart_year = 2020\nend_year = 2010\nlanguage = ['en']\n"
    )
    result = protocol("check", path)
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert lines[-1] == "3 problems: not a valid protocol"
    assert all(line.startswith(f"error: {path}: ") for line in lines[:-1])
    assert any(
        "exclusion.youth_only.confidence: must be between 0 and 1 (got 2)" in x for x in lines
    )
    assert any("review.name: must be lower-case" in x for x in lines)
    assert any("window.language: unknown key (did you mean 'languages'?)" in x for x in lines)


def test_check_names_the_line_of_a_toml_error_and_a_missing_file(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text('[review]\nname = "x\n')
    result = protocol("check", path)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {path}, line 2, column 10: not valid TOML")
    missing = protocol("check", tmp_path / "nope.toml")
    assert missing.exit_code == 2 and "config file not found" in missing.stderr


def test_screen_init_says_which_protocol_it_uses(tmp_path):
    source = write_records(tmp_path / "records.csv", 3, 3)
    result = runner.invoke(app, ["screen", "init", str(tmp_path / "a.screen"), str(source)])
    assert result.exit_code == 0, result.output
    first = result.stdout.splitlines()[0]
    assert first.startswith("protocol: ") and first.endswith("(Miyamoto & Sono 2012, default)")


def test_a_screen_only_protocol_screens_and_simulates(tmp_path):
    config = tmp_path / "mine.toml"
    config.write_text(MINIMAL)
    source = write_records(tmp_path / "records.csv", 3, 3)
    project = tmp_path / "mine.screen"
    init = runner.invoke(app, ["screen", "init", str(project), str(source), "-c", str(config)])
    assert init.exit_code == 0, init.output
    assert init.stdout.splitlines()[0] == f"protocol: {config} (screen-only)"
    for record, decision, *reason in [("on0", "include"), ("off0", "exclude", "-r", "youth_only")]:
        labelled = runner.invoke(app, ["screen", "label", str(project), record, decision, *reason])
        assert labelled.exit_code == 0, labelled.output
    status = runner.invoke(app, ["screen", "status", str(project)])
    assert status.exit_code == 0, status.output

    data = tmp_path / "labelled.csv"
    rows = ["record_id,title,abstract,label_included"]
    rows += [
        f"on{i},Peer support {i},peer support by people with lived experience,1" for i in range(4)
    ]
    rows += [f"off{i},Asthma {i},inhaler dose trial in adolescents,0" for i in range(8)]
    data.write_text("\n".join(rows) + "\n")
    out = tmp_path / "sim"
    args = ["simulate", str(data), "--config", str(config), "--cold-start", "criteria"]
    simulated = runner.invoke(app, [*args, "-o", str(out), "--no-track"])
    assert simulated.exit_code == 0, simulated.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n_included"] == 4 and metrics["records_to_all"] <= 12
