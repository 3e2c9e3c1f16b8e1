"""Write record sets: CSV, TSV, JSON Lines, XLSX, Parquet and RIS, always atomically.

Every writer writes to a temporary file beside the target and renames it into place, so a
crash or Ctrl-C never leaves a half-written output. RIS keeps labels and tags as
`KW  - peerscreen:<field>=<value>` lines (other extra fields as `N1` notes of the same form)
so a reference manager can carry them and `peerscreen import` reads them back.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from peerscreen.errors import OutputError
from peerscreen.io.readers.ris import RIS_CITATION_TAGS
from peerscreen.io.records import COLUMNS, LABEL_FIELDS, LIST_FIELDS, RecordSet
from peerscreen.io.xlsx import XlsxBook

#: The one separator of list items (authors, keywords, MeSH, outcomes, flags, top terms) in
#: text cells; the CSV reader splits on ";" and trims, so lists come back as written.
LIST_SEPARATOR = "; "
#: Probabilities in CSV, TSV and XLSX (read by people); Parquet and JSON Lines keep all digits.
PROBABILITY_DECIMALS = 3
#: RIS keyword lines carry these fields (a reference manager shows them as keywords).
RIS_KEYWORD_FIELDS = (
    "included",
    "exclusion_reason",
    "category",
    "outcomes",
    "decision",
    "label_included",
    "label_exclusion_reason",
    "label_category",
    "label_outcomes",
)


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `target`; rename it onto `target` only on success."""
    target = Path(target)
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise OutputError(f"{target}: folder {folder} does not exist")
    handle, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    os.close(handle)
    temp = Path(temp_name)
    try:
        yield temp
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA:
        return True
    return isinstance(value, float) and value != value


def _flat_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Lists joined with `LIST_SEPARATOR`, for formats without list cells."""
    frame = frame.copy()
    for name in frame.columns:
        if name in LIST_FIELDS or frame[name].map(lambda v: isinstance(v, list | tuple)).any():
            frame[name] = frame[name].map(
                lambda v: LIST_SEPARATOR.join(map(str, v)) if isinstance(v, list | tuple) else v
            )
    return frame


def is_probability(name: str) -> bool:
    """Columns holding a probability: the model's `p_include`, `p_category` and any `p_*`."""
    return name.startswith("p_") or name.endswith("_probability")


def _rounded(frame: pd.DataFrame) -> pd.DataFrame:
    """Probability columns rounded to `PROBABILITY_DECIMALS`: 0.6153846 says no more than
    0.615 to a reviewer, and long digits make a sheet hard to scan."""
    names = [
        n for n in frame.columns if is_probability(str(n)) and pd.api.types.is_float_dtype(frame[n])
    ]
    if not names:
        return frame
    return frame.assign(**{str(n): frame[n].round(PROBABILITY_DECIMALS) for n in names})


def display_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The table as CSV, TSV and XLSX hold it: lists joined, probabilities rounded."""
    return _rounded(_flat_frame(frame))


def write_csv(frame: pd.DataFrame, path: Path, *, sep: str = ",") -> None:
    display_frame(frame).to_csv(path, index=False, sep=sep, encoding="utf-8")


def csv_text(frame: pd.DataFrame, *, sep: str = ",", header: bool = True) -> str:
    """The CSV `write_csv` writes, as text; rows of later chunks go without the header."""
    return display_frame(frame).to_csv(index=False, sep=sep, header=header, lineterminator="\n")


def write_jsonl(frame: pd.DataFrame, path: Path) -> None:
    path.write_text(jsonl_text(frame), encoding="utf-8")


def jsonl_text(frame: pd.DataFrame) -> str:
    """One JSON object a line: lists as arrays, missing values as null."""
    names = list(frame.columns)
    lines = []
    for row in frame.itertuples(index=False, name=None):
        item = {}
        for name, value in zip(names, row, strict=True):
            if isinstance(value, list | tuple):
                item[name] = list(value)
            elif _is_missing(value):
                item[name] = None
            elif hasattr(value, "item"):
                item[name] = value.item()
            else:
                item[name] = value
        lines.append(json.dumps(item, ensure_ascii=False) + "\n")
    return "".join(lines)


def write_xlsx(frame: pd.DataFrame, path: Path) -> None:
    """A workbook ready to read: frozen header, filters, widths, band colours (`io.xlsx`)."""
    book = XlsxBook(path)
    try:
        book.write(display_frame(frame))
    finally:
        book.close()


def write_parquet(frame: pd.DataFrame, path: Path) -> None:
    frame.to_parquet(path, index=False, engine="pyarrow")


def _ris_value(value: Any) -> str:
    """A value on one RIS line. Only line breaks are collapsed (a value must stay on its
    line): other spacing is kept, so a cleaned field reads back exactly as it was."""
    if isinstance(value, list | tuple):
        return ";".join(map(str, value))
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value)
    if "\n" in text or "\r" in text:
        text = " ".join(text.split())
    return text.strip()


#: Columns written to their own RIS tags or not at all (provenance); labels and any other
#: field go to KW or N1 lines.
RIS_CORE = (
    (set(COLUMNS) - set(LABEL_FIELDS)) | {"notes", "type_of_reference"} | set(RIS_CITATION_TAGS)
)


def _as_list(value: Any) -> list:
    if isinstance(value, list | tuple):
        return list(value)
    if hasattr(value, "tolist") and not isinstance(value, str):
        return list(value.tolist())
    return [] if _is_missing(value) or value == "" else [value]


def write_ris(frame: pd.DataFrame, path: Path) -> None:
    path.write_text(ris_text(frame), encoding="utf-8")


def ris_text(frame: pd.DataFrame) -> str:
    """RIS records; texts of consecutive chunks concatenate to the text of the whole."""
    extras = [c for c in frame.columns if c not in RIS_CORE and c not in RIS_KEYWORD_FIELDS]
    lines: list[str] = []
    for row in frame.to_dict("records"):

        def add(tag: str, value: Any) -> None:
            if not _is_missing(value) and value != "" and value != []:
                lines.append(f"{tag}  - {_ris_value(value)}")

        add(
            "TY",
            row.get("type_of_reference")
            if isinstance(row.get("type_of_reference"), str)
            else "JOUR",
        )
        add("ID", row.get("record_id"))
        add("TI", row.get("title"))
        for author in _as_list(row.get("authors")):
            add("AU", author)
        add("PY", row.get("year"))
        _add_journal(add, row)
        for name in ("volume", "issue", "start_page", "end_page"):
            add(RIS_CITATION_TAGS[name], row.get(name))
        add("AB", row.get("abstract"))
        add("DO", row.get("doi"))
        add("AN", row.get("pmid"))
        for url in _urls(row.get("url")):
            add("UR", url)
        add("ST", row.get("short_title"))
        add("LA", row.get("language"))
        for keyword in _as_list(row.get("keywords")):
            add("KW", keyword)
        for term in _as_list(row.get("mesh")):
            add("KW", f"peerscreen:mesh={term}")
        for name in RIS_KEYWORD_FIELDS:
            value = row.get(name)
            if not _is_missing(value) and value != []:
                add("KW", f"peerscreen:{name}={_ris_value(value)}")
        if not _is_missing(row.get("notes")):
            add("N1", row["notes"])
        for name in extras:
            value = row.get(name)
            if not _is_missing(value) and value != "":
                add("N1", f"peerscreen:{name}={_ris_value(value)}")
        lines.append("ER  - ")
        lines.append("")
    return "\n".join(lines) + ("\n" if lines else "")


def _add_journal(add: Callable[[str, Any], None], row: dict[str, Any]) -> None:
    """T2 as it was read; JO only for a journal T2 does not already name (a record read
    from RIS T2 takes its journal from there, and a second copy would change the file)."""
    secondary = row.get("secondary_title")
    add("T2", secondary)
    journal = row.get("journal")
    if _is_missing(secondary) or journal != secondary:
        add("JO", journal)


def _urls(value: Any) -> list[str]:
    """The URLs of a `url` field (RIS readers join several with "; "): one UR line each."""
    if isinstance(value, list | tuple):
        return [str(v) for v in value if not _is_missing(v)]
    if _is_missing(value) or not str(value).strip():
        return []
    return [u.rstrip(";") for u in str(value).split() if u.rstrip(";")]


WRITERS: dict[str, Callable[[pd.DataFrame, Path], None]] = {
    ".csv": write_csv,
    ".tsv": lambda records, path: write_csv(records, path, sep="\t"),
    ".jsonl": write_jsonl,
    ".ndjson": write_jsonl,
    ".xlsx": write_xlsx,
    ".parquet": write_parquet,
    ".ris": write_ris,
}


def write_records(records: RecordSet | pd.DataFrame, target: str | Path) -> Path:
    """Write records (or any table of them, e.g. a ranked queue) to `target` in the format
    its extension names, atomically."""
    frame = records.frame if isinstance(records, RecordSet) else records
    target = Path(target)
    writer = WRITERS.get(target.suffix.lower())
    if writer is None:
        raise OutputError(
            f"{target}: cannot tell the output format from '{target.suffix or '(no extension)'}'"
            f" (use one of {', '.join(sorted(WRITERS))})"
        )
    with atomic_path(target) as temp:
        writer(frame, temp)
    return target
