"""DOMAIN.md §7a: how a ledger sheet as an office makes it is laid out, given its cells.

Pure rules, no file I/O: which sheets are read, which row is the header, the unit line above
it, the pool a sheet's name implies, and which rows are not projects (blank rows, section
headings, totals, notes) and which project rows a total covers. A reader turns a file into
:class:`SheetCells`; :func:`layout_of` says what each row of it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal

#: Sheets read by §11, never as project sheets.
OTHER_SHEETS = ("问题清单", "外出招商")
#: §11: each of them → the header cell that finds its header row (its id column).
OTHER_ID_HEADERS: dict[str, tuple[str, ...]] = {"问题清单": ("问题编号",), "外出招商": ("出访编号",)}
#: The one sheet read alone when a workbook has it.
LEDGER_SHEET = "台账"
#: The header row is looked for among a sheet's first rows.
HEADER_SEARCH_ROWS = 20
#: A header cell that makes its row the header row (normalised).
ID_HEADERS = ("项目编号", "project_id")
SERIAL_HEADER = "序号"
#: A word in a sheet's name → the pool it lists (as the export names its sheets).
SHEET_POOLS: dict[str, str] = {"谋划": "planning", "招引": "attraction", "签约": "signed", "落地": "landed",
                               "终止": "dropped"}
#: Pool → its stages (1 谋划 … 6 投产, 0 终止); the first is what an empty stage cell means by default.
POOL_STAGES: dict[str, tuple[int, ...]] = {"planning": (1,), "attraction": (2,), "signed": (3,),
                                           "landed": (4, 5, 6), "dropped": (0,)}
TOTAL_WORDS = ("合计", "总计", "小计")
NOTE_WORDS = ("填表说明", "说明", "备注", "注：", "注:", "填报人", "审核人", "联系人", "联系电话", "负责人")
#: Kinds of rows that are not projects, in the order a row is tested (§7a).
SKIP_KINDS = ("total", "note", "heading", "blank")
_ORDINAL = re.compile(r"^(?:[一二三四五六七八九十]+、|[（(][一二三四五六七八九十]+[)）])")
# "单位：万元" or "金额单位:亿元", alone or in a longer line; not "填报单位：…" (an office, not a unit).
_UNIT_LINE = re.compile(r"(?<!填报)(?:金额)?单位[:：](亿元|万元|元)")
_SPACES = re.compile(r"\s+")


class LedgerFileError(ValueError):
    """The ledger as a whole cannot be read (not a workbook, no header row, a required column missing …)."""


@dataclass(frozen=True)
class SheetCells:
    """A sheet as a reader gives it: its rows from row 1 (None for an empty cell) and its merged ranges."""

    name: str
    rows: list[list]
    merged: tuple[tuple[int, int, int, int], ...] = ()  #: (first row, first col, last row, last col), 0-based


@dataclass(frozen=True)
class Skipped:
    """A row that is not a project (or a sheet that is not read), where it is and what it is."""

    sheet: str
    row: int | None  #: 1-based; None for a whole sheet
    kind: str  #: total, note, heading, blank; or for a sheet: not_a_ledger, read_by_section_11, beside_taizhang

    def as_dict(self) -> dict:
        return {"sheet": self.sheet, "row": self.row, "kind": self.kind}


@dataclass(frozen=True)
class TotalRow:
    """A 合计/总计/小计 row and the project rows (numbers) it covers."""

    row: int
    cells: list
    covers: tuple[int, ...]


@dataclass(frozen=True)
class SheetLayout:
    """What each row of a read sheet is: header, rows above it, project rows, skipped rows and totals."""

    sheet: str
    header_row: int  #: 1-based
    header: list  #: the header cells, normalised (None for an empty one)
    unit: str | None  #: 亿元 / 万元 / 元 from a unit line above the header
    pool: str | None  #: the pool the sheet's name implies
    rows: list[tuple[int, list]] = field(default_factory=list)  #: (row number, cells) of rows read as projects
    skipped: list[Skipped] = field(default_factory=list)
    totals: list[TotalRow] = field(default_factory=list)


def text_of(value) -> str:
    """A cell as text with every space and line break removed ("" for an empty cell)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return _SPACES.sub("", str(value)).replace("\u3000", "")


def normalise_header(value) -> str | None:
    """A header cell as compared: no spaces or line breaks, brackets full-width (``总投资\\n(亿元)`` → ``总投资（亿元）``)."""
    text = text_of(value).replace("(", "（").replace(")", "）")
    return text or None


def filled(value) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


def header_row_of(rows: list[list], ids: tuple[str, ...] = ID_HEADERS) -> int | None:
    """The index of the first row among the first 20 with a cell reading 项目编号 (or project_id; ``ids``), else None."""
    for i, cells in enumerate(rows[:HEADER_SEARCH_ROWS]):
        if any(normalise_header(c) in ids for c in cells):
            return i
    return None


def unit_line(rows_above: list[list]) -> str | None:
    """The unit a line above the header names (单位：亿元 / 万元 / 元, also 金额单位, either colon); the last wins."""
    unit = None
    for cells in rows_above:
        for c in cells:
            if isinstance(c, str) and (m := _UNIT_LINE.search(text_of(c))):
                unit = m.group(1)
    return unit


def sheet_pool(name: str) -> str | None:
    """The pool a sheet's name implies (谋划, 招引, 签约, 落地, 终止), else None."""
    found = [pool for word, pool in SHEET_POOLS.items() if word in name]
    return found[0] if len(found) == 1 else None


def implied_stage(pool: str, stage_as_of_e: int | None) -> int:
    """An empty stage on a pool sheet: the project's stage as of E when it lies in the pool, else the pool's first.

    ``stage_as_of_e`` is 1–6, 0 for a dropped project, None for a project the log does not know.
    """
    stages = POOL_STAGES[pool]
    return stage_as_of_e if stage_as_of_e in stages else stages[0]


def sheets_worth_loading(names: list[str]) -> list[str]:
    """The sheets a reader need load: 台账 alone if there is one, else every sheet §11 does not read."""
    return [LEDGER_SHEET] if LEDGER_SHEET in names else [n for n in names if n not in OTHER_SHEETS]


def sheets_to_read(names: list[str], has_header: dict[str, bool]) -> tuple[list[str], list[Skipped]]:
    """Which sheets are ledger sheets (§7a), in workbook order, and each other sheet with why it is not read."""
    skipped = [Skipped(n, None, "read_by_section_11") for n in names if n in OTHER_SHEETS]
    candidates = [n for n in names if n not in OTHER_SHEETS]
    if LEDGER_SHEET in candidates:
        return [LEDGER_SHEET], skipped + [Skipped(n, None, "beside_taizhang") for n in candidates
                                          if n != LEDGER_SHEET]
    read = [n for n in candidates if has_header.get(n)]
    return read, skipped + [Skipped(n, None, "not_a_ledger") for n in candidates if not has_header.get(n)]


@dataclass(frozen=True)
class _Places:
    """Where the columns a row's kind depends on are (indexes into the row, None when absent)."""

    serial: int | None
    project_id: int
    name: int | None


def _places(header: list, ids: tuple[str, ...] = ID_HEADERS) -> _Places:
    def at(*names: str) -> int | None:
        return next((i for i, h in enumerate(header) if h in names), None)

    return _Places(at(SERIAL_HEADER), at(*ids), at("项目名称", "name"))


def _cell(cells: list, i: int | None):
    return cells[i] if i is not None and i < len(cells) else None


def _filled_at(cells: list) -> list[int]:
    return [i for i, c in enumerate(cells) if filled(c)]


def is_total(cells: list, places: _Places) -> str | None:
    """合计, 总计 or 小计 when the first filled cell, or the 序号 or 项目名称 cell, begins with it."""
    at = _filled_at(cells)
    for c in ([cells[at[0]]] if at else []) + [_cell(cells, places.serial), _cell(cells, places.name)]:
        text = text_of(c)
        for word in TOTAL_WORDS:
            if text.startswith(word):
                return word
    return None


def is_note(cells: list) -> bool:
    """A row whose first filled cell begins with 填表说明, 说明, 备注, 注：, 填报人, 审核人, 联系人, 联系电话 or 负责人."""
    at = _filled_at(cells)
    return bool(at) and text_of(cells[at[0]]).startswith(NOTE_WORDS)


def is_heading(cells: list, row_index: int, merged: tuple[tuple[int, int, int, int], ...], places: _Places) -> bool:
    """All filled cells in one merged range, or the only filled cell (序号 aside) text with a Chinese ordinal."""
    at = _filled_at(cells)
    if not at:
        return False
    for r0, c0, r1, c1 in merged:
        if r0 <= row_index <= r1 and all(c0 <= i <= c1 for i in at) and (r0, c0) != (r1, c1):
            return True
    rest = [i for i in at if i != places.serial] or at  # "一、工业项目" may be written in the 序号 column itself
    return len(rest) == 1 and isinstance(cells[rest[0]], str) and bool(_ORDINAL.match(text_of(cells[rest[0]])))


_SERIAL = re.compile(r"^[（(]?\d+[)）.、]?$")


def is_blank(cells: list, places: _Places) -> bool:
    """No filled cell, or only a 序号 (a number: text there is not a serial number, and stays a row)."""
    at = _filled_at(cells)
    return not at or (at == [places.serial] and bool(_SERIAL.match(text_of(cells[at[0]]))))


def row_kind(cells: list, row_index: int, merged, places: _Places, below_last_project: bool) -> str | None:
    """What a row that is not a project is (total, note, heading, blank: tested in that order), else None."""
    if is_total(cells, places):
        return "total"
    if below_last_project and is_note(cells):
        return "note"
    if is_heading(cells, row_index, merged, places):
        return "heading"
    if is_blank(cells, places):
        return "blank"
    return None


def _filled_down(rows: list[list], merged, below: int) -> list[list]:
    """The rows with a cell merged down one column (below the header) given to every row of it: an office that
    merges 责任单位 or 项目阶段 over several projects means each of them."""
    down = [(r0, c0, r1) for r0, c0, r1, c1 in merged if r1 > r0 and c0 == c1 and r0 > below and r0 < len(rows)]
    if not down:
        return rows
    rows = [list(cells) for cells in rows]
    for r0, c, r1 in down:
        value = rows[r0][c] if c < len(rows[r0]) else None
        for r in range(r0 + 1, min(r1, len(rows) - 1) + 1):
            rows[r] += [None] * (c + 1 - len(rows[r]))
            if not filled(rows[r][c]):
                rows[r][c] = value
    return rows


def layout_of(sheet: SheetCells, ids: tuple[str, ...] = ID_HEADERS) -> SheetLayout | None:
    """The layout of a sheet (§7a), or None when it has no header row among its first 20 rows.

    ``ids``: the header cells of its id column (§11's sheets: 问题编号, 出访编号), which find the header row and
    the last data row (notes come below it)."""
    at = header_row_of(sheet.rows, ids)
    if at is None:
        return None
    header = [normalise_header(c) for c in sheet.rows[at]]
    places = _places(header, ids)
    body = list(enumerate(_filled_down(sheet.rows, sheet.merged, below=at)[at + 1:], start=at + 1))
    last_project = max((i for i, cells in body if filled(_cell(cells, places.project_id))
                        and not is_total(cells, places)), default=-1)
    layout = SheetLayout(sheet.name, at + 1, header, unit_line(sheet.rows[:at]), sheet_pool(sheet.name))
    since_sub: list[int] = []  # project rows since the previous 小计, heading or the header
    above: list[int] = []  # every project row above
    for i, cells in body:
        kind = row_kind(cells, i, sheet.merged, places, below_last_project=i > last_project)
        if kind is None:
            layout.rows.append((i + 1, cells))
            above.append(i + 1)
            since_sub.append(i + 1)
            continue
        layout.skipped.append(Skipped(sheet.name, i + 1, kind))
        if kind == "total":
            sub = is_total(cells, places) == "小计"
            layout.totals.append(TotalRow(i + 1, cells, tuple(since_sub if sub else above)))
            if sub:
                since_sub = []
        elif kind == "heading":
            since_sub = []
    return layout


def total_tolerance(total: Decimal) -> Decimal:
    """How far a total may lie from its sum, in its unit: the larger of 0.01 of the unit and 0.01 % of the total."""
    return max(Decimal("0.01"), abs(total) * Decimal("0.0001"))


def ledger_layouts(file: str, names: list[str], sheets: list[SheetCells]) -> tuple[list[SheetLayout], list[Skipped]]:
    """The layouts of a workbook's ledger sheets (``sheets`` as loaded, of its sheets ``names``) and the sheets not read.

    Raises :class:`LedgerFileError` when no sheet has a header row (or 台账 has none).
    """
    layouts = {s.name: layout for s in sheets if s.name not in OTHER_SHEETS and (layout := layout_of(s)) is not None}
    read, skipped = sheets_to_read(names, {n: n in layouts for n in names})
    if LEDGER_SHEET in read and LEDGER_SHEET not in layouts:
        raise LedgerFileError(f"{file}: sheet {LEDGER_SHEET} has no header row (a row with a cell 项目编号) among "
                              f"its first {HEADER_SEARCH_ROWS} rows")
    if not read and not any(n in OTHER_SHEETS for n in names):
        raise LedgerFileError(f"{file}: no sheet has a header row (a row with a cell 项目编号 among its first "
                              f"{HEADER_SEARCH_ROWS}); sheets: {', '.join(names) or 'none'}")
    return [layouts[n] for n in read], skipped


def other_layouts(file: str, sheets: list[SheetCells]) -> dict[str, SheetLayout]:
    """The layouts of a workbook's §11 sheets (问题清单, 外出招商) among ``sheets``, by name; their header row is
    found by 问题编号 / 出访编号. Raises :class:`LedgerFileError` for such a sheet without one."""
    out = {}
    for sheet in sheets:
        if sheet.name not in OTHER_SHEETS:
            continue
        ids = OTHER_ID_HEADERS[sheet.name]
        layout = layout_of(sheet, ids)
        if layout is None:
            raise LedgerFileError(f"{file}: sheet {sheet.name} has no header row (a row with a cell {ids[0]}) among "
                                  f"its first {HEADER_SEARCH_ROWS} rows")
        out[sheet.name] = SheetLayout(layout.sheet, layout.header_row, layout.header, None, None, layout.rows,
                                      layout.skipped)
    return out
