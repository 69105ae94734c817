"""The board's document from a replay directory written by `funnel replay` (real files), and from a worker that
answers 503 (a real HTTP server): the same figures as summary.json, or none at all."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import polars as pl
import pytest

from streams.serve.board.service import POOLS, REBALANCING_TEXT, board
from streams.serve.figures import FigureSource, ProjectFilter, Rebalancing
from tests.unit.test_serve_board_feed import AS_OF, write_feed


def replay(feed: Path, out: Path, as_of: str = AS_OF) -> dict:
    """`funnel replay --from-file` of a feed into ``out``; its summary.json."""
    subprocess.run([sys.executable, "-m", "streams.cli", "replay", "--from-file", str(feed), "--as-of", as_of,
                    "--out", str(out), "--no-check"], check=True, capture_output=True)
    return json.loads((out / "summary.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def replayed(tmp_path_factory) -> tuple[Path, dict]:
    work = tmp_path_factory.mktemp("board")
    out = work / "replay"
    return out, replay(write_feed(work / "feed.jsonl"), out)


def test_the_board_shows_the_replays_pools_in_yi_with_links(replayed):
    out, doc = replayed
    b = board(FigureSource.from_replay(out))
    assert b["state"] == "ok" and b["as_of"] == AS_OF and b["year"] == 2024
    assert [p["pool"] for p in b["pools"]] == list(POOLS)
    for p in b["pools"]:
        assert p["count"] == doc["pools"][p["pool"]]["count"]
        assert p["investment_yi"] == round(doc["pools"][p["pool"]]["investment_yuan"] / 1e8, 2)
        assert p["href"] == f"/projects?pool={p['pool']}"
    assert sum(p["count"] for p in b["pools"]) > 0


def test_the_red_list_names_each_red_project_with_leader_department_and_days(replayed):
    out, doc = replayed
    b = board(FigureSource.from_replay(out))
    counts = {c["colour"]: c["count"] for c in b["colours"]["counts"]}
    assert counts == {c: doc["supervision"][c] for c in ("red", "yellow", "blue", "green")}
    state = pl.read_parquet(out / "project_state.parquet").filter(pl.col("colour") == "red")
    assert {r["project_id"] for r in b["colours"]["red_list"]} == set(state["project_id"]) == {"BD-003", "BD-007"}
    bd3 = next(r for r in b["colours"]["red_list"] if r["project_id"] == "BD-003")
    assert (bd3["leader"], bd3["department"], bd3["href"]) == ("县处级领导丙", "区文广旅局", "/projects/BD-003")
    assert bd3["days_late"] == 550  # 2023-06-30 → 2024-12-31
    bd7 = next(r for r in b["colours"]["red_list"] if r["project_id"] == "BD-007")
    assert bd7["days_late"] is None and bd7["days_since_advance"] == 671  # no plan: red by dwell (§4)
    assert [r["project_id"] for r in b["colours"]["red_list"]] == ["BD-003", "BD-007"]  # overdue first


def test_targets_trips_bottlenecks_and_ranking_come_from_the_replays_tables(replayed):
    out, doc = replayed
    b = board(FigureSource.from_replay(out))
    table = pl.read_parquet(out / "targets.parquet").filter(pl.col("year") == 2024)
    assert [t["metric"] for t in b["targets"]] == table["metric"].to_list()
    signed = next(t for t in b["targets"] if t["metric"] == "signed")
    assert signed["actual"] == doc["flows"]["2024"]["signed"] == 2
    team = next(t for t in b["targets"] if t["metric"] == "team")
    assert (team["actual"], team["target"]) == (1, 50)
    assert b["trips"]["team"] == doc["trips"]["2024"]["team"] == 1
    assert b["trips"]["projects_planned"] == doc["trips"]["2024"]["projects_planned"] == 2
    assert b["bottlenecks"]["open"] == doc["bottlenecks"]["open"] == 2
    assert b["bottlenecks"]["overdue"] == doc["bottlenecks"]["overdue"] == 1
    assert b["bottlenecks"]["projects_cleared"] == doc["bottlenecks"]["projects_cleared"]["2024"] == 1
    ranking = b["ranking"]
    assert ranking["period"] == "2024-12" and ranking["dimension"] == "department"
    ranked = pl.read_parquet(out / "rankings.parquet").filter(
        (pl.col("period") == "2024-12") & (pl.col("dimension") == "department"))
    assert sorted(r["unit"] for r in ranking["rows"]) == sorted(ranked["unit"].to_list())
    assert {r["unit"] for r in ranking["red_board"]} == set(ranked.filter(pl.col("board") == "top")["unit"])
    assert {r["unit"] for r in ranking["black_board"]} == set(ranked.filter(pl.col("board") == "bottom")["unit"])


def test_the_trend_is_the_pools_month_by_month(replayed):
    out, _ = replayed
    trend = board(FigureSource.from_replay(out))["trend"]
    history = pl.read_parquet(out / "pools_over_time.parquet")
    assert trend["months"][-1] == "2024-12" and len(trend["months"]) <= 24
    last = history.filter(pl.col("month") == "2024-12")
    for row in last.iter_rows(named=True):
        if row["pool"] in POOLS:
            assert trend["series"][row["pool"]]["count"][-1] == row["count"]


def test_a_filtered_project_list_is_the_state_tables_rows(replayed):
    out, _ = replayed
    figures = FigureSource.from_replay(out)
    signed = figures.projects(ProjectFilter(pool="signed"))
    assert [p["project_id"] for p in signed] == ["BD-001"]
    assert {p["project_id"] for p in figures.projects(ProjectFilter(department="区商务局"))} == {"BD-001", "BD-004"}
    assert figures.projects(ProjectFilter(pool="signed", colour="red")) == []
    assert "BD-006" not in {p["project_id"] for p in figures.projects(ProjectFilter(pool="landed"))}


def test_a_replay_written_again_is_read_again(tmp_path, replayed):
    out, doc = replayed
    figures = FigureSource.from_replay(out)
    before = board(figures)
    again = tmp_path / "again"
    replay(write_feed(tmp_path / "feed.jsonl"), again, as_of="2024-06-30")
    figures.directory = again
    figures._stamp = None
    after = board(figures)
    assert after["as_of"] == "2024-06-30" != before["as_of"]


class Answers503(BaseHTTPRequestHandler):
    """A worker in the middle of a rebalance."""

    def do_GET(self):  # noqa: N802 (http.server's name)
        body = b'{"error": "not available right now: rebalancing", "retry_after_s": 1}'
        self.send_response(503)
        self.send_header("Retry-After", "1")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_a_workers_503_is_rebalancing_never_partial_figures():
    server = HTTPServer(("127.0.0.1", 0), Answers503)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        figures = FigureSource.from_workers(f"http://127.0.0.1:{server.server_port}")
        with pytest.raises(Rebalancing):
            figures.summary()
        b = board(figures)
        assert b == {"state": "rebalancing", "message": REBALANCING_TEXT, "fetched_at": b["fetched_at"]}
    finally:
        server.shutdown()


def test_history_entries_read_each_record_and_sort_by_occurred_at_across_offsets():
    from collections import namedtuple

    from streams.serve.projects.service import _entry, _when

    Record = namedtuple("Record", "topic partition offset timestamp key value headers")
    late = Record("t", 1, 7, 1_700_000_000_000, b"P", json.dumps(
        {"event_type": "contract_signed", "occurred_at": "2024-03-01T09:00:00+08:00", "source": "区商务局"}).encode(),
        [("origin", b"feed.jsonl:12")])
    early = Record("t", 1, 9, 1_700_000_000_000, b"P", json.dumps(
        {"event_type": "project_planned", "occurred_at": "2024-03-01T00:30:00Z"}).encode(), [])  # 08:30 CST
    ledger_row = Record("t.dlq", 0, 3, 1_700_000_000_000, b"P", json.dumps(
        {"sheet": "台账", "row": 5, "project_id": "P", "cells": {}}, ensure_ascii=False).encode(),
        [("origin", "台账.xlsx:台账:5".encode()), ("reason", b"ledger_schema")])
    entries = sorted([_entry(late, "accepted", False), _entry(ledger_row, "ledger_schema", True),
                      _entry(early, "accepted", False)], key=_when)
    assert [e.position for e in entries] == ["t:1:9", "t:1:7", "t.dlq:0:3"]
    assert (entries[1].origin, entries[1].source, entries[1].type_zh) == ("feed.jsonl:12", "区商务局", "签约")
    assert entries[0].origin is None and entries[0].recorded_at == "2023-11-15T06:13:20+08:00"
    assert (entries[2].type_zh, entries[2].outcome_zh) == ("台账行（台账 第5行）", "退回：ledger_schema")
