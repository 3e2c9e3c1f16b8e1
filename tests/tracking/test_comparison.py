"""`peerscreen compare`: MLflow runs side by side, best first, one metric name for all runs."""

import mlflow
import pytest
from typer.testing import CliRunner

from peerscreen.cli import app
from peerscreen.tracking import configure_tracking
from peerscreen.tracking.comparison import ComparisonError, compare


def _log(name, params, metrics, *, nested=False):
    with mlflow.start_run(run_name=name, nested=nested):
        mlflow.log_params(params)
        mlflow.log_metrics(metrics)


@pytest.fixture(scope="module")
def experiment(mlflow_uri):
    """Two bench parent runs (one with child simulations) and a failed run to ignore."""
    configure_tracking(mlflow_uri)
    name = "compare-test-bench"
    mlflow.set_experiment(name)
    with mlflow.start_run(run_name="bench-nb"):
        mlflow.log_params({"backend": "nb", "query": "max", "seeds": "0,1"})
        mlflow.log_metrics({"mean_wss95": 0.10, "mean_atd": 0.40, "mean_wall_seconds": 3.0})
        _log("simulate-a", {"dataset": "a", "backend": "nb"}, {"wss95": 0.9}, nested=True)
    _log(
        "bench-tfidf-lr",
        {"backend": "tfidf-lr", "query": "max", "seeds": "0,1"},
        {"mean_wss95": 0.40, "mean_atd": 0.20, "mean_wall_seconds": 6.0},
    )
    with mlflow.start_run(run_name="bench-broken"):
        mlflow.log_metrics({"mean_wss95": 0.99})
        mlflow.end_run(status="FAILED")
    return name


def test_runs_are_sorted_best_first_and_children_left_out(experiment, mlflow_uri):
    table = compare(experiment, metric="wss95", tracking_uri=mlflow_uri).table
    assert list(table["run"]) == ["bench-tfidf-lr", "bench-nb"]  # no child, no failed run
    assert list(table["wss95"]) == pytest.approx([0.40, 0.10])
    assert list(table["backend"]) == ["tfidf-lr", "nb"]
    assert "atd" in table and "wall_seconds" in table


def test_lower_is_better_metrics_sort_ascending(experiment, mlflow_uri):
    table = compare(experiment, metric="atd", tracking_uri=mlflow_uri).table
    assert list(table["run"]) == ["bench-tfidf-lr", "bench-nb"]
    table = compare(experiment, metric="wall_seconds", tracking_uri=mlflow_uri).table
    assert list(table["run"]) == ["bench-nb", "bench-tfidf-lr"]


def test_children_can_be_included(experiment, mlflow_uri):
    table = compare(experiment, tracking_uri=mlflow_uri, include_children=True).table
    assert table["run"].iloc[0] == "simulate-a"
    assert "dataset" in table


def test_training_runs_are_found_by_the_short_metric_name(mlflow_uri):
    configure_tracking(mlflow_uri)
    mlflow.set_experiment("compare-test-train")
    _log("train-a", {"backend": "a", "backend_C": "1"}, {"inclusion_wss95": 0.5})
    _log("train-b", {"backend": "b", "backend_C": "4"}, {"inclusion_wss95": 0.6})
    table = compare("compare-test-train", metric="wss95", tracking_uri=mlflow_uri).table
    assert list(table["backend"]) == ["b", "a"]
    assert "backend_C" in table  # a parameter that differs between runs is shown


def test_unknown_experiment_and_metric_are_clear_errors(experiment, mlflow_uri):
    with pytest.raises(ComparisonError, match=r"no MLflow experiment 'nope'.*compare-test-bench"):
        compare("nope", tracking_uri=mlflow_uri)
    with pytest.raises(ComparisonError, match=r"no run logged a metric 'f1'.*mean_wss95"):
        compare(experiment, metric="f1", tracking_uri=mlflow_uri)


def test_cli_prints_each_format_and_writes_the_chart(experiment, mlflow_uri, tmp_path):
    runner = CliRunner()
    base = ["compare", "-e", experiment, "--tracking-uri", mlflow_uri]
    chart = tmp_path / "chart.png"
    result = runner.invoke(app, [*base, "--plot", str(chart)])
    assert result.exit_code == 0, result.output
    assert "bench-tfidf-lr" in result.output and "0.400" in result.output
    assert chart.read_bytes().startswith(b"\x89PNG")

    result = runner.invoke(app, [*base, "--format", "csv", "--no-plot"])
    lines = result.output.strip().splitlines()
    assert lines[0].startswith("run,run_id,started,backend")
    assert lines[1].startswith("bench-tfidf-lr")

    result = runner.invoke(app, [*base, "--format", "markdown", "--no-plot", "--limit", "1"])
    assert result.output.count("| bench-") == 1

    result = runner.invoke(app, [*base, "--metric", "nonsense", "--no-plot"])
    assert result.exit_code == 2
    assert "no run logged a metric 'nonsense'" in result.output


def test_no_experiment_named_means_the_most_recent_one_with_runs(tmp_path):
    """After a single `simulate` (one run in peerscreen-simulate, none in peerscreen-bench),
    `compare` with no arguments shows that run; `--all` lists every experiment."""
    uri = f"sqlite:///{tmp_path / 'fresh.db'}"
    configure_tracking(uri)
    with pytest.raises(ComparisonError, match="no finished runs"):
        compare(tracking_uri=uri)
    mlflow.set_experiment("peerscreen-simulate")
    _log("simulate-Donners_2021-s0", {"dataset": "Donners_2021"}, {"wss95": 0.59})
    mlflow.set_experiment("empty-one")  # created, never run: never the pick
    result = compare(tracking_uri=uri)
    assert result.experiment == "peerscreen-simulate"
    assert list(result.table["run"]) == ["simulate-Donners_2021-s0"]

    mlflow.set_experiment("peerscreen-train")
    _log("train-tfidf-lr", {"backend": "tfidf-lr"}, {"inclusion_wss95": 0.54})
    assert compare(tracking_uri=uri).experiment == "peerscreen-train"
    assert compare("peerscreen-simulate", tracking_uri=uri).experiment == "peerscreen-simulate"

    cli = CliRunner()
    shown = cli.invoke(app, ["compare", "--tracking-uri", uri, "--no-plot", "-f", "csv"])
    assert shown.exit_code == 0, shown.output
    assert "train-tfidf-lr" in shown.stdout and "simulate-" not in shown.stdout
    listed = cli.invoke(app, ["compare", "--all", "--tracking-uri", uri, "-f", "csv"])
    assert listed.exit_code == 0, listed.output
    lines = listed.stdout.splitlines()
    assert lines[0].startswith("experiment,runs,child_runs")
    assert [line.split(",")[:2] for line in lines[1:3]] == [
        ["peerscreen-train", "1"],
        ["peerscreen-simulate", "1"],
    ]
    assert any(line.startswith("empty-one,0,") for line in lines)
