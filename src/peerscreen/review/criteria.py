"""Criteria flags: which exclusion criteria a record trips, the words that show it, and how sure.

A rule-based spaCy pipeline on `spacy.blank("en")` (no downloaded model): a sentencizer,
then a `Matcher` and a `PhraseMatcher` (case-insensitive) loaded with every cue of the
protocol — exclusion rules, design cues (RCT, qualitative, review, editorial), population
and setting cues, category and outcome lexicons. Hits are then put through a NegEx-style
scope check: a negation cue shortly before a hit ("not limited to women", "excluding
adolescents") or after it ("adolescents were excluded"), with no clause terminator in
between, cancels it. A clause-scope check (`[scope]` in the protocol) then drops an
exclusion hit the sentence only concedes ("Although several participants also used online
forums, we asked only about the in-person meetings") or contrasts away ("..., but we
analysed only the face-to-face groups"): such hits are kept apart as `out_of_scope`. The
date/language window is checked on the record's metadata.

The title is its own sentence (a title rarely ends with a full stop), so a flag's sentence
never runs from the title into the abstract.

The flags serve three users: the models (as features), the ranked output (the criterion that
excludes a record, with evidence), and the screening UI (evidence highlighted).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from peerscreen.review.clause_scope import ClauseScope
from peerscreen.review.criteria_spans import (
    _drop_ignored,
    _longest_first,
    _role_at,
    _sentence_at,
    _states_an_age,
    _stripped,
    _title_is_a_sentence,
)
from peerscreen.review.phrases import PhraseIndex
from peerscreen.review.protocol import Cues, Protocol, Scope
from peerscreen.review.sentences import record_text, sentences
from peerscreen.review.token_doc import TokenCache, TokenDoc
from peerscreen.review.token_matcher import TokenPatterns, supports

__all__ = ["CriteriaFlagger", "CriteriaResult", "Flag", "record_text"]

if TYPE_CHECKING:  # spaCy (and torch under it) loads on first use: a CLI call that never
    # flags a record, like `simulate`, starts seconds sooner
    from spacy.tokens import Doc

_MAX_CONFIDENCE = 0.99
#: The key of the `[evidence] ignore` phrases: an exclusion or population cue that starts
#: inside one is no cue (category and outcome cue counts are left as they were)
_IGNORE = "ignore:"
_IGNORED_KINDS = ("exclusion", "population")


@dataclass(frozen=True)
class Flag:
    """One criterion tripped: the code, the evidence span (character offsets into the
    record's text = title + blank line + abstract), and a confidence in [0, 1].

    `context` is the whole sentence the evidence sits in and `sentence_start` /
    `sentence_end` its offsets in the same text, so a reviewer judges the phrase in its
    sentence ("online forums" reads differently after "Although"). Metadata flags, and
    flags saved by older versions, have no sentence offsets (both 0); the defaults keep
    those saved flags loadable.
    """

    code: str
    evidence: str
    start: int
    end: int
    confidence: float
    where: str  # "title", "abstract" or "metadata"
    context: str = ""
    sentence_start: int = 0
    sentence_end: int = 0
    #: the role of the sentence (`review.sentences`: title, background, methods, results,
    #: conclusion); "" for metadata flags and flags saved before roles existed
    role: str = ""

    @property
    def sentence(self) -> str:
        """The sentence the evidence came from ('' for a metadata flag)."""
        return self.context

    def describe(self) -> str:
        """'code: "phrase" (0.65) in "the whole sentence."' (no sentence for metadata)."""
        head = f'{self.code}: "{self.evidence}" ({self.confidence:.2f})'
        return f'{head} in "{self.context}"' if self.context else head


@dataclass
class CriteriaResult:
    """Everything the rules found in one record."""

    exclusions: list[Flag] = field(default_factory=list)
    negated: list[Flag] = field(default_factory=list)
    #: hits a concessive clause, a contrast or an `unless_population` cue took out of
    #: scope (not exclusions)
    out_of_scope: list[Flag] = field(default_factory=list)
    #: hits only in background sentences ("Alcohol use is common in psychosis."): the
    #: study's own population or design is not described there
    background: list[Flag] = field(default_factory=list)
    design: list[str] = field(default_factory=list)
    population: list[str] = field(default_factory=list)
    category_cues: dict[str, int] = field(default_factory=dict)
    outcome_cues: dict[str, int] = field(default_factory=dict)

    @property
    def codes(self) -> list[str]:
        return [f.code for f in self.exclusions]

    def confidence(self, code: str) -> float:
        return next((f.confidence for f in self.exclusions if f.code == code), 0.0)

    def describe(self) -> str:
        """'youth_only: "adolescents" (0.80) in "<sentence>"; ...' — the form written to
        ranked and tagged output (`exclusion_flags`)."""
        return "; ".join(f.describe() for f in self.exclusions)


class CriteriaFlagger:
    """Apply a protocol's rules to records. Build once, reuse: building compiles the matchers."""

    def __init__(self, protocol: Protocol):
        import spacy
        from spacy.matcher import Matcher, PhraseMatcher

        from peerscreen.review.pattern_gate import PatternGate

        self.protocol = protocol
        self.nlp = spacy.blank("en")
        self.nlp.add_pipe("sentencizer")
        self.matcher = Matcher(self.nlp.vocab)
        self._gate = PatternGate(self.nlp.vocab)
        self.phrases = PhraseMatcher(self.nlp.vocab, attr="LOWER")
        self.negation = PhraseMatcher(self.nlp.vocab, attr="LOWER")
        self._rules = {rule.code: rule for rule in protocol.exclusion}
        self._cues: dict[str, list[str]] = {}
        self._patterns: TokenPatterns | None = TokenPatterns()
        for rule in protocol.exclusion:
            if not rule.metadata:
                self._add(f"exclusion:{rule.code}", rule)
        for name, cues in protocol.design.items():
            self._add(f"design:{name}", cues)
        for name, cues in protocol.population.items():
            self._add(f"population:{name}", cues)
        for label in protocol.categories:
            self._add(f"category:{label.code}", label)
        for label in protocol.outcomes:
            self._add(f"outcome:{label.code}", label)
        evidence = getattr(protocol, "evidence", None)
        ignore = list(evidence.ignore) if evidence is not None else []
        if ignore:  # words that are no cue ("since childhood", "adult-onset"): see `_result`
            self._add(_IGNORE, Cues(phrases=ignore))
        neg = protocol.negation
        for kind, phrases in (("before", neg.before), ("after", neg.after)):
            if phrases:
                self.negation.add(kind, [self.nlp.make_doc(p) for p in phrases])
        # the same phrases over spaCy's tokens kept as lists (`flag_many`, no Doc)
        self._tokens = TokenCache(self.nlp, self._sentencizer.punct_chars)
        # one index, one pass over a doc: the cues, then the negation cues under "negation:"
        lexicons = {**self._cues, "negation:before": neg.before, "negation:after": neg.after}
        self._phrase_index = PhraseIndex(lexicons, tokenizer=self._lower_tokens, acronyms=False)
        self._terminators = {t.lower() for t in neg.terminators}
        self._window = neg.window
        # a model pickled before `[scope]` existed holds a protocol without the field
        self._scope = ClauseScope(
            self.nlp, getattr(protocol, "scope", None) or Scope(), tokenizer=self._lower_tokens
        )
        self._flags_in_background = bool(evidence and evidence.flags_in_background)

    def _add(self, key: str, cues: Cues) -> None:
        if cues.phrases:
            self.phrases.add(key, [self.nlp.make_doc(p) for p in cues.phrases])
            self._cues[key] = list(cues.phrases)
        if cues.patterns:
            self.matcher.add(key, cues.patterns)
            for pattern in cues.patterns:
                self._gate.add(key, pattern)
            if self._patterns is not None and all(supports(p) for p in cues.patterns):
                self._patterns.add(key, cues.patterns)
            else:  # a pattern only spaCy's Matcher runs: flag_many takes the spaCy path
                self._patterns = None

    def _lower_tokens(self, phrase: str) -> tuple[str, ...]:
        """A phrase's tokens as the PhraseMatchers see them (spaCy's, lower case)."""
        return tuple(t.lower_ for t in self.nlp.make_doc(phrase))

    # -- public API ----------------------------------------------------------------------
    def flag(
        self,
        title: str | None,
        abstract: str | None,
        *,
        year: int | None = None,
        language: str | None = None,
    ) -> CriteriaResult:
        text = record_text(title, abstract)
        doc = self.nlp(text)
        return self._result(
            doc, len(title or ""), year, language, self._spacy_matches(doc), text=text
        )

    def flag_many(
        self,
        titles: Sequence[str | None],
        abstracts: Sequence[str | None],
        years: Sequence[int | None] | None = None,
        languages: Sequence[str | None] | None = None,
        batch_size: int = 256,
    ) -> list[CriteriaResult]:
        """Flag many records: the same results as `flag` on each, several times faster.

        `flag` runs spaCy (a `Doc`, its Matcher, PhraseMatchers and sentencizer); here the
        same tokens come from `TokenCache` as lists, phrases are looked up in dictionaries
        of token tuples and token patterns run in Python (`TokenPatterns`), and sentence
        bounds are only computed when read (an exclusion hit's sentence, or a negation
        scope). A protocol with a token pattern `TokenPatterns` does not support takes the
        spaCy path, with `PatternGate` (only the patterns that could match a doc run).
        `batch_size` is kept for callers; tokenising needs no batches.
        """
        n = len(titles)
        years = years if years is not None else [None] * n
        languages = languages if languages is not None else [None] * n
        results = []
        for title, abstract, year, language in zip(
            titles, abstracts, years, languages, strict=True
        ):
            text = record_text(title, abstract)
            if self._patterns is None:
                doc = self.nlp.make_doc(text)
                matcher = self._gate.matcher_for(doc, self.matcher)
                matches = self._spacy_matches(doc, matcher)
                negations = None
            else:
                doc = self._tokens.doc(text)
                matches = self._patterns.find(doc)
                negations = defaultdict(list)
                for key, start, end in self._phrase_index.find(doc, longest=False):
                    if key.startswith("negation:"):
                        negations[key[9:]].append((start, end))
                    else:
                        matches.append((key, start, end))
            results.append(
                self._result(
                    doc,
                    len(title or ""),
                    year,
                    language,
                    matches,
                    sentenced=False,
                    text=text,
                    negations=negations,
                )
            )
        return results

    # -- internals -----------------------------------------------------------------------
    def _spacy_matches(self, doc: Doc, matcher=None) -> list[tuple[str, int, int]]:
        """The token-pattern and phrase matches in a spaCy doc, as (key, start, end)."""
        strings = self.nlp.vocab.strings
        found = [*(matcher or self.matcher)(doc), *self.phrases(doc)]
        return [(strings[match_id], start, end) for match_id, start, end in found]

    def _result(
        self,
        doc: Doc | TokenDoc,
        title_chars: int,
        year: int | None,
        language: str | None,
        matches: list[tuple[str, int, int]] | None = None,
        *,
        sentenced: bool = True,
        text: str | None = None,
        negations: dict[str, list[tuple[int, int]]] | None = None,
    ) -> CriteriaResult:
        """The rules' verdict on one doc (a spaCy Doc or a `TokenDoc`). `matches` are its
        token-pattern and phrase matches (key, start, end), found here when None;
        `sentenced=False` for a doc not yet through the sentencizer (it is run here, only if
        an exclusion hit or a negation cue needs sentence bounds). `text` is the doc's text
        when the caller has it (`Doc.text` rebuilds it token by token), `negations` its
        negation cues when found."""
        result = CriteriaResult()
        hits: dict[str, list[tuple[int, int]]] = defaultdict(list)
        if matches is None:  # a spaCy doc from elsewhere (`spacy_component`)
            matches = self._spacy_matches(doc)
        for key, start, end in matches:
            hits[key].append((start, end))
        _drop_ignored(hits, hits.pop(_IGNORE, ()), _IGNORED_KINDS)
        if negations is None:
            negations = self._negation_cues(doc)
        has_exclusions = any(k.startswith("exclusion:") for k in hits)
        if not sentenced and (negations or has_exclusions):
            if isinstance(doc, TokenDoc):
                doc.sentencize()
            else:
                self._sentencizer(doc)
            sentenced = True
        if sentenced:
            _title_is_a_sentence(doc, title_chars)
        clauses = self._scope.cues(doc) if has_exclusions else None
        exclusion_hits: dict[str, list[Flag]] = defaultdict(list)
        # live population cues: character offset, and whether the cue holds a number
        population_at: dict[str, list[tuple[int, bool]]] = {}
        # keys in one order whatever found them first (the lists of negated, out-of-scope
        # and background hits come out in it)
        for key, spans in sorted(hits.items()):
            kind, _, code = key.partition(":")
            spans = _longest_first(spans)
            if kind == "exclusion":
                for start, end in spans:
                    flag = self._flag(doc, code, start, end, title_chars, sentenced)
                    if self._is_negated(doc, start, end, negations):
                        result.negated.append(flag)
                    elif clauses is not None and clauses.out_of_scope(start, end):
                        result.out_of_scope.append(flag)
                    else:
                        exclusion_hits[code].append(flag)
                continue
            live = [s for s in spans if not self._is_negated(doc, s[0], s[1], negations)]
            if not live:
                continue
            if kind == "design":
                result.design.append(code)
            elif kind == "population":
                result.population.append(code)
                population_at[code] = [
                    (doc[start].idx, any(doc[i].like_num for i in range(start, end)))
                    for start, end in live
                ]
            elif kind == "category":
                result.category_cues[code] = len(live)
            elif kind == "outcome":
                result.outcome_cues[code] = len(live)
        if exclusion_hits:
            self._apply_roles(
                doc.text if text is None else text,
                title_chars,
                exclusion_hits,
                result,
                population_at,
            )
        window_flag = self._window_flag(year, language)
        if window_flag is not None:
            exclusion_hits[window_flag.code].append(window_flag)
        for code in self.protocol.exclusion_codes:
            if code in exclusion_hits:
                result.exclusions.append(_combine(exclusion_hits[code]))
        result.design.sort()
        result.population.sort()
        return result

    def _apply_roles(
        self,
        text: str,
        title_chars: int,
        hits: dict[str, list[Flag]],
        result: CriteriaResult,
        population_at: dict[str, list[tuple[int, bool]]],
    ) -> None:
        """Give each hit its sentence's role. A hit in a sentence that also names a
        population its rule lists in `unless_population` ("children and adults") is out of
        scope. A cue of such a population that holds a number ("aged 2 to 45 years",
        "mean age 34") states the sample's ages: in a sentence that is not background and
        holds no hit of the rule, it takes every hit of the rule out of scope (a
        word such as "adults" is often a contrast, "unlike adults, children ...", and only
        cancels its own sentence). A code whose every other hit is in a background sentence
        does not fire (its hits are kept apart, as evidence)."""
        found = sentences(text, title_chars)
        starts = [s.start for s in found]
        for code in list(hits):
            flags = [replace(f, role=_role_at(found, starts, f.start)) for f in hits[code]]
            unless = getattr(self._rules[code], "unless_population", ())
            cues = [
                (_sentence_at(starts, offset), numeric)
                for name in unless
                for offset, numeric in population_at.get(name, ())
            ]
            cancel = {i for i, _ in cues}
            own = {_sentence_at(starts, f.start) for f in flags}
            # ... unless a hit of the rule states ages of its own ("adolescents aged 13-17"
            # with "peer advocates, aged 19-24": the adults are someone else)
            aged = any(_states_an_age(f.evidence) for f in flags)
            if not aged and any(
                numeric and i not in own and found[i].role != "background" for i, numeric in cues
            ):
                cancel |= own  # an age stated for the sample: no hit of the rule holds
            if cancel:
                result.out_of_scope.extend(
                    f for f in flags if _sentence_at(starts, f.start) in cancel
                )
                flags = [f for f in flags if _sentence_at(starts, f.start) not in cancel]
            live = flags if self._flags_in_background else [
                f for f in flags if f.role != "background"
            ]  # fmt: skip
            result.background.extend(f for f in flags if f not in live)
            if live:
                hits[code] = live
            else:
                del hits[code]

    @property
    def _sentencizer(self):
        return self.nlp.get_pipe("sentencizer")

    def _flag(
        self,
        doc: Doc,
        code: str,
        start: int,
        end: int,
        title_chars: int,
        sentenced: bool | None = None,
    ) -> Flag:
        rule = self._rules[code]
        span = doc[start:end]
        in_title = span.start_char < title_chars
        confidence = min(_MAX_CONFIDENCE, rule.confidence + (rule.title_boost if in_title else 0))
        sentence, sentence_start, sentence_end = "", 0, 0
        if sentenced if sentenced is not None else doc.has_annotation("SENT_START"):
            sentence, sentence_start, sentence_end = _stripped(span.sent)
        return Flag(
            code=code,
            evidence=span.text,
            start=span.start_char,
            end=span.end_char,
            confidence=confidence,
            where="title" if in_title else "abstract",
            context=sentence,
            sentence_start=sentence_start,
            sentence_end=sentence_end,
        )

    def _negation_cues(self, doc: Doc) -> dict[str, list[tuple[int, int]]]:
        cues: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for match_id, start, end in self.negation(doc):
            cues[self.nlp.vocab.strings[match_id]].append((start, end))
        return cues

    def _clause_open(self, doc: Doc, start: int, end: int) -> bool:
        """True when no terminator token (or sentence break) lies in doc[start:end]."""
        for token in doc[start:end]:
            if token.lower_ in self._terminators or (token.is_sent_start and token.i > start):
                return False
        return True

    def _is_negated(
        self, doc: Doc, start: int, end: int, cues: dict[str, list[tuple[int, int]]]
    ) -> bool:
        for cue_start, cue_end in cues.get("before", []):
            near = start - self._window <= cue_end <= start and cue_start < start
            if near and self._clause_open(doc, cue_end, start):
                return True
        for cue_start, _ in cues.get("after", []):
            if end <= cue_start <= end + self._window and self._clause_open(doc, end, cue_start):
                return True
        # a cue that contains the hit ("not limited to women" matched as one phrase)
        return any(cs <= start and end <= ce for cs, ce in cues.get("before", []))

    def _window_flag(self, year: int | None, language: str | None) -> Flag | None:
        rule = next((r for r in self.protocol.exclusion if r.metadata), None)
        window = self.protocol.window
        if rule is None or window is None:  # a protocol without a window checks no dates
            return None
        reasons = []
        if year is not None and not (window.start_year <= year <= window.end_year):
            reasons.append(f"year {year} outside {window.start_year}-{window.end_year}")
        languages = {lang.lower() for lang in window.languages}
        if language and language.strip().lower() not in languages:
            reasons.append(f"language '{language}' not in {', '.join(window.languages)}")
        if not reasons:
            return None
        return Flag(
            code=rule.code,
            evidence="; ".join(reasons),
            start=0,
            end=0,
            confidence=_MAX_CONFIDENCE,
            where="metadata",
        )


def _combine(flags: list[Flag]) -> Flag:
    """Several hits for one code: keep the strongest as evidence, noisy-or the confidence."""
    best = max(flags, key=lambda f: (f.confidence, f.where == "title"))
    miss = 1.0
    for flag in flags:
        miss *= 1 - flag.confidence
    confidence = min(_MAX_CONFIDENCE, 1 - miss)
    return replace(best, confidence=round(confidence, 3))
