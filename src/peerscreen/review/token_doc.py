"""spaCy's tokens of a record, without building a spaCy `Doc`: the criteria rules, faster.

Why: on abstracts, making a `Doc` (`nlp.make_doc`) and running the sentencizer over it cost
more than all the criteria rules together (about 1.5 and 0.8 ms an abstract on the 2-core
development machine), most of it allocating tokens and lexemes that the rules never read.
`TokenCache` gives the very same tokens as `spacy.blank("en")`'s tokenizer, as plain
Python lists, and `TokenDoc` the part of spaCy's `Doc` API that `criteria` reads
(`doc[i].lower_`, `doc[a:b].text`, `.sent`, `.is_sent_start`, ...), so the rules run
unchanged on either.

Why the tokens are the same: spaCy's tokenizer cuts the text into runs of white space and
runs of other characters (a single space after a word is that word's trailing space, not a
token) and tokenizes each run on its own, from its prefix, suffix, infix and special-case
rules (`Tokenizer._tokenize_affixes`). Its last step, `_apply_special_cases`, can match
across runs but only retokenizes a span whose text is a special case, and no special case
but " " holds a space, so it never changes a token across runs. Each distinct run is
therefore tokenized once, by spaCy itself, and its tokens (offsets, text, lower case,
`is_punct`, `like_num`, `is_space`, all read from spaCy's lexemes) kept; a record is the
concatenation of its runs' tokens. `tests/review/test_token_doc.py` checks this against
`nlp.make_doc` on every record of the corpus and of the benchmark files.

The sentencizer is spaCy's `Sentencizer.predict` over the cached `is_punct` and text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cached_property
from itertools import chain
from operator import attrgetter
from typing import Any

from spacy.attrs import LIKE_NUM

#: A run of other characters with the single space after it (spaCy's trailing space, not a
#: token), or a run of white space.
_RUNS = re.compile(r"\S+ ?|\s+")


class _Run:
    """One run's tokens, as spaCy makes them: offsets in the run, text, lower case,
    sentencizer class (1: one of the sentencizer's punct_chars, 2: other punctuation,
    0: else), like_num, is_space."""

    __slots__ = ("kinds", "length", "lower", "numbers", "orth", "spaces", "starts")

    def __init__(self, tokens: list[Any], punct_chars: set[str], length: int, offset: int = 0):
        self.length = length
        self.starts = tuple(t.idx - offset for t in tokens)
        self.orth = tuple(t.text for t in tokens)
        self.lower = tuple(t.lower_ for t in tokens)
        self.kinds = tuple(1 if t.text in punct_chars else 2 if t.is_punct else 0 for t in tokens)
        self.numbers = tuple(t.like_num for t in tokens)
        self.spaces = tuple(t.is_space for t in tokens)

    @classmethod
    def plain(cls, texts: tuple[str, ...], kinds: tuple[int, ...], numbers: tuple[bool, ...],
              length: int) -> _Run:  # fmt: skip
        """A run whose tokens are known without spaCy (`TokenCache._plain`)."""
        self = cls.__new__(cls)
        self.length = length
        self.starts = (0, len(texts[0]))[: len(texts)]
        self.orth, self.lower = texts, tuple(t.lower() for t in texts)
        self.kinds, self.numbers, self.spaces = kinds, numbers, (False,) * len(texts)
        return self


_LOWER = attrgetter("lower")


class TokenCache:
    """spaCy's tokenization of each distinct run of a text, cached (`doc`: a whole text)."""

    #: Distinct runs kept (a few hundred bytes each); the cache restarts when full.
    CACHE_RUNS = 200_000

    def __init__(self, nlp: Any, punct_chars: set[str]):
        self.nlp = nlp
        self.punct_chars = punct_chars
        self._runs: dict[str, _Run] = {}
        self._specials = frozenset(nlp.tokenizer.rules)
        self._like_num = nlp.vocab.lex_attr_getters[LIKE_NUM]

    def doc(self, text: str) -> TokenDoc:
        runs = self._runs
        if len(runs) > self.CACHE_RUNS:
            runs.clear()
        pieces = _RUNS.findall(text)
        missing = {piece for piece in pieces if piece not in runs}
        if missing:
            self._tokenize(missing)
        return TokenDoc(text, [runs[piece] for piece in pieces])

    def _plain(self, run: str, length: int) -> _Run | None:
        """Most new runs, without calling spaCy: a word of letters that is no special case
        is one token (spaCy's affix rules are all about punctuation, digits and symbols),
        and so is it before a closing ",", ";", ":" or ")" (always a suffix), or before
        "." after a lower-case ASCII letter (spaCy's suffix rule; "vs." and the like are special
        cases). None for any other run."""
        if run in self._specials:
            return None
        if run.isalpha():
            return _Run.plain((run,), (0,), (bool(self._like_num(run)),), length)
        word, last = run[:-1], run[-1]
        if not word.isalpha() or word in self._specials:
            return None
        if last in ",;:)" or (last == "." and "a" <= word[-1] <= "z"):
            kind = 1 if last in self.punct_chars else 2
            return _Run.plain((word, last), (0, kind), (bool(self._like_num(word)), False), length)
        return None

    def _tokenize(self, pieces: set[str]) -> None:
        """Tokenize new pieces: runs of white space one by one, the others in one call, as
        one text with a space between runs (each run's tokens are those it has alone)."""
        words: list[tuple[str, str]] = []
        for piece in pieces:
            if piece.isspace():
                tokens = list(self.nlp.make_doc(piece))
                self._runs[piece] = _Run(tokens, self.punct_chars, len(piece))
                continue
            run = piece[:-1] if piece[-1] == " " else piece  # "word ": the word, its space
            plain = self._plain(run, len(piece))
            if plain is not None:
                self._runs[piece] = plain
            else:
                words.append((piece, run))
        if not words:
            return
        doc = self.nlp.make_doc(" ".join(run for _, run in words))
        tokens = list(doc)
        at, offset = 0, 0
        for piece, run in words:
            end = offset + len(run)
            first = at
            while at < len(tokens) and tokens[at].idx < end:
                at += 1
            self._runs[piece] = _Run(tokens[first:at], self.punct_chars, len(piece), offset)
            offset = end + 1


class TokenDoc:
    """A record's tokens as lists, with the part of spaCy's `Doc` API the rules read.

    `lower` is built at once (every rule reads it); offsets and the other columns when
    first read. `sent_starts` is None until `sentencize` (or a caller) sets it, as a Doc
    before the sentencizer has no SENT_START annotation."""

    def __init__(self, text: str, runs: list[_Run]):
        self.text = text
        self._runs = runs
        self.lower: list[str] = list(chain.from_iterable(map(_LOWER, runs)))
        self.sent_starts: list[bool] | None = None

    def _column(self, name: str) -> list:
        return list(chain.from_iterable(map(attrgetter(name), self._runs)))

    @cached_property
    def starts(self) -> list[int]:
        out: list[int] = []
        append = out.append
        offset = 0
        for run in self._runs:
            if len(run.starts) == 1:  # most runs are one token, at the run's start
                append(offset)
            else:
                out.extend([offset + at for at in run.starts])
            offset += run.length
        return out

    @cached_property
    def orth(self) -> list[str]:
        return self._column("orth")

    @cached_property
    def kinds(self) -> list[int]:
        return self._column("kinds")

    @cached_property
    def numbers(self) -> list[bool]:
        return self._column("numbers")

    @cached_property
    def spaces(self) -> list[bool]:
        return self._column("spaces")

    def __len__(self) -> int:
        return len(self.lower)

    def __getitem__(self, key: int | slice) -> TokenView | SpanView:
        if isinstance(key, slice):
            start, stop, _ = key.indices(len(self.lower))
            return SpanView(self, start, max(start, stop))
        return TokenView(self, key if key >= 0 else len(self.lower) + key)

    def end_char(self, i: int) -> int:
        return self.starts[i] + len(self.orth[i])

    def has_annotation(self, name: str) -> bool:
        return name == "SENT_START" and self.sent_starts is not None

    def sentencize(self) -> None:
        """spaCy's `Sentencizer`: a sentence starts at the first token after a run of
        sentence-final punctuation that is not itself punctuation."""
        n = len(self.lower)
        starts = [False] * n
        if n:
            starts[0] = True
            start, seen_period = 0, False
            for i, kind in enumerate(self.kinds):
                if seen_period and kind == 0:
                    starts[start] = True
                    start, seen_period = i, False
                elif kind == 1:
                    seen_period = True
            starts[start] = True
        self.sent_starts = starts

    def sentence_of(self, start: int) -> tuple[int, int]:
        """Token bounds of the sentence of token `start`, as spaCy's `Span.sent` finds a
        span's (the sentence of its first token, even when the span runs on into the next)."""
        marks = self.sent_starts or [False] * len(self.lower)
        first = start
        while first > 0 and not marks[first]:
            first -= 1
        last = start + 1
        while last < len(marks) and not marks[last]:
            last += 1
        return first, last


class TokenView:
    """`doc[i]` of a `TokenDoc`: the attributes of spaCy's `Token` the rules read."""

    __slots__ = ("doc", "i")

    def __init__(self, doc: TokenDoc, i: int):
        self.doc = doc
        self.i = i

    @property
    def idx(self) -> int:
        return self.doc.starts[self.i]

    @property
    def text(self) -> str:
        return self.doc.orth[self.i]

    @property
    def lower_(self) -> str:
        return self.doc.lower[self.i]

    @property
    def like_num(self) -> bool:
        return self.doc.numbers[self.i]

    @property
    def is_space(self) -> bool:
        return self.doc.spaces[self.i]

    @property
    def is_sent_start(self) -> bool | None:
        marks = self.doc.sent_starts
        if marks is None:  # spaCy: True for the first token, None (unknown) for the rest
            return True if self.i == 0 else None
        return marks[self.i]

    @property
    def sent(self) -> SpanView:
        return SpanView(self.doc, *self.doc.sentence_of(self.i))


class SpanView:
    """`doc[a:b]` of a `TokenDoc`: text, character offsets, sentence, tokens."""

    __slots__ = ("doc", "end", "start")

    def __init__(self, doc: TokenDoc, start: int, end: int):
        self.doc = doc
        self.start = start
        self.end = end

    def __iter__(self) -> Iterator[TokenView]:
        return (TokenView(self.doc, i) for i in range(self.start, self.end))

    def __len__(self) -> int:
        return self.end - self.start

    @property
    def start_char(self) -> int:
        return self.doc.starts[self.start] if self.end > self.start else 0

    @property
    def end_char(self) -> int:
        return self.doc.end_char(self.end - 1) if self.end > self.start else 0

    @property
    def text(self) -> str:
        return self.doc.text[self.start_char : self.end_char]

    @property
    def sent(self) -> SpanView:
        return SpanView(self.doc, *self.doc.sentence_of(self.start))
