"""PubMed exports: the MEDLINE tagged format (.nbib/.txt) and PubmedArticleSet XML.

MeSH headings are reduced to their descriptor names ("Self-Help Groups/*organization"
becomes "Self-Help Groups") because the descriptor is what outcome and population checks
match on; structured abstracts are joined as "LABEL: text LABEL: text".
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from peerscreen.errors import InputError
from peerscreen.io.readers.base import (
    Columns,
    ReaderSpec,
    ReadNotes,
    check_field_sizes,
    looks_binary,
    read_text,
    register_reader,
    rows_to_columns,
    split_pages,
)

_MEDLINE_TAG = re.compile(r"^([A-Z][A-Z0-9 ]{1,3})- ?(.*)$")
_MEDLINE_START = re.compile(rb"(?m)^PMID- ")


def mesh_descriptor(heading: str) -> str:
    """'Self-Help Groups/*organization & administration' -> 'Self-Help Groups'."""
    return heading.split("/", 1)[0].lstrip("*").strip()


def _medline_entries(text: str) -> list[dict[str, list[str]]]:
    entries: list[dict[str, list[str]]] = []
    current: dict[str, list[str]] | None = None
    last_tag: str | None = None
    for line in text.splitlines():
        if not line.strip():
            continue
        if line.startswith("      ") and current is not None and last_tag:
            current[last_tag][-1] += " " + line.strip()
            continue
        match = _MEDLINE_TAG.match(line)
        if not match:
            continue
        tag, value = match.group(1).strip(), match.group(2).strip()
        if tag == "PMID":
            current = {}
            entries.append(current)
        if current is None:
            continue
        current.setdefault(tag, []).append(value)
        last_tag = tag
    return entries


def _medline_row(entry: dict[str, list[str]]) -> dict[str, Any]:
    def one(tag: str) -> str | None:
        values = entry.get(tag)
        return values[0] if values else None

    doi = next(
        (
            v.split(" [")[0]
            for v in entry.get("AID", []) + entry.get("LID", [])
            if v.endswith("[doi]")
        ),
        None,
    )
    return {
        "record_id": f"pmid:{one('PMID')}" if one("PMID") else None,
        "title": one("TI") or one("BTI"),
        "abstract": one("AB"),
        "authors": entry.get("FAU") or entry.get("AU") or [],
        "year": one("DP") or one("DEP"),
        "journal": one("JT") or one("TA"),
        "doi": doi,
        "pmid": one("PMID"),
        "keywords": entry.get("OT", []),
        "mesh": [mesh_descriptor(h) for h in entry.get("MH", [])],
        "language": one("LA"),
        "publication_types": "; ".join(entry.get("PT", [])) or None,
        "volume": one("VI"),
        "issue": one("IP"),
        **_pages(one("PG")),
    }


def _pages(pages: str | None) -> dict[str, str | None]:
    """MEDLINE's page range ("417-23") as the citation fields `start_page`/`end_page`."""
    start, end = split_pages(pages)
    return {"start_page": start, "end_page": end}


def read_medline(path: Path, notes: ReadNotes) -> Columns:
    text = read_text(path, notes)
    entries = _medline_entries(text)
    if not entries:
        raise InputError(path, "no MEDLINE record found (no line starts with 'PMID- ')")
    columns = rows_to_columns([_medline_row(e) for e in entries])
    check_field_sizes(path, columns)
    return columns


def _text_of(element: ET.Element | None) -> str | None:
    if element is None:
        return None
    return " ".join("".join(element.itertext()).split()) or None


def _xml_row(article: ET.Element) -> dict[str, Any]:
    citation = article.find("MedlineCitation")
    if citation is None:
        citation = article
    art = citation.find("Article")
    if art is None:
        art = ET.Element("Article")
    pmid = _text_of(citation.find("PMID"))
    parts = []
    for node in art.findall("Abstract/AbstractText"):
        text = _text_of(node)
        if not text:
            continue
        label = node.get("Label")
        parts.append(f"{label}: {text}" if label and label.upper() != "UNLABELLED" else text)
    authors = []
    for author in art.findall("AuthorList/Author"):
        last, fore = _text_of(author.find("LastName")), _text_of(author.find("ForeName"))
        fore = fore or _text_of(author.find("Initials"))
        name = (
            f"{last}, {fore}" if last and fore else last or _text_of(author.find("CollectiveName"))
        )
        if name:
            authors.append(name)
    pub_date = art.find("Journal/JournalIssue/PubDate")
    year = None
    if pub_date is not None:
        year = _text_of(pub_date.find("Year")) or _text_of(pub_date.find("MedlineDate"))
    doi = None
    for node in article.findall("PubmedData/ArticleIdList/ArticleId"):
        if node.get("IdType") == "doi":
            doi = _text_of(node)
    if doi is None:
        for node in art.findall("ELocationID"):
            if node.get("EIdType") == "doi":
                doi = _text_of(node)
    return {
        "record_id": f"pmid:{pmid}" if pmid else None,
        "title": _text_of(art.find("ArticleTitle")) or _text_of(art.find("VernacularTitle")),
        "abstract": " ".join(parts) or None,
        "authors": authors,
        "year": year,
        "journal": _text_of(art.find("Journal/Title"))
        or _text_of(art.find("Journal/ISOAbbreviation")),
        "doi": doi,
        "pmid": pmid,
        "keywords": [
            t for t in (_text_of(k) for k in citation.findall("KeywordList/Keyword")) if t
        ],
        "mesh": [
            t
            for t in (
                _text_of(d) for d in citation.findall("MeshHeadingList/MeshHeading/DescriptorName")
            )
            if t
        ],
        "language": _text_of(art.find("Language")),
        "volume": _text_of(art.find("Journal/JournalIssue/Volume")),
        "issue": _text_of(art.find("Journal/JournalIssue/Issue")),
        **_xml_pages(art),
    }


def _xml_pages(art: ET.Element) -> dict[str, str | None]:
    start = _text_of(art.find("Pagination/StartPage"))
    end = _text_of(art.find("Pagination/EndPage"))
    if start is None:
        return _pages(_text_of(art.find("Pagination/MedlinePgn")))
    return {"start_page": start, "end_page": end}


def malformed_xml(path: Path, exc: ET.ParseError, records_read: int) -> InputError:
    """The one error for broken XML: where it broke, and how many records came before."""
    line = exc.position[0] if exc.position else None
    return InputError(
        path,
        f"malformed XML ({exc.msg if hasattr(exc, 'msg') else exc})",
        location=f"line {line}, after record {records_read}" if line else None,
    )


def read_pubmed_xml(path: Path, notes: ReadNotes) -> Columns:
    head = path.read_bytes()[:8192]
    if looks_binary(head):
        raise InputError(path, "looks like a binary file, not PubMed XML")
    rows: list[dict[str, Any]] = []
    try:
        for _event, element in ET.iterparse(path, events=("end",)):
            if element.tag in ("PubmedArticle", "PubmedBookArticle"):
                rows.append(_xml_row(element))
                element.clear()
    except ET.ParseError as exc:
        raise malformed_xml(path, exc, len(rows)) from None
    if not rows:
        raise InputError(path, "no PubmedArticle element found (is this a PubMed XML export?)")
    columns = rows_to_columns(rows)
    check_field_sizes(path, columns)
    return columns


register_reader(
    ReaderSpec(
        name="medline",
        read=read_medline,
        extensions=(".nbib", ".medline"),
        sniff=lambda head: bool(_MEDLINE_START.search(head)),
        description="PubMed MEDLINE/.nbib tagged format",
    )
)
register_reader(
    ReaderSpec(
        name="pubmed-xml",
        read=read_pubmed_xml,
        extensions=(".xml",),
        sniff=lambda head: b"<PubmedArticleSet" in head or b"<PubmedArticle>" in head,
        description="PubMed XML (PubmedArticleSet)",
    )
)
