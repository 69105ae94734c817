"""DOMAIN.md §11: the 外出招商 sheet (the trip register, §8) against the trips as of E → the reports it means.

Pure: the caller gives the sheet's layout (:func:`streams.core.ledger_layout.other_layouts`) and the trips as
of E (:func:`streams.core.trips.trip_state`); the export's rows are made here too, so that re-importing them
makes no event.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from datetime import date, datetime

import polars as pl

from streams.contract.acceptance import format_timestamp
from streams.core import ledger_sheets as ls
from streams.core.ledger import NOT_YOURS, month_end_of, not_yours
from streams.core.ledger_layout import SheetLayout
from streams.core.trips import REPORTED

TRIP_SHEET = "外出招商"
#: Header → field (§8's names); the Chinese headers of §11 only.
HEADERS: dict[str, str] = {"出访编号": "trip_id", "类型": "kind", "小分队": "team", "带队领导": "leader",
                           "组织单位": "department", "出发日期": "departed", "返回日期": "returned", "人数": "people",
                           "目的地": "destinations", "区域": "region", "拜访企业数": "companies_visited",
                           "收集线索": "leads", "有效线索": "valid_leads"}
KINDS: dict[str, str] = {"党政主要领导带队": "leader_led", "小分队": "team", "其他": "other"}
KIND_LABELS: dict[str, str] = {k: label for label, k in KINDS.items()}
#: 目的地 is a list: its places are separated by 、 , ， ; or ；.
_SEPARATORS = re.compile(r"[、,，;；]")
#: How an export writes a list of places.
JOIN = "、"
EXPORT_COLUMNS: tuple[str, ...] = tuple(HEADERS)
_TEXT = ("team", "leader", "department", "region")
_COUNTS = ("companies_visited", "leads", "valid_leads")


@dataclass(frozen=True)
class TripRow:
    """A 外出招商 row whose cells all read: its filled cells (None: empty)."""

    trip_id: str
    kind: str | None = None
    team: str | None = None
    leader: str | None = None
    department: str | None = None
    departed: date | None = None
    returned: date | None = None
    people: int | None = None
    destinations: list[str] | None = None
    region: str | None = None
    companies_visited: int | None = None
    leads: int | None = None
    valid_leads: int | None = None

    def filled(self) -> dict:
        """The row's filled cells by field (the trip id aside)."""
        return {f.name: v for f in fields(self) if f.name != "trip_id" and (v := getattr(self, f.name)) is not None}


def places(value) -> list[str] | None:
    """目的地 as a list of places (None when empty)."""
    found = [p.strip() for p in _SEPARATORS.split(ls.text(value) or "") if p.strip()]
    return found or None


def read_trip(row: ls.SheetRow, trip_id: str, last_day: date) -> TripRow:
    """A row's cells (its 出访编号 read); raises ``Bad`` with the reason."""
    label = ls.text(row.get("kind"))
    if label is not None and label not in KINDS:
        raise ls.Bad(f"类型 {label!r} is not one of {', '.join(KINDS)}")
    return TripRow(
        trip_id, kind=KINDS.get(label), **{f: ls.text(row.get(f)) for f in _TEXT},
        departed=ls.reported_date(row.get("departed"), "出发日期", last_day),
        returned=ls.reported_date(row.get("returned"), "返回日期", last_day),
        people=ls.count(row.get("people"), "人数", least=1), destinations=places(row.get("destinations")),
        **{f: ls.count(row.get(f), _header(f)) for f in _COUNTS})


def _header(name: str) -> str:
    return next(h for h, f in HEADERS.items() if f == name)


def _report(row: TripRow, standing: dict | None) -> dict:
    """The report a row means: the standing report's values (a counting trip's) replaced by its filled cells;
    raises ``Bad`` when a required one is missing or 返回日期 falls before 出发日期."""
    report = {k: v for k in REPORTED if (v := (standing or {}).get(k)) is not None} | row.filled()
    missing = [_header(f) for f in ("kind", "departed", "returned") if f not in report]
    if missing:
        raise ls.Bad(f"{', '.join(missing)} missing for trip {row.trip_id}, which does not count as of the "
                     f"month's end")
    if report["returned"] < report["departed"]:
        raise ls.Bad(f"返回日期 {report['returned'].isoformat()} is before 出发日期 {report['departed'].isoformat()}")
    return report


def trip_events(row: TripRow, standing: dict | None, end: str, recorded_at: str, source: str) -> list[dict]:
    """The report a row makes against its trip as of E (``standing``: its :func:`trip_state` row if it counts,
    else None): none when the trip counts and no filled cell differs from its standing report."""
    report = _report(row, standing)
    if standing is not None and all(standing.get(k) == v for k, v in row.filled().items()):
        return []
    payload = {k: v.isoformat() if isinstance(v, date) else list(v) if k == "destinations" else v
               for k, v in report.items()}
    return [ls.event("trip_reported", {"trip_id": row.trip_id}, end, recorded_at, source, **payload)]


def import_trips(layout: SheetLayout, trips: pl.DataFrame, month: str, recorded_at: datetime,
                 source: str, department: str | None = None) -> ls.SheetImport:
    """The 外出招商 sheet against the trips as of the end of ``month`` (:func:`streams.core.trips.trip_state`,
    §11); every event at E, recorded at ``recorded_at`` from ``source``. An import for a ``department`` rejects
    a trip another department organised, or a row naming another 组织单位 (:func:`ledger.not_yours`)."""
    last_day, end = month_end_of(month)
    at_end, stamp = format_timestamp(end), format_timestamp(recorded_at)
    result = ls.SheetImport(layout.sheet, layout.header_row, skipped=list(layout.skipped))
    counting = {t["trip_id"]: t for t in trips.filter(pl.col("counts")).iter_rows(named=True)} \
        if trips.height else {}
    owners = {t["trip_id"]: t.get("department") for t in trips.iter_rows(named=True)} \
        if department is not None and trips.height else {}
    seen: dict[str, int] = {}
    for row in ls.rows_of(layout, HEADERS):
        trip_id = ls.text(row.get("trip_id"))
        try:
            if trip_id is None:
                raise ls.Bad("出访编号 is empty")
            if trip_id in seen:
                result.reject(ls.rejection(layout.sheet, row, "ledger_duplicate_row",
                                           f"出访编号 {trip_id} is already on row {seen[trip_id]}", None))
                continue
            trip = read_trip(row, trip_id, last_day)
            seen[trip_id] = row.row  # the row stands by its cells, before the log is looked at (as in 问题清单)
            why = not_yours(department, owners.get(trip_id), trip.department)
            if why:
                result.reject(ls.rejection(layout.sheet, row, NOT_YOURS, f"出访编号 {trip_id}: {why}", None))
                continue
            events = trip_events(trip, counting.get(trip_id), at_end, stamp, source)
        except ls.Bad as bad:
            detail = f"出访编号 {trip_id}: {bad}" if trip_id else str(bad)
            result.reject(ls.rejection(layout.sheet, row, "ledger_schema", detail, None))
            continue
        result.count(events, trip_id not in counting, row.row)
    return result


def trip_rows(trips: pl.DataFrame) -> list[dict]:
    """The 外出招商 of an export as of D, by header: every trip that counts as of D, so that re-importing it for
    D's month makes no event."""
    if not trips.height:
        return []
    out = []
    for t in trips.filter(pl.col("counts")).sort("trip_id").iter_rows(named=True):
        row = {h: t.get(f) for h, f in HEADERS.items()}
        row["类型"] = KIND_LABELS.get(t.get("kind"))
        row["目的地"] = JOIN.join(t["destinations"]) if t.get("destinations") else None
        out.append(row)
    return out
