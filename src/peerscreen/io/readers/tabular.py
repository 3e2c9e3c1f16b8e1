"""CSV, TSV and XLSX exports, with the column names ASReview and the databases use.

Delimiters are sniffed (comma, semicolon, tab, pipe), a UTF-8 BOM is accepted and a file
that is not UTF-8 falls back to latin-1 with a warning. Columns are matched to record
fields case-insensitively through `COLUMN_ALIASES`; unmatched columns are kept as extra
fields so that nothing the user exported is lost.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd
import pyarrow as pa
from pyarrow import csv as pa_csv
from pyarrow import parquet as pa_parquet

from peerscreen.errors import InputError
from peerscreen.io.cleaning import split_cells
from peerscreen.io.readers.base import (
    MAX_FIELD_CHARS,
    Columns,
    ReaderSpec,
    ReadNotes,
    check_field_sizes,
    looks_binary,
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
        "journal",
        "journal_name",
        "source title",
        "publication title",
        "secondary_title",
        "t2",
        "jo",
        "so",
        "source",
    ),
    "doi": ("doi", "do", "di"),
    "pmid": ("pmid", "pubmed_id", "pubmed id", "pm"),
    "keywords": ("keywords", "kw", "author keywords", "de"),
    "mesh": ("mesh", "mesh_terms", "mesh terms", "mh"),
    "language": ("language", "la", "language of original document"),
    "included": (
        "included",
        "label_included",
        "final_included",
        "included_final",
        "label",
        "included_label",
        "include",
        "label_abstract_screening",
        "abstract_included",
    ),
    # a ranked output holds predictions as `category` and the input labels as `label_*`:
    # the labels win
    "exclusion_reason": ("label_exclusion_reason", "exclusion_reason"),
    "category": ("label_category", "category"),
    "outcomes": ("label_outcomes", "outcomes"),
    # citation fields (`readers.base.CITATION_FIELDS`): Scopus, Web of Science and RIS names
    "volume": ("volume", "vl"),
    "issue": ("issue", "is"),
    "start_page": ("start_page", "page start", "bp", "sp"),
    "end_page": ("end_page", "page end", "ep"),
    "url": ("url", "urls", "link", "ur"),
    "short_title": ("short_title", "st"),
    "secondary_title": ("secondary_title", "t2"),
}

LIST_COLUMNS = ("authors", "keywords", "mesh", "outcomes")


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


def table_to_columns(
    path: Path, names: list[str], raw: dict[str, list], *, first: int = 1
) -> Columns:
    """Rename raw string columns into record columns; error when there is no text column.
    `first` numbers the first row (for files read in chunks)."""
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
        values = raw[source]
        columns[target] = split_cells(values) if target in LIST_COLUMNS else values
    used = set(mapping.values())
    for name in names:
        if name not in used and name not in columns:
            columns[name] = [v if v != "" else None for v in raw[name]]
    check_field_sizes(path, columns, unit="row", first=first)
    return columns


def _unique_names(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    unique = []
    for name in names:
        name = name.strip() or "column"
        seen[name] = seen.get(name, 0) + 1
        unique.append(name if seen[name] == 1 else f"{name}_{seen[name]}")
    return unique


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


def _decode_head(data: bytes, notes: ReadNotes) -> tuple[str, str]:
    """(encoding, decoded text of the first 64 KB) — UTF-8 unless the file is not."""
    try:
        data.decode("utf-8")
        return "utf8", data[:65536].decode("utf-8-sig", errors="ignore")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        notes.warn(f"not valid UTF-8 (first bad byte on line {line}); read as latin-1")
        return "latin1", data[:65536].decode("latin-1")


def _locate_csv_error(path: Path, text: str, delimiter: str, width: int) -> tuple[str, str | None]:
    """Re-read slowly with the csv module to say which line breaks the table, and how."""
    csv.field_size_limit(MAX_FIELD_CHARS + 1)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    row_number = 0
    try:
        for row_number, row in enumerate(reader, 1):
            if row_number > 1 and len(row) != width and any(cell.strip() for cell in row):
                return (
                    f"expected {width} fields, found {len(row)}",
                    f"line {reader.line_num}, row {row_number - 1}",
                )
    except csv.Error as exc:
        message = str(exc)
        if "field larger than field limit" in message:
            return (
                f"a field is longer than {MAX_FIELD_CHARS:,} characters; the file is probably "
                "malformed (an unclosed quote?)",
                f"line {reader.line_num}, row {row_number}",
            )
        return f"malformed delimited text ({message})", f"line {reader.line_num}"
    return "malformed delimited text", None


def read_delimited(path: Path, notes: ReadNotes, *, delimiter: str | None = None) -> Columns:
    data = path.read_bytes()
    if looks_binary(data[:8192]):
        raise InputError(path, "looks like a binary file, not a text table")
    if not data or data.isspace():
        raise InputError(path, "the file is empty")
    encoding, head = _decode_head(data, notes)
    if delimiter is None:
        delimiter = "\t" if path.suffix.lower() in (".tsv", ".tab") else sniff_delimiter(head)
    header = next(csv.reader(io.StringIO(head, newline=""), delimiter=delimiter), [])
    names = _unique_names(header)
    try:
        table = pa_csv.read_csv(
            io.BytesIO(data),
            read_options=pa_csv.ReadOptions(
                encoding=encoding, column_names=names, skip_rows=1, block_size=1 << 24
            ),
            parse_options=pa_csv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
            convert_options=pa_csv.ConvertOptions(
                column_types={name: pa.string() for name in names}, strings_can_be_null=False
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        text = data.decode("utf-8-sig" if encoding == "utf8" else "latin-1")
        message, where = _locate_csv_error(path, text, delimiter, len(names))
        raise InputError(path, message, location=where) from None
    raw = {name: table.column(name).to_pylist() for name in names}
    return table_to_columns(path, names, raw)


def read_xlsx(path: Path, notes: ReadNotes) -> Columns:
    try:
        frame = pd.read_excel(path, dtype=str, keep_default_na=False, na_filter=False)
    except Exception as exc:  # openpyxl raises many types for corrupt workbooks
        raise InputError(path, f"not a readable Excel workbook ({_short(exc)})") from None
    frame = frame.fillna("")
    names = _unique_names([str(c) for c in frame.columns])
    frame.columns = names
    return table_to_columns(path, names, {n: frame[n].tolist() for n in names})


def read_parquet(path: Path, notes: ReadNotes) -> Columns:
    try:
        table = pa_parquet.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(path, f"not a readable Parquet file ({_short(exc)})") from None
    names = _unique_names(list(table.column_names))
    table = table.rename_columns(names)
    return table_to_columns(path, names, {n: table.column(n).to_pylist() for n in names})


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
register_reader(
    ReaderSpec(
        name="parquet",
        read=read_parquet,
        extensions=(".parquet", ".pq"),
        sniff=lambda head: head.startswith(b"PAR1"),
        binary=True,
        description="Apache Parquet table (as peerscreen writes it)",
    )
)
