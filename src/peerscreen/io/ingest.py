"""Import: read files, clean, deduplicate, and report what happened.

This is the library function behind `peerscreen import`, and the way every other command
(rank, tag, screen) reads its input, so all of them see the same records.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from peerscreen.errors import OutputError
from peerscreen.io.dedup import DedupReport, deduplicate, duplicates_table
from peerscreen.io.readers import FileReport, read_files
from peerscreen.io.readers.base import paused_gc
from peerscreen.io.records import RecordSet
from peerscreen.io.writers import write_records

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


#: Formats a duplicates report can be written in: tables a reviewer opens in a spreadsheet.
DUPLICATES_REPORT_FORMATS = (".csv", ".tsv", ".xlsx")


def write_duplicates_report(result: ImportResult, target: str | Path) -> Path:
    """Write every merged group of an import (`dedup.duplicates_table`), atomically.

    A table with only a header means nothing merged; an import run without deduplication
    has nothing to report, which is an error rather than an empty file that reads as "no
    duplicates".
    """
    target = Path(target)
    if result.dedup is None:
        raise OutputError(f"{target}: no duplicates report without deduplication (--no-dedup)")
    if target.suffix.lower() not in DUPLICATES_REPORT_FORMATS:
        raise OutputError(
            f"{target}: a duplicates report is a table; use one of "
            f"{', '.join(DUPLICATES_REPORT_FORMATS)}"
        )
    return write_records(duplicates_table(result.dedup), target)
