"""The desk's shell without the web: the filtered export, an upload planned for a department (nothing sent), the
plan kept for its own user and session, a confirmation that sends once; real workbooks written and read back."""

from __future__ import annotations

import io
import json
from pathlib import Path

import openpyxl
import pytest

from streams.core.log import received_log
from streams.serve.accounts.models import User
from streams.serve.desk import service
from streams.serve.desk.service import DeskError
from streams.serve.settings import ServeSettings
from tests.unit.history import RECEIVED, ev

COMMERCE, REFORM = "区商务局", "区发改委"
MONTH = "2024-03"
HISTORY = [
    ev("A", "planned", "2024-01-10", department=COMMERCE, leader="甲", investment_yuan=5_000_000),
    ev("A", "negotiating", "2024-02-01"),
    ev("B", "planned", "2023-06-01", department=REFORM, leader="乙", investment_yuan=9_000_000),
]
CLERK = User("clerk", "department", COMMERCE, "张三")
BUREAU = User("chief", "bureau", None, "李四")


@pytest.fixture()
def settings(tmp_path: Path) -> ServeSettings:
    return ServeSettings(db=tmp_path / "serve.sqlite3", secret="s" * 40, state_dir=tmp_path / "state")


@pytest.fixture()
def log():
    return received_log(enumerate([json.dumps(e, ensure_ascii=False).encode() for e in HISTORY], start=1), RECEIVED)


def sheet_ids(data: bytes) -> list[str]:
    book = openpyxl.load_workbook(io.BytesIO(data))
    rows = list(book["台账"].iter_rows(values_only=True))
    at = next(i for i, r in enumerate(rows) if "项目编号" in r)
    column = rows[at].index("项目编号")
    return [r[column] for r in rows[at + 1:] if r[column]]


def edited(data: bytes, changes: dict[str, str], extra: list | None = None) -> bytes:
    """The workbook with some projects' 项目阶段 changed (and a row added), saved again as Excel would."""
    book = openpyxl.load_workbook(io.BytesIO(data))
    sheet = book["台账"]
    rows = list(sheet.iter_rows())
    at = next(i for i, r in enumerate(rows) if any(c.value == "项目编号" for c in r))
    header = [c.value for c in rows[at]]
    for r in rows[at + 1:]:
        pid = r[header.index("项目编号")].value
        if pid in changes:
            r[header.index("项目阶段")].value = changes[pid]
    if extra:
        sheet.append([dict(extra).get(h) for h in header])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_a_department_downloads_its_own_projects_and_the_bureau_all(settings, log):
    assert sheet_ids(service.export_ledger(settings, CLERK, MONTH, log)) == ["A"]
    assert sheet_ids(service.export_ledger(settings, BUREAU, MONTH, log)) == ["A", "B"]
    with pytest.raises(DeskError):
        service.export_ledger(settings, User("v", "viewer", None, "看"), MONTH, log)


def test_an_upload_is_planned_for_the_department_and_nothing_is_sent_before_confirmation(settings, log, tmp_path):
    mine = service.export_ledger(settings, BUREAU, MONTH, log)  # the whole district's, B included
    data = edited(mine, {"A": "签约", "B": "开工"})
    upload = service.plan_upload(settings, CLERK, "sid-1", "区商务局3月台账.xlsx", data, MONTH, log)
    p = upload.preview
    assert (p["rows"], p["changed"], p["unchanged"], p["new"]) == (2, 1, 0, 0)
    assert [(r["reason"], r["sheet"], r["project_id"]) for r in p["rejected_rows"]] == \
        [("ledger_not_yours", "台账", "B")]
    assert [(e["type"], e["key"]) for e in p["event_list"]] == [("contract_signed", "A")]
    assert all(e["event"]["submitted_by"] == "clerk" for e in upload.plan["events"])
    assert upload.status == "planned" and not list(tmp_path.glob("out/*"))
    assert not list((settings.state_dir / "desk").glob("*/*"))  # the uploaded file is not kept


def test_a_confirmation_sends_once_and_only_for_its_own_user_and_session(settings, log, tmp_path):
    data = edited(service.export_ledger(settings, CLERK, MONTH, log), {"A": "签约"})
    upload = service.plan_upload(settings, CLERK, "sid-1", "t.xlsx", data, MONTH, log)
    sends = []

    def counted(file, result, upload_id):
        sends.append(upload_id)
        return service.file_sender(tmp_path / "out")(file, result, upload_id)

    with pytest.raises(DeskError):
        service.confirm(settings, CLERK, "another-session", upload.id, counted)
    with pytest.raises(DeskError):
        service.confirm(settings, User("other", "department", REFORM, "王五"), "sid-1", upload.id, counted)
    first = service.confirm(settings, CLERK, "sid-1", upload.id, counted)
    second = service.confirm(settings, CLERK, "sid-1", upload.id, counted)
    assert sends == [upload.id] and first.status == second.status == "sent"
    written = [json.loads(line) for line in (tmp_path / "out" / f"{upload.id}.jsonl").read_text().splitlines()]
    assert [(e["event_type"], e["project_id"], e["submitted_by"]) for e in written] == \
        [("contract_signed", "A", "clerk")]


def test_an_expired_plan_is_refused_and_a_failed_send_may_be_confirmed_again(settings, log, tmp_path, monkeypatch):
    data = edited(service.export_ledger(settings, CLERK, MONTH, log), {"A": "签约"})
    upload = service.plan_upload(settings, CLERK, "sid-1", "t.xlsx", data, MONTH, log)

    def broken(file, result, upload_id):
        raise ConnectionError("broker gone")

    with pytest.raises(DeskError, match="发送失败"):
        service.confirm(settings, CLERK, "sid-1", upload.id, broken)
    assert service.confirm(settings, CLERK, "sid-1", upload.id, service.file_sender(tmp_path)).status == "sent"
    later = service.plan_upload(settings, CLERK, "sid-1", "t.xlsx", data, MONTH, log)
    monkeypatch.setattr(service, "PLAN_TTL", -1)
    with pytest.raises(DeskError, match="过期"):
        service.confirm(settings, CLERK, "sid-1", later.id, service.file_sender(tmp_path))


@pytest.mark.parametrize("name, data, says", [
    ("ledger.et", b"whatever", ".et"), ("../../etc/passwd", b"x", "台账应为"),
    ("broken.xlsx", b"PK\x03\x04 not really a zip", "无法导入"), ("empty.xlsx", b"", "空"),
])
def test_a_file_the_desk_cannot_read_is_one_clear_error_and_nothing_is_planned(settings, log, name, data, says):
    with pytest.raises(DeskError, match=says):
        service.plan_upload(settings, CLERK, "sid-1", name, data, MONTH, log)


def test_a_month_not_ended_yet_cannot_be_handed_in(settings, log):
    data = service.export_ledger(settings, CLERK, MONTH, log)
    with pytest.raises(DeskError, match="无法导入"):
        service.plan_upload(settings, CLERK, "sid-1", "t.xlsx", data, "2099-01", log)
    with pytest.raises(DeskError, match="YYYY-MM"):
        service.plan_upload(settings, CLERK, "sid-1", "t.xlsx", data, "2024-13", log)


def test_two_confirmations_at_once_send_once(settings, log, tmp_path):
    import threading
    import time

    data = edited(service.export_ledger(settings, CLERK, MONTH, log), {"A": "签约"})
    upload = service.plan_upload(settings, CLERK, "sid-1", "t.xlsx", data, MONTH, log)
    sends, start = [], threading.Barrier(2)

    def slow(file, result, upload_id):
        sends.append(upload_id)
        time.sleep(0.5)  # the other confirmation arrives while this one is sending
        return service.file_sender(tmp_path / "out")(file, result, upload_id)

    def confirm():
        start.wait()
        service.confirm(settings, CLERK, "sid-1", upload.id, slow)

    threads = [threading.Thread(target=confirm) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sends == [upload.id]
    assert service.find(settings, CLERK, "sid-1", upload.id).status == "sent"
