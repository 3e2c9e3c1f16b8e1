"""Evidence spans for tags: where in a record's text a cue of a domain or category occurs,
in which sentence, with which role, and whether it counts.

Why: a tag a reviewer cannot check is a tag a reviewer cannot trust. Every outcome domain,
category and criteria flag that `tag` and `rank` write comes with the phrase, its
character offsets in the record's text (title + blank line + abstract), the whole sentence
and that sentence's role (`review.sentences`). A cue counts as evidence only when its
sentence is not background (what a study measured or found, not what is known) and no
negation cue of the protocol stands shortly before or after it in the same clause.

Matching is a pass over regex tokens (`review.phrases`, no spaCy).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass

import numpy as np

from peerscreen.review.phrases import PhraseIndex, Tokens
from peerscreen.review.protocol import EvidenceRules, Protocol
from peerscreen.review.sentences import (
    EVIDENCE_ROLES,
    ROLE_CUES,
    Sentence,
    record_text,
    sentences,
)


@dataclass(frozen=True)
class Evidence:
    """One cue for one code: the phrase as written in the text, its offsets, the sentence it
    sits in and that sentence's role."""

    code: str
    phrase: str
    start: int
    end: int
    sentence: str
    role: str

    def as_dict(self) -> dict:
        return asdict(self)


def evidence_json(items: Iterable[Evidence]) -> str:
    """The `evidence` column: a JSON list of {code, phrase, start, end, sentence, role}."""
    return json.dumps([e.as_dict() for e in items], ensure_ascii=False)


class Negator:
    """The protocol's `[negation]` rules over regex tokens: a cue within `window` tokens
    before a hit, or after it, with no terminator or sentence end between, cancels it."""

    def __init__(self, before: Iterable[str], after: Iterable[str], terminators: Iterable[str],
                 window: int):  # fmt: skip
        self.index = PhraseIndex({"before": list(before), "after": list(after)})
        self.terminators = {t.lower() for t in terminators}
        self.window = window

    def cues(self, tokens: Tokens) -> dict[str, list[tuple[int, int]]]:
        cues: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for key, start, end in self.index.find(tokens):
            cues[key].append((start, end))
        return cues

    def negated(
        self,
        tokens: Tokens,
        start: int,
        end: int,
        cues: Mapping[str, list[tuple[int, int]]],
        sentence_starts: frozenset[int],
    ) -> bool:
        def open_between(a: int, b: int) -> bool:
            return not any(
                tokens.lower[i] in self.terminators or (i in sentence_starts and i > a)
                for i in range(a, b)
            )

        for cue_start, cue_end in cues.get("before", ()):
            near = start - self.window <= cue_end <= start and cue_start < start
            if near and open_between(cue_end, start):
                return True
            if cue_start <= start and end <= cue_end:
                return True
        for cue_start, _ in cues.get("after", ()):
            if end <= cue_start <= end + self.window and open_between(end, cue_start):
                return True
        return False


def locate(sentences: list[Sentence], offset: int) -> int:
    """Index of the sentence holding character `offset` (the last one starting before it)."""
    lo, hi = 0, len(sentences)
    while lo < hi:
        mid = (lo + hi) // 2
        if sentences[mid].start <= offset:
            lo = mid + 1
        else:
            hi = mid
    return max(0, lo - 1)


def find_evidence(
    text: str,
    tokens: Tokens,
    sentences: list[Sentence],
    index: PhraseIndex | list[tuple[str, int, int]],
    negator: Negator | None,
    *,
    roles: frozenset[str] = EVIDENCE_ROLES,
    cues: Mapping[str, list[tuple[int, int]]] | None = None,
) -> dict[str, list[Evidence]]:
    """Per key, the cues of `index` (or its matches, found already) that count: in a
    sentence of one of `roles`, not negated (`cues`: the negation cues, when found)."""
    matches = index.find(tokens) if isinstance(index, PhraseIndex) else index
    if not matches or not sentences:
        return {}
    token_sentence_starts: frozenset[int] = frozenset()
    if negator is not None:
        starts = {s.start for s in sentences}
        token_sentence_starts = frozenset(i for i, c in enumerate(tokens.starts) if c in starts)
        if cues is None:
            cues = negator.cues(tokens)
    out: dict[str, list[Evidence]] = defaultdict(list)
    for key, first, last in matches:
        begin, finish = tokens.starts[first], tokens.ends[last - 1]
        sentence = sentences[locate(sentences, begin)]
        if sentence.role not in roles:
            continue
        if negator is not None and negator.negated(
            tokens, first, last, cues or {}, token_sentence_starts
        ):
            continue
        out[key].append(
            Evidence(
                code=key,
                phrase=text[begin:finish],
                start=begin,
                end=finish,
                sentence=sentence.text(text),
                role=sentence.role,
            )
        )
    return dict(out)


#: The key under which `category_cues` evidence is kept.
ANY_CATEGORY = "*"


@dataclass
class RecordEvidence:
    """What the evidence pass found in one record: its sentences, and per outcome domain
    and per category the cues that count."""

    sentences: list[Sentence]
    outcomes: dict[str, list[Evidence]]
    categories: dict[str, list[Evidence]]


class EvidenceGate:
    """The protocol's outcome and category lexicons, its negation rules and its
    `[evidence]` table, compiled once: `scan` a record, then `outcome_mask` and
    `category_gate` apply the rules to a model's scores."""

    def __init__(self, protocol: Protocol):
        rules = getattr(protocol, "evidence", None) or EvidenceRules()
        self.rules = rules
        self.roles = frozenset(rules.roles)
        neg = protocol.negation
        self.negator = Negator(neg.before, neg.after, neg.terminators, neg.window)
        # every lexicon the gate reads, in one index: one pass over a record's tokens
        lexicons: dict[str, list[str]] = {}
        for o in protocol.outcomes:
            lexicons[f"outcome:{o.code}"] = o.phrases
        for c in protocol.categories:
            lexicons[f"category:{c.code}"] = c.phrases
        lexicons[f"category:{ANY_CATEGORY}"] = rules.category_cues
        lexicons["ignore:"] = rules.ignore
        lexicons["negation:before"] = neg.before
        lexicons["negation:after"] = neg.after
        for role, phrases in ROLE_CUES.items():
            lexicons[f"role:{role}"] = list(phrases)
        self.index = PhraseIndex(lexicons)
        self.none_category = protocol.none_category

    def scan(self, title: str | None, abstract: str | None) -> RecordEvidence:
        text = record_text(title, abstract)
        tokens = Tokens(text)
        kinds: dict[str, list[tuple[str, int, int]]] = defaultdict(list)
        for key, first, last in self.index.find(tokens):
            kind, _, code = key.partition(":")
            kinds[kind].append((code, first, last))
        found = sentences(text, len(title or ""), tokens, kinds.get("role", []))
        ignored = {i for _, a, b in kinds.get("ignore", ()) for i in range(a, b)}
        cues: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for code, first, last in kinds.get("negation", ()):
            cues[code].append((first, last))

        def evidence(kind: str) -> dict[str, list[Evidence]]:
            matches = [m for m in kinds.get(kind, ()) if m[1] not in ignored]
            return find_evidence(
                text, tokens, found, matches, self.negator, roles=self.roles, cues=cues
            )

        return RecordEvidence(
            sentences=found, outcomes=evidence("outcome"), categories=evidence("category")
        )

    def outcome_mask(
        self, codes: list[str], scores: np.ndarray, chosen: np.ndarray, found: list[RecordEvidence]
    ) -> np.ndarray:
        """`chosen` (score >= the model's threshold) where the score also reaches the
        domain's floor and a cue counts, or the score reaches `outcome_without_cue`."""
        rules = self.rules
        floors = np.array([rules.outcome_floors.get(c, 0.0) for c in codes])
        needed = np.array([rules.outcome_min_sentences.get(c, 1) for c in codes])
        strength = np.array(
            [[self.strength(r.outcomes.get(c, ())) for c in codes] for r in found], dtype=int
        ).reshape(len(found), len(codes))
        cued = strength >= needed
        return chosen & (scores >= floors) & (cued | (scores >= rules.outcome_without_cue))

    def strength(self, evidence: Iterable[Evidence]) -> int:
        """How many sentences hold a cue; a cue in the title counts `title_weight` (real
        abstracts name their main outcome in the title, background words seldom are)."""
        seen: set[str] = set()
        title = False
        for e in evidence:
            if e.role == "title":
                title = True
            else:
                seen.add(e.sentence)
        return len(seen) + (self.rules.title_weight if title else 0)

    def category_gate(self, category: str, p: float, evidence: RecordEvidence) -> str:
        """The category, or the none category when no cue of it counts (and its probability
        is under `category_without_cue`)."""
        found = evidence.categories
        if category == self.none_category or category in found or ANY_CATEGORY in found:
            return category
        return category if p >= self.rules.category_without_cue else self.none_category
