"""Review models: backends registered by name, composed into a `ReviewModel`."""

from peerscreen.models import nb, tfidf_lr, tfidf_svm  # noqa: F401  (register the built-ins)
from peerscreen.models.registry import BACKENDS, Backend, get_backend, register_backend

__all__ = ["BACKENDS", "Backend", "get_backend", "register_backend"]
