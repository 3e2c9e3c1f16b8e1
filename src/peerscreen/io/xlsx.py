"""Excel workbooks a reviewer can work in straight away.

A review team opens a ranked queue or an import in Excel (or LibreOffice) and starts
reading; the workbook should not need ten minutes of formatting first. So every workbook
peerscreen writes has the header row frozen and bold with a filter on it, columns sized to
their contents (capped, so one long value does not push the rest off screen), titles and
flags wrapped, the abstract wide, and the model's `decision` band coloured (include green,
check amber, exclude grey). A `reviewer_decision` column (what `rank` adds for reviewers to
fill in) gets a drop-down of the usual answers that still accepts any text.

The workbook is written in openpyxl's write-only mode, row by row, so a sink can append
chunk after chunk and memory holds one chunk, not the workbook. Write-only mode fixes the
sheet layout (frozen pane, column widths) when the first row is written: the widths come
from the first table written, which for streamed outputs is the first chunk.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import IllegalCharacterError
from openpyxl.worksheet.datavalidation import DataValidation

from peerscreen.errors import OutputError

EXCEL_CELL_LIMIT = 32_767
EXCEL_ROW_LIMIT = 1_048_576
#: The model's band column and the fill of each band (gentle: the text stays readable).
BAND_COLUMN = "decision"
BAND_FILLS = {
    "include": PatternFill("solid", start_color="E2EFDA", end_color="E2EFDA"),
    "check": PatternFill("solid", start_color="FFF2CC", end_color="FFF2CC"),
    "exclude": PatternFill("solid", start_color="EDEDED", end_color="EDEDED"),
}
#: The column `rank` leaves empty for a reviewer's own decision, and what its list offers.
REVIEWER_COLUMN = "reviewer_decision"
REVIEWER_CHOICES = ("include", "exclude", "maybe")
#: Column widths in Excel's units (about one character each).
MIN_WIDTH = 6
MAX_WIDTH = 40
#: Long text read in the cell: wrapped at this width, so a row grows a few lines tall.
WRAPPED_COLUMNS = {"title": 60, "exclusion_flags": 50, "top_terms": 40, "notes": 50}
#: Long text skimmed: wide, not wrapped, so rows keep an even height (the full text is in the
#: cell and the formula bar).
WIDE_COLUMNS = {"abstract": 100}
#: Rows of the first table measured for the widths.
_WIDTH_SAMPLE = 500
_HEADER_FONT = Font(bold=True)
_WRAP = Alignment(wrap_text=True, vertical="top")
_TOP = Alignment(vertical="top")


def column_width(name: str, values: pd.Series) -> float:
    """Width for a column: its header or its typical (90th percentile) value, within caps."""
    if name in WIDE_COLUMNS:
        return WIDE_COLUMNS[name]
    sample = values.head(_WIDTH_SAMPLE).dropna()
    lengths = sample.map(lambda v: len(str(v))).to_numpy()
    typical = float(np.percentile(lengths, 90)) if len(lengths) else 0.0
    cap = WRAPPED_COLUMNS.get(name, MAX_WIDTH)
    return float(min(cap, max(MIN_WIDTH, len(name) + 2, typical + 2)))


class XlsxBook:
    """One sheet of records, appended to table by table (`write`), saved by `close`.

    Tables must be flat already (lists joined, probabilities rounded: `writers.display_frame`)
    and share the first table's columns.
    """

    def __init__(self, path: Path):
        self.path = path
        self._book = Workbook(write_only=True)
        self._sheet = self._book.create_sheet("records")
        self._columns: list[str] | None = None
        self._rows = 0
        self._styled: dict[int, Alignment] = {}
        self._band = -1
        self._failed = False

    def write(self, frame: pd.DataFrame) -> None:
        try:
            self._write(frame)
        except BaseException:
            self._failed = True  # the caller discards the file; `close` only tidies up
            raise

    def _write(self, frame: pd.DataFrame) -> None:
        if self._columns is None:
            self._start(frame)
        if self._rows + len(frame) >= EXCEL_ROW_LIMIT:
            raise OutputError(
                f"{self.path.name}: more than {EXCEL_ROW_LIMIT - 1:,} records do not fit in "
                "one Excel sheet; write .csv or .parquet instead"
            )
        _check_cell_sizes(frame, self.path, first=self._rows + 1)
        values = frame.astype(object).where(frame.notna(), None)
        for row in values.itertuples(index=False, name=None):
            self._rows += 1
            try:
                self._sheet.append(self._cells(row))
            except IllegalCharacterError:
                raise OutputError(
                    f"{self.path.name}: record {self._rows} holds a control character "
                    "Excel cannot store; write .csv or .parquet instead"
                ) from None

    def close(self) -> None:
        """Add the filter (it spans every row written) and the drop-down; save."""
        if self._failed:  # save what there is, to release openpyxl's temporary files, but
            with contextlib.suppress(Exception):  # never hide the error that stopped us
                self._book.save(self.path)
            return
        if self._columns is None:
            self._sheet.append([])
        elif self._columns:
            last = get_column_letter(len(self._columns))
            self._sheet.auto_filter.ref = f"A1:{last}{self._rows + 1}"
            if REVIEWER_COLUMN in self._columns and self._rows:
                self._add_choices(get_column_letter(self._columns.index(REVIEWER_COLUMN) + 1))
        self._book.save(self.path)

    def _start(self, frame: pd.DataFrame) -> None:
        """Layout fixed before the first row: widths, frozen header; then the header."""
        self._columns = [str(c) for c in frame.columns]
        for i, name in enumerate(self._columns, start=1):
            letter = get_column_letter(i)
            self._sheet.column_dimensions[letter].width = column_width(name, frame.iloc[:, i - 1])
            if name in WRAPPED_COLUMNS:
                self._styled[i - 1] = _WRAP
            elif name in WIDE_COLUMNS:
                self._styled[i - 1] = _TOP
        self._band = self._columns.index(BAND_COLUMN) if BAND_COLUMN in self._columns else -1
        self._sheet.freeze_panes = "A2"
        header = []
        for name in self._columns:
            cell = WriteOnlyCell(self._sheet, name)
            cell.font = _HEADER_FONT
            header.append(cell)
        self._sheet.append(header)

    def _cells(self, row: tuple) -> list[Any]:
        """Plain values, with styled cells only where a style applies (styled cells cost)."""
        cells: list[Any] = list(row)
        for i, alignment in self._styled.items():
            if cells[i] is not None:
                cell = WriteOnlyCell(self._sheet, cells[i])
                cell.alignment = alignment
                cells[i] = cell
        if self._band >= 0 and cells[self._band] in BAND_FILLS:
            cell = WriteOnlyCell(self._sheet, cells[self._band])
            cell.fill = BAND_FILLS[cells[self._band]]
            cells[self._band] = cell
        return cells

    def _add_choices(self, letter: str) -> None:
        choices = DataValidation(
            type="list",
            formula1='"' + ",".join(REVIEWER_CHOICES) + '"',
            allow_blank=True,
            showErrorMessage=False,  # a reviewer may type a reason code or a note instead
        )
        choices.add(f"{letter}2:{letter}{self._rows + 1}")
        self._sheet.data_validations.append(choices)


def _check_cell_sizes(frame: pd.DataFrame, path: Path, *, first: int) -> None:
    """Excel truncates silently beyond its cell limit: refuse instead, naming the record."""
    for name in frame.columns:
        too_long = frame[name].map(lambda v: isinstance(v, str) and len(v) > EXCEL_CELL_LIMIT)
        if too_long.any():
            row = int(too_long.to_numpy().nonzero()[0][0]) + first
            raise OutputError(
                f"{path}: field '{name}' of record {row} exceeds Excel's "
                f"{EXCEL_CELL_LIMIT} characters per cell"
            )
