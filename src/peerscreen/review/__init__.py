"""The review: its protocol (criteria, codes, categories, outcomes) as validated config, the
criteria flagger, the review models and their training, ranking and evaluation."""

from peerscreen._exports import lazy_exports

__getattr__, __all__ = lazy_exports(
    __name__,
    {
        "Protocol": "protocol",
        "load_protocol": "protocol",
        "ProtocolError": "protocol",
        "write_template": "authoring",
        "summary_lines": "authoring",
        "CriteriaFlagger": "criteria",
        "Flag": "criteria",
        "train": "training",
        "TrainResult": "training",
        "ReviewModel": "models.review_model",
        "BACKENDS": "models",
        "get_backend": "models",
        "register_backend": "models",
        "RankSummary": "ranking",
        "rank_summary": "ranking",
    },
)
