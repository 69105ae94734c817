"""What the notebooks show, computed in streams.core.analysis and streams.analysis.stats — given histories."""

from __future__ import annotations

import math
from datetime import date, datetime

import numpy as np
import polars as pl
import pytest

from streams.analysis import stats
from streams.core import aggregates as agg
from streams.core import analysis
from streams.core.analysis import CENSORED, DROPPED, REACHED
from streams.core.clock import (CST, day_end, day_of, last_complete_period, period_bounds, period_label,
                                previous_period)
from tests.unit.history import ev, fold


# --- the clock's periods -------------------------------------------------------------------------------------

def test_periods_are_cst_calendar_periods():
    assert period_label(date(2024, 7, 1), "quarter") == "2024Q3" and period_label(date(2024, 7, 1), "month") == "2024-07"
    assert period_bounds("2024Q4") == (datetime(2024, 10, 1, tzinfo=CST), datetime(2025, 1, 1, tzinfo=CST))
    assert period_bounds("2024-02") == (datetime(2024, 2, 1, tzinfo=CST), datetime(2024, 3, 1, tzinfo=CST))
    assert [previous_period(p) for p in ("2024", "2024Q1", "2024-01")] == ["2023", "2023Q4", "2023-12"]
    assert day_of(day_end(date(2024, 2, 29))) == date(2024, 2, 29)


def test_the_last_complete_period_ends_at_or_before_the_cut_off():
    assert last_complete_period(day_end(date(2024, 12, 31)), "year") == "2024"
    assert last_complete_period(day_end(date(2024, 12, 30)), "year") == "2023"
    assert last_complete_period(day_end(date(2024, 12, 30)), "quarter") == "2024Q3"
    assert last_complete_period(day_end(date(2024, 3, 31)), "quarter") == "2024Q1"


# --- time to an event ----------------------------------------------------------------------------------------

def landing_history():
    return [
        ev("A", "planned", "2024-01-01"), ev("A", "started", "2024-03-01"),
        ev("B", "planned", "2024-01-01"), ev("B", "dropped", "2024-01-11", reason="资金链紧张"),
        ev("C", "planned", "2024-01-01"), ev("C", "dropped", "2024-01-11", reason="资金链紧张"),
        ev("C", "negotiating", "2024-02-01"),  # revived: still waiting
        ev("D", "planned", "2024-12-31T10:00:00+08:00"),  # planned on the as-of day, before 08:00 UTC's next day
        ev("E", "planned", "2024-01-01"), ev("E", "started", "2024-02-01"), ev("E", "dropped", "2024-03-01"),
        ev("F", "negotiating", "2024-01-05"),  # an orphan: never planned
    ]


def test_time_to_land_ends_at_landing_at_a_drop_or_at_the_cst_cut_off():
    r = fold(landing_history(), as_of="2024-12-31")
    t = analysis.time_to_event(r.state, r.view.cutoff).sort("project_id")
    assert t["project_id"].to_list() == ["A", "B", "C", "D", "E"]
    assert t["status"].to_list() == [REACHED, DROPPED, CENSORED, CENSORED, REACHED]
    # C waits from 2024-01-01 12:00 to the cut-off 2025-01-01 00:00 CST; D from 10:00 on the as-of day
    assert t["days"].to_list() == pytest.approx([60.0, 10.0, 365.5, 14 / 24, 31.0])
    assert t["cohort"].unique().to_list() == ["2024"]


def test_landing_within_a_year_counts_only_projects_watched_a_full_year():
    events = landing_history() + [ev("G", "planned", "2023-01-01", industry="新材料"),
                                  ev("G", "started", "2024-02-01")]  # landed, but after 396 days
    r = fold(events, as_of="2024-12-31")
    by = analysis.landing_within(r.state, r.view.cutoff, 365, ("industry",))
    assert by.sort("industry").to_dicts() == [
        {"industry": "新材料", "n": 1, "reached": 0, "dropped": 0},
        {"industry": "现代商贸", "n": 4, "reached": 2, "dropped": 1},  # A, B, C, E planned on 2024-01-01
    ]
    assert analysis.landing_within(r.state, r.view.cutoff, 365, ("industry",), min_n=2)["n"].to_list() == [4]


# --- the estimators ------------------------------------------------------------------------------------------

def events(days, status):
    return pl.DataFrame({"days": [float(d) for d in days], "status": status}, schema={"days": pl.Float64,
                                                                                        "status": pl.Int8})


def at(curves, cause, day):
    row = stats.incidence_at(curves, [day]).filter(pl.col("cause") == cause).row(0, named=True)
    return row["incidence"]


def test_aalen_johansen_by_hand():
    # day 1 censored; days 2, 3 land; days 4, 5 dropped; day 6 censored
    curves = stats.cumulative_incidence(events([1, 2, 3, 4, 5, 6], [0, 1, 1, 2, 2, 0]))
    assert at(curves, "reached", 3) == pytest.approx(0.4)   # 1/5, then 4/5 · 1/4
    assert at(curves, "dropped", 4) == pytest.approx(0.2)   # 3/5 · 1/3
    assert at(curves, "dropped", 6) == pytest.approx(0.4)   # + 2/5 · 1/2
    assert stats.incidence_at(curves, [7])["incidence"].to_list() == [None, None]  # after the follow-up: unknown


def test_without_censoring_the_incidences_are_the_plain_shares_and_ties_need_no_jitter():
    curves = stats.cumulative_incidence(events([1, 1, 2, 3, 3, 4], [1, 2, 1, 1, 2, 1]))
    assert at(curves, "reached", 4) == pytest.approx(4 / 6) and at(curves, "dropped", 4) == pytest.approx(2 / 6)
    assert at(curves, "reached", 1) == pytest.approx(1 / 6) and at(curves, "dropped", 1) == pytest.approx(1 / 6)
    again = stats.cumulative_incidence(events([1, 1, 2, 3, 3, 4], [1, 2, 1, 1, 2, 1]))
    assert curves.equals(again)


def test_censoring_drops_overstates_landing_and_the_intervals_hold_the_estimate():
    rng = np.random.default_rng(7)
    days = rng.integers(1, 400, 300)
    status = rng.choice([0, 1, 2], 300, p=[0.3, 0.4, 0.3])
    sample = events(days, status)
    curves = stats.cumulative_incidence(sample)
    naive = stats.km_drops_censored(sample)
    end = float(days.max())
    landed, dropped = at(curves, "reached", end), at(curves, "dropped", end)
    assert naive["incidence"][-1] > landed + 0.05
    assert 0 < landed + dropped <= 1
    inside = curves.filter(pl.col("incidence").is_between(0, 1, closed="none"))
    assert inside.height and (inside["low"] < inside["incidence"]).all() and (inside["incidence"] < inside["high"]).all()
    assert curves["low"].min() >= 0 and curves["high"].max() <= 1
    assert stats.while_at_risk(curves, 10)["at_risk"].min() >= 10


def test_wilson_interval_from_statsmodels():
    low, high = stats.wilson_interval(3, 10)
    assert (round(low, 4), round(high, 4)) == (0.1078, 0.6032)
    assert stats.wilson_interval(0, 20)[0] == 0.0
    assert all(math.isnan(x) for x in stats.wilson_interval(0, 0))


def test_quantile_test_of_two_samples():
    same = np.arange(40.0)
    assert stats.quantile_test_2(same, same, 0.5) == 1.0
    assert stats.quantile_test_2(np.arange(40.0), np.arange(40.0) + 100, 0.5) < 1e-6
    assert stats.quantile_test_2(same, np.array([]), 0.9) is None


# --- steps and periods ---------------------------------------------------------------------------------------

def two_years():
    out = []
    for i, (planned, negotiating) in enumerate([("2023-01-10", "2023-02-09"), ("2023-03-01", "2023-03-21"),
                                                ("2023-11-01", "2024-01-30"), ("2024-02-01", "2024-02-11"),
                                                ("2024-03-01", "2024-04-30"), ("2024-05-01", None)]):
        out.append(ev(f"P{i}", "planned", planned))
        if negotiating:
            out.append(ev(f"P{i}", "negotiating", negotiating))
    out += [ev("P5", "dropped", "2024-06-01", reason="选址未落实"), ev("P1", "signed", "2024-03-21")]
    return out


def test_step_quantiles_are_those_of_time_in_stage():
    r = fold(two_years(), as_of="2024-12-31")
    mine = analysis.step_time_quantiles(analysis.step_durations(r.state)).filter(pl.col("step") == "planned→negotiating")
    theirs = agg.time_in_stage(r.state).filter(pl.col("stage") == "planned")
    assert mine.select("projects", "median_days", "p90_days").equals(theirs.select("projects", "median_days",
                                                                                  "p90_days"))
    assert mine["median_days"][0] == 30.0  # 20, 30, 60, 90 (completed 2024-01-30), 10


def test_this_year_against_the_last():
    r = fold(two_years(), as_of="2024-12-31")
    c = stats.period_comparison(r.state, r.view.cutoff, "year")
    row = {(x["measure"], x["what"]): x for x in c.iter_rows(named=True)}
    assert (row[("flow", "planned")]["previous"], row[("flow", "planned")]["current"]) == (3, 3)
    assert row[("flow", "planned")]["p_value"] == pytest.approx(1.0)
    assert (row[("flow", "negotiating")]["previous"], row[("flow", "negotiating")]["current"]) == (2, 3)
    assert (row[("dropped", "dropped")]["previous"], row[("dropped", "dropped")]["current"]) == (0, 1)
    assert row[("conversion", "planned→negotiating")]["current"] == pytest.approx(1.0)
    # steps completed in 2023: 30 and 20 days; in 2024: 90, 10 and 60 days
    assert (row[("median_days", "planned→negotiating")]["previous"],
            row[("median_days", "planned→negotiating")]["current"]) == (25.0, 60.0)
    assert row[("median_days", "planned→negotiating")]["change"] == 35.0
    assert row[("conversion", "planned→negotiating")]["p_value"] is None
    earlier = analysis.period_comparison(r.state, day_end(date(2024, 12, 30)), "year")
    assert earlier["previous_period"][0] == "2022" and earlier["current_period"][0] == "2023"


def test_funnel_against_targets():
    r = fold(two_years(), as_of="2024-12-31")
    f = analysis.stage_funnel(r.state, "2023", {"2023": {"planned": 4, "negotiating": 4}})
    assert f.select("stage", "actual", "target").rows() == [("planned", 3, 4), ("negotiating", 2, 4),
                                                            ("signed", 0, None), ("started", 0, None)]
    assert f["conversion"].to_list() == [None, 2 / 3, 0.0, None]
    steps = analysis.funnel_steps(f)
    assert steps.row(0) == ("planned", "negotiating", 3, 2, 1)


def test_cohort_curves_leave_censored_months_out():
    r = fold(two_years(), as_of="2024-03-30")
    cohorts = agg.cohort_conversion(r.state, "negotiating", r.view.cutoff, max_k=24)
    curves = dict(analysis.cohort_curves(cohorts, "negotiating"))
    assert curves["2023-01"]["rate"].to_list()[:2] == [0.0, 1.0]
    assert curves["2024-02"]["k"].to_list() == [0]  # month 2024-03 is not over: k = 1 is unknown, not zero
    assert "2024-03" not in curves  # planned in the as-of month: nothing known yet


# --- data quality --------------------------------------------------------------------------------------------

def test_rejections_are_counted_by_cst_month_of_arrival():
    utc = pl.Datetime("us", "UTC")
    rejections = pl.DataFrame({
        "outcome": ["schema", "schema", "malformed"],
        "recorded_at": [datetime(2024, 1, 31, 20, tzinfo=CST), datetime(2024, 1, 31, 15, tzinfo=CST), None],
    }, schema={"outcome": pl.Utf8, "recorded_at": utc})
    wide = analysis.rejections_by_month(rejections)
    assert wide.rows() == [("2024-01", 2, 0), ("unknown", 0, 1)]
    assert wide.columns == ["month", "schema", "malformed"]
    assert analysis.rejections_by_reason(rejections).rows() == [("schema", 2), ("malformed", 1)]
    late = rejections.with_columns(pl.lit(datetime(2024, 2, 1, 1, tzinfo=CST)).cast(utc).alias("recorded_at"))
    assert analysis.rejections_by_month(late)["month"].to_list() == ["2024-02"]  # 2024-01-31 17:00 UTC


# --- bottlenecks (§9): time to resolution, resolution rate by department ------------------------------------

from streams.core.analysis import RESOLVED  # noqa: E402
from streams.core.summary import summary  # noqa: E402
from tests.unit.test_trips_and_bottlenecks import issue, trip  # noqa: E402


def test_kaplan_meier_by_hand_with_open_issues_censored():
    # resolved after 2, 3, 5 and 8 days; still open (censored) after 3, 8 and 9 days
    sample = pl.DataFrame({"days": [2.0, 3, 3, 5, 8, 8, 9], "status": [1, 0, 1, 1, 0, 1, 0]})
    curve = stats.kaplan_meier(sample)
    # at 2: 1 of 7 at risk; at 3: 1 of 6 (the one censored at 3 is still at risk then); at 5: 1 of 4; at 8: 1 of 3
    s = [1.0, 6 / 7, 6 / 7 * 5 / 6, 6 / 7 * 5 / 6 * 3 / 4, 6 / 7 * 5 / 6 * 3 / 4 * 2 / 3]
    assert curve["days"].to_list() == [0.0, 2.0, 3.0, 5.0, 8.0, 9.0]  # to the end of follow-up
    assert curve["survival"].to_list() == pytest.approx(s + [s[-1]])
    assert curve["at_risk"].to_list() == [7, 7, 6, 4, 3, 1]
    assert curve["events"].to_list() == [0, 1, 1, 1, 1, 0]
    # Greenwood's variance at day 3: S² · (1/(7·6) + 1/(6·5)), the interval on the log(−log) scale
    var = s[2] ** 2 * (1 / 42 + 1 / 30)
    c = 1.959964 * math.sqrt(var) / (s[2] * math.log(s[2]))
    assert (curve["low"][2], curve["high"][2]) == pytest.approx((s[2] ** math.exp(-c), s[2] ** math.exp(c)), rel=1e-5)
    assert all(0 <= lo <= v <= hi <= 1 for lo, v, hi in zip(curve["low"], curve["survival"], curve["high"]))
    # leaving the open issues out would claim every issue gets resolved: the censored ones keep the curve up
    only_resolved = stats.kaplan_meier(sample.filter(pl.col("status") == RESOLVED))
    assert only_resolved["survival"][-1] == 0.0 and curve["survival"][-1] == pytest.approx(s[-1])


def test_kaplan_meier_of_only_open_issues_stays_at_one_and_empty_is_empty():
    curve = stats.kaplan_meier(pl.DataFrame({"days": [4.0, 10.0], "status": [0, 0]}))
    assert curve["days"].to_list() == [0.0, 10.0] and curve["survival"].to_list() == [1.0, 1.0]
    assert stats.kaplan_meier(pl.DataFrame({"days": [], "status": []}, schema={"days": pl.Float64,
                                                                              "status": pl.Int8})).is_empty()


def test_median_time_to_resolution_and_the_share_resolved_within_days():
    sample = pl.DataFrame({"category": ["land"] * 7 + ["funding"] * 2,
                           "days": [2.0, 3, 3, 5, 8, 8, 9, 10, 40], "status": [1, 0, 1, 1, 0, 1, 0, 0, 0]})
    table = stats.resolution_times(sample, days=(4, 30))
    land, funding = table.row(0, named=True), table.row(1, named=True)
    assert (land["category"], land["issues"], land["resolved"], land["open"]) == ("land", 7, 4, 3)
    assert land["median_days"] == 8.0  # the first day the survival is at or below one half (0.357)
    assert land["resolved_4d"] == pytest.approx(1 - 6 / 7 * 5 / 6)
    assert land["resolved_30d"] is None  # followed for 9 days only: unknown, not the last value
    # nothing resolved: no median, none resolved within 30 days (watched for 40)
    assert funding["median_days"] is None and funding["resolved_30d"] == 0.0 and funding["open"] == 2


BOTTLENECKS = [
    ev("A", "planned", "2024-01-05", department="区商务局"),
    issue("A", "raised", "1", "2024-01-10", category="land", department="区自然资源局", due="2024-02-01"),
    issue("A", "resolved", "1", "2024-01-20"),
    issue("A", "raised", "2", "2024-02-01", category="land", department="区自然资源局", due="2024-03-01"),
    issue("A", "raised", "3", "2024-03-01", category="funding", due="2024-12-31"),   # no lead department
    ev("B", "planned", "2024-01-05"), ev("B", "dropped", "2024-04-01"),
    issue("B", "raised", "1", "2024-03-01", category="approval", department="区自然资源局"),  # open, project dropped
    issue("B", "raised", "2", "2024-03-01", category="approval", department="区政务服务中心"),
    issue("B", "resolved", "2", "2024-05-01"),                                         # resolved after the drop
    issue("O", "raised", "1", "2024-03-01", category="land", department="区自然资源局"),  # an orphan's: no issue
]


def test_issue_durations_censor_open_issues_at_the_cut_off_or_their_projects_drop():
    result = fold(BOTTLENECKS, as_of="2024-06-30")
    got = analysis.issue_durations(result.issues, result.state, result.view.cutoff)
    assert got.select("project_id", "issue_id", "days", "status").rows() == [
        ("A", "1", 10.0, RESOLVED), ("A", "2", (date(2024, 7, 1) - date(2024, 2, 1)).days - 0.5, CENSORED),
        ("A", "3", (date(2024, 7, 1) - date(2024, 3, 1)).days - 0.5, CENSORED),
        ("B", "1", 31.0, CENSORED), ("B", "2", 61.0, RESOLVED)]


def test_resolution_rate_by_lead_department_counts_the_summarys_open_issues():
    result = fold(BOTTLENECKS, as_of="2024-06-30")
    got = analysis.resolution_by(result.issues, result.state, result.view.cutoff)
    assert got.columns[0] == "lead_department" and got.rows() == [("区自然资源局", 2, 1, 1, 1),          # A/1 resolved, A/2 open and overdue; B/1 left out
                          ("区政务服务中心", 1, 1, 0, 0), (analysis.NO_DEPARTMENT, 1, 0, 1, 0)]
    assert got["open"].sum() == summary(result)["bottlenecks"]["open"]
    assert got["overdue"].sum() == summary(result)["bottlenecks"]["overdue"]
    rated = stats.with_wilson(got, "resolved", "issues")
    assert rated["rate"].to_list() == [0.5, 1.0, 0.0]
    assert rated["low"][1] > 0 and rated["high"][1] == pytest.approx(1.0)  # Wilson: never a zero-width interval


def test_bottleneck_years_and_open_issues_from_the_summary():
    doc = summary(fold(BOTTLENECKS, as_of="2024-06-30"))
    assert analysis.bottleneck_years(doc).rows() == [("2024", 5, 2, 2)]
    assert analysis.open_issues(doc).rows() == [("funding", 1, None), ("land", 1, None), ("total", 2, 1)]


# --- trips (§8): what they brought in --------------------------------------------------------------------------

def test_the_yield_of_trips_by_region_and_by_team():
    from streams.core.tables import trip_and_issue_tables

    history = [
        trip("T1", "2024-03-08", region="长三角", team="长三角小分队", companies_visited=10, valid_leads=3, leads=8,
             people=2),
        trip("T2", "2024-04-08", region="长三角", companies_visited=4, valid_leads=1, kind="leader_led"),
        trip("T3", "2023-05-08", departed="2023-05-01", returned="2023-05-02", region="京津冀",
             team="京津冀小分队", companies_visited=6),
        trip("T4", "2024-05-08", region="珠三角", team="珠三角小分队"),
        {**trip("T4", "2024-05-09"), "event_type": "trip_withdrawn"},                     # withdrawn: not counted
        ev("P", "planned", "2024-03-20", trip_id="T1"), ev("P", "signed", "2024-06-01", investment_yuan=3 * 10**8),
        ev("Q", "planned", "2024-03-21", trip_id="T1"), ev("Q", "dropped", "2024-04-01"),  # counts, dropped
        ev("R", "planned", "2024-04-20", trip_id="T2"),
        ev("S", "planned", "2024-04-20", trip_id="T4"),                                   # from no counted trip
    ]
    result = fold(history, as_of="2024-06-30")
    references = trip_and_issue_tables(result)["trip_references"]  # as the replay writes it
    assert references.height == 4  # S names T4 too, which does not count
    by_region = analysis.trip_yield(result.trips, references, result.state, "region")
    assert by_region.select("region", "trips", "companies_visited", "leads", "valid_leads", "projects_planned",
                            "projects_signed", "signed_yuan").rows() == [
        ("长三角", 2, 14, 8, 4, 3, 1, 3 * 10**8), ("京津冀", 1, 6, 0, 0, 0, 0, 0)]
    assert by_region.row(0, named=True)["per_trip_signed_yuan"] == 1.5 * 10**8
    assert by_region.row(0, named=True)["per_trip_companies"] == 7.0
    by_team = analysis.trip_yield(result.trips, references, result.state, "team", year=2024)
    assert by_team.select("team", "trips", "people_days", "projects_planned").rows() == [("长三角小分队", 1, 6, 2)]


def test_trip_years_from_the_summary():
    doc = summary(fold([trip("T1", "2024-03-08", companies_visited=3)], as_of="2024-06-30"))
    assert analysis.trip_years(doc).select("year", "team", "companies_visited").rows() == [("2024", 1, 3)]


def test_a_replay_without_issues_or_trips_tables_shows_none():
    result = fold([ev("A", "planned", "2024-01-05")], as_of="2024-06-30")
    cutoff = result.view.cutoff
    assert analysis.issue_durations(None, result.state, cutoff).is_empty()
    assert analysis.resolution_by(None, result.state, cutoff).is_empty()
    assert analysis.trip_yield(None, None, result.state, "team").is_empty()
    assert stats.kaplan_meier(analysis.issue_durations(None, result.state, cutoff)).is_empty()
    assert stats.resolution_times(analysis.issue_durations(None, result.state, cutoff)).is_empty()


# --- the targets (notebook 03) ---------------------------------------------------------------------------------

def test_the_trip_targets_table_and_the_trips_month_by_month():
    from streams.core.tables import aggregate_tables

    history = [ev("A", "planned", "2024-01-05"),
               trip("T1", "2024-01-10", "leader_led", "2024-01-08", "2024-01-09"),
               trip("T2", "2024-03-10", "team", "2024-03-01", "2024-03-02"),
               trip("T3", "2024-03-12", "team", "2024-03-04", "2024-03-05"),
               trip("T0", "2024-01-02", "team", "2023-12-28", "2023-12-30")]       # departed in 2023
    targets = {"2024": {"signed": 60, "leader_led": 20, "team": 50, "team_signed_yuan": 5 * 10**10}}
    result = fold(history, as_of="2024-04-15")
    table = aggregate_tables(result, targets)["targets"]
    trips = analysis.target_table(table, 2024, analysis.TRIP_TARGETS)
    assert trips["target 目标"].to_list() == [analysis.TARGET_LABELS[m] for m in analysis.TRIP_TARGETS]
    assert trips["actual"].to_list() == [1.0, 2.0, 0.0] and trips["target (亿 / count)"].to_list() == [20, 50, 500]
    projects = analysis.target_table(table, 2024, leave_out=analysis.TRIP_TARGETS)
    assert projects["target 目标"].to_list() == [analysis.TARGET_LABELS["signed"]]
    progress = analysis.trip_progress(result.trips, targets, 2024, result.view.cutoff)
    assert progress.rows() == [("2024-01", 1, 0, 20.0, 50.0), ("2024-02", 1, 0, 20.0, 50.0),
                               ("2024-03", 1, 2, 20.0, 50.0), ("2024-04", 1, 2, 20.0, 50.0)]
    assert analysis.trip_progress(None, {}, 2024, result.view.cutoff)["team"].to_list() == [0, 0, 0, 0]
