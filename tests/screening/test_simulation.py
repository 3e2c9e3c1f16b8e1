"""Simulation: metrics by definition, priors, cold start, outputs, and the CLI."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from typer.testing import CliRunner

from peerscreen.cli import app
from peerscreen.io.records import Record, RecordSet
from peerscreen.screening.simulation import SimulationError, screening_metrics, simulate
from tests.conftest import SHARED_DATA, needs_shared

runner = CliRunner()


def test_metrics_follow_the_definitions():
    # N = 20 records, R = 4 inclusions found at read positions 1, 2, 5 and 10
    labels = np.zeros(10, dtype=int)
    labels[[0, 1, 4, 9]] = 1
    m = screening_metrics(labels, n=20, n_included=4)
    assert m["records_to_95"] == 10  # ceil(0.95 * 4) = 4 inclusions: all of them
    assert m["wss95"] == pytest.approx(1 - 10 / 20 - 0.05)
    assert m["wss100"] == pytest.approx(0.5)
    assert m["rrf10"] == pytest.approx(2 / 4)  # first 2 records hold 2 inclusions
    assert m["rrf5"] == pytest.approx(1 / 4)
    assert m["atd"] == pytest.approx(np.mean([1, 2, 5, 10]) / 20)


def test_metrics_when_not_everything_was_found():
    labels = np.array([1, 0, 0])
    m = screening_metrics(labels, n=10, n_included=2)
    assert m["records_to_all"] == 10 and m["wss100"] == 0


def _toy(n=80, r=10, seed=0) -> RecordSet:
    rng = np.random.default_rng(seed)
    records = []
    for i in range(n):
        relevant = i < r
        words = (
            ["peer", "support", "mental", "recovery"]
            if relevant
            else ["drug", "dose", "trial", "kinetics"]
        )
        text = " ".join(rng.choice([*words, "study", "patients", "results"], 25))
        records.append(
            Record(record_id=f"r{i}", title=f"Record {i}", abstract=text, included=int(relevant))
        )
    order = rng.permutation(n)
    return RecordSet.from_records([records[i] for i in order])


def test_simulation_finds_everything_early_on_easy_data():
    result = simulate(_toy(), dataset="toy", seed=0)
    assert result.metrics["n"] == 78 and result.metrics["n_included"] == 9
    assert result.labels.sum() == 9
    assert result.metrics["records_to_all"] <= 20
    assert len(result.order) == len(set(result.order))
    assert not set(result.order) & set(result.priors)
    assert set(result.stopping) == {"buscar", "knee", "consecutive-exclusions"}


def test_same_seed_same_order_and_prior_ids():
    a = simulate(_toy(), seed=3)
    b = simulate(_toy(), seed=3)
    assert a.order == b.order
    c = simulate(_toy(), prior_ids=a.settings["prior_ids"], seed=99)
    assert c.priors == a.priors


def test_cold_start_without_priors():
    result = simulate(
        _toy(), cold_start_text="peer support for recovery in mental health", seed=0, semantic=False
    )
    assert result.priors == [] and result.metrics["n"] == 80
    assert result.labels[0] == 1  # the criteria point at an inclusion first


def test_stop_after_and_bad_priors():
    assert len(simulate(_toy(), stop_after=5).order) == 5
    with pytest.raises(SimulationError, match="not in the dataset"):
        simulate(_toy(), prior_ids=["nope"])


def test_simulate_cli_writes_outputs(tmp_path, mlflow_uri):
    from peerscreen.io.writers import write_records

    data = write_records(_toy(), tmp_path / "toy.csv")
    out = tmp_path / "sim"
    result = runner.invoke(
        app, ["simulate", str(data), "--seed", "1", "-o", str(out), "--tracking-uri", mlflow_uri]
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text())
    for key in (
        "wss95",
        "wss100",
        "rrf5",
        "rrf10",
        "rrf20",
        "atd",
        "records_to_95",
        "records_to_all",
        "n",
        "n_included",
        "wall_seconds",
        "stopping",
    ):
        assert key in metrics
    assert set(metrics["stopping"]["buscar"]) >= {"stopped_at", "recall", "work_saved"}
    assert (out / "recall_curve.png").stat().st_size > 1000
    order = (out / "order.csv").read_text().splitlines()
    assert order[0] == "step,record_id,label,p_include,prior"


@needs_shared
def test_bench_cli_on_two_real_datasets(tmp_path, mlflow_uri):
    result = runner.invoke(
        app,
        [
            "bench",
            str(SHARED_DATA / "benchmarks"),
            "--datasets",
            "Donners_2021,Sep_2021",
            "--seeds",
            "0",
            "--results-dir",
            str(tmp_path),
            "--tracking-uri",
            mlflow_uri,
        ],
    )
    assert result.exit_code == 0, result.output
    table = (tmp_path / "tfidf-lr.md").read_text()
    assert "Donners_2021" in table and "mean" in table
    import pandas as pd

    rows = pd.read_csv(tmp_path / "tfidf-lr.csv")
    assert len(rows) == 2 and rows["wss95"].between(-0.05, 1).all()
    assert not math.isnan(rows["buscar_recall"].iloc[0])


def test_bench_takes_given_priors_from_a_table(tmp_path):
    from peerscreen.io.writers import write_records

    folder = tmp_path / "data"
    folder.mkdir()
    write_records(_toy(), folder / "toy.csv")
    drawn = simulate(_toy(), seed=5).settings["prior_ids"]
    table = tmp_path / "priors.csv"
    table.write_text(f"dataset,seed,prior_ids\ntoy,0,{';'.join(drawn)}\n")
    args = ["bench", str(folder), "--seeds", "0", "--results-dir", str(tmp_path), "--no-track"]
    result = runner.invoke(app, [*args, "--priors", str(table)])
    assert result.exit_code == 0, result.output
    import pandas as pd

    row = pd.read_csv(tmp_path / "tfidf-lr.csv").iloc[0]
    assert row["priors"].split(";") == drawn  # seed 0 would have drawn others
    assert drawn != simulate(_toy(), seed=0).settings["prior_ids"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("dataset,seed\ntoy,0\n", "needs columns dataset, seed, prior_ids"),
        ("dataset,seed,prior_ids\ntoy,zero,r1;r2\n", "line 2: seed 'zero'"),
        ("dataset,seed,prior_ids\nother,0,r1;r2\n", "no row for toy s0"),
    ],
)
def test_bad_priors_table_is_one_clear_error(tmp_path, content, message):
    from peerscreen.io.writers import write_records

    folder = tmp_path / "data"
    folder.mkdir()
    write_records(_toy(), folder / "toy.csv")
    table = tmp_path / "priors.csv"
    table.write_text(content)
    args = ["bench", str(folder), "--seeds", "0", "--results-dir", str(tmp_path), "--no-track"]
    result = runner.invoke(app, [*args, "--priors", str(table)])
    assert result.exit_code != 0
    assert message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "tfidf-lr.csv").exists()


def test_retrain_due_after_inclusions_and_after_a_share_of_exclusions():
    from peerscreen.screening.simulation import retrain_due

    assert retrain_due("every", 500, 1, 0)
    assert retrain_due("adaptive", 500, 1, 1)  # an inclusion always refits
    assert not retrain_due("adaptive", 500, 9, 0)  # 2% of 500 = 10 exclusions
    assert retrain_due("adaptive", 500, 10, 0)
    assert retrain_due("adaptive", 20, 1, 0)  # small label sets refit every time


def test_adaptive_retraining_fits_less_and_still_finds_everything(monkeypatch):
    from peerscreen.screening.learner import ActiveLearner

    fits = []
    original = ActiveLearner.scores

    def counting(self, labelled, labels):
        fits.append(len(labelled))
        return original(self, labelled, labels)

    monkeypatch.setattr(ActiveLearner, "scores", counting)
    frame = _toy(n=400, r=12, seed=1).frame.copy()
    outlier = frame.index[frame["included"] == 0][150]
    frame.loc[outlier, "included"] = 1  # an inclusion in the exclusions' words: found late
    data = RecordSet(frame)
    every = simulate(data, seed=2, retrain="every", learner="svm")  # one fit a refit
    n_every = len(fits)
    fits.clear()
    adaptive = simulate(data, seed=2, retrain="adaptive", learner="svm")
    assert n_every == len(every.order)
    assert len(fits) < 0.7 * n_every  # fewer refits in the long run of exclusions
    assert adaptive.labels.sum() == every.labels.sum() == adaptive.n_included
    assert adaptive.settings["retrain"] == "adaptive"
    with pytest.raises(SimulationError, match="unknown retrain policy"):
        simulate(data, retrain="sometimes")


def _with_textless(n_textless=10, textless_included=3) -> RecordSet:
    frame = _toy(n=120, r=10, seed=4).frame.copy()
    blank = frame.index[frame["included"] == 0][:n_textless]
    frame.loc[blank, ["title", "abstract"]] = None
    frame.loc[blank[:textless_included], "included"] = 1
    return RecordSet(frame)


def test_textless_when_dry_reads_the_block_once_the_model_runs_dry():
    data = _with_textless()
    result = simulate(data, seed=1, textless="when-dry")
    has_text = data.has_text().to_numpy()
    order = np.array(result.order)
    first_blank = int(np.flatnonzero(~has_text[order])[0])
    window = result.labels[:first_blank][has_text[order[:first_blank]]][-20:]
    assert len(window) == 20
    rate_before = (result.labels[:first_blank].sum() + 1) / (first_blank + 2)  # + the priors
    assert window.mean() < 0.5 * rate_before
    blanks = order[~has_text[order]]
    assert list(blanks) == sorted(blanks)  # one block, in file order
    assert result.labels.sum() == result.n_included
    assert result.settings["textless"] == "when-dry"


def test_unknown_textless_policy_is_an_error():
    with pytest.raises(SimulationError, match="unknown textless policy"):
        simulate(_toy(), textless="never")


def test_simulate_cli_trains_on_criteria_where_there_are_some(tmp_path):
    from peerscreen.io.writers import write_records

    data = write_records(_toy(), tmp_path / "toy.csv")
    out = tmp_path / "sim"
    args = ["simulate", str(data), "--seed", "1", "-o", str(out), "--no-track"]

    def used_criteria(*extra: str) -> bool:
        result = runner.invoke(app, [*args, *extra])
        assert result.exit_code == 0, result.output
        return json.loads((out / "metrics.json").read_text())["settings"]["criteria_as_inclusion"]

    text = ["--criteria-text", "peer support for mental recovery"]
    assert used_criteria(*text) is True  # the default
    assert used_criteria(*text, "--no-criteria-as-inclusion") is False
    assert used_criteria() is False  # 'toy' has no published criteria: it goes without


def test_simulation_reads_the_years_where_records_have_them():
    plain = _toy()
    assert simulate(plain, seed=0).settings["year_features"] is False
    frame = plain.frame.copy()
    frame["year"] = [
        2001 if rid in {"r0", "r1"} else 1990 + i % 30 for i, rid in enumerate(frame["record_id"])
    ]
    dated = simulate(RecordSet(frame), seed=0)
    assert dated.settings["year_features"] is True
    assert dated.labels.sum() == dated.n_included


def test_simulate_cli_says_which_rules_never_fired(tmp_path):
    """Before: knee showed "stops after N, work saved 0.000" on a dataset too small for it
    to fire at all (issue 16); now it reads "never fired", with the advice at 95% recall."""
    from peerscreen.io.writers import write_records

    data = write_records(_toy(), tmp_path / "toy.csv")
    result = runner.invoke(
        app,
        ["simulate", str(data), "-o", str(tmp_path / "sim"), "--no-track"],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    knee = next(line for line in result.stdout.splitlines() if "│ knee" in line)
    assert "never fired" in knee
    metrics = json.loads((tmp_path / "sim" / "metrics.json").read_text())
    assert metrics["stopping"]["knee"]["stopped"] is False
    assert "where 95% recall was reached, `screen status` would have said" in result.stdout
