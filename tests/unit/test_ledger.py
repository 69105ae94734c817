"""DOMAIN.md §7, given this history and this ledger: the events, rejections and warnings an import means."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from streams.core.ledger import EXPORT_COLUMNS, LedgerFileError, import_ledger, ledger_rows, month_end_of
from streams.core.ledger_cells import columns_of
from tests.unit.history import ev, fold

MONTH = "2024-03"
END = "2024-03-31T23:59:59+08:00"
NOW = datetime(2024, 4, 2, 9, tzinfo=timezone.utc)
HEADER = ["项目编号", "项目名称", "所属行业", "主导产业", "所属镇办", "责任单位", "分包领导", "项目阶段",
          "总投资（万元）", "入库日期", "签约日期", "开工日期", "计划签约日期", "计划开工日期", "终止原因"]

HISTORY = [
    ev("A", "planned", "2024-01-10", department="区商务局", leader="甲", investment_yuan=5_000_000),
    ev("A", "negotiating", "2024-02-01"),
    ev("A", "plan", "2024-02-02", milestone="signed", due="2024-05-01"),
    ev("B", "planned", "2023-06-01", department="区商务局", leader="乙"), ev("B", "signed", "2023-09-01"),
    ev("C", "planned", "2023-05-01", department="区发改委"), ev("C", "dropped", "2023-12-01", reason="资金"),
]


def row(pid: str, stage: str, **cells) -> list:
    values = {"项目编号": pid, "项目阶段": stage, **cells}
    return [values.get(h) for h in HEADER]


def run(rows: list[list], history: list[dict] = HISTORY, header: list = HEADER, month: str = MONTH):
    state = fold(history, as_of=month_end_of(month)[0].isoformat()).state
    return import_ledger("台账", header, list(enumerate(rows, start=2)), state, month, NOW, "ledger:test.xlsx")


def made(result) -> list[tuple]:
    """(project, type, occurred_at, payload) of each event made, in order."""
    keys = ("event_id", "event_type", "schema_version", "project_id", "occurred_at", "recorded_at", "source")
    return [(e.event["project_id"], e.event["event_type"], e.event["occurred_at"],
             {k: v for k, v in e.event.items() if k not in keys}) for e in result.events]


def unchanged_rows() -> list[list]:
    return [row("A", "洽谈", 责任单位="区商务局", 分包领导="甲"), row("B", "签约"), row("C", "终止")]


def test_a_ledger_that_says_what_the_log_knows_makes_no_event():
    result = run(unchanged_rows())
    assert made(result) == []
    assert (result.rows, result.unchanged, result.changed, result.new) == (3, 3, 0, 0)
    assert result.warnings == [] and result.rejected == []


def test_a_new_project_is_planned_at_its_entry_date_with_everything_the_row_says():
    result = run([row("N", "签约", 项目名称="新项目", 所属行业="电子信息", 主导产业="是", 所属镇办="侯寨乡",
                      责任单位="区商务局", 分包领导="丙", **{"总投资（万元）": 1234.5678}, 入库日期="2024-01-05",
                      签约日期=date(2024, 3, 9), 计划开工日期="2024-09-01")])
    assert made(result) == [
        ("N", "project_planned", "2024-01-05T00:00:00+08:00",
         {"name": "新项目", "industry": "电子信息", "lead_industry": True, "town": "侯寨乡", "department": "区商务局",
          "leader": "丙", "investment_yuan": 12_345_678}),
        ("N", "contract_signed", "2024-03-09T00:00:00+08:00", {}),
        ("N", "milestone_planned", END, {"milestone": "started", "due": "2024-09-01"}),
    ]
    assert (result.new, result.changed) == (1, 0)


def test_a_stage_without_its_date_is_reached_at_the_months_end():
    result = run([row("A", "开工")])
    assert made(result) == [("A", "construction_started", END, {})]
    assert result.changed == 1


def test_a_reached_date_makes_the_event_then_and_no_second_one_at_the_months_end():
    result = run([row("A", "开工", 签约日期="2024-02-20", 开工日期="2024-03-15")])
    assert made(result) == [("A", "contract_signed", "2024-02-20T00:00:00+08:00", {}),
                            ("A", "construction_started", "2024-03-15T00:00:00+08:00", {})]


def test_a_dropped_project_in_the_ledger_again_is_revived():
    assert made(run([row("C", "洽谈")])) == [("C", "negotiation_started", END, {})]


def test_terminating_drops_with_the_reason_or_the_ledgers_default():
    assert made(run([row("A", "终止", 终止原因="选址变更")])) == [("A", "project_dropped", END, {"reason": "选址变更"})]
    assert made(run([row("B", "终止")])) == [("B", "project_dropped", END, {"reason": "台账终止"})]


@pytest.mark.parametrize(("header", "value", "yuan"), [
    ("总投资（万元）", 600, 6_000_000), ("总投资(亿元)", "0.06", 6_000_000), ("总投资（元）", "6,000,000", 6_000_000),
    ("investment", 6_000_000.4, 6_000_000), ("总投资（万元）", 0.00005, 0),
])
def test_an_amount_in_any_unit_is_revised_in_whole_yuan(header, value, yuan):
    result = run([[*row("A", "洽谈")[:-7], value, *row("A", "洽谈")[-6:]]],
                 header=[*HEADER[:8], header, *HEADER[9:]])
    assert made(result) == [("A", "investment_revised", END, {"investment_yuan": yuan})]


def test_the_same_amount_in_another_unit_is_no_change():
    assert made(run([row("A", "洽谈", **{"总投资（万元）": 500})])) == []


def test_a_new_leader_keeps_the_department_the_log_knows():
    assert made(run([row("A", "洽谈", 分包领导="丁")])) == [
        ("A", "project_reassigned", END, {"leader": "丁", "department": "区商务局"})]


def test_a_plan_is_made_when_its_date_differs_and_only_then():
    assert made(run([row("A", "洽谈", 计划签约日期="2024-05-01")])) == []
    assert made(run([row("A", "洽谈", 计划签约日期="2024-06-01", 计划开工日期=date(2024, 12, 1))])) == [
        ("A", "milestone_planned", END, {"milestone": "signed", "due": "2024-06-01"}),
        ("A", "milestone_planned", END, {"milestone": "started", "due": "2024-12-01"})]


def test_what_a_ledger_cannot_express_is_warned_about_not_made():
    result = run([row("B", "洽谈", 责任单位="区商务局", 入库日期="2023-06-02", 签约日期="2023-09-01")])
    assert made(result) == []
    assert sorted((w.kind, w.project_id) for w in result.warnings) == [
        ("date_differs", "B"), ("missing_from_ledger", "A"), ("stage_regression", "B")]
    differs = next(w for w in result.warnings if w.kind == "date_differs")
    assert "入库日期 2023-06-02" in differs.detail and "2023-06-01" in differs.detail and differs.row == 2


def test_a_departments_ledger_answers_only_for_its_own_projects():
    # only 区商务局 appears: B (its project) is missing; C is dropped, and of 区发改委 anyway
    result = run([row("A", "洽谈", 责任单位="区商务局")])
    assert [(w.kind, w.project_id) for w in result.warnings] == [("missing_from_ledger", "B")]
    # a rejected row still counts as B's row
    result = run([row("A", "洽谈", 责任单位="区商务局"), row("B", "签约", 开工日期="2024-04-02")])
    assert [w.kind for w in result.warnings] == []


@pytest.mark.parametrize(("cells", "reason", "detail"), [
    (row(None, "洽谈"), "ledger_schema", "项目编号 is empty"),
    (row("N", "洽谈", 项目名称="新"), "ledger_schema", "a new project needs 项目名称 and 所属行业"),
    (row("A", "暂停"), "ledger_schema", "项目阶段 '暂停' is not one of"),
    (row("A", None), "ledger_schema", "项目阶段 None is not one of"),
    (row("A", "洽谈", 签约日期="2024/03/01"), "ledger_schema", "签约日期 '2024/03/01' is not a date"),
    (row("A", "洽谈", **{"总投资（万元）": "-5"}), "ledger_schema", "总投资（万元） '-5' is negative"),
    (row("A", "洽谈", **{"总投资（万元）": "五百"}), "ledger_schema", "is not a number"),
    (row("A", "签约", 签约日期="2024-04-01"), "ledger_schema", "falls after the ledger's month"),
    (row("A", "洽谈", 主导产业="对"), "ledger_schema", "主导产业 '对' is not 是 or 否"),
])
def test_a_row_that_cannot_be_used_is_rejected_with_its_sheet_row_and_reason(cells, reason, detail):
    result = run([row("B", "签约"), cells])
    assert [(r.reason, r.sheet, r.row) for r in result.rejected] == [(reason, "台账", 3)]
    assert detail in result.rejected[0].detail
    assert made(result) == [] and result.rows == result.unchanged + len(result.rejected)


def test_the_first_of_two_rows_of_a_project_stands():
    result = run([row("A", "暂停"), row("A", "签约"), row("A", "开工")])
    assert [(r.reason, r.row) for r in result.rejected] == [("ledger_schema", 2), ("ledger_duplicate_row", 4)]
    assert "already on 台账!3" in result.rejected[1].detail
    assert made(result) == [("A", "contract_signed", END, {})]


def test_a_header_that_cannot_be_used_stops_the_import_before_any_row():
    with pytest.raises(LedgerFileError, match="项目阶段"):
        columns_of(["项目编号", "项目名称"])
    with pytest.raises(LedgerFileError, match="two columns"):
        columns_of(["项目编号", "project_id", "项目阶段"])
    assert set(columns_of(["project_id", "stage", "总投资（亿元）", "备注"]).at) == {"project_id", "stage", "amount"}


@pytest.mark.parametrize(("header", "unit_line", "yuan_per_unit"), [
    ("总投资", None, 1), ("总投资", "万元", 10_000), ("总投资", "亿元", 100_000_000),
    ("总投资（元）", "亿元", 1),  # the header's own unit outranks the unit line
    ("总 投 资\n(万元)", None, 10_000),  # spaces and line breaks removed, brackets of either width
])
def test_the_amounts_unit_is_the_headers_else_the_unit_lines_else_yuan(header, unit_line, yuan_per_unit):
    assert columns_of(["项目编号", "项目阶段", header], unit_line).amount_unit == yuan_per_unit


def test_only_a_pool_sheet_may_leave_out_the_stage_column():
    assert set(columns_of(["项目编号"], pool="landed").at) == {"project_id"}
    with pytest.raises(LedgerFileError, match="项目阶段"):
        columns_of(["项目编号"])


def test_event_ids_come_from_content_so_a_repeated_import_repeats_them():
    rows = [row("A", "开工", 分包领导="丁"), row("N", "谋划", 项目名称="新", 所属行业="新材料")]
    first, again = run(rows), run(rows)
    assert [e.event["event_id"] for e in first.events] == [e.event["event_id"] for e in again.events]
    assert len({e.event["event_id"] for e in first.events}) == len(first.events)


def test_the_exported_ledger_imports_to_nothing_and_one_edit_to_exactly_its_event():
    state = fold(HISTORY, as_of="2024-03-31").state
    exported = ledger_rows(state)
    header = list(EXPORT_COLUMNS)
    rows = [[r[h] for h in header] for r in exported]
    unchanged = import_ledger("台账", header, list(enumerate(rows, start=2)), state, MONTH, NOW, "ledger:x.xlsx")
    assert unchanged.events == [] and unchanged.warnings == [] and unchanged.unchanged == 3
    a = next(i for i, r in enumerate(exported) if r["项目编号"] == "A")
    rows[a][header.index("计划签约日期")] = date(2024, 4, 15)
    edited = import_ledger("台账", header, list(enumerate(rows, start=2)), state, MONTH, NOW, "ledger:x.xlsx")
    assert made(edited) == [("A", "milestone_planned", END, {"milestone": "signed", "due": "2024-04-15"})]


# ---- hypothesis: importing any ledger twice makes no events the second time ----------------------------

_PIDS = ["A", "B", "C", "O", "N1", "N2"]
_HISTORY_WITH_ORPHAN = [*HISTORY, ev("O", "signed", "2024-02-10", investment_yuan=70_000),
                        ev("O", "reassigned", "2024-03-20", leader="戊")]


@st.composite
def ledgers(draw) -> list[list]:
    rows = []
    for pid in draw(st.lists(st.sampled_from(_PIDS), min_size=1, max_size=6)):
        day = st.one_of(st.none(), st.dates(date(2023, 1, 1), date(2024, 3, 31)).map(date.isoformat))
        rows.append(row(pid, draw(st.sampled_from(["谋划", "洽谈", "签约", "开工", "终止", "暂停"])),
                        项目名称=draw(st.sampled_from([None, "名"])), 所属行业=draw(st.sampled_from([None, "新材料"])),
                        责任单位=draw(st.sampled_from([None, "区商务局", "区工信局"])),
                        分包领导=draw(st.sampled_from([None, "甲", "己"])),
                        **{"总投资（万元）": draw(st.sampled_from([None, 500, 0.5, 12.3456]))},
                        入库日期=draw(day), 签约日期=draw(day), 开工日期=draw(day),
                        计划签约日期=draw(st.sampled_from([None, "2024-05-01", "2024-07-01"])),
                        计划开工日期=draw(st.sampled_from([None, "2025-01-01"])),
                        终止原因=draw(st.sampled_from([None, "资金"]))))
    return rows


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=ledgers())
def test_importing_any_ledger_twice_makes_no_events_the_second_time(rows):
    first = run(rows, history=_HISTORY_WITH_ORPHAN)
    assert first.rows == first.unchanged + first.changed + first.new + len(first.rejected)
    second = run(rows, history=[*_HISTORY_WITH_ORPHAN, *(e.event for e in first.events)])
    assert made(second) == []
    assert second.rows == second.unchanged + len(second.rejected)
