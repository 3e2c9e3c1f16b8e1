"""CSV, TSV and XLSX exports, with the column names ASReview and the databases use.

Delimiters are sniffed (comma, semicolon, tab, pipe), a UTF-8 BOM is accepted and a file
that is not UTF-8 falls back to latin-1 with a warning. Columns are matched to record
fields case-insensitively through `COLUMN_ALIASES`; unmatched columns are kept as extra
fields so that nothing the user exported is lost.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pandas as pd

from peerscreen.cleaning import split_list
from peerscreen.errors import InputError
from peerscreen.readers.base import (
    Columns,
    ReaderSpec,
    ReadNotes,
    check_field_sizes,
    read_text,
    register_reader,
)

#: Record field -> accepted column names (lower-case), in order of preference. The label
#: aliases follow ASReview's; `label_*` names are what `peerscreen rank` writes back.
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "record_id": ("record_id", "id", "recordid"),
    "title": ("title", "primary_title", "ti", "t1", "article title", "document title"),
    "abstract": ("abstract", "notes_abstract", "ab", "n2", "abstract note"),
    "authors": ("authors", "author", "author names", "first_authors", "au", "author full names"),
    "year": ("year", "publication_year", "publication year", "py", "pubyear", "date"),
    "journal": (
        "journal", "journal_name", "source title", "publication title", "secondary_title",
        "t2", "jo", "so", "source",
    ),
    "doi": ("doi", "do", "di"),
    "pmid": ("pmid", "pubmed_id", "pubmed id"),
    "keywords": ("keywords", "kw", "author keywords", "de"),
    "mesh": ("mesh", "mesh_terms", "mesh terms", "mh"),
    "language": ("language", "la", "language of original document"),
    "included": (
        "included", "label_included", "final_included", "included_final", "label",
        "included_label", "include", "label_abstract_screening", "abstract_included",
    ),
    "exclusion_reason": ("exclusion_reason", "label_exclusion_reason"),
    "category": ("category", "label_category"),
    "outcomes": ("outcomes", "label_outcomes"),
}

LIST_COLUMNS = ("authors", "keywords", "mesh", "outcomes")
_LINE = re.compile(r"line (\d+)")


def match_columns(names: list[str]) -> dict[str, str]:
    """Map record fields to the input column that holds each (first alias present wins)."""
    lowered = {name.strip().lower(): name for name in names}
    mapping: dict[str, str] = {}
    for target, aliases in COLUMN_ALIASES.items():
        for alias in aliases:
            if alias in lowered and lowered[alias] not in mapping.values():
                mapping[target] = lowered[alias]
                break
    return mapping


def frame_to_columns(path: Path, frame: pd.DataFrame) -> Columns:
    """Rename a raw string table into record columns; error when it holds no text column."""
    names = [str(c) for c in frame.columns]
    frame.columns = names
    mapping = match_columns(names)
    if "title" not in mapping and "abstract" not in mapping:
        shown = ", ".join(names[:12]) + (" ..." if len(names) > 12 else "")
        raise InputError(
            path,
            f"no title or abstract column (columns: {shown}); "
            "name one 'title' or 'abstract' (ASReview aliases like primary_title are accepted)",
        )
    columns: Columns = {}
    for target, source in mapping.items():
        values = frame[source].tolist()
        if target in LIST_COLUMNS:
            values = [split_list(v) for v in values]
        columns[target] = values
    used = set(mapping.values())
    for name in names:
        if name not in used and name not in columns:
            columns[name] = [v if v != "" else None for v in frame[name].tolist()]
    check_field_sizes(path, columns, unit="row")
    return columns


def sniff_delimiter(sample: str, default: str = ",") -> str:
    """Guess the delimiter from the header line and a sample, preferring real structure."""
    header = sample.split("\n", 1)[0]
    counts = {d: header.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    if counts[best] == 0:
        return default
    try:
        dialect = csv.Sniffer().sniff(sample[:65536], delimiters=",;\t|")
        if dialect.delimiter in counts and counts[dialect.delimiter] > 0:
            return dialect.delimiter
    except csv.Error:
        pass
    return best


def read_delimited(path: Path, notes: ReadNotes, *, delimiter: str | None = None) -> Columns:
    text = read_text(path, notes)
    if not text.strip():
        raise InputError(path, "the file is empty")
    if delimiter is None:
        delimiter = "\t" if path.suffix.lower() in (".tsv", ".tab") else sniff_delimiter(text)
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            sep=delimiter,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            engine="c",
            skip_blank_lines=True,
        )
    except pd.errors.ParserError as exc:
        match = _LINE.search(str(exc))
        where = f"line {match.group(1)}" if match else None
        raise InputError(path, f"malformed delimited text ({_short(exc)})", location=where) from None
    except pd.errors.EmptyDataError:
        raise InputError(path, "the file has no header row") from None
    return frame_to_columns(path, frame)


def read_xlsx(path: Path, notes: ReadNotes) -> Columns:
    try:
        frame = pd.read_excel(path, dtype=str, keep_default_na=False, na_filter=False)
    except Exception as exc:  # openpyxl raises many types for corrupt workbooks
        raise InputError(path, f"not a readable Excel workbook ({_short(exc)})") from None
    frame = frame.fillna("")
    return frame_to_columns(path, frame)


def _short(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    return text[:200]


register_reader(
    ReaderSpec(
        name="csv",
        read=read_delimited,
        extensions=(".csv", ".tsv", ".tab"),
        description="comma/semicolon/tab-separated table (delimiter sniffed)",
    )
)
register_reader(
    ReaderSpec(
        name="tsv",
        read=lambda path, notes: read_delimited(path, notes, delimiter="\t"),
        description="tab-separated table",
    )
)
register_reader(
    ReaderSpec(
        name="xlsx",
        read=read_xlsx,
        extensions=(".xlsx", ".xlsm"),
        sniff=lambda head: head.startswith(b"PK\x03\x04") and b"xl/" in head[:4096],
        binary=True,
        description="Excel workbook (first sheet)",
    )
)
