"""The fast scoring paths give exactly what the straightforward ones give.

`CriteriaFlagger.flag_many` (pattern gate, lazy sentencizer) against `flag` record by
record; `PatternGate`'s reduced Matchers against the full Matcher on random patterns and
docs; `fast_featurizer` against the fitted scikit-learn featurizer, matrix entry for entry.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import spacy
from hypothesis import given, settings
from hypothesis import strategies as st
from spacy.matcher import Matcher

from peerscreen.io.ingest import import_records
from peerscreen.paths import DEFAULT_CORPUS
from peerscreen.review.criteria import CriteriaFlagger
from peerscreen.review.models.features import CRITERIA_COLUMN, fast_featurizer, model_frame
from peerscreen.review.pattern_gate import PatternGate
from peerscreen.review.protocol import load_protocol
from tests.conftest import FIXTURES, ROOT

SOURCES = [
    DEFAULT_CORPUS,
    ROOT / "data" / "examples" / "new_records.ris",
    FIXTURES / "records.csv",
    FIXTURES / "labels.jsonl",
    FIXTURES / "pubmed.xml",
    FIXTURES / "embase.ris",
]


@pytest.fixture(scope="module")
def flagger():
    return CriteriaFlagger(load_protocol())


def _fields(path):
    frame = import_records([path], dedup=False).records.frame
    titles = [t if isinstance(t, str) else None for t in frame["title"]]
    abstracts = [a if isinstance(a, str) else None for a in frame["abstract"]]
    years = [None if y is None or y is pd.NA else int(y) for y in frame["year"]]
    languages = [v if isinstance(v, str) else None for v in frame["language"]]
    return titles, abstracts, years, languages


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_flag_many_equals_flag_record_by_record(flagger, path):
    titles, abstracts, years, languages = _fields(path)
    fast = flagger.flag_many(titles, abstracts, years, languages)
    plain = [
        flagger.flag(t, a, year=y, language=lang)
        for t, a, y, lang in zip(titles, abstracts, years, languages, strict=True)
    ]
    assert fast == plain  # every flag, evidence span, confidence, context and cue count


def test_gate_rules_out_most_patterns_on_the_corpus(flagger):
    titles, abstracts, _, _ = _fields(DEFAULT_CORPUS)
    docs = [flagger.nlp.make_doc(f"{t}\n\n{a}") for t, a in zip(titles, abstracts, strict=True)]
    kept = [len(flagger._gate.possible(doc)) for doc in docs]
    assert np.mean(kept) < len(flagger._gate.patterns) / 3


# -- the gate against the full Matcher on random patterns and docs ---------------------------
WORDS = ["a", "b", "c", "d", "1", "2", "-", "A", "B"]
TOKEN_SPECS = st.one_of(
    st.builds(lambda w: {"LOWER": w}, st.sampled_from(WORDS)),
    st.builds(lambda w: {"ORTH": w}, st.sampled_from(WORDS)),
    st.builds(lambda ws: {"LOWER": {"IN": ws}}, st.lists(st.sampled_from(WORDS), min_size=1)),
    st.builds(lambda ws: {"LOWER": {"NOT_IN": ws}}, st.lists(st.sampled_from(WORDS), min_size=1)),
    st.just({"LIKE_NUM": True}),
    st.just({}),
)
OPS = st.sampled_from([None, None, None, "?", "+", "*", "!"])


@st.composite
def patterns(draw):
    tokens = []
    for _ in range(draw(st.integers(1, 4))):
        spec = dict(draw(TOKEN_SPECS))
        op = draw(OPS)
        if op:
            spec["OP"] = op
        tokens.append(spec)
    return tokens


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(["K1", "K2", "K3"]), patterns()), min_size=1, max_size=5),
    st.lists(st.lists(st.sampled_from(WORDS), max_size=12), min_size=1, max_size=6),
)
def test_reduced_matchers_return_exactly_the_full_matchers_matches(keyed_patterns, texts):
    nlp = spacy.blank("en")
    full = Matcher(nlp.vocab)
    gate = PatternGate(nlp.vocab)
    for key, pattern in keyed_patterns:
        full.add(key, [pattern])
        gate.add(key, pattern)
    for words in texts:
        doc = spacy.tokens.Doc(nlp.vocab, words=words)
        assert gate.matcher_for(doc, full)(doc) == full(doc)


# -- the featurizer ------------------------------------------------------------------------
@pytest.mark.parametrize("path", SOURCES[:3], ids=lambda p: p.name)
def test_fast_featurizer_gives_the_same_matrix(trained, path):
    model = trained.model
    X = model_frame(import_records([path], dedup=False).records)
    X[CRITERIA_COLUMN] = model.flagger.flag_many(list(X["title"]), list(X["abstract"]), None, None)
    want = model.features_.transform(X)
    got = fast_featurizer(model.features_).transform(X)
    assert type(got) is type(want) and got.shape == want.shape
    assert np.array_equal(got.indptr, want.indptr)
    assert np.array_equal(got.indices, want.indices)
    assert np.array_equal(got.data, want.data)  # bit for bit, not approximately
