"""``funnel ledger import`` / ``export``: the imperative shell around :mod:`streams.core.ledger`.

Import: read the file's cells, fold the log as of the month's end, let the core say which
events the ledger means, and send them through the same validator and producer as
``funnel ingest`` (a rejected row goes to the dead-letter topic with its cells and reason).
Export: fold the log as of a day and write the workbook.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import polars as pl

from streams.contract.events import POOLS, STAGES, YUAN_PER_YI
from streams.core import ledger
from streams.core.aggregates import pools_at
from streams.core.bottlenecks import issue_state
from streams.core.ledger_issues import EXPORT_COLUMNS as ISSUE_COLUMNS, ISSUE_SHEET, import_issues, issue_rows
from streams.core.ledger_trips import EXPORT_COLUMNS as TRIP_COLUMNS, TRIP_SHEET, import_trips, trip_rows
from streams.core.log import LOG_SCHEMA
from streams.core.clock import now_cst
from streams.core.ledger import LedgerFileError, LedgerImport, RowRejection
from streams.core.summary import Result, View, fold_log
from streams.core.targets import year_metrics
from streams.core.trips import trip_state
from streams.feeds import FeedRecord
from streams.feeds.workbooks import LedgerSheet, read_ledger, write_ledger

log = logging.getLogger(__name__)

#: Pool → the sheet an export gives it (the bureau's names of the four libraries).
POOL_SHEETS = {"planning": "谋划项目库", "attraction": "招引项目库", "signed": "签约项目库", "landed": "落地项目库",
               "dropped": "终止项目"}
STAGE_CN = dict(zip(STAGES, ("谋划", "洽谈", "签约", "开工", "竣工", "投产")))


def state_as_of(log_frame: pl.DataFrame, day: date) -> pl.DataFrame:
    """Every project's state as of the end of ``day`` (CST), from a received log."""
    return fold_log(log_frame, View(day)).state


def fold_as_of(log_frame: pl.DataFrame, day: date) -> Result:
    """The projects' state, the trips and the issues as of the end of ``day`` (CST), from one received log."""
    return fold_log(log_frame, View(day))


def plan_import(path: str | Path | LedgerSheet, month: str, state: pl.DataFrame, recorded_at: datetime, *,
                trips: pl.DataFrame | None = None, issues: pl.DataFrame | None = None,
                department: str | None = None, submitted_by: str | None = None
                ) -> tuple[LedgerSheet, LedgerImport]:
    """What importing the ledger file (or its cells, read already) means against ``state``, ``trips`` and
    ``issues`` as of the month's end (:func:`fold_as_of`; without them, none are known); sends nothing.

    ``department``: an import made for that department only (another's rows are ``ledger_not_yours``; None: the
    bureau's, for all); ``submitted_by``: who handed it in, carried by every event."""
    _, end = ledger.month_end_of(month)
    if end - recorded_at > timedelta(hours=24):
        raise LedgerFileError(f"the ledger of {month} reports the month's end ({end.date().isoformat()}): its events "
                              f"occur then, so it can be imported from the day before, not on "
                              f"{recorded_at.date().isoformat()}")
    sheet = path if isinstance(path, LedgerSheet) else read_ledger(path)
    source = f"ledger:{sheet.file}"
    result = ledger.import_sheets(sheet.layouts, state, month, recorded_at, source=source, department=department)
    cutoff = ledger.ledger_cutoff(month)
    if ISSUE_SHEET in sheet.others:
        issues = issue_state(pl.DataFrame(schema=LOG_SCHEMA), cutoff) if issues is None else issues
        result.others.append(import_issues(sheet.others[ISSUE_SHEET], issues, state, month, recorded_at, source,
                                           department))
    if TRIP_SHEET in sheet.others:
        trips = trip_state(pl.DataFrame(schema=LOG_SCHEMA), cutoff) if trips is None else trips
        result.others.append(import_trips(sheet.others[TRIP_SHEET], trips, month, recorded_at, source, department))
    result.events = ledger.submitted(result.events, submitted_by)
    for other in result.others:
        other.events = ledger.submitted(other.events, submitted_by)
    for s in result.skipped:
        log.info("%s skipped: %s", _where(sheet.file, s.sheet, s.row), s.kind)
    for w in result.warnings:  # each at info; their counts at warning (a big ledger can have thousands)
        log.info("%s: %s %s: %s", _where(sheet.file, w.sheet, w.row), w.kind, w.project_id or "", w.detail)
    for kind, n in Counter(w.kind for w in result.warnings).items():
        log.warning("%s: %d %s warning(s) (funnel --loglevel info lists them)", sheet.file, n, kind)
    for other in result.others:
        for s in other.skipped:
            log.info("%s skipped: %s", _where(sheet.file, s.sheet, s.row), s.kind)
    for r in _every(result, "rejected"):
        log.warning("%s rejected: %s (%s)", _where(sheet.file, r.sheet, r.row), r.reason, r.detail)
    return sheet, result


def _where(file: str, sheet: str | None, row: int | None) -> str:
    return file if row is None else f"{file}:{sheet}:{row}"


def _every(result: LedgerImport, name: str) -> list:
    """The ``events`` or ``rejected`` rows of every sheet of an import: the project sheets', then the §11 sheets'."""
    return [x for part in (result, *getattr(result, "others", ())) for x in getattr(part, name)]


def event_records(file: str, result: LedgerImport) -> Iterator[FeedRecord]:
    """The import's events as feed records, each with its origin ``file:sheet:row``."""
    for made in _every(result, "events"):
        raw = json.dumps(made.event, ensure_ascii=False, separators=(",", ":")).encode()
        yield FeedRecord(f"{file}:{made.sheet}:{made.row}", raw, made.event)


def rejected_record(file: str, rejection: RowRejection) -> FeedRecord:
    """A rejected row as a dead letter: its cells, sheet and row, and the project it names (a 外出招商 row: its
    trip, which keys it)."""
    body = {"sheet": rejection.sheet, "row": rejection.row, "project_id": rejection.project_id,
            "cells": rejection.cells}
    raw = json.dumps(body, ensure_ascii=False, default=str, separators=(",", ":")).encode()
    parsed = {"project_id": rejection.project_id}
    if rejection.sheet == TRIP_SHEET:
        trip_id = rejection.cells.get("出访编号")
        parsed = {"event_type": "trip_reported", "trip_id": None if trip_id is None else str(trip_id)}
    return FeedRecord(f"{file}:{rejection.sheet}:{rejection.row}", raw, parsed, False)


def send(producer, topic: str, file: str, result: LedgerImport, flush_timeout: float = 120.0):
    """Rejected rows to the dead-letter topic, events through ingest's checks to the topic; the ingest report.

    The import's rejected rows and events are one batch: with a transactional producer (the CLI's
    default, :func:`streams.kafkaio.producer.transactional_id` of the ledger file), one Kafka
    transaction, so a read_committed reader sees the whole import or none of it, and an import that
    failed can simply be run again.
    """
    from streams.feeds.ingest import Ingest

    run = Ingest(producer, topic, batch_size=max(10_000, len(_every(result, "events"))))
    for rejection in _every(result, "rejected"):
        run.dead_letter(rejected_record(file, rejection), rejection.reason, rejection.detail)
    return run.run(event_records(file, result), flush_timeout=flush_timeout)


def write_events(out: Path, file: str, result: LedgerImport) -> Path | None:
    """The events as JSON Lines in ``out``; rejected rows in ``<out>.rejected.jsonl`` beside it (if any)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("wb") as f:
        for record in event_records(file, result):
            f.write(record.raw + b"\n")
    if not _every(result, "rejected"):
        return None
    rejected = out.with_name(out.name + ".rejected.jsonl")
    with rejected.open("w", encoding="utf-8") as f:
        for r in _every(result, "rejected"):
            f.write(json.dumps({**r.as_dict(), "cells": r.cells}, ensure_ascii=False, default=str) + "\n")
    return rejected


def export(state: pl.DataFrame, as_of: date, out: Path, targets: dict, *, trips: pl.DataFrame | None = None,
           issues: pl.DataFrame | None = None) -> int:
    """The workbook of the ledger as of ``as_of``, with its 问题清单 and 外出招商 sheets when ``issues`` and
    ``trips`` (as of ``as_of``) are given; returns its number of projects."""
    rows = ledger.ledger_rows(state)
    in_pools = state.filter(pl.col("in_pools")).sort("project_id")
    colours = in_pools["colour"].to_list() if rows else []
    pools = in_pools["pool"].to_list() if rows else []
    by_pool = {POOL_SHEETS[p]: [i for i, q in enumerate(pools) if q == p] for p in POOLS}
    others = []
    if issues is not None:
        others.append((ISSUE_SHEET, ISSUE_COLUMNS, issue_rows(issues, state)))
    if trips is not None:
        others.append((TRIP_SHEET, TRIP_COLUMNS, trip_rows(trips)))
    write_ledger(out, rows, colours, by_pool, summary_tables(state, as_of, targets), others)
    return len(rows)


def summary_tables(state: pl.DataFrame, as_of: date, targets: dict) -> list[tuple[str, list[list]]]:
    """The export's summary sheet: pools, the year's flows against its targets, and the colours."""
    pools = pools_at(state) if state.height else pl.DataFrame({"pool": list(POOLS), "count": [0] * 5,
                                                               "investment_yuan": [0] * 5})
    pool_table = [["项目库", "项目数", "总投资（亿元）"]] + [
        [POOL_SHEETS[p], n, round((y or 0) / YUAN_PER_YI, 2)] for p, n, y in pools.iter_rows()]
    year = as_of.year
    actual = year_metrics(state, year) if state.height else dict.fromkeys(STAGES, 0)
    goals = targets.get(str(year), {})
    flow_table = [["阶段", f"{year}年累计", "年度目标", "完成率"]] + [
        [STAGE_CN[s], actual[s], goals.get(s), f"{actual[s] / goals[s]:.0%}" if goals.get(s) else None]
        for s in STAGES]
    colours = state.filter(pl.col("colour").is_not_null())["colour"].value_counts() if state.height else None
    counts = dict(colours.iter_rows()) if colours is not None else {}
    colour_table = [["督查颜色", "项目数"]] + [[cn, counts.get(c, 0)] for c, cn in
                                           (("red", "红"), ("yellow", "黄"), ("blue", "蓝"), ("green", "绿"))]
    return [(f"四库项目（截至{as_of.year}年{as_of.month}月{as_of.day}日）", pool_table),
            (f"{year}年各阶段项目数与目标", flow_table), ("红黄蓝绿督查", colour_table)]


def import_time() -> datetime:
    """The import's ``recorded_at``: now, in CST, to the second."""
    return now_cst().replace(microsecond=0)
