"""Simulate every benchmark dataset over several seeds and summarise, per dataset and mean."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from peerscreen.errors import PeerscreenError
from peerscreen.io.readers import read_file
from peerscreen.plots import recall_curve
from peerscreen.reporting import markdown_table
from peerscreen.screening import feature_cache
from peerscreen.screening.datasets import published_criteria
from peerscreen.screening.learners import DEFAULT_LEARNER, get_learner
from peerscreen.screening.simulation import SimulationResult, order_frame, simulate

SUMMARY_COLUMNS = ("wss95", "wss100", "rrf10", "atd", "wall_seconds")


def write_simulation(result: SimulationResult, folder: Path) -> Path:
    """metrics.json, order.csv and recall_curve.png for one simulation."""
    folder.mkdir(parents=True, exist_ok=True)
    payload = {
        **result.metrics,
        "stopping": result.stopping,
        "dataset": result.dataset,
        "settings": result.settings,
    }
    (folder / "metrics.json").write_text(json.dumps(payload, indent=2, default=_json_default))
    order_frame(result).to_csv(folder / "order.csv", index=False)
    recall_curve(
        result.labels,
        result.n,
        result.n_included,
        folder / "recall_curve.png",
        f"{result.dataset} (seed {result.settings['seed']})",
    )
    return folder


def _json_default(value: Any) -> Any:
    if isinstance(value, np.integer | np.floating):
        return value.item()
    raise TypeError(type(value))


def result_row(result: SimulationResult) -> dict[str, Any]:
    row = {
        "dataset": result.dataset,
        "seed": result.settings["seed"],
        "backend": result.settings["backend"],
        "learner": result.settings.get("learner", DEFAULT_LEARNER),
        "query": result.settings["query"],
        "retrain": result.settings.get("retrain", "every"),
        "textless": result.settings.get("textless", "tied"),
        "criteria_as_inclusion": result.settings.get("criteria_as_inclusion", False),
        "year_features": result.settings.get("year_features", False),
        "year_weight": result.settings.get("year_weight"),
        "priors": ";".join(result.settings["prior_ids"]),
    }
    row.update(
        {
            k: result.metrics[k]
            for k in (
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
            )
        }
    )
    for rule, outcome in result.stopping.items():
        row[f"{rule}_recall"] = outcome["recall"]
        row[f"{rule}_work_saved"] = outcome["work_saved"]
    return row


PriorTable = dict[tuple[str, int], list[str]]


def read_prior_table(path: Path) -> PriorTable:
    """Given priors per (dataset, seed), from a CSV with columns dataset, seed, prior_ids
    (record ids separated by ';' or ','): so a benchmark can start from exactly the priors
    another tool's runs drew (benchmarks/asreview writes one from ASReview's projects)."""
    try:
        table = pd.read_csv(path, dtype={"dataset": str, "prior_ids": str})
    except (OSError, ValueError) as error:
        raise PeerscreenError(f"{path}: cannot read the priors table ({error})") from None
    missing = {"dataset", "seed", "prior_ids"} - set(table.columns)
    if missing:
        raise PeerscreenError(
            f"{path}: the priors table needs columns dataset, seed, prior_ids "
            f"(missing: {', '.join(sorted(missing))})"
        )
    priors: PriorTable = {}
    for line, row in enumerate(table.itertuples(index=False), start=2):
        ids = [i.strip() for i in str(row.prior_ids).replace(";", ",").split(",") if i.strip()]
        try:
            seed = int(row.seed)
        except ValueError:
            raise PeerscreenError(
                f"{path}, line {line}: seed '{row.seed}' is not a whole number"
            ) from None
        if not ids or str(row.prior_ids) == "nan":
            raise PeerscreenError(f"{path}, line {line}: no prior ids for {row.dataset} s{seed}")
        priors[(str(row.dataset), seed)] = ids
    return priors


def run_benchmark(
    files: list[Path],
    seeds: list[int],
    *,
    backend: str = "tfidf-lr",
    learner: str = DEFAULT_LEARNER,
    query: str = "max",
    output_dir: Path | None = None,
    priors: PriorTable | None = None,
    retrain: str = "adaptive",
    textless: str = "tied",
    criteria_as_inclusion: bool = True,
    year_weight: float | None = None,
    year_ramp: int | None = None,
    on_result: Callable[[SimulationResult, Path | None], None] | None = None,
) -> pd.DataFrame:
    """Simulate each file x seed in this process (one start-up for the whole benchmark).
    Priors are drawn per seed, or taken from `priors` (see `read_prior_table`)."""
    get_learner(learner)  # an unknown name fails before the first simulation
    if priors is not None:
        absent = [f"{f.stem} s{s}" for f in files for s in seeds if (f.stem, s) not in priors]
        if absent:
            raise PeerscreenError(f"the priors table has no row for {', '.join(absent[:5])}")
    with feature_cache.kept():  # seeds of one review share its word matrix
        return _run_files(
            files,
            seeds,
            priors,
            output_dir,
            on_result,
            criteria_as_inclusion,
            dict(
                backend=backend,
                learner=learner,
                query=query,
                retrain=retrain,
                textless=textless,
                year_weight=year_weight,
                year_ramp=year_ramp,
            ),
        )


def _run_files(
    files: list[Path],
    seeds: list[int],
    priors: PriorTable | None,
    output_dir: Path | None,
    on_result: Callable[[SimulationResult, Path | None], None] | None,
    criteria_as_inclusion: bool,
    settings: dict[str, Any],
) -> pd.DataFrame:
    rows = []
    for path in files:
        records, _ = read_file(path)
        guide = published_criteria(path.stem) if criteria_as_inclusion else None
        for seed in seeds:
            result = simulate(
                records,
                dataset=path.stem,
                seed=seed,
                prior_ids=priors[(path.stem, seed)] if priors is not None else None,
                guide_text=guide,
                **settings,
            )
            folder = None
            if output_dir is not None:
                folder = write_simulation(result, output_dir / f"{path.stem}-s{seed}")
            rows.append(result_row(result))
            if on_result:
                on_result(result, folder)
    return pd.DataFrame(rows)


def summarise(results: pd.DataFrame) -> pd.DataFrame:
    """Mean over seeds per dataset, then the mean over datasets as a last row."""
    numeric = [
        c for c in results.columns if c.endswith(("_recall", "_work_saved")) or c in SUMMARY_COLUMNS
    ]
    per_dataset = results.groupby("dataset", sort=True)[numeric].mean().reset_index()
    mean = per_dataset[numeric].mean().to_frame().T
    mean.insert(0, "dataset", "**mean**")
    return pd.concat([per_dataset, mean], ignore_index=True)


def summary_markdown(summary: pd.DataFrame, *, backend: str, seeds: list[int], command: str) -> str:
    columns = [
        "dataset",
        "wss95",
        "wss100",
        "rrf10",
        "atd",
        "wall_seconds",
        "buscar_recall",
        "buscar_work_saved",
        "knee_recall",
        "knee_work_saved",
    ]
    table = summary[[c for c in columns if c in summary.columns]].rename(
        columns={
            "wss95": "WSS@95",
            "wss100": "WSS@100",
            "rrf10": "RRF@10",
            "atd": "ATD",
            "wall_seconds": "seconds",
            "buscar_recall": "buscar recall",
            "buscar_work_saved": "buscar work saved",
            "knee_recall": "knee recall",
            "knee_work_saved": "knee work saved",
        }
    )
    return (
        f"## Backend `{backend}`, seeds {','.join(map(str, seeds))}\n\n"
        f"Command: `{command}`. Mean over seeds per dataset; last row is the mean over datasets. "
        "Stopping rules at target recall 0.95, confidence 0.95.\n\n" + markdown_table(table)
    )


def _boolean(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("true", "on", "yes", "1"):
        return True
    if lowered in ("false", "off", "no", "0"):
        return False
    raise ValueError(value)


#: Loop settings `peerscreen bench --grid NAME=V1,V2` can vary, with how to read a value.
GRID_SETTINGS: dict[str, Callable[[str], Any]] = {
    "learner": str,
    "year_weight": float,
    "year_ramp": int,
    "criteria_as_inclusion": _boolean,
    "textless": str,
    "retrain": str,
}


def parse_grid(specs: list[str]) -> dict[str, list]:
    """`["year_weight=0,0.3", "criteria_as_inclusion=on,off"]` -> {name: [values]}, with a
    clear error for an unknown setting or a value that does not read."""
    grid: dict[str, list] = {}
    for spec in specs:
        name, sep, values = spec.partition("=")
        name = name.strip()
        if not sep or name not in GRID_SETTINGS:
            raise PeerscreenError(
                f"--grid '{spec}': expected NAME=V1,V2 with NAME one of {', '.join(GRID_SETTINGS)}"
            )
        try:
            grid[name] = [GRID_SETTINGS[name](v) for v in values.split(",") if v.strip()]
        except ValueError as error:
            raise PeerscreenError(f"--grid '{spec}': cannot read value {error}") from None
        if not grid[name]:
            raise PeerscreenError(f"--grid '{spec}': no values")
    return grid
