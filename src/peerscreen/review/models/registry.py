"""The backend registry: a backend is one module and one entry here.

A backend supplies a featurizer (records -> matrix) and three heads: a binary inclusion
classifier with calibrated probabilities, a multi-class category classifier, and a
multi-label outcome tagger. `ReviewModel` composes them, so every backend works in train,
rank, tag, simulate and bench without a new code path.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from peerscreen.errors import PeerscreenError


class UnknownBackendError(PeerscreenError):
    pass


@dataclass(frozen=True)
class Backend:
    """Factories for a backend's estimators (each call returns a fresh, unfitted one)."""

    name: str
    description: str
    featurizer: Callable[[dict, dict], Any]
    inclusion_head: Callable[[dict, int], Any]
    category_head: Callable[[dict, int], Any]
    outcome_head: Callable[[dict, int], Any]
    defaults: dict[str, Any] = field(default_factory=dict)
    #: For the active-learning loop (retrained after every decision): a text featurizer
    #: (list of str -> matrix) and a fast classifier. None: `learner.py`'s defaults.
    screening_featurizer: Callable[[dict], Any] | None = None
    screening_head: Callable[[dict, int], Any] | None = None

    def params(self, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
        params = dict(self.defaults)
        for key, value in (overrides or {}).items():
            if key not in params:
                raise UnknownBackendError(
                    f"backend '{self.name}' has no parameter '{key}' "
                    f"(parameters: {', '.join(sorted(params))})"
                )
            params[key] = value
        return params


BACKENDS: dict[str, Backend] = {}


def register_backend(backend: Backend) -> Backend:
    BACKENDS[backend.name] = backend
    return backend


def get_backend(name: str) -> Backend:
    try:
        return BACKENDS[name]
    except KeyError:
        raise UnknownBackendError(
            f"unknown backend '{name}' (choose from {', '.join(sorted(BACKENDS))})"
        ) from None
