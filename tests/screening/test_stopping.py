import numpy as np
import pytest

from peerscreen.screening.stopping import (
    STOPPING_RULES,
    buscar_p_value,
    first_stop,
    get_stopping_rule,
)


def _front_loaded(n=2000, r=40, seed=0):
    """A good ranking: inclusions concentrated early, then a long tail of exclusions."""
    rng = np.random.default_rng(seed)
    labels = np.zeros(n, dtype=int)
    labels[np.sort(rng.choice(400, r, replace=False))] = 1
    return labels


@pytest.mark.parametrize("name", sorted(STOPPING_RULES))
def test_rules_return_estimates_and_stop_at_the_end(name):
    labels = _front_loaded()
    rule = get_stopping_rule(name)
    early = rule(labels[:20], 2000, 0.95, 0.95)
    assert early.rule == name and not early.stop
    assert rule(labels, 2000, 0.95, 0.95).stop


def test_buscar_stops_after_a_long_run_without_inclusions_and_keeps_recall():
    labels = _front_loaded()
    stop = first_stop(labels, 2000, "buscar", step=10)
    assert stop is not None and 400 < stop < 2000
    assert labels[:stop].sum() / labels.sum() >= 0.95


def test_buscar_p_value_is_high_while_inclusions_keep_coming():
    labels = np.ones(30, dtype=int)
    assert buscar_p_value(labels, 1000) > 0.5


def test_buscar_p_value_drops_with_more_evidence():
    labels = _front_loaded()
    assert buscar_p_value(labels[:1500], 2000) < buscar_p_value(labels[:600], 2000)


def test_consecutive_exclusions_threshold():
    labels = np.r_[np.ones(5, dtype=int), np.zeros(99, dtype=int)]
    # needs max(50, 5% of 2000) = 100 exclusions in a row
    assert not get_stopping_rule("consecutive-exclusions")(labels, 2000, 0.95, 0.95).stop
    assert get_stopping_rule("consecutive-exclusions")(np.r_[labels, 0], 2000, 0.95, 0.95).stop


def test_knee_detects_a_flat_tail():
    labels = np.r_[np.ones(30, dtype=int), np.zeros(1500, dtype=int)]
    assert get_stopping_rule("knee")(labels, 3000, 0.95, 0.95).stop


def _buscar_every_window(labels: np.ndarray, n_total: int, target: float = 0.95) -> float:
    """The textbook form: the minimum over every window of the last screened records."""
    from scipy.stats import hypergeom

    found, screened = int(labels.sum()), len(labels)
    hits = np.cumsum(labels[::-1])
    sizes = np.arange(1, screened + 1)
    urn = n_total - screened + sizes
    needed = np.clip(np.floor(found / target - (found - hits)) + 1, 0, urn).astype(int)
    return float(np.min(hypergeom.cdf(hits, urn, needed, sizes)))


def test_buscar_needs_only_the_windows_after_inclusions():
    rng = np.random.default_rng(7)
    for _ in range(300):
        n_total = int(rng.integers(30, 600))
        screened = int(rng.integers(1, n_total))
        rate = rng.uniform(0.005, 0.4) * np.exp(-rng.uniform(0, 0.02) * np.arange(screened))
        labels = (rng.random(screened) < rate).astype(int)
        assert buscar_p_value(labels, n_total) == _buscar_every_window(labels, n_total)


# -- what is left, and how much more to screen (issue 16, item 5) ----------------------------
from peerscreen.screening.stopping import (  # noqa: E402
    buscar,
    buscar_inclusions_left,
    buscar_records_to_stop,
)


def test_recall_bound_agrees_with_the_buscar_test():
    """The upper bound on what is left is the same test: recall's lower bound reaches the
    target exactly when buscar says stop."""
    rng = np.random.default_rng(3)
    for _ in range(150):
        n_total = int(rng.integers(50, 800))
        screened = int(rng.integers(1, n_total))
        rate = rng.uniform(0.01, 0.3) * np.exp(-rng.uniform(0, 0.03) * np.arange(screened))
        labels = (rng.random(screened) < rate).astype(int)
        found = int(labels.sum())
        if not found:
            continue
        upper = buscar_inclusions_left(labels, n_total, 0.95)
        middle = buscar_inclusions_left(labels, n_total, 0.5)
        assert 0 <= middle <= upper <= n_total - screened
        assert (found / (found + upper) >= 0.95) == buscar(labels, n_total).stop


def test_records_to_stop_matches_replaying_exclusions():
    labels = _front_loaded()
    for k in (400, 450, 700):  # past the last inclusion
        more = buscar_records_to_stop(labels[:k], 2000)
        assert more == first_stop(labels, 2000, "buscar") - k  # the tail holds no inclusion
    stop = first_stop(labels, 2000, "buscar")
    assert buscar_records_to_stop(labels[:stop], 2000) == 0
    # every one of 20 records an inclusion, 10 left, 99% recall: not before the last one
    assert buscar_records_to_stop(np.ones(20, dtype=int), 30, target_recall=0.99) is None


def test_no_rule_is_reported_as_stopping_at_the_last_record():
    """Before: knee 'stopped' at N with no work saved on Donners_2021 (256 records, under
    the 150 + a knee it needs), because every rule said stop once all were screened."""
    labels = np.r_[np.ones(10, dtype=int), np.zeros(246, dtype=int)]
    labels[100] = 1  # one late inclusion: no clear knee before the end
    assert first_stop(labels, 256, "knee") is None
    assert not get_stopping_rule("knee")(labels[:100], 256, 0.95, 0.95).stop
    assert not get_stopping_rule("consecutive-exclusions")(
        np.ones(5, dtype=int), 5, 0.95, 0.95
    ).stop
