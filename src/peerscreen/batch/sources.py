"""Where batch records come from: the input files in chunks, imported whole and
deduplicated in full when small, streamed and deduplicated in one pass when large."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from peerscreen.io.dedup import KeyIndex, StreamingDedup
from peerscreen.io.ingest import import_records
from peerscreen.io.readers.base import ReadNotes
from peerscreen.io.readers.chunked import DEFAULT_CHUNK, ReadPosition, iter_chunks, scan_columns
from peerscreen.io.records import RecordSet

#: Inputs larger than this (bytes, all files together) are streamed rather than imported.
STREAM_ABOVE = 64 * 1024**2


@dataclass
class BatchOptions:
    """How to read and score; the same options give the same chunks (which `resume` needs)."""

    fmt: str | None = None
    dedup: bool = True
    chunk_size: int = DEFAULT_CHUNK
    workers: int = 1
    resume: bool = False
    #: None: stream inputs larger than STREAM_ABOVE; True/False: always/never
    stream: bool | None = None


@dataclass
class Chunk:
    index: int
    records: RecordSet
    done: float  # progress units read when this chunk was complete


class RecordSource:
    """The records of the input files, in chunks, deduplicated as the options say."""

    def __init__(self, files: Sequence[str | Path], options: BatchOptions):
        self.files = [Path(f) for f in files]
        self.options = options
        self.notes = ReadNotes()
        size = sum(ReadPosition(f).size for f in self.files if f.exists())
        self.streamed = options.stream if options.stream is not None else size > STREAM_ABOVE
        self.total: float = size
        self.unit = "bytes" if self.streamed else "records"
        self.dedup = StreamingDedup() if (options.dedup and self.streamed) else None
        self._records: RecordSet | None = None
        if not self.streamed:
            self._records = import_records(self.files, fmt=options.fmt, dedup=options.dedup).records
            self.total = len(self._records)

    @property
    def dropped(self) -> int:
        return sum(self.dedup.dropped.values()) if self.dedup else 0

    def chunks(self) -> Iterator[Chunk]:
        if self._records is not None:
            frame, size = self._records.frame, self.options.chunk_size
            for index, start in enumerate(range(0, len(frame), size)):
                part = RecordSet(frame.iloc[start : start + size].reset_index(drop=True))
                yield Chunk(index, part, min(start + size, len(frame)))
            return
        yield from self._streamed()

    def _streamed(self) -> Iterator[Chunk]:
        columns = self._columns()  # None: one file, all its chunks alike
        earlier_ids = KeyIndex()  # ids of the files before this one
        index, done = 0, 0
        for path in self.files:
            position = ReadPosition(path)
            file_ids: list[int] = []
            stem = path.stem if path.is_file() else path.name
            chunks = iter_chunks(
                path, self.options.fmt, self.options.chunk_size, self.notes, position
            )
            for records in chunks:
                frame = records.frame if columns is None else _conformed(records.frame, columns)
                _prefix_repeated_ids(frame, stem, earlier_ids, file_ids)
                part = RecordSet(frame)
                if self.dedup is not None:
                    part = self.dedup.filter(part)
                if len(part):
                    yield Chunk(index, part, done + position.bytes)
                    index += 1
            done += position.size
            for key in file_ids:
                earlier_ids.add(key)

    def _columns(self) -> list[str] | None:
        """Every file's columns, in the order `import` would give them; None for a single
        file whose chunks all have the same columns (most formats: see `scan_columns`)."""
        if len(self.files) == 1:
            return scan_columns(self.files[0], self.options.fmt)
        names: dict[str, None] = {}
        for path in self.files:
            found = scan_columns(path, self.options.fmt)
            if found is None:
                first = next(iter_chunks(path, self.options.fmt, 1), None)
                found = list(first.frame.columns) if first is not None else []
            names.update(dict.fromkeys(found))
        return list(names)


def _conformed(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """`frame` with exactly `columns`: ones it lacks are added empty (None), as import does."""
    if list(frame.columns) == columns:
        return frame
    for name in columns:
        if name not in frame:
            frame[name] = pd.Series([None] * len(frame), dtype=object)
    return frame[columns]


def _prefix_repeated_ids(
    frame: pd.DataFrame, stem: str, earlier: KeyIndex, mine: list[int]
) -> None:
    """A record id already used by an earlier file becomes `stem:id`."""
    ids = frame["record_id"].tolist()
    keys = [hash(rid) for rid in ids]
    mine.extend(keys)
    if len(earlier) and any(key in earlier for key in keys):
        frame["record_id"] = [
            f"{stem}:{rid}" if key in earlier else rid for rid, key in zip(ids, keys, strict=True)
        ]
