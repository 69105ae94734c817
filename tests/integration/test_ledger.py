"""`funnel ledger import/export` through the real broker: a month of department ledgers in, the log's figures out."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from streams import synthetic
from streams.config import dlq_topic
from streams.kafkaio.consumer import read_topic
from tests.integration.test_ingest import funnel, headers
from tests.integration.test_worker import replayed
from tests.workers import workers  # noqa: F401  (fixture)

pytestmark = pytest.mark.integration

MONTH, AS_OF = "2024-06", "2024-06-30"


def imported(path: Path, bootstrap: str, topic: str) -> dict:
    return json.loads(funnel("ledger", "import", str(path), "--month", MONTH, "--topic", topic, "--json",
                             bootstrap=bootstrap).stdout)


def write_xlsx(path: Path, header: list, rows: list[list]) -> Path:
    book = Workbook()
    sheet = book.active
    sheet.title = "台账"
    sheet.append(header)
    for r in rows:
        sheet.append(r)
    book.save(path)
    return path


def test_a_month_of_department_ledgers_becomes_events_that_replay_and_the_worker_show(bootstrap, topic, tmp_path,
                                                                                       workers):
    feed = tmp_path / "seed.jsonl"
    synthetic.generate_file(feed, projects=300, seed=7)
    funnel("ingest", str(feed), "--topic", topic, bootstrap=bootstrap)
    worker = workers(bootstrap, topic)

    # The export of the month imports to nothing.
    whole = tmp_path / "whole.xlsx"
    funnel("ledger", "export", "--as-of", AS_OF, "--out", str(whole), "--topic", topic, bootstrap=bootstrap)
    nothing = imported(whole, bootstrap, topic)
    assert nothing["events"] == {} and nothing["warnings"] == {} and nothing["rejected"] == {}
    assert nothing["rows"] == nothing["unchanged"] > 100
    before = replayed(bootstrap, topic, AS_OF)

    sheet = load_workbook(whole)["台账"]
    header = [c.value for c in sheet[1]]
    rows = [[c.value for c in r] for r in sheet.iter_rows(min_row=2)]
    col = {h: i for i, h in enumerate(header)}
    by_department: dict[str, list[list]] = {}
    for r in rows:
        by_department.setdefault(r[col["责任单位"]], []).append(r)
    first, second, third = sorted(by_department, key=lambda d: -len(by_department[d]))[:3]

    # Department 1: a negotiation is signed; a new project enters; a row names no stage the bureau uses.
    d1 = [list(r) for r in by_department[first]]
    negotiating = next(r for r in d1 if r[col["项目阶段"]] == "洽谈")
    negotiating[col["项目阶段"]] = "签约"
    new = [None] * len(header)
    new[col["项目编号"]], new[col["项目名称"]], new[col["所属行业"]] = "EQ-NEW-1", "台账新项目", "新材料"
    new[col["责任单位"]], new[col["项目阶段"]], new[col["入库日期"]] = first, "谋划", "2024-06-10"
    bad = list(d1[0])
    bad[col["项目编号"]], bad[col["项目阶段"]] = "EQ-BAD-1", "暂停"
    ledger1 = write_xlsx(tmp_path / "dept1.xlsx", header, [*d1, new, bad])
    # Department 2: a new leader, a planned start, and the same project twice.
    d2 = [list(r) for r in by_department[second]]
    d2[0][col["分包领导"]] = "新分包领导"
    open_project = next(r for r in d2 if r[col["项目阶段"]] in ("谋划", "洽谈", "签约"))
    open_project[col["计划开工日期"]] = "2024-07-05"  # due within 30 days of the month's end: blue
    ledger2 = write_xlsx(tmp_path / "dept2.xlsx", header, [*d2, d2[-1]])
    # Department 3, as a CSV saved by Excel ("CSV UTF-8", with a BOM): a revised amount in 万元.
    d3 = [list(r) for r in by_department[third]]
    d3[0][col["总投资（万元）"]] = 98765.4321
    ledger3 = tmp_path / "dept3.csv"
    with ledger3.open("w", encoding="utf-8-sig", newline="") as f:
        out = csv.writer(f)
        out.writerow(header)
        out.writerows([[v.date().isoformat() if hasattr(v, "date") else v for v in r] for r in d3])

    one, two, three = (imported(p, bootstrap, topic) for p in (ledger1, ledger2, ledger3))
    assert (one["events"], one["new"], one["rejected"]) == (
        {"project_planned": 1, "contract_signed": 1}, 1, {"ledger_schema": 1})
    assert one["rejected_rows"] == [{"sheet": "台账", "row": len(d1) + 3, "reason": "ledger_schema",
                                     "detail": "项目阶段 '暂停' is not one of 谋划, 洽谈, 签约, 开工, 竣工, 投产, 运营, 终止",
                                     "project_id": "EQ-BAD-1"}]
    assert two["events"] == {"project_reassigned": 1, "milestone_planned": 1}
    assert two["rejected"] == {"ledger_duplicate_row": 1}
    assert three["events"] == {"investment_revised": 1} and three["sheet"] == "csv"
    for doc, ledger_rows in ((one, len(d1) + 2), (two, len(d2) + 1), (three, len(d3))):
        assert doc["rows"] == ledger_rows == doc["unchanged"] + doc["changed"] + doc["new"] + sum(
            doc["rejected"].values())
        assert doc["ingest"]["ok"] and doc["ingest"]["delivered"] == sum(doc["events"].values())

    # The events are in the topic, each naming its file, sheet and row; the rejected rows in the DLQ.
    origins = {headers(r)["origin"] for r in read_topic(bootstrap, topic) if b'"ledger:' in r.value}
    assert f"dept1.xlsx:台账:{len(d1) + 2}" in origins and len(origins) == 5
    dead = [r for r in read_topic(bootstrap, dlq_topic(topic)) if headers(r)["reason"].startswith("ledger_")]
    assert sorted(headers(r)["origin"] for r in dead) == [f"dept1.xlsx:台账:{len(d1) + 3}",
                                                         f"dept2.xlsx:台账:{len(d2) + 2}"]
    assert json.loads(dead[0].value)["cells"]["项目阶段"] in ("暂停", d2[-1][col["项目阶段"]])

    after = replayed(bootstrap, topic, AS_OF)
    count = {p: after["pools"][p]["count"] - before["pools"][p]["count"] for p in after["pools"]}
    assert count == {"planning": 1, "attraction": -1, "signed": 1, "landed": 0, "dropped": 0}
    assert after["accounting"]["received"] == before["accounting"]["received"] + 5 + 2
    assert after["accounting"]["rejected"]["ledger_schema"] == 1
    assert after["accounting"]["rejected"]["ledger_duplicate_row"] == 1
    assert after["flows"]["2024"]["signed"] == before["flows"]["2024"]["signed"] + 1

    # The worker shows the same figures, and the project's new plan colours it.
    live = worker.wait_for(f"/summary?as_of={AS_OF}",
                           lambda d: d["accounting"]["received"] == after["accounting"]["received"])
    assert live == after
    planned = worker.get(f"/projects/{open_project[col['项目编号']]}?as_of={AS_OF}")
    assert (planned["colour"], str(planned["plan_started"])[:10]) == ("blue", "2024-07-05")
    assert worker.get(f"/projects/{negotiating[col['项目编号']]}?as_of={AS_OF}")["pool"] == "signed"

    # The month's export now holds every edit, and imports to nothing again; so does a repeated import.
    again = tmp_path / "again.xlsx"
    funnel("ledger", "export", "--as-of", AS_OF, "--out", str(again), "--topic", topic, bootstrap=bootstrap)
    assert imported(again, bootstrap, topic)["events"] == {}
    repeated = imported(ledger1, bootstrap, topic)
    assert repeated["events"] == {} and repeated["rejected"] == {"ledger_schema": 1}


def test_a_ledger_of_a_month_not_yet_over_is_refused_before_anything_is_sent(bootstrap, topic, tmp_path):
    path = write_xlsx(tmp_path / "l.xlsx", ["项目编号", "项目阶段"], [["A", "谋划"]])
    done = funnel("ledger", "import", str(path), "--month", "2099-01", "--topic", topic, bootstrap=bootstrap,
                  check=False)
    assert done.returncode == 1 and "the ledger of 2099-01 reports the month's end (2099-01-31)" in done.stderr
    assert list(read_topic(bootstrap, topic)) == [] and list(read_topic(bootstrap, dlq_topic(topic))) == []


def events_of(path: Path) -> list[dict]:
    """The events an import wrote, without what names the file (the ids come from content alone), by id: a
    workbook with a sheet per pool lists the same rows in another order."""
    events = [{k: v for k, v in json.loads(line).items() if k not in ("source", "recorded_at")}
              for line in path.read_text().splitlines()]
    return sorted(events, key=lambda e: e["event_id"])


def test_office_made_ledgers_import_exactly_as_their_clean_twin(bootstrap, topic, tmp_path):
    """§7a: the same rows dressed by an office (made by openpyxl, xlwt and pandas' odf writer, not calamine) make
    the same events as a clean sheet; their other rows are listed as skipped, and a wrong 合计 is flagged."""
    import pandas as pd

    from examples.make_ledgers import write_dressed_xlsx, write_gbk_csv, write_pool_xls
    from streams.core.ledger import EXPORT_COLUMNS, ledger_rows
    from streams.feeds.ledger_import import state_as_of
    from streams.replay import files_received_at, log_from_files

    feed = tmp_path / "seed.jsonl"
    synthetic.generate_file(feed, projects=300, seed=11)
    funnel("ingest", str(feed), "--topic", topic, bootstrap=bootstrap)
    state = state_as_of(log_from_files([feed], files_received_at([feed])), date_of(AS_OF))
    rows = ledger_rows(state)
    department = max({r["责任单位"] for r in rows}, key=lambda d: sum(r["责任单位"] == d for r in rows))
    mine = [dict(r) for r in rows if r["责任单位"] == department]
    before = {r["项目编号"]: r["项目阶段"] for r in mine}
    advanced = next(r for r in mine if r["项目阶段"] == "洽谈")
    advanced["项目阶段"] = "签约"
    revised = next(r for r in mine if r["项目阶段"] != "终止" and r is not advanced)
    revised["总投资（万元）"] = 4321.5
    clean = write_xlsx(tmp_path / "clean.xlsx", list(EXPORT_COLUMNS), [[r[c] for c in EXPORT_COLUMNS] for r in mine])

    dressed = tmp_path / "dressed.xlsx"
    write_dressed_xlsx(dressed, mine, department)
    pools = tmp_path / "pools.xls"
    write_pool_xls(pools, [r | {"_stage_before": before[r["项目编号"]]} for r in mine], department,
                   dict(state.select("project_id", "pool").iter_rows()))
    gbk = tmp_path / "gbk.csv"
    write_gbk_csv(gbk, mine)
    ods = tmp_path / "dressed.ods"
    pad = [None] * (len(EXPORT_COLUMNS) - 1)
    title = [[f"{department}项目台账", *pad], ["金额单位：万元", *pad]]
    body = [[c.replace("（万元）", "") for c in EXPORT_COLUMNS]] + [
        [float(v) if hasattr(v, "as_tuple") else v for v in (r[c] for c in EXPORT_COLUMNS)] for r in mine]
    pd.DataFrame(title + body).to_excel(ods, sheet_name="台账", header=False, index=False, engine="odf")

    def out(path: Path) -> tuple[dict, list[dict]]:
        events = tmp_path / f"{path.name}.jsonl"
        doc = json.loads(funnel("ledger", "import", str(path), "--month", MONTH, "--topic", topic, "--out",
                                str(events), "--json", bootstrap=bootstrap).stdout)
        return doc, events_of(events)

    twin_doc, twin = out(clean)
    assert twin_doc["events"] == {"contract_signed": 1, "investment_revised": 1} and twin_doc["skipped"] == {}
    for path in (dressed, pools, gbk, ods):
        doc, events = out(path)
        assert events == twin, path.name
        assert (doc["rows"], doc["unchanged"], doc["changed"], doc["warnings"]) == (
            twin_doc["rows"], twin_doc["unchanged"], twin_doc["changed"], {}), path.name
    dressed_doc, _ = out(dressed)
    assert dressed_doc["sheets"][0]["header_row"] == 5 and dressed_doc["skipped"]["note"] == 2
    assert {s["kind"] for s in dressed_doc["skipped_rows"]} == {"heading", "total", "note"}
    assert out(gbk)[0]["encoding"] == "gb18030" and out(pools)[0]["skipped_sheets"] == [
        {"sheet": "封面", "row": None, "kind": "not_a_ledger"}]

    # A 合计 typed wrong is flagged, naming its sheet and row; the import is otherwise the same.
    book = load_workbook(dressed)
    sheet = book["台账"]
    total = next(r for r in sheet.iter_rows() if r[0].value == "合计")
    amount_at = [c.value for c in sheet[5]].index("总投资\n（万元）")
    total[amount_at].value *= 1.01  # 1 % off: past 0.01 % of the total
    book.save(tmp_path / "wrong.xlsx")
    wrong, events = out(tmp_path / "wrong.xlsx")
    assert events == twin and wrong["warnings"] == {"total_differs": 1}
    assert [(w["sheet"], w["row"]) for w in wrong["warning_list"]] == [("台账", total[0].row)]

    # Sent for real: the events reach the topic, named by file, sheet and row.
    sent = imported(pools, bootstrap, topic)
    assert sent["ingest"]["ok"] and sent["ingest"]["delivered"] == len(twin)
    origins = {headers(r)["origin"] for r in read_topic(bootstrap, topic) if b'"ledger:pools.xls' in r.value}
    assert len(origins) == len(twin) and all(o.startswith("pools.xls:") for o in origins)


def date_of(day: str):
    from datetime import date

    return date.fromisoformat(day)


def _section_11_history(path: Path) -> Path:
    """Projects with issues (one resolved) and trips (one withdrawn), as JSON Lines."""
    def event(i: int, event_type: str, day: str, **fields) -> dict:
        at = f"{day}T10:00:00+08:00"
        return {"event_id": f"s11-{i}", "event_type": event_type, "schema_version": 2, "occurred_at": at,
                "recorded_at": at, **fields}

    events = [event(1, "project_planned", "2024-01-05", project_id="P1", name="一号项目", industry="现代商贸",
                    department="区商务局"),
              event(2, "project_planned", "2024-02-05", project_id="P2", name="二号项目", industry="新材料"),
              event(3, "issue_raised", "2024-03-01", project_id="P1", issue_id="W1", category="land",
                    description="用地报批", department="区自然资源局", due="2024-07-31"),
              event(4, "issue_raised", "2024-03-02", project_id="P2", issue_id="W1", category="utilities"),
              event(5, "issue_resolved", "2024-04-02", project_id="P2", issue_id="W1", resolution="已通电"),
              event(6, "trip_reported", "2024-05-10", trip_id="TR-1", kind="team", departed="2024-05-06",
                    returned="2024-05-09", team="新材料组", people=4, destinations=["宁波", "杭州"], region="长三角",
                    companies_visited=12, leads=5, valid_leads=2),
              event(7, "trip_reported", "2024-05-20", trip_id="TR-2", kind="leader_led", departed="2024-05-15",
                    returned="2024-05-16"),
              event(8, "trip_withdrawn", "2024-05-25", trip_id="TR-2", reason="重复")]
    path.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in events), encoding="utf-8")
    return path


def test_the_problem_list_and_trip_register_round_trip_through_the_broker(bootstrap, topic, tmp_path):
    """§11: the month's export re-imports to no event in every sheet; edits to its 问题清单 and 外出招商 make
    exactly their events, which replay counts, and a bad row goes to the dead-letter topic by sheet and row."""
    funnel("ingest", str(_section_11_history(tmp_path / "s11.jsonl")), "--topic", topic, bootstrap=bootstrap)
    whole = tmp_path / "whole.xlsx"
    exported = json.loads(funnel("ledger", "export", "--as-of", AS_OF, "--out", str(whole), "--topic", topic,
                                 "--json", bootstrap=bootstrap).stdout)
    assert (exported["projects"], exported["issues"], exported["trips"]) == (2, 2, 1)
    nothing = imported(whole, bootstrap, topic)
    assert nothing["events"] == {} and nothing["rejected"] == {} and nothing["ingest"]["delivered"] == 0
    sheets = nothing["section_11"]
    assert {n: (s["rows"], s["unchanged"], s["events"], s["rejected"]) for n, s in sheets.items()} == {
        "问题清单": (2, 2, {}, {}), "外出招商": (1, 1, {}, {})}
    before = replayed(bootstrap, topic, AS_OF)

    book = load_workbook(whole)
    issues, trips = book["问题清单"], book["外出招商"]
    head = {c.value: c.column for c in issues[1]}
    issues.cell(2, head["状态"], "已办结")  # P1's W1 is resolved
    issues.cell(2, head["办结日期"], "2024-06-12")
    issues.append(["P2", "W2", "资金", "配套资金", "区财政局", None, "2024-06-03", "未办结"])
    issues.append(["P9", "W1", "土地", None, None, None, None, "未办结"])  # an unknown project
    trips.append(["TR-2", "党政主要领导带队", None, "区长", None, "2024-05-15", "2024-05-16", 3, "上海"])
    trips.append(["TR-3", "小分队", None, None, None, "2024-06-20", "2024-06-18"])  # returns before it departs
    trips.append(["合计"])
    edited = tmp_path / "edited.xlsx"
    book.save(edited)

    doc = imported(edited, bootstrap, topic)
    sheets = doc["section_11"]
    assert {n: (s["rows"], s["unchanged"], s["changed"], s["new"], s["rejected"], s["events"])
            for n, s in sheets.items()} == {
        "问题清单": (4, 1, 1, 1, {"ledger_schema": 1}, {"issue_resolved": 1, "issue_raised": 1}),
        "外出招商": (3, 1, 0, 1, {"ledger_schema": 1}, {"trip_reported": 1})}
    assert sheets["外出招商"]["skipped_rows"] == [{"sheet": "外出招商", "row": 5, "kind": "total"}]
    assert doc["ingest"]["ok"] and doc["ingest"]["delivered"] == 3 and doc["ingest"]["dead_lettered"] == 2
    dead = [r for r in read_topic(bootstrap, dlq_topic(topic)) if headers(r)["reason"].startswith("ledger_")]
    assert {headers(r)["origin"] for r in dead} == {"edited.xlsx:问题清单:5", "edited.xlsx:外出招商:4"}
    keys = {r.key for r in read_topic(bootstrap, topic) if b'"ledger:edited.xlsx' in r.value}
    assert keys == {b"P1", b"P2", b"TR-2"}

    after = replayed(bootstrap, topic, AS_OF)
    assert (before["bottlenecks"]["open"], after["bottlenecks"]["open"]) == (1, 1)  # W1 resolved, W2 raised
    assert after["bottlenecks"]["resolved"]["2024"] == before["bottlenecks"]["resolved"]["2024"] + 1
    assert after["trips"]["2024"]["leader_led"] == before["trips"]["2024"]["leader_led"] + 1
    assert after["accounting"]["rejected"]["ledger_schema"] == 2

    # The month's export now holds every edit and imports to nothing again.
    again = tmp_path / "again.xlsx"
    funnel("ledger", "export", "--as-of", AS_OF, "--out", str(again), "--topic", topic, bootstrap=bootstrap)
    back = imported(again, bootstrap, topic)
    assert back["events"] == {} and all(s["events"] == {} and s["rows"] == s["unchanged"]
                                        for s in back["section_11"].values())
    assert (back["section_11"]["问题清单"]["rows"], back["section_11"]["外出招商"]["rows"]) == (3, 2)
