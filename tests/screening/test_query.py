"""Every query strategy returns a permutation of the pool (registry-wide contract)."""

import numpy as np
import pytest

from peerscreen.screening.query import QUERY_STRATEGIES, UnknownQueryError, get_query


@pytest.mark.parametrize("name", sorted(QUERY_STRATEGIES))
def test_strategy_returns_a_permutation_of_the_pool(name):
    rng = np.random.default_rng(0)
    scores = rng.random(50)
    labelled = np.zeros(50, dtype=bool)
    labelled[[3, 7, 11]] = True
    order = get_query(name)(scores, labelled, np.random.default_rng(1))
    assert sorted(order.tolist()) == sorted(np.flatnonzero(~labelled).tolist())


@pytest.mark.parametrize("name", sorted(QUERY_STRATEGIES))
def test_same_seed_same_order(name):
    scores = np.random.default_rng(0).random(30)
    labelled = np.zeros(30, dtype=bool)
    a = get_query(name)(scores, labelled, np.random.default_rng(5))
    b = get_query(name)(scores, labelled, np.random.default_rng(5))
    assert a.tolist() == b.tolist()


def test_max_and_uncertainty_orders():
    scores = np.array([0.1, 0.9, 0.55, 0.9, 0.3])
    labelled = np.array([False, False, False, False, True])
    rng = np.random.default_rng(0)
    assert get_query("max")(scores, labelled, rng).tolist() == [1, 3, 2, 0]  # ties in file order
    assert get_query("uncertainty")(scores, labelled, rng)[0] == 2


def test_unknown_strategy():
    with pytest.raises(UnknownQueryError, match="max"):
        get_query("best")
