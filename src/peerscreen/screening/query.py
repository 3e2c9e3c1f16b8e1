"""Query strategies: which unlabelled records a reviewer should see next.

Each strategy is a pure function of (scores, labelled mask, random generator) that returns
the indices of the unlabelled pool in the order to screen them; the loop owns all state.
Registered by name in `QUERY_STRATEGIES`; a new strategy is one function and one entry.

Rarity of inclusions is handled by the learner (class weights, see `learner.py`), not
here: `max` then means "most likely inclusion first", which is what finds inclusions
earliest (certainty-based sampling, the ASReview default).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from peerscreen.errors import PeerscreenError

QueryStrategy = Callable[[np.ndarray, np.ndarray, np.random.Generator], np.ndarray]
#: Share of picks made at random by `max-random` (exploration against a model stuck on
#: one kind of inclusion).
MIX_RANDOM_SHARE = 0.05


class UnknownQueryError(PeerscreenError):
    pass


def _pool(labelled: np.ndarray) -> np.ndarray:
    return np.flatnonzero(~np.asarray(labelled, dtype=bool))


def max_query(scores: np.ndarray, labelled: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Highest score first; ties keep file order (stable), so equal records form a block."""
    pool = _pool(labelled)
    return pool[np.argsort(-scores[pool], kind="stable")]


def uncertainty_query(
    scores: np.ndarray, labelled: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Closest to p = 0.5 first: learns the boundary, finds inclusions later."""
    pool = _pool(labelled)
    return pool[np.argsort(np.abs(scores[pool] - 0.5), kind="stable")]


def random_query(scores: np.ndarray, labelled: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Uniformly random order: the baseline every screening tool must beat."""
    return rng.permutation(_pool(labelled))


def max_random_query(
    scores: np.ndarray, labelled: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """`max` order with a random record swapped into the first place 1 time in 20."""
    order = max_query(scores, labelled, rng)
    if len(order) > 1 and rng.random() < MIX_RANDOM_SHARE:
        pick = int(rng.integers(1, len(order)))
        order[[0, pick]] = order[[pick, 0]]
    return order


QUERY_STRATEGIES: dict[str, QueryStrategy] = {
    "max": max_query,
    "uncertainty": uncertainty_query,
    "max-random": max_random_query,
    "random": random_query,
}


def get_query(name: str) -> QueryStrategy:
    try:
        return QUERY_STRATEGIES[name]
    except KeyError:
        raise UnknownQueryError(
            f"unknown query strategy '{name}' (choose from {', '.join(QUERY_STRATEGIES)})"
        ) from None
