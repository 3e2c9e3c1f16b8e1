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
from collections.abc import Callable, Iterable, Mapping
from typing import Protocol

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


class Tokenized(Protocol):
    """What `PhraseIndex.find` reads: lower-case tokens (and, for acronym cues, the text
    and each token's character offsets). `Tokens` and `token_doc.TokenDoc` are such."""

    text: str
    lower: list[str]
    starts: list[int]

    def __len__(self) -> int: ...


class PhraseIndex:
    """Phrases under keys, looked up by first token; `find` returns the longest match at each
    position per key, as (key, first token, end token).

    Per first token, the phrases are grouped by length into dictionaries of token tuples,
    so a common first word ("were", "to") costs one lookup per length, not one comparison
    per phrase."""

    def __init__(
        self,
        phrases: Mapping[str, Iterable[str]],
        *,
        tokenizer: Callable[[str], tuple[str, ...]] = tokenize,
        acronyms: bool = True,
    ):
        """`tokenizer` cuts a phrase into lower-case tokens as the texts are cut (spaCy's
        tokens for `criteria`); `acronyms=False` matches acronym cues in any case too, as
        spaCy's `PhraseMatcher(attr="LOWER")` does."""
        table: dict[str, dict[int, dict[tuple[str, ...], list[tuple[str, str | None]]]]] = {}
        for key, items in phrases.items():
            for phrase in items:
                tokens = tokenizer(phrase)
                if not tokens:
                    continue
                acronym = acronyms and _ACRONYM.fullmatch(phrase) and phrase.isupper()
                exact = phrase if acronym else None
                by_length = table.setdefault(tokens[0], {})
                by_length.setdefault(len(tokens), {}).setdefault(tokens, []).append((key, exact))
        self._first = {
            word: sorted(by_length.items(), key=lambda item: -item[0])
            for word, by_length in table.items()
        }

    def find(self, tokens: Tokenized, *, longest: bool = True) -> list[tuple[str, int, int]]:
        """Matches as (key, first token, end token); `longest=False`: every match, as
        spaCy's `PhraseMatcher` gives them (nested ones too), ordered by position."""
        lower, n = tokens.lower, len(tokens)
        found: list[tuple[str, int, int]] = []
        first = self._first
        for i, word in enumerate(lower):
            groups = first.get(word)
            if groups is None:
                continue
            for length, phrases in groups:
                end = i + length
                if end > n:
                    continue
                entries = phrases.get(tuple(lower[i:end])) if length > 1 else phrases[(word,)]
                if entries is None:
                    continue
                for key, exact in entries:
                    if exact is not None:
                        written = tokens.text[tokens.starts[i] : _end_char(tokens, end - 1)]
                        if written.replace(" ", "") != exact.replace(" ", ""):
                            continue
                    found.append((key, i, end))
        if not longest:
            return sorted(set(found), key=lambda k: (k[1], k[2], k[0]))
        return _longest_per_key(found)


def _end_char(tokens: Tokenized, i: int) -> int:
    ends = getattr(tokens, "ends", None)
    return ends[i] if ends is not None else tokens.end_char(i)  # type: ignore[attr-defined]


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
