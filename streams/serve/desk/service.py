"""The desk's shell: a department's ledger out, an uploaded ledger planned (nothing sent), a plan confirmed once.

Every rule is the ledger import's (:mod:`streams.core.ledger`, ``ledger_not_yours`` included) reached through
:func:`streams.feeds.ledger_import.plan_import` and sent through :func:`streams.feeds.ledger_import.send`, as
``funnel ledger import`` does; this module only reads the log, keeps the plan server-side between the preview
and the confirmation, and makes sure a confirmation sends once.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl

from streams import config
from streams.core.clock import now_cst
from streams.core.ledger import LedgerEvent, LedgerFileError, LedgerImport, RowRejection, month_end_of
from streams.feeds import ledger_import as ledgers
from streams.serve.accounts.models import User
from streams.serve.desk.models import FAILED, PLANNED, SENDING, SENT, Upload, database, upload_of
from streams.serve.settings import ServeSettings

log = logging.getLogger(__name__)

#: How long a preview may wait for its confirmation (seconds): the log it was planned against moves on.
PLAN_TTL = 3600
#: Files the desk takes (§7a); anything else is refused before it is stored.
SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods", ".csv")
#: Events listed one by one on a preview; the counts by type always cover all of them.
PREVIEW_EVENTS = 1000
_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|]")


class DeskError(Exception):
    """Something the user can act on, said in Chinese on the page."""


Sender = Callable[[str, LedgerImport, str], dict]


def department_of(user: User) -> str | None:
    """The department a user imports for: a department user's own; None for the bureau (all); a viewer cannot."""
    if user.role == "bureau":
        return None
    if user.role == "department" and user.department:
        return user.department
    raise DeskError("只读账号不能填报台账")


def received_log(settings: ServeSettings) -> pl.DataFrame:
    """The log as the topic holds it (read_committed), as ``funnel ledger import`` reads it."""
    from streams.replay import log_from_topic

    bootstrap = settings.bootstrap_servers or config.bootstrap_servers()
    try:
        return log_from_topic(bootstrap, settings.topic)
    except Exception as e:  # the broker down: the page says so, nothing is planned
        log.error("desk: reading %s at %s: %s", settings.topic, bootstrap, e)
        raise DeskError("暂时无法读取事件日志（Kafka 不可用），请稍后再试") from e


def months(today: date | None = None, back: int = 12) -> list[str]:
    """The months a desk offers, newest first: the current one and the ``back`` before it."""
    day = today or now_cst().date()
    out, year, month = [], day.year, day.month
    for _ in range(back + 1):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return out


def default_month(today: date | None = None) -> str:
    """The month a desk proposes: the last one that has ended (ledgers are handed in after the month)."""
    return months(today, 1)[1]


def check_month(month: str) -> str:
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month or ""):
        raise DeskError(f"月份 {month!r} 应写作 YYYY-MM")
    return month


def own(frame: pl.DataFrame, department: str | None, column: str = "department") -> pl.DataFrame:
    """The rows of ``frame`` that are the department's (all of them for the bureau)."""
    if department is None or frame.is_empty():
        return frame
    return frame.filter(pl.col(column).cast(pl.Utf8) == department)


def export_ledger(settings: ServeSettings, user: User, month: str, received: pl.DataFrame | None = None) -> bytes:
    """The month's ledger of the user's own projects as ``.xlsx`` bytes: the export, filtered by department.

    As of the month's last day, or today while it runs; re-importing it for that month makes no event.
    """
    department = department_of(user)
    as_of = min(month_end_of(check_month(month))[0], now_cst().date())
    folded = ledgers.fold_as_of(received_log(settings) if received is None else received, as_of)
    state = own(folded.state, department)
    issues = folded.issues.filter(pl.col("project_id").is_in(state["project_id"].to_list())) \
        if department is not None and not folded.issues.is_empty() else folded.issues
    trips = own(folded.trips, department)
    with tempfile.TemporaryDirectory(prefix="desk-export-") as work:
        out = Path(work) / "ledger.xlsx"
        ledgers.export(state, as_of, out, config.targets(settings.targets_file), trips=trips, issues=issues)
        return out.read_bytes()


def export_name(user: User, month: str) -> str:
    """The downloaded file's name: ``<department or 全区>台账-<month>.xlsx``."""
    return f"{user.department if user.role == 'department' else '全区'}台账-{month}.xlsx"


def safe_name(filename: str | None) -> str:
    """The uploaded file's own name (no directory, no control or path characters), its suffix one the desk takes."""
    name = _UNSAFE.sub("_", Path((filename or "").replace("\\", "/")).name).strip(" .") or "ledger"
    suffix = Path(name).suffix.lower()
    if suffix not in SUFFIXES:
        raise DeskError(f"{name}：台账应为 .xlsx、.xlsm、.xls、.ods 或 .csv 文件（WPS 的 .et 请另存为 .xlsx）")
    stem = Path(name).stem[:80]
    return stem + suffix


def _work_dir(settings: ServeSettings, upload_id: str) -> Path:
    where = Path(settings.state_dir) / "desk" / upload_id
    where.mkdir(parents=True, exist_ok=True, mode=0o700)
    return where


def plan_upload(settings: ServeSettings, user: User, sid: str, filename: str | None, data: bytes, month: str,
                received: pl.DataFrame | None = None) -> Upload:
    """Read the uploaded ledger, plan its import for the user's department against the log, and store the plan.

    Nothing is sent. A file that cannot be read (a hostile or broken workbook among them) is a
    :class:`DeskError` with the reader's reason; so is a month whose ledger cannot be imported yet.
    """
    department = department_of(user)
    check_month(month)
    name = safe_name(filename)
    if not data:
        raise DeskError(f"{name}：文件是空的")
    upload_id = secrets.token_urlsafe(18)
    path = _work_dir(settings, upload_id) / name
    path.write_bytes(data)
    try:
        cells = _read(path)
        folded = ledgers.fold_as_of(received_log(settings) if received is None else received,
                                    month_end_of(month)[0])
        sheet, result = ledgers.plan_import(cells, month, folded.state, ledgers.import_time(), trips=folded.trips,
                                            issues=folded.issues, department=department,
                                            submitted_by=user.username)
    except LedgerFileError as e:
        raise DeskError(f"无法导入 {name}：{e}") from e
    finally:
        path.unlink(missing_ok=True)
        path.parent.rmdir()
    plan = {"preview": preview(sheet, result), "events": [_event_of(e) for e in ledgers._every(result, "events")],
            "rejected": [_rejection_of(r) for r in ledgers._every(result, "rejected")]}
    upload = Upload(upload_id, user.username, sid, department, sheet.file, month, time.time(), PLANNED, plan, None)
    with database(settings.db) as db:
        db.execute("DELETE FROM desk_uploads WHERE created_at < ? AND status IN (?, ?)",
                   (time.time() - PLAN_TTL, PLANNED, FAILED))
        db.execute("INSERT INTO desk_uploads (id, username, sid, department, file, month, created_at, status, plan)"
                   " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   (upload.id, upload.username, sid, department, upload.file, month, upload.created_at, PLANNED,
                    json.dumps(plan, ensure_ascii=False, default=str)))
    log.info("desk: %s planned %s for %s: %d event(s), %d rejected row(s)", user.username, sheet.file, month,
             len(plan["events"]), len(plan["rejected"]))
    return find(settings, user, sid, upload.id)


def _read(path: Path):
    """The file's cells (:func:`streams.feeds.workbooks.read_ledger`, behind the hostile-workbook guard)."""
    from streams.feeds.workbooks import read_ledger

    try:
        return read_ledger(path)
    except LedgerFileError:
        raise
    except Exception as e:  # a reader's own failure on a damaged file: still one clear refusal
        log.warning("desk: %s could not be read: %r", path.name, e)
        raise LedgerFileError(f"{path.name}: the file could not be read as a workbook ({type(e).__name__}); "
                              f"open it in Excel or WPS and save it again as .xlsx") from e


def preview(sheet, result: LedgerImport) -> dict:
    """What the preview page shows: the accounting of every sheet, every rejected row and warning with its sheet
    and row, the skipped rows, and the events it will make (the first :data:`PREVIEW_EVENTS`; counts of all)."""
    doc = result.as_dict()
    events = [e.event for e in ledgers._every(result, "events")]
    doc["file"], doc["encoding"] = sheet.file, sheet.encoding
    doc["skipped_sheets"] = [s.as_dict() for s in sheet.skipped_sheets]
    doc["all_rejected_rows"] = [r.as_dict() for r in ledgers._every(result, "rejected")]
    doc["event_count"] = len(events)
    doc["event_list"] = [_shown(e) for e in events[:PREVIEW_EVENTS]]
    return doc


_SHOWN_APART = ("event_id", "event_type", "schema_version", "project_id", "trip_id", "occurred_at", "recorded_at",
                "source", "submitted_by")


def _shown(event: dict) -> dict:
    """An event as a preview lists it: type, project (or trip), when, and its other fields."""
    return {"type": event["event_type"], "key": event.get("project_id") or event.get("trip_id"),
            "occurred_at": event["occurred_at"],
            "fields": {k: v for k, v in event.items() if k not in _SHOWN_APART}}


def _event_of(made: LedgerEvent) -> dict:
    return {"sheet": made.sheet, "row": made.row, "event": made.event}


def _rejection_of(r: RowRejection) -> dict:
    return {"sheet": r.sheet, "row": r.row, "reason": r.reason, "detail": r.detail, "project_id": r.project_id,
            "cells": r.cells}


def planned_import(upload: Upload) -> LedgerImport:
    """The stored plan as an import :func:`streams.feeds.ledger_import.send` takes: its events and rejected rows."""
    result = LedgerImport(month=upload.month)
    result.events = [LedgerEvent(e["sheet"], e["row"], e["event"]) for e in upload.plan["events"]]
    result.rejected = [RowRejection(r["sheet"], r["row"], r["reason"], r["detail"], r["project_id"], r["cells"])
                       for r in upload.plan["rejected"]]
    return result


def find(settings: ServeSettings, user: User, sid: str, upload_id: str) -> Upload:
    """The user's own upload of this session; a :class:`DeskError` for anyone else's, or one that is gone."""
    with database(settings.db) as db:
        row = db.execute("SELECT * FROM desk_uploads WHERE id = ?", (upload_id,)).fetchone()
    if row is None or row["username"] != user.username or row["sid"] != sid:
        raise DeskError("找不到这次上传（已过期或不属于当前登录），请重新上传")
    return upload_of(row)


def confirm(settings: ServeSettings, user: User, sid: str, upload_id: str, sender: Sender | None = None) -> Upload:
    """Send a planned import, once: the first confirmation takes the plan (planned → sending) and sends it; any
    other finds it sending or sent and sends nothing. An expired plan is refused; a failed send may be retried."""
    upload = find(settings, user, sid, upload_id)
    with database(settings.db) as db:
        taken = db.execute("UPDATE desk_uploads SET status = ? WHERE id = ? AND status IN (?, ?) AND created_at >= ?",
                           (SENDING, upload_id, PLANNED, FAILED, time.time() - PLAN_TTL)).rowcount
    if not taken:
        upload = find(settings, user, sid, upload_id)
        if upload.status in (SENDING, SENT):
            return upload  # confirmed already: nothing is sent twice
        raise DeskError("这次上传的预览已过期（超过一小时），请重新上传")
    try:
        report = (sender or kafka_sender(settings))(upload.file, planned_import(upload), upload_id)
    except Exception as e:
        _finish(settings, upload_id, FAILED, {"error": str(e)})
        log.error("desk: sending %s (%s) failed: %s", upload.file, upload_id, e)
        raise DeskError(f"发送失败，未写入任何事件：{e}。可再次确认重试") from e
    _finish(settings, upload_id, SENT if report.get("ok", True) else FAILED, report)
    log.info("desk: %s confirmed %s: %s", user.username, upload.file, report)
    return find(settings, user, sid, upload_id)


def _finish(settings: ServeSettings, upload_id: str, status: str, report: dict) -> None:
    with database(settings.db) as db:
        db.execute("UPDATE desk_uploads SET status = ?, report = ? WHERE id = ?",
                   (status, json.dumps(report, ensure_ascii=False, default=str), upload_id))


def kafka_sender(settings: ServeSettings) -> Sender:
    """Send through ``funnel ledger import``'s transactional send (one transaction per upload), return its report."""
    def send(file: str, result: LedgerImport, upload_id: str) -> dict:
        from streams.kafkaio.producer import event_producer, transactional_id
        from streams.kafkaio.topics import ensure_topics, event_topics

        bootstrap = settings.bootstrap_servers or config.bootstrap_servers()
        ensure_topics(bootstrap, event_topics(settings.topic))
        producer = event_producer(bootstrap, transactional_id=transactional_id("ledger", settings.topic,
                                                                                [f"desk-{upload_id}"]))
        try:
            return ledgers.send(producer, settings.topic, file, result).as_dict()
        finally:
            producer.close(timeout=10)

    return send


def file_sender(out_dir: Path) -> Sender:
    """Write the events as JSON Lines instead (``funnel ledger import --out``): for tests and dry runs."""
    def send(file: str, result: LedgerImport, upload_id: str) -> dict:
        out = Path(out_dir) / f"{upload_id}.jsonl"
        ledgers.write_events(out, file, result)
        return {"ok": True, "delivered": len(result.events), "dead_lettered": len(result.rejected), "out": str(out)}

    return send


@dataclass(frozen=True)
class Outcome:
    """A confirmed upload's result as the page says it."""

    delivered: int
    dead_lettered: int
    ok: bool


def outcome(upload: Upload) -> Outcome | None:
    if upload.report is None:
        return None
    r = upload.report
    return Outcome(int(r.get("delivered", 0)), int(r.get("dead_lettered", 0)), bool(r.get("ok", True)))
