"""Writes the example ledgers of December 2024 (examples/ledgers/2024-12/) from the demo's synthetic feed.

Each is what a department would hand in at the month's end: its projects as the log knows them
on 2024-12-31, with the month's updates typed in — stages advanced, a project entered, plan dates
set, a leader changed, an amount revised, a project terminated, and one typing mistake.

    python -m examples.make_ledgers            # needs data/seed.jsonl (`make demo` writes it)
"""

from __future__ import annotations

import csv
import sys
from datetime import date
from pathlib import Path

from openpyxl import Workbook

from streams.core.ledger import EXPORT_COLUMNS, ledger_rows
from streams.ledgers import state_as_of
from streams.replay import files_received_at, log_from_files

OUT = Path(__file__).resolve().parent / "ledgers" / "2024-12"
MONTH_END = date(2024, 12, 31)


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


def write_xlsx(path: Path, rows: list[dict]) -> None:
    book = Workbook()
    sheet = book.active
    sheet.title = "台账"
    sheet.append(list(EXPORT_COLUMNS))
    for r in rows:
        sheet.append([r[c] for c in EXPORT_COLUMNS])
    sheet.freeze_panes = "A2"
    book.save(path)


def write_csv(path: Path, rows: list[dict]) -> None:
    """As Excel's "CSV UTF-8" saves it: with a byte-order mark."""
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        out = csv.writer(f)
        out.writerow(EXPORT_COLUMNS)
        out.writerows([["" if r[c] is None else r[c] for c in EXPORT_COLUMNS] for r in rows])


def main(seed: str = "data/seed.jsonl") -> None:
    state = state_as_of(log_from_files([seed], files_received_at([seed])), MONTH_END)
    rows = ledger_rows(state)
    of = {d: [dict(r) for r in rows if r["责任单位"] == d] for d in ("区商务局", "区工信局", "区发改委")}
    OUT.mkdir(parents=True, exist_ok=True)
    write_xlsx(OUT / "区商务局.xlsx", commerce(of["区商务局"]))
    write_xlsx(OUT / "区工信局.xlsx", industry(of["区工信局"]))
    write_csv(OUT / "区发改委.csv", of["区发改委"])  # no change this month: imports to nothing
    print(f"wrote 3 ledgers to {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main(*sys.argv[1:])
