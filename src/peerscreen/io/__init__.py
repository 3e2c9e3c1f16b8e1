"""Records in and out: the record set, readers for every export format, cleaning,
deduplication, the import pipeline (`import_records`) and writers."""

from peerscreen._exports import lazy_exports

__getattr__, __all__ = lazy_exports(
    __name__,
    {
        "RecordSet": "records",
        "read_file": "readers",
        "read_files": "readers",
        "detect_format": "readers",
        "ImportResult": "ingest",
        "import_records": "ingest",
        "deduplicate": "dedup",
        "DedupReport": "dedup",
        "write_records": "writers",
        "WRITERS": "writers",
    },
)
