"""The review model as an MLflow pyfunc model: saving it, its signature, and loading it back.

The model is logged as a custom `mlflow.pyfunc.PythonModel` (MLflow's sklearn flavour
mishandles a one-column frame of texts) that takes a DataFrame of `title`, `abstract`
(optional `year`, `language`, and `mesh` as `;`-separated headings) and returns the
prediction columns, with a signature and an input example. The `task` parameter picks the
output: `"predict"` (the default: inclusion, decision, category, outcomes, flags) or `"tag"`
(what `peerscreen tag` writes, no inclusion score), so
`mlflow.pyfunc.spark_udf(..., params={"task": "tag"})` tags.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import joblib
import pandas as pd

from peerscreen.errors import PeerscreenError
from peerscreen.tracking.setup import configure_tracking, quiet_mlflow_environment

MODEL_ARTIFACT = "review_model.joblib"
PYFUNC_OUTPUTS = (
    "p_include",
    "decision",
    "category",
    "p_category",
    "outcomes",
    "outcome_scores",
    "exclusion_flags",
    "evidence",
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
    "evidence",
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


def _pyfunc_class():
    import mlflow.pyfunc

    class PeerscreenModel(mlflow.pyfunc.PythonModel):
        """peerscreen's review model behind MLflow's pyfunc interface."""

        def load_context(self, context):
            self.review_model = joblib.load(context.artifacts["review_model"])

        # The type hints are what MLflow asks for: without them it warns on every save and
        # log ("Add type hints to the `predict` method"); a DataFrame hint keeps the explicit
        # signature below as the schema.
        def predict(
            self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
        ) -> pd.DataFrame:
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
            ColSpec("string", "evidence"),
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


def log_pyfunc(model: Any, *, register_as: str | None = None) -> Any:
    """Log `model` to the active MLflow run as artifact `model` (registered as `register_as`
    if given); returns MLflow's ModelInfo."""
    import mlflow.pyfunc

    with _model_artifact(model) as artifact:
        return mlflow.pyfunc.log_model(
            name="model",
            python_model=_pyfunc_class()(),
            artifacts={"review_model": artifact},
            signature=_signature(),
            input_example=_INPUT_EXAMPLE,
            pip_requirements=_requirements(),
            registered_model_name=register_as,
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
