"""Label derivation from the decision log: single mode as before, dual mode's rules."""

from __future__ import annotations

import dataclasses

import pytest

from peerscreen.screening.labels import label_state_from, votes_from
from peerscreen.screening.store import Decision

INDEX = {"a": 0, "b": 1, "c": 2, "d": 3}


@dataclasses.dataclass(frozen=True)
class Made(Decision):
    """A Decision with screener and mode, as the team store writes them."""

    screener: str = "unrecorded"
    mode: str = "single"


def log(*entries: tuple) -> list[Decision]:
    """Decisions from (record_id, action[, screener, mode[, undone]]) tuples, seq 1, 2..."""
    made = []
    for seq, entry in enumerate(entries, start=1):
        record_id, action, *rest = entry
        screener, mode, undone = (list(rest) + ["unrecorded", "single", False][len(rest) :])[:3]
        made.append(
            Made(
                seq,
                record_id,
                action,
                None,
                None,
                "t",
                None,
                0,
                "test",
                undone=undone,
                screener=screener,
                mode=mode,
            )
        )
    return made


def test_single_mode_latest_active_decision_wins():
    state = label_state_from(
        log(
            ("a", "include"),
            ("b", "exclude"),
            ("a", "exclude"),
            ("c", "skip"),
            ("d", "include", "x", "single", True),
        ),
        INDEX,
        4,
        "single",
    )
    assert state.status == ["exclude", "exclude", "skip", None]
    assert state.order == [0, 1]  # by first label
    assert list(state.labels_in_order) == [0, 0]
    assert state.revision == 6  # 5 decisions + 1 undo
    assert state.latest[0].seq == 3
    assert state.count("exclude") == 2 and state.count(None) == 1


def test_single_mode_plain_decisions_without_screener_fields():
    plain = [Decision(1, "b", "include", None, None, "t", None, 0, "api")]
    state = label_state_from(plain, INDEX, 4)
    assert state.status == [None, "include", None, None]


def test_dual_mode_either_include_before_resolution():
    entries = [
        ("a", "include", "ann", "first"),
        ("a", "exclude", "bob", "second"),  # conflict -> include
        ("b", "exclude", "ann", "first"),  # one decision -> that label
        ("c", "exclude", "ann", "first"),
        ("c", "exclude", "bob", "second"),  # agree
        ("d", "skip", "ann", "first"),
    ]
    state = label_state_from(log(*entries), INDEX, 4, "dual")
    assert state.status == ["include", "exclude", "exclude", "skip"]
    assert state.order == [0, 1, 2]
    assert votes_from(log(*entries))["a"].in_conflict
    assert not votes_from(log(*entries))["c"].in_conflict


def test_dual_mode_resolution_wins_and_screener_supersedes_only_self():
    entries = [
        ("a", "include", "ann", "first"),
        ("a", "exclude", "bob", "second"),
        ("a", "exclude", "owner", "resolution"),
        ("b", "include", "ann", "first"),
        ("b", "exclude", "ann", "first"),  # ann changes her mind
        ("b", "exclude", "bob", "second"),
    ]
    state = label_state_from(log(*entries), INDEX, 4, "dual")
    assert state.status[:2] == ["exclude", "exclude"]
    assert not votes_from(log(*entries))["a"].in_conflict


def test_dual_mode_undone_resolution_reopens_conflict():
    entries = [
        ("a", "include", "ann", "first"),
        ("a", "exclude", "bob", "second"),
        ("a", "exclude", "owner", "resolution", True),
    ]
    state = label_state_from(log(*entries), INDEX, 4, "dual")
    assert state.status[0] == "include"
    assert votes_from(log(*entries))["a"].in_conflict
    assert state.revision == 4


def test_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="unknown screening mode"):
        label_state_from([], INDEX, 4, "triple")
