"""Agreement figures checked against values worked out by hand and against scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from peerscreen.screening.agreement import cohens_kappa, gwet_ac1, percent_agreement, table

# 10 records: both include 3, first only 1, second only 2, both exclude 4.
FIRST = ["include"] * 3 + ["include"] + ["exclude"] * 2 + ["exclude"] * 4
SECOND = ["include"] * 3 + ["exclude"] + ["include"] * 2 + ["exclude"] * 4


def test_table_of_the_worked_example():
    t = table(FIRST, SECOND)
    assert (t.n, t.both_in, t.first_only, t.second_only, t.both_out) == (10, 0.3, 0.1, 0.2, 0.4)


def test_percent_agreement_wilson_by_hand():
    """p = 7/10, z = 1.96: centre = (0.7 + z²/20) / (1 + z²/10) = 0.89208 / 1.38416 = 0.64448;
    half = z * sqrt(0.7*0.3/10 + z²/400) / 1.38416 = 1.96 * 0.17494 / 1.38416 = 0.24772;
    interval [0.3968, 0.8922] (the textbook Wilson interval for 7 of 10)."""
    est = percent_agreement(FIRST, SECOND)
    assert est.value == pytest.approx(0.7)
    assert est.low == pytest.approx(0.3968, abs=1e-4)
    assert est.high == pytest.approx(0.8922, abs=1e-4)


def test_cohens_kappa_by_hand():
    """Margins: first includes 0.4, second 0.5; chance = 0.4*0.5 + 0.6*0.5 = 0.5;
    kappa = (0.7 - 0.5) / 0.5 = 0.4.
    Fleiss-Cohen-Everitt: diagonal 0.3*(1 - 0.6*(0.4+0.5))² + 0.4*(1 - 0.6*(0.6+0.5))²
    = 0.06348 + 0.04624; off-diagonal 0.6² * (0.1*(0.5+0.6)² + 0.2*(0.5+0.4)²) = 0.10188;
    minus (0.4 - 0.5*0.6)² = 0.01 -> 0.2016; variance = 0.2016 / (10 * 0.5²) = 0.08064;
    SE = 0.28397; 95% CI 0.4 ± 0.55658 = [-0.1566, 0.9566]."""
    est = cohens_kappa(FIRST, SECOND)
    assert est.value == pytest.approx(0.4)
    assert est.value == pytest.approx(cohen_kappa_score(FIRST, SECOND))
    assert est.low == pytest.approx(-0.1566, abs=1e-4)
    assert est.high == pytest.approx(0.9566, abs=1e-4)


def test_gwet_ac1_by_hand():
    """pi_include = (0.4 + 0.5)/2 = 0.45; chance = 2 * 0.45 * 0.55 = 0.495;
    AC1 = (0.7 - 0.495) / 0.505 = 0.40594.
    Gwet (2008): with 2(1-AC1) = 1.18812, cells (1 - 1.18812*0.55)²*0.3 = 0.036026,
    (1 - 1.18812*0.45)²*0.4 = 0.086619, (1.18812*0.5)²*0.3 = 0.105872; sum 0.228517;
    minus (0.7 - 1.18812*0.495)² = 0.012517 -> 0.216000; variance 0.216 / (10*0.505²)
    = 0.084698; SE = 0.29103; CI 0.40594 ± 0.57041 = [-0.1645, 0.9764]."""
    est = gwet_ac1(FIRST, SECOND)
    assert est.value == pytest.approx(0.405941, abs=1e-6)
    assert est.low == pytest.approx(-0.1645, abs=1e-4)
    assert est.high == pytest.approx(0.9764, abs=1e-4)


def test_kappa_matches_sklearn_on_random_labels():
    rng = np.random.default_rng(13)
    for _ in range(20):
        n = int(rng.integers(5, 200))
        first = rng.random(n) < rng.random()
        second = np.where(rng.random(n) < 0.8, first, rng.random(n) < 0.5)
        if len(set(first) | set(second)) < 2:
            continue
        est = cohens_kappa(list(first), list(second))
        assert est.value == pytest.approx(cohen_kappa_score(first, second))
        assert est.low <= est.value <= est.high


def test_rare_inclusions_kappa_paradox_ac1_stays_high():
    """95 agreed exclusions, 1 agreed inclusion, 4 disagreements: kappa is low, AC1 high."""
    first = [1] + [0] * 95 + [1, 1, 0, 0]
    second = [1] + [0] * 95 + [0, 0, 1, 1]
    assert cohens_kappa(first, second).value < 0.4
    assert gwet_ac1(first, second).value > 0.9


def test_no_records_gives_none_everywhere():
    for estimate in (percent_agreement([], []), cohens_kappa([], []), gwet_ac1([], [])):
        assert estimate.value is None and estimate.low is None and estimate.note


def test_one_class_only_kappa_undefined_ac1_defined():
    labels = ["exclude"] * 6
    kappa = cohens_kappa(labels, labels)
    assert kappa.value is None and "undefined" in kappa.note
    ac1 = gwet_ac1(labels, labels)
    assert ac1.value == pytest.approx(1.0)
    assert percent_agreement(labels, labels).value == 1.0


def test_single_record_has_no_interval():
    est = gwet_ac1(["include"], ["include"])
    assert est.value == pytest.approx(1.0) and est.low is None and "fewer than two" in est.note


def test_bad_labels_are_refused():
    with pytest.raises(ValueError, match="not an include/exclude label"):
        percent_agreement(["skip"], ["include"])
    with pytest.raises(ValueError, match="differ in length"):
        cohens_kappa([1, 0], [1])
