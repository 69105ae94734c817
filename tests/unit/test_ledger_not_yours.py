"""Issue 24: a department imports only rows of its own projects (``ledger_not_yours``); the bureau imports for all.

Given this history and this ledger: which rows an import for a department rejects (project sheets, 问题清单 and
外出招商), named by sheet and row and counted in the accounting; and who submitted the events.
"""

from __future__ import annotations

import json

from streams.contract.acceptance import Rejection, check_event
from streams.core.ledger import month_end_of, not_yours, submitted
from streams.core.ledger_issues import import_issues
from streams.core.ledger_layout import other_layouts
from streams.core.ledger_trips import import_trips
from tests.unit.history import ev, fold
from tests.unit.test_ledger import HEADER, MONTH, NOW, row
from tests.unit.test_ledger_section_11 import ISSUE_HEADER, TRIP_HEADER, irow, sheet_of, trow
from tests.unit.test_trips_and_bottlenecks import issue, trip

COMMERCE, REFORM = "区商务局", "区发改委"
HISTORY = [
    ev("A", "planned", "2024-01-10", department=COMMERCE, leader="甲", investment_yuan=5_000_000),
    ev("B", "planned", "2023-06-01", department=REFORM, leader="乙"), ev("B", "signed", "2023-09-01"),
    # C moved from the bureau of commerce to the reform commission before the month's end: it is theirs now
    ev("C", "planned", "2023-05-01", department=COMMERCE),
    ev("C", "reassigned", "2024-03-10", department=REFORM, leader="丙"),
    ev("D", "planned", "2023-05-01"),  # no department as of E
    issue("A", "raised", "Q1", "2024-02-01", category="land"),
    issue("B", "raised", "Q1", "2024-02-01", category="funding"),
    trip("T1", "2024-03-07", "team", "2024-03-04", "2024-03-06", department=COMMERCE),
    trip("T2", "2024-03-08", "team", "2024-03-01", "2024-03-02", department=REFORM),
]


def run(rows: list[list], department: str | None):
    state = fold(HISTORY, as_of=month_end_of(MONTH)[0].isoformat()).state
    return import_ledger_for(rows, state, department)


def import_ledger_for(rows, state, department):
    from streams.core.ledger import import_sheets
    from streams.core.ledger_layout import SheetLayout, normalise_header, sheet_pool

    layout = SheetLayout("台账", 1, [normalise_header(h) for h in HEADER], None, sheet_pool("台账"),
                         list(enumerate(rows, start=2)))
    return import_sheets([layout], state, MONTH, NOW, "ledger:t.xlsx", department=department)


def rows_of_every_department() -> list[list]:
    return [row("A", "签约"), row("B", "开工"), row("C", "开工"), row("D", "洽谈"),
            row("N", "谋划", 项目名称="新项目", 所属行业="电子信息"),
            row("M", "谋划", 项目名称="别人的新项目", 所属行业="电子信息", 责任单位=REFORM)]


def adds_up(result) -> bool:
    return result.rows == result.unchanged + result.changed + result.new + len(result.rejected)


def test_a_department_is_refused_the_rows_of_another_departments_projects_by_sheet_and_row():
    result = run(rows_of_every_department(), COMMERCE)
    refused = [(r.sheet, r.row, r.project_id) for r in result.rejected if r.reason == "ledger_not_yours"]
    # B is the commission's, C became theirs on 03-10 (as of E), M names them as its 责任单位
    assert refused == [("台账", 3, "B"), ("台账", 4, "C"), ("台账", 7, "M")]
    assert all(REFORM in r.detail for r in result.rejected)
    assert {e.event["project_id"] for e in result.events} == {"A", "D", "N"}
    assert (result.rows, result.changed, result.new, len(result.rejected)) == (6, 2, 1, 3) and adds_up(result)
    # a rejected row keeps its cells, as every rejected row does (its dead letter)
    assert result.rejected[0].cells["项目编号"] == "B"


def test_a_new_project_is_planned_for_the_department_that_imports_it():
    result = run(rows_of_every_department(), COMMERCE)
    planned = [e.event for e in result.events if e.event["event_type"] == "project_planned"]
    assert [(e["project_id"], e.get("department")) for e in planned] == [("N", COMMERCE)]
    named = run([row("N", "谋划", 项目名称="新项目", 所属行业="电子信息", 责任单位=COMMERCE)], COMMERCE)
    assert [e.event.get("department") for e in named.events] == [COMMERCE] and named.rejected == []


def test_the_bureau_imports_every_row_and_a_department_may_not_hand_its_project_to_another():
    bureau = run(rows_of_every_department(), None)
    assert bureau.rejected == [] and bureau.new == 2 and adds_up(bureau)
    hand_over = run([row("A", "洽谈", 责任单位=REFORM)], COMMERCE)
    assert [(r.reason, r.project_id) for r in hand_over.rejected] == [("ledger_not_yours", "A")]
    assert hand_over.events == []
    assert [e.event["event_type"] for e in run([row("A", "洽谈", 责任单位=REFORM)], None).events] == \
        ["negotiation_started", "project_reassigned"]


def test_the_other_department_imports_the_same_rows_the_first_was_refused():
    result = run(rows_of_every_department(), REFORM)
    assert [r.project_id for r in result.rejected] == ["A"]  # N: new, its 责任单位 empty → the importer's
    planned = {e.event["project_id"]: e.event.get("department") for e in result.events
               if e.event["event_type"] == "project_planned"}
    assert planned == {"N": REFORM, "M": REFORM}


def test_a_department_ledger_warns_only_of_its_own_projects_missing():
    rows = [row("A", "谋划", 责任单位=COMMERCE), row("B", "签约", 责任单位=REFORM)]
    warned = {w.project_id for w in run(rows, COMMERCE).warnings if w.kind == "missing_from_ledger"}
    assert warned == set()  # C is the commission's as of E: not the commerce bureau's to answer for
    assert {w.project_id for w in run(rows, None).warnings if w.kind == "missing_from_ledger"} == {"C"}


def issues_for(rows: list[dict], department: str | None):
    folded = fold(HISTORY, as_of=month_end_of(MONTH)[0].isoformat())
    layout = other_layouts("t.xlsx", [sheet_of("问题清单", ISSUE_HEADER, rows)])["问题清单"]
    return import_issues(layout, folded.issues, folded.state, MONTH, NOW, "ledger:t.xlsx", department)


def test_a_problem_of_another_departments_project_is_refused_on_the_problem_list():
    rows = [irow("A", "Q1", "已办结", 序号=1), irow("B", "Q1", "已办结", 序号=2),
            irow("A", "Q2", 问题类别="资金", 牵头单位=REFORM, 序号=3)]
    result = issues_for(rows, COMMERCE)
    assert [(r.reason, r.row, r.project_id) for r in result.rejected] == [("ledger_not_yours", 3, "B")]
    # 牵头单位 names the issue's lead department, not the project's owner: A's Q2 is the commerce bureau's
    assert [(e.event["project_id"], e.event["event_type"]) for e in result.events] == \
        [("A", "issue_resolved"), ("A", "issue_raised")]
    assert result.rows == result.unchanged + result.changed + result.new + len(result.rejected) == 3
    assert issues_for(rows, None).rejected == []


def test_a_trip_another_department_organised_is_refused_on_the_trip_register():
    folded = fold(HISTORY, as_of=month_end_of(MONTH)[0].isoformat())
    rows = [trow("T1", 人数=4), trow("T2", 人数=5),
            trow("T3", 类型="小分队", 组织单位=REFORM, 出发日期="2024-03-10", 返回日期="2024-03-11")]
    layout = other_layouts("t.xlsx", [sheet_of("外出招商", TRIP_HEADER, rows)])["外出招商"]
    result = import_trips(layout, folded.trips, MONTH, NOW, "ledger:t.xlsx", COMMERCE)
    assert [(r.reason, r.row) for r in result.rejected] == [("ledger_not_yours", 3), ("ledger_not_yours", 4)]
    assert [e.event["trip_id"] for e in result.events] == ["T1"]
    assert len(import_trips(layout, folded.trips, MONTH, NOW, "ledger:t.xlsx").events) == 3


def test_the_rule_itself():
    assert not_yours(None, REFORM, REFORM) is None
    assert not_yours(COMMERCE, COMMERCE, None) is None and not_yours(COMMERCE, None, None) is None
    assert REFORM in not_yours(COMMERCE, REFORM, COMMERCE) and REFORM in not_yours(COMMERCE, None, REFORM)


def test_the_events_carry_who_submitted_them_and_pass_the_contract_with_the_same_ids():
    result = run([row("A", "签约"), row("N", "谋划", 项目名称="新项目", 所属行业="电子信息")], COMMERCE)
    signed = submitted(result.events, "张三")
    assert [e.event["submitted_by"] for e in signed] == ["张三", "张三"]
    assert [e.event["event_id"] for e in signed] == [e.event["event_id"] for e in result.events]
    assert all("submitted_by" not in e.event for e in result.events)  # the plan itself is not changed
    for e in signed:
        assert not isinstance(check_event(json.loads(json.dumps(e.event, ensure_ascii=False)), NOW), Rejection)
    assert submitted(result.events, None) == result.events


def test_the_same_event_handed_in_by_someone_else_is_a_duplicate_and_an_empty_submitter_breaks_the_contract():
    from streams.core.log import received_log
    from tests.unit.history import RECEIVED

    first = ev("A", "planned", "2024-01-10", event_id="x1", submitted_by="张三")
    again = {**first, "submitted_by": "李四", "source": "ledger:other.xlsx"}
    log = received_log(enumerate([json.dumps(e, ensure_ascii=False).encode() for e in (first, again)], start=1),
                       RECEIVED)
    assert log["reason"].to_list() == [None, None]  # both pass the contract
    assert log["content"][0] == log["content"][1]  # the same content: settled as a duplicate, not a conflict
    changed = {**first, "name": "another name", "submitted_by": "李四"}
    other = received_log([(1, json.dumps(changed, ensure_ascii=False).encode())], RECEIVED)
    assert other["content"][0] != log["content"][0]
    assert isinstance(check_event({**first, "submitted_by": ""}, NOW), Rejection)
    assert isinstance(check_event({**first, "submitted_by": 7}, NOW), Rejection)


def test_funnel_ledger_import_for_a_department_writes_only_its_rows_events_with_the_submitter(tmp_path):
    import csv

    from click.testing import CliRunner

    from streams.cli import main

    feed = tmp_path / "history.jsonl"
    feed.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in HISTORY), encoding="utf-8")
    ledger = tmp_path / "台账.csv"
    with ledger.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([["项目编号", "项目阶段"], ["A", "签约"], ["B", "开工"]])
    out = tmp_path / "events.jsonl"
    done = CliRunner().invoke(main, ["ledger", "import", str(ledger), "--month", MONTH, "--from-file", str(feed),
                                     "--out", str(out), "--department", COMMERCE, "--submitted-by", "张三", "--json"],
                              catch_exceptions=False)
    assert done.exit_code == 0, done.output
    doc = json.loads(done.output)
    assert doc["rejected"] == {"ledger_not_yours": 1} and doc["rows"] == 2 and doc["changed"] == 1
    events = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [(e["project_id"], e["event_type"], e["submitted_by"]) for e in events] == \
        [("A", "contract_signed", "张三")]
    dead = [json.loads(line) for line in out.with_name(out.name + ".rejected.jsonl").read_text().splitlines()]
    assert [(d["project_id"], d["reason"], d["row"]) for d in dead] == [("B", "ledger_not_yours", 3)]
