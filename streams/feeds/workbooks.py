"""Ledger files (台账, DOMAIN.md §7, §7a): workbooks and CSVs in, ``.xlsx`` out. Cells only; the rules are in
:mod:`streams.core.ledger_layout` and :mod:`streams.core.ledger`.

Workbooks are read through calamine (Rust: a 10,000-row ledger in a fraction of openpyxl's time). A workbook is
a zip of XML, or an OLE file: before calamine sees one it is checked against the bounds of
:mod:`streams.feeds.workbook_guard`, so that a hostile or broken file ends in one clear error, in bounded
time and memory, with nothing sent.
"""

from __future__ import annotations

import csv
import io
import logging
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

from streams.core.ledger import EXPORT_AMOUNT, EXPORT_COLUMNS, LedgerFileError
from streams.core.ledger_layout import (
    OTHER_SHEETS, SheetCells, SheetLayout, Skipped, ledger_layouts, other_layouts, sheets_worth_loading,
)
from streams.feeds.workbook_guard import (
    MAX_CELLS, MAX_COLUMNS, MAX_CSV_BYTES, MAX_ROWS, SAVE_AS, check_workbook, refuse,
)

log = logging.getLogger(__name__)

SHEET = "台账"
#: Supervision colour → the fill of a row's 项目阶段 cell (Excel's own light red, yellow, blue and green).
FILLS = {"red": "FFC7CE", "yellow": "FFEB9C", "blue": "BDD7EE", "green": "C6EFCE"}
WORKBOOKS = (".xlsx", ".xlsm", ".xls", ".ods")


@dataclass(frozen=True)
class LedgerSheet:
    """A ledger's cells as read: its sheets' layouts (header, project rows, rows that are not projects)."""

    file: str
    layouts: list[SheetLayout]
    skipped_sheets: list[Skipped] = field(default_factory=list)
    encoding: str | None = None  #: a CSV's, as Python names it: utf-8, utf-8-sig (with a BOM) or gb18030
    others: dict[str, SheetLayout] = field(default_factory=dict)  #: the §11 sheets (问题清单, 外出招商) by name

    @property
    def sheet(self) -> str:
        """The sheets read, named as one."""
        return ", ".join(layout.sheet for layout in self.layouts)


def read_ledger(path: str | Path) -> LedgerSheet:
    """A ledger file's layouts: a workbook's ledger sheets (§7a), or a CSV as one sheet ``csv``."""
    path = Path(path)
    suffix = path.suffix.lower()
    encoding = None
    if suffix == ".csv":
        cells, encoding = _read_csv(path)
        names, sheets = ["csv"], [cells]
    elif suffix in WORKBOOKS:
        names, sheets = _read_workbook(path, suffix)
    elif suffix in (".et", ".ett"):
        raise LedgerFileError(f"{path.name}: a WPS .et workbook is not read: in WPS, save it as .xlsx "
                              f"(文件 → 另存为 → Excel 工作簿)")
    else:
        raise LedgerFileError(f"{path.name}: a ledger is an .xlsx, .xlsm, .xls, .ods or .csv file, not "
                              f"{suffix or 'a file without suffix'}: {SAVE_AS}")
    layouts, skipped = ledger_layouts(path.name, names, sheets)
    others = other_layouts(path.name, sheets)
    skipped = [s for s in skipped if s.sheet not in others]
    for s in skipped:
        log.info("%s: sheet %s not read (%s)", path.name, s.sheet, s.kind)
    return LedgerSheet(path.name, layouts, skipped, encoding, others)


def _read_workbook(path: Path, suffix: str) -> tuple[list[str], list[SheetCells]]:
    """Check the file against the bounds (:mod:`streams.feeds.workbook_guard`), then read its sheets' cells and merged ranges through calamine."""
    from python_calamine import CalamineWorkbook, PasswordError, SheetTypeEnum

    check_workbook(path, suffix)
    try:
        book = CalamineWorkbook.from_path(str(path))
        kinds = {m.name: m.typ for m in book.sheets_metadata}
        names = [n for n in book.sheet_names if kinds.get(n) == SheetTypeEnum.WorkSheet]
        wanted = sheets_worth_loading(names) + [n for n in names if n in OTHER_SHEETS]  # and §11's sheets
        sheets = [_sheet_cells(path, book.get_sheet_by_name(n)) for n in wanted]
    except LedgerFileError:
        raise
    except PasswordError as e:
        raise refuse(path, f"the workbook is password-protected ({e}): remove the password and save it as "
                           ".xlsx") from e
    except Exception as e:  # calamine raises its own error types for a damaged workbook
        raise refuse(path, f"not a readable {suffix} workbook ({type(e).__name__}: {_short(e)}): {SAVE_AS}") from e
    return names, sheets


def _short(e: Exception) -> str:
    text = str(e)
    return text if len(text) <= 300 else text[:300] + " …"


def _sheet_cells(path: Path, sheet) -> SheetCells:
    height, width = sheet.height, sheet.width
    if height > MAX_ROWS or width > MAX_COLUMNS or height * width > MAX_CELLS:
        raise refuse(path, f"sheet {sheet.name} spans {height:,} rows × {width:,} columns; a ledger sheet is read "
                           f"up to {MAX_ROWS:,} rows, {MAX_COLUMNS} columns and {MAX_CELLS:,} cells: delete the "
                           f"rows and columns past the ledger (or {SAVE_AS} again)")
    rows = [[None if c == "" else c for c in cells] for cells in sheet.to_python(skip_empty_area=False)]
    merged = tuple((r0, c0, r1, c1) for (r0, c0), (r1, c1) in (sheet.merged_cell_ranges or ()))
    return SheetCells(sheet.name, rows, merged)


def _read_csv(path: Path) -> tuple[SheetCells, str]:
    """A CSV's cells: UTF-8 (a BOM allowed) when its bytes are UTF-8, else GB18030 (Excel's "CSV" on Chinese Windows)."""
    if path.stat().st_size > MAX_CSV_BYTES:
        raise refuse(path, f"{path.stat().st_size:,} bytes; a ledger CSV is read up to {MAX_CSV_BYTES >> 20} MiB")
    raw = path.read_bytes()
    encoding = "utf-8-sig" if raw.startswith(b"\xef\xbb\xbf") else "utf-8"
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError:
        encoding = "gb18030"
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError as e:
            raise refuse(path, f"neither UTF-8 nor GB18030 text (byte {e.start} of the file): save it as "
                               "\"CSV UTF-8\" or as .xlsx") from None
    try:
        lines = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as e:
        raise refuse(path, f"not a readable CSV ({e}): {SAVE_AS}") from None
    if not lines:
        raise refuse(path, "the file is empty (a ledger needs a header row)")
    if len(lines) > MAX_ROWS or max(map(len, lines)) > MAX_COLUMNS:
        raise refuse(path, f"{len(lines):,} lines of up to {max(map(len, lines)):,} fields; a ledger CSV is read up "
                           f"to {MAX_ROWS:,} rows and {MAX_COLUMNS} columns")
    rows = [[c if c.strip() else None for c in cells] for cells in lines]
    return SheetCells("csv", rows), encoding


def _width(value) -> int:
    """Display width: CJK characters take two columns."""
    text = value.isoformat() if isinstance(value, date) else f"{value:,}" if isinstance(value, int) else str(value)
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def write_ledger(path: str | Path, rows: list[dict], colours: list[str | None],
                 pools: dict[str, list[int]], summary: list[tuple[str, list[list]]],
                 others: list[tuple[str, tuple[str, ...], list[dict]]] = ()) -> None:
    """The exported workbook: sheet 台账 (every row, its 项目阶段 filled with its colour), one sheet per pool
    (rows by index), the §11 sheets (``others``: title, columns, rows by header), and a summary sheet of titled
    tables."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    _ledger_sheet(book, SHEET, rows, colours, range(len(rows)))
    for title, indexes in pools.items():
        _ledger_sheet(book, title, rows, colours, indexes)
    for title, columns, table in others:
        _table_sheet(book, title, columns, table)
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
            cell = _cell(sheet, _excel(rows[i][column]))
            if isinstance(rows[i][column], date):
                cell.number_format = "yyyy-mm-dd"
            elif column == EXPORT_AMOUNT and rows[i][column] is not None:
                cell.number_format = "#,##0" if isinstance(rows[i][column], int) else "#,##0.0###"
            if j == stage_at and colours[i] in fills:
                cell.fill = fills[colours[i]]
            cells.append(cell)
        sheet.append(cells)


def _table_sheet(book, title: str, columns: tuple[str, ...], rows: list[dict]) -> None:
    """A sheet of one header row and its rows (§11's 问题清单, 外出招商): dates as dates, ids and text as text."""
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font

    sheet = book.create_sheet(title)
    widths = [max([_width(h)] + [_width(r[h]) for r in rows if r.get(h) is not None]) for h in columns]
    for j, w in enumerate(widths):
        sheet.column_dimensions[_letter(j)].width = min(w + 2, 60)
    sheet.freeze_panes = "A2"
    _print_setup(sheet)
    header = []
    for column in columns:
        cell = WriteOnlyCell(sheet, value=column)
        cell.font, cell.alignment = Font(bold=True), Alignment(horizontal="center")
        header.append(cell)
    sheet.append(header)
    for row in rows:
        cells = []
        for column in columns:
            cell = _cell(sheet, row.get(column))
            if isinstance(row.get(column), date):
                cell.number_format = "yyyy-mm-dd"
            cells.append(cell)
        sheet.append(cells)


#: Text Excel would read as a formula (or as the start of one) when a person edits the cell.
_FORMULA_START = ("=", "+", "-", "@")


def _cell(sheet, value):
    """A write-only cell of ``value``; text stays text: openpyxl writes a str starting with = as a formula."""
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        cell.data_type = "s"
        cell.quotePrefix = True  # Excel shows it as typed text ('=…), and keeps it text when edited
    return cell


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
            cell = _cell(sheet, value)
            if bold:
                cell.font = Font(bold=True)
            cells.append(cell)
        sheet.append(cells)
