"""Read a file in chunks of at most N records: for inputs too large to hold at once.

`iter_chunks` yields cleaned `RecordSet`s that, concatenated, equal `read_file(path)`: the
same fields and cleaning, record ids `stem-N` counted over the whole file, provenance, and
repeated ids renamed `id~2`, `id~3`. Besides one chunk, memory holds a 64-bit hash per
record id (to spot repeats), about 70 bytes a record.

Read incrementally: CSV/TSV (pyarrow's streaming CSV reader), Parquet (row batches), JSON
Lines (blocks of lines), RIS (blocks of records) and PubMed XML (`iterparse`). MEDLINE,
Excel, BibTeX and OpenAlex are read whole, then cut into chunks. Text is decoded as
`read_file` does (UTF-8 with or without BOM, else latin-1 with a warning), which takes one
fast pass over the bytes first.

Columns can differ between chunks where the format lets records differ (JSON Lines keys,
RIS `peerscreen:` fields); `scan_columns` reads such a file once for the union of its
columns, in the order `read_file` gives them.
"""

from __future__ import annotations

import codecs
import csv
import io
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
from pyarrow import csv as pa_csv
from pyarrow import parquet as pa_parquet

from peerscreen.errors import InputError
from peerscreen.io.dedup import KeyIndex
from peerscreen.io.readers import READERS, _spec, identified_records
from peerscreen.io.readers.base import (
    Columns,
    ReadNotes,
    check_field_sizes,
    looks_binary,
    rows_to_columns,
)
from peerscreen.io.readers.jsonlines import parse_jsonl_line
from peerscreen.io.readers.pubmed import _xml_row, malformed_xml
from peerscreen.io.readers.ris import LosslessRisParser, entry_to_row
from peerscreen.io.readers.tabular import (
    _locate_csv_error,
    _short,
    _unique_names,
    sniff_delimiter,
    table_to_columns,
)
from peerscreen.io.records import COLUMNS, RecordSet

#: Records per chunk unless told otherwise: big enough to batch well, small enough that a
#: chunk of abstracts stays under ~20 MB.
DEFAULT_CHUNK = 2000
_BLOCK = 1 << 22  # bytes read at a time

RawChunks = Iterator[Columns]


def iter_chunks(
    path: str | Path,
    fmt: str | None = None,
    size: int = DEFAULT_CHUNK,
    notes: ReadNotes | None = None,
    position: ReadPosition | None = None,
) -> Iterator[RecordSet]:
    """Cleaned records of `path`, at most `size` at a time (warnings go to `notes`; how far
    the file is read goes to `position`)."""
    path = Path(path)
    spec = _checked_spec(path, fmt)
    notes = notes if notes is not None else ReadNotes()
    position = position if position is not None else ReadPosition(path)
    stem = path.stem if path.is_file() else path.name
    repeats = RepeatedIds()
    first = 1
    chunks = _CHUNKERS.get(spec.name, _read_whole)(path, spec.name, size, notes, position)
    try:
        for columns in chunks:
            n = len(next(iter(columns.values()))) if columns else 0
            records = identified_records(columns, path, stem, first)
            repeats.rename(records)
            first += n
            yield records
    except OSError as exc:
        raise InputError(path, f"cannot be read ({exc.strerror or exc})") from None
    position.finish()
    if repeats.n_repeated:
        notes.warn(
            f"{repeats.n_repeated} record ids occur more than once; "
            "repeats were renamed id~2, id~3, ..."
        )


def scan_columns(path: str | Path, fmt: str | None = None) -> list[str] | None:
    """The columns `read_file` would give `path`, for formats whose records can carry
    different fields (JSON Lines, RIS): one pass reading the file without cleaning it.
    None for the other formats, whose chunks all have the same columns."""
    path = Path(path)
    spec = _checked_spec(path, fmt)
    if spec.name not in ("jsonl", "ris"):
        return None
    names: dict[str, None] = dict.fromkeys(COLUMNS)
    chunker = _CHUNKERS[spec.name]
    for columns in chunker(path, spec.name, 20_000, ReadNotes(), ReadPosition(path)):
        names.update(dict.fromkeys(columns))
    return list(names)


def _checked_spec(path: Path, fmt: str | None):
    if not path.exists():
        raise InputError(path, "no such file or folder")
    if path.is_dir() and fmt not in (None, "openalex"):
        raise InputError(path, "is a folder; only the openalex format reads folders")
    return _spec(path, fmt)


class ReadPosition:
    """How far a chunked read has got into its input, in bytes: for progress estimates."""

    def __init__(self, path: Path):
        files = [p for p in path.rglob("*") if p.is_file()] if path.is_dir() else [path]
        self.size = sum(p.stat().st_size for p in files)
        self._tell: Callable[[], int] | None = None
        self._done = 0

    def follow(self, handle: Any) -> Any:
        """Report the position of `handle` (anything with `tell()`) from now on."""
        self._tell = handle.tell
        return handle

    def set(self, done: int) -> None:
        self._tell, self._done = None, done

    def finish(self) -> None:
        self.set(self.size)

    @property
    def bytes(self) -> int:
        if self._tell is None:
            return self._done
        try:
            return min(self._tell(), self.size)
        except (ValueError, OSError):  # the handle is closed: the file was read
            return self.size


class RepeatedIds:
    """Renames the second, third... occurrence of a record id to `id~2`, `id~3`, as
    `read_file` does, remembering a 64-bit hash per id rather than the id."""

    def __init__(self) -> None:
        self._seen = KeyIndex()
        self._counts: dict[str, int] = {}

    @property
    def n_repeated(self) -> int:
        return len(self._counts)

    def rename(self, records: RecordSet) -> None:
        ids = records.frame["record_id"].tolist()
        fixed, changed = [], False
        for rid in ids:
            key = hash(rid)
            if key not in self._seen:
                self._seen.add(key)
                fixed.append(rid)
                continue
            count = self._counts.get(rid, 1) + 1
            self._counts[rid] = count
            fixed.append(f"{rid}~{count}")
            changed = True
        if changed:
            records.frame["record_id"] = fixed


# -- text decoding ---------------------------------------------------------------------------
def text_encoding(path: Path, notes: ReadNotes, kind: str = "a text export") -> str:
    """'utf-8-sig', or 'latin-1' (with `read_text`'s warning) when the bytes are not UTF-8;
    binary content is an error, as in `read_text`."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    lines = 0
    with path.open("rb") as handle:
        head = handle.read(8192)
        if looks_binary(head):
            raise InputError(path, f"looks like a binary file, not {kind}")
        block = head + handle.read(_BLOCK)
        while block:
            try:
                decoder.decode(block)
            except UnicodeDecodeError as exc:
                line = lines + block[: exc.start].count(b"\n") + 1
                notes.warn(f"not valid UTF-8 (first bad byte on line {line}); read as latin-1")
                return "latin-1"
            lines += block.count(b"\n")
            block = handle.read(_BLOCK)
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        notes.warn(f"not valid UTF-8 (first bad byte on line {lines + 1}); read as latin-1")
        return "latin-1"
    return "utf-8-sig"


def _text_blocks(path: Path, encoding: str, position: ReadPosition) -> Iterator[str]:
    """The file's text in blocks that end at a newline, so splitting each block into lines
    gives the lines of the whole text."""
    decoder = codecs.getincrementaldecoder(encoding)()
    rest = b""
    with position.follow(path.open("rb")) as handle:
        while True:
            data = handle.read(_BLOCK)
            if not data:
                break
            data = rest + data
            cut = data.rfind(b"\n") + 1
            rest = data[cut:]
            if cut:
                yield decoder.decode(data[:cut])
    yield decoder.decode(rest, final=True)


# -- per-format chunkers: each yields raw record columns -------------------------------------
def _read_whole(
    path: Path, fmt: str, size: int, notes: ReadNotes, position: ReadPosition
) -> RawChunks:
    columns = READERS[fmt].read(path, notes)
    position.finish()
    n = len(next(iter(columns.values()))) if columns else 0
    for start in range(0, n, size):
        yield {name: values[start : start + size] for name, values in columns.items()}


def _csv_chunks(
    path: Path, fmt: str, size: int, notes: ReadNotes, position: ReadPosition
) -> RawChunks:
    encoding = text_encoding(path, notes, "a text table")
    with path.open("rb") as handle:
        head_bytes = handle.read(65536)
    if not head_bytes or (head_bytes.isspace() and path.stat().st_size <= len(head_bytes)):
        raise InputError(path, "the file is empty")
    head = head_bytes.decode("utf-8-sig" if encoding == "utf-8-sig" else "latin-1", "ignore")
    if fmt == "tsv" or path.suffix.lower() in (".tsv", ".tab"):
        delimiter = "\t"
    else:
        delimiter = sniff_delimiter(head)
    header = next(csv.reader(io.StringIO(head, newline=""), delimiter=delimiter), [])
    names = _unique_names(header)
    try:
        reader = pa_csv.open_csv(
            position.follow(pa.OSFile(str(path))),
            read_options=pa_csv.ReadOptions(
                encoding="utf8" if encoding == "utf-8-sig" else "latin1",
                column_names=names,
                skip_rows=1,
                block_size=_BLOCK,
            ),
            parse_options=pa_csv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
            convert_options=pa_csv.ConvertOptions(
                column_types={name: pa.string() for name in names}, strings_can_be_null=False
            ),
        )
        first = 1
        for table in _rebatched(reader, size):
            raw = {name: table.column(name).to_pylist() for name in names}
            yield table_to_columns(path, names, raw, first=first)
            first += table.num_rows
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        text = path.read_bytes().decode("utf-8-sig" if encoding == "utf-8-sig" else "latin-1")
        message, where = _locate_csv_error(path, text, delimiter, len(names))
        raise InputError(path, message, location=where) from None


def _rebatched(batches, size: int) -> Iterator[pa.Table]:
    """Record batches of any size -> tables of exactly `size` rows (the last may be short)."""
    pending: list[pa.RecordBatch] = []
    rows = 0
    for batch in batches:
        pending.append(batch)
        rows += batch.num_rows
        while rows >= size:
            table = pa.Table.from_batches(pending)
            yield table.slice(0, size)
            rest = table.slice(size)
            pending, rows = rest.to_batches(), rest.num_rows
    if rows:
        yield pa.Table.from_batches(pending)


def _parquet_chunks(
    path: Path, fmt: str, size: int, notes: ReadNotes, position: ReadPosition
) -> RawChunks:
    try:
        source = pa_parquet.ParquetFile(path)
        names = _unique_names(list(source.schema_arrow.names))
        rows = max(1, source.metadata.num_rows)
        first = 1
        for batch in source.iter_batches(batch_size=size):
            raw = {n: batch.column(i).to_pylist() for i, n in enumerate(names)}
            position.set(position.size * (first - 1 + batch.num_rows) // rows)
            yield table_to_columns(path, names, raw, first=first)
            first += batch.num_rows
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(path, f"not a readable Parquet file ({_short(exc)})") from None


def _jsonl_chunks(
    path: Path, fmt: str, size: int, notes: ReadNotes, position: ReadPosition
) -> RawChunks:
    encoding = text_encoding(path, notes)
    rows: list[dict] = []
    mappings: dict[tuple[str, ...], dict[str, str]] = {}
    number, first = 0, 1
    for block in _text_blocks(path, encoding, position):
        for line in block.splitlines():
            number += 1
            if line.strip():
                rows.append(parse_jsonl_line(path, line, number, mappings))
            if len(rows) == size:
                yield _jsonl_columns(path, rows, first)
                first, rows = first + len(rows), []
    if rows:
        yield _jsonl_columns(path, rows, first)
    elif first == 1:
        raise InputError(path, "the file holds no JSON records")


def _jsonl_columns(path: Path, rows: list[dict], first: int) -> Columns:
    columns = rows_to_columns(rows)
    if "title" not in columns and "abstract" not in columns:
        raise InputError(path, "records have neither a 'title' nor an 'abstract' field")
    check_field_sizes(path, columns, unit="line", first=first)
    return columns


def _ris_chunks(
    path: Path, fmt: str, size: int, notes: ReadNotes, position: ReadPosition
) -> RawChunks:
    encoding = text_encoding(path, notes)
    parser = LosslessRisParser()
    lines: list[str] = []
    starts, first, blank = 0, 1, True
    for block in _text_blocks(path, encoding, position):
        block_lines = block.split("\n")
        if block.endswith("\n"):
            block_lines.pop()  # the next block continues after this newline
        for line in block_lines:
            is_start = line.startswith("TY") and parser.parse_line(line)[0] == parser.START_TAG
            if is_start and starts == size:
                entries = _ris_entries(parser, lines, notes)
                yield _ris_columns(path, entries, first)
                first, lines, starts = first + len(entries), [], 0
            starts += is_start
            blank = blank and not line.strip()
            lines.append(line)
    entries = _ris_entries(parser, lines, notes)
    if entries:
        yield _ris_columns(path, entries, first)
    elif first == 1:
        if not blank:
            raise InputError(path, "no RIS record found (no line starts with 'TY  - ')")
        raise InputError(path, "the file is empty")


def _ris_entries(parser: LosslessRisParser, lines: list[str], notes: ReadNotes) -> list[dict]:
    parser.warnings = []
    entries = parser.parse_lines(iter(lines))
    for warning in parser.warnings:
        notes.warn(warning)
    return entries


def _ris_columns(path: Path, entries: list[dict], first: int) -> Columns:
    columns = rows_to_columns([entry_to_row(e) for e in entries])
    check_field_sizes(path, columns, first=first)
    return columns


def _pubmed_xml_chunks(
    path: Path, fmt: str, size: int, notes: ReadNotes, position: ReadPosition
) -> RawChunks:
    with path.open("rb") as handle:
        if looks_binary(handle.read(8192)):
            raise InputError(path, "looks like a binary file, not PubMed XML")
    rows: list[dict] = []
    first, total = 1, 0
    with position.follow(path.open("rb")) as handle:
        try:
            root = None
            for event, element in ET.iterparse(handle, events=("start", "end")):
                if root is None:
                    root = element
                if event != "end" or element.tag not in ("PubmedArticle", "PubmedBookArticle"):
                    continue
                rows.append(_xml_row(element))
                root.clear()  # drop the records already read: memory stays flat
                if len(rows) == size:
                    yield _xml_columns(path, rows, first)
                    first, total, rows = first + len(rows), total + len(rows), []
        except ET.ParseError as exc:
            raise malformed_xml(path, exc, total + len(rows)) from None
    if not rows and not total:
        raise InputError(path, "no PubmedArticle element found (is this a PubMed XML export?)")
    if rows:
        yield _xml_columns(path, rows, first)


def _xml_columns(path: Path, rows: list[dict], first: int) -> Columns:
    columns = rows_to_columns(rows)
    check_field_sizes(path, columns, first=first)
    return columns


_CHUNKERS: dict[str, Callable[[Path, str, int, ReadNotes, ReadPosition], RawChunks]] = {
    "csv": _csv_chunks,
    "tsv": _csv_chunks,
    "parquet": _parquet_chunks,
    "jsonl": _jsonl_chunks,
    "ris": _ris_chunks,
    "pubmed-xml": _pubmed_xml_chunks,
}
