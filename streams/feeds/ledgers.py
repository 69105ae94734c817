"""Ledger files (台账, DOMAIN.md §7): ``.xlsx`` / ``.csv`` in, ``.xlsx`` out. Cells only; the rules are in
:mod:`streams.core.ledger`."""

from __future__ import annotations

import csv
import io
import unicodedata
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from streams.core.ledger import EXPORT_AMOUNT, EXPORT_COLUMNS, LedgerFileError

SHEET = "台账"
#: Supervision colour → the fill of a row's 项目阶段 cell (Excel's own light red, yellow, blue and green).
FILLS = {"red": "FFC7CE", "yellow": "FFEB9C", "blue": "BDD7EE", "green": "C6EFCE"}


@dataclass(frozen=True)
class LedgerSheet:
    """A ledger's cells as read: the sheet, its header row and its data rows with their row numbers."""

    file: str
    sheet: str
    header: list
    rows: list[tuple[int, list]]


def read_ledger(path: str | Path) -> LedgerSheet:
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        return _read_xlsx(path)
    if suffix == ".csv":
        return _read_csv(path)
    raise LedgerFileError(f"{path.name}: a ledger is an .xlsx or .csv file, not {suffix or 'a file without suffix'}")


def _filled(cells) -> bool:
    return any(c is not None and not (isinstance(c, str) and not c.strip()) for c in cells)


def _read_xlsx(path: Path) -> LedgerSheet:
    """The sheet 台账 (else the first) through calamine: Rust, 20× faster than openpyxl on a 10,000-row ledger."""
    from python_calamine import CalamineWorkbook

    try:
        book = CalamineWorkbook.from_path(str(path))
        name = SHEET if SHEET in book.sheet_names else book.sheet_names[0]
        lines = book.get_sheet_by_name(name).to_python(skip_empty_area=False)  # from A1: rows keep their numbers
    except Exception as e:  # calamine raises its own error types for a file that is not a workbook
        raise LedgerFileError(f"{path.name}: not a readable .xlsx workbook ({type(e).__name__}: {e})") from e
    header = [None if c == "" else c for c in lines[0]] if lines else []
    rows = [(number, [None if c == "" else c for c in cells])
            for number, cells in enumerate(lines[1:], start=2) if _filled(cells)]
    return LedgerSheet(path.name, name, header, rows)


def _read_csv(path: Path) -> LedgerSheet:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        hint = ""
        try:
            raw.decode("gb18030")
            hint = " It reads as GBK/GB18030 (Excel's \"CSV\" on a Chinese Windows): save it as \"CSV UTF-8\"."
        except UnicodeDecodeError:
            pass
        raise LedgerFileError(f"{path.name}: not UTF-8 text (byte {e.start} of the file).{hint}") from None
    lines = list(csv.reader(io.StringIO(text, newline="")))
    if not lines:
        raise LedgerFileError(f"{path.name}: the file is empty (a ledger needs a header row)")
    rows = [(number, [c if c.strip() else None for c in cells])
            for number, cells in enumerate(lines[1:], start=2) if _filled(cells)]
    return LedgerSheet(path.name, "csv", lines[0], rows)


def _width(value) -> int:
    """Display width: CJK characters take two columns."""
    text = value.isoformat() if isinstance(value, date) else f"{value:,}" if isinstance(value, int) else str(value)
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def write_ledger(path: str | Path, rows: list[dict], colours: list[str | None],
                 pools: dict[str, list[int]], summary: list[tuple[str, list[list]]]) -> None:
    """The exported workbook: sheet 台账 (every row, its 项目阶段 filled with its colour), one sheet per pool
    (rows by index), and a summary sheet of titled tables."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    _ledger_sheet(book, SHEET, rows, colours, range(len(rows)))
    for title, indexes in pools.items():
        _ledger_sheet(book, title, rows, colours, indexes)
    _summary_sheet(book, summary)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    book.save(path)


def _ledger_sheet(book, title: str, rows: list[dict], colours: list[str | None], indexes) -> None:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font, PatternFill

    sheet = book.create_sheet(title)
    widths = [_width(h) for h in EXPORT_COLUMNS]
    for i in indexes:
        for j, column in enumerate(EXPORT_COLUMNS):
            if rows[i][column] is not None:
                widths[j] = max(widths[j], _width(rows[i][column]))
    for j, w in enumerate(widths):
        sheet.column_dimensions[_letter(j)].width = min(w + 2, 60)
    sheet.freeze_panes = "A2"
    _print_setup(sheet)
    bold, fills = Font(bold=True), {c: PatternFill("solid", start_color=f) for c, f in FILLS.items()}
    header = []
    for column in EXPORT_COLUMNS:
        cell = WriteOnlyCell(sheet, value=column)
        cell.font, cell.alignment = bold, Alignment(horizontal="center")
        header.append(cell)
    sheet.append(header)
    stage_at = EXPORT_COLUMNS.index("项目阶段")
    for i in indexes:
        cells = []
        for j, column in enumerate(EXPORT_COLUMNS):
            cell = WriteOnlyCell(sheet, value=_excel(rows[i][column]))
            if isinstance(rows[i][column], date):
                cell.number_format = "yyyy-mm-dd"
            elif column == EXPORT_AMOUNT and rows[i][column] is not None:
                cell.number_format = "#,##0" if isinstance(rows[i][column], int) else "#,##0.0###"
            if j == stage_at and colours[i] in fills:
                cell.fill = fills[colours[i]]
            cells.append(cell)
        sheet.append(cells)


def _print_setup(sheet) -> None:
    """Printed as officials read it: A4 landscape, every column on the page, the header on every page."""
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = "9"  # A4 (Worksheet.PAPERSIZE_A4; a write-only sheet lacks the name)
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 0
    sheet.print_title_rows = "1:1"


def _excel(value):
    """A Decimal 万元 amount as a number when a float holds it exactly, else as its exact text."""
    if isinstance(value, Decimal):
        as_float = float(value)
        return as_float if Decimal(repr(as_float)) == value else str(value)
    return value


def _letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index + 1)


def _summary_sheet(book, tables: list[tuple[str, list[list]]]) -> None:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    sheet = book.create_sheet("汇总")
    widths: dict[int, int] = {}
    lines = []
    for title, table in tables:
        lines.append([(title, True)])
        for k, line in enumerate(table):
            lines.append([(v, k == 0) for v in line])
            for j, v in enumerate(line):
                widths[j] = max(widths.get(j, 0), _width(v) if v is not None else 0)
        lines.append([])
    for j, w in widths.items():
        sheet.column_dimensions[_letter(j)].width = min(w + 2, 40)
    for line in lines:
        cells = []
        for value, bold in line:
            cell = WriteOnlyCell(sheet, value=value)
            if bold:
                cell.font = Font(bold=True)
            cells.append(cell)
        sheet.append(cells)
