"""`peerscreen train`, `rank` and `tag` end to end on a small slice of the corpus."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from peerscreen.cli import app
from peerscreen.io.writers import write_records
from tests.conftest import ROOT

runner = CliRunner()
EXAMPLES = ROOT / "data" / "examples"


@pytest.fixture(scope="module")
def trained_dir(small_corpus, tmp_path_factory, mlflow_uri):
    folder = tmp_path_factory.mktemp("cli")
    data = write_records(small_corpus, folder / "labelled.jsonl")
    result = runner.invoke(
        app,
        [
            "train",
            "--data",
            str(data),
            "--tracking-uri",
            mlflow_uri,
            "--register-as",
            "peerscreen-cli-test",
            "--promote",
            "--model-dir",
            str(folder / "model"),
            "--experiment",
            "cli-test",
        ],
    )
    assert result.exit_code == 0, result.output
    return folder, result.stdout


def test_train_prints_metrics_and_registers(trained_dir):
    folder, stdout = trained_dir
    assert "ROC-AUC" in stdout and "macro-F1" in stdout
    assert "registered peerscreen-cli-test version 1" in " ".join(stdout.split())
    assert (folder / "model" / "MLmodel").exists()


def test_rank_prints_queue_and_writes_output(trained_dir, tmp_path):
    folder, _ = trained_dir
    out = tmp_path / "ranked.csv"
    result = runner.invoke(
        app,
        [
            "rank",
            str(EXAMPLES / "new_records.ris"),
            "--model",
            str(folder / "model"),
            "-o",
            str(out),
            "--top",
            "5",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Screening queue" in result.stdout
    assert "estimated recall" in result.stdout
    table = pd.read_csv(out)
    assert len(table) == 90
    assert table.columns[0] == "rank"


def test_rank_summary_agrees_with_the_bands(trained_dir):
    """The ranks to read are the include and check records, plus any named share of the
    exclude band: never a figure that contradicts the band counts printed beside it."""
    import re

    folder, _ = trained_dir
    args = ["rank", str(EXAMPLES / "new_records.ris"), "--model", str(folder / "model")]
    result = runner.invoke(app, [*args, "--top", "1"])
    assert result.exit_code == 0, result.output
    out = " ".join(result.stdout.split())
    include, check, _ = map(
        int, re.search(r"(\d+) include, (\d+) check, (\d+) exclude", out).groups()
    )
    read = int(re.search(r"read ranks 1-(\d+)", out).group(1))
    extra = re.search(r"then the first (\d+) of the exclude band", out)
    assert f"the {include} include and {check} check records" in out
    assert read == include + check + (int(extra.group(1)) if extra else 0)


def test_rank_accepts_models_uri(trained_dir, mlflow_uri):
    result = runner.invoke(
        app,
        [
            "rank",
            str(EXAMPLES / "new_records.csv"),
            "--model",
            "models:/peerscreen-cli-test/1",
            "--tracking-uri",
            mlflow_uri,
            "--top",
            "3",
        ],
    )
    assert result.exit_code == 0, result.output


def test_tag_writes_categories(trained_dir, tmp_path):
    folder, _ = trained_dir
    out = tmp_path / "tags.jsonl"
    result = runner.invoke(
        app,
        [
            "tag",
            str(EXAMPLES / "new_records.csv"),
            "--model",
            str(folder / "model"),
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    tags = pd.read_json(out, lines=True)
    assert len(tags) == 90 and "category" in tags and "p_include" not in tags


def test_missing_model_exits_2(tmp_path: Path):
    result = runner.invoke(
        app, ["rank", str(EXAMPLES / "new_records.csv"), "--model", str(tmp_path / "none")]
    )
    assert result.exit_code == 2
    assert "no model found" in result.stderr


def test_bad_config_exits_2_naming_the_key(tmp_path: Path):
    config = tmp_path / "review.toml"
    config.write_text(
        (ROOT / "configs" / "review.toml").read_text().replace("[window]", "[window]\nbogus = 1")
    )
    result = runner.invoke(app, ["train", "--config", str(config)])
    assert result.exit_code == 2
    assert "window.bogus" in result.stderr
