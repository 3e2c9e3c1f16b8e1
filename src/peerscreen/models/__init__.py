"""Review models: backends registered by name, composed into a `ReviewModel`."""

from peerscreen.models import tfidf_lr  # noqa: F401  (registers the built-in backend)
from peerscreen.models.registry import BACKENDS, Backend, get_backend, register_backend

__all__ = ["BACKENDS", "Backend", "get_backend", "register_backend"]
