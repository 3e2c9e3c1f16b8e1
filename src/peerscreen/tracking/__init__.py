"""MLflow tracking: run logging, the pyfunc model, and comparing runs across experiments."""

from peerscreen.tracking.pyfunc import (
    MODEL_ARTIFACT,
    PYFUNC_OUTPUTS,
    PYFUNC_TAG_OUTPUTS,
    ModelNotFoundError,
    load_review_model,
    log_pyfunc,
    save_pyfunc,
)
from peerscreen.tracking.runs import LoggedRun, log_simulation, log_training_run
from peerscreen.tracking.setup import (
    DEFAULT_TRACKING_URI,
    configure_tracking,
    quiet_mlflow_environment,
)

__all__ = [
    "DEFAULT_TRACKING_URI",
    "MODEL_ARTIFACT",
    "PYFUNC_OUTPUTS",
    "PYFUNC_TAG_OUTPUTS",
    "LoggedRun",
    "ModelNotFoundError",
    "configure_tracking",
    "load_review_model",
    "log_pyfunc",
    "log_simulation",
    "log_training_run",
    "quiet_mlflow_environment",
    "save_pyfunc",
]
