"""The synthetic feed's trips (DOMAIN.md §8) and bottlenecks (§9): calibrated on the seeds, folded by the one core."""

from __future__ import annotations

import io
from collections import Counter
from datetime import date, datetime

import pytest

from streams import synthetic
from streams.contract.acceptance import Rejection, check_event, check_record
from streams.core.summary import View, fold_log, summary
from streams.feeds.files import read_csv
from streams.replay import files_received_at, log_from_files
from tests.unit.test_acceptance import NOW


def lines(projects=600, seed=2023, bureau=True, fmt="jsonl") -> bytes:
    out = io.BytesIO()
    synthetic.write(out, synthetic.records(projects, seed, bureau=bureau), fmt)
    return out.getvalue()


def accepted(feed: bytes) -> list[dict]:
    return [v for v in (check_record(line, NOW) for line in feed.splitlines()) if not isinstance(v, Rejection)]


@pytest.fixture(scope="module")
def demo_summary(tmp_path_factory) -> dict:
    """The summary as of 2024-12-31 of the feed `make demo` ingests, folded by replay's core."""
    path = tmp_path_factory.mktemp("feed") / "seed.jsonl"
    synthetic.generate_file(path, 600, 2023)
    log = log_from_files([str(path)], files_received_at([path]))
    return summary(fold_log(log, View(as_of=date(2024, 12, 31))))


def test_project_events_are_the_same_with_or_without_the_bureaus_records():
    def projects(feed: bytes) -> list[dict]:
        return [{k: v for k, v in e.items() if k != "trip_id"} for e in accepted(feed)
                if e.get("project_id") and not e["event_type"].startswith("issue_")]
    with_bureau, without = lines(300), lines(300, bureau=False)
    assert projects(with_bureau) == projects(without)
    assert not any(e["event_type"].startswith(("trip_", "issue_")) for e in accepted(without))


def test_the_trips_of_each_year_meet_the_seeds_counts(demo_summary):
    trips = demo_summary["trips"]
    assert set(trips) == {"2022", "2023", "2024"}
    for year, figures in trips.items():
        assert 20 <= figures["leader_led"] <= 25, (year, figures)     # 党政主要领导带队外出考察走访企业20次
        assert 50 <= figures["team"] <= 60, (year, figures)           # 小分队外出招商不低于50次
        assert figures["projects_planned"] > 0 and figures["valid_leads"] > 0


def test_about_seventy_projects_had_a_bottleneck_cleared_in_2023(demo_summary):
    b = demo_summary["bottlenecks"]
    assert 70 <= b["projects_cleared"]["2023"] <= 110                  # 累计为70余个产业项目解瓶颈清障碍
    assert b["open"] > 0 and 0 < b["overdue"] <= b["open"]
    assert sum(b["open_by_category"].values()) == b["open"]


def test_trips_found_projects_after_they_returned():
    events = accepted(lines(600))
    returned = {e["trip_id"]: date.fromisoformat(e["returned"]) for e in events if e["event_type"] == "trip_reported"}
    named = [e for e in events if e["event_type"] == "project_planned" and "trip_id" in e]
    assert len(named) > 100
    known = [e for e in named if e["trip_id"] in returned]  # a trip whose report was malformed is unknown
    assert len(known) >= 0.95 * len(named)
    for e in known:
        assert returned[e["trip_id"]] < datetime.fromisoformat(e["occurred_at"]).date()


def test_trips_have_withdrawals_corrections_and_the_feeds_faults():
    events = accepted(lines(2000))
    kinds = Counter(e["event_type"] for e in events)
    assert kinds["trip_withdrawn"] >= 1 and kinds["issue_resolved"] > 0
    reports = Counter(e["trip_id"] for e in events if e["event_type"] == "trip_reported")
    assert any(n > 1 for n in reports.values())                        # corrected (or re-sent) reports
    reopened = Counter((e["project_id"], e["issue_id"]) for e in events if e["event_type"] == "issue_raised")
    assert any(n > 1 for n in reopened.values())
    for e in events:
        if e["event_type"] == "trip_reported":
            assert e["departed"] <= e["returned"] and e["people"] >= 1 and e["valid_leads"] <= e["leads"]


def test_the_csv_feed_carries_trips_and_issues_through_the_contract():
    records = list(read_csv(io.BytesIO(lines(300, fmt="csv")), "f.csv"))
    checked = [check_event(r.parsed, NOW) for r in records if not isinstance(r.parsed, Rejection)]
    trips = [e for e in checked if not isinstance(e, Rejection) and e["event_type"] == "trip_reported"]
    issues = [e for e in checked if not isinstance(e, Rejection) and e["event_type"] == "issue_raised"]
    assert trips and issues
    assert all(isinstance(e["destinations"], list) and e["destinations"] for e in trips)
    assert all(isinstance(e["people"], int) for e in trips)
    rejected = [e for e in checked if isinstance(e, Rejection)]
    assert len(rejected) <= 0.05 * len(checked)
    jsonl = {e["event_id"]: e for e in accepted(lines(300)) if e["event_type"] == "trip_reported"}
    for e in trips:
        if e["event_id"] in jsonl:
            assert e["destinations"] == jsonl[e["event_id"]]["destinations"]
