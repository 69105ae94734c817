"""DOMAIN.md §7a, given these cells: the header row, the unit line, pool sheets, the rows that are not
projects, what a total covers and when it differs, which sheets are read."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest

from streams.core.ledger import import_sheets
from streams.core.ledger_layout import (
    LedgerFileError, SheetCells, header_row_of, implied_stage, layout_of, ledger_layouts, normalise_header,
    sheet_pool, sheets_to_read, total_tolerance, unit_line,
)
from tests.unit.history import ev, fold

NOW = datetime(2024, 4, 2, 9, tzinfo=timezone.utc)
HEADER = ["序号", "项目编号", "项目名称", "所属行业", "项目阶段", "总投资（万元）"]


def kinds(rows: list[list], merged=(), name: str = "台账") -> list[tuple[int, str]]:
    layout = layout_of(SheetCells(name, rows, merged))
    return [(s.row, s.kind) for s in layout.skipped]


def test_the_header_is_the_first_row_of_the_first_20_with_a_cell_reading_the_project_id():
    title = ["二七区2024年12月招商引资项目台账"]
    assert header_row_of([title, ["填报单位：区商务局"], [], ["序号", "项目编号"]]) == 3
    assert header_row_of([title, ["序号", " project_id "]]) == 1
    assert header_row_of([["说明：项目编号见附表"]] + [[]] * 30) is None  # a cell *reading* it, not mentioning it
    assert header_row_of([[]] * 20 + [["项目编号"]]) is None  # only the first 20 rows are looked at


def test_header_cells_are_compared_without_spaces_or_line_breaks_and_with_either_bracket():
    assert normalise_header("总投资\n(亿元)") == normalise_header("总投资（亿元）") == "总投资（亿元）"
    assert normalise_header(" 项目\u3000编号 ") == "项目编号"
    assert normalise_header(None) is None and normalise_header("  ") is None


@pytest.mark.parametrize(("lines", "unit"), [
    ([["单位：亿元"]], "亿元"), ([["金额单位:万元"]], "万元"), ([["", "单位: 元"]], "元"),
    ([["填报单位：区商务局", "填报日期：2024-12-31", "单位：万元"]], "万元"),
    ([["填报单位：区商务局"]], None),  # an office, not a unit
    ([], None),
])
def test_a_unit_line_above_the_header_names_the_unit(lines, unit):
    assert unit_line(lines) == unit


def test_a_sheets_name_says_its_pool_and_an_empty_stage_there_is_the_projects_stage_in_it_else_the_first():
    assert [sheet_pool(n) for n in ("谋划项目库", "招引项目库", "签约项目", "落地项目库", "终止项目", "台账", "封面")] == \
        ["planning", "attraction", "signed", "landed", "dropped", None, None]
    assert implied_stage("landed", 5) == 5  # a completed project on 落地项目库: unchanged
    assert implied_stage("landed", 3) == 4  # a signed one there: it starts
    assert implied_stage("signed", None) == 3  # a project the log does not know
    assert implied_stage("dropped", 0) == 0 and implied_stage("planning", 0) == 1


def test_rows_that_are_not_projects_are_blank_headings_totals_and_notes():
    rows = [
        ["二七区台账"], HEADER,
        [None, "一、工业项目"],  # the only filled cell starts with a Chinese ordinal
        [1, "A", "甲", "新材料", "谋划", 100],
        [None, None, "（二）服务业", None, None, None],
        [2, None, None, None, None, None],  # only a 序号: blank
        [3, "B", "乙", "新材料", "谋划", 50],
        ["小 计", None, None, None, None, 50],
        [None, "合计", None, None, None, 150],
        [None, None, None, None, None, None],
        ["填表说明：1. 金额单位万元"], ["注：以上数据截至12月31日"], ["填报人：张三", None, "联系电话：123"],
    ]
    assert kinds(rows) == [(3, "heading"), (5, "heading"), (6, "blank"), (8, "total"), (9, "total"), (10, "blank"),
                           (11, "note"), (12, "note"), (13, "note")]
    assert [n for n, _ in layout_of(SheetCells("台账", rows)).rows] == [4, 7]


def test_a_row_whose_filled_cells_lie_in_one_merged_range_is_a_heading_even_without_an_ordinal():
    rows = [HEADER, ["工业项目", None, None, None, None, None], [1, "A", "甲", "新材料", "谋划", 1]]
    assert kinds(rows, merged=((1, 0, 1, 5),)) == [(2, "heading")]
    assert kinds(rows) == []  # unmerged, the same row is a project row (and will be rejected: no 项目编号)


def test_a_cell_merged_down_one_column_is_every_merged_rows():
    rows = [HEADER, [1, "A", "甲", "新材料", "签约", 1], [2, "B", "乙", None, None, 2], [3, "C", "丙", "x", "谋划", 3]]
    layout = layout_of(SheetCells("台账", rows, ((1, 3, 2, 3), (1, 4, 2, 4), (0, 0, 0, 1))))
    assert [cells[3:5] for _, cells in layout.rows] == [["新材料", "签约"], ["新材料", "签约"], ["x", "谋划"]]
    assert rows[2] == [2, "B", "乙", None, None, 2]  # the reader's cells are left as they were


def test_a_note_is_only_a_note_below_the_last_project_row():
    rows = [HEADER, ["备注：下列项目待核实"], [1, "A", "甲", "新材料", "谋划", 1], ["备注：以上"]]
    assert kinds(rows) == [(4, "note")]  # row 2 lies above a project row: it stays a row (and is rejected)
    assert kinds([HEADER, ["（3）"], [3, "A"]]) == [(2, "blank")]  # a 序号 alone is blank


def test_a_row_is_tested_as_a_total_before_a_note_a_heading_or_a_blank():
    rows = [HEADER, [1, "A", "甲", "新材料", "谋划", 1], [None, "说明", "合 计", None, None, 1]]
    assert kinds(rows, merged=((2, 1, 2, 5),)) == [(3, "total")]  # its 项目名称 says 合计: not a note or a heading
    assert kinds([HEADER, [1, "A"], ["合计"]], merged=((2, 0, 2, 5),)) == [(3, "total")]


def test_a_total_covers_every_project_row_above_a_subtotal_those_since_the_last_subtotal_or_heading():
    rows = [HEADER, ["一、工业"], [1, "A", "", "", "", 10], [2, "B", "", "", "", 20], ["小计", "", "", "", "", 30],
            ["二、服务业"], [3, "C", "", "", "", 5], ["小计", "", "", "", "", 5], ["合计", "", "", "", "", 35]]
    totals = layout_of(SheetCells("台账", rows)).totals
    assert [(t.row, t.covers) for t in totals] == [(5, (3, 4)), (8, (7,)), (9, (3, 4, 7))]


def test_the_tolerance_of_a_total_is_a_hundredth_of_the_unit_or_a_ten_thousandth_of_the_total():
    assert total_tolerance(Decimal(100)) == Decimal("0.01")
    assert total_tolerance(Decimal(1_000_000)) == Decimal(100)


def _imported(rows, history=(), name="台账", merged=()):
    state = fold(list(history), as_of="2024-03-31").state
    return import_sheets([layout_of(SheetCells(name, rows, merged))], state, "2024-03", NOW, "ledger:t.xlsx")


def test_a_total_that_differs_from_its_rows_is_warned_about_with_its_sheet_row_total_and_sum():
    rows = [["单位：亿元"], HEADER[:5] + ["总投资"], [1, "A", "甲", "新材料", "谋划", 1.5], [2, "B", "乙", "新材料", "谋划", "x"],
            [3, "C", "丙", "新材料", "谋划", 2.25], ["合计", None, None, None, None, 3.77]]
    result = _imported(rows)
    assert [w.as_dict() for w in result.warnings] == [{
        "kind": "total_differs", "project_id": None, "sheet": "台账", "row": 6,
        "detail": "总投资 total 3.77 亿元, the 3 project row(s) it covers sum to 3.75 亿元"}]
    assert (result.rows, result.new, len(result.rejected)) == (3, 2, 1)  # B's amount is no number: rejected
    assert result.events[0].event["investment_yuan"] == 150_000_000  # the unit line's unit


@pytest.mark.parametrize("total", [3.75, 3.76, 3.74, "3.75"])
def test_a_total_within_the_tolerance_is_no_warning(total):
    rows = [HEADER, [1, "A", "甲", "新材料", "谋划", 1.5], [3, "C", "丙", "新材料", "谋划", 2.25],
            ["总计", None, None, None, None, total], ["合计"]]  # an empty total is not checked
    assert _imported(rows).warnings == []


def test_the_accounting_lists_skipped_rows_apart_from_rows():
    rows = [["标题"], ["单位：万元"], HEADER, [None, "一、工业"], [1, "A", "甲", "新材料", "谋划", 1],
            [None, None, None], ["合计", None, None, None, None, 1], ["填表说明：…"]]
    doc = _imported(rows).as_dict()
    assert (doc["rows"], doc["new"], doc["skipped"]) == (1, 1, {"heading": 1, "blank": 1, "total": 1, "note": 1})
    assert doc["skipped_rows"][0] == {"sheet": "台账", "row": 4, "kind": "heading"}
    assert doc["sheets"] == [{"sheet": "台账", "header_row": 3, "rows": 1, "skipped": 4}]
    # 2 rows above the header + the header + 1 row + 4 skipped: all 8 rows of the sheet
    assert 2 + 1 + doc["rows"] + sum(doc["skipped"].values()) == len(rows)


HISTORY = [ev("S", "planned", "2023-06-01", name="签", industry="x"), ev("S", "signed", "2023-09-01"),
           ev("K", "planned", "2023-06-01"), ev("K", "signed", "2023-09-01"), ev("K", "started", "2023-10-01"),
           ev("K", "completed", "2024-01-01")]


def test_on_a_pool_sheet_an_empty_or_missing_stage_means_the_sheets_pool():
    rows = [["项目编号", "项目名称", "所属行业"], ["K"], ["S"], ["N", "新", "新材料"]]
    result = _imported(rows, HISTORY, name="落地项目库")
    made = [(e.event["project_id"], e.event["event_type"]) for e in result.events]
    # K completed lies in the landed pool: unchanged; S signed starts; N, new, is planned and started
    assert made == [("S", "construction_started"), ("N", "project_planned"), ("N", "construction_started")]
    assert result.warnings == [] and (result.unchanged, result.changed, result.new) == (1, 1, 1)
    with pytest.raises(LedgerFileError, match="sheet 台账, header row 1: required column.*项目阶段"):
        _imported(rows, HISTORY, name="台账")


def test_a_project_on_a_second_sheet_is_a_duplicate_row_and_the_first_stands():
    sheets = [SheetCells("谋划项目库", [["项目编号", "项目阶段"], ["S", ""]]),
              SheetCells("签约项目库", [["项目编号", "项目阶段"], ["S", "开工"]])]
    layouts, _ = ledger_layouts("t.xlsx", [s.name for s in sheets], sheets)
    state = fold(HISTORY, as_of="2024-03-31").state
    result = import_sheets(layouts, state, "2024-03", NOW, "ledger:t.xlsx")
    assert [(r.sheet, r.row, r.reason, r.detail) for r in result.rejected] == [
        ("签约项目库", 2, "ledger_duplicate_row", "项目编号 S is already on 谋划项目库!2")]
    assert [w.kind for w in result.warnings] == ["stage_regression"]  # signed S listed on 谋划: planning's stage


def test_taizhang_is_read_alone_else_every_sheet_with_a_header_and_the_rest_are_listed():
    names = ["封面", "谋划项目库", "问题清单", "说明", "落地项目库", "外出招商"]
    has = {"谋划项目库": True, "落地项目库": True, "问题清单": True, "说明": False, "封面": False}
    read, skipped = sheets_to_read(names, has)
    assert read == ["谋划项目库", "落地项目库"]
    assert sorted((s.sheet, s.kind) for s in skipped) == [
        ("外出招商", "read_by_section_11"), ("封面", "not_a_ledger"), ("说明", "not_a_ledger"),
        ("问题清单", "read_by_section_11")]
    read, skipped = sheets_to_read(["封面", "台账", "谋划项目库"], {"台账": True, "谋划项目库": True})
    assert read == ["台账"] and [(s.sheet, s.kind) for s in skipped] == [("封面", "beside_taizhang"),
                                                                        ("谋划项目库", "beside_taizhang")]


def test_a_workbook_without_a_header_row_is_refused_naming_its_sheets():
    with pytest.raises(LedgerFileError, match=r"t\.xlsx: no sheet has a header row.*sheets: 封面, 说明"):
        ledger_layouts("t.xlsx", ["封面", "说明"], [SheetCells("封面", [["二七区"]]), SheetCells("说明", [])])
    with pytest.raises(LedgerFileError, match="sheet 台账 has no header row"):
        ledger_layouts("t.xlsx", ["台账", "谋划"], [SheetCells("台账", [["x"]]), SheetCells("谋划", [["项目编号"]])])
