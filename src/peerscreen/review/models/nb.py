"""`nb`: complement naive Bayes on the `tfidf-lr` features.

Complement NB (Rennie et al. 2003) estimates each class from the documents *not* in it, which
keeps it stable when one class is rare, and it trains in one pass over the counts: the
fastest backend, and a useful floor in comparisons. Its raw probabilities are extreme, so
the inclusion head is sigmoid-calibrated.
"""

from __future__ import annotations

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.naive_bayes import ComplementNB

from peerscreen.review.models.heads import SmallClassCalibrated, ThresholdedMultiLabel
from peerscreen.review.models.registry import Backend, register_backend
from peerscreen.review.models.tfidf_lr import DEFAULTS as TFIDF_DEFAULTS
from peerscreen.review.models.tfidf_lr import make_featurizer

DEFAULTS = {**TFIDF_DEFAULTS, "alpha": 0.3}


def _nb(params: dict) -> ComplementNB:
    return ComplementNB(alpha=params["alpha"])


register_backend(
    Backend(
        name="nb",
        description="word + char TF-IDF, criteria flags, complement naive Bayes (calibrated)",
        featurizer=make_featurizer,
        inclusion_head=lambda params, seed: SmallClassCalibrated(
            _nb(params), method="sigmoid", cv=params["calibration_cv"], ensemble=False
        ),
        category_head=lambda params, seed: _nb(params),
        outcome_head=lambda params, seed: ThresholdedMultiLabel(
            _nb(params), cv=params["threshold_cv"], random_state=seed
        ),
        defaults=DEFAULTS,
        screening_featurizer=lambda params: TfidfVectorizer(
            ngram_range=(1, 2), sublinear_tf=True, max_df=0.95, strip_accents="unicode"
        ),
        screening_head=lambda params, seed: ComplementNB(alpha=params["alpha"]),
    )
)
