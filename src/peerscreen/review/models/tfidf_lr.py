"""`tfidf-lr`, the default backend: word and character n-gram TF-IDF plus criteria-flag
features, class-weighted logistic regression, sigmoid-calibrated inclusion probabilities.

Why these choices: on a few hundred labelled abstracts, linear models on sparse n-grams are
as accurate as anything and train in well under a second; character n-grams catch
morphology the blank spaCy tokenizer cannot (no lemmatizer offline); class weights keep the
rare class (inclusions in a real search) from being ignored; calibration makes `p_include`
a probability that decision bands can be cut on.
"""

from __future__ import annotations

from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from peerscreen.review.models.features import CRITERIA_COLUMN, AddCriteria, CriteriaFeatures
from peerscreen.review.models.heads import SmallClassCalibrated, ThresholdedMultiLabel
from peerscreen.review.models.registry import Backend, register_backend

DEFAULTS = {
    "word_ngrams": (1, 2),
    "char_ngrams": (3, 5),
    "min_df": 1,
    "max_features": 200_000,
    "use_char": True,
    "use_flags": True,
    "C": 4.0,
    "calibration_cv": 5,
    "threshold_cv": 3,
}


def make_featurizer(protocol: dict, params: dict) -> Pipeline:
    parts = [
        (
            "word",
            TfidfVectorizer(
                ngram_range=tuple(params["word_ngrams"]),
                sublinear_tf=True,
                min_df=params["min_df"],
                max_features=params["max_features"],
                strip_accents="unicode",
                stop_words="english",
            ),
            "text",
        )
    ]
    if params["use_char"]:
        parts.append(
            (
                "char",
                TfidfVectorizer(
                    analyzer="char_wb",
                    ngram_range=tuple(params["char_ngrams"]),
                    sublinear_tf=True,
                    min_df=max(2, params["min_df"]),
                    max_features=params["max_features"],
                ),
                "text",
            )
        )
    if params["use_flags"]:
        parts.append(("flags", CriteriaFeatures(protocol), [CRITERIA_COLUMN, "mesh"]))
    columns = ColumnTransformer(parts, sparse_threshold=1.0)
    return Pipeline([("criteria", AddCriteria(protocol)), ("columns", columns)])


def _logistic(params: dict, seed: int, *, multiclass: bool = False) -> LogisticRegression:
    """liblinear for binary heads (5x faster than lbfgs on sparse n-grams, measured on the
    corpus: 0.15 s vs 0.78 s a fit); lbfgs for the multinomial category head."""
    return LogisticRegression(
        C=params["C"],
        class_weight="balanced",
        solver="lbfgs" if multiclass else "liblinear",
        max_iter=2000,
        tol=1e-4,
        random_state=seed,
    )


def make_inclusion_head(params: dict, seed: int) -> SmallClassCalibrated:
    return SmallClassCalibrated(
        _logistic(params, seed), method="sigmoid", cv=params["calibration_cv"], ensemble=False
    )


def make_category_head(params: dict, seed: int) -> LogisticRegression:
    return _logistic(params, seed, multiclass=True)


def make_outcome_head(params: dict, seed: int) -> ThresholdedMultiLabel:
    return ThresholdedMultiLabel(
        _logistic(params, seed), cv=params["threshold_cv"], random_state=seed
    )


register_backend(
    Backend(
        name="tfidf-lr",
        description="word + char n-gram TF-IDF, criteria flags, class-weighted logistic regression",
        featurizer=make_featurizer,
        inclusion_head=make_inclusion_head,
        category_head=make_category_head,
        outcome_head=make_outcome_head,
        defaults=DEFAULTS,
    )
)
