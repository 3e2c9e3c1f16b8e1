"""Run only the spaCy Matcher patterns that can match a doc: the same matches, sooner.

spaCy's `Matcher` walks every token of a doc through every token pattern, and on abstracts
it costs more than the rest of the criteria rules together, although most patterns match
almost nothing (a few in a hundred records). `PatternGate` proves cheaply, for each
pattern, that it cannot match a doc, and hands the doc to a Matcher holding only the
patterns it could not rule out.

The proof is conservative. A pattern's *required* tokens (no `OP`, or `OP: "!"`) each
consume one token, optional ones (`OP: "?"`) zero or one. A required token with a `LOWER`
value (or an `IN` list of them) can only sit on a token with that lower-case form, one with
an `ORTH`/`TEXT` value on a token whose lower-case form is that value's (a weaker test, as
spaCy's `LOWER` is `str.lower` of the text), one with `LIKE_NUM: true` on a number-like
token; any other attribute or predicate is taken to match any token. A
pattern is ruled out when (1) some required token's values do not occur in the doc at
all, or (2) for patterns of only required and optional tokens, the required tokens cannot
be placed in order with the gaps the optional tokens allow. Patterns with `+`, `*` or
counted operators only get test (1).

Why the reduced Matcher returns *exactly* the full Matcher's output, in the same order: the
Matcher advances one state per (pattern, start) through the doc, each state independently
of the others, keeps the surviving states in order and appends new ones in order; a match
is emitted when a state completes. Removing patterns removes their states and nothing
else, and patterns that cannot match emit nothing, so the remaining matches come out as
before. The reduced Matcher gets the surviving patterns in their original order under
their original keys (so its de-duplication of equal (key, start, end) matches is the same).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from spacy.attrs import LIKE_NUM, LOWER
from spacy.matcher import Matcher
from spacy.tokens import Doc
from spacy.vocab import Vocab

from peerscreen.review.token_matcher import token_forms

#: Columns of `Doc.to_array([LOWER, LIKE_NUM])`.
_LOWER_COLUMN, _LIKE_NUM_COLUMN = 0, 1


@dataclass
class _Condition:
    """The values one required token can take: hashes of lower-case forms, or any
    number-like token. `ids` and `lookup` index the gate's sorted table of
    every condition's hashes (filled in by `PatternGate._compile`)."""

    column: int
    hashes: tuple[int, ...] = ()
    ids: frozenset[int] = frozenset()
    lookup: np.ndarray | None = None

    def present(self, doc: _DocIndex) -> bool:
        if self.column == _LIKE_NUM_COLUMN:
            return doc.has_number
        return not self.ids.isdisjoint(doc.seen)

    def mask(self, doc: _DocIndex) -> np.ndarray:
        if self.column == _LIKE_NUM_COLUMN:
            return doc.numbers
        return self.lookup[doc.ids]


@dataclass(frozen=True)
class _Pattern:
    key: str
    tokens: list[dict]
    #: conditions of required tokens (test 1)
    conditions: tuple[_Condition, ...]
    #: per required token in order: its condition (None: any token) and how many optional
    #: tokens precede it since the previous required one; None when the pattern has other
    #: operators (no test 2)
    steps: tuple[tuple[_Condition | None, int], ...] | None


class _DocIndex:
    """One doc's tokens as positions in the gate's hash table (absent: the table's length),
    so each condition is a set test or one array lookup."""

    def __init__(self, doc: Doc, table: np.ndarray):
        columns = doc.to_array([LOWER, LIKE_NUM])
        self.length = len(columns)
        self.ids = _positions(table, columns[:, _LOWER_COLUMN])
        self.seen = set(self.ids[self.ids < len(table)].tolist())
        self.numbers = columns[:, _LIKE_NUM_COLUMN] != 0
        self.has_number = bool(self.numbers.any())


def _positions(table: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Index of each value in the sorted `table`, or len(table) where it is absent."""
    found = np.searchsorted(table, values)
    found[found == len(table)] = 0
    if len(table):
        found[table[found] != values] = len(table)
    else:
        found[:] = 0
    return found


class PatternGate:
    """Keeps a copy of every pattern added to a Matcher, and picks the ones worth running."""

    #: Reduced Matchers kept, one per set of surviving patterns.
    CACHE_LIMIT = 512

    def __init__(self, vocab: Vocab):
        self.vocab = vocab
        self.patterns: list[_Pattern] = []
        self._matchers: dict[tuple[int, ...], Matcher] = {}
        self._table: np.ndarray | None = None

    def add(self, key: str, tokens: list[dict]) -> None:
        """Record one pattern, in the order it was added to the full Matcher."""
        conditions: list[_Condition] = []
        steps: list[tuple[_Condition | None, int]] | None = []
        optional = 0
        for token in tokens:
            spec = {str(k).upper(): v for k, v in token.items()}
            op = spec.get("OP")
            condition = self._condition(spec) if op in (None, "+") else None
            if condition is not None:
                conditions.append(condition)
            if op == "?":
                optional += 1
            elif op in (None, "!") and steps is not None:
                steps.append((condition, optional))
                optional = 0
            else:
                steps = None
        self.patterns.append(
            _Pattern(key, tokens, tuple(conditions), None if steps is None else tuple(steps))
        )
        self._matchers.clear()
        self._table = None

    def _condition(self, spec: dict) -> _Condition | None:
        forms = token_forms(spec)
        if forms:
            return _Condition(_LOWER_COLUMN, tuple(self.vocab.strings.add(v) for v in forms))
        if spec.get("LIKE_NUM") is True:
            return _Condition(_LIKE_NUM_COLUMN)
        return None

    def _compile(self) -> np.ndarray:
        """One sorted table of every condition's hashes; each condition's place in it."""
        conditions = [c for p in self.patterns for c in p.conditions]
        table = np.unique(np.array([h for c in conditions for h in c.hashes], dtype=np.uint64))
        for condition in conditions:
            ids = np.searchsorted(table, np.array(condition.hashes, dtype=np.uint64))
            condition.ids = frozenset(ids.tolist())
            condition.lookup = np.zeros(len(table) + 1, dtype=bool)
            condition.lookup[ids] = True
        self._table = table
        return table

    def possible(self, doc: Doc) -> tuple[int, ...]:
        """Indices of the patterns that tests (1) and (2) cannot rule out for `doc`."""
        if not self.patterns or len(doc) == 0:
            return ()
        table = self._table if self._table is not None else self._compile()
        index = _DocIndex(doc, table)
        return tuple(
            i
            for i, pattern in enumerate(self.patterns)
            if all(c.present(index) for c in pattern.conditions)
            and (pattern.steps is None or _placeable(pattern.steps, index))
        )

    def matcher_for(self, doc: Doc, full: Matcher) -> Matcher | Callable[[Doc], list]:
        """What to run on `doc`: `full` when no pattern is ruled out, else a Matcher of the
        surviving patterns (cached by that set), or nothing at all."""
        chosen = self.possible(doc)
        if not chosen:
            return _no_matches
        if len(chosen) == len(self.patterns):
            return full
        matcher = self._matchers.get(chosen)
        if matcher is None:
            if len(self._matchers) >= self.CACHE_LIMIT:
                self._matchers.clear()
            matcher = self._matchers[chosen] = Matcher(self.vocab)
            for i in chosen:
                matcher.add(self.patterns[i].key, [self.patterns[i].tokens])
        return matcher


def _placeable(steps: tuple[tuple[_Condition | None, int], ...], doc: _DocIndex) -> bool:
    """Test (2): can the required tokens sit on matching tokens, in order, each 1 to
    1 + (optional tokens between) positions after the previous one?"""
    n = doc.length
    reach: np.ndarray | None = None
    for condition, optional in steps:
        mask = np.ones(n, dtype=bool) if condition is None else condition.mask(doc).copy()
        if reach is not None:
            after = np.zeros(n, dtype=bool)
            for gap in range(1, min(optional + 1, n - 1) + 1):
                after[gap:] |= reach[:-gap]
            mask &= after
        reach = mask
        if not reach.any():
            return False
    return True


def _no_matches(doc: Doc) -> list:
    return []
