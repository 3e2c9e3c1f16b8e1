"""MLflow set-up shared by every run and model load: where runs go, and quiet defaults.

With no `--tracking-uri` and no `MLFLOW_TRACKING_URI`, runs go to MLflow's embedded SQLite
store (`sqlite:///mlflow.db`, artifacts in `./mlruns`): no server needed.
"""

from __future__ import annotations

import logging
import os
import warnings

DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"


def quiet_mlflow_environment() -> None:
    """Offline-friendly defaults (PLATFORM.md): no telemetry, no pip requirement checks."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("MLFLOW_SKIP_PIP_REQUIREMENTS_CHECK", "true")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "ERROR")
    import mlflow  # noqa: F401  (configures its loggers on import: quieten them after)

    for name in ("mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=UserWarning, module=r"mlflow\.")


def configure_tracking(tracking_uri: str | None = None) -> str:
    """Point MLflow at `tracking_uri`, else $MLFLOW_TRACKING_URI, else embedded SQLite."""
    quiet_mlflow_environment()
    import mlflow

    uri = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return uri
