"""Find and merge duplicate records: by DOI, then PMID, then normalised title + year.

The first occurrence of a duplicate group is kept and its empty fields are filled from the
others (lists are unioned), so merging never loses information. Conflicting screening
labels resolve to *included*: a lost inclusion costs a review more than a second look.
Every merge is reported with the rule that matched and the value the records share;
`duplicates_table` lays the report out for a reviewer to check (`import --duplicates-report`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from peerscreen.io.cleaning import title_key
from peerscreen.io.records import LIST_FIELDS, RecordSet

#: Titles shorter than this (as alphanumerics) are too generic ("Editorial", "Letter") to
#: merge on title + year alone; they merge only on DOI or PMID.
MIN_TITLE_KEY = 20
#: Columns never filled from a duplicate: identity, provenance, and the merged label.
_NOT_FILLED = {"record_id", "source_file", "source_position", "included", *LIST_FIELDS}


#: The rules, in the order they run.
RULES = ("doi", "pmid", "title+year")


@dataclass
class Merge:
    """One record merged into another: which, by which rule, and what it carried.

    The merged record's fields are captured here because they are gone from the result:
    a reviewer checking the merge needs to see both sides.
    """

    kept: str
    dropped: str
    rule: str
    #: the shared value: the DOI, the PMID, or the title key and year
    key: str
    kept_title: str | None = None
    dropped_title: str | None = None
    kept_source: str | None = None
    dropped_source: str | None = None
    #: the screening labels before the merge (None: unlabelled)
    kept_label: int | None = None
    dropped_label: int | None = None

    @property
    def label_conflict(self) -> bool:
        return (
            self.kept_label is not None
            and self.dropped_label is not None
            and self.kept_label != self.dropped_label
        )

    @property
    def reason(self) -> str:
        """The merge in words, e.g. "same doi 10.1000/x"."""
        return f"same {self.rule} {self.key}"


@dataclass
class DedupReport:
    n_before: int = 0
    n_after: int = 0
    merges: list[Merge] = field(default_factory=list)
    label_conflicts: list[str] = field(default_factory=list)

    @property
    def by_reason(self) -> Counter[str]:
        return Counter(m.rule for m in self.merges)

    @property
    def n_removed(self) -> int:
        return self.n_before - self.n_after


def _id_keys(values: list) -> list[str | None]:
    return [v if isinstance(v, str) and v else None for v in values]


def _title_keys(rows: dict[str, list]) -> list[tuple[str, int | None] | None]:
    """(title key, year) per record; None for titles too short to merge on."""
    keys: list[tuple[str, int | None] | None] = []
    for t, y in zip(rows["title"], rows["year"], strict=True):
        key = title_key(t) if isinstance(t, str) else None
        keys.append(
            (key, None if y is pd.NA or y is None else int(y))
            if key and len(key) >= MIN_TITLE_KEY
            else None
        )
    return keys


def _key_groups(keys: list, alive: list[bool]) -> list[list[int]]:
    positions: dict[object, list[int]] = {}
    for position, key in enumerate(keys):
        if key is None or not alive[position]:
            continue
        positions.setdefault(key, []).append(position)
    return [group for group in positions.values() if len(group) > 1]


def deduplicate(records: RecordSet) -> tuple[RecordSet, DedupReport]:
    """Return the records without duplicates, and what was merged and why."""
    frame = records.frame
    report = DedupReport(n_before=len(frame))
    alive = [True] * len(frame)
    rows = {c: frame[c].tolist() for c in frame.columns}

    # Each pass reads the keys as the passes before it left them: a record that took a PMID
    # from a DOI duplicate then merges with that PMID's records too, so a second import of
    # the result finds nothing more to merge.
    for rule in RULES:
        keys = _title_keys(rows) if rule == "title+year" else _id_keys(rows[rule])
        for group in _key_groups(keys, alive):
            keep = group[0]
            for other in group[1:]:
                if rule == "title+year" and _different_ids(rows, keep, other):
                    continue
                report.merges.append(_describe(rows, keep, other, rule, keys[keep]))
                _merge_into(rows, keep, other, report)
                alive[other] = False
    if not report.merges:  # nothing merged: the input stands as it is
        report.n_after = len(frame)
        return records, report
    position = {rid: i for i, rid in enumerate(rows["record_id"])}
    report.merges.sort(key=lambda m: position[m.kept])  # stable: passes in order within
    kept = [i for i, a in enumerate(alive) if a]
    merged = RecordSet.from_columns(
        {c: [rows[c][i] for i in kept] for c in frame.columns}, clean=False
    )
    report.n_after = len(merged)
    return merged, report


def _label(value: object) -> int | None:
    return None if _missing(value) else int(value)


def _source(rows: dict[str, list], at: int) -> str | None:
    """Where a record came from, as "file, record N" (N counts from 1 in that file)."""
    path, position = rows["source_file"][at], rows["source_position"][at]
    if _missing(path):
        return None
    return str(path) if _missing(position) else f"{path}, record {int(position)}"


def _describe(rows: dict[str, list], keep: int, other: int, rule: str, key: object) -> Merge:
    """The Merge of `other` into `keep`, taken before the merge changes `keep`."""
    if rule == "title+year":  # the kept title as written, not its letters-only key
        year = key[1]  # type: ignore[index]
        key = f"{rows['title'][keep]} ({year})" if year is not None else rows["title"][keep]
    return Merge(
        kept=rows["record_id"][keep],
        dropped=rows["record_id"][other],
        rule=rule,
        key=str(key),
        kept_title=rows["title"][keep],
        dropped_title=rows["title"][other],
        kept_source=_source(rows, keep),
        dropped_source=_source(rows, other),
        kept_label=_label(rows["included"][keep]),
        dropped_label=_label(rows["included"][other]),
    )


#: Columns of `duplicates_table`, in order.
DUPLICATE_COLUMNS = (
    "group",
    "kept_id",
    "merged_id",
    "rule",
    "matched_on",
    "kept_title",
    "merged_title",
    "kept_source",
    "merged_source",
    "kept_label",
    "merged_label",
    "label_conflict",
)


def duplicates_table(report: DedupReport) -> pd.DataFrame:
    """Every merge as one row, grouped by the record kept: what merged and why.

    Rows of one kept record share a `group` number (groups are numbered in the order the
    kept records appear in the input, as `deduplicate` sorts its merges); `label_conflict`
    says how a disagreement on the screening label was resolved, empty when there was none.
    """
    order: dict[str, int] = {}
    for merge in report.merges:
        order.setdefault(merge.kept, len(order) + 1)
    merges = sorted(report.merges, key=lambda m: order[m.kept])
    rows = [
        {
            "group": order[m.kept],
            "kept_id": m.kept,
            "merged_id": m.dropped,
            "rule": m.rule,
            "matched_on": m.key,
            "kept_title": m.kept_title,
            "merged_title": m.dropped_title,
            "kept_source": m.kept_source,
            "merged_source": m.dropped_source,
            "kept_label": m.kept_label,
            "merged_label": m.dropped_label,
            "label_conflict": (
                f"kept {m.kept_label}, merged {m.dropped_label}: kept as included"
                if m.label_conflict
                else None
            ),
        }
        for m in merges
    ]
    frame = pd.DataFrame(rows, columns=list(DUPLICATE_COLUMNS))
    for name in ("group", "kept_label", "merged_label"):
        frame[name] = pd.array(frame[name].tolist(), dtype="Int64")
    return frame


def _different_ids(rows: dict[str, list], a: int, b: int) -> bool:
    """Two records that carry different DOIs or PMIDs are distinct publications."""
    for name in ("doi", "pmid"):
        ida, idb = rows[name][a], rows[name][b]
        if ida and idb and ida != idb:
            return True
    return False


def _missing(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and value != value)


def _merge_into(rows: dict[str, list], keep: int, other: int, report: DedupReport) -> None:
    for name in rows:
        if (
            name not in _NOT_FILLED
            and _missing(rows[name][keep])
            and not _missing(rows[name][other])
        ):
            rows[name][keep] = rows[name][other]
    for name in LIST_FIELDS:
        merged = list(rows[name][keep])
        merged += [v for v in rows[name][other] if v not in merged]
        rows[name][keep] = merged
    mine, theirs = rows["included"][keep], rows["included"][other]
    if _missing(mine) and not _missing(theirs):
        rows["included"][keep] = theirs
    elif not _missing(mine) and not _missing(theirs) and int(mine) != int(theirs):
        rows["included"][keep] = 1
        rows["exclusion_reason"][keep] = None
        report.label_conflicts.append(
            f"{rows['record_id'][keep]} and {rows['record_id'][other]} disagree; kept as included"
        )


class KeyIndex:
    """A set of 64-bit keys, each with two 64-bit values, in about 24 bytes a key.

    For state that grows with the input (the keys of every record seen so far): a Python
    set or dict spends about 100 bytes a key. Recent keys sit in a small dict; every
    `MERGE` of them move into sorted NumPy arrays, searched by bisection.
    """

    MERGE = 1 << 16
    #: The value of an absent key, and of "no value" (`hash` never returns -1).
    NONE = -1

    def __init__(self) -> None:
        self._keys = np.zeros(0, dtype=np.int64)
        self._values = np.zeros((0, 2), dtype=np.int64)
        self._recent: dict[int, tuple[int, int]] = {}

    def __len__(self) -> int:
        return len(self._keys) + len(self._recent)

    def __contains__(self, key: int) -> bool:
        return self.get(key) is not None

    def get(self, key: int) -> tuple[int, int] | None:
        found = self._recent.get(key)
        if found is not None:
            return found
        at = int(np.searchsorted(self._keys, key))
        if at < len(self._keys) and self._keys[at] == key:
            first, second = self._values[at].tolist()
            return first, second
        return None

    def add(self, key: int, values: tuple[int, int] = (NONE, NONE)) -> None:
        """Record `key` (its first values are kept if it is already there)."""
        if key in self._recent or key in self:
            return
        self._recent[key] = values
        if len(self._recent) >= self.MERGE:
            self._merge()

    def _merge(self) -> None:
        keys = np.fromiter(self._recent, dtype=np.int64, count=len(self._recent))
        values = np.array(list(self._recent.values()), dtype=np.int64).reshape(-1, 2)
        keys = np.concatenate([self._keys, keys])
        values = np.concatenate([self._values, values])
        order = np.argsort(keys, kind="stable")
        self._keys, self._values = keys[order], values[order]
        self._recent = {}


class StreamingDedup:
    """One-pass deduplication for inputs read in chunks (too large for `deduplicate`).

    A record is dropped when it repeats the DOI, the PMID, or the title + year (same rules:
    titles of at least `MIN_TITLE_KEY` letters, never between records whose DOIs or PMIDs
    differ) of an earlier record that was kept. Unlike `deduplicate`, the kept record has
    already been written, so nothing is merged into it: a dropped duplicate's extra fields
    and labels are lost. Memory holds 64-bit hashes of the keys of kept records (about 40
    bytes a record, `KeyIndex`), not the records.
    """

    def __init__(self) -> None:
        self._dois = KeyIndex()
        self._pmids = KeyIndex()
        #: title+year key -> (DOI hash, PMID hash) of the kept record that has it
        self._titles = KeyIndex()
        self.dropped: Counter[str] = Counter()

    def filter(self, records: RecordSet) -> RecordSet:
        """The records of this chunk that repeat no kept record (they are kept in turn)."""
        frame = records.frame
        keep = [
            self._keep(doi, pmid, title, year)
            for doi, pmid, title, year in zip(
                frame["doi"], frame["pmid"], frame["title"], frame["year"], strict=True
            )
        ]
        if all(keep):
            return records
        return RecordSet(frame[np.array(keep)].reset_index(drop=True))

    def _keep(self, doi: object, pmid: object, title: object, year: object) -> bool:
        none = KeyIndex.NONE
        doi_key = hash(doi) if isinstance(doi, str) and doi else none
        pmid_key = hash(pmid) if isinstance(pmid, str) and pmid else none
        if doi_key != none and doi_key in self._dois:
            self.dropped["doi"] += 1
            return False
        if pmid_key != none and pmid_key in self._pmids:
            self.dropped["pmid"] += 1
            return False
        title_key_hash = self._title_key(title, year)
        if title_key_hash is not None:
            kept = self._titles.get(title_key_hash)
            if (
                kept is not None
                and not _differ(doi_key, kept[0])
                and not _differ(pmid_key, kept[1])
            ):
                self.dropped["title+year"] += 1
                return False
        if doi_key != none:
            self._dois.add(doi_key)
        if pmid_key != none:
            self._pmids.add(pmid_key)
        if title_key_hash is not None:
            self._titles.add(title_key_hash, (doi_key, pmid_key))
        return True

    @staticmethod
    def _title_key(title: object, year: object) -> int | None:
        key = title_key(title) if isinstance(title, str) else None
        if not key or len(key) < MIN_TITLE_KEY:
            return None
        return hash((key, None if year is None or year is pd.NA else int(year)))


def _differ(mine: int, theirs: int) -> bool:
    none = KeyIndex.NONE
    return mine != none and theirs != none and mine != theirs
