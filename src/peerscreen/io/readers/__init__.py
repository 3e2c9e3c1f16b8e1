"""Read records from every export format review teams use.

`read_file` picks a reader by `--format`, else by extension, else by sniffing the content;
every reader is registered in `READERS` (see `readers.base.register_reader`), so a new
format is one module and one registry entry.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from peerscreen.errors import InputError, UnknownFormatError
from peerscreen.io.cleaning import clean_text
from peerscreen.io.readers import bibtex, jsonlines, openalex, pubmed, ris, tabular  # noqa: F401
from peerscreen.io.readers.base import (
    CITATION_FIELDS,
    MAX_FIELD_CHARS,
    READERS,
    ReaderSpec,
    ReadNotes,
    looks_binary,
    paused_gc,
)
from peerscreen.io.records import RecordSet

__all__ = [
    "MAX_FIELD_CHARS",
    "READERS",
    "FileReport",
    "detect_format",
    "read_file",
    "read_files",
]

#: Extensions several formats share: decided by content.
_AMBIGUOUS = {".txt", ".json", ".dat", ""}
#: Order in which content sniffers are tried (most specific first).
_SNIFF_ORDER = ("parquet", "xlsx", "pubmed-xml", "openalex", "medline", "ris", "bibtex", "jsonl")


@dataclass
class FileReport:
    """What was read from one file."""

    path: str
    format: str
    n_records: int = 0
    n_without_text: int = 0
    n_labelled: int = 0
    n_included: int = 0
    warnings: list[str] = field(default_factory=list)


def detect_format(path: Path) -> str:
    """The reader name for `path`: by extension, or by content where that is ambiguous."""
    if path.is_dir():
        return "openalex"
    suffix = path.suffix.lower()
    if suffix not in _AMBIGUOUS:
        for spec in READERS.values():
            if suffix in spec.extensions:
                return spec.name
    with path.open("rb") as handle:
        head = handle.read(16384)
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    for name in _SNIFF_ORDER:
        spec = READERS[name]
        if spec.sniff and spec.sniff(head):
            return name
    if suffix == ".json":
        return "openalex"
    if looks_binary(head):
        raise UnknownFormatError(path, "looks like a binary file, not a supported export")
    if suffix in ("", ".txt", ".dat"):
        return "csv"
    raise UnknownFormatError(
        path, f"unknown format '{suffix}' (known: {', '.join(sorted(READERS))})"
    )


def _spec(path: Path, fmt: str | None) -> ReaderSpec:
    if fmt is None:
        return READERS[detect_format(path)]
    name = fmt.lower()
    if name not in READERS:
        raise UnknownFormatError(
            path, f"unknown --format '{fmt}' (choose from {', '.join(sorted(READERS))})"
        )
    return READERS[name]


def read_file(path: str | Path, fmt: str | None = None) -> tuple[RecordSet, FileReport]:
    """Read one file (or OpenAlex folder) into cleaned records, with a report of what was read."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "no such file or folder")
    if path.is_dir() and fmt not in (None, "openalex"):
        raise InputError(path, "is a folder; only the openalex format reads folders")
    spec = _spec(path, fmt)
    notes = ReadNotes()
    try:
        columns = spec.read(path, notes)
    except OSError as exc:
        raise InputError(path, f"cannot be read ({exc.strerror or exc})") from None
    n = len(next(iter(columns.values()))) if columns else 0
    stem = path.stem if path.is_file() else path.name
    records = identified_records(columns, path, stem)
    records = _unique_ids(records, stem, notes)
    frame = records.frame
    report = FileReport(
        path=str(path),
        format=spec.name,
        n_records=n,
        n_without_text=int((~records.has_text()).sum()),
        n_labelled=int(frame["included"].notna().sum()),
        n_included=int((frame["included"] == 1).sum()),
        warnings=notes.warnings,
    )
    return records, report


def identified_records(columns: dict, path: Path, stem: str, first: int = 1) -> RecordSet:
    """Cleaned records with ids and provenance: records without an id get `stem-N`, N
    counting from 1 over the file (`first` is the position of the first of `columns`)."""
    n = len(next(iter(columns.values()))) if columns else 0
    ids = columns.get("record_id") or [None] * n
    columns["record_id"] = [
        str(rid).strip() if rid not in (None, "") else f"{stem}-{i}"
        for i, rid in enumerate(ids, first)
    ]
    columns["source_file"] = [str(path)] * n
    columns["source_position"] = list(range(first, first + n))
    for name in CITATION_FIELDS:
        if name in columns:
            columns[name] = [
                clean_text(v) if type(v) is str else None if v is None else _citation_value(v)
                for v in columns[name]
            ]
    # as the RIS reader does, a record without a title or journal takes its short title or
    # secondary title (T2): the same record then reads the same from any format
    for target, fallback in (("title", "short_title"), ("journal", "secondary_title")):
        if fallback in columns:
            columns[target] = [
                f if f is not None and clean_text(t) is None else t
                for t, f in zip(columns.get(target) or [None] * n, columns[fallback], strict=True)
            ]
    return RecordSet.from_columns(columns)


def _citation_value(value: object) -> str | None:
    """A citation field (`CITATION_FIELDS`) as clean text: volume 39 and "39" read alike, so
    the field survives a trip through any output format unchanged."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, float):
        if value != value:
            return None
        if value.is_integer():
            value = int(value)
    if isinstance(value, list | tuple):
        value = "; ".join(str(v) for v in value if v is not None)
    return clean_text(value if isinstance(value, str) else str(value))


def _unique_ids(records: RecordSet, stem: str, notes: ReadNotes) -> RecordSet:
    ids = records.frame["record_id"]
    if ids.is_unique:
        return records
    seen: Counter[str] = Counter()
    fixed = []
    for rid in ids:
        seen[rid] += 1
        fixed.append(rid if seen[rid] == 1 else f"{rid}~{seen[rid]}")
    repeated = sum(1 for c in seen.values() if c > 1)
    notes.warn(f"{repeated} record ids occur more than once; repeats were renamed id~2, id~3, ...")
    records.frame["record_id"] = fixed
    return records


def read_files(
    paths: Sequence[str | Path], fmt: str | None = None
) -> tuple[RecordSet, list[FileReport]]:
    """Read several files into one record set; record ids stay unique across files."""
    sets, reports = [], []
    with paused_gc():
        for path in paths:
            records, report = read_file(path, fmt)
            sets.append(records)
            reports.append(report)
        combined = sets[0] if len(sets) == 1 else RecordSet.concat(sets)
    if len(sets) > 1 and not combined.frame["record_id"].is_unique:
        stems = [Path(p).stem for p in paths]
        combined.frame["record_id"] = [
            f"{stems[i]}:{rid}" for i, s in enumerate(sets) for rid in s.frame["record_id"]
        ]
    return combined, reports
