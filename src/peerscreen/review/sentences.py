"""Sentences of a record and what each one does: background, methods, results, conclusion.

Why: in real abstracts an outcome's name in a background sentence ("Quality of life is
often impaired in ...") says nothing about what the study measured, while the same words in
a methods or results sentence ("Quality of life (SF-36) improved ...") do. The taggers
(`review.evidence`) keep only evidence found outside background sentences.

Splitting is one regular expression over the text (no tokenizer): a sentence ends at ".",
"!" or "?" (with any closing quotes or brackets) followed by white space and a capital
letter, a digit or an opening bracket, or at a blank line, or just before a structured
heading ("RESULTS:"). A full stop inside a number ("1.5", "p < .05"), after an initial or
an abbreviation ("e.g.", "et al.", "vs.") does not end one. The title is always its own
sentence (a record's text is title + blank line + abstract, `criteria.record_text`).

Roles come from structured headings where the abstract has them (BACKGROUND, OBJECTIVE,
METHODS, RESULTS, CONCLUSIONS and their common variants, carried forward until the next
heading); otherwise from cue phrases in the sentence (`ROLE_CUES`: an aim or a general
statement, "is often", "little is known", "the aim of this study", is background; "were
randomised", "was measured", a named instrument is methods; p-values, percentages,
"improved", "did not differ" are results; "we conclude", "suggest that" are conclusion),
and failing those from position (the last of three or more sentences is a conclusion, any
other a result: an unmarked first sentence often states the study's own population, so it
is not taken for background). The title has the role "title".
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections import OrderedDict
from dataclasses import dataclass

from peerscreen.review.phrases import PhraseIndex, Tokens

#: Between the title and the abstract in a record's text.
TITLE_SEPARATOR = "\n\n"
ROLES = ("title", "background", "methods", "results", "conclusion")
#: Roles whose sentences count as evidence of what a study measured or found.
EVIDENCE_ROLES = frozenset({"title", "methods", "results", "conclusion"})

_HEADINGS = {
    "background": (
        "background", "backgrounds", "introduction", "context", "rationale", "objective",
        "objectives", "aim", "aims", "purpose", "purposes", "goal", "goals", "hypothesis",
        "importance", "study objective", "study objectives", "aims and objectives",
        "background and aims", "background and objectives", "background and purpose",
        "objective and methods",
    ),
    "methods": (
        "method", "methods", "methodology", "design", "setting", "settings", "participants",
        "patients", "subjects", "population", "intervention", "interventions",
        "measurement", "measurements", "main outcome measure", "main outcome measures",
        "outcome measure", "outcome measures", "main outcomes and measures",
        "materials and methods", "methods and materials", "patients and methods",
        "subjects and methods", "study design", "design and methods", "data sources",
        "study selection", "data extraction", "search methods", "selection criteria",
        "data collection and analysis", "procedure", "procedures", "analysis",
        "design, setting, and participants", "design, setting and participants",
    ),
    "results": ("result", "results", "findings", "main results", "main findings", "outcomes"),
    "conclusion": (
        "conclusion", "conclusions", "interpretation", "discussion", "implications",
        "conclusions and relevance", "authors' conclusions", "clinical relevance",
        "significance", "summary", "relevance", "practice implications",
    ),
}  # fmt: skip
_HEADING_ROLE = {name: role for role, names in _HEADINGS.items() for name in names}
_HEADING_WORDS = max(len(h.split()) for h in _HEADING_ROLE)
#: The words just before a colon (a heading when they name one: "Patients and methods:").
_BEFORE_COLON = re.compile(r"([A-Za-z][A-Za-z '&]*)\s*$")
_COLON = re.compile(r":\s+(?=\S)")
_ABBREVIATIONS = (
    "e.g", "i.e", "et al", "vs", "cf", "approx", "fig", "figs", "no", "dr", "mr", "mrs", "ms",
    "prof", "st", "etc", "resp", "incl", "ca", "viz", "ref", "refs", "vol", "eq", "u.s",
)  # fmt: skip
#: A sentence end: ".", "!" or "?" then white space and a capital, digit or bracket; a
#: blank line; or a full stop glued to the next sentence ("outcome.Both", as exports that
#: joined an abstract's sections write it: a lower-case word, then a capitalised one).
_BREAK = re.compile(
    r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])|\n\s*\n+|(?<=[a-z]{3}[.!?])(?=[A-Z][a-z])"
)
_BEFORE_ABBREVIATION = re.compile(
    r"(?:\b(?:" + "|".join(re.escape(a) for a in _ABBREVIATIONS) + r")|\b[A-Z])\.$",
    re.IGNORECASE,
)

#: Cue phrases of each role for unheaded abstracts (matched as `review.phrases` does).
ROLE_CUES = {
    "background": (
        "is often", "are often", "is common", "are common", "is commonly", "are commonly",
        "is frequently", "are frequently", "is usually", "are usually", "is increasingly",
        "are increasingly", "is widely", "are widely", "is known", "are known",
        "is a major", "is a common", "is a leading", "is a significant", "is an important",
        "are an important", "is one of the", "are one of the", "has been shown",
        "have been shown", "has been reported", "have been reported", "has been suggested",
        "have been suggested", "has been associated", "have been associated",
        "little is known", "remains unclear", "remain unclear", "remains unknown",
        "remain unknown", "remains controversial", "is poorly understood",
        "are poorly understood", "is not well understood", "there is a need",
        "there is limited", "there is little", "there is no consensus", "aim of this",
        "aims of this", "aim of the present", "purpose of this", "purpose of the present",
        "objective of this", "objectives of this", "goal of this", "this study aimed",
        "this study aims", "this study sought", "the present study aimed",
        "this study examined", "this study investigated", "this study evaluated",
        "this study explored", "this study compares", "this study compared",
        "this review", "we aimed", "we sought", "we hypothesized", "we hypothesised",
        "we set out", "to assess whether", "to evaluate whether", "to determine whether",
        "to investigate whether", "to examine whether", "to compare the", "to evaluate the",
        "to assess the", "to determine the", "to investigate the", "to examine the",
        "to explore the", "to describe the", "is a leading cause", "prevalence of",
        "burden of", "incidence of", "is a chronic", "is a rare", "is a serious",
        "is characterized by", "is characterised by", "are characterized by",
        "is defined as", "may lead to", "can lead to", "is thought to", "is believed to",
        "is considered", "are considered", "plays a", "play a", "in recent years",
        "it is unclear", "it is unknown", "it remains",
    ),
    "methods": (
        "were randomized", "were randomised", "was randomized", "was randomised",
        "randomly assigned", "randomly allocated", "were assigned", "were allocated",
        "were recruited", "were enrolled", "was measured", "were measured", "was assessed",
        "were assessed", "was evaluated", "were evaluated", "were recorded",
        "were collected", "were obtained", "were analyzed", "were analysed",
        "was administered", "were administered", "were interviewed", "were surveyed",
        "were followed", "were included", "were identified", "were extracted",
        "were reviewed", "were searched", "was performed", "was conducted",
        "outcomes were", "outcome was", "outcome measures", "outcome measure",
        "measures were", "measures included", "primary outcome", "primary endpoint",
        "primary end point", "secondary outcomes", "secondary endpoints",
        "secondary outcome", "we measured", "we assessed", "we recruited", "we randomized",
        "we randomised", "we conducted", "we performed", "we searched", "we analyzed",
        "we analysed", "we used", "we compared", "we surveyed", "we interviewed",
        "questionnaire was", "questionnaires were", "scale was", "scales were",
        "inventory was", "index was", "using the", "by means of", "SF-36", "SF-12",
        "EQ-5D", "WHOQOL", "CSQ-8", "PHQ-9", "HADS", "KOOS", "WOMAC", "IKDC", "Lysholm",
        "visual analogue scale", "visual analog scale",
    ),
    "results": (
        "improved", "improvement", "improvements", "increased", "decreased", "reduced",
        "reduction", "reductions", "declined", "worsened", "did not differ",
        "did not change", "did not improve", "no significant", "not significantly",
        "no statistically significant", "was significantly", "were significantly",
        "significantly", "significant", "was associated", "were associated",
        "was correlated", "were correlated", "was higher", "were higher", "was lower",
        "were lower", "was greater", "were greater", "was similar", "were similar",
        "were comparable", "was comparable", "was better", "were better", "odds ratio",
        "hazard ratio", "risk ratio", "relative risk", "confidence interval", "95 % CI",
        "95% CI", "compared with the control", "compared with placebo",
        "compared with baseline", "compared with usual", "mean difference",
    ),
    "conclusion": (
        "we conclude", "in conclusion", "in summary", "to conclude", "these findings",
        "these results", "these data", "our findings", "our results", "our data",
        "this study shows", "this study showed", "this study suggests",
        "this study demonstrates", "suggest that", "suggests that", "indicate that",
        "indicates that", "further research", "further studies", "further trials",
        "should be considered", "should be offered", "may be a useful",
        "may be an effective", "may be a safe", "may be an option", "is a safe",
        "is an effective", "appears to be", "support the use",
    ),
}  # fmt: skip
#: Statistics that mark a results sentence: p-values and percentages.
_STATISTICS = re.compile(r"\b[pP] ?[<=>≤] ?0?\.\d|\d ?%")
_ROLE_INDEX = PhraseIndex(ROLE_CUES)


def record_text(title: str | None, abstract: str | None) -> str:
    """The text the rules read: title, blank line, abstract. Every offset of a flag or an
    evidence span refers to it; the title is kept apart so title hits can count more."""
    return f"{title or ''}{TITLE_SEPARATOR}{abstract or ''}"


@dataclass(frozen=True)
class Sentence:
    """One sentence: its character offsets in the record's text and its role."""

    start: int
    end: int
    role: str

    def text(self, source: str) -> str:
        return source[self.start : self.end]


def sentence_bounds(
    text: str, headings: list[tuple[int, str]] | None = None
) -> list[tuple[int, int]]:
    """(start, end) of each sentence of `text`, stripped of surrounding white space."""
    cuts = [0]
    for match in _BREAK.finditer(text):
        if match.group(0)[:1] not in ("\n", "") and _BEFORE_ABBREVIATION.search(
            text, max(0, match.start() - 8), match.start()
        ):
            continue
        cuts.append(match.end())
    cuts.extend(start for start, _ in (headings if headings is not None else _headings(text)))
    cuts = sorted(set(cuts))
    cuts.append(len(text))
    bounds: list[tuple[int, int]] = []
    for start, end in itertools.pairwise(cuts):
        piece = text[start:end]
        stripped = piece.strip()
        if stripped:
            lead = start + len(piece) - len(piece.lstrip())
            bounds.append((lead, lead + len(stripped)))
    return bounds


def _headings(text: str) -> list[tuple[int, str]]:
    """(offset, role) of each structured heading: the one to five words before a colon
    that name a heading ("Patients and methods:"), at the start of a sentence."""
    found = []
    for colon in _COLON.finditer(text):
        match = _BEFORE_COLON.search(text, max(0, colon.start() - 60), colon.start())
        if match is None:
            continue
        words = match.group(1).split()
        for k in range(min(_HEADING_WORDS, len(words)), 0, -1):
            role = _HEADING_ROLE.get(" ".join(words[-k:]).lower())
            if role is None:
                continue
            offset = text.rindex(words[-k], match.start(1), colon.start())
            before = text[:offset].rstrip()
            if not before or before[-1] in ".:;!?)":
                found.append((offset, role))
            break
    return found


#: Recent records' sentences: the criteria flagger and the evidence gate read the same
#: record one after the other, and the split is computed once.
_CACHE: OrderedDict[tuple[str, int | None], list[Sentence]] = OrderedDict()
_CACHE_SIZE = 2048


def sentences(
    text: str,
    title_chars: int | None = None,
    tokens: Tokens | None = None,
    role_cues: list[tuple[str, int, int]] | None = None,
) -> list[Sentence]:
    """The sentences of `text` with roles. `title_chars` is the length of the title at
    the start of a record's text (its own sentence, role "title"); None: no title.
    `tokens` are the text's `Tokens` and `role_cues` the `ROLE_CUES` matches in them
    ((role, first token, end token)) when the caller has them."""
    key = (text, title_chars)
    cached = _CACHE.get(key)
    if cached is not None:
        _CACHE.move_to_end(key)
        return cached
    found = _split(text, title_chars, tokens, role_cues)
    _CACHE[key] = found
    if len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return found


def _split(
    text: str,
    title_chars: int | None,
    tokens: Tokens | None,
    role_cues: list[tuple[str, int, int]] | None,
) -> list[Sentence]:
    body_start = 0
    found: list[Sentence] = []
    if title_chars is not None:
        title = text[:title_chars]
        if title.strip():
            lead = len(title) - len(title.lstrip())
            found.append(Sentence(lead, lead + len(title.strip()), "title"))
        body_start = title_chars
    body = text[body_start:]
    headings = _headings(body)
    bounds = [(s + body_start, e + body_start) for s, e in sentence_bounds(body, headings)]
    if headings:
        roles = _heading_roles(bounds, {o + body_start: r for o, r in headings})
    else:
        tokens = tokens if tokens is not None else Tokens(text)
        cues = role_cues if role_cues is not None else _ROLE_INDEX.find(tokens)
        roles = _cue_roles(text, bounds, tokens, cues)
    found.extend(Sentence(s, e, r) for (s, e), r in zip(bounds, roles, strict=True))
    return found


def _heading_roles(bounds: list[tuple[int, int]], headings: dict[int, str]) -> list[str]:
    """Each heading's role carried forward; sentences before the first heading take its."""
    roles: list[str | None] = []
    current = None
    for start, _ in bounds:
        current = headings.get(start, current)
        roles.append(current)
    first = next((r for r in roles if r is not None), "results")
    return [r if r is not None else first for r in roles]


def _cue_roles(
    text: str, bounds: list[tuple[int, int]], tokens: Tokens, cues: list[tuple[str, int, int]]
) -> list[str]:
    """Roles of unheaded sentences from the cues in them, then their position."""
    kinds: list[set[str]] = [set() for _ in bounds]
    starts = [s for s, _ in bounds]
    for role, first, _ in cues:
        position = bisect.bisect_right(starts, tokens.starts[first]) - 1
        if position >= 0:
            kinds[position].add(role)
    if not bounds:
        return []
    for match in _STATISTICS.finditer(text, starts[0]):
        kinds[bisect.bisect_right(starts, match.start()) - 1].add("results")
    n = len(bounds)
    return [_cue_role(found, i, n) for i, found in enumerate(kinds)]


def _cue_role(kinds: set[str], position: int, n: int) -> str:
    """The role of an unheaded sentence from the kinds of cue in it, then its position."""
    if "background" in kinds and "results" not in kinds:
        return "background"
    last = position == n - 1 and n > 2
    if last and "conclusion" in kinds:
        return "conclusion"
    for role in ("results", "methods", "conclusion"):
        if role in kinds:
            return role
    return "conclusion" if last else "results"
