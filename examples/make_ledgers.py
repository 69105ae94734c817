"""Writes the example ledgers of December 2024 (examples/ledgers/2024-12/) from the demo's synthetic feed.

Each is what a department would hand in at the month's end: its projects as the log knows them
on 2024-12-31, with the month's updates typed in — stages advanced, a project entered, plan dates
set, a leader changed, an amount revised, a project terminated, and one typing mistake — and laid
out as offices lay them out (DOMAIN.md §7a):

- 区商务局.xlsx (openpyxl): a title merged across the columns, a 填报单位/填报日期 line, a blank row,
  a group-header row of merged cells, a 序号 column, a section heading per stage with its 小计 and
  its 责任单位 merged down,
  a 合计 and a 填表说明 note below; and the month's 问题清单 (problems of its projects: three raised, one
  of them already resolved, and one row whose 状态 is mistyped) and 外出招商 (two trips) sheets (§11),
  each under a title, with a total and a note;
- 区工信局.xls (Excel 97-2003, written by xlwt): a cover sheet, then a sheet per pool as the export
  names them, a unit line (单位：万元) over a 总投资 header without its unit, and the 项目阶段 cell
  left empty where the sheet's pool says it;
- 区发改委.csv: Chinese Excel's "CSV (逗号分隔)", i.e. GBK, with a title line; no change this month.

    python -m examples.make_ledgers [data/seed.jsonl]   # `make demo` writes the seed
"""

from __future__ import annotations

import csv
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

from streams.core.ledger import EXPORT_AMOUNT, EXPORT_COLUMNS, ledger_rows
from streams.feeds.ledger_import import POOL_SHEETS, state_as_of
from streams.replay import files_received_at, log_from_files

OUT = Path(__file__).resolve().parent / "ledgers" / "2024-12"
MONTH_END = date(2024, 12, 31)
TITLE = "二七区2024年12月招商引资项目台账（四库动态管理）"
SECTIONS = (("一、", "谋划"), ("二、", "洽谈"), ("三、", "签约"), ("四、", "开工"), ("五、", "竣工"), ("六、", "投产"),
            ("七、", "终止"))
#: The office's group headers over the columns (first column, last column, label); 序号 is column 0.
GROUPS = ((1, 7, "项目基本情况"), (8, 14, "项目进度"), (15, 18, "计划节点"))
STAGE_POOL = {"谋划": "planning", "洽谈": "attraction", "签约": "signed", "开工": "landed", "竣工": "landed",
              "投产": "landed", "终止": "dropped"}


def _first(rows: list[dict], stage: str, skip: set[str]) -> dict:
    found = next(r for r in rows if r["项目阶段"] == stage and r["项目编号"] not in skip)
    skip.add(found["项目编号"])
    return found


def commerce(rows: list[dict]) -> list[dict]:
    """区商务局: two projects advance, one enters, plans are set, one leader changes, one mistake."""
    touched: set[str] = set()
    _first(rows, "洽谈", touched).update({"项目阶段": "签约", "签约日期": date(2024, 12, 18),
                                         "计划开工日期": date(2025, 3, 1)})
    _first(rows, "签约", touched)["项目阶段"] = "开工"
    _first(rows, "谋划", touched)["计划签约日期"] = date(2025, 1, 20)
    _first(rows, "洽谈", touched)["分包领导"] = "县处级领导辰"
    typo = _first(rows, "谋划", touched)
    typo["计划签约日期"] = "2025-13-01"  # a month that does not exist: the row is rejected, named by sheet and row
    new = dict.fromkeys(EXPORT_COLUMNS) | {
        "项目编号": "EQ-2024-LEDGER01", "项目名称": "二七商圈数字消费体验中心", "所属行业": "现代商贸", "主导产业": "是",
        "所属镇办": "建中街街道", "责任单位": "区商务局", "分包领导": "县处级领导甲", "项目阶段": "谋划",
        "总投资（万元）": 32000, "入库日期": date(2024, 12, 6), "计划签约日期": date(2025, 4, 30)}
    return [*rows, new]


def industry(rows: list[dict]) -> list[dict]:
    """区工信局: an amount revised, a start planned, a project terminated."""
    touched: set[str] = set()
    _first(rows, "签约", touched)["总投资（万元）"] = 51880.5
    _first(rows, "签约", touched)["计划开工日期"] = date(2025, 1, 10)
    _first(rows, "洽谈", touched).update({"项目阶段": "终止", "终止原因": "投资方战略调整"})
    return rows


def _sum(rows: list[dict]) -> float:
    return float(sum((Decimal(str(r[EXPORT_AMOUNT])) for r in rows if r[EXPORT_AMOUNT] is not None), Decimal(0)))


def _number(value):
    return float(value) if isinstance(value, Decimal) else value


def write_dressed_xlsx(path: Path, rows: list[dict], office: str) -> None:
    """As an office dresses the ledger in Excel: title, office line, group headers, sections, totals, a note."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    book = Workbook()
    sheet = book.active
    sheet.title = "台账"
    width = 1 + len(EXPORT_COLUMNS)
    header = ["序号", *("总投资\n（万元）" if c == EXPORT_AMOUNT else c for c in EXPORT_COLUMNS)]
    sheet.append([TITLE])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    sheet["A1"].font, sheet["A1"].alignment = Font(bold=True, size=16), Alignment(horizontal="center")
    sheet.append([f"填报单位：{office}", None, None, None, None, None, None, None, None, None, "填报日期：2025年1月2日"])
    sheet.append([])
    groups = [None] * width
    for first, _, label in GROUPS:
        groups[first] = label
    sheet.append(groups)
    for first, last, _ in GROUPS:
        sheet.merge_cells(start_row=4, start_column=first + 1, end_row=4, end_column=last + 1)
    sheet.append(header)
    sheet.freeze_panes = "B6"
    serial = 0
    for ordinal, stage in SECTIONS:
        part = [r for r in rows if r["项目阶段"] == stage]
        if not part:
            continue
        sheet.append([f"{ordinal}{stage}项目（{len(part)}个）"])
        sheet.merge_cells(start_row=sheet.max_row, start_column=1, end_row=sheet.max_row, end_column=width)
        first = sheet.max_row + 1
        for r in part:
            serial += 1
            sheet.append([serial, *(_number(r[c]) for c in EXPORT_COLUMNS)])
            for cell in sheet[sheet.max_row]:
                if isinstance(cell.value, date):
                    cell.number_format = "yyyy-mm-dd"
        department = 2 + EXPORT_COLUMNS.index("责任单位")  # 1-based, after 序号
        if len(part) > 1 and len({r["责任单位"] for r in part}) == 1:  # one office for the section: merged down
            sheet.merge_cells(start_row=first, start_column=department, end_row=sheet.max_row, end_column=department)
        sheet.append(["小计", None, None, None, None, None, None, None, None, _sum(part)])
    sheet.append(["合计", None, f"共{serial}个项目", None, None, None, None, None, None, _sum(rows)])
    sheet.append(["填表说明：1. 项目阶段填谋划、洽谈、签约、开工、竣工、投产或终止；2. 金额单位为万元；"
                  "3. 日期格式为YYYY-MM-DD。"])
    sheet.append(["填报人：王某某", None, None, None, "审核人：李某某", None, None, None, "联系电话：0371-68000000"])
    book.save(path)


#: 区商务局's problem list of December: (project row's index among its open projects, id, 类别, 描述, 牵头单位,
#: 办结时限, 提出日期, 状态, 办结日期, 办理情况).
ISSUES = ((0, "SW-2024-12-01", "土地", "项目用地指标待落实", "区自然资源局", date(2025, 3, 31), date(2024, 12, 5), "未办结",
           None, None),
          (1, "SW-2024-12-02", "要素保障", "施工用电增容", "区发改委", date(2025, 1, 31), date(2024, 11, 20), "已办结",
           date(2024, 12, 20), "已完成增容"),
          (2, "SW-2024-12-03", "审批", "环评批复办理", "区生态环境分局", None, date(2024, 12, 10), "未办结", None, None),
          (3, "SW-2024-12-04", "资金", "配套资金拨付", "区财政局", None, date(2024, 12, 12), "办理中", None, None))
#: 区商务局's trips of December, as §11's columns after 出访编号.
TRIPS = (("SW-WC-2024-12-01", "小分队", "现代商贸组", "县处级领导甲", "区商务局", date(2024, 12, 3), date(2024, 12, 6), 4,
          "上海、杭州", "长三角", 9, 6, 3),
         ("SW-WC-2024-12-02", "党政主要领导带队", None, "区委主要领导", "区委办", date(2024, 12, 16), date(2024, 12, 17), 6,
          "深圳，广州", "粤港澳大湾区", 5, 4, 2))


def add_section_11_sheets(path: Path, rows: list[dict], office: str) -> None:
    """The workbook's 问题清单 and 外出招商 sheets (§11), as the office keeps them: a title, the header, the rows
    (issues of its open projects), a 合计 and a note below."""
    from openpyxl import load_workbook

    from streams.core.ledger_issues import EXPORT_COLUMNS as ISSUE_COLUMNS
    from streams.core.ledger_trips import EXPORT_COLUMNS as TRIP_COLUMNS

    book = load_workbook(path)
    open_projects = [r["项目编号"] for r in rows if r["项目阶段"] in ("谋划", "洽谈", "签约", "开工")]
    issues = book.create_sheet("问题清单")
    issues.append([f"{office}重点项目问题清单（2024年12月）"])
    issues.append(["序号", *ISSUE_COLUMNS])
    for n, (at, *cells) in enumerate(ISSUES, start=1):
        issues.append([n, open_projects[at], *cells])
    issues.append(["合计", None, f"共{len(ISSUES)}个问题"])
    issues.append(["填表说明：状态填未办结或已办结；已办结的填办结日期和办理情况。"])
    trips = book.create_sheet("外出招商")
    trips.append([f"{office}外出招商登记表（2024年12月）"])
    trips.append(["序号", *TRIP_COLUMNS])
    for n, cells in enumerate(TRIPS, start=1):
        trips.append([n, *cells])
    trips.append(["合计", None, f"共{len(TRIPS)}次"])
    trips.append(["填报人：王某某"])
    for sheet in (issues, trips):
        for line in sheet.iter_rows(min_row=3):
            for cell in line:
                if isinstance(cell.value, date):
                    cell.number_format = "yyyy-mm-dd"
    book.save(path)


def write_pool_xls(path: Path, rows: list[dict], office: str, pools: dict[str, str]) -> None:
    """An Excel 97-2003 workbook: a cover sheet, then a sheet per pool (the export's names), 项目阶段 left empty
    where the pool says it; a unit line over 总投资."""
    import xlwt

    book = xlwt.Workbook(encoding="utf-8")
    cover = book.add_sheet("封面")
    cover.write_merge(2, 2, 0, 6, TITLE)
    cover.write(4, 0, f"报送单位：{office}")
    cover.write(5, 0, "报送日期：2025年1月2日")
    day = xlwt.easyxf(num_format_str="yyyy-mm-dd")
    header = ["序号", *("总投资" if c == EXPORT_AMOUNT else c for c in EXPORT_COLUMNS)]
    for pool, title in POOL_SHEETS.items():
        sheet = book.add_sheet(title)
        sheet.write_merge(0, 0, 0, len(header) - 1, f"{office}{title}")
        sheet.write(1, 0, "单位：万元")
        for j, h in enumerate(header):
            sheet.write(2, j, h)
        part = [r for r in rows if pools[r["项目编号"]] == pool]
        for i, r in enumerate(part, start=3):
            sheet.write(i, 0, i - 2)
            # an unchanged stage is the sheet's pool's: the office leaves it empty (an edited one is typed)
            implied = r["项目阶段"] == r["_stage_before"] and STAGE_POOL[r["项目阶段"]] == pool
            for j, column in enumerate(EXPORT_COLUMNS, start=1):
                value = None if column == "项目阶段" and implied else _number(r[column])
                if isinstance(value, date):
                    sheet.write(i, j, value, day)
                elif value is not None:
                    sheet.write(i, j, value)
        total_at = len(part) + 3
        sheet.write(total_at, 0, "合计")
        sheet.write(total_at, 1 + EXPORT_COLUMNS.index(EXPORT_AMOUNT), _sum(part))
    book.save(str(path))


def write_gbk_csv(path: Path, rows: list[dict]) -> None:
    """As Chinese Excel's "CSV (逗号分隔)" saves it: GBK, no byte-order mark; a title line above the header."""
    with path.open("w", encoding="gbk", newline="") as f:
        out = csv.writer(f)
        out.writerow([TITLE])
        out.writerow(EXPORT_COLUMNS)
        out.writerows([["" if r[c] is None else r[c] for c in EXPORT_COLUMNS] for r in rows])


def main(seed: str = "data/seed.jsonl") -> None:
    state = state_as_of(log_from_files([seed], files_received_at([seed])), MONTH_END)
    rows = ledger_rows(state)
    pools = dict(state.select("project_id", "pool").iter_rows())
    of = {d: [dict(r) for r in rows if r["责任单位"] == d] for d in ("区商务局", "区工信局", "区发改委")}
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.iterdir():
        old.unlink()
    write_dressed_xlsx(OUT / "区商务局.xlsx", commerce(of["区商务局"]), "区商务局")
    add_section_11_sheets(OUT / "区商务局.xlsx", of["区商务局"], "区商务局")
    before = [r | {"_stage_before": r["项目阶段"]} for r in of["区工信局"]]
    write_pool_xls(OUT / "区工信局.xls", industry(before), "区工信局", pools)
    write_gbk_csv(OUT / "区发改委.csv", of["区发改委"])  # no change this month: imports to nothing
    print(f"wrote 3 ledgers to {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main(*sys.argv[1:])
