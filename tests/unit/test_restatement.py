"""The restatement rule (issue 26): two views of one hand-built log, the figures that changed, and exactly the
records responsible (late records, a corrected amount, a ledger import, a withdrawn trip)."""

from __future__ import annotations

import json
from datetime import date

import polars as pl

from streams.core import restatement as rs
from streams.core.log import received_log
from streams.core.summary import View, fold_log
from tests.unit.history import RECEIVED, ev
from tests.unit.test_trips_and_bottlenecks import trip, withdrawn

AS_OF, BEFORE, AFTER = date(2024, 9, 30), date(2024, 10, 10), date(2024, 11, 30)
LATE = "2024-11-02T10:00:00+08:00"  # recorded after the October bulletin


def _history() -> list[dict]:
    return [
        ev("P1", "planned", "2024-02-01", event_id="p1-plan", investment_yuan=100_000_000, trip_id="TR-1"),
        ev("P1", "signed", "2024-08-01", event_id="p1-sign", investment_yuan=100_000_000),
        ev("P2", "planned", "2024-03-01", event_id="p2-plan", investment_yuan=50_000_000),
        ev("P3", "planned", "2024-03-01", event_id="p3-plan", investment_yuan=70_000_000),
        trip("TR-1", "2024-01-20", departed="2024-01-15", returned="2024-01-17", event_id="tr1"),
        # late: P2 signed in September, recorded in November
        ev("P2", "signed", "2024-09-15", event_id="p2-sign", recorded_at=LATE),
        # a correction of P3's amount, recorded in November
        ev("P3", "revised", "2024-09-20", event_id="p3-rev", investment_yuan=90_000_000, recorded_at=LATE),
        # a ledger's import: P4 planned and signed, sourced to its sheet and row
        {**ev("P4", "planned", "2024-07-01", event_id="p4-plan", investment_yuan=10_000_000, recorded_at=LATE),
         "source": "ledger:9月台账.xlsx"},
        {**ev("P4", "signed", "2024-09-01", event_id="p4-sign", recorded_at=LATE), "source": "ledger:9月台账.xlsx"},
        # the trip P1 came from is withdrawn (its record, late)
        withdrawn("TR-1", "2024-09-25", event_id="tr1-w") | {"recorded_at": LATE},
        # after T: counted as received, changes no figure of T
        ev("P2", "started", "2024-10-20", event_id="p2-start", recorded_at=LATE),
    ]


def _folds():
    records = [json.dumps(e, ensure_ascii=False).encode() for e in _history()]
    log = received_log(enumerate(records, start=1), RECEIVED)
    old, new = fold_log(log, View(AS_OF, BEFORE)), fold_log(log, View(AS_OF, AFTER))
    provenance = pl.DataFrame({"seq": [1 + i for i in range(len(records))],
                               "source": [e.get("source") for e in _history()],
                               "origin": [f"feed.jsonl:{i + 1}" if i not in (7, 8) else f"9月台账.xlsx!项目台账!{i}"
                                          for i in range(len(records))]})
    return old, new, rs.explain(old, new, provenance=provenance)


def _named(r: rs.Restatement, path: str) -> list[str]:
    return r.records_of(path)["event_id"].to_list()


def test_the_signed_pool_names_the_late_record_and_the_ledger_import():
    _, _, r = _folds()
    changes = {c.path: c for c in r.changes}
    signed = changes["pools.signed.count"]
    assert (signed.old, signed.new, signed.delta) == (1, 3, 2)
    assert r.entities["pools.signed.count"] == ["project:P2", "project:P4"]
    assert _named(r, "pools.signed.count") == ["p2-sign", "p4-plan", "p4-sign"]
    assert changes["flows.2024.signed"].delta == 2
    assert _named(r, "flows.2024.signed") == ["p2-sign", "p4-plan", "p4-sign"]


def test_a_corrected_amount_names_its_record_alone():
    _, _, r = _folds()
    planning = {c.path: c for c in r.changes}["pools.planning.investment_yuan"]
    # P3 (70→90 M) stays in planning; P2 leaves it (50 M) for the signed pool
    assert planning.delta == 20_000_000 - 50_000_000
    assert r.entities["pools.planning.investment_yuan"] == ["project:P2", "project:P3"]
    assert _named(r, "pools.planning.investment_yuan") == ["p2-sign", "p3-rev"]
    kinds = dict(zip(r.records["event_id"], r.records["kind"]))
    assert kinds == {"p2-sign": "late", "p3-rev": "correction", "p4-plan": "ledger", "p4-sign": "ledger",
                     "tr1-w": "withdrawal", "p2-start": "late"}


def test_a_withdrawn_trip_names_its_withdrawal_and_not_the_projects_records():
    _, _, r = _folds()
    changes = {c.path: c for c in r.changes}
    assert changes["trips.2024.team"].delta == -1 and changes["trips.2024.projects_planned"].delta == -1
    assert _named(r, "trips.2024.team") == ["tr1-w"]
    # P1's contribution changed too (it is no longer from a counted trip), but it has no record of its own
    assert r.entities["trips.2024.projects_planned"] == ["project:P1", "trip:TR-1"]
    assert _named(r, "trips.2024.projects_planned") == ["tr1-w"]


def test_a_record_after_t_moves_only_the_accounting():
    _, _, r = _folds()
    assert {c.path for c in r.changes if "p2-start" in _named(r, c.path)} == {"accounting.accepted",
                                                                               "accounting.received"}
    assert {c.path: c.delta for c in r.changes if c.path.startswith("accounting.")} == {
        "accounting.accepted": 6, "accounting.received": 6}


def test_the_records_carry_their_origin_and_times():
    _, _, r = _folds()
    row = r.records.filter(pl.col("event_id") == "p4-sign").row(0, named=True)
    assert row["origin"] == "9月台账.xlsx!项目台账!8" and row["source"] == "ledger:9月台账.xlsx"
    assert row["recorded_at"].isoformat() == "2024-11-02T02:00:00+00:00"
    assert row["occurred_at"].isoformat() == "2024-09-01T04:00:00+00:00"
    doc = r.as_dict()
    assert doc["changes"] and all(isinstance(rec["occurred_at"], str) for c in doc["changes"] for rec in c["records"])
    json.dumps(doc, ensure_ascii=False)


def test_the_same_view_twice_changes_nothing():
    old, _, _ = _folds()
    r = rs.explain(old, old)
    assert r.changes == [] and r.records.height == 0


def test_compare_counts_a_missing_number_as_zero():
    assert rs.compare({"a.x": 1}, {"a.y": 2}) == [rs.Change("a.x", 1, 0, -1), rs.Change("a.y", 0, 2, 2)]
    assert rs.compare({"b": "top"}, {"b": None}) == [rs.Change("b", "top", None, None)]
    assert rs.flatten({"a": {"b": [1, {"c": 2}]}}) == {"a.b.0": 1, "a.b.1.c": 2}


def test_the_sentence_an_official_reads():
    text = rs.sentence("2024年第三季度新签约项目数", "12", "13", "个", ["late"] * 4 + ["ledger"],
                       ["P2 9月15日签约，11月2日报送"])
    assert text == ("2024年第三季度新签约项目数由 12 个更正为 13 个：4 条迟报记录、1 条台账导入记录"
                    "（P2 9月15日签约，11月2日报送）。")
