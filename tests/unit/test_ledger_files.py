"""Ledger files, read back for real: .csv (UTF-8, BOM, GB18030), .xlsx in, and the exported workbook."""

from __future__ import annotations

import zipfile
from datetime import date, datetime
from decimal import Decimal

import pytest
from openpyxl import Workbook, load_workbook

from streams.core.ledger import EXPORT_AMOUNT, EXPORT_COLUMNS, LedgerFileError, ledger_rows
from streams.feeds.workbooks import FILLS, read_ledger, write_ledger
from streams.feeds.ledger_import import export
from tests.unit.history import ev, fold

CSV = "项目编号,项目阶段,总投资（万元）,入库日期\nA,洽谈,500,2024-01-10\n,,,\nB,签约,,\n"


def test_a_csv_ledger_with_or_without_a_bom_reads_the_same(tmp_path):
    plain, bom = tmp_path / "plain.csv", tmp_path / "bom.csv"
    plain.write_text(CSV, encoding="utf-8")
    bom.write_bytes(b"\xef\xbb\xbf" + CSV.encode())
    a, b = read_ledger(plain), read_ledger(bom)
    assert (a.encoding, b.encoding) == ("utf-8", "utf-8-sig")
    assert a.layouts == b.layouts
    (csv,) = a.layouts
    assert (csv.sheet, csv.header_row, csv.header) == ("csv", 1, ["项目编号", "项目阶段", "总投资（万元）", "入库日期"])
    assert csv.rows == [(2, ["A", "洽谈", "500", "2024-01-10"]), (4, ["B", "签约", None, None])]
    assert [s.as_dict() for s in csv.skipped] == [{"sheet": "csv", "row": 3, "kind": "blank"}]


def test_a_gbk_csv_as_chinese_excel_saves_it_is_read_as_gb18030_and_says_so(tmp_path):
    gbk = tmp_path / "ledger.csv"
    gbk.write_bytes(("二七区台账\n" + CSV).encode("gbk"))
    got = read_ledger(gbk)
    assert got.encoding == "gb18030"
    assert got.layouts[0].header_row == 2 and got.layouts[0].rows[0] == (3, ["A", "洽谈", "500", "2024-01-10"])


def test_bytes_neither_utf8_nor_gb18030_are_refused_by_name(tmp_path):
    bad = tmp_path / "ledger.csv"
    bad.write_bytes(b"\x81\x30\xff\xff,x\n")
    with pytest.raises(LedgerFileError, match=r"ledger\.csv: neither UTF-8 nor GB18030.*CSV UTF-8"):
        read_ledger(bad)


def test_an_xlsx_ledger_is_read_from_the_sheet_named_taizhang_with_excel_row_numbers(tmp_path):
    book = Workbook()
    book.active.title = "说明"
    book.active.append(["这不是台账"])
    sheet = book.create_sheet("台账")
    sheet.append(["项目编号", "项目阶段", "签约日期", "总投资（亿元）"])
    sheet.append(["A", "签约", datetime(2024, 3, 1), 1.5])
    sheet.append([None, None, None, None])
    sheet.append([1001, "谋划", None, None])
    book.create_sheet("问题清单").append(["项目编号", "问题编号"])
    book.save(tmp_path / "l.xlsx")
    got = read_ledger(tmp_path / "l.xlsx")
    (taizhang,) = got.layouts
    assert (taizhang.sheet, taizhang.header) == ("台账", ["项目编号", "项目阶段", "签约日期", "总投资（亿元）"])
    # calamine gives a date cell as a date, and every number as a float (1001.0 == 1001)
    assert taizhang.rows == [(2, ["A", "签约", date(2024, 3, 1), 1.5]), (4, [1001, "谋划", None, None])]
    assert [(s.sheet, s.kind) for s in got.skipped_sheets] == [("说明", "beside_taizhang")]
    assert list(got.others) == ["问题清单"] and got.others["问题清单"].rows == []  # read by §11


def test_an_xlsm_and_an_xls_are_read_like_an_xlsx(tmp_path):
    import xlwt

    book = Workbook()
    book.active.title = "台账"
    book.active.append(["项目编号", "项目阶段"])
    book.active.append(["A", "谋划"])
    book.save(tmp_path / "l.xlsm")
    old = xlwt.Workbook(encoding="utf-8")
    sheet = old.add_sheet("台账")
    for j, v in enumerate(["项目编号", "项目阶段"]):
        sheet.write(0, j, v)
        sheet.write(1, j, "A" if j == 0 else "谋划")
    old.save(str(tmp_path / "l.xls"))
    for name in ("l.xlsm", "l.xls"):
        (layout,) = read_ledger(tmp_path / name).layouts
        assert (layout.header, layout.rows) == (["项目编号", "项目阶段"], [(2, ["A", "谋划"])]), name


def test_a_file_that_is_not_a_ledger_is_refused_by_name(tmp_path):
    (tmp_path / "x.xlsx").write_text("not a workbook")
    with pytest.raises(LedgerFileError, match=r"x\.xlsx: not an \.xlsx workbook.*save it as \.xlsx"):
        read_ledger(tmp_path / "x.xlsx")
    with pytest.raises(LedgerFileError, match=r"an \.xlsx, \.xlsm, \.xls, \.ods or \.csv file"):
        read_ledger(tmp_path / "x.json")
    (tmp_path / "x.et").write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(LedgerFileError, match=r"x\.et: a WPS \.et workbook.*save it as \.xlsx"):
        read_ledger(tmp_path / "x.et")


def test_the_exported_workbook_has_the_ledger_pools_summary_colours_and_exact_amounts(tmp_path):
    history = [ev("A", "planned", "2024-01-10", investment_yuan=123_456_789, department="区商务局"),
               ev("A", "plan", "2024-01-11", milestone="signed", due="2024-02-01"),  # 59 days late: yellow
               ev("B", "planned", "2024-03-01", investment_yuan=2**60), ev("B", "started", "2024-03-20"),
               ev("C", "planned", "2023-01-01"), ev("C", "dropped", "2023-06-01", reason="资金")]
    state = fold(history, as_of="2024-03-31").state
    out = tmp_path / "ledger.xlsx"
    assert export(state, date(2024, 3, 31), out, {"2024": {"planned": 200}}) == 3
    book = load_workbook(out)
    assert book.sheetnames == ["台账", "谋划项目库", "招引项目库", "签约项目库", "落地项目库", "终止项目", "汇总"]
    ledger = book["台账"]
    assert [c.value for c in ledger[1]] == list(EXPORT_COLUMNS) and ledger.freeze_panes == "A2"
    rows = {r[0].value: r for r in ledger.iter_rows(min_row=2)}
    amount, stage = EXPORT_COLUMNS.index(EXPORT_AMOUNT), EXPORT_COLUMNS.index("项目阶段")
    assert Decimal(str(rows["A"][amount].value)) * 10_000 == 123_456_789  # 12345.6789 万元
    assert Decimal(str(rows["B"][amount].value)) * 10_000 == 2**60  # too long for a float: kept as exact text
    assert [rows[p][stage].value for p in "ABC"] == ["谋划", "开工", "终止"]
    assert rows["A"][stage].fill.start_color.rgb.endswith(FILLS["yellow"])
    assert rows["C"][stage].fill.fill_type is None  # a dropped project has no colour
    name_width = ledger.column_dimensions["B"].width
    assert name_width >= 2 * len("项目名称")  # CJK characters are two columns wide
    assert [[c.value for c in r] for r in book["落地项目库"].iter_rows(min_row=2, max_col=1)] == [["B"]]
    summary = [[c.value for c in r] for r in book["汇总"].iter_rows()]
    assert ["阶段", "2024年累计", "年度目标", "完成率"] in summary and ["谋划", 2, 200, "1%"] in summary


def test_exported_rows_read_back_as_the_ledger_they_were(tmp_path):
    state = fold([ev("A", "planned", "2024-01-10", investment_yuan=50_000, leader="甲")], as_of="2024-03-31").state
    rows = ledger_rows(state)
    write_ledger(tmp_path / "l.xlsx", rows, [None], {}, [])
    (back,) = read_ledger(tmp_path / "l.xlsx").layouts
    assert back.header == list(EXPORT_COLUMNS)
    cells = dict(zip(back.header, back.rows[0][1]))
    assert (cells["项目编号"], cells["分包领导"], cells[EXPORT_AMOUNT], cells["入库日期"]) == \
        ("A", "甲", 5, date(2024, 1, 10))


@pytest.mark.parametrize("text", ['=HYPERLINK("http://evil","点此")', "+1+2", "-3*4", "@SUM(A1:A9)", "=1+1"])
def test_the_export_never_turns_a_cells_text_into_a_formula(tmp_path, text):
    row = dict.fromkeys(EXPORT_COLUMNS) | {"项目编号": "A", "项目名称": text, "项目阶段": "谋划"}
    write_ledger(tmp_path / "l.xlsx", [row], [None], {}, [])
    with zipfile.ZipFile(tmp_path / "l.xlsx") as z:
        xml = z.read("xl/worksheets/sheet1.xml").decode()
        styles = z.read("xl/styles.xml").decode()
    assert "<f>" not in xml and "<f " not in xml  # no formula element anywhere
    assert 'r="B2"' in xml and 'quotePrefix="1"' in styles  # a text cell, shown as typed text
    (back,) = read_ledger(tmp_path / "l.xlsx").layouts
    assert dict(zip(back.header, back.rows[0][1]))["项目名称"] == text
