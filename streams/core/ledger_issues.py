"""DOMAIN.md §11: the 问题清单 sheet (the problem list, §9) against the issues as of E → the events it means.

Pure: the caller gives the sheet's layout (:func:`streams.core.ledger_layout.other_layouts`), the issues as of E
(:func:`streams.core.bottlenecks.issue_state`) and the projects' state as of E; the export's rows are made here
too, so that re-importing them makes no event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import polars as pl

from streams.contract.acceptance import format_timestamp
from streams.core import ledger_sheets as ls
from streams.core.clock import CST
from streams.core.ledger import NOT_YOURS, month_end_of, not_yours
from streams.core.ledger_layout import SheetLayout

ISSUE_SHEET = "问题清单"
#: Header → field; the Chinese headers of §11 only.
HEADERS: dict[str, str] = {"项目编号": "project_id", "问题编号": "issue_id", "问题类别": "category",
                           "问题描述": "description", "牵头单位": "department", "办结时限": "due",
                           "提出日期": "raised_on", "状态": "status", "办结日期": "resolved_on", "办理情况": "resolution"}
#: 问题类别 → category (§9).
CATEGORIES: dict[str, str] = {"规划": "planning", "土地": "land", "审批手续": "approval", "审批": "approval",
                              "资金": "funding", "征拆": "demolition", "要素保障": "utilities", "建设环境": "environment",
                              "技术": "technology", "其他": "other"}
CATEGORY_LABELS: dict[str, str] = {c: label for label, c in reversed(CATEGORIES.items())}
OPEN, RESOLVED = "未办结", "已办结"
#: Column order of an exported 问题清单.
EXPORT_COLUMNS: tuple[str, ...] = tuple(HEADERS)
#: The attributes a 未办结 row compares with the issue's standing values.
COMPARED = ("category", "department", "due")


@dataclass(frozen=True)
class IssueRow:
    """A 问题清单 row whose cells all read."""

    project_id: str
    issue_id: str
    resolved: bool  #: 已办结
    category: str | None
    description: str | None
    department: str | None
    due: date | None
    raised_on: date | None
    resolved_on: date | None
    resolution: str | None


def read_ids(row: ls.SheetRow) -> tuple[str, str]:
    """The row's 项目编号 and 问题编号, read as text; raises ``Bad`` when one is missing."""
    project_id, issue_id = ls.text(row.get("project_id")), ls.text(row.get("issue_id"))
    if project_id is None:
        raise ls.Bad("项目编号 is empty")
    if issue_id is None:
        raise ls.Bad("问题编号 is empty")
    return project_id, issue_id


def read_issue(row: ls.SheetRow, ids: tuple[str, str], last_day: date) -> IssueRow:
    """The rest of a row's cells (its ids read); raises ``Bad`` with the reason."""
    status = ls.text(row.get("status"))
    if status not in (OPEN, RESOLVED):
        raise ls.Bad(f"状态 {status!r} is not {OPEN} or {RESOLVED}" if status else "状态 is empty")
    label = ls.text(row.get("category"))
    if label is not None and label not in CATEGORIES:
        raise ls.Bad(f"问题类别 {label!r} is not one of {', '.join(CATEGORIES)}")
    raised_on = ls.reported_date(row.get("raised_on"), "提出日期", last_day)
    resolved_on = ls.reported_date(row.get("resolved_on"), "办结日期", last_day)
    if raised_on and resolved_on and resolved_on < raised_on:
        raise ls.Bad(f"办结日期 {resolved_on.isoformat()} is before 提出日期 {raised_on.isoformat()}")
    return IssueRow(*ids, resolved=status == RESOLVED, category=CATEGORIES.get(label),
                    description=ls.text(row.get("description")), department=ls.text(row.get("department")),
                    due=ls.any_date(row.get("due"), "办结时限"), raised_on=raised_on, resolved_on=resolved_on,
                    resolution=ls.text(row.get("resolution")))


def _raise_payload(row: IssueRow, standing: dict | None) -> dict:
    """The issue's standing values (its latest raise) replaced by the row's filled cells."""
    base = {k: (standing or {}).get(k) for k in ("category", "description", "department", "due")}
    filled = {k: v for k, v in {"category": row.category, "description": row.description,
                                "department": row.department, "due": row.due}.items() if v is not None}
    merged = base | filled
    return {"issue_id": row.issue_id, **merged, "due": merged["due"] and merged["due"].isoformat()}


def _differs(row: IssueRow, standing: dict) -> bool:
    """A filled 问题类别, 牵头单位 or 办结时限 that differs from the issue's standing value (问题描述 is not compared)."""
    return any(getattr(row, k) is not None and getattr(row, k) != standing.get(k) for k in COMPARED)


def issue_events(row: IssueRow, standing: dict | None, end: datetime, recorded_at: str, source: str) -> list[dict]:
    """The events of one row against its issue as of E (``standing``: its :func:`issue_state` row, or None)."""
    key = {"project_id": row.project_id}

    def make(event_type: str, at: datetime, **payload) -> dict:
        return ls.event(event_type, key, ls.timestamp(at), recorded_at, source, **payload)

    def resolve(latest_raise: datetime) -> dict:
        on = ls.midnight(row.resolved_on) if row.resolved_on else end
        return make("issue_resolved", max(on, latest_raise), issue_id=row.issue_id, resolution=row.resolution)

    if standing is None:  # not raised as of E
        at = ls.midnight(row.raised_on) if row.raised_on else end
        raised = make("issue_raised", at, **_raise_payload(row, None))
        return [raised, resolve(at)] if row.resolved else [raised]
    if standing["open"]:
        if row.resolved:
            return [resolve(standing["raised_at"])]
        return [make("issue_raised", end, **_raise_payload(row, standing))] if _differs(row, standing) else []
    return [] if row.resolved else [make("issue_raised", end, **_raise_payload(row, standing))]  # reopened


def import_issues(layout: SheetLayout, issues: pl.DataFrame, state: pl.DataFrame, month: str,
                  recorded_at: datetime, source: str, department: str | None = None) -> ls.SheetImport:
    """The 问题清单 sheet against the issues (:func:`streams.core.bottlenecks.issue_state`) and the projects'
    state as of the end of ``month`` (§11); every event recorded at ``recorded_at`` from ``source``. An import
    for a ``department`` rejects the rows of another department's project (:func:`ledger.not_yours`)."""
    last_day, end = month_end_of(month)
    stamp = format_timestamp(recorded_at)
    result = ls.SheetImport(layout.sheet, layout.header_row, skipped=list(layout.skipped))
    standing = {(i["project_id"], i["issue_id"]): i for i in issues.iter_rows(named=True)}
    planned = _planned(state)
    owners = _owners(state) if department is not None else {}
    seen: dict[tuple[str, str], int] = {}
    for row in ls.rows_of(layout, HEADERS):
        project_id = ls.text(row.get("project_id"))
        try:
            ids = read_ids(row)
            if ids in seen:
                result.reject(ls.rejection(layout.sheet, row, "ledger_duplicate_row",
                                           f"问题编号 {ids[1]} of {ids[0]} is already on row {seen[ids]}", ids[0]))
                continue
            issue = read_issue(row, ids, last_day)
            # Which row stands is decided by its cells, before the log is looked at (as for project rows): a
            # second import of the same sheet judges the same rows, so it makes no event.
            seen[ids] = row.row
            if ids[0] not in planned:
                raise ls.Bad(f"unknown project {ids[0]}: no project_planned as of the month's end")
            if ids not in standing and issue.category is None:
                raise ls.Bad(f"问题类别 is empty for issue {ids[1]}, not raised before")
        except ls.Bad as bad:
            result.reject(ls.rejection(layout.sheet, row, "ledger_schema", str(bad), project_id))
            continue
        why = not_yours(department, owners.get(ids[0]), None)  # 牵头单位 is the issue's lead, not the project's owner
        if why:
            result.reject(ls.rejection(layout.sheet, row, NOT_YOURS, f"项目编号 {ids[0]}: {why}", ids[0]))
            continue
        result.count(issue_events(issue, standing.get(ids), end, stamp, source), ids not in standing, row.row)
    return result


def _planned(state: pl.DataFrame) -> set[str]:
    """The projects with an accepted project_planned as of E (not orphans)."""
    if state.is_empty() or "orphan" not in state.columns:
        return set()
    return set(state.filter(~pl.col("orphan"))["project_id"].to_list())


def _owners(state: pl.DataFrame) -> dict[str, str]:
    """Each project's department as of E, where the log names one."""
    if state.is_empty() or "department" not in state.columns:
        return {}
    known = state.filter(pl.col("department").is_not_null()).select("project_id", pl.col("department").cast(pl.Utf8))
    return dict(known.iter_rows())


def _day(at: datetime | None) -> date | None:
    return None if at is None else at.astimezone(CST).date()


def issue_rows(issues: pl.DataFrame, state: pl.DataFrame) -> list[dict]:
    """The 问题清单 of an export as of D, by header: every issue raised as of D of a project planned as of D (an
    orphan's would be an unknown project on re-import), so that re-importing it for D's month makes no event."""
    planned = _planned(state)
    out = []
    for i in issues.sort("project_id", "issue_id").iter_rows(named=True):
        if i["project_id"] not in planned:
            continue
        out.append({"项目编号": i["project_id"], "问题编号": i["issue_id"],
                    "问题类别": CATEGORY_LABELS.get(i["category"]), "问题描述": i.get("description"),
                    "牵头单位": i["department"], "办结时限": i["due"], "提出日期": _day(i["first_raised_at"]),
                    "状态": OPEN if i["open"] else RESOLVED, "办结日期": _day(i["resolved_at"]), "办理情况": None})
    return out
