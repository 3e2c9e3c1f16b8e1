"""JSON Lines in the protocol's label format: one record object per line."""

from __future__ import annotations

import json
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


def parse_jsonl_line(
    path: Path, line: str, number: int, mappings: dict[tuple[str, ...], dict[str, str]]
) -> dict[str, Any]:
    """One line -> one record row (`mappings` caches the column match per set of keys)."""
    try:
        item = json.loads(line)
    except json.JSONDecodeError as exc:
        raise InputError(path, f"broken JSON ({exc.msg})", location=f"line {number}") from None
    if not isinstance(item, dict):
        raise InputError(path, "each line must be a JSON object", location=f"line {number}")
    keys = tuple(item)
    mapping = mappings.get(keys)
    if mapping is None:
        mapping = mappings[keys] = match_columns(list(keys))
    row = {target: item.get(source) for target, source in mapping.items()}
    for key, value in item.items():
        if key not in mapping.values():
            row[key] = value
    return row


def read_jsonl(path: Path, notes: ReadNotes) -> Columns:
    text = read_text(path, notes)
    rows: list[dict[str, Any]] = []
    mappings: dict[tuple[str, ...], dict[str, str]] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip():
            rows.append(parse_jsonl_line(path, line, number, mappings))
    if not rows:
        raise InputError(path, "the file holds no JSON records")
    columns = rows_to_columns(rows)
    if "title" not in columns and "abstract" not in columns:
        raise InputError(path, "records have neither a 'title' nor an 'abstract' field")
    check_field_sizes(path, columns, unit="line")
    return columns


register_reader(
    ReaderSpec(
        name="jsonl",
        read=read_jsonl,
        extensions=(".jsonl", ".ndjson"),
        sniff=lambda head: (
            head.lstrip().startswith(b"{") and b"}\n{" in head.replace(b"\r\n", b"\n")
        ),
        description="JSON Lines, one record per line (protocol label format)",
    )
)
