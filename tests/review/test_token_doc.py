"""The flag pass without spaCy Docs gives what spaCy gives, on real text.

`TokenCache` against `nlp.make_doc` + the sentencizer, token for token; `TokenPatterns`
against spaCy's `Matcher` on random patterns and docs; and `CriteriaFlagger.flag_many`
(lists, no Doc) against `flag` (spaCy's Doc, Matcher, PhraseMatchers) on the corpus and on
the real SYNERGY files in ../shared/data/benchmarks (skipped without them).
"""

from __future__ import annotations

import pandas as pd
import pytest
import spacy
from hypothesis import given, settings
from hypothesis import strategies as st
from spacy.matcher import Matcher

from peerscreen.io.ingest import import_records
from peerscreen.paths import DEFAULT_CORPUS
from peerscreen.review.criteria import CriteriaFlagger
from peerscreen.review.protocol import load_protocol
from peerscreen.review.token_doc import TokenCache
from peerscreen.review.token_matcher import TokenPatterns, supports
from tests.conftest import SHARED_DATA, needs_shared

BENCHMARKS = SHARED_DATA / "benchmarks"
#: Every n-th record of the benchmark files in the flag comparison (all of them: minutes).
BENCHMARK_STEP = 4

EDGE_TEXTS = [
    "", " ", "  a  b ", "\n\nx", "a \n b", "Title\n\n", "x\t\ty", "end. ",
    "e.g . U.S. don't 12-week SF-36 COVID-19 (n = 5). Children aged 8-17 years.",
    "Peer-run groups (n=12);  women-only\u00a0services... 'quoted' \"text\"?! :) ok",
]  # fmt: skip


@pytest.fixture(scope="module")
def flagger():
    return CriteriaFlagger(load_protocol())


def _fields(paths, step=1):
    frame = import_records(paths, dedup=False).records.frame.iloc[::step]
    titles = [t if isinstance(t, str) else None for t in frame["title"]]
    abstracts = [a if isinstance(a, str) else None for a in frame["abstract"]]
    years = [None if y is None or y is pd.NA else int(y) for y in frame["year"]]
    languages = [v if isinstance(v, str) else None for v in frame["language"]]
    return titles, abstracts, years, languages


def _spacy_tokens(nlp, text):
    doc = nlp.make_doc(text)
    nlp.get_pipe("sentencizer")(doc)
    return [(t.idx, t.text, t.lower_, t.like_num, t.is_space, bool(t.is_sent_start)) for t in doc]


def _cached_tokens(cache, text):
    doc = cache.doc(text)
    doc.sentencize()
    return list(
        zip(doc.starts, doc.orth, doc.lower, doc.numbers, doc.spaces, doc.sent_starts, strict=True)
    )


def _texts(paths, step=1):
    titles, abstracts, _, _ = _fields(paths, step)
    return [f"{t or ''}\n\n{a or ''}" for t, a in zip(titles, abstracts, strict=True)]


def _assert_same_tokens(flagger, texts):
    cache = TokenCache(flagger.nlp, flagger._sentencizer.punct_chars)
    for text in texts:
        assert _cached_tokens(cache, text) == _spacy_tokens(flagger.nlp, text), text[:200]


def test_cached_tokens_are_spacys_on_edge_cases_and_the_corpus(flagger):
    _assert_same_tokens(flagger, EDGE_TEXTS + _texts([DEFAULT_CORPUS]))


@needs_shared
def test_cached_tokens_are_spacys_on_the_benchmark_files(flagger):
    _assert_same_tokens(flagger, _texts(sorted(BENCHMARKS.glob("*.csv")), step=2))


def test_flag_many_equals_spacy_flag_on_edge_cases(flagger):
    fast = flagger.flag_many(EDGE_TEXTS, EDGE_TEXTS[::-1])
    plain = [flagger.flag(t, a) for t, a in zip(EDGE_TEXTS, EDGE_TEXTS[::-1], strict=True)]
    assert fast == plain


@needs_shared
def test_flag_many_equals_spacy_flag_on_the_benchmark_files(flagger):
    titles, abstracts, years, languages = _fields(
        sorted(BENCHMARKS.glob("*.csv")), step=BENCHMARK_STEP
    )
    fast = flagger.flag_many(titles, abstracts, years, languages)
    plain = [
        flagger.flag(t, a, year=y, language=lang)
        for t, a, y, lang in zip(titles, abstracts, years, languages, strict=True)
    ]
    assert sum(bool(r.exclusions) for r in plain) > len(plain) / 10  # the rules do fire
    different = [i for i, (f, p) in enumerate(zip(fast, plain, strict=True)) if f != p]
    assert not different, (len(different), titles[different[0]])


# -- TokenPatterns against spaCy's Matcher -----------------------------------------------------
WORDS = ["a", "b", "c", "1", "two", "-", "A", "B", "."]
TOKEN_SPECS = st.one_of(
    st.builds(lambda w: {"LOWER": w}, st.sampled_from(WORDS)),
    st.builds(lambda w: {"ORTH": w}, st.sampled_from(WORDS)),
    st.builds(lambda ws: {"LOWER": {"IN": ws}}, st.lists(st.sampled_from(WORDS), min_size=1)),
    st.builds(lambda ws: {"LOWER": {"NOT_IN": ws}}, st.lists(st.sampled_from(WORDS), min_size=1)),
    st.builds(lambda ws: {"ORTH": {"IN": ws}}, st.lists(st.sampled_from(WORDS), min_size=1)),
    st.builds(lambda v: {"LIKE_NUM": v}, st.booleans()),
    st.builds(
        lambda r: {"LOWER": {"REGEX": r}}, st.sampled_from(["^[0-9]$", "^(a|b)$", "w", "^$"])
    ),
    st.builds(lambda r: {"ORTH": {"REGEX": r}}, st.sampled_from(["^[A-Z]$", "[0-9]", "o$"])),
    st.just({}),
)


@st.composite
def patterns(draw):
    tokens = []
    for _ in range(draw(st.integers(1, 5))):
        spec = dict(draw(TOKEN_SPECS))
        op = draw(st.sampled_from([None, None, "?", "!"]))
        if op:
            spec["OP"] = op
        tokens.append(spec)
    return tokens


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(["K1", "K2", "K3"]), patterns()), min_size=1, max_size=5),
    st.lists(st.lists(st.sampled_from(WORDS), max_size=12), min_size=1, max_size=4),
)
def test_token_patterns_match_as_spacys_matcher(keyed_patterns, texts):
    nlp = spacy.blank("en")
    matcher = Matcher(nlp.vocab)
    ours = TokenPatterns()
    cache = TokenCache(nlp, set(nlp.add_pipe("sentencizer").punct_chars))
    keyed_patterns = [(k, p) for k, p in keyed_patterns if supports(p)]
    for key, pattern in keyed_patterns:
        matcher.add(key, [pattern])
        ours.add(key, [pattern])
    for words in texts:
        text = " ".join(words)
        doc = nlp.make_doc(text)
        assert [t.text for t in doc] == [w for w in words if w]  # one token per word
        want = (
            {(nlp.vocab.strings[m], s, e) for m, s, e in matcher(doc)} if keyed_patterns else set()
        )
        got = ours.find(cache.doc(text))
        assert len(got) == len(set(got))
        assert set(got) == want


def test_supports_the_default_operators_and_text_attributes_only():
    assert supports([{"LOWER": "a"}, {"OP": "?"}, {"LIKE_NUM": True}, {"ORTH": "-", "OP": "!"}])
    assert not supports([{"LOWER": "a", "OP": "+"}])
    assert not supports([{"POS": "NOUN"}])
    assert not supports([{"OP": "?"}])  # no token required: spaCy's empty matches
    assert supports([{"LOWER": {"REGEX": "^(19|[2-9][0-9])$"}}])
    assert not supports([{"LOWER": {"REGEX": ["^1$"]}}])


def test_a_pattern_only_spacy_runs_sends_flag_many_down_the_spacy_path():
    protocol = load_protocol()
    rule = protocol.exclusion[0]
    extra = [[{"LOWER": "peer", "OP": "+"}, {"LOWER": "support"}]]
    changed = rule.model_copy(update={"patterns": [*rule.patterns, *extra]})
    protocol = protocol.model_copy(update={"exclusion": [changed, *protocol.exclusion[1:]]})
    flagger = CriteriaFlagger(protocol)
    assert flagger._patterns is None
    titles, abstracts, years, languages = _fields([DEFAULT_CORPUS], step=5)
    fast = flagger.flag_many(titles, abstracts, years, languages)
    plain = [
        flagger.flag(t, a, year=y, language=lang)
        for t, a, y, lang in zip(titles, abstracts, years, languages, strict=True)
    ]
    assert fast == plain
