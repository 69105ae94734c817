"""Given this history: the rules of DOMAIN.md §8 (promotion trips) and §9 (bottlenecks), in replay's summary and
tables, in memory and in buckets."""

from __future__ import annotations

import itertools
from datetime import date

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from streams.core.summary import summary
from tests.unit.history import ev, fold

_ids = itertools.count(1)


def trip(trip_id: str, day: str, kind: str = "team", departed: str = "2024-03-04", returned: str = "2024-03-06",
         **payload) -> dict:
    """A trip_reported occurring at noon CST of ``day`` (or a full timestamp)."""
    occurred = day if "T" in day else f"{day}T12:00:00+08:00"
    return {"event_id": payload.pop("event_id", f"t{next(_ids)}"), "event_type": "trip_reported",
            "schema_version": 2, "trip_id": trip_id, "occurred_at": occurred, "recorded_at": occurred,
            "kind": kind, "departed": departed, "returned": returned, **payload}


def withdrawn(trip_id: str, day: str, **payload) -> dict:
    occurred = day if "T" in day else f"{day}T12:00:00+08:00"
    return {"event_id": payload.pop("event_id", f"t{next(_ids)}"), "event_type": "trip_withdrawn",
            "schema_version": 2, "trip_id": trip_id, "occurred_at": occurred, "recorded_at": occurred, **payload}


def issue(project: str, kind: str, issue_id: str, day: str, **payload) -> dict:
    occurred = day if "T" in day else f"{day}T12:00:00+08:00"
    event = {"event_id": payload.pop("event_id", f"i{next(_ids)}"), "event_type": f"issue_{kind}",
             "schema_version": 2, "project_id": project, "issue_id": issue_id, "occurred_at": occurred,
             "recorded_at": occurred, **payload}
    if kind == "raised":
        event.setdefault("category", "land")
    return event


def trips_of(events, as_of="2024-12-31", known_at=None) -> dict:
    return summary(fold(events, as_of, known_at))["trips"]


def bottlenecks_of(events, as_of="2024-12-31") -> dict:
    return summary(fold(events, as_of))["bottlenecks"]


ZERO = {"leader_led": 0, "team": 0, "other": 0, "people_days": 0, "companies_visited": 0, "valid_leads": 0,
        "projects_planned": 0, "projects_signed": 0, "signed_yuan": 0}
NO_ISSUES = {"open": 0, "overdue": 0, "open_by_category": {}, "raised": {}, "resolved": {}, "projects_cleared": {}}


# ------------------------------------------------------------------------------------------------ §8 trips

def test_the_keys_are_always_present_and_empty_without_trips_or_issues():
    doc = summary(fold([ev("A", "planned", "2024-01-05")]))
    assert doc["trips"] == {} and doc["bottlenecks"] == NO_ISSUES


def test_trips_count_by_kind_and_their_sums_in_the_year_they_depart():
    doc = trips_of([trip("T1", "2024-01-10", "leader_led", "2023-12-30", "2024-01-02", people=3,
                         companies_visited=5, valid_leads=2),
                    trip("T2", "2024-03-08", people=4, companies_visited=10, valid_leads=3, leads=9),
                    trip("T3", "2024-05-01", "other", "2024-04-29", "2024-04-29")])
    assert doc == {"2023": ZERO | {"leader_led": 1, "people_days": 3 * 4, "companies_visited": 5, "valid_leads": 2},
                   "2024": ZERO | {"team": 1, "other": 1, "people_days": 4 * 3 + 1 * 1, "companies_visited": 10,
                                   "valid_leads": 3}}


def test_a_withdrawn_trip_does_not_count_and_a_later_report_brings_it_back():
    history = [trip("T1", "2024-03-08"), withdrawn("T1", "2024-03-10", reason="重复")]
    assert trips_of(history) == {}
    assert trips_of(history, as_of="2024-03-09")["2024"]["team"] == 1  # as of T, before the withdrawal
    assert trips_of([*history, trip("T1", "2024-03-12", "leader_led")])["2024"] == ZERO | {
        "leader_led": 1, "people_days": 3}


def test_on_the_same_instant_the_withdrawal_wins_whatever_the_arrival():
    at = "2024-03-08T09:00:00+08:00"
    assert trips_of([trip("T1", at), withdrawn("T1", at)]) == {}
    assert trips_of([withdrawn("T1", at), trip("T1", at)]) == {}


def test_the_latest_report_alone_describes_the_trip():
    history = [trip("T1", "2024-03-08", people=5, companies_visited=7, departed="2023-12-01",
                    returned="2023-12-02"),
               trip("T1", "2024-03-09")]  # a correction: no people, no companies, another year
    assert trips_of(history) == {"2024": ZERO | {"team": 1, "people_days": 3}}
    table = fold(history).trips
    assert table.select("trip_id", "counts", "people", "companies_visited", "days").rows() == [
        ("T1", True, None, None, 3)]


def test_a_report_in_the_future_of_t_is_not_counted_and_arrival_breaks_ties():
    at = "2024-03-08T09:00:00+08:00"
    assert trips_of([trip("T1", "2025-01-02")]) == {}
    doc = trips_of([trip("T1", at, "team"), trip("T1", at, "other")])
    assert doc["2024"]["other"] == 1 and doc["2024"]["team"] == 0


def test_a_project_is_from_a_trip_that_counts_at_t_by_its_latest_planned_carrying_one():
    history = [trip("T1", "2024-03-08"), trip("T2", "2024-03-09"),
               ev("A", "planned", "2024-04-01", trip_id="T1"),
               ev("A", "planned", "2024-04-02"),                           # carries none: T1 stays
               ev("B", "planned", "2024-04-01", trip_id="T1"), ev("B", "planned", "2024-05-01", trip_id="T2"),
               ev("C", "planned", "2024-04-01", trip_id="T9"),             # names no trip: not counted
               ev("D", "signed", "2024-04-01", trip_id="T1"),              # orphan (no planned)
               ev("E", "negotiating", "2024-04-01", trip_id="T1")]         # orphan too
    result = fold(history)
    assert sorted(result.from_trips.select("project_id", "trip_id").rows()) == [("A", "T1"), ("B", "T2")]
    assert trips_of(history)["2024"]["projects_planned"] == 2
    # B's T2 withdrawn: B is no longer from a trip, although T2 stood when B was planned
    assert trips_of([*history, withdrawn("T2", "2024-06-01")])["2024"]["projects_planned"] == 1


def test_projects_from_a_trip_count_by_their_planned_and_signed_years_with_the_signed_amount():
    history = [trip("T1", "2023-03-08", departed="2023-03-01", returned="2023-03-02"),
               ev("A", "planned", "2023-04-01", trip_id="T1"), ev("A", "signed", "2024-02-01",
                                                                   investment_yuan=500_000_000),
               ev("A", "revised", "2024-06-01", investment_yuan=900_000_000),
               ev("B", "planned", "2023-05-01", trip_id="T1"), ev("B", "dropped", "2023-06-01"),
               ev("C", "planned", "2024-01-01", trip_id="T1", investment_yuan=70_000_000),
               ev("C", "started", "2024-03-01")]  # signed without a contract event: its investment at T
    doc = trips_of(history)
    assert doc["2023"] == ZERO | {"team": 1, "people_days": 2, "projects_planned": 2}  # dropped B included
    assert doc["2024"] == ZERO | {"projects_planned": 1, "projects_signed": 2, "signed_yuan": 570_000_000}
    assert trips_of(history, as_of="2024-02-15")["2024"]["signed_yuan"] == 500_000_000


def test_trips_in_the_known_at_view():
    late = trip("T1", "2024-03-08", recorded_at="2024-04-01T12:00:00+08:00")
    assert trips_of([late], known_at="2024-03-31") == {}
    assert trips_of([late], known_at="2024-04-01")["2024"]["team"] == 1


def test_trip_events_never_touch_projects():
    history = [ev("A", "planned", "2024-01-05", investment_yuan=10), trip("A", "2024-03-08")]
    doc = summary(fold(history))
    assert doc["projects"] == {"total": 1, "orphans": 0}
    assert fold(history).state["project_id"].to_list() == ["A"]


# ------------------------------------------------------------------------------------------------ §9 bottlenecks

def test_an_issue_is_open_until_resolved_and_reopens_when_raised_again():
    history = [ev("A", "planned", "2023-01-05"),
               issue("A", "raised", "Q1", "2023-03-01", category="land", due="2023-06-30"),
               issue("A", "resolved", "Q1", "2023-05-01")]
    assert bottlenecks_of(history, "2023-04-01") == NO_ISSUES | {
        "open": 1, "open_by_category": {"land": 1}, "raised": {"2023": 1}}
    assert bottlenecks_of(history) == NO_ISSUES | {"raised": {"2023": 1}, "resolved": {"2023": 1},
                                                   "projects_cleared": {"2023": 1}}
    reopened = [*history, issue("A", "raised", "Q1", "2024-02-01", category="funding")]
    assert bottlenecks_of(reopened) == NO_ISSUES | {"open": 1, "open_by_category": {"funding": 1},
                                                    "raised": {"2023": 1}}  # by its earliest raise


def test_on_the_same_instant_the_resolution_wins():
    at = "2023-03-01T09:00:00+08:00"
    for order in ((0, 1), (1, 0)):
        events = [issue("A", "raised", "Q1", at), issue("A", "resolved", "Q1", at)]
        history = [ev("A", "planned", "2023-01-05"), *(events[i] for i in order)]
        assert bottlenecks_of(history)["resolved"] == {"2023": 1}


def test_a_resolution_without_a_raise_makes_no_issue():
    from streams.core.bottlenecks import unraised_resolutions
    from streams.core.log import accepted_events

    history = [ev("A", "planned", "2023-01-05"), issue("A", "resolved", "Q1", "2023-03-01"),
               issue("A", "raised", "Q2", "2024-03-01")]
    assert bottlenecks_of(history, "2023-12-31") == NO_ISSUES
    result = fold(history, "2023-12-31")
    assert unraised_resolutions(accepted_events(result.settled), result.view.cutoff)["issue_id"].to_list() == ["Q1"]
    # raised later, the earlier resolution does not resolve it
    assert bottlenecks_of([*history, issue("A", "raised", "Q1", "2023-04-01")])["open"] == 2


def test_the_latest_raise_alone_gives_category_department_and_due():
    history = [ev("A", "planned", "2023-01-05"),
               issue("A", "raised", "Q1", "2023-03-01", category="land", department="自然资源局", due="2023-04-01"),
               issue("A", "raised", "Q1", "2023-05-01", category="approval")]
    result = fold(history)
    assert result.issues.select("category", "department", "due", "open").rows() == [("approval", None, None, True)]
    assert bottlenecks_of(history)["overdue"] == 0


def test_overdue_is_open_with_due_before_the_as_of_date():
    history = [ev("A", "planned", "2023-01-05"),
               issue("A", "raised", "Q1", "2023-03-01", due="2023-06-30"),
               issue("A", "raised", "Q2", "2023-03-01", due="2023-07-01")]
    assert bottlenecks_of(history, "2023-07-01")["overdue"] == 1  # a due on the as-of date is not overdue
    assert bottlenecks_of(history, "2023-07-02")["overdue"] == 2


def test_open_counts_only_active_projects_the_years_count_every_non_orphan_project():
    history = [ev("A", "planned", "2023-01-05"), ev("A", "dropped", "2023-09-01"),
               issue("A", "raised", "Q1", "2023-03-01"), issue("A", "raised", "Q2", "2023-03-01"),
               issue("A", "resolved", "Q2", "2023-04-01"),
               issue("O", "raised", "Q1", "2023-03-01"), issue("O", "resolved", "Q1", "2023-04-01")]  # an orphan
    doc = summary(fold(history))
    assert doc["projects"] == {"total": 1, "orphans": 1}
    assert doc["bottlenecks"] == NO_ISSUES | {"raised": {"2023": 2}, "resolved": {"2023": 1},
                                             "projects_cleared": {"2023": 1}}


def test_projects_cleared_counts_projects_not_issues_by_the_year_of_the_standing_resolution():
    history = [ev("A", "planned", "2023-01-05"), ev("B", "planned", "2023-01-05"),
               *(issue("A", k, q, d) for q in ("Q1", "Q2") for k, d in (("raised", "2023-02-01"),
                                                                         ("resolved", "2023-11-01"))),
               issue("B", "raised", "Q1", "2023-02-01"), issue("B", "resolved", "Q1", "2024-01-10")]
    doc = bottlenecks_of(history)
    assert doc["resolved"] == {"2023": 2, "2024": 1} and doc["projects_cleared"] == {"2023": 1, "2024": 1}


def test_issue_events_change_no_pool_flow_or_colour():
    base = [ev("A", "planned", "2023-01-05", investment_yuan=100), ev("A", "signed", "2023-02-05"),
            ev("B", "planned", "2023-01-05")]
    with_issues = [*base, issue("A", "raised", "Q1", "2024-11-01", department="X", due="2024-01-01"),
                   issue("A", "resolved", "Q1", "2024-12-01", reason="done")]
    plain, issued = summary(fold(base)), summary(fold(with_issues))
    for key in ("projects", "pools", "flows", "supervision"):
        assert plain[key] == issued[key], key
    # the state is the same but for the count of the project's events, which are its issues' too
    assert_frame_equal(fold(base).state.drop("events"), fold(with_issues).state.drop("events"))


def test_a_project_whose_only_events_are_issues_is_an_orphan():
    doc = summary(fold([issue("O", "raised", "Q1", "2023-03-01")]))
    assert doc["projects"] == {"total": 0, "orphans": 1} and doc["bottlenecks"] == NO_ISSUES


# ------------------------------------------------------------------------------------------------ buckets

def _mixed_history() -> list[dict]:
    history = []
    for i in range(40):
        p, t = f"P{i:02d}", f"T{i % 7}"
        history += [ev(p, "planned", f"2023-0{1 + i % 9}-05", trip_id=t, investment_yuan=i * 1000),
                    issue(p, "raised", "Q1", "2023-03-01", category=("land", "funding")[i % 2], due="2023-06-01")]
        if i % 3 == 0:
            history += [ev(p, "signed", "2023-10-01"), issue(p, "resolved", "Q1", "2023-11-01")]
    for j in range(7):
        history.append(trip(f"T{j}", "2023-02-01", ("team", "leader_led")[j % 2], "2023-01-10", "2023-01-12",
                            people=j + 1))
    history += [withdrawn("T3", "2023-05-01"), trip("T0", "2023-02-01", event_id="dup-me"),
                trip("T0", "2023-02-02", event_id="dup-me")]  # a conflict in the trip's namespace
    return history


@pytest.mark.parametrize("buckets", [2, 5])
def test_a_replay_in_buckets_gives_the_same_summary_trips_and_issues(tmp_path, buckets):
    from streams.core.log import received_log
    from streams.core.summary import View
    from streams.replay import fold_and_aggregate
    from streams.config import targets as load_targets
    from tests.unit.history import RECEIVED, lines

    log = received_log(enumerate(lines(_mixed_history()), start=1), RECEIVED)
    view = View(date(2023, 12, 31))
    targets = load_targets(None)
    whole = fold_and_aggregate(log, view, targets)
    parts = fold_and_aggregate(log, view, targets, buckets=buckets, work=tmp_path)
    assert parts.buckets > 1
    assert parts.doc == whole.doc
    assert whole.doc["trips"]["2023"]["projects_planned"] == 40 - len([i for i in range(40) if i % 7 == 3])
    assert whole.doc["accounting"]["rejected"] == {"event_id_conflict": 1}
    for name in ("trips", "issues"):
        merged = parts.tables[name]
        merged = merged.collect() if isinstance(merged, pl.LazyFrame) else merged
        assert_frame_equal(merged, whole.tables[name], check_dtypes=False)


@pytest.mark.parametrize("buckets", [[], ["--buckets", "3"]])
def test_funnel_replay_writes_the_trips_and_issues_tables(tmp_path, buckets):
    import json

    from click.testing import CliRunner

    from streams import cli
    from tests.unit.history import lines

    feed = tmp_path / "feed.jsonl"
    feed.write_bytes(b"\n".join(lines(_mixed_history())) + b"\n")
    out = tmp_path / "out"
    done = CliRunner().invoke(cli.main, ["replay", "--from-file", str(feed), "--as-of", "2023-12-31", "--no-check",
                                         "--received-at", "2025-01-01T00:00:00+08:00", "--out", str(out), *buckets],
                              catch_exceptions=False)
    assert done.exit_code == 0, done.output
    trips, issues = pl.read_parquet(out / "trips.parquet"), pl.read_parquet(out / "issues.parquet")
    assert trips["trip_id"].to_list() == [f"T{j}" for j in range(7)]
    assert trips.filter(pl.col("trip_id") == "T3")["counts"].to_list() == [False]
    assert issues.height == 40 and issues["open"].sum() == 40 - 14
    doc = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert doc["bottlenecks"]["projects_cleared"] == {"2023": 14}
    assert doc["trips"]["2023"]["leader_led"] == 2  # T1 and T5 (T3 withdrawn)
