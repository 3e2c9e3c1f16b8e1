"""Clause scope for exclusion cues: what a sentence concedes or contrasts away is no finding.

NegEx-style negation (in `criteria`) cancels "not limited to women"; it cannot see that
"Although several participants also used online forums, we asked only about the in-person
meetings" reports a study of in-person meetings. Two rules, on `spacy.blank("en")` tokens
and sentences (no parser or tagger: none is installed), with the marker words from the
protocol's `[scope]` table found by a case-insensitive `PhraseMatcher`:

- **Concession.** A cue inside a concessive clause ("although", "though", "even though",
  "while", "whereas", "despite" ...) is conceded, not asserted. The clause runs from the
  marker to the first comma that ends it, a clause break (";", ":") or the end of the
  sentence. A comma inside a list ("used e-mail, chat rooms and online forums, ...") does
  not end it: a comma is taken as a list comma when another comma or a coordinator ("and",
  "or") follows within `list_item` tokens.
- **Contrast.** A cue before a contrast marker ("but", "however", "yet") in the same
  sentence is contrasted away when the clause after the marker restricts ("..., but we
  analysed only the face-to-face groups"). A cue that states the restriction itself ("only
  by telephone", "exclusively via the internet": a restrictive word in or just before
  the cue) is kept: it is the study's own claim.

Both rules only ever remove hits, and only exclusion hits (topic cues for categories and
outcomes still count in a concession: the clause is still about that topic).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from peerscreen.review.phrases import PhraseIndex
from peerscreen.review.token_doc import TokenDoc

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc

    from peerscreen.review.protocol import Scope

#: A restrictive word this many tokens before a cue makes the cue its own restriction.
_OWN_RESTRICTION_TOKENS = 3
_KINDS = ("concessive", "contrastive", "restrictive")


class ClauseScope:
    """The `[scope]` rules compiled for one spaCy vocab. Build once per flagger.

    The markers are found by a `PhraseMatcher` in a spaCy Doc, and by a `PhraseIndex` of
    the same phrases (cut by `tokenizer`, spaCy's tokens) in a `TokenDoc`."""

    def __init__(
        self,
        nlp: Language,
        scope: Scope,
        *,
        tokenizer: Callable[[str], tuple[str, ...]] | None = None,
    ):
        from spacy.matcher import PhraseMatcher

        self.scope = scope
        self.matcher = PhraseMatcher(nlp.vocab, attr="LOWER")
        for kind in _KINDS:
            phrases = getattr(scope, kind)
            if phrases:
                self.matcher.add(kind, [nlp.make_doc(p) for p in phrases])
        tokenizer = tokenizer or (lambda p: tuple(t.lower_ for t in nlp.make_doc(p)))
        self.index = PhraseIndex(
            {kind: getattr(scope, kind) for kind in _KINDS}, tokenizer=tokenizer, acronyms=False
        )
        self._strings = nlp.vocab.strings
        self.coordinators = {c.lower() for c in scope.coordinators}
        self.breaks = {b.lower() for b in scope.clause_breaks}

    @property
    def active(self) -> bool:
        return bool(self.scope.concessive or (self.scope.contrastive and self.scope.restrictive))

    def cues(self, doc: Doc | TokenDoc) -> Clauses | None:
        """The markers in `doc` (which must have sentence bounds), or None when it has
        none: then no hit can be out of scope."""
        if not self.active:
            return None
        found: dict[str, list[tuple[int, int]]] = defaultdict(list)
        if isinstance(doc, TokenDoc):
            for kind, start, end in self.index.find(doc, longest=False):
                found[kind].append((start, end))
        else:
            for match_id, start, end in self.matcher(doc):
                found[self._strings[match_id]].append((start, end))
        if not found.get("concessive") and not found.get("contrastive"):
            return None
        return Clauses(doc, dict(found), self)


@dataclass
class Clauses:
    """One doc's scope markers (token spans by kind) and the tests on a hit's tokens."""

    doc: Doc | Any  # a spaCy Doc or a `TokenDoc`
    found: dict[str, list[tuple[int, int]]]
    rules: ClauseScope

    def out_of_scope(self, start: int, end: int) -> bool:
        """True when the hit doc[start:end] is conceded or contrasted away."""
        return self.conceded(start, end) or self.contrasted(start, end)

    def conceded(self, start: int, end: int) -> bool:
        sentence = self.doc[start].sent
        for marker_start, marker_end in self.found.get("concessive", []):
            opens_before = sentence.start <= marker_start and marker_end <= start
            if opens_before and end <= self._concession_end(marker_end, sentence.end):
                return True
        return False

    def contrasted(self, start: int, end: int) -> bool:
        if self._restricts_itself(start, end):
            return False
        sentence = self.doc[start].sent
        markers = sorted(self.found.get("contrastive", []))
        for marker_start, marker_end in markers:
            if end <= marker_start < sentence.end:
                clause_end = self._contrast_end(marker_end, sentence.end, markers)
                if self._has("restrictive", marker_end, clause_end):
                    return True
        return False

    # -- clause bounds -------------------------------------------------------------------
    def _concession_end(self, after: int, sentence_end: int) -> int:
        """Token index where a concessive clause opened before `after` ends."""
        for i in range(after, sentence_end):
            text = self.doc[i].lower_
            if text in self.rules.breaks:
                return i
            if text == "," and not self._list_comma(i, sentence_end):
                return i
        return sentence_end

    def _list_comma(self, comma: int, sentence_end: int) -> bool:
        """A comma between list items: another comma or a coordinator follows it soon."""
        stop = min(comma + 1 + self.rules.scope.list_item, sentence_end)
        for i in range(comma + 1, stop):
            text = self.doc[i].lower_
            if text in self.rules.breaks:
                return False
            if text == "," or text in self.rules.coordinators:
                return True
        return False

    def _contrast_end(self, after: int, sentence_end: int, markers: list[tuple[int, int]]) -> int:
        """A contrast clause ends at the next contrast marker, clause break or sentence end."""
        following = [s for s, _ in markers if s >= after]
        end = min([sentence_end, *following])
        for i in range(after, end):
            if self.doc[i].lower_ in self.rules.breaks:
                return i
        return end

    def _restricts_itself(self, start: int, end: int) -> bool:
        return self._has("restrictive", max(0, start - _OWN_RESTRICTION_TOKENS), end)

    def _has(self, kind: str, start: int, end: int) -> bool:
        return any(start <= s and e <= end for s, e in self.found.get(kind, []))
