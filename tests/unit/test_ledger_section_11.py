"""DOMAIN.md §11, given this history and this sheet: the 问题清单 and 外出招商 sheets of a ledger workbook, their
events, rejections and accounting, and the export that re-imports to nothing."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone

import pytest

from streams.contract.acceptance import Rejection, check_event
from streams.core.ledger import month_end_of
from streams.core.ledger_issues import import_issues, issue_rows
from streams.core.ledger_layout import LedgerFileError, SheetCells, other_layouts
from streams.core.ledger_trips import import_trips, trip_rows
from tests.unit.history import ev, fold
from tests.unit.test_trips_and_bottlenecks import issue, trip, withdrawn

MONTH = "2024-03"
END = "2024-03-31T23:59:59+08:00"
NOW = datetime(2024, 4, 2, 9, tzinfo=timezone.utc)
ISSUE_HEADER = ["序号", "项目编号", "问题编号", "问题类别", "问题描述", "牵头单位", "办结时限", "提出日期", "状态",
                "办结日期", "办理情况"]
TRIP_HEADER = ["序号", "出访编号", "类型", "小分队", "带队领导", "组织单位", "出发日期", "返回日期", "人数", "目的地",
               "区域", "拜访企业数", "收集线索", "有效线索"]
PROJECTS = [ev("A", "planned", "2024-01-10"), ev("B", "planned", "2024-01-11")]
ISSUES = [*PROJECTS,
          issue("A", "raised", "Q1", "2024-02-01", category="land", department="区自然资源局", due="2024-04-30",
                description="用地指标不足"),
          issue("A", "raised", "Q2", "2024-02-03", category="funding"),
          issue("A", "resolved", "Q2", "2024-02-20"),
          issue("B", "raised", "Q1", "2024-01-20T08:00:00.123456+08:00", category="planning")]
TRIPS = [trip("T1", "2024-03-07", "team", "2024-03-04", "2024-03-06", team="电子信息组", people=3,
              destinations=["上海", "苏州"], companies_visited=8),
         trip("T2", "2024-02-10", "leader_led", "2024-02-05", "2024-02-07"), withdrawn("T2", "2024-02-20")]


def sheet_of(name: str, header: list, rows: list[dict], above: list[list] = ()) -> SheetCells:
    return SheetCells(name, [*above, header, *([r.get(h) for h in header] for r in rows)])


def issues_import(rows: list[dict], history: list[dict] = ISSUES, month: str = MONTH, above: list[list] = ()):
    result = fold(history, as_of=month_end_of(month)[0].isoformat())
    layout = other_layouts("t.xlsx", [sheet_of("问题清单", ISSUE_HEADER, rows, above)])["问题清单"]
    return import_issues(layout, result.issues, result.state, month, NOW, "ledger:t.xlsx")


def trips_import(rows: list[dict], history: list[dict] = TRIPS, month: str = MONTH):
    result = fold(history, as_of=month_end_of(month)[0].isoformat())
    layout = other_layouts("t.xlsx", [sheet_of("外出招商", TRIP_HEADER, rows)])["外出招商"]
    return import_trips(layout, result.trips, month, NOW, "ledger:t.xlsx")


def irow(project: str, issue_id: str, status: str = "未办结", **cells) -> dict:
    return {"项目编号": project, "问题编号": issue_id, "状态": status, **cells}


def trow(trip_id, **cells) -> dict:
    return {"出访编号": trip_id, **cells}


def made(result) -> list[tuple]:
    """(type, occurred_at, payload) of each event made, in order; each passes the contract (§3)."""
    out = []
    for e in result.events:
        assert not isinstance(check_event(json.loads(json.dumps(e.event, ensure_ascii=False)), NOW), Rejection)
        assert e.event["source"].startswith("ledger:") and e.event["recorded_at"] == "2024-04-02T09:00:00+00:00"
        payload = {k: v for k, v in e.event.items()
                   if k not in ("event_id", "event_type", "schema_version", "occurred_at", "recorded_at", "source")}
        out.append((e.event["event_type"], e.event["occurred_at"], payload))
    return out


def accounting(result) -> tuple:
    assert result.rows == result.unchanged + result.changed + result.new + len(result.rejected)
    return result.rows, result.unchanged, result.changed, result.new, len(result.rejected)


# ------------------------------------------------------------------------------------------------ 问题清单

def test_a_problem_list_that_says_what_the_log_knows_makes_no_event():
    result = issues_import([irow("A", "Q1", 问题类别="土地", 牵头单位="区自然资源局", 办结时限="2024-04-30"),
                            irow("A", "Q2", "已办结"), irow("B", "Q1", 问题类别="规划", 问题描述="另写的描述")])
    assert made(result) == [] and accounting(result) == (3, 3, 0, 0, 0)


def test_a_new_issue_is_raised_at_its_date_with_the_rows_cells_and_resolved_when_done():
    result = issues_import([irow("B", "Q9", 问题类别="要素保障", 问题描述="电力增容", 牵头单位="区发改委",
                                 办结时限=date(2024, 6, 30), 提出日期=date(2024, 3, 2)),
                            irow("A", "Q8", "已办结", 问题类别="审批", 提出日期="2024-03-05", 办结日期="2024-03-09",
                                 办理情况="已协调"),
                            irow("A", "Q7", 问题类别="技术")])
    assert made(result) == [
        ("issue_raised", "2024-03-02T00:00:00+08:00",
         {"project_id": "B", "issue_id": "Q9", "category": "utilities", "description": "电力增容",
          "department": "区发改委", "due": "2024-06-30"}),
        ("issue_raised", "2024-03-05T00:00:00+08:00", {"project_id": "A", "issue_id": "Q8", "category": "approval"}),
        ("issue_resolved", "2024-03-09T00:00:00+08:00", {"project_id": "A", "issue_id": "Q8", "resolution": "已协调"}),
        ("issue_raised", END, {"project_id": "A", "issue_id": "Q7", "category": "technology"}),
    ]
    assert accounting(result) == (3, 0, 0, 3, 0)


def test_a_changed_attribute_of_an_open_issue_raises_it_again_with_its_standing_values_replaced():
    result = issues_import([irow("A", "Q1", 牵头单位="区住建局", 问题描述="新的描述")])
    assert made(result) == [("issue_raised", END, {
        "project_id": "A", "issue_id": "Q1", "category": "land", "description": "新的描述", "department": "区住建局",
        "due": "2024-04-30"})]
    assert accounting(result) == (1, 0, 1, 0, 0)


def test_a_different_description_alone_and_what_a_row_does_not_compare_make_no_event():
    result = issues_import([irow("A", "Q1", 问题描述="别的说法", 提出日期="2024-01-01", 办结日期="2024-03-01",
                                 办理情况="正在办"),
                            irow("A", "Q2", "已办结", 问题类别="资金", 牵头单位="别的单位", 办结日期="2024-03-30")])
    assert made(result) == [] and accounting(result) == (2, 2, 0, 0, 0)


def test_a_resolution_stands_at_the_later_of_its_date_and_the_latest_raise():
    result = issues_import([irow("A", "Q1", "已办结", 办结日期="2024-01-15", 牵头单位="另一单位"),
                            irow("B", "Q1", "已办结", 办结日期="2024-01-20"),
                            irow("A", "Q5", "已办结", 问题类别="其他", 提出日期="2024-03-10")])
    assert made(result) == [
        ("issue_resolved", "2024-02-01T12:00:00+08:00", {"project_id": "A", "issue_id": "Q1"}),  # only a resolution
        ("issue_resolved", "2024-01-20T08:00:00.123456+08:00", {"project_id": "B", "issue_id": "Q1"}),
        ("issue_raised", "2024-03-10T00:00:00+08:00", {"project_id": "A", "issue_id": "Q5", "category": "other"}),
        ("issue_resolved", END, {"project_id": "A", "issue_id": "Q5"}),
    ]
    # and they stand: the issues are resolved after the import, which re-imports to nothing
    after = fold([*ISSUES, *(e.event for e in result.events)], as_of="2024-03-31").issues
    assert after.filter(after["open"]).select("project_id", "issue_id").rows() == []
    again = issues_import([irow("A", "Q1", "已办结"), irow("B", "Q1", "已办结"), irow("A", "Q5", "已办结")],
                          [*ISSUES, *(e.event for e in result.events)])
    assert made(again) == []


def test_a_resolved_issue_listed_open_is_reopened_with_its_latest_raises_values():
    result = issues_import([irow("A", "Q2", 牵头单位="区财政局")])
    assert made(result) == [("issue_raised", END, {"project_id": "A", "issue_id": "Q2", "category": "funding",
                                                   "department": "区财政局"})]
    assert accounting(result) == (1, 0, 1, 0, 0)
    after = fold([*ISSUES, *(e.event for e in result.events)], as_of="2024-03-31").issues
    assert after.filter((after["project_id"] == "A") & (after["issue_id"] == "Q2"))["open"].to_list() == [True]


@pytest.mark.parametrize("cells, detail", [
    (irow(None, "Q1"), "项目编号 is empty"),
    (irow("A", None), "问题编号 is empty"),
    (irow("A", "Q1", None), "状态 is empty"),
    (irow("A", "Q1", "办理中"), "状态 '办理中'"),
    (irow("A", "Q1", 问题类别="交通"), "问题类别 '交通'"),
    (irow("A", "Q6"), "问题类别 is empty"),
    (irow("A", "Q1", 提出日期="2024/03/01"), "提出日期"),
    (irow("A", "Q1", "已办结", 办结日期="2024-04-01"), "falls after the ledger's month"),
    (irow("A", "Q6", "已办结", 问题类别="土地", 提出日期="2024-03-05", 办结日期="2024-03-01"), "before 提出日期"),
    (irow("Z", "Q1", 问题类别="土地"), "unknown project Z"),
    (irow("A", "Q1", 办结时限="明年"), "办结时限"),
])
def test_a_problem_row_that_cannot_be_used_is_rejected_with_its_row_and_reason(cells, detail):
    result = issues_import([cells])
    assert [(r.sheet, r.row, r.reason) for r in result.rejected] == [("问题清单", 2, "ledger_schema")]
    assert detail in result.rejected[0].detail and result.events == []
    assert accounting(result) == (1, 0, 0, 0, 1)


def test_a_due_date_may_lie_after_the_month():
    result = issues_import([irow("A", "Q1", 办结时限="2025-01-31")])
    assert [e.event["due"] for e in result.events] == ["2025-01-31"]


def test_the_same_issue_again_is_a_duplicate_unless_the_earlier_row_was_rejected():
    result = issues_import([irow("A", "Q1", "办理中"), irow("A", "Q1", 牵头单位="甲"), irow("A", "Q1", 牵头单位="乙"),
                            irow("B", "Q1")])  # B's Q1 is another issue
    assert [(r.row, r.reason) for r in result.rejected] == [(2, "ledger_schema"), (4, "ledger_duplicate_row")]
    assert [e.event["department"] for e in result.events] == ["甲"]
    assert accounting(result) == (4, 1, 1, 0, 2)


def test_a_row_whose_cells_read_stands_even_when_the_log_rejects_it():
    """A decision where §11 is silent, as §7's project rows: which row stands does not depend on the log, so a
    second import of the same sheet judges the same rows (a trip that does not count yet needs its 类型)."""
    result = trips_import([trow("T2", 有效线索=0), trow("T2", 类型="小分队", 出发日期="2024-03-01", 返回日期="2024-03-05")])
    assert [(r.row, r.reason) for r in result.rejected] == [(2, "ledger_schema"), (3, "ledger_duplicate_row")]
    issues = issues_import([irow("Z", "Q1", 问题类别="土地"), irow("Z", "Q1", 问题类别="资金")])
    assert [(r.row, r.reason) for r in issues.rejected] == [(2, "ledger_schema"), (3, "ledger_duplicate_row")]


def test_a_duplicate_is_tested_right_after_the_id():
    result = issues_import([irow("A", "Q1"), irow("A", "Q1", "办理中")])
    assert [(r.row, r.reason) for r in result.rejected] == [(3, "ledger_duplicate_row")]


def test_titles_totals_blank_rows_and_notes_after_the_last_id_are_skipped_not_rows():
    rows = [irow("A", "Q1"), {"序号": "合计", "问题编号": "2"}, {}, {"序号": "填表说明：状态填未办结或已办结"},
            {"序号": "联系人：张三"}]
    result = issues_import(rows, above=[["二七区重点项目问题清单"], ["填报单位：区商务局"]])
    assert result.header_row == 3
    assert [(s.row, s.kind) for s in result.skipped] == [(5, "total"), (6, "blank"), (7, "note"), (8, "note")]
    assert accounting(result) == (1, 1, 0, 0, 0)


def test_a_sheet_without_its_header_is_refused_by_name():
    with pytest.raises(LedgerFileError, match="问题清单 has no header row .*问题编号"):
        other_layouts("t.xlsx", [SheetCells("问题清单", [["项目编号", "问题"], ["A", "x"]])])


def test_the_issue_sheets_header_is_found_by_its_own_id_with_spaces_and_line_breaks_removed():
    header = [h if h != "问题编号" else "问题\n编 号" for h in ISSUE_HEADER]
    layout = other_layouts("t.xlsx", [SheetCells("问题清单", [["项目编号 说明"], header, [None, "A", "Q1"]])])["问题清单"]
    assert layout.header_row == 2 and layout.rows == [(3, [None, "A", "Q1"])]


# ------------------------------------------------------------------------------------------------ 外出招商

def test_a_register_that_says_what_the_log_knows_makes_no_event():
    result = trips_import([trow("T1", 类型="小分队", 小分队="电子信息组", 出发日期=date(2024, 3, 4), 人数=3.0,
                                目的地="上海、苏州", 拜访企业数="8")])
    assert made(result) == [] and accounting(result) == (1, 1, 0, 0, 0)


def test_a_changed_cell_reports_the_trip_again_with_the_standing_values_replaced():
    result = trips_import([trow("T1", 有效线索=2, 目的地="上海；苏州;无锡")])
    assert made(result) == [("trip_reported", END, {
        "trip_id": "T1", "kind": "team", "departed": "2024-03-04", "returned": "2024-03-06", "team": "电子信息组",
        "people": 3, "destinations": ["上海", "苏州", "无锡"], "companies_visited": 8, "valid_leads": 2})]
    assert accounting(result) == (1, 0, 1, 0, 0)


@pytest.mark.parametrize("cell", [{"区域": "长三角"}, {"带队领导": "王"}, {"目的地": "苏州，上海"}, {"目的地": "上海"}])
def test_an_absent_field_or_a_list_in_another_order_differs(cell):
    assert len(trips_import([trow("T1", **cell)]).events) == 1


def test_a_withdrawn_or_unknown_trip_is_reported_from_the_row_alone():
    result = trips_import([trow("T2", 类型="其他", 出发日期="2024-03-01", 返回日期="2024-03-01"),
                           trow(1001, 类型="党政主要领导带队", 出发日期="2024-03-11", 返回日期="2024-03-12", 人数="5",
                                目的地="深圳, 广州", 区域="粤港澳大湾区", 组织单位="区商务局")])
    assert made(result) == [
        ("trip_reported", END, {"trip_id": "T2", "kind": "other", "departed": "2024-03-01",
                                "returned": "2024-03-01"}),
        ("trip_reported", END, {"trip_id": "1001", "kind": "leader_led", "department": "区商务局",
                                "departed": "2024-03-11", "returned": "2024-03-12", "people": 5,
                                "destinations": ["深圳", "广州"], "region": "粤港澳大湾区"})]
    assert accounting(result) == (2, 0, 0, 2, 0)
    after = fold([*TRIPS, *(e.event for e in result.events)], as_of="2024-03-31").trips
    assert sorted(after.filter(after["counts"])["trip_id"].to_list()) == ["1001", "T1", "T2"]


@pytest.mark.parametrize("cells, detail", [
    (trow(None, 类型="小分队"), "出访编号 is empty"),
    (trow("T9", 出发日期="2024-03-01", 返回日期="2024-03-02"), "类型 missing"),
    (trow("T9", 类型="小分队", 返回日期="2024-03-02"), "出发日期 missing"),
    (trow("T9", 类型="考察", 出发日期="2024-03-01", 返回日期="2024-03-02"), "类型 '考察'"),
    (trow("T1", 出发日期="2024-04-01"), "falls after the ledger's month"),
    (trow("T1", 返回日期="2024-03-01"), "返回日期 2024-03-01 is before 出发日期 2024-03-04"),
    (trow("T1", 人数=0), "人数 0 is below 1"),
    (trow("T1", 收集线索=-1), "negative"),
    (trow("T1", 收集线索=2.5), "not a whole number"),
    (trow("T1", 拜访企业数="五"), "not a whole number"),
    (trow("T1", 出发日期="3月4日"), "出发日期"),
])
def test_a_trip_row_that_cannot_be_used_is_rejected_with_its_row_and_reason(cells, detail):
    result = trips_import([cells])
    assert [(r.sheet, r.row, r.reason) for r in result.rejected] == [("外出招商", 2, "ledger_schema")]
    assert detail in result.rejected[0].detail and result.events == []


def test_the_first_row_of_a_trip_stands():
    result = trips_import([trow("T1", 区域="长三角"), trow("T1", 区域="京津冀")])
    assert [(r.row, r.reason) for r in result.rejected] == [(3, "ledger_duplicate_row")]
    assert [e.event["region"] for e in result.events] == ["长三角"]


def test_a_report_in_the_log_at_e_is_compared_with_and_an_unchanged_row_repeats_nothing():
    history = [trip("T1", END, people=2)]
    assert trips_import([trow("T1", 人数=2)], history).events == []


# ------------------------------------------------------------------------------------------------ export

def test_the_exported_sheets_import_to_nothing_and_an_edit_to_exactly_its_event():
    history = [*ISSUES, *TRIPS, issue("Z", "raised", "Q1", "2024-02-01")]  # Z: an orphan's issue is not exported
    result = fold(history, as_of="2024-03-31")
    issues, trips = issue_rows(result.issues, result.state), trip_rows(result.trips)
    assert [(r["项目编号"], r["问题编号"], r["状态"], r["问题类别"]) for r in issues] == [
        ("A", "Q1", "未办结", "土地"), ("A", "Q2", "已办结", "资金"), ("B", "Q1", "未办结", "规划")]
    assert [(r["出访编号"], r["类型"], r["目的地"]) for r in trips] == [("T1", "小分队", "上海、苏州")]
    again = issues_import(issues, history)
    assert made(again) == [] and accounting(again) == (3, 3, 0, 0, 0)
    back = trips_import(trips, history)
    assert made(back) == [] and accounting(back) == (1, 1, 0, 0, 0)
    edited = [r | {"办结时限": date(2024, 5, 31)} if r["问题编号"] == "Q1" and r["项目编号"] == "A" else r
              for r in issues]
    assert [(e.event["issue_id"], e.event["due"]) for e in issues_import(edited, history).events] == [
        ("Q1", "2024-05-31")]


# ------------------------------------------------------------------------------------------------ files

def _office_workbook(path):
    """A month's workbook as an office makes it in Excel: a title, a unit line, the ledger, both §11 sheets."""
    from openpyxl import Workbook

    book = Workbook()
    book.active.title = "台账"
    for line in (["二七区招商项目台账"], ["填报单位：区商务局"], ["项目编号", "项目名称", "所属行业", "项目阶段"],
                 ["A", "project A", "现代商贸", "谋划"], ["B", "project B", "现代商贸", "谋划"]):
        book.active.append(line)
    issues = book.create_sheet("问题清单")
    for line in (["重点项目问题清单（2024年3月）"], [], ISSUE_HEADER,
                 [1, "A", "Q1", "土地", "用地指标不足", "区自然资源局", datetime(2024, 4, 30), None, "未办结"],
                 [2, "A", "Q2", None, None, None, None, None, "已办结"],
                 [3, "B", "Q3", "审批手续", "环评", None, None, datetime(2024, 3, 3), "已办结", datetime(2024, 3, 8),
                  "已批复"],
                 ["合计", None, "3项"], ["填报人：李四"]):
        issues.append(line)
    trips = book.create_sheet("外出招商")
    for line in (TRIP_HEADER,
                 [1, "T1", "小分队", "电子信息组", None, None, datetime(2024, 3, 4), datetime(2024, 3, 6), 3,
                  "上海、苏州", None, 8],
                 [2, 1002, "党政主要领导带队", None, "区长", "区政府", datetime(2024, 3, 20), datetime(2024, 3, 21), 6,
                  "深圳，东莞", "粤港澳大湾区", 4, 6, 2],
                 ["小计"]):
        trips.append(line)
    book.save(path)
    return path


def _xls_workbook(path):
    """The same §11 sheets from Excel 97-2003 (xlwt), dates as Excel dates."""
    import xlwt

    book = xlwt.Workbook(encoding="utf-8")
    style = xlwt.easyxf(num_format_str="YYYY-MM-DD")
    ledger = book.add_sheet("台账")
    for j, v in enumerate(["项目编号", "项目阶段"]):
        ledger.write(0, j, v)
    ledger.write(1, 0, "A"), ledger.write(1, 1, "谋划")
    issues = book.add_sheet("问题清单")
    for j, v in enumerate(ISSUE_HEADER):
        issues.write(0, j, v)
    for j, v in enumerate([1, "A", "Q1", "土地", None, "区自然资源局", datetime(2024, 4, 30), None, "未办结"]):
        issues.write(1, j, v, style if isinstance(v, datetime) else xlwt.Style.default_style)
    trips = book.add_sheet("外出招商")
    for j, v in enumerate(TRIP_HEADER):
        trips.write(0, j, v)
    for j, v in enumerate([1, 1003, "其他", None, None, None, datetime(2024, 3, 1), datetime(2024, 3, 2), 2, "郑州"]):
        trips.write(1, j, v, style if isinstance(v, datetime) else xlwt.Style.default_style)
    book.save(str(path))
    return path


def _planned(path, history):
    from streams.feeds import ledger_import as ledgers

    result = fold(history, as_of="2024-03-31")
    return ledgers.plan_import(path, MONTH, result.state, NOW, trips=result.trips, issues=result.issues)


def test_an_office_workbooks_problem_list_and_trip_register_are_read_back_for_real(tmp_path):
    history = [*ISSUES, *TRIPS]
    sheet, result = _planned(_office_workbook(tmp_path / "区商务局.xlsx"), history)
    assert [s.sheet for s in sheet.skipped_sheets] == [] and list(sheet.others) == ["问题清单", "外出招商"]
    issues, trips = result.others
    assert (issues.sheet, issues.header_row, accounting(issues)) == ("问题清单", 3, (3, 2, 0, 1, 0))
    assert [(s.row, s.kind) for s in issues.skipped] == [(7, "total"), (8, "note")]
    assert made(issues) == [
        ("issue_raised", "2024-03-03T00:00:00+08:00", {"project_id": "B", "issue_id": "Q3", "category": "approval",
                                                       "description": "环评"}),
        ("issue_resolved", "2024-03-08T00:00:00+08:00", {"project_id": "B", "issue_id": "Q3", "resolution": "已批复"})]
    assert (trips.header_row, accounting(trips)) == (1, (2, 1, 0, 1, 0))
    assert [(s.row, s.kind) for s in trips.skipped] == [(4, "total")]
    assert made(trips)[0][2] | {"destinations": None} == {
        "trip_id": "1002", "kind": "leader_led", "leader": "区长", "department": "区政府", "departed": "2024-03-20",
        "returned": "2024-03-21", "people": 6, "destinations": None, "region": "粤港澳大湾区",
        "companies_visited": 4, "leads": 6, "valid_leads": 2}
    assert made(trips)[0][2]["destinations"] == ["深圳", "东莞"]
    assert {e.sheet for e in result.all_events()} == {"问题清单", "外出招商"} and result.events == []


def test_an_xls_from_excel_97_reads_its_section_11_sheets_alike(tmp_path):
    _, result = _planned(_xls_workbook(tmp_path / "old.xls"), [*ISSUES, *TRIPS])
    issues, trips = result.others
    assert accounting(issues) == (1, 1, 0, 0, 0)
    assert made(trips) == [("trip_reported", END, {"trip_id": "1003", "kind": "other", "departed": "2024-03-01",
                                                   "returned": "2024-03-02", "people": 2, "destinations": ["郑州"]})]


def test_a_workbook_of_only_the_section_11_sheets_is_read(tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    book.active.title = "外出招商"
    book.active.append(TRIP_HEADER)
    book.active.append([1, "T1", "小分队"])
    book.save(tmp_path / "trips.xlsx")
    sheet, result = _planned(tmp_path / "trips.xlsx", TRIPS)
    assert sheet.layouts == [] and result.rows == 0 and accounting(result.others[0]) == (1, 1, 0, 0, 0)


def test_the_exported_workbook_re_imports_to_nothing_in_every_sheet(tmp_path):
    from openpyxl import load_workbook

    from streams.feeds import ledger_import as ledgers

    history = [*ISSUES, *TRIPS, trip("T3", "2024-03-09", "other", "2024-03-08", "2024-03-08", destinations=[])]
    result = fold(history, as_of="2024-03-31")
    out = tmp_path / "export.xlsx"
    ledgers.export(result.state, date(2024, 3, 31), out, {}, trips=result.trips, issues=result.issues)
    book = load_workbook(out)
    assert book.sheetnames[-3:] == ["问题清单", "外出招商", "汇总"]
    assert [c.value for c in book["问题清单"][1]] == ISSUE_HEADER[1:]
    assert book["问题清单"]["F2"].value == datetime(2024, 4, 30) and book["外出招商"]["F2"].value == datetime(2024, 3, 4)
    assert (book["外出招商"]["I2"].value, book["外出招商"]["I3"].value, book["外出招商"]["B3"].value) == ("上海、苏州", None, "其他")
    _, again = _planned(out, history)
    assert again.all_events() == [] and again.all_rejected() == []
    assert [accounting(o) for o in again.others] == [(3, 3, 0, 0, 0), (2, 2, 0, 0, 0)]


# ------------------------------------------------------------------------------------------------ properties

from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

_DAYS = st.sampled_from([None, date(2024, 1, 5), date(2024, 2, 1), date(2024, 3, 9), "2024-03-31"])


@st.composite
def problem_lists(draw) -> list[dict]:
    return draw(st.lists(st.builds(
        irow, st.sampled_from(["A", "B"]), st.sampled_from(["Q1", "Q2", "Q3"]), st.sampled_from(["未办结", "已办结"]),
        问题类别=st.sampled_from([None, "土地", "资金", "其他"]), 问题描述=st.sampled_from([None, "描述甲", "描述乙"]),
        牵头单位=st.sampled_from([None, "区商务局", "区财政局"]), 办结时限=st.sampled_from([None, "2024-06-30"]),
        提出日期=_DAYS, 办结日期=_DAYS, 办理情况=st.sampled_from([None, "已协调"])), max_size=6))


@st.composite
def registers(draw) -> list[dict]:
    return draw(st.lists(st.builds(
        trow, st.sampled_from(["T1", "T2", "T3"]), 类型=st.sampled_from([None, "小分队", "其他"]),
        出发日期=st.sampled_from([None, "2024-03-01", "2024-03-04"]),
        返回日期=st.sampled_from([None, "2024-03-05", date(2024, 3, 6)]), 人数=st.sampled_from([None, 1, 3.0, "4"]),
        目的地=st.sampled_from([None, "上海", "上海、苏州", "苏州;上海"]), 区域=st.sampled_from([None, "长三角"]),
        有效线索=st.sampled_from([None, 0, 2])), max_size=5))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=problem_lists())
def test_importing_any_problem_list_twice_makes_no_events_the_second_time(rows):
    first = issues_import(rows)
    accounting(first)
    second = issues_import(rows, [*ISSUES, *(e.event for e in first.events)])
    assert made(second) == [] and second.rows == second.unchanged + len(second.rejected)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=registers())
def test_importing_any_trip_register_twice_makes_no_events_the_second_time(rows):
    first = trips_import(rows)
    accounting(first)
    second = trips_import(rows, [*TRIPS, *(e.event for e in first.events)])
    assert made(second) == [] and second.rows == second.unchanged + len(second.rejected)
