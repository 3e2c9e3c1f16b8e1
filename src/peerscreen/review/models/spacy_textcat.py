"""`spacy-textcat`: spaCy `textcat` / `textcat_multilabel` trained from scratch on
`spacy.blank("en")`, configured by a real spaCy config in `configs/spacy/`.

- **Architecture.** `textcat_bow.cfg` (default): TextCatBOW.v3, a linear model over hashed
  words (unigrams: bigrams scored lower on the corpus, category macro-F1 0.77 vs 0.84 in
  5-fold CV). `--set architecture="ensemble"` (`textcat_ensemble.cfg`):
  TextCatEnsemble.v2, the same linear model plus a CNN over hashed word embeddings (~20x
  slower to train). `--set config=PATH` takes any spaCy config with one `textcat` or
  `textcat_multilabel` component; it is validated by spaCy's registry and a bad one raises
  `ConfigError`. The pipeline comes from `[nlp]` and `[components]`; our loop reads
  `[training]` max_epochs, dropout, optimizer and batcher; the seed is `random_state`.
- **Heads.** Inclusion: exclusive classes, Platt-calibrated on cross-validated logits (a
  bag-of-words softmax is overconfident; calibration makes `p_include` a probability that
  decision bands can be cut on). Category: exclusive classes over the protocol's
  categories. Outcomes: one `textcat_multilabel` model for all domains, each domain's
  threshold tuned for F1 by cross-validation (as `ThresholdedMultiLabel` does for the
  scikit-learn backends). Exclusive heads repeat the rarer classes' examples each epoch
  (`balance`), spaCy's nearest thing to `class_weight="balanced"`.
- **Criteria flags.** A textcat reads text, not numeric features, so each criteria flag
  the rules raise (exclusion codes, design, population, category and outcome cues, MeSH
  domains; the columns of `CriteriaFeatures`) is appended to the text as one pseudo-word
  (`xxflagexclusionyouthonly`) that the bag-of-words model weighs like any other word.
  `--set use_flags=false` trains on the text alone. No top terms: the hashed weights name
  no words.
- **Reproducibility.** thinc draws initial weights and dropout masks from the global
  `random`/`numpy` generators, so `fit` seeds them (as `spacy.util.fix_random_seed`
  does) and restores their previous state afterwards; batches are shuffled by a local
  generator.
  Same seed, same data: the same model, bit for bit.
- **Pickling.** A fitted head pickles as its config text plus `nlp.to_bytes()` and is
  rebuilt from them, so `ReviewModel` goes into MLflow's pyfunc like any other backend.
- **Screening loop.** simulate, bench and `screen` retrain after every label, thousands of
  times; a spaCy training run per decision would take hours. There the backend uses the
  closed-form twin of TextCatBOW: the same blank spaCy tokenizer, hashed lower-cased 1-2
  grams (`SpacyHashedNgrams`) and a class-weighted linear classifier.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin, clone
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.pipeline import Pipeline
from sklearn.svm import LinearSVC

from peerscreen.errors import ConfigError
from peerscreen.paths import PROJECT_ROOT
from peerscreen.review.models.features import AddCriteria, CriteriaFeatures
from peerscreen.review.models.heads import (
    SmallClassCalibrated,
    ThresholdedMultiLabel,
    f1_thresholds,
)
from peerscreen.review.models.registry import Backend, register_backend

SPACY_CONFIGS = PROJECT_ROOT / "configs" / "spacy"
ARCHITECTURES = {"bow": "textcat_bow.cfg", "ensemble": "textcat_ensemble.cfg"}
TEXTCAT_FACTORIES = ("textcat", "textcat_multilabel")
FLAG_PREFIX = "xxflag"

DEFAULTS = {
    "architecture": "bow",
    "config": None,  # a spaCy config file; overrides `architecture`
    "max_epochs": None,  # None: the config's [training] max_epochs
    "dropout": None,  # None: the config's [training] dropout
    "lowercase": True,
    "use_flags": True,
    "balance": True,
    "batch_size": 256,  # nlp.pipe batch size when predicting
    "calibration_cv": 5,
    "threshold_cv": 3,
    "screening_ngrams": 2,
    "screening_C": 0.1,
}


# -- config -----------------------------------------------------------------------------
def config_path(params: dict) -> Path:
    """The spaCy config a parameter set names: `config`, else `architecture`'s file."""
    if params.get("config"):
        return Path(params["config"])
    name = params.get("architecture", "bow")
    if name not in ARCHITECTURES:
        raise ConfigError(
            f"spacy-textcat: unknown architecture '{name}' (choose from "
            f"{', '.join(ARCHITECTURES)}, or --set config=PATH for another spaCy config)"
        )
    return SPACY_CONFIGS / ARCHITECTURES[name]


def load_textcat_config(path: str | Path, *, exclusive: bool = True) -> tuple[Any, str]:
    """Read and validate a spaCy config; return it (set up for exclusive or multi-label
    classes) with the name of its textcat component. Any problem is a `ConfigError`."""
    from spacy.util import load_config

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: spaCy config not found")
    try:
        config = load_config(path, interpolate=False)
    except Exception as exc:  # configparser, thinc and catalogue errors alike
        raise ConfigError(f"{path}: not a valid spaCy config: {_one_line(exc)}") from None
    components = config.get("components", {})
    pipeline = config.get("nlp", {}).get("pipeline", [])
    names = [n for n in pipeline if components.get(n, {}).get("factory") in TEXTCAT_FACTORIES]
    if len(names) != 1:
        raise ConfigError(
            f"{path}: [nlp] pipeline needs exactly one component with factory "
            f"{' or '.join(TEXTCAT_FACTORIES)} (found {len(names)})"
        )
    name = names[0]
    component = components[name]
    component["factory"] = "textcat" if exclusive else "textcat_multilabel"
    scorer = component.get("scorer")
    if isinstance(scorer, dict) and "@scorers" in scorer:
        scorer["@scorers"] = (
            "spacy.textcat_scorer.v2" if exclusive else "spacy.textcat_multilabel_scorer.v2"
        )
    model = component.get("model", {})
    for section in (model, model.get("linear_model", {})):
        if "exclusive_classes" in section:
            section["exclusive_classes"] = exclusive
    return config, name


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())[:400]


def _build(config: Any, path: str | Path) -> tuple[Any, dict]:
    """The blank pipeline and the resolved [training] section, or a `ConfigError`."""
    from spacy.schemas import ConfigSchemaTraining
    from spacy.util import load_model_from_config, registry

    try:
        nlp = load_model_from_config(config, auto_fill=True, validate=True)
        training = registry.resolve(
            nlp.config.interpolate()["training"], schema=ConfigSchemaTraining, validate=True
        )
    except Exception as exc:  # ConfigValidationError, RegistryError, spaCy's ValueErrors
        raise ConfigError(f"{path}: invalid spaCy config: {_one_line(exc)}") from None
    return nlp, training


# -- featurizer -------------------------------------------------------------------------
class TextWithFlags(TransformerMixin, BaseEstimator):
    """Records -> 1-D array of texts for a textcat: title + abstract, lower-cased if
    `lowercase`, and with `use_flags` one pseudo-word per criteria feature that fired."""

    def __init__(
        self, protocol: dict | None = None, *, lowercase: bool = True, use_flags: bool = True
    ):
        self.protocol = protocol
        self.lowercase = lowercase
        self.use_flags = use_flags

    def fit(self, X: pd.DataFrame, y: Any = None) -> TextWithFlags:
        self.criteria_ = CriteriaFeatures(self.protocol).fit(X) if self.use_flags else None
        if self.criteria_ is not None:
            self.flag_words_ = np.array(
                [_flag_word(n) for n in self.criteria_.get_feature_names_out()], dtype=object
            )
        return self

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        texts = [t or "" for t in X["text"]]
        if self.lowercase:
            texts = [t.lower() for t in texts]
        if self.criteria_ is not None:
            flags = self.criteria_.transform(X).tocsr()
            words = self.flag_words_
            texts = [
                " ".join([text, *words[flags.indices[flags.indptr[i] : flags.indptr[i + 1]]]])
                for i, text in enumerate(texts)
            ]
        return np.asarray(texts, dtype=object)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray(["text"], dtype=object)


def _flag_word(feature: str) -> str:
    """`exclusion=youth_only` -> `xxflagexclusionyouthonly`: one token for the tokenizer."""
    return FLAG_PREFIX + "".join(ch for ch in feature.lower() if ch.isalnum())


def make_featurizer(protocol: dict, params: dict) -> Pipeline:
    config_path(params)  # an unknown architecture fails before any work
    text = TextWithFlags(protocol, lowercase=params["lowercase"], use_flags=params["use_flags"])
    return Pipeline([("criteria", AddCriteria(protocol)), ("text", text)])


# -- the spaCy classifier ---------------------------------------------------------------
class SpacyTextcat(ClassifierMixin, BaseEstimator):
    """A scikit-learn classifier around one spaCy textcat trained from scratch.

    `fit(texts, y)` with `exclusive=True` takes one label per text (`classes_` as
    scikit-learn sorts them) and `predict_proba` returns the softmax over `classes_`; with
    `exclusive=False` it takes a 0/1 indicator matrix and returns one independent score
    per column (`textcat_multilabel`).
    """

    def __init__(
        self,
        config: str | None = None,
        *,
        exclusive: bool = True,
        max_epochs: int | None = None,
        dropout: float | None = None,
        balance: bool = True,
        batch_size: int = 256,
        random_state: int | None = 0,
    ):
        self.config = config
        self.exclusive = exclusive
        self.max_epochs = max_epochs
        self.dropout = dropout
        self.balance = balance
        self.batch_size = batch_size
        self.random_state = random_state

    def fit(self, X: Any, y: Any) -> SpacyTextcat:
        texts = _texts(X)
        y = np.asarray(y)
        if self.exclusive:
            self.classes_ = np.unique(y)
            labels = [str(c) for c in self.classes_]
            cats = [{label: float(label == str(v)) for label in labels} for v in y]
            groups = y
        else:
            if y.ndim != 2:
                raise ValueError("exclusive=False needs a 2-D 0/1 indicator matrix")
            labels = [str(j) for j in range(y.shape[1])]
            cats = [{label: float(v) for label, v in zip(labels, row, strict=True)} for row in y]
            groups = None
        self.labels_ = labels
        self._fit_spacy(texts, cats, groups)
        return self

    def _fit_spacy(self, texts: list[str], cats: list[dict], groups: np.ndarray | None) -> None:
        from spacy.training import Example

        path = self.config or SPACY_CONFIGS / ARCHITECTURES["bow"]
        config, name = load_textcat_config(path, exclusive=self.exclusive)
        seed = 0 if self.random_state is None else int(self.random_state)
        saved = random.getstate(), np.random.get_state()
        try:
            # thinc draws weights and dropout masks from these global generators; seeded as
            # spacy.util.fix_random_seed does, minus torch's generator, which thinc's CPU
            # ops never read and which the MiniLM backends own
            random.seed(seed)
            np.random.seed(seed % 2**32)
            nlp, training = _build(config, path)
            textcat = nlp.get_pipe(name)
            for label in self.labels_:
                textcat.add_label(label)
            examples = [
                Example.from_dict(nlp.make_doc(t), {"cats": c})
                for t, c in zip(texts, cats, strict=True)
            ]
            optimizer = training["optimizer"]
            nlp.initialize(lambda: examples, sgd=optimizer)
            # `nlp.update` copies every example on every call (most of the training time on
            # abstracts); a lone trainable textcat can be updated directly, and it does not
            # annotate the docs it learns from, so no copy is needed.
            trainable = [n for n, p in nlp.pipeline if getattr(p, "is_trainable", False)]
            update = textcat.update if trainable == [name] else nlp.update
            epochs = self.max_epochs if self.max_epochs is not None else training["max_epochs"]
            dropout = self.dropout if self.dropout is not None else training["dropout"]
            rng = np.random.default_rng(seed)
            repeats = _balance_repeats(groups) if self.balance and groups is not None else None
            base = (
                np.arange(len(examples))
                if repeats is None
                else np.repeat(np.arange(len(examples)), repeats)
            )
            for _ in range(max(1, int(epochs))):
                order = rng.permutation(base)
                for batch in training["batcher"]([examples[i] for i in order]):
                    update(batch, drop=dropout, sgd=optimizer)
            if optimizer.averages:  # keep the averaged weights (Adam use_averages = true)
                with nlp.use_params(optimizer.averages):
                    payload = nlp.to_bytes()
                nlp.from_bytes(payload)
        finally:
            random.setstate(saved[0])
            np.random.set_state(saved[1])
        self.nlp_ = nlp
        self.component_ = name
        self.config_text_ = nlp.config.to_str()

    def predict_proba(self, X: Any) -> np.ndarray:
        texts = _texts(X)
        docs = self.nlp_.pipe(texts, batch_size=self.batch_size)
        scores = np.array([[doc.cats.get(label, 0.0) for label in self.labels_] for doc in docs])
        return scores.reshape(len(texts), len(self.labels_)).astype(float)

    def decision_function(self, X: Any) -> np.ndarray:
        """Log-odds of the positive class (binary) or of each class: what Platt scaling
        fits best, since a bag-of-words softmax crowds its probabilities near 0 and 1."""
        p = np.clip(self.predict_proba(X), 1e-9, 1 - 1e-9)
        logits = np.log(p) - np.log1p(-p)
        return logits[:, 1] if self.exclusive and logits.shape[1] == 2 else logits

    def predict(self, X: Any) -> np.ndarray:
        p = self.predict_proba(X)
        if self.exclusive:
            return self.classes_[p.argmax(axis=1)]
        return (p >= 0.5).astype(int)

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        nlp = state.pop("nlp_", None)
        if nlp is not None:
            state["nlp_bytes_"] = nlp.to_bytes()
        return state

    def __setstate__(self, state: dict) -> None:
        payload = state.pop("nlp_bytes_", None)
        self.__dict__.update(state)
        if payload is not None:
            from spacy.util import load_model_from_config
            from thinc.api import Config

            config = Config().from_str(self.config_text_, interpolate=False)
            self.nlp_ = load_model_from_config(config, auto_fill=False, validate=False)
            self.nlp_.from_bytes(payload)


def _texts(X: Any) -> list[str]:
    values = X["text"] if isinstance(X, pd.DataFrame) else np.asarray(X, dtype=object).ravel()
    return ["" if v is None else str(v) for v in values]


def _balance_repeats(y: np.ndarray) -> np.ndarray:
    """How often each example is shown per epoch so every class is seen about equally."""
    _, index, counts = np.unique(y, return_inverse=True, return_counts=True)
    per_class = np.maximum(1, np.rint(counts.max() / counts)).astype(int)
    return per_class[index]


class ThresholdedTextcat(ThresholdedMultiLabel):
    """A multi-label textcat with one threshold per label, each tuned for F1 on
    cross-validated scores (a label constant in training never fires). Unlike its parent,
    one textcat scores every label at once, so there is no one-vs-rest split."""

    def fit(self, X: Any, Y: np.ndarray) -> ThresholdedTextcat:
        X = np.asarray(_texts(X), dtype=object)
        Y = np.asarray(Y).astype(int)
        scores = np.zeros(Y.shape, dtype=float)
        for train, test in self._folds(len(Y)).split(X):
            model = clone(self.estimator).fit(X[train], Y[train])
            scores[test] = model.predict_proba(X[test])
        self.thresholds_ = f1_thresholds(Y, scores)
        self.model_ = clone(self.estimator).fit(X, Y)
        self.n_labels_ = Y.shape[1]
        return self


def _textcat(params: dict, seed: int, *, exclusive: bool = True) -> SpacyTextcat:
    return SpacyTextcat(
        str(config_path(params)),
        exclusive=exclusive,
        max_epochs=params["max_epochs"],
        dropout=params["dropout"],
        balance=params["balance"],
        batch_size=params["batch_size"],
        random_state=seed,
    )


def make_inclusion_head(params: dict, seed: int) -> Any:
    if not params["calibration_cv"]:
        return _textcat(params, seed)
    return SmallClassCalibrated(
        _textcat(params, seed), method="sigmoid", cv=params["calibration_cv"], ensemble=False
    )


def make_category_head(params: dict, seed: int) -> SpacyTextcat:
    return _textcat(params, seed)


def make_outcome_head(params: dict, seed: int) -> ThresholdedTextcat:
    return ThresholdedTextcat(
        _textcat(params, seed, exclusive=False), cv=params["threshold_cv"], random_state=seed
    )


# -- screening loop ---------------------------------------------------------------------
class SpacyHashedNgrams(TransformerMixin, BaseEstimator):
    """Texts -> hashed counts of lower-cased token n-grams from the blank spaCy tokenizer
    (TextCatBOW's features), L2-normalised, with sublinear term frequency."""

    def __init__(self, *, ngrams: int = 2, n_features: int = 2**18):
        self.ngrams = ngrams
        self.n_features = n_features

    def fit(self, X: Any, y: Any = None) -> SpacyHashedNgrams:
        return self

    def transform(self, X: Any) -> Any:
        import spacy

        tokenizer = spacy.blank("en").tokenizer
        grams = [self._ngrams(doc) for doc in tokenizer.pipe(_texts(X), batch_size=256)]
        hasher = HashingVectorizer(
            analyzer=_identity, n_features=self.n_features, alternate_sign=False, norm=None
        )
        counts = hasher.transform(grams).tocsr()
        counts.data = 1.0 + np.log(counts.data)
        from sklearn.preprocessing import normalize

        return normalize(counts)

    def _ngrams(self, doc: Any) -> list[str]:
        words = [t.lower_ for t in doc if not t.is_space and not t.is_punct]
        out = list(words)
        for n in range(2, self.ngrams + 1):
            out += [" ".join(words[i : i + n]) for i in range(len(words) - n + 1)]
        return out


def _identity(value: Any) -> Any:
    return value


def make_screening_featurizer(params: dict) -> SpacyHashedNgrams:
    return SpacyHashedNgrams(ngrams=params["screening_ngrams"])


def make_screening_head(params: dict, seed: int) -> LinearSVC:
    return LinearSVC(C=params["screening_C"], class_weight="balanced", random_state=seed)


register_backend(
    Backend(
        name="spacy-textcat",
        description="spaCy textcat from scratch (bag-of-words; --set architecture=ensemble), "
        "criteria flags as words",
        featurizer=make_featurizer,
        inclusion_head=make_inclusion_head,
        category_head=make_category_head,
        outcome_head=make_outcome_head,
        defaults=DEFAULTS,
        screening_featurizer=make_screening_featurizer,
        screening_head=make_screening_head,
    )
)
