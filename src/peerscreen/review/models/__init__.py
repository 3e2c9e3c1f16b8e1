"""Review models: backends registered by name, composed into a `ReviewModel`."""

# importing a backend module registers it
from peerscreen.review.models import minilm, nb, spacy_textcat, tfidf_lr, tfidf_svm  # noqa: F401
from peerscreen.review.models.registry import BACKENDS, Backend, get_backend, register_backend

__all__ = ["BACKENDS", "Backend", "get_backend", "register_backend"]
