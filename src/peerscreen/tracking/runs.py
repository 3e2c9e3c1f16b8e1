"""MLflow runs: one per training (params, metrics, figures, the pyfunc model) and one per
simulation (settings, metrics, stopping results, curve and order)."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from peerscreen import __version__
from peerscreen.reporting import markdown_table
from peerscreen.tracking.pyfunc import log_pyfunc
from peerscreen.tracking.setup import configure_tracking


@dataclass
class LoggedRun:
    run_id: str
    experiment: str
    model_uri: str
    registered_name: str | None
    registered_version: str | None
    tracking_uri: str


def log_training_run(
    result: Any,
    *,
    experiment: str,
    register_as: str | None,
    config_path: Path,
    data_paths: list[str],
    tracking_uri: str | None = None,
) -> LoggedRun:
    """One MLflow run: params, metrics, figures, per-domain table, config, pyfunc model."""
    uri = configure_tracking(tracking_uri)
    import mlflow

    from peerscreen.plots import confusion_figure, roc_pr_figure

    model = result.model
    info = model.info
    mlflow.set_experiment(experiment)
    with (
        mlflow.start_run(run_name=f"train-{info['backend']}") as run,
        tempfile.TemporaryDirectory() as tmp,
    ):
        folder = Path(tmp)
        params = {
            "backend": info["backend"],
            "seed": info["seed"],
            "review": info["review"],
            "config_path": str(config_path),
            "config_digest": info["config_digest"],
            "data_paths": ";".join(data_paths)[:500],
            "data_digest": info["data_digest"],
            "target_recall": info["target_recall"],
            "peerscreen_version": __version__,
        }
        params.update({f"backend_{k}": str(v) for k, v in result.params.items()})
        mlflow.log_params(params)
        mlflow.log_metrics({k: float(v) for k, v in result.metrics.items()})
        roc_pr_figure(
            result.y,
            result.cv.p_include,
            folder / "inclusion_roc_pr.png",
            "Inclusion (out-of-fold)",
        )
        mlflow.log_artifact(str(folder / "inclusion_roc_pr.png"), "figures")
        if result.confusion is not None:
            confusion_figure(
                result.confusion,
                result.category_labels,
                folder / "category_confusion.png",
                "Category (out-of-fold)",
            )
            mlflow.log_artifact(str(folder / "category_confusion.png"), "figures")
        if result.outcome_table is not None:
            result.outcome_table.to_csv(folder / "outcome_domains.csv", index=False)
            (folder / "outcome_domains.md").write_text(
                markdown_table(result.outcome_table.round(3))
            )
            mlflow.log_artifact(str(folder / "outcome_domains.csv"), "tables")
            mlflow.log_artifact(str(folder / "outcome_domains.md"), "tables")
        mlflow.log_artifact(str(config_path), "config")
        logged = log_pyfunc(model, register_as=register_as)
        version = getattr(logged, "registered_model_version", None)
        return LoggedRun(
            run_id=run.info.run_id,
            experiment=experiment,
            model_uri=logged.model_uri,
            registered_name=register_as,
            registered_version=str(version) if version is not None else None,
            tracking_uri=uri,
        )


def log_simulation(
    result: Any,
    folder: Path,
    *,
    experiment: str,
    tracking_uri: str | None = None,
    nested: bool = False,
    run_name: str | None = None,
) -> str:
    """One MLflow run per simulation: settings, metrics, stopping results, curve and order."""
    configure_tracking(tracking_uri)
    import mlflow

    if not nested:
        mlflow.set_experiment(experiment)
    settings = result.settings
    with mlflow.start_run(
        run_name=run_name or f"simulate-{result.dataset}-s{settings['seed']}", nested=nested
    ) as run:
        mlflow.log_params(
            {
                "dataset": result.dataset,
                "backend": settings["backend"],
                "query": settings["query"],
                "seed": settings["seed"],
                "prior_ids": ";".join(settings["prior_ids"])[:500],
                "cold_start": settings["cold_start"],
                "stop_after": settings["stop_after"],
                "retrain": settings.get("retrain", "every"),
                "textless": settings.get("textless", "tied"),
                "criteria_as_inclusion": settings.get("criteria_as_inclusion", False),
                "year_features": settings.get("year_features", False),
            }
        )
        metrics = {k: float(v) for k, v in result.metrics.items() if isinstance(v, int | float)}
        for rule, outcome in result.stopping.items():
            metrics[f"stop_{rule}_recall"] = float(outcome["recall"])
            metrics[f"stop_{rule}_work_saved"] = float(outcome["work_saved"])
        mlflow.log_metrics(metrics)
        for name in ("metrics.json", "order.csv", "recall_curve.png"):
            if (folder / name).exists():
                mlflow.log_artifact(str(folder / name))
        return run.info.run_id
