"""Import: read files, clean, deduplicate, and report what happened.

This is the library function behind `peerscreen import`, and the way every other command
(rank, tag, screen) reads its input, so all of them see the same records.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from peerscreen.io.dedup import DedupReport, deduplicate
from peerscreen.io.readers import FileReport, read_files
from peerscreen.io.readers.base import paused_gc
from peerscreen.io.records import RecordSet

#: Fields whose absence the import report counts: the bibliographic ones.
REPORTED_FIELDS = (
    "title",
    "abstract",
    "authors",
    "year",
    "journal",
    "doi",
    "pmid",
    "keywords",
    "mesh",
)


@dataclass
class ImportResult:
    records: RecordSet
    files: list[FileReport]
    dedup: DedupReport | None
    missing: dict[str, int] = field(default_factory=dict)

    @property
    def n_records(self) -> int:
        return len(self.records)

    @property
    def without_text(self) -> list[str]:
        """Ids of records with neither title nor abstract (kept, but worth a look)."""
        frame = self.records.frame
        return frame.loc[~self.records.has_text(), "record_id"].tolist()

    @property
    def n_labelled(self) -> int:
        return int(self.records.frame["included"].notna().sum())

    @property
    def n_included(self) -> int:
        return int((self.records.frame["included"] == 1).sum())


def count_missing(records: RecordSet) -> dict[str, int]:
    frame = records.frame
    missing = {}
    for name in REPORTED_FIELDS:
        column = frame[name]
        if name in ("authors", "keywords", "mesh"):
            missing[name] = int(column.map(len).eq(0).sum())
        else:
            missing[name] = int(column.isna().sum())
    return missing


def import_records(
    paths: Sequence[str | Path], *, fmt: str | None = None, dedup: bool = True
) -> ImportResult:
    """Read `paths` (any supported format), clean, and deduplicate unless `dedup` is False."""
    records, reports = read_files(paths, fmt)
    report = None
    if dedup:
        with paused_gc():
            records, report = deduplicate(records)
    return ImportResult(
        records=records, files=reports, dedup=report, missing=count_missing(records)
    )
