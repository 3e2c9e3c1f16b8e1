"""One record type and a record set backed by a pandas table.

A `Record` is the unit a reviewer screens: bibliographic fields, where it came from, and the
labels of the review protocol (`included`, `exclusion_reason`, `category`, `outcomes`).
A `RecordSet` holds many of them column-wise in a `pandas.DataFrame` (Arrow-friendly
dtypes), so that reading, cleaning, deduplicating and scoring hundreds of thousands of
records stays vectorised; it converts to a Hugging Face `datasets.Dataset` on demand.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import pandas as pd

from peerscreen.io.cleaning import (
    clean_lists,
    clean_texts,
    normalise_doi,
    normalise_pmid,
    parse_year,
)

TEXT_FIELDS = ("record_id", "title", "abstract", "journal", "language", "source_file")
LIST_FIELDS = ("authors", "keywords", "mesh", "outcomes")
LABEL_FIELDS = ("included", "exclusion_reason", "category", "outcomes")
COLUMNS = (
    "record_id",
    "title",
    "abstract",
    "authors",
    "year",
    "journal",
    "doi",
    "pmid",
    "keywords",
    "mesh",
    "language",
    "source_file",
    "source_position",
    "included",
    "exclusion_reason",
    "category",
    "outcomes",
)


@dataclass
class Record:
    """A bibliographic record with the review's labels (all optional but `record_id`)."""

    record_id: str
    title: str | None = None
    abstract: str | None = None
    authors: list[str] = field(default_factory=list)
    year: int | None = None
    journal: str | None = None
    doi: str | None = None
    pmid: str | None = None
    keywords: list[str] = field(default_factory=list)
    mesh: list[str] = field(default_factory=list)
    language: str | None = None
    source_file: str | None = None
    source_position: int | None = None
    included: int | None = None
    exclusion_reason: str | None = None
    category: str | None = None
    outcomes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """Title and abstract joined: what text models read."""
        return join_text(self.title, self.abstract)

    @property
    def has_text(self) -> bool:
        return bool(self.title or self.abstract)


def join_text(title: str | None, abstract: str | None) -> str:
    """Title and abstract as one string; a title ending without punctuation gets a period."""
    title = title or ""
    abstract = abstract or ""
    if title and abstract:
        sep = " " if title[-1] in ".?!:" else ". "
        return f"{title}{sep}{abstract}"
    return title or abstract


def _to_label(value: object) -> int | None:
    """Map the many spellings of a screening label (1, "1", True, "yes", "included") to 0/1."""
    if value is None:
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        if value != value:
            return None
        if value in (0, 1):
            return int(value)
        return 1 if value > 0 else 0 if value == 0 else None
    text = str(value).strip().lower()
    if text in {"1", "1.0", "true", "yes", "y", "include", "included", "relevant"}:
        return 1
    if text in {"0", "0.0", "false", "no", "n", "exclude", "excluded", "irrelevant"}:
        return 0
    return None


def _clean_column(name: str, values: Sequence[Any]) -> list[Any]:
    """Apply the cleaning rule of field `name` to a whole column."""
    if name in ("title", "abstract", "journal", "exclusion_reason", "category"):
        return clean_texts(values)
    if name in ("record_id", "language"):
        return clean_texts([None if _isna(v) else str(v) for v in values])
    if name in LIST_FIELDS:
        return clean_lists(values)
    if name == "year":
        return [parse_year(v) for v in values]
    if name == "doi":
        return [normalise_doi(v) for v in values]
    if name == "pmid":
        return [normalise_pmid(v) for v in values]
    if name == "included":
        return [_to_label(v) for v in values]
    if name == "source_position":
        return [None if _isna(v) else int(v) for v in values]
    return list(values)


def _isna(value: object) -> bool:
    return value is None or (isinstance(value, float) and value != value)


class RecordSet:
    """Records stored column-wise; the columns of `COLUMNS` always exist, extras follow them."""

    def __init__(self, frame: pd.DataFrame):
        self._frame = frame

    # -- construction -------------------------------------------------------------------
    @classmethod
    def from_columns(cls, columns: Mapping[str, Sequence[Any]], *, clean: bool = True) -> RecordSet:
        """Build from raw column lists, cleaning each field; missing core columns are added."""
        n = len(next(iter(columns.values()))) if columns else 0
        data: dict[str, Any] = {}
        for name in COLUMNS:
            raw = columns.get(name)
            if raw is None:
                data[name] = [[] for _ in range(n)] if name in LIST_FIELDS else [None] * n
            else:
                data[name] = _clean_column(name, raw) if clean else list(raw)
        for name, raw in columns.items():
            if name not in data:
                data[name] = list(raw)
        return cls(_typed_frame(data))

    @classmethod
    def from_records(cls, records: Iterable[Record]) -> RecordSet:
        records = list(records)
        columns: dict[str, list[Any]] = {f.name: [] for f in fields(Record) if f.name != "extra"}
        extra_names: list[str] = []
        for rec in records:
            for key in rec.extra:
                if key not in extra_names and key not in columns:
                    extra_names.append(key)
        for name in extra_names:
            columns[name] = []
        for rec in records:
            for name in COLUMNS:
                columns[name].append(getattr(rec, name))
            for name in extra_names:
                columns[name].append(rec.extra.get(name))
        return cls.from_columns(columns)

    @classmethod
    def empty(cls) -> RecordSet:
        return cls.from_columns({name: [] for name in COLUMNS})

    @classmethod
    def concat(cls, sets: Sequence[RecordSet]) -> RecordSet:
        if not sets:
            return cls.empty()
        frame = pd.concat([s.frame for s in sets], ignore_index=True, sort=False)
        return cls(_typed_frame({c: frame[c].tolist() for c in frame.columns}))

    # -- access -------------------------------------------------------------------------
    @property
    def frame(self) -> pd.DataFrame:
        return self._frame

    @property
    def extra_columns(self) -> list[str]:
        return [c for c in self._frame.columns if c not in COLUMNS]

    def __len__(self) -> int:
        return len(self._frame)

    def __iter__(self) -> Iterator[Record]:
        extras = self.extra_columns
        for row in self._frame.itertuples(index=False):
            values = row._asdict()
            yield _record_from_row(values, extras)

    def __getitem__(self, index: int) -> Record:
        row = self._frame.iloc[index].to_dict()
        return _record_from_row(row, self.extra_columns)

    def take(self, positions: Sequence[int]) -> RecordSet:
        return RecordSet(self._frame.iloc[list(positions)].reset_index(drop=True))

    def texts(self) -> list[str]:
        """Title + abstract of every record, in order (empty string when both are missing)."""
        return [
            join_text(t, a)
            for t, a in zip(self._frame["title"], self._frame["abstract"], strict=True)
        ]

    def years(self) -> list[int | None]:
        """Publication year of every record, in order (None where unknown)."""
        return [None if _isna(y) or y is pd.NA else int(y) for y in self._frame["year"]]

    def has_text(self) -> pd.Series:
        return self._frame["title"].notna() | self._frame["abstract"].notna()

    @property
    def is_labelled(self) -> bool:
        return bool(self._frame["included"].notna().any())

    def to_dataset(self):
        """A Hugging Face `datasets.Dataset` with the same columns (lists become sequences)."""
        import datasets

        frame = self._frame.copy()
        frame["year"] = frame["year"].astype("float64")
        frame["included"] = frame["included"].astype("float64")
        frame["source_position"] = frame["source_position"].astype("float64")
        return datasets.Dataset.from_pandas(frame, preserve_index=False)


def _record_from_row(values: Mapping[str, Any], extras: Sequence[str]) -> Record:
    def opt(v):
        return None if _isna(v) or v is pd.NA else v

    return Record(
        record_id=values["record_id"],
        title=opt(values["title"]),
        abstract=opt(values["abstract"]),
        authors=list(values["authors"]),
        year=None if opt(values["year"]) is None else int(values["year"]),
        journal=opt(values["journal"]),
        doi=opt(values["doi"]),
        pmid=opt(values["pmid"]),
        keywords=list(values["keywords"]),
        mesh=list(values["mesh"]),
        language=opt(values["language"]),
        source_file=opt(values["source_file"]),
        source_position=None
        if opt(values["source_position"]) is None
        else int(values["source_position"]),
        included=None if opt(values["included"]) is None else int(values["included"]),
        exclusion_reason=opt(values["exclusion_reason"]),
        category=opt(values["category"]),
        outcomes=list(values["outcomes"]),
        extra={k: opt(values[k]) for k in extras},
    )


def _typed_frame(data: dict[str, list[Any]]) -> pd.DataFrame:
    frame = pd.DataFrame({k: pd.Series(v, dtype=object) for k, v in data.items()})
    for name in ("year", "source_position"):
        frame[name] = pd.array(frame[name].tolist(), dtype="Int64")
    frame["included"] = pd.array(frame["included"].tolist(), dtype="Int8")
    return frame
