"""Stopping advice in a reviewer's words (issue 16, item 5)."""

from __future__ import annotations

import numpy as np

from peerscreen.screening.advice import describe_rule, stopping_advice
from peerscreen.screening.stopping import STOPPING_RULES, first_stop
from tests.screening.test_stopping import _front_loaded


def test_advice_mid_review_gives_recall_what_is_left_and_how_much_more():
    labels = _front_loaded()[:600]
    advice = stopping_advice(labels, 2000)
    assert advice.n_included == 40 and advice.n_unscreened == 1400
    assert 0 < advice.recall_lower < advice.recall_estimate <= 1
    assert advice.inclusions_left <= advice.inclusions_left_upper
    assert advice.records_to_stop == first_stop(_front_loaded(), 2000, "buscar") - 600
    text = "\n".join(advice.sentences())
    assert "Recall so far: about " in text and "at 95% confidence" in text
    assert f"at most {advice.inclusions_left_upper} at 95% confidence" in text
    assert f"Screen about {advice.records_to_stop} more records to reach 95% recall" in text
    assert set(advice.rules) == set(STOPPING_RULES)


def test_advice_says_stop_once_buscar_does():
    labels = _front_loaded()
    stop = first_stop(labels, 2000, "buscar")
    advice = stopping_advice(labels[:stop], 2000)
    assert advice.target_reached and advice.records_to_stop == 0
    assert advice.recall_lower >= 0.95
    assert any("you can stop" in line for line in advice.sentences())


def test_advice_edge_cases_are_plain():
    assert stopping_advice(np.array([], dtype=int), 50).sentences() == [
        "Nothing screened yet: 50 records to screen."
    ]
    none_found = stopping_advice(np.zeros(10, dtype=int), 50)
    assert none_found.recall_estimate is None
    assert "No inclusion found yet in 10 records" in none_found.sentences()[0]
    done = stopping_advice(np.r_[np.ones(3, dtype=int), np.zeros(7, dtype=int)], 10)
    assert done.target_reached
    assert done.sentences()[0].startswith("Every record has been screened: 3 included")
    late = stopping_advice(np.ones(20, dtype=int), 30, target_recall=0.99)
    assert "screen all 10 records left" in late.sentences()[-1]


def test_rules_that_have_not_fired_say_what_they_wait_for():
    labels = _front_loaded()[:100]
    advice = stopping_advice(labels, 2000)
    knee = describe_rule(advice.rules["knee"], advice.n_screened)
    assert knee.startswith("not yet") and "150 records screened (100 so far)" in knee
    run = describe_rule(advice.rules["consecutive-exclusions"], advice.n_screened)
    assert run.startswith("not yet") and "stops at 100" in run
    buscar = describe_rule(advice.rules["buscar"], advice.n_screened)
    assert buscar.startswith("not yet") and "under 95%" in buscar
