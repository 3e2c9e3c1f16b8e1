"""The rank summary tells one story with the bands: which ranks to read, in band terms."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from peerscreen.review.ranking import rank_summary


def _summary(p, include, check, target=0.95):
    p = np.sort(np.asarray(p, dtype=float))[::-1]
    decisions = {"include": include, "check": check, "exclude": len(p) - include - check}
    return rank_summary(p, decisions, target)


def test_reading_past_the_bands_is_said_in_band_terms():
    """The case of issue 16: "22 include, 0 check" beside "check the first 30 records"."""
    p = [0.9] * 22 + [0.3] * 8 + [0.01] * 60
    summary = _summary(p, include=22, check=0)
    k = summary.records_to_target
    assert k == 29  # 95% of the 22.8 expected inclusions: 22 x 0.9 + 7 x 0.3
    assert summary.beyond_bands == 7
    sentence = summary.sentence()
    assert "read ranks 1-29" in sentence
    assert "the 22 include and 0 check records, then the first 7 of the exclude band" in sentence
    assert "p >= 0.30" in sentence
    assert f"alone: {summary.banded_recall:.0%}" in sentence
    assert "estimated recall" in sentence


def test_bands_that_cover_the_target_are_the_instruction():
    p = [0.9] * 10 + [0.5] * 10 + [0.001] * 80
    summary = _summary(p, include=10, check=10)
    assert summary.beyond_bands == 0
    assert summary.records_to_target <= 20
    assert summary.sentence().startswith("read ranks 1-20 (20%): the 10 include and 10 check")
    assert summary.banded_recall >= 0.95


def test_nothing_likely_included():
    summary = _summary([0.0] * 5, include=0, check=0)
    assert summary.sentence().startswith("no record is likely to be included")


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(0, 1), min_size=1, max_size=60),
    st.floats(0, 1),
    st.floats(0, 1),
    st.floats(0.5, 1.0),
)
def test_reading_depth_is_the_bands_plus_what_they_miss(p, low, high, target):
    """For any scores and monotone bands: ranks to read = banded records + the extra
    exclude-band records, or fewer than the banded ones; banded recall is their share."""
    low, high = min(low, high), max(low, high)
    p = np.sort(np.asarray(p))[::-1]
    include, check = int((p >= high).sum()), int(((p >= low) & (p < high)).sum())
    summary = _summary(p, include, check, target)
    k = summary.records_to_target
    assert summary.banded == include + check
    if summary.beyond_bands:
        assert k == summary.banded + summary.beyond_bands
        assert summary.banded_recall < target + 1e-9
    elif p.sum() > 0:
        assert k <= summary.banded
        assert summary.banded_recall >= target - 1e-9
