"""Incremental writers ("sinks"): one output file, appended to chunk by chunk.

`write_records` writes a whole table at once; a sink takes the same table in consecutive
chunks and writes the same file (CSV, TSV, JSON Lines and RIS byte for byte; Parquet with
the same columns and values, in several row groups; XLSX row by row in openpyxl's
write-only mode, with the layout of `io.xlsx`), so memory holds one chunk, not the output.

A sink writes to a temporary file that the caller renames into place when every chunk is
written (`commit`) or removes, so a failed or interrupted run leaves no half-written output.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol

import pandas as pd
import pyarrow as pa
from pyarrow import parquet as pa_parquet

from peerscreen.errors import OutputError
from peerscreen.io.records import LIST_FIELDS
from peerscreen.io.writers import WRITERS, csv_text, display_frame, jsonl_text, ris_text
from peerscreen.io.xlsx import XlsxBook


class Sink(Protocol):
    path: Path

    def write(self, frame: pd.DataFrame) -> None: ...

    def close(self) -> None: ...


class TextSink:
    """CSV, TSV, JSON Lines or RIS, appended chunk by chunk (the header once)."""

    def __init__(self, path: Path, suffix: str):
        self.path = path
        self.suffix = suffix
        self._handle = path.open("wb")
        self._header = True

    def write(self, frame: pd.DataFrame) -> None:
        if self.suffix in (".csv", ".tsv"):
            sep = "\t" if self.suffix == ".tsv" else ","
            text = csv_text(frame, sep=sep, header=self._header)
        elif self.suffix == ".ris":
            text = ris_text(frame)
        else:
            text = jsonl_text(frame)
        self._handle.write(text.encode("utf-8"))
        self._header = False

    def close(self) -> None:
        self._handle.close()


class ParquetSink:
    """Parquet through one `ParquetWriter`: the schema is fixed by the first chunk (columns
    still empty there get the type they have in records: text, or lists of text)."""

    def __init__(self, path: Path):
        self.path = path
        self._writer: pa_parquet.ParquetWriter | None = None
        self._schema: pa.Schema | None = None

    def write(self, frame: pd.DataFrame) -> None:
        if self._writer is None:
            self._schema = _settled_schema(frame)
            self._writer = pa_parquet.ParquetWriter(self.path, self._schema)
        try:
            table = pa.Table.from_pandas(frame, schema=self._schema, preserve_index=False)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise OutputError(
                f"{self.path.name}: a column changes type between chunks ({exc}); "
                "write .csv or .jsonl instead"
            ) from None
        self._writer.write_table(table)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()


def _settled_schema(frame: pd.DataFrame) -> pa.Schema:
    """The first chunk's Arrow schema, with all-null columns given a real type."""
    schema = pa.Schema.from_pandas(frame, preserve_index=False)
    for i, item in enumerate(schema):
        if pa.types.is_null(item.type):
            kind = pa.list_(pa.string()) if item.name in LIST_FIELDS else pa.string()
            schema = schema.set(i, pa.field(item.name, kind))
        elif pa.types.is_list(item.type) and pa.types.is_null(item.type.value_type):
            schema = schema.set(i, pa.field(item.name, pa.list_(pa.string())))
    return schema


class XlsxSink:
    """Appends each chunk's rows to one write-only workbook, saved on close (column widths
    are measured on the first chunk)."""

    def __init__(self, path: Path):
        self.path = path
        self._book = XlsxBook(path)

    def write(self, frame: pd.DataFrame) -> None:
        self._book.write(display_frame(frame))

    def close(self) -> None:
        self._book.close()


TEXT_SUFFIXES = (".csv", ".tsv", ".jsonl", ".ndjson", ".ris")


def output_suffix(target: Path) -> str:
    """The output format of `target`, by extension (an error names the choices)."""
    suffix = target.suffix.lower()
    if suffix not in WRITERS:
        raise OutputError(
            f"{target}: cannot tell the output format from '{target.suffix or '(no extension)'}'"
            f" (use one of {', '.join(sorted(WRITERS))})"
        )
    if not (target.parent if str(target.parent) else Path(".")).is_dir():
        raise OutputError(f"{target}: folder {target.parent} does not exist")
    return ".jsonl" if suffix == ".ndjson" else suffix


def open_sink(temp: Path, target: Path) -> Sink:
    """A sink writing `temp` in the format `target`'s extension names."""
    suffix = output_suffix(target)
    if suffix in TEXT_SUFFIXES:
        return TextSink(temp, suffix)
    if suffix == ".parquet":
        return ParquetSink(temp)
    return XlsxSink(temp)


def commit(temp: Path, target: Path) -> None:
    """Put a finished output in place (an atomic rename on the same file system)."""
    os.replace(temp, target)
