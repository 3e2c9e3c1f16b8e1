"""What every reader shares: the reader registry, decoding, and limits on bad input.

A reader is a function `read(path, notes) -> columns`: it returns raw column lists keyed by
`peerscreen.io.records.COLUMNS` names (plus any extra input fields) and appends warnings to
`notes`. Cleaning, record ids and provenance are applied once, by `readers.read_file`.
"""

from __future__ import annotations

import contextlib
import gc
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from peerscreen.errors import InputError

#: Longest text accepted in one field. Real abstracts are a few thousand characters; a field
#: this long is a broken export (an unclosed quote swallowing the rest of the file).
MAX_FIELD_CHARS = 1_000_000

Columns = dict[str, list[Any]]

#: Bibliographic fields a reference manager needs to cite a record, kept as extra record
#: columns under these names by every reader whose format has them (RIS VL, IS, SP, EP, UR,
#: ST, T2; PubMed, BibTeX, OpenAlex and table columns where they exist). `readers.read_file`
#: cleans them like text fields; several URLs are joined with `URL_SEPARATOR`.
CITATION_FIELDS = (
    "volume",
    "issue",
    "start_page",
    "end_page",
    "url",
    "short_title",
    "secondary_title",
)
URL_SEPARATOR = "; "
_PAGE_DASH = re.compile(r"\s*[-\u2013\u2014]+\s*")


def split_pages(pages: str | None) -> tuple[str | None, str | None]:
    """'417-23' -> ('417', '23'), '145--155' or '145–155' -> ('145', '155'), 'e123' ->
    ('e123', None)."""
    if not pages:
        return None, None
    first, _, last = _PAGE_DASH.sub("-", pages).partition("-")
    return first.strip() or None, last.strip() or None


@dataclass
class ReadNotes:
    """Warnings a reader raises about a file it could still read."""

    warnings: list[str] = field(default_factory=list)

    def warn(self, message: str) -> None:
        self.warnings.append(message)


ReadFunction = Callable[[Path, ReadNotes], Columns]
SniffFunction = Callable[[bytes], bool]


@dataclass(frozen=True)
class ReaderSpec:
    """A registered reader: its name, the extensions it claims and a content sniffer."""

    name: str
    read: ReadFunction
    extensions: tuple[str, ...] = ()
    sniff: SniffFunction | None = None
    binary: bool = False
    description: str = ""


READERS: dict[str, ReaderSpec] = {}


def register_reader(spec: ReaderSpec) -> ReaderSpec:
    """Add a reader to the registry (built-ins register themselves the same way)."""
    READERS[spec.name] = spec
    return spec


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while building millions of small objects.

    Reading makes no reference cycles, but CPython's collector still walks every new list
    and string; pausing it roughly halves the time of a large import.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def looks_binary(head: bytes) -> bool:
    """True for content no text export contains: NUL bytes or mostly control characters."""
    if not head:
        return False
    if b"\x00" in head:
        return True
    control = sum(1 for b in head if b < 9 or 13 < b < 32)
    return control > len(head) * 0.05


def read_text(path: Path, notes: ReadNotes) -> str:
    """Decode a text export: UTF-8 (with or without BOM), else latin-1 with a warning."""
    data = path.read_bytes()
    if looks_binary(data[:8192]):
        raise InputError(path, "looks like a binary file, not a text export")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        notes.warn(f"not valid UTF-8 (first bad byte on line {line}); read as latin-1")
        return data.decode("latin-1")


def check_field_sizes(
    path: Path, columns: Columns, *, unit: str = "record", first: int = 1
) -> None:
    """Reject any field longer than MAX_FIELD_CHARS, naming the record that holds it
    (`first`: the number of the first record in `columns`, for files read in chunks)."""
    for name, values in columns.items():
        longest = max((len(v) for v in values if isinstance(v, str)), default=0)
        if longest <= MAX_FIELD_CHARS:
            continue
        for position, value in enumerate(values, first):
            if isinstance(value, str) and len(value) > MAX_FIELD_CHARS:
                raise InputError(
                    path,
                    f"field '{name}' is {len(value):,} characters long "
                    f"(limit {MAX_FIELD_CHARS:,}); the file is probably malformed",
                    location=f"{unit} {position}",
                )


def rows_to_columns(rows: list[dict[str, Any]], names: list[str] | None = None) -> Columns:
    """Turn a list of per-record dicts into column lists (keys missing in a row become None)."""
    if names is None:
        names = []
        for row in rows:
            for key in row:
                if key not in names:
                    names.append(key)
    return {name: [row.get(name) for row in rows] for name in names}
