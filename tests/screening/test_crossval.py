"""Cross-review validation: fixed groups, choice on the other groups, held-out scoring."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from peerscreen.cli import app
from peerscreen.errors import PeerscreenError
from peerscreen.screening.benchmark import parse_grid
from peerscreen.screening.crossval import cross_review_table, grid_points, review_folds

runner = CliRunner()


def test_folds_are_fixed_and_spread_sorted_names():
    names = ["b", "a", "d", "c", "e", "f"]
    folds = review_folds(names, 3)
    assert folds == review_folds(list(reversed(names)), 3)
    assert folds == {"a": 0, "b": 1, "c": 2, "d": 0, "e": 1, "f": 2}
    with pytest.raises(PeerscreenError, match="at least 2"):
        review_folds(names, 1)


def _rows(scores: dict[str, dict[str, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"point": p, "dataset": d, "seed": 0, "wss95": v, "rrf10": 0.5}
            for p, per in scores.items()
            for d, v in per.items()
        ]
    )


def test_held_out_uses_the_point_chosen_without_the_review():
    # "tuned" wins on a and b but is bad on c; "plain" is steady. Held out c, the choice
    # made on a and b is "tuned", so c is scored with it: held-out < in-sample best.
    rows = _rows(
        {
            "plain": {"a": 0.50, "b": 0.50, "c": 0.50},
            "tuned": {"a": 0.70, "b": 0.70, "c": 0.00},
        }
    )
    table = cross_review_table(rows, {"a": 0, "b": 1, "c": 2})
    assert table.in_sample_best["point"] == "plain"
    chosen = dict(zip(table.choices["fold"], table.choices["chosen"], strict=True))
    assert chosen == {0: "plain", 1: "plain", 2: "tuned"}  # a: plain 0.5 > tuned 0.35
    assert table.held_out_mean() == pytest.approx((0.5 + 0.5 + 0.0) / 3)


def test_a_single_point_scores_the_same_in_and_out_of_sample():
    rows = _rows({"only": {"a": 0.2, "b": 0.4, "c": 0.9}})
    table = cross_review_table(rows, review_folds(["a", "b", "c"], 3))
    assert table.held_out_mean() == pytest.approx(table.in_sample_best["wss95"])


def test_grid_reads_values_and_refuses_unknown_settings():
    grid = parse_grid(["year_weight=0,0.3", "criteria_as_inclusion=on,off"])
    assert grid == {"year_weight": [0.0, 0.3], "criteria_as_inclusion": [True, False]}
    assert len(grid_points(grid)) == 4
    with pytest.raises(PeerscreenError, match="NAME one of"):
        parse_grid(["colour=red"])
    with pytest.raises(PeerscreenError, match="cannot read"):
        parse_grid(["year_weight=heavy"])


def test_bench_grid_and_folds_write_the_cross_review_table(tmp_path):
    from peerscreen.io.writers import write_records
    from tests.screening.test_simulation import _toy

    folder = tmp_path / "data"
    folder.mkdir()
    for i in range(3):
        write_records(_toy(seed=i), folder / f"toy{i}.csv")
    args = ["bench", str(folder), "--seeds", "0", "--results-dir", str(tmp_path), "--no-track"]
    result = runner.invoke(app, [*args, "--grid", "year_weight=0,0.3", "--folds", "3"])
    assert result.exit_code == 0, result.output
    rows = pd.read_csv(tmp_path / "tfidf-lr-crossval.csv")
    assert set(rows["point"]) == {"year_weight=0.0", "year_weight=0.3"} and len(rows) == 6
    text = (tmp_path / "tfidf-lr-crossval.md").read_text()
    assert "held-out WSS@95" in text and "toy0" in text
    bad = runner.invoke(app, [*args, "--grid", "colour=red"])
    assert bad.exit_code != 0 and "NAME one of" in bad.output
