"""Batch work over files of any size: streaming `tag`/`rank` in chunks with resumable
sidecars, output sinks, the scorer, and tagging on Spark."""

from peerscreen._exports import lazy_exports

__getattr__, __all__ = lazy_exports(
    __name__,
    {
        "BatchOptions": "streaming",
        "BatchResult": "streaming",
        "rank_files": "streaming",
        "tag_files": "streaming",
        "Scorer": "scoring",
        "ScoringSpec": "scoring",
        "tag_with_spark": "spark",
    },
)
