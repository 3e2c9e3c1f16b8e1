"""RIS exports (EndNote, Zotero, Mendeley, Scopus, Web of Science, Embase/Ovid) via rispy.

rispy's parser drops records silently in three cases real exports hit: a record cut off
before its `ER` line (a truncated download), a `TY` that opens a new record before the
previous one closed, and single-space tags (`TI - ...`). `LosslessRisParser` keeps rispy's
tag mapping and list handling but never loses a record: it warns instead.

Labels round-trip: `peerscreen` writes them as `KW  - peerscreen:<field>=<value>` lines
(see `peerscreen.io.writers`), and ASReview's `ASReview_relevant`/`ASReview_irrelevant` notes
are read as inclusion labels too.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import rispy

from peerscreen.errors import InputError
from peerscreen.io.cleaning import split_list
from peerscreen.io.readers.base import (
    URL_SEPARATOR,
    Columns,
    ReaderSpec,
    ReadNotes,
    check_field_sizes,
    read_text,
    register_reader,
    rows_to_columns,
)

LABEL_PREFIX = "peerscreen:"
#: Citation fields (`readers.base.CITATION_FIELDS`) and the RIS tags they are read from and
#: written back to, so a reference manager gets volume, issue, pages, links, short title and
#: secondary title exactly as they came in.
RIS_CITATION_TAGS = {
    "volume": "VL",
    "issue": "IS",
    "start_page": "SP",
    "end_page": "EP",
    "url": "UR",
    "short_title": "ST",
    "secondary_title": "T2",
}
_TAG_LINE = re.compile(r"^([A-Z][A-Z0-9]) {1,2}-(?: (.*))?$")
_RIS_START = re.compile(rb"(?m)^\s*TY {1,2}- ")


class LosslessRisParser(rispy.RisParser):
    """rispy's RIS parser, changed to keep truncated and unterminated records."""

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.warnings: list[str] = []

    def parse_line(self, line: str) -> tuple[str, str] | tuple[None, str]:
        if line[2:5] == "  -" and line[:2].isupper() and line[:1].isalpha():
            return line[:2], line[6:].strip()
        match = _TAG_LINE.match(line.rstrip("\r"))
        if match:
            return match.group(1), (match.group(2) or "").strip()
        return None, line.strip()

    def parse_lines(self, lines) -> list[dict]:  # type: ignore[override]
        result: list[dict] = []
        record: dict | None = None
        last_tag: str | None = None
        for number, line in enumerate(lines, 1):
            tag, content = self.parse_line(line)
            if tag == self.START_TAG:
                if record is not None:
                    self.warnings.append(
                        f"record {len(result) + 1} (before line {number}) has no ER line; kept"
                    )
                    result.append(record)
                record = {self.mapping[self.START_TAG]: content}
                last_tag = None
                continue
            if record is None:
                continue
            if tag is None:
                if content and last_tag is not None:
                    self._add_tag(record, last_tag, content, extend_multiline=True)
                continue
            if tag in self.ignore:
                continue
            if tag == self.END_TAG:
                result.append(record)
                record = None
                continue
            self._add_tag(record, tag, content)
            last_tag = tag
        if record is not None:
            self.warnings.append(
                f"record {len(result) + 1} is cut off (no ER line at the end); kept"
            )
            result.append(record)
        return result


def _first(entry: dict, *keys: str) -> Any:
    for key in keys:
        value = entry.get(key)
        if isinstance(value, list):
            value = value[0] if value else None
        if value:
            return value
    return None


def _peerscreen_fields(entry: dict) -> tuple[list[str], list[str], dict[str, Any]]:
    """Split `peerscreen:<field>=<value>` lines (KW or N1) from real keywords and notes.

    Returns (keywords, notes, fields); MeSH terms collect into fields["mesh"]. ASReview's
    `ASReview_relevant` / `ASReview_irrelevant` notes are read as inclusion labels.
    """
    keywords, notes = [], []
    fields: dict[str, Any] = {"mesh": []}
    for kind, values in (("kw", entry.get("keywords")), ("note", entry.get("notes"))):
        for value in values or []:
            if value.startswith(LABEL_PREFIX) and "=" in value:
                name, _, content = value[len(LABEL_PREFIX) :].partition("=")
                name, content = name.strip(), content.strip()
                if name == "mesh":
                    fields["mesh"].append(content)
                else:
                    fields[name] = content
            elif kind == "note" and value.strip() in ("ASReview_relevant", "ASReview_irrelevant"):
                fields.setdefault("included", "1" if value.strip() == "ASReview_relevant" else "0")
            elif kind == "kw":
                keywords.append(value)
            else:
                notes.append(value)
    return keywords, notes, fields


def _label(fields: dict[str, Any], name: str) -> Any:
    """A label field; `label_<name>` (input labels kept beside predictions) wins."""
    labelled, plain = fields.pop(f"label_{name}", None), fields.pop(name, None)
    return labelled if labelled is not None else plain


def entry_to_row(entry: dict) -> dict[str, Any]:
    """Map one rispy entry to record fields (extra peerscreen fields become extra columns)."""
    keywords, notes, fields = _peerscreen_fields(entry)
    authors = list(entry.get("authors", []) or []) + list(entry.get("first_authors", []) or [])
    doi = _first(entry, "doi")
    if not doi:
        doi = next((u for u in entry.get("urls", []) or [] if "doi.org/10." in u), None)
    accession = _first(entry, "accession_number")
    pmid = accession if isinstance(accession, str) and accession.strip().isdigit() else None
    row = {
        "record_id": _first(entry, "id"),
        "title": _first(entry, "title", "primary_title", "short_title", "translated_title"),
        "abstract": _first(entry, "abstract", "notes_abstract"),
        "authors": authors,
        "year": _first(entry, "year", "publication_year", "date"),
        "journal": _first(
            entry,
            "journal_name",
            "alternate_title3",
            "secondary_title",
            "alternate_title1",
            "alternate_title2",
        ),
        "doi": doi,
        "pmid": pmid,
        "keywords": keywords,
        "mesh": fields.pop("mesh"),
        "language": _first(entry, "language"),
        "included": _label(fields, "included"),
        "exclusion_reason": _label(fields, "exclusion_reason"),
        "category": _label(fields, "category"),
        "outcomes": split_list(_label(fields, "outcomes")),
        "notes": "; ".join(notes) or None,
        "type_of_reference": entry.get("type_of_reference"),
        "volume": entry.get("volume"),
        "issue": entry.get("number"),
        "start_page": entry.get("start_page"),
        "end_page": entry.get("end_page"),
        "url": URL_SEPARATOR.join(entry.get("urls") or []) or None,
        "short_title": entry.get("short_title"),
        "secondary_title": entry.get("secondary_title"),
    }
    for name, value in fields.items():
        row.setdefault(name, value)
    return row


def read_ris(path: Path, notes: ReadNotes) -> Columns:
    text = read_text(path, notes)
    parser = LosslessRisParser()
    entries = parser.parse(text)
    if not entries:
        if text.strip():
            raise InputError(path, "no RIS record found (no line starts with 'TY  - ')")
        raise InputError(path, "the file is empty")
    for warning in parser.warnings:
        notes.warn(warning)
    columns = rows_to_columns([entry_to_row(e) for e in entries])
    check_field_sizes(path, columns)
    return columns


register_reader(
    ReaderSpec(
        name="ris",
        read=read_ris,
        extensions=(".ris", ".enw"),
        sniff=lambda head: bool(_RIS_START.search(head)),
        description="RIS (EndNote, Zotero, Mendeley, Scopus, Web of Science, Embase)",
    )
)
