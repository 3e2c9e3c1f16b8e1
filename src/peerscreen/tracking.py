"""MLflow: tracking set-up, logging training runs, the pyfunc model, and loading models back.

With no `--tracking-uri` and no `MLFLOW_TRACKING_URI`, runs go to MLflow's embedded SQLite
store (`sqlite:///mlflow.db`, artifacts in `./mlruns`): no server needed. The model is
logged as a custom `mlflow.pyfunc.PythonModel` (MLflow's sklearn flavour mishandles a
one-column frame of texts) that takes a DataFrame of `title`, `abstract` (optional `year`,
`language`, and `mesh` as `;`-separated headings) and returns the prediction columns, with a
signature and an input example. The `task` parameter picks the output: `"predict"` (the
default: inclusion, decision, category, outcomes, flags) or `"tag"` (what `peerscreen tag`
writes, no inclusion score), so `mlflow.pyfunc.spark_udf(..., params={"task": "tag"})` tags.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import pandas as pd

from peerscreen import __version__
from peerscreen.errors import PeerscreenError
from peerscreen.reporting import markdown_table

DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"
MODEL_ARTIFACT = "review_model.joblib"
PYFUNC_OUTPUTS = (
    "p_include",
    "decision",
    "category",
    "p_category",
    "outcomes",
    "outcome_scores",
    "exclusion_flags",
)
#: The pyfunc's output with params={"task": "tag"}: the columns `peerscreen tag` predicts.
PYFUNC_TAG_OUTPUTS = (
    "category",
    "p_category",
    "outcomes",
    "outcome_scores",
    "exclusion_reason",
    "exclusion_flags",
    "design",
)
_INPUT_EXAMPLE = pd.DataFrame(
    {
        "title": ["Peer specialists on assertive community treatment teams: a randomized trial"],
        "abstract": [
            "Adults with serious mental illness were randomized to teams with or without a "
            "peer specialist; admissions and quality of life were compared at 12 months."
        ],
        "year": [2004],
        "language": ["en"],
    }
)


class ModelNotFoundError(PeerscreenError):
    pass


def quiet_mlflow_environment() -> None:
    """Offline-friendly defaults (PLATFORM.md): no telemetry, no pip requirement checks."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("MLFLOW_SKIP_PIP_REQUIREMENTS_CHECK", "true")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "ERROR")
    import mlflow  # noqa: F401  (configures its loggers on import: quieten them after)

    for name in ("mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message=r"(?s).*Add type hints")
    warnings.filterwarnings("ignore", category=UserWarning, module=r"mlflow\.")


def configure_tracking(tracking_uri: str | None = None) -> str:
    """Point MLflow at `tracking_uri`, else $MLFLOW_TRACKING_URI, else embedded SQLite."""
    quiet_mlflow_environment()
    import mlflow

    uri = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return uri


def _pyfunc_class():
    import mlflow.pyfunc

    class PeerscreenModel(mlflow.pyfunc.PythonModel):
        """peerscreen's review model behind MLflow's pyfunc interface."""

        def load_context(self, context):
            self.review_model = joblib.load(context.artifacts["review_model"])

        def predict(self, context, model_input, params=None):
            frame = (
                model_input if isinstance(model_input, pd.DataFrame) else pd.DataFrame(model_input)
            )
            if "mesh" in frame:
                frame = frame.assign(mesh=[_mesh_list(m) for m in frame["mesh"]])
            if (params or {}).get("task") == "tag":
                predictions = self.review_model.predict(frame, with_inclusion=False, top_terms=0)
                return predictions.reindex(columns=list(PYFUNC_TAG_OUTPUTS))
            predictions = self.review_model.predict(frame, top_terms=0)
            return predictions[[c for c in PYFUNC_OUTPUTS if c in predictions]]

    return PeerscreenModel


def _mesh_list(value: Any) -> list[str]:
    """MeSH headings as the models read them, from a `;`-separated string or a list."""
    if isinstance(value, str):
        return [m.strip() for m in value.split(";") if m.strip()]
    return list(value) if isinstance(value, list | tuple) else []


def _signature():
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, ParamSchema, ParamSpec, Schema

    inputs = Schema(
        [
            ColSpec("string", "title"),
            ColSpec("string", "abstract", required=False),
            ColSpec("long", "year", required=False),
            ColSpec("string", "language", required=False),
            ColSpec("string", "mesh", required=False),
        ]
    )
    outputs = Schema(
        [
            ColSpec("double", "p_include"),
            ColSpec("string", "decision"),
            ColSpec("string", "category"),
            ColSpec("double", "p_category"),
            ColSpec("string", "outcomes"),
            ColSpec("string", "outcome_scores"),
            ColSpec("string", "exclusion_flags"),
        ]
    )
    params = ParamSchema([ParamSpec("task", "string", "predict")])
    return ModelSignature(inputs=inputs, outputs=outputs, params=params)


def _requirements() -> list[str]:
    from importlib.metadata import version

    packages = ("scikit-learn", "spacy", "pandas", "pydantic", "joblib", "scipy")
    return [f"{p}=={version(p)}" for p in packages]


@contextlib.contextmanager
def _model_artifact(model: Any) -> Iterator[str]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / MODEL_ARTIFACT
        joblib.dump(model, path, compress=3)
        yield str(path)


def save_pyfunc(model: Any, target: str | Path) -> Path:
    """Write `model` as an MLflow pyfunc model folder, replacing `target` atomically."""
    quiet_mlflow_environment()
    import mlflow.pyfunc

    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    shutil.rmtree(staging)
    try:
        with _model_artifact(model) as artifact:
            mlflow.pyfunc.save_model(
                path=str(staging),
                python_model=_pyfunc_class()(),
                artifacts={"review_model": artifact},
                signature=_signature(),
                input_example=_INPUT_EXAMPLE,
                pip_requirements=_requirements(),
            )
        backup = target.with_name(f".{target.name}.old")
        if target.exists():
            shutil.rmtree(backup, ignore_errors=True)
            target.rename(backup)
        staging.rename(target)
        shutil.rmtree(backup, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


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
    import mlflow.pyfunc

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
        with _model_artifact(model) as artifact:
            logged = mlflow.pyfunc.log_model(
                name="model",
                python_model=_pyfunc_class()(),
                artifacts={"review_model": artifact},
                signature=_signature(),
                input_example=_INPUT_EXAMPLE,
                pip_requirements=_requirements(),
                registered_model_name=register_as,
            )
        version = getattr(logged, "registered_model_version", None)
        return LoggedRun(
            run_id=run.info.run_id,
            experiment=experiment,
            model_uri=logged.model_uri,
            registered_name=register_as,
            registered_version=str(version) if version is not None else None,
            tracking_uri=uri,
        )


def load_review_model(reference: str | Path, tracking_uri: str | None = None) -> Any:
    """Load a ReviewModel from a pyfunc folder, a joblib file, or a `models:/`/`runs:/` URI."""
    text = str(reference)
    if text.startswith(("models:/", "runs:/")):
        configure_tracking(tracking_uri)
        import mlflow.pyfunc

        try:
            loaded = mlflow.pyfunc.load_model(text)
        except Exception as exc:  # MLflow raises several types for unknown models
            raise ModelNotFoundError(
                f"cannot load {text}: {' '.join(str(exc).split())[:200]}"
            ) from None
        return loaded.unwrap_python_model().review_model
    path = Path(reference)
    artifact = path / "artifacts" / MODEL_ARTIFACT
    if path.is_dir() and artifact.is_file():
        return joblib.load(artifact)
    if path.is_file():
        return joblib.load(path)
    raise ModelNotFoundError(
        f"{path}: no model found (train one with `peerscreen train --promote` or `make model`)"
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
