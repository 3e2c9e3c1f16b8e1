"""The spacy-textcat backend: spaCy textcat heads behind the scikit-learn contract, its
config files, reproducibility, pickling, and the fast screening twin."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from peerscreen.errors import ConfigError
from peerscreen.review.models import get_backend
from peerscreen.review.models.spacy_textcat import (
    ARCHITECTURES,
    SPACY_CONFIGS,
    SpacyHashedNgrams,
    SpacyTextcat,
    ThresholdedTextcat,
    config_path,
    load_textcat_config,
    make_featurizer,
)

BOW = str(SPACY_CONFIGS / ARCHITECTURES["bow"])
ENSEMBLE = str(SPACY_CONFIGS / ARCHITECTURES["ensemble"])

PEER = [
    "peer support workers on community mental health teams for adults",
    "mutual help groups run by people with lived experience of psychosis",
    "peer specialists delivered recovery education to adults with depression",
    "a peer run drop in centre for adults with serious mental illness",
    "consumer operated services and peer mentors after hospital discharge",
]
OTHER = [
    "pharmacokinetics of a beta blocker in healthy volunteers",
    "surgical outcomes of knee replacement in older patients",
    "a dose finding trial of an antihistamine for hay fever",
    "blood pressure control with calcium channel blockers in diabetes",
    "proton pump inhibitors for reflux in primary care",
]
TEXTS = np.array([*PEER * 3, *OTHER * 3], dtype=object)
Y = np.array([1] * 15 + [0] * 15)


@pytest.fixture(scope="module")
def binary():
    return SpacyTextcat(BOW, random_state=0).fit(TEXTS, Y)


def test_binary_head_has_sklearn_shapes_and_learns(binary):
    proba = binary.predict_proba(TEXTS)
    assert list(binary.classes_) == [0, 1]
    assert proba.shape == (30, 2)
    assert ((proba >= 0) & (proba <= 1)).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1, atol=1e-5)
    assert proba[Y == 1, 1].min() > proba[Y == 0, 1].max()
    assert (binary.predict(TEXTS) == Y).all()
    assert binary.decision_function(TEXTS).shape == (30,)


def test_category_head_keeps_string_classes():
    y = np.array(["peer_run", "mutual_help", "peer_employees"] * 10)
    model = SpacyTextcat(BOW, max_epochs=2, random_state=0).fit(TEXTS, y)
    assert list(model.classes_) == ["mutual_help", "peer_employees", "peer_run"]
    assert model.predict_proba(TEXTS[:4]).shape == (4, 3)
    assert set(model.predict(TEXTS)) <= set(y)


def test_multilabel_head_scores_each_label_and_tunes_thresholds():
    Y2 = np.c_[Y, 1 - Y, np.zeros(30, dtype=int)]  # the third label never occurs
    tagger = ThresholdedTextcat(
        SpacyTextcat(BOW, exclusive=False, max_epochs=3, random_state=0), cv=2
    ).fit(TEXTS, Y2)
    scores = tagger.predict_proba(TEXTS)
    assert scores.shape == (30, 3)
    assert ((scores >= 0) & (scores <= 1)).all()
    assert tagger.thresholds_.shape == (3,)
    predicted = tagger.predict(TEXTS)
    assert predicted[:, 2].sum() == 0
    assert (predicted[:, 0] == Y).mean() > 0.9


def test_same_seed_same_model_and_global_random_state_untouched(binary):
    import random

    np.random.seed(123)
    random.seed(123)
    before = np.random.random(), random.random()
    np.random.seed(123)
    random.seed(123)
    again = SpacyTextcat(BOW, random_state=0).fit(TEXTS, Y)
    assert (np.random.random(), random.random()) == before
    np.testing.assert_array_equal(again.predict_proba(TEXTS), binary.predict_proba(TEXTS))


def test_pickle_round_trip(binary):
    restored = pickle.loads(pickle.dumps(binary))
    assert "nlp_bytes_" not in restored.__dict__
    np.testing.assert_array_equal(restored.predict_proba(TEXTS), binary.predict_proba(TEXTS))


def test_ensemble_architecture_trains_on_a_tiny_set():
    model = SpacyTextcat(ENSEMBLE, max_epochs=1, random_state=0).fit(TEXTS[::3], Y[::3])
    proba = model.predict_proba(TEXTS)
    assert proba.shape == (30, 2) and ((proba >= 0) & (proba <= 1)).all()
    assert "TextCatEnsemble" in model.config_text_
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_allclose(restored.predict_proba(TEXTS), proba, atol=1e-6)


@pytest.mark.parametrize("architecture", sorted(ARCHITECTURES))
def test_shipped_configs_are_valid_spacy_configs(architecture):
    from peerscreen.review.models.spacy_textcat import _build

    path = config_path({"architecture": architecture})
    for exclusive, factory in ((True, "textcat"), (False, "textcat_multilabel")):
        config, name = load_textcat_config(path, exclusive=exclusive)
        assert config["components"][name]["factory"] == factory
        nlp, training = _build(config, path)
        assert nlp.pipe_names == [name]
        assert training["max_epochs"] > 0


def _config(tmp_path, text: str):
    path = tmp_path / "bad.cfg"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda s: s + "\n[nlp\nlang = en\n", "not a valid spaCy config"),
        (lambda s: s.replace("spacy.TextCatBOW.v3", "spacy.NoSuchModel.v1"), "NoSuchModel"),
        (lambda s: s.replace("ngram_size = 1", 'ngram_size = "two"'), "ngram_size"),
        (lambda s: s.replace('factory = "textcat"', 'factory = "ner"'), "exactly one component"),
        (lambda s: s.replace("max_epochs = 10", "max_epochs = []"), "max_epochs"),
    ],
)
def test_bad_config_is_a_clear_config_error(tmp_path, edit, message):
    from pathlib import Path

    path = _config(tmp_path, edit(Path(BOW).read_text(encoding="utf-8")))
    with pytest.raises(ConfigError, match=message) as info:
        SpacyTextcat(str(path)).fit(TEXTS, Y)
    assert str(path) in str(info.value)


def test_missing_config_and_unknown_architecture_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        SpacyTextcat(str(tmp_path / "nope.cfg")).fit(TEXTS, Y)
    params = get_backend("spacy-textcat").params({"architecture": "transformer"})
    with pytest.raises(ConfigError, match="bow, ensemble"):
        make_featurizer({}, params)


def test_featurizer_appends_criteria_flags_as_words(small_corpus):
    from peerscreen.review.models.review_model import ReviewModel
    from peerscreen.review.protocol import load_protocol

    model = ReviewModel(load_protocol(), backend="spacy-textcat")
    texts, results = model._features(small_corpus.frame, fit=True)
    assert texts.shape == (len(small_corpus),)
    flagged = next(i for i, r in enumerate(results) if r.exclusions)
    code = results[flagged].exclusions[0].code
    assert f"xxflagexclusion{code.replace('_', '')}" in texts[flagged].split()
    assert texts[flagged] == texts[flagged].lower()


def test_screening_featurizer_is_normalised_hashed_ngrams():
    features = SpacyHashedNgrams(ngrams=2).fit_transform([*TEXTS[:3], ""])
    assert features.shape == (4, 2**18)
    norms = np.sqrt(np.asarray(features.multiply(features).sum(axis=1))).ravel()
    np.testing.assert_allclose(norms, [1, 1, 1, 0], atol=1e-9)
    backend = get_backend("spacy-textcat")
    assert backend.screening_featurizer is not None and backend.screening_head is not None
