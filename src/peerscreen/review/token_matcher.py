"""spaCy `Matcher` token patterns run over a `TokenDoc`'s lists: the same matches, no Doc.

Why: with the tokens kept as lists (`review.token_doc`), the protocol's few token patterns
("led by two clinical psychologists", "12-week course") are cheaper to test in Python
than a spaCy `Doc` is to build for them. Supported: the operators spaCy's Matcher gives
by default for one token (none: exactly one, "?": zero or one, "!": one token that does
not match) and the attributes LOWER, ORTH and TEXT (a string, `IN` / `NOT_IN` lists, or a
`REGEX`, searched in the token's form as spaCy does) and LIKE_NUM; an empty dict matches
any token. `supports` says whether a pattern keeps to
these; a protocol with any other pattern is flagged by the spaCy path (`CriteriaFlagger`).

Matches are what spaCy's Matcher returns without `greedy`: every (key, start, end) such
that doc[start:end] can be read as the pattern, each once.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Sequence

from peerscreen.review.token_doc import TokenDoc

_OPS = (None, "?", "!")
_TEXT_ATTRS = {"LOWER": "lower", "ORTH": "orth", "TEXT": "orth"}
#: A test on token i of a doc.
_Test = Callable[[TokenDoc, int], bool]


def supports(pattern: Sequence[dict]) -> bool:
    """True when `TokenPatterns` matches `pattern` exactly as spaCy's Matcher does."""
    if not pattern:
        return False
    for token in pattern:
        spec = {str(k).upper(): v for k, v in token.items()}
        if spec.pop("OP", None) not in _OPS:
            return False
        for name, value in spec.items():
            if name == "LIKE_NUM" and isinstance(value, bool):
                continue
            if name not in _TEXT_ATTRS:
                return False
            if isinstance(value, dict):
                if len(value) != 1 or next(iter(value)) not in ("IN", "NOT_IN", "REGEX"):
                    return False
                ((kind, values),) = value.items()
                if kind == "REGEX":
                    if not isinstance(values, str):
                        return False
                elif not all(isinstance(v, str) for v in values):
                    return False
            elif not isinstance(value, str):
                return False
    # at least one token that must be there: spaCy's handling of all-optional patterns
    # (empty matches) is not reproduced
    return any({str(k).upper(): v for k, v in t.items()}.get("OP") != "?" for t in pattern)


def _test(spec: dict) -> _Test:
    """All of a token spec's attribute conditions, as one test."""
    tests: list[_Test] = []
    for name, value in spec.items():
        if name == "LIKE_NUM":
            tests.append(lambda doc, i, want=value: doc.numbers[i] == want)
            continue
        column = _TEXT_ATTRS[name]
        if isinstance(value, dict):
            ((kind, values),) = value.items()
            if kind == "REGEX":  # spaCy's Matcher: re.search on the attribute's string
                search = re.compile(values).search
                tests.append(lambda doc, i, c=column, s=search: s(getattr(doc, c)[i]) is not None)
                continue
            allowed = frozenset(values)
            if kind == "IN":
                tests.append(lambda doc, i, c=column, a=allowed: getattr(doc, c)[i] in a)
            else:
                tests.append(lambda doc, i, c=column, a=allowed: getattr(doc, c)[i] not in a)
        else:
            tests.append(lambda doc, i, c=column, v=value: getattr(doc, c)[i] == v)
    if not tests:
        return lambda doc, i: True
    if len(tests) == 1:
        return tests[0]
    return lambda doc, i: all(t(doc, i) for t in tests)


class _Compiled:
    """One pattern: per token, its test and operator."""

    def __init__(self, key: str, pattern: Sequence[dict]):
        self.key = key
        self.steps: list[tuple[_Test, str | None]] = []
        for token in pattern:
            spec = {str(k).upper(): v for k, v in token.items()}
            op = spec.pop("OP", None)
            self.steps.append((_test(spec), op))

    def ends(self, doc: TokenDoc, start: int) -> set[int]:
        """Every end position of a match starting at `start`."""
        n = len(doc)
        at = {start}
        for test, op in self.steps:
            moved = set()
            for i in at:
                if i < n and (test(doc, i) if op != "!" else not test(doc, i)):
                    moved.add(i + 1)
            at = moved | at if op == "?" else moved
            if not at:
                break
        at.discard(start)
        return at


class TokenPatterns:
    """Token patterns under keys, in the order added; `find` gives spaCy's matches.

    Each pattern is anchored on its first token that names its lower-case forms (LOWER or
    ORTH/TEXT values, or their `IN` lists) with only required tokens before it, and only
    tried where such a token stands; a pattern without one is tried everywhere."""

    def __init__(self) -> None:
        self._patterns: list[_Compiled] = []
        self._by_anchor: dict[str, list[tuple[int, int]]] = defaultdict(list)
        self._anywhere: list[int] = []

    def add(self, key: str, patterns: Sequence[Sequence[dict]]) -> None:
        for pattern in patterns:
            if not supports(pattern):
                raise ValueError(f"token pattern not supported without spaCy: {pattern}")
            index = len(self._patterns)
            self._patterns.append(_Compiled(key, pattern))
            anchor = _anchor(pattern)
            if anchor is None:
                self._anywhere.append(index)
            else:
                position, forms = anchor
                for form in forms:
                    self._by_anchor[form].append((index, position))

    def __len__(self) -> int:
        return len(self._patterns)

    def find(self, doc: TokenDoc) -> list[tuple[str, int, int]]:
        """(key, start, end) of every match, ordered by (start, pattern, end)."""
        if not self._patterns:
            return []
        tries: set[tuple[int, int]] = set()
        get = self._by_anchor.get
        for i, word in enumerate(doc.lower):
            for index, position in get(word, ()):
                if i >= position:
                    tries.add((i - position, index))
        if self._anywhere:
            tries.update((i, index) for i in range(len(doc)) for index in self._anywhere)
        found = sorted(
            (start, index, end)
            for start, index in tries
            for end in self._patterns[index].ends(doc, start)
        )
        out: list[tuple[str, int, int]] = []
        seen: set[tuple[str, int, int]] = set()
        for start, index, end in found:  # spaCy's Matcher gives a (key, start, end) once
            match = (self._patterns[index].key, start, end)
            if match not in seen:
                seen.add(match)
                out.append(match)
        return out


def _anchor(pattern: Sequence[dict]) -> tuple[int, list[str]] | None:
    """(position, lower-case forms) of the first token a match must have at a fixed offset
    from its start with one of a few forms, or None."""
    for position, token in enumerate(pattern):
        spec = {str(k).upper(): v for k, v in token.items()}
        op = spec.get("OP")
        if op == "?":
            return None
        forms = token_forms(spec) if op is None else None
        if forms is not None:
            return position, forms
    return None


def token_forms(spec: dict) -> list[str] | None:
    """The lower-case forms a token spec allows (LOWER, ORTH or TEXT, a string or an IN
    list), or None (not a short list of strings). `pattern_gate` reads specs the same way."""
    for name in ("LOWER", "ORTH", "TEXT"):
        value = spec.get(name)
        if isinstance(value, dict) and "IN" in value:
            value = value["IN"]
        if isinstance(value, str):
            value = [value]
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return [v if name == "LOWER" else v.lower() for v in value]
    return None
