"""Ledger files (台账, DOMAIN.md §7, §7a): workbooks and CSVs in, ``.xlsx`` out. Cells only; the rules are in
:mod:`streams.core.ledger_layout` and :mod:`streams.core.ledger`.

Workbooks are read through calamine (Rust: a 10,000-row ledger in a fraction of openpyxl's time). A workbook is
a zip of XML, or an OLE file: before calamine sees one it is checked against the bounds below, so that a
hostile or broken file ends in one clear error, in bounded time and memory, with nothing sent.
"""

from __future__ import annotations

import csv
import io
import logging
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

from streams.core.ledger import EXPORT_AMOUNT, EXPORT_COLUMNS, LedgerFileError
from streams.core.ledger_layout import SheetCells, SheetLayout, Skipped, ledger_layouts, sheets_worth_loading

log = logging.getLogger(__name__)

SHEET = "台账"
#: Supervision colour → the fill of a row's 项目阶段 cell (Excel's own light red, yellow, blue and green).
FILLS = {"red": "FFC7CE", "yellow": "FFEB9C", "blue": "BDD7EE", "green": "C6EFCE"}
WORKBOOKS = (".xlsx", ".xlsm", ".xls", ".ods")
SAVE_AS = "open it in Excel or WPS and save it as .xlsx (Excel 工作簿)"

# Bounds on what a ledger file may make this process hold (docs/ledgers.md). A real ledger is far below
# every one: a district's ledger has hundreds of rows and about 20 columns.
MAX_ROWS = 100_000  #: rows of one sheet (or a CSV)
MAX_COLUMNS = 256  #: columns of one sheet (an .xls holds no more)
MAX_CELLS = 5_000_000  #: rows × columns of one sheet, as calamine holds it (dense, about 32 bytes a cell)
MAX_PART_BYTES = 128 << 20  #: one part of a zipped workbook, uncompressed (declared and as inflated)
MAX_BOOK_BYTES = 256 << 20  #: all its parts, uncompressed
MAX_RATIO = 1_000  #: uncompressed ÷ compressed, for a part above 1 MiB (XML of real sheets: 5-50)
MAX_CSV_BYTES = 128 << 20

_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP = b"PK\x03\x04"
_CELL_REF = re.compile(rb'<c\s[^>]*?\br="([A-Z]{1,3})([0-9]{1,7})"')
_CELL_TAG = re.compile(rb"<c[\s/>]")
# A formula with no saved value after it (a program that does not compute formulas wrote the file).
_UNSAVED_FORMULA = re.compile(rb"(?:</f>|<f\b[^>]*/>)(?:<v\s*/>|<v></v>)?</c>")
_ODS_WIDE = re.compile(rb'<table:table-cell\s[^>]*?number-columns-repeated="(\d+)"[^>]*?(?<!/)>')
_ODS_TALL = re.compile(rb'<table:table-row\s[^>]*?number-rows-repeated="(\d+)"[^>]*?>(.{0,4096}?)</table:table-row>',
                       re.DOTALL)


@dataclass(frozen=True)
class LedgerSheet:
    """A ledger's cells as read: its sheets' layouts (header, project rows, rows that are not projects)."""

    file: str
    layouts: list[SheetLayout]
    skipped_sheets: list[Skipped] = field(default_factory=list)
    encoding: str | None = None  #: a CSV's, as Python names it: utf-8, utf-8-sig (with a BOM) or gb18030

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
    for s in skipped:
        log.info("%s: sheet %s not read (%s)", path.name, s.sheet, s.kind)
    return LedgerSheet(path.name, layouts, skipped, encoding)


def _refuse(path: Path, what: str) -> LedgerFileError:
    return LedgerFileError(f"{path.name}: {what}; nothing was read or sent")


def _read_workbook(path: Path, suffix: str) -> tuple[list[str], list[SheetCells]]:
    """Check the file against the bounds, then read its sheets' cells and merged ranges through calamine."""
    from python_calamine import CalamineWorkbook, PasswordError, SheetTypeEnum

    with path.open("rb") as f:
        head = f.read(8)
    if head == _OLE:
        if _encrypted(path):
            raise _refuse(path, "the workbook is password-protected (encrypted): remove the password in Excel or "
                                "WPS (文件 → 信息 → 保护工作簿 → 用密码进行加密, empty) and save it as .xlsx")
        if suffix != ".xls":
            raise _refuse(path, f"an Excel 97-2003 file named {suffix}: rename it .xls, or {SAVE_AS}")
        _check_xls(path)
    elif head.startswith(_ZIP):
        if suffix == ".xls":
            raise _refuse(path, "an .xlsx workbook named .xls: rename it .xlsx")
        _check_zip(path, suffix)
    else:
        kind = "a web page (HTML) named " + suffix if _html(path) else f"not an {suffix} workbook (damaged, or " \
            "another kind of file)"
        raise _refuse(path, f"{kind}: {SAVE_AS}")
    try:
        book = CalamineWorkbook.from_path(str(path))
        kinds = {m.name: m.typ for m in book.sheets_metadata}
        names = [n for n in book.sheet_names if kinds.get(n) == SheetTypeEnum.WorkSheet]
        sheets = [_sheet_cells(path, book.get_sheet_by_name(n)) for n in sheets_worth_loading(names)]
    except LedgerFileError:
        raise
    except PasswordError as e:
        raise _refuse(path, f"the workbook is password-protected ({e}): remove the password and save it as "
                            ".xlsx") from e
    except Exception as e:  # calamine raises its own error types for a damaged workbook
        raise _refuse(path, f"not a readable {suffix} workbook ({type(e).__name__}: {_short(e)}): {SAVE_AS}") from e
    return names, sheets


def _short(e: Exception) -> str:
    text = str(e)
    return text if len(text) <= 300 else text[:300] + " …"


def _sheet_cells(path: Path, sheet) -> SheetCells:
    height, width = sheet.height, sheet.width
    if height > MAX_ROWS or width > MAX_COLUMNS or height * width > MAX_CELLS:
        raise _refuse(path, f"sheet {sheet.name} spans {height:,} rows × {width:,} columns; a ledger sheet is read "
                            f"up to {MAX_ROWS:,} rows, {MAX_COLUMNS} columns and {MAX_CELLS:,} cells: delete the "
                            f"rows and columns past the ledger (or {SAVE_AS} again)")
    rows = [[None if c == "" else c for c in cells] for cells in sheet.to_python(skip_empty_area=False)]
    merged = tuple((r0, c0, r1, c1) for (r0, c0), (r1, c1) in (sheet.merged_cell_ranges or ()))
    return SheetCells(sheet.name, rows, merged)


def _encrypted(path: Path) -> bool:
    """An OLE file holding an ``EncryptionInfo`` stream: an .xlsx saved with a password (ECMA-376 encryption)."""
    with path.open("rb") as f:
        return "EncryptionInfo".encode("utf-16-le") in f.read(1 << 20)


def _html(path: Path) -> bool:
    with path.open("rb") as f:
        start = f.read(2048).lower()
    return any(tag in start for tag in (b"<html", b"<table", b"<!doctype html"))


def _check_zip(path: Path, suffix: str) -> None:
    """Refuse a zip that would inflate past the bounds, XML declaring entities, and sheets past the bounds.

    Sizes are checked as declared, then as inflated (a zip can lie), a part at a time, 1 MiB at a time: what
    this holds at once is bounded whatever the file says. calamine's XML reader (quick-xml) does not expand
    custom entities, but a workbook never declares any, so one that does is refused here by name.
    """
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
        raise _refuse(path, f"a damaged {suffix} workbook ({e}): {SAVE_AS}") from e
    with archive:
        parts = archive.infolist()
        declared = sum(p.file_size for p in parts)
        bounds = f"a ledger is read up to {MAX_PART_BYTES >> 20} MiB a part, {MAX_BOOK_BYTES >> 20} MiB in all"
        for p in parts:
            if p.file_size > MAX_PART_BYTES:
                raise _refuse(path, f"part {p.filename} would inflate to {p.file_size:,} bytes; {bounds}")
            if p.file_size > 1 << 20 and p.file_size > MAX_RATIO * max(p.compress_size, 1):
                raise _refuse(path, f"part {p.filename} inflates {p.file_size // max(p.compress_size, 1):,}-fold "
                                    f"(a zip bomb?); a ledger's parts are read up to {MAX_RATIO:,}-fold")
        if declared > MAX_BOOK_BYTES:
            raise _refuse(path, f"its parts would inflate to {declared:,} bytes in all; {bounds}")
        inflated = 0
        for p in parts:
            inflated += _check_part(path, archive, p, suffix, MAX_BOOK_BYTES - inflated)


def _check_part(path: Path, archive: zipfile.ZipFile, part: zipfile.ZipInfo, suffix: str, room: int) -> int:
    """Inflate one part a MiB at a time, scanning a sheet's cell references; its size as inflated."""
    sheet = part.filename.startswith("xl/worksheets/") and part.filename.endswith(".xml")
    content = suffix == ".ods" and part.filename == "content.xml"
    size, carry, max_row, max_col, cells, refs, unsaved = 0, b"", 0, 0, 0, 0, 0
    try:
        with archive.open(part) as stream:
            while chunk := stream.read(1 << 20):
                size += len(chunk)
                if size > min(MAX_PART_BYTES, room):
                    raise _refuse(path, f"part {part.filename} inflates past {min(MAX_PART_BYTES, room):,} bytes "
                                        "(more than it declares?); a ledger is read up to "
                                        f"{MAX_PART_BYTES >> 20} MiB a part, {MAX_BOOK_BYTES >> 20} MiB in all")
                text = carry + chunk
                if b"<!ENTITY" in text or b"<!DOCTYPE" in text:
                    raise _refuse(path, f"part {part.filename} declares XML entities (<!DOCTYPE/<!ENTITY>), which no "
                                        f"workbook does (an entity-expansion or external-entity attack?): {SAVE_AS}")
                cut = text.rfind(b">") + 1
                scan, carry = text[:cut], text[cut:][-4096:]
                if sheet:
                    cells += len(_CELL_TAG.findall(scan))
                    unsaved += len(_UNSAVED_FORMULA.findall(scan))
                    for col, row in _CELL_REF.findall(scan):
                        refs += 1
                        max_row, max_col = max(max_row, int(row)), max(max_col, _column(col))
                elif content:
                    _check_ods(path, scan)
    except zipfile.BadZipFile as e:
        raise _refuse(path, f"a damaged {suffix} workbook (part {part.filename}: {e}): {SAVE_AS}") from e
    if sheet and (cells != refs or max_row > MAX_ROWS or max_col > MAX_COLUMNS or max_row * max_col > MAX_CELLS):
        where = f"cells up to row {max_row:,}, column {max_col:,}" if cells == refs else \
            f"{cells - refs:,} cells without a reference"
        raise _refuse(path, f"{part.filename} has {where}; a ledger sheet is read up to {MAX_ROWS:,} rows, "
                            f"{MAX_COLUMNS} columns and {MAX_CELLS:,} cells, every cell with its reference: delete the "
                            f"rows and columns past the ledger, or {SAVE_AS}")
    if unsaved:  # calamine reads them as empty cells: an empty amount changes nothing, an empty id is rejected
        log.warning("%s: %s has %d formula cell(s) without a saved value, read as empty (the file was written by "
                    "a program that does not compute formulas: open and save it in Excel or WPS)",
                    path.name, part.filename, unsaved)
    return size


def _check_ods(path: Path, xml: bytes) -> None:
    """An .ods repeats rows and cells by count: refuse filled ones repeated past the bounds (empty ones are free)."""
    wide = max((int(n) for n in _ODS_WIDE.findall(xml)), default=0)
    tall = max((int(n) for n, inner in _ODS_TALL.findall(xml) if b"<text:p" in inner or b"value-type" in inner),
               default=0)
    if wide > MAX_COLUMNS or tall > MAX_ROWS:
        raise _refuse(path, f"content.xml repeats a filled cell {wide:,} times across or a filled row {tall:,} times "
                            f"down; a ledger sheet is read up to {MAX_ROWS:,} rows and {MAX_COLUMNS} columns")


#: BIFF8 cell records (row, column in their first 4 bytes): NUMBER, LABEL, LABELSST, RK, BLANK, BOOLERR,
#: FORMULA, RSTRING; and MULRK, MULBLANK (row, first column, …, last column in their last 2 bytes).
_BIFF_CELLS = frozenset((0x0203, 0x0204, 0x00FD, 0x027E, 0x0201, 0x0205, 0x0006, 0x00D6))
_BIFF_MULTI = frozenset((0x00BD, 0x00BE))
_FREE, _END = 0xFFFFFFFF, 0xFFFFFFFE


def _check_xls(path: Path) -> None:
    """Refuse an .xls whose cells reach past the bounds, before calamine lays its sheets out densely.

    Reads the OLE container's ``Workbook`` stream (following its sector chain, never more sectors than the file
    has) and walks its BIFF records; a cell at IV65536 would otherwise cost about 1 GB.
    """
    stream = _ole_stream(path, ("Workbook", "Book"))
    if stream is None:
        return  # no workbook stream (or a tiny one in the mini stream): calamine says what it is
    max_row = max_col = at = 0
    while at + 4 <= len(stream):
        kind, size = int.from_bytes(stream[at:at + 2], "little"), int.from_bytes(stream[at + 2:at + 4], "little")
        body = stream[at + 4:at + 4 + size]
        if kind in _BIFF_CELLS and len(body) >= 4:
            max_row = max(max_row, int.from_bytes(body[:2], "little") + 1)
            max_col = max(max_col, int.from_bytes(body[2:4], "little") + 1)
        elif kind in _BIFF_MULTI and len(body) >= 6:
            max_row = max(max_row, int.from_bytes(body[:2], "little") + 1)
            max_col = max(max_col, int.from_bytes(body[-2:], "little") + 1)
        at += 4 + size
    if max_row > MAX_ROWS or max_col > MAX_COLUMNS or max_row * max_col > MAX_CELLS:
        raise _refuse(path, f"a sheet has cells up to row {max_row:,}, column {max_col:,}; a ledger sheet is read up "
                            f"to {MAX_ROWS:,} rows, {MAX_COLUMNS} columns and {MAX_CELLS:,} cells: delete the rows and "
                            f"columns past the ledger, or {SAVE_AS}")


def _ole_stream(path: Path, names: tuple[str, ...]) -> bytes | None:
    """A stream of an OLE (compound) file by name, read through the FAT; None when absent or in the mini stream."""
    data = path.read_bytes()
    if len(data) < 512:
        return None
    shift = int.from_bytes(data[0x1E:0x20], "little")
    if not 7 <= shift <= 16:
        raise _refuse(path, f"a damaged .xls workbook (sector size 2^{shift}): {SAVE_AS}")
    sector = 1 << shift
    sectors = (len(data) - 512) // sector

    def read(n: int) -> bytes:
        return data[512 + n * sector: 512 + (n + 1) * sector]

    difat = [int.from_bytes(data[0x4C + 4 * i:0x50 + 4 * i], "little") for i in range(109)]
    following, hops = int.from_bytes(data[0x44:0x48], "little"), 0
    while following < sectors and hops <= sectors:  # the DIFAT's own chain, for a FAT past 109 sectors
        block = read(following)
        difat += [int.from_bytes(block[i:i + 4], "little") for i in range(0, sector - 4, 4)]
        following, hops = int.from_bytes(block[-4:], "little"), hops + 1
    fat = b"".join(read(n) for n in difat if n < sectors)
    entries = len(fat) // 4

    def chain(start: int) -> bytes:
        out, n, seen = [], start, 0
        while n < min(entries, sectors) and seen <= sectors:
            out.append(read(n))
            n, seen = int.from_bytes(fat[4 * n:4 * n + 4], "little"), seen + 1
        return b"".join(out)

    directory = chain(int.from_bytes(data[0x30:0x34], "little"))
    cutoff = int.from_bytes(data[0x38:0x3C], "little")
    for i in range(0, len(directory) - 127, 128):
        entry = directory[i:i + 128]
        length = min(int.from_bytes(entry[64:66], "little"), 64)
        name = entry[:length].decode("utf-16-le", "replace").rstrip("\0")
        if name in names and entry[66] == 2:
            size = int.from_bytes(entry[120:128], "little")
            return None if size < cutoff else chain(int.from_bytes(entry[116:120], "little"))[:size]
    return None


def _column(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n


def _read_csv(path: Path) -> tuple[SheetCells, str]:
    """A CSV's cells: UTF-8 (a BOM allowed) when its bytes are UTF-8, else GB18030 (Excel's "CSV" on Chinese Windows)."""
    if path.stat().st_size > MAX_CSV_BYTES:
        raise _refuse(path, f"{path.stat().st_size:,} bytes; a ledger CSV is read up to {MAX_CSV_BYTES >> 20} MiB")
    raw = path.read_bytes()
    encoding = "utf-8-sig" if raw.startswith(b"\xef\xbb\xbf") else "utf-8"
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError:
        encoding = "gb18030"
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError as e:
            raise _refuse(path, f"neither UTF-8 nor GB18030 text (byte {e.start} of the file): save it as "
                                "\"CSV UTF-8\" or as .xlsx") from None
    try:
        lines = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as e:
        raise _refuse(path, f"not a readable CSV ({e}): {SAVE_AS}") from None
    if not lines:
        raise _refuse(path, "the file is empty (a ledger needs a header row)")
    if len(lines) > MAX_ROWS or max(map(len, lines)) > MAX_COLUMNS:
        raise _refuse(path, f"{len(lines):,} lines of up to {max(map(len, lines)):,} fields; a ledger CSV is read up "
                            f"to {MAX_ROWS:,} rows and {MAX_COLUMNS} columns")
    rows = [[c if c.strip() else None for c in cells] for cells in lines]
    return SheetCells("csv", rows), encoding


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
            cell = _cell(sheet, _excel(rows[i][column]))
            if isinstance(rows[i][column], date):
                cell.number_format = "yyyy-mm-dd"
            elif column == EXPORT_AMOUNT and rows[i][column] is not None:
                cell.number_format = "#,##0" if isinstance(rows[i][column], int) else "#,##0.0###"
            if j == stage_at and colours[i] in fills:
                cell.fill = fills[colours[i]]
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
            cell = _cell(sheet, value)
            if bold:
                cell.font = Font(bold=True)
            cells.append(cell)
        sheet.append(cells)
