"""DOMAIN.md §7: a monthly ledger (台账) against the log's project state → the events it means.

Pure: the caller reads the file into cells (plain Python values, as a spreadsheet or CSV
reader gives them) and folds the log into project state; :mod:`streams.core.ledger_layout`
says which rows are headers, projects and rows that are not projects (§7a) and
:mod:`streams.core.ledger_cells` reads a project row's cells into typed values; this module
rejects the rows it cannot use, checks the totals, and compares the rest with the state as of
the month's end. The ledger a state exports is made here too, so that importing it makes no event.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import polars as pl

from streams.contract.acceptance import format_timestamp
from streams.contract.events import STAGE_EVENT, STAGES, YUAN_PER_WAN
from streams.core.clock import CST, day_end
from streams.core.fold import planned, reached
from streams.core.ledger_cells import (
    AMOUNT_UNITS, DROPPED, PLAN_DATES, REACHED_DATES, STAGE_LABELS, Columns, LedgerRow, _Bad, _number, _text,
    columns_of, read_row,
)
from streams.core.ledger_layout import (
    LedgerFileError, SheetLayout, Skipped, implied_stage, normalise_header, sheet_pool, total_tolerance,
)

#: The amount column an export writes: 万元, exact.
EXPORT_AMOUNT = "总投资（万元）"
#: Column order of an exported ledger.
EXPORT_COLUMNS: tuple[str, ...] = (
    "项目编号", "项目名称", "所属行业", "主导产业", "所属镇办", "责任单位", "分包领导", "项目阶段", EXPORT_AMOUNT,
    *REACHED_DATES, *PLAN_DATES, "终止原因",
)
DEFAULT_DROP_REASON = "台账终止"
NOT_YOURS = "ledger_not_yours"
REJECTIONS = ("ledger_schema", "ledger_duplicate_row", NOT_YOURS)
WARNINGS = ("stage_regression", "date_differs", "missing_from_ledger", "total_differs")
# Event ids are derived from content: re-importing an unchanged ledger can only repeat them.
_ID_NAMESPACE = uuid.UUID("6f1c2a52-3c0b-4f3e-9d7e-2b1d0c7a9e11")


@dataclass(frozen=True)
class RowRejection:
    sheet: str
    row: int
    reason: str
    detail: str
    project_id: str | None
    cells: dict  #: the row's cells by header, to keep in the dead letter

    def as_dict(self) -> dict:
        return {"sheet": self.sheet, "row": self.row, "reason": self.reason, "detail": self.detail,
                "project_id": self.project_id}


@dataclass(frozen=True)
class LedgerWarning:
    kind: str
    project_id: str | None  #: None for a total
    detail: str
    sheet: str | None = None
    row: int | None = None

    def as_dict(self) -> dict:
        return {"kind": self.kind, "project_id": self.project_id, "detail": self.detail,
                **({"sheet": self.sheet, "row": self.row} if self.row is not None else {})}


@dataclass(frozen=True)
class LedgerEvent:
    """An event a row means, and the row that means it."""

    sheet: str
    row: int
    event: dict


@dataclass
class LedgerImport:
    """What importing a ledger means: its events, and its accounting (rows = unchanged + changed + new + rejected)."""

    month: str
    rows: int = 0
    unchanged: int = 0
    changed: int = 0
    new: int = 0
    events: list[LedgerEvent] = field(default_factory=list)
    rejected: list[RowRejection] = field(default_factory=list)
    warnings: list[LedgerWarning] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)  #: rows that are not projects (§7a), not in ``rows``
    sheets: list[dict] = field(default_factory=list)  #: each sheet read: its name, header row and rows
    #: the §11 sheets read (问题清单, 外出招商), each with its own accounting (:class:`ledger_sheets.SheetImport`)
    others: list = field(default_factory=list)

    def all_events(self) -> list[LedgerEvent]:
        """The events of every sheet: the project sheets', then the §11 sheets'."""
        return self.events + [e for other in self.others for e in other.events]

    def all_rejected(self) -> list[RowRejection]:
        return self.rejected + [r for other in self.others for r in other.rejected]

    def as_dict(self) -> dict:
        return {
            "month": self.month, "rows": self.rows, "unchanged": self.unchanged, "changed": self.changed,
            "new": self.new,
            "rejected": dict(Counter(r.reason for r in self.rejected)),
            "warnings": dict(Counter(w.kind for w in self.warnings)),
            "events": dict(Counter(e.event["event_type"] for e in self.events)),
            "skipped": dict(Counter(s.kind for s in self.skipped)),
            "sheets": self.sheets,
            "rejected_rows": [r.as_dict() for r in self.rejected],
            "warning_list": [w.as_dict() for w in self.warnings],
            "skipped_rows": [s.as_dict() for s in self.skipped],
            "section_11": {other.sheet: other.as_dict() for other in self.others},
        }


def month_end_of(month: str) -> tuple[date, datetime]:
    """``2024-03`` → its last day, and E: that day at 23:59:59+08:00 (§7)."""
    first = date.fromisoformat(f"{month}-01")
    last = (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    return last, datetime.combine(last, time(23, 59, 59), CST)


def ledger_cutoff(month: str) -> datetime:
    """The exclusive cut-off of the state a ledger of ``month`` is compared with (as of its last day)."""
    return day_end(month_end_of(month)[0])


def not_yours(importer: str | None, owner: str | None, cell: str | None) -> str | None:
    """Why a row is not the importing department's to report (``ledger_not_yours``), or None when it is.

    ``importer``: the department an import is made for (None: the bureau, which imports for all); ``owner``: the
    department of the row's project (or trip) as of E, None when the log names none (a new project); ``cell``: the
    department the row's own cell names. A row of another department's project, or one naming another department
    (a new project it would plan for them, or a hand-over the bureau makes), is not the importer's.
    """
    if importer is None:
        return None
    if owner is not None and owner != importer:
        return f"belongs to {owner} as of the month's end, not to {importer}"
    if cell is not None and cell != importer:
        return f"the row names {cell}, not {importer}"
    return None


def submitted(events: list[LedgerEvent], by: str | None) -> list[LedgerEvent]:
    """The events, each carrying ``submitted_by`` (who handed the ledger in); unchanged when ``by`` is None.

    Like ``source``, ``submitted_by`` describes a record and is not part of its content: the event ids stay
    those of the content, so one ledger handed in by two people makes duplicates, not conflicts.
    """
    if not by:
        return events
    return [LedgerEvent(e.sheet, e.row, {**e.event, "submitted_by": by}) for e in events]


def _event_id(event: dict) -> str:
    content = {k: v for k, v in event.items() if k not in ("event_id", "recorded_at", "source", "submitted_by")}
    return str(uuid.uuid5(_ID_NAMESPACE, json.dumps(content, sort_keys=True, ensure_ascii=False)))


def _midnight(day: date) -> str:
    return format_timestamp(datetime.combine(day, time(), CST))


class _Maker:
    """Makes the events of one row, all recorded at the import time and sourced to the file."""

    def __init__(self, row: LedgerRow, at_end: str, recorded_at: str, source: str):
        self.row, self.at_end, self.recorded_at, self.source = row, at_end, recorded_at, source
        self.events: list[dict] = []

    def make(self, event_type: str, occurred_at: str, **payload) -> None:
        event = {"event_type": event_type, "schema_version": 2, "project_id": self.row.project_id,
                 "occurred_at": occurred_at, **{k: v for k, v in payload.items() if v is not None}}
        self.events.append({"event_id": _event_id(event), **event, "recorded_at": self.recorded_at,
                            "source": self.source})

    def made_stage(self, stage: int) -> bool:
        return any(e["event_type"] == STAGE_EVENT[stage] for e in self.events)


def _reached_stage(state: dict | None, stage: str) -> datetime | None:
    return None if state is None else state.get(reached(stage))


def _row_events(row: LedgerRow, state: dict | None, at_end: str, recorded_at: str, source: str) -> list[dict]:
    """Steps 1–7 of §7 for one row against its project's state as of E (None: the log has none)."""
    m = _Maker(row, at_end, recorded_at, source)
    new = state is None or state.get("orphan", True)
    current = (state or {}).get("stage") or 0
    dropped = bool(state and state.get("dropped"))
    if new:  # 1
        planned_on = row.reached.get("planned")
        m.make("project_planned", _midnight(planned_on) if planned_on else at_end, name=row.name,
               industry=row.industry, lead_industry=row.lead_industry, town=row.town, department=row.department,
               leader=row.leader, investment_yuan=row.amount_yuan)
    for stage in STAGES[2:]:  # 2: signed, started, completed, operating
        if stage in row.reached and _reached_stage(state, stage) is None:
            m.make(STAGE_EVENT[STAGES.index(stage) + 1], _midnight(row.reached[stage]))
    if row.stage != DROPPED and row.stage > current and not m.made_stage(row.stage):  # 3
        m.make(STAGE_EVENT[row.stage], at_end)
    elif dropped and row.stage != DROPPED:  # revives the project (§4); planning again names it as the log does
        again = {"name": state.get("name"), "industry": state.get("industry")} if row.stage == 1 else {}
        m.make(STAGE_EVENT[row.stage], at_end, **again)
    if row.stage == DROPPED and not (dropped and not _revived(m.events, state)):  # 4
        m.make("project_dropped", at_end, reason=row.drop_reason or DEFAULT_DROP_REASON)
    # 5-6 skip a project step 1 planned, unless the log already holds an orphan's own amount or owner:
    # its events may occur after the planning and outrank it, so a second import would revise them.
    if state is not None and (not new or state.get("investment_yuan") is not None):
        if row.amount_yuan is not None and row.amount_yuan != state.get("investment_yuan"):  # 5
            m.make("investment_revised", at_end, investment_yuan=row.amount_yuan)
    if state is not None and (not new or state.get("leader") is not None or state.get("department") is not None):
        leader = row.leader or state.get("leader")
        department = row.department or state.get("department")
        if leader != state.get("leader") or department != state.get("department"):  # 6
            m.make("project_reassigned", at_end, leader=leader, department=department)
    for milestone, due in row.plans.items():  # 7
        if state is None or state.get(planned(milestone)) != due:
            m.make("milestone_planned", at_end, milestone=milestone, due=due.isoformat())
    return m.events


def _revived(events: list[dict], state: dict) -> bool:
    """Whether a stage event the row made occurs after the project's drop, reviving it (§4; a tie is a drop)."""
    drop = state["last_drop_at"]
    return any(e["event_type"] in _STAGE_TYPES and datetime.fromisoformat(e["occurred_at"]) > drop for e in events)


_STAGE_TYPES = frozenset(STAGE_EVENT.values())


def _row_warnings(row: LedgerRow, state: dict | None) -> list[LedgerWarning]:
    if state is None or state.get("orphan", True):
        return []
    out = []
    current = state.get("stage") or 0
    if row.stage != DROPPED and row.stage < current and not state.get("dropped"):
        out.append(LedgerWarning("stage_regression", row.project_id,
                                 f"the ledger says {STAGE_LABELS[row.stage]}, the log has reached "
                                 f"{STAGE_LABELS[current]}; no event made", row.sheet, row.row))
    for stage, day in row.reached.items():
        at = _reached_stage(state, stage)
        if at is not None and at.astimezone(CST).date() != day:
            header = next(h for h, s in REACHED_DATES.items() if s == stage)
            out.append(LedgerWarning("date_differs", row.project_id,
                                     f"{header} {day.isoformat()}, the log has {stage} reached on "
                                     f"{at.astimezone(CST).date().isoformat()}; no event made", row.sheet, row.row))
    return out


def import_ledger(sheet: str, header: list, rows: list[tuple[int, list]], state: pl.DataFrame, month: str,
                  recorded_at: datetime, source: str) -> LedgerImport:
    """Compare one sheet's rows, below a header in its first row, with the state as of the end of ``month``."""
    layout = SheetLayout(sheet, 1, [normalise_header(h) for h in header], None, sheet_pool(sheet), rows)
    return import_sheets([layout], state, month, recorded_at, source)


def import_sheets(layouts: list[SheetLayout], state: pl.DataFrame, month: str, recorded_at: datetime,
                  source: str, department: str | None = None) -> LedgerImport:
    """Compare a ledger's sheets (§7a: their project rows, in workbook order) with the state as of ``month``'s end (§7).

    ``state`` is :func:`streams.core.fold.project_state` at :func:`ledger_cutoff` of the month; every event is
    recorded at ``recorded_at`` from ``source``. Raises :class:`LedgerFileError` before any row when a sheet's
    header cannot be used. The layouts' skipped rows are listed apart; their totals are checked.
    An import for a ``department`` rejects the rows that are not its own (:func:`not_yours`); None: the bureau's.
    """
    last_day, end = month_end_of(month)
    at_end, stamp = format_timestamp(end), format_timestamp(recorded_at)
    result = LedgerImport(month=month)
    read: list[tuple[LedgerRow | RowRejection, dict]] = []
    departments: set[str] = set()
    for layout in layouts:
        try:
            columns = columns_of(layout.header, layout.unit, layout.pool)
        except LedgerFileError as e:
            raise LedgerFileError(f"sheet {layout.sheet}, header row {layout.header_row}: {e}") from None
        rows = [_read(layout.sheet, n, cells, columns, layout.header, last_day, layout.pool)
                for n, cells in layout.rows]
        read += rows
        column = _header_of(layout.header, columns, "department")
        departments |= {d for _, kept in rows if (d := _text(kept.get(column)))}
        result.warnings += _total_warnings(layout, columns)
        result.skipped += layout.skipped
        result.sheets.append({"sheet": layout.sheet, "header_row": layout.header_row, "rows": len(layout.rows),
                              "skipped": len(layout.skipped)})
    states = _states_of(state, {r.project_id for r, _ in read if isinstance(r, LedgerRow)})
    seen: dict[str, str] = {}
    for row, cells in read:
        result.rows += 1
        if isinstance(row, RowRejection):
            result.rejected.append(row)
            continue
        # Which row stands is decided before the log is looked at, so it never depends on the log:
        # a second import of the same ledger judges the same rows.
        if row.project_id in seen:
            result.rejected.append(RowRejection(row.sheet, row.row, "ledger_duplicate_row",
                                                f"项目编号 {row.project_id} is already on {seen[row.project_id]}",
                                                row.project_id, cells))
            continue
        seen[row.project_id] = f"{row.sheet}!{row.row}"
        project = states.get(row.project_id)
        new = project is None or project["orphan"]
        why = not_yours(department, (project or {}).get("department"), row.department)
        if why:
            result.rejected.append(RowRejection(row.sheet, row.row, NOT_YOURS, f"项目编号 {row.project_id}: {why}",
                                                row.project_id, cells))
            continue
        if new and department is not None and row.department is None:  # planned for the department importing it
            row = replace(row, department=department)
        if new and not (row.name and row.industry):
            result.rejected.append(RowRejection(row.sheet, row.row, "ledger_schema",
                                                "a new project needs 项目名称 and 所属行业", row.project_id, cells))
            continue
        if row.stage is None:
            row = replace(row, stage=implied_stage(row.pool, None if new else _stage_as_of_e(project)))
        events = _row_events(row, project, at_end, stamp, source)
        result.warnings.extend(_row_warnings(row, project))
        result.events.extend(LedgerEvent(row.sheet, row.row, e) for e in events)
        if new:
            result.new += 1
        elif events:
            result.changed += 1
        else:
            result.unchanged += 1
    row_ids = {r.project_id for r, _ in read if r.project_id}
    if department is not None:  # a department's ledger answers for its own projects only
        departments &= {department}
    result.warnings.extend(_missing(state, row_ids, departments))
    return result


def _stage_as_of_e(state: dict) -> int:
    return DROPPED if state.get("dropped") else state.get("stage") or 0


def _total_warnings(layout: SheetLayout, columns: Columns) -> list[LedgerWarning]:
    """§7a: each total whose 总投资 is filled against the sum of the readable, non-negative amounts it covers."""
    at = columns.at.get("amount")
    if at is None or not layout.totals:
        return []
    header = str(layout.header[at])
    unit = next((u for u, yuan in AMOUNT_UNITS.items() if yuan == (columns.amount_unit or 1)), "元")
    amounts = {n: cells[at] if at < len(cells) else None for n, cells in layout.rows}
    out = []
    for total in layout.totals:
        try:
            stated = _number(total.cells[at] if at < len(total.cells) else None, header)
        except _Bad:
            continue  # a total that is no number says nothing to check
        if stated is None:
            continue
        covered = Decimal(0)
        for n in total.covers:
            try:
                covered += _number(amounts[n], header) or 0
            except _Bad:
                pass  # an unreadable or negative amount is its own row's rejection
        if abs(stated - covered) > total_tolerance(stated):
            out.append(LedgerWarning("total_differs", None,
                                     f"{header} total {stated} {unit}, the {len(total.covers)} project row(s) it "
                                     f"covers sum to {covered} {unit}", layout.sheet, total.row))
    return out


def _header_of(header: list, columns: Columns, name: str) -> str | None:
    i = columns.at.get(name)
    return None if i is None else str(header[i])


def _read(sheet: str, number: int, cells: list, columns: Columns, header: list, last_day: date,
          pool: str | None = None) -> tuple[LedgerRow | RowRejection, dict]:
    """A row read, or rejected (``ledger_schema``); and its filled cells by header, for a dead letter."""
    kept = {str(header[i]): c for i, c in enumerate(cells) if i < len(header) and c not in (None, "")}
    try:
        return read_row(sheet, number, cells, columns, header, last_day, pool), kept
    except _Bad as bad:
        at = columns.at["project_id"]
        pid = _text(cells[at]) if at < len(cells) else None
        return RowRejection(sheet, number, "ledger_schema", str(bad), pid, kept), kept


def _states_of(state: pl.DataFrame, project_ids) -> dict[str, dict]:
    if state.is_empty():
        return {}
    wanted = state.filter(pl.col("project_id").is_in(list(project_ids)))
    return {s["project_id"]: s for s in wanted.iter_rows(named=True)}


def _missing(state: pl.DataFrame, row_ids: set[str], departments: set[str]) -> list[LedgerWarning]:
    """Projects a department's ledger answers for but leaves out (§7 ``missing_from_ledger``)."""
    if state.is_empty() or not departments or "department" not in state.columns:
        return []
    gone = state.filter(pl.col("in_pools") & ~pl.col("dropped")
                        & pl.col("department").cast(pl.Utf8).is_in(sorted(departments))
                        & ~pl.col("project_id").is_in(sorted(row_ids))).sort("project_id")
    return [LedgerWarning("missing_from_ledger", pid, f"in the {pool} pool of {dep}, with no row in the ledger")
            for pid, pool, dep in gone.select("project_id", "pool", "department").iter_rows()]


def _wan(yuan: int | None):
    """Yuan → 万元, exact: an int when whole, else a Decimal with at most four places."""
    if yuan is None:
        return None
    wan = Decimal(yuan) / YUAN_PER_WAN
    return int(wan) if wan == wan.to_integral_value() else wan


def _day(at: datetime | None) -> date | None:
    return None if at is None else at.astimezone(CST).date()


def ledger_rows(state: pl.DataFrame) -> list[dict]:
    """The ledger of a state (§7 export): one row per non-orphan project in the pools, by header.

    Importing these rows for the state's month against the same log makes no event.
    """
    projects = state.filter(pl.col("in_pools")).sort("project_id")
    out = []
    for p in projects.iter_rows(named=True):
        lead = p.get("lead_industry")
        row = {
            "项目编号": p["project_id"], "项目名称": p.get("name"), "所属行业": p.get("industry"),
            "主导产业": None if lead is None else ("是" if lead else "否"),
            "所属镇办": p.get("town"), "责任单位": p.get("department"), "分包领导": p.get("leader"),
            "项目阶段": STAGE_LABELS[DROPPED if p["dropped"] else p["stage"]],
            EXPORT_AMOUNT: _wan(p.get("investment_yuan")),
        }
        row |= {h: _day(p.get(reached(s))) for h, s in REACHED_DATES.items()}
        row |= {h: p.get(planned(m)) for h, m in PLAN_DATES.items()}
        row["终止原因"] = p.get("drop_reason") if p["dropped"] else None
        out.append(row)
    return out
