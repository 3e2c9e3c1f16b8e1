"""Small span helpers of the criteria flagger (`criteria.py`): which sentence holds an
offset, nested spans, ignored spans, the title as its own sentence, a sentence's stripped
text, whether a hit states an age."""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np

from peerscreen.review.sentences import TITLE_SEPARATOR as _TITLE_SEPARATOR
from peerscreen.review.sentences import Sentence
from peerscreen.review.token_doc import TokenDoc

if TYPE_CHECKING:
    from spacy.tokens import Doc


def _sentence_at(starts: list[int], offset: int) -> int:
    """Index of the sentence holding character `offset`."""
    return max(0, bisect.bisect_right(starts, offset) - 1)


def _role_at(found: list[Sentence], starts: list[int], offset: int) -> str:
    """The role of the sentence holding character `offset`."""
    return found[_sentence_at(starts, offset)].role if found else ""


def _longest_first(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Drop spans nested inside a longer span of the same key; keep document order."""
    ordered = sorted(set(spans), key=lambda s: (s[0], -(s[1] - s[0])))
    kept: list[tuple[int, int]] = []
    for start, end in ordered:
        if kept and start < kept[-1][1] and end <= kept[-1][1]:
            continue
        kept.append((start, end))
    return kept


def _title_is_a_sentence(doc: Doc | TokenDoc, title_chars: int) -> None:
    """Start a sentence where the abstract starts: titles seldom end with a full stop, and
    without this the title's sentence would run on into the abstract's first one."""
    from spacy.attrs import IDX, SENT_START

    boundary = title_chars + len(_TITLE_SEPARATOR)
    if isinstance(doc, TokenDoc):
        first = bisect.bisect_left(doc.starts, boundary)
        marks = doc.sent_starts
        separator = 0 < first < len(doc) and doc.spaces[first - 1]
        if marks is not None and separator and doc.starts[first - 1] <= title_chars:
            marks[first] = True
        return
    first = int(np.searchsorted(doc.to_array(IDX), boundary))  # token offsets are sorted
    if not 0 < first < len(doc):
        return
    separator = doc[first - 1]  # the blank line's own token in a record's text
    if separator.is_space and separator.idx <= title_chars:  # else not a record text
        # as `doc[first].is_sent_start = True`, whose setter scans the whole doc for a
        # dependency parse on every call
        starts = doc.to_array([SENT_START])
        if starts[first] != 1:
            starts[first] = 1
            doc.from_array([SENT_START], starts.reshape(len(doc), 1))


def _stripped(span) -> tuple[str, int, int]:
    """A sentence's text without surrounding whitespace, and that text's offsets."""
    text = span.text
    lead = len(text) - len(text.lstrip())
    stripped = text.strip()
    start = span.start_char + lead
    return stripped, start, start + len(stripped)


def _drop_ignored(
    hits: dict[str, list[tuple[int, int]]],
    ignore: Iterable[tuple[int, int]],
    kinds: tuple[str, ...],
) -> None:
    """Drop the hits of `kinds` ("exclusion:...", "population:...") that start inside an
    `ignore` span (`[evidence] ignore`: "since childhood" is no youth cue)."""
    ignored = {i for a, b in ignore for i in range(a, b)}
    if not ignored:
        return
    for key in [k for k in hits if k.partition(":")[0] in kinds]:
        kept = [(a, b) for a, b in hits[key] if a not in ignored]
        if kept:
            hits[key] = kept
        else:
            del hits[key]


_AGE_WORDS = ("age", "year", "month", "old", "under")


def _states_an_age(evidence: str) -> bool:
    """'aged 13-17', 'a 9-year-old', 'mean age 10.5': a number and an age word."""
    words = evidence.lower()
    return any(c.isdigit() for c in words) and any(w in words for w in _AGE_WORDS)
