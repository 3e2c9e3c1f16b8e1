"""Phrase matching over regex tokens: the protocol's cue lexicons found without spaCy.

Why: spaCy's tokenizer and `PhraseMatcher` cost about a millisecond an abstract; a
regular-expression tokenizer and a dictionary keyed by each phrase's first token find the
same phrases in a tenth of that. The text is lower-cased and cut into runs of letters or
digits and single other characters, as `spacy.blank("en")` cuts a hyphen or an apostrophe
into its own token ("peer-run" is peer / - / run), and each phrase, tokenised the same way,
is looked up by its first token. Phrases match case-insensitively, except that a phrase
written in capitals of at most five characters ("RAS", "CSQ", "GAF") must match as written,
so "ras" in a word or a gene name does not count.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping

_TOKEN = re.compile(r"[^\W_]+|[^\w\s]|_")
#: An acronym cue matched case-sensitively ("RAS", not "ras").
_ACRONYM = re.compile(r"[A-Z0-9-]{2,5}")


class Tokens:
    """A text's regex tokens: lower-case forms and character offsets."""

    __slots__ = ("ends", "lower", "starts", "text")

    def __init__(self, text: str):
        self.text = text
        spans = [m.span() for m in _TOKEN.finditer(text)]
        self.starts = [s for s, _ in spans]
        self.ends = [e for _, e in spans]
        lowered = text.lower()
        # str.lower keeps the length of nearly every text; when it does not, lower each token
        if len(lowered) == len(text):
            self.lower = [lowered[s:e] for s, e in spans]
        else:
            self.lower = [text[s:e].lower() for s, e in spans]

    def __len__(self) -> int:
        return len(self.starts)


def tokenize(text: str) -> tuple[str, ...]:
    return tuple(m.group(0).lower() for m in _TOKEN.finditer(text))


class PhraseIndex:
    """Phrases under keys, looked up by first token; `find` returns the longest match at each
    position per key, as (key, first token, end token)."""

    def __init__(self, phrases: Mapping[str, Iterable[str]]):
        self._first: dict[str, list[tuple[tuple[str, ...], str, str | None]]] = defaultdict(list)
        for key, items in phrases.items():
            for phrase in items:
                tokens = tokenize(phrase)
                if not tokens:
                    continue
                exact = phrase if _ACRONYM.fullmatch(phrase) and phrase.isupper() else None
                self._first[tokens[0]].append((tokens, key, exact))
        for entries in self._first.values():
            entries.sort(key=lambda e: -len(e[0]))

    def find(self, tokens: Tokens) -> list[tuple[str, int, int]]:
        lower, n = tokens.lower, len(tokens)
        found: list[tuple[str, int, int]] = []
        first = self._first
        for i, word in enumerate(lower):
            entries = first.get(word)
            if entries is None:
                continue
            for phrase, key, exact in entries:
                end = i + len(phrase)
                if end > n or (len(phrase) > 1 and tuple(lower[i:end]) != phrase):
                    continue
                if exact is not None:
                    written = tokens.text[tokens.starts[i] : tokens.ends[end - 1]]
                    if written.replace(" ", "") != exact.replace(" ", ""):
                        continue
                found.append((key, i, end))
        return _longest_per_key(found)


def _longest_per_key(found: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    """Drop a match nested in a longer match of the same key (as `criteria._longest_first`)."""
    by_key: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for key, start, end in found:
        by_key[key].append((start, end))
    kept = []
    for key, spans in by_key.items():
        ordered = sorted(set(spans), key=lambda s: (s[0], -(s[1] - s[0])))
        last_end = -1
        for start, end in ordered:
            if start < last_end and end <= last_end:
                continue
            kept.append((key, start, end))
            last_end = max(last_end, end)
    kept.sort(key=lambda k: (k[1], k[2]))
    return kept
