"""The GX suites of issue 23 (DOMAIN.md §8 trips, §9 bottlenecks): every expectation fails on a table that breaks
it and passes on a replay of a good history; the cross-table checks report (not fail) a project naming a trip that
does not count and a resolution without a raise, with their ids; the summary's ``trips`` and ``bottlenecks`` are
reconciled figure by figure with the tables, in memory and in buckets."""

from __future__ import annotations

import json
from datetime import date

import polars as pl
import pytest

from streams.core.summary import summary
from streams.core.tables import aggregate_tables
from streams.quality import gate
from streams.quality.suites import aggregate_suites
from tests.unit.history import ev, fold
from tests.unit.test_trips_and_bottlenecks import issue, trip, withdrawn

AS_OF = "2024-12-31"

#: Trips of every kind, one reported again and one withdrawn; projects found on trips, one signed; issues open,
#: resolved, overdue and reopened. Nothing in it is wrong.
GOOD = [
    trip("T1", "2024-03-10", "team", "2024-03-04", "2024-03-06", people=4, companies_visited=10, leads=9,
         valid_leads=3),
    trip("T2", "2023-06-10", "leader_led", "2023-06-01", "2023-06-02", people=8, companies_visited=5),
    trip("T3", "2024-05-02", "other", "2024-04-29", "2024-04-29"),
    trip("T3", "2024-05-03", "other", "2024-04-29", "2024-04-30", people=2),  # reported again
    trip("T4", "2024-02-01"), withdrawn("T4", "2024-02-03", reason="重复"),
    ev("A", "planned", "2024-03-20", trip_id="T1", investment_yuan=5 * 10**8),
    ev("A", "signed", "2024-06-01", investment_yuan=6 * 10**8),
    ev("B", "planned", "2023-06-20", trip_id="T2"),
    ev("C", "planned", "2023-02-01"), ev("C", "dropped", "2024-08-01"),
    issue("A", "raised", "Q1", "2024-04-01", category="land", due="2024-06-30"),  # open, overdue
    issue("A", "raised", "Q2", "2024-04-01", category="approval"),
    issue("A", "resolved", "Q2", "2024-05-01", resolution="办结"),
    issue("B", "raised", "Q1", "2023-07-01", category="funding"),
    issue("B", "resolved", "Q1", "2023-09-01"),
    issue("B", "raised", "Q1", "2024-01-10", category="utilities"),  # reopened
    issue("C", "raised", "Q9", "2023-03-01", category="demolition"),  # of a dropped project
]
#: What the cross-table checks report: a project naming a withdrawn trip, one naming a trip never reported, a
#: resolution of an issue never raised (of a planned project and of an orphan, among projects enough to keep the
#: orphans under the totals suite's share).
FLAWED = [
    ev("D", "planned", "2024-03-01", trip_id="T4"),
    ev("E", "planned", "2024-03-01", trip_id="T-NONE"),
    issue("D", "resolved", "Q7", "2024-04-01"),
    issue("Z", "resolved", "Q8", "2024-04-01"),
    *(ev(f"P{i:02d}", "planned", "2024-01-02") for i in range(20)),
]


def replayed(events: list[dict]) -> tuple[dict, dict[str, pl.DataFrame]]:
    result = fold(events, AS_OF)
    return summary(result), aggregate_tables(result, {})


@pytest.fixture(scope="module")
def good():
    return replayed(GOOD)


def failing(report: gate.QualityReport, severity="critical") -> set[tuple[str, str, str]]:
    return {(f.suite, f.expectation, f.column) for f in report.failures if f.severity == severity}


def frame(good, suite: str) -> pl.DataFrame:
    return gate.aggregate_frames(*good)[suite]


# ---- a good history ------------------------------------------------------------------------------------------

def test_a_good_history_passes_every_suite_with_nothing_to_report(good):
    doc, tables = good
    assert doc["trips"]["2024"]["team"] == 1 and doc["bottlenecks"]["open"] == 2  # the history counts something
    frames = gate.aggregate_frames(doc, tables)
    assert {"aggregates.trips", "aggregates.issues", "aggregates.trip_references", "aggregates.resolutions",
            "aggregates.reconciliation"} <= set(frames)
    assert frames["aggregates.trips"].height == 4 and frames["aggregates.issues"].height == 4
    report = gate.check_aggregates(doc, tables)
    assert report.success and not report.failures, report.as_dict()


def test_the_reconciliation_holds_every_figure_of_both_keys(good):
    rows = frame(good, "aggregates.reconciliation")
    figures = {(k, f, e): (s, t) for k, f, e, s, t, _ in rows.iter_rows()}
    assert figures[("trips", "team", "2024")] == (1, 1)
    assert figures[("trips", "signed_yuan", "2024")] == (6 * 10**8, 6 * 10**8)
    assert figures[("trips", "projects_planned", "2023")] == (1, 1)
    assert figures[("bottlenecks", "open", "")] == (2, 2)  # C's issue: a dropped project's, not open in the count
    assert figures[("bottlenecks", "open_by_category", "land")] == (1, 1)
    assert figures[("bottlenecks", "overdue", "")] == (1, 1)
    assert len(figures) == rows.height and (rows["difference"] == 0).all()


# ---- each expectation fails on a table that breaks it ---------------------------------------------------------

def _one_row(frame: pl.DataFrame, key: str, value: str, **changes) -> pl.DataFrame:
    """``frame`` with ``changes`` made on the row whose ``key`` is ``value``."""
    hit = pl.col(key) == value
    return frame.with_columns(**{c: pl.when(hit).then(pl.lit(v, frame.schema[c])).otherwise(pl.col(c))
                                 for c, v in changes.items()})


TRIP_BREAKS = [
    ({"trip_id": None}, "expect_column_values_to_not_be_null", "trip_id"),
    ({"trip_id": "T2"}, "expect_column_values_to_be_unique", "trip_id"),
    ({"counts": None}, "expect_column_values_to_not_be_null", "counts"),
    ({"kind": None}, "expect_column_values_to_not_be_null", "kind"),
    ({"kind": "bus_tour"}, "expect_column_values_to_be_in_set", "kind"),
    ({"departed": None}, "expect_column_values_to_not_be_null", "departed"),
    ({"returned": None}, "expect_column_values_to_not_be_null", "returned"),
    ({"returned": date(2024, 3, 3)}, "expect_column_pair_values_a_to_be_greater_than_b", "returned ≥ departed"),
    ({"people": 0}, "expect_column_values_to_be_between", "people"),
    ({"companies_visited": -1}, "expect_column_values_to_be_between", "companies_visited"),
    ({"leads": -1}, "expect_column_values_to_be_between", "leads"),
    ({"valid_leads": -1}, "expect_column_values_to_be_between", "valid_leads"),
    ({"days": 0}, "expect_column_values_to_be_between", "days"),
    ({"people_days": 0}, "expect_column_values_to_be_between", "people_days"),
]


@pytest.mark.parametrize("change, expectation, column", TRIP_BREAKS,
                         ids=[f"{next(iter(c))}={next(iter(c.values()))}" for c, _, _ in TRIP_BREAKS])
def test_each_trips_expectation_fails_on_a_trip_that_breaks_it(good, change, expectation, column):
    trips = frame(good, "aggregates.trips")
    report = gate.validate("aggregates.trips", _one_row(trips, "trip_id", "T1", **change))
    assert failing(report) == {("aggregates.trips", expectation, column)}, report.as_dict()
    assert not report.success
    if change != {"trip_id": None}:
        assert report.failures[0].examples[0]["trip_id"] in ("T1", "T2")  # the offending row, by its id


def test_a_withdrawn_trip_needs_no_kind_or_dates(good):
    trips = frame(good, "aggregates.trips")
    assert trips.filter(~pl.col("counts"))["kind"].to_list() == [None]  # T4
    assert not gate.validate("aggregates.trips", trips).failures


def test_more_valid_leads_than_leads_is_only_a_warning(good):
    trips = frame(good, "aggregates.trips")
    report = gate.validate("aggregates.trips", _one_row(trips, "trip_id", "T1", valid_leads=10))
    assert report.success
    assert failing(report, "warning") == {("aggregates.trips", "expect_column_pair_values_a_to_be_greater_than_b",
                                           "leads ≥ valid_leads")}
    assert report.failures[0].examples == [{"leads": 9, "valid_leads": 10, "trip_id": "T1"}]


def _issue_row(issues: pl.DataFrame, **changes) -> pl.DataFrame:
    hit = (pl.col("project_id") == "A") & (pl.col("issue_id") == "Q2")  # resolved
    return issues.with_columns(**{c: pl.when(hit).then(pl.lit(v, issues.schema[c])).otherwise(pl.col(c))
                                  for c, v in changes.items()})


_EARLY = pl.datetime(2024, 1, 1, time_zone="UTC")
ISSUE_BREAKS = [
    ({"project_id": None}, "expect_column_values_to_not_be_null", "project_id"),
    ({"issue_id": None}, "expect_column_values_to_not_be_null", "issue_id"),
    ({"open": None}, "expect_column_values_to_not_be_null", "open"),
    ({"category": None}, "expect_column_values_to_not_be_null", "category"),
    ({"first_raised_at": None}, "expect_column_values_to_not_be_null", "first_raised_at"),
    ({"raised_at": None}, "expect_column_values_to_not_be_null", "raised_at"),
    ({"issue_id": "Q1"}, "expect_compound_columns_to_be_unique", "project_id, issue_id"),
    ({"category": "weather"}, "expect_column_values_to_be_in_set", "category"),
    ({"first_raised_at": "late"}, "expect_column_pair_values_a_to_be_greater_than_b", "raised_at ≥ first_raised_at"),
    ({"resolved_at": "early"}, "expect_column_pair_values_a_to_be_greater_than_b", "resolved_at ≥ raised_at"),
    ({"resolved_at": None}, "expect_column_values_to_not_be_null", "resolved_at"),
    ({"open": True}, "expect_column_values_to_be_null", "resolved_at"),
]


@pytest.mark.parametrize("change, expectation, column", ISSUE_BREAKS,
                         ids=[f"{next(iter(c))}={next(iter(c.values()))}" for c, _, _ in ISSUE_BREAKS])
def test_each_issues_expectation_fails_on_an_issue_that_breaks_it(good, change, expectation, column):
    issues = frame(good, "aggregates.issues")
    row = issues.filter((pl.col("project_id") == "A") & (pl.col("issue_id") == "Q2")).row(0, named=True)
    times = {"late": row["raised_at"].replace(year=2025), "early": row["raised_at"].replace(year=2023)}
    change = {c: times.get(v, v) if isinstance(v, str) else v for c, v in change.items()}
    report = gate.validate("aggregates.issues", _issue_row(issues, **change))
    assert failing(report) == {("aggregates.issues", expectation, column)}, report.as_dict()


def test_trip_references_are_one_per_project_name_a_trip_and_agree_with_the_trips_table(good):
    refs = frame(good, "aggregates.trip_references")
    assert refs.select("project_id", "trip_id", "counted").rows() == [("A", "T1", True), ("B", "T2", True)]
    broken = pl.concat([refs, refs.head(1)])  # A twice
    assert failing(gate.validate("aggregates.trip_references", broken)) == {
        ("aggregates.trip_references", "expect_column_values_to_be_unique", "project_id")}
    nameless = refs.with_columns(trip_id=pl.when(pl.col("project_id") == "B").then(None).otherwise("trip_id"))
    assert failing(gate.validate("aggregates.trip_references", nameless)) == {
        ("aggregates.trip_references", "expect_column_values_to_not_be_null", "trip_id")}
    # the replay's flag says B's trip does not count, the trips table counts it
    disagree = gate.trip_and_issue_frames(good[0], {**good[1], "trip_references": good[1]["trip_references"]
                                          .with_columns(counted=pl.col("project_id") == "A")})
    report = gate.validate("aggregates.trip_references", disagree["aggregates.trip_references"])
    assert failing(report) == {("aggregates.trip_references", "expect_column_values_to_be_in_set",
                                "agrees_with_trips")}
    assert report.failures[0].examples == [{"agrees_with_trips": False, "project_id": "B", "trip_id": "T2"}]


# ---- the cross-table checks: reported with their ids, not fatal -------------------------------------------------

@pytest.fixture(scope="module")
def flawed():
    return replayed([*GOOD, *FLAWED])


def test_a_project_naming_a_trip_that_does_not_count_is_reported_with_its_ids(flawed):
    report = gate.check_aggregates(*flawed)
    assert report.success, report.as_dict()
    [named] = [f for f in report.failures if f.suite == "aggregates.trip_references"]
    assert (named.severity, named.column, named.unexpected) == ("warning", "counted", 2)
    assert sorted((e["project_id"], e["trip_id"]) for e in named.examples) == [("D", "T4"), ("E", "T-NONE")]


def test_a_resolution_without_a_raise_is_reported_with_its_ids(flawed):
    report = gate.check_aggregates(*flawed)
    [unraised] = [f for f in report.failures if f.suite == "aggregates.resolutions"]
    assert (unraised.severity, unraised.column, unraised.unexpected) == ("warning", "raised", 2)
    assert sorted((e["project_id"], e["issue_id"]) for e in unraised.examples) == [("D", "Q7"), ("Z", "Q8")]
    # and these are all it reports: the summary still reconciles with the tables, the tables hold
    assert {f.suite for f in report.failures} == {"aggregates.trip_references", "aggregates.resolutions"}


def test_the_reports_are_those_of_the_core_rules(flawed):
    """The frames are the core's (streams.core.trips.project_trip_ids, streams.core.bottlenecks
    .unraised_resolutions): GX only checks them."""
    from streams.core.bottlenecks import unraised_resolutions
    from streams.core.log import accepted_events

    result = fold([*GOOD, *FLAWED], AS_OF)
    unraised = unraised_resolutions(accepted_events(result.settled), result.view.cutoff)
    tables = flawed[1]
    assert tables["resolutions"].filter(~pl.col("raised")).select("project_id", "issue_id").rows() == \
        unraised.select("project_id", "issue_id").rows()
    counted = set(tables["trips"].filter(pl.col("counts"))["trip_id"])
    refs = tables["trip_references"]
    assert refs.filter(~pl.col("counted"))["trip_id"].to_list() == [t for t in refs["trip_id"] if t not in counted]


# ---- the summary reconciled with the tables ---------------------------------------------------------------------

def _tampered(good, mutate) -> set[tuple]:
    doc = json.loads(json.dumps(good[0]))
    mutate(doc)
    rows = frame((doc, good[1]), "aggregates.reconciliation")
    report = gate.validate("aggregates.reconciliation", rows)
    assert not report.success and {f.column for f in report.failures} == {"difference"}
    return {(e["key"], e["figure"], e["entry"]) for f in report.failures for e in f.examples}


@pytest.mark.parametrize("mutate, figure", [
    (lambda d: d["trips"]["2024"].update(team=2), ("trips", "team", "2024")),
    (lambda d: d["trips"]["2023"].update(people_days=0), ("trips", "people_days", "2023")),
    (lambda d: d["trips"]["2024"].update(signed_yuan=1), ("trips", "signed_yuan", "2024")),
    (lambda d: d["trips"].update({"2022": {"other": 1}}), ("trips", "other", "2022")),  # a year the tables lack
    (lambda d: d["trips"].pop("2023"), ("trips", "leader_led", "2023")),  # a year the summary lacks
    (lambda d: d["bottlenecks"].update(open=3), ("bottlenecks", "open", "")),
    (lambda d: d["bottlenecks"].update(overdue=0), ("bottlenecks", "overdue", "")),
    (lambda d: d["bottlenecks"]["open_by_category"].update(land=0, planning=1),
     ("bottlenecks", "open_by_category", "planning")),
    (lambda d: d["bottlenecks"]["raised"].update({"2023": 9}), ("bottlenecks", "raised", "2023")),
    (lambda d: d["bottlenecks"]["projects_cleared"].clear(), ("bottlenecks", "projects_cleared", "2024")),
])
def test_a_summary_figure_that_disagrees_with_the_tables_fails_by_name(good, mutate, figure):
    assert figure in _tampered(good, mutate)


def test_tables_that_disagree_with_the_summary_fail_too(good):
    doc, tables = good
    fewer = {**tables, "trips": tables["trips"].filter(pl.col("trip_id") != "T1"),  # A is from T1: no longer
             "issues": tables["issues"].filter(pl.col("category") != "land")}
    rows = gate.aggregate_frames(doc, fewer)["aggregates.reconciliation"]
    off = rows.filter(pl.col("difference") != 0)
    assert set(off.select("key", "figure", "entry").rows()) == {
        ("trips", f, "2024") for f in ("team", "people_days", "companies_visited", "valid_leads", "projects_planned",
                                       "projects_signed", "signed_yuan")} | {
        ("bottlenecks", "open", ""), ("bottlenecks", "overdue", ""), ("bottlenecks", "open_by_category", "land"),
        ("bottlenecks", "raised", "2024")}
    assert off.filter(pl.col("figure") == "team")["tables"].to_list() == [0]
    report = gate.validate("aggregates.reconciliation", rows)
    assert not report.success and report.failures[0].unexpected == off.height


@pytest.mark.parametrize("buckets", [2, 4])
def test_a_replay_in_buckets_reconciles_and_reports_the_same(tmp_path, buckets):
    from streams.config import targets as load_targets
    from streams.core.log import received_log
    from streams.core.summary import View
    from streams.replay import _Collected, fold_and_aggregate
    from tests.unit.history import RECEIVED, lines

    log = received_log(enumerate(lines([*GOOD, *FLAWED]), start=1), RECEIVED)
    view = View(date.fromisoformat(AS_OF))
    parts = fold_and_aggregate(log, view, load_targets(None), buckets=buckets, work=tmp_path)
    assert parts.buckets > 1
    whole = fold_and_aggregate(log, view, load_targets(None))
    tables = _Collected(parts.tables)
    for name in ("trip_references", "resolutions"):
        assert tables[name].rows() == whole.tables[name].rows(), name
    report = gate.check_aggregates(parts.doc, tables)
    assert report.success
    assert {(f.suite, f.unexpected) for f in report.failures} == {("aggregates.trip_references", 2),
                                                                  ("aggregates.resolutions", 2)}


def test_outputs_without_these_tables_are_checked_as_before(good):
    """A replay output written before issue 23 has no trips, issues, trip_references or resolutions."""
    doc, tables = good
    old = {k: v for k, v in tables.items() if k not in ("trips", "issues", "trip_references", "resolutions")}
    names = set(gate.aggregate_frames(doc, old))
    assert not names & {"aggregates.trips", "aggregates.issues", "aggregates.trip_references",
                        "aggregates.resolutions", "aggregates.reconciliation"}


def test_every_new_suite_has_row_ids():
    new = {"aggregates.trips", "aggregates.issues", "aggregates.trip_references", "aggregates.resolutions",
           "aggregates.reconciliation"}
    assert new <= set(aggregate_suites()) and all(gate.ROW_IDS[name] for name in new)
