"""OpenAlex works as SYNERGY ships them, and generic JSON arrays of records.

Accepts a list of works, a `{"results": [...]}` API page, or a folder of such pages
(read in numeric order of their names), with an optional `labels.csv`
(`openalex_id,...,label_included`) joined on the work id. Abstracts arrive as an
`abstract_inverted_index` (word -> positions) and are rebuilt in order.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

from peerscreen.errors import InputError
from peerscreen.io.readers.base import (
    Columns,
    ReaderSpec,
    ReadNotes,
    check_field_sizes,
    read_text,
    register_reader,
    rows_to_columns,
)
from peerscreen.io.readers.tabular import match_columns

_OPENALEX_ID = re.compile(r"(W\d+)\s*$")
_NUMBER = re.compile(r"\d+")


def openalex_key(value: object) -> str | None:
    """'https://openalex.org/W123' -> 'W123'."""
    if not isinstance(value, str):
        return None
    match = _OPENALEX_ID.search(value.strip())
    return match.group(1) if match else None


def rebuild_abstract(index: dict[str, list[int]] | None) -> str | None:
    """Turn an inverted index back into text (words placed at each of their positions)."""
    if not index:
        return None
    positions: dict[int, str] = {}
    for word, places in index.items():
        for place in places:
            positions[int(place)] = word
    return " ".join(positions[p] for p in sorted(positions))


def _source_name(work: dict) -> str | None:
    for key in ("primary_location", "host_venue"):
        block = work.get(key) or {}
        source = block.get("source") if key == "primary_location" else block
        if isinstance(source, dict) and source.get("display_name"):
            return source["display_name"]
    return None


def _keywords(work: dict) -> list[str]:
    keywords = work.get("keywords")
    if keywords:
        return [
            k.get("display_name") or k.get("keyword") if isinstance(k, dict) else k
            for k in keywords
        ]
    concepts = work.get("concepts") or []
    return [
        c.get("display_name")
        for c in concepts
        if isinstance(c, dict) and (c.get("level") or 0) <= 2
    ]


def work_to_row(work: dict) -> dict[str, Any]:
    ids = work.get("ids") or {}
    mesh: list[str] = []
    for heading in work.get("mesh") or []:
        name = heading.get("descriptor_name") if isinstance(heading, dict) else heading
        if name and name not in mesh:
            mesh.append(name)
    language = work.get("language")
    biblio = work.get("biblio") if isinstance(work.get("biblio"), dict) else {}
    return {
        "record_id": openalex_key(work.get("id")) or work.get("id"),
        "title": work.get("title") or work.get("display_name"),
        "abstract": rebuild_abstract(work.get("abstract_inverted_index")),
        "authors": [
            (a.get("author") or {}).get("display_name") for a in work.get("authorships") or []
        ],
        "year": work.get("publication_year"),
        "journal": _source_name(work),
        "doi": work.get("doi") or ids.get("doi"),
        "pmid": ids.get("pmid"),
        "keywords": _keywords(work),
        "mesh": mesh,
        "language": language if isinstance(language, str) else None,
        "volume": biblio.get("volume"),
        "issue": biblio.get("issue"),
        "start_page": biblio.get("first_page"),
        "end_page": biblio.get("last_page"),
    }


def _generic_row(item: dict) -> dict[str, Any]:
    """A plain JSON record: keys matched like table columns, others kept as extras."""
    mapping = match_columns(list(item.keys()))
    row = {target: item.get(source) for target, source in mapping.items()}
    for key, value in item.items():
        if key not in mapping.values():
            row[key] = value
    return row


def _items(path: Path, payload: Any) -> list[dict]:
    if isinstance(payload, dict):
        payload = payload.get("results", payload.get("records", payload.get("works")))
    if not isinstance(payload, list):
        raise InputError(path, "expected a JSON list of works or a page with a 'results' list")
    for position, item in enumerate(payload, 1):
        if not isinstance(item, dict):
            raise InputError(
                path, "expected each item to be a JSON object", location=f"item {position}"
            )
    return payload


def _load_json(path: Path, notes: ReadNotes) -> Any:
    text = read_text(path, notes)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            path, f"broken JSON ({exc.msg})", location=f"line {exc.lineno}, column {exc.colno}"
        ) from None


def _page_order(path: Path) -> tuple[int, str]:
    numbers = _NUMBER.findall(path.stem)
    return (int(numbers[0]) if numbers else -1, path.name)


def _join_labels(folder: Path, rows: list[dict[str, Any]], notes: ReadNotes) -> None:
    labels_file = folder / "labels.csv"
    if not labels_file.exists():
        return
    with labels_file.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        fields = [f.lower() for f in reader.fieldnames or []]
        if "openalex_id" not in fields:
            raise InputError(labels_file, "labels.csv needs an 'openalex_id' column")
        label_col = next(
            (f for f in reader.fieldnames or [] if f.lower() in ("label_included", "included")),
            None,
        )
        labels = {
            openalex_key(r.get("openalex_id")): r.get(label_col) if label_col else None
            for r in reader
        }
    matched = 0
    for row in rows:
        key = row.get("record_id")
        if key in labels:
            row["included"] = labels[key]
            matched += 1
    if matched < len(labels):
        notes.warn(f"{len(labels) - matched} of {len(labels)} labels in labels.csv match no work")


def read_openalex(path: Path, notes: ReadNotes) -> Columns:
    if path.is_dir():
        pages = sorted((p for p in path.glob("*.json")), key=_page_order)
        if not pages:
            raise InputError(path, "folder holds no .json pages of OpenAlex works")
        items = [item for page in pages for item in _items(page, _load_json(page, notes))]
    else:
        items = _items(path, _load_json(path, notes))
    if not items:
        raise InputError(path, "no records in the JSON file")
    is_openalex = any(
        "abstract_inverted_index" in i or str(i.get("id", "")).startswith("https://openalex.org/")
        for i in items[:20]
    )
    rows = [work_to_row(i) if is_openalex else _generic_row(i) for i in items]
    if path.is_dir():
        _join_labels(path, rows, notes)
    columns = rows_to_columns(rows)
    check_field_sizes(path, columns)
    return columns


register_reader(
    ReaderSpec(
        name="openalex",
        read=read_openalex,
        extensions=(".json",),
        sniff=lambda head: head.lstrip()[:1] in (b"[", b"{") and b"openalex.org" in head,
        description="OpenAlex works JSON (list, page, or folder + labels.csv); JSON record lists",
    )
)
