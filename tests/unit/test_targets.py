"""Given this history: the trip targets (§8: leader-led and team trips, the teams' signed amount) and the
projects cleared of bottlenecks (§9) in the targets' attainment, in memory and in buckets."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from streams import config
from streams.core.summary import summary
from streams.core.targets import METRICS, target_attainment, year_metrics
from tests.unit.history import ev, fold
from tests.unit.test_trips_and_bottlenecks import issue, trip, withdrawn

YI = 100_000_000


def _history() -> list[dict]:
    """2024: two leader-led trips (a third withdrawn), three team trips (one departing in 2023), one other; projects
    from team trips signed in 2024 (one signed in 2025, one from a leader-led trip); 2023: issues cleared in two
    projects (one of them twice), in an orphan, and one resolved only in 2024."""
    return [
        trip("L1", "2024-02-01", "leader_led", "2024-01-20", "2024-01-22"),
        trip("L2", "2024-05-01", "leader_led", "2024-04-20", "2024-04-21"),
        trip("L3", "2024-05-01", "leader_led", "2024-04-25", "2024-04-26"), withdrawn("L3", "2024-06-01"),
        trip("S1", "2024-03-10", "team", "2024-03-01", "2024-03-05", team="第一小分队"),
        trip("S2", "2024-07-10", "team", "2024-07-01", "2024-07-03", team="第二小分队"),
        trip("S0", "2024-01-02", "team", "2023-12-28", "2024-01-01", team="第一小分队"),  # departed 2023
        trip("O1", "2024-03-10", "other", "2024-03-01", "2024-03-02"),
        ev("A", "planned", "2024-03-20", trip_id="S1"), ev("A", "signed", "2024-06-01", investment_yuan=120 * YI),
        ev("B", "planned", "2024-08-01", trip_id="S2"), ev("B", "signed", "2024-09-01", investment_yuan=30 * YI),
        ev("C", "planned", "2024-08-01", trip_id="S2"), ev("C", "signed", "2025-01-05", investment_yuan=99 * YI),
        ev("D", "planned", "2024-02-01", trip_id="L1"), ev("D", "signed", "2024-03-01", investment_yuan=77 * YI),
        ev("E", "planned", "2024-02-01", trip_id="S0"), ev("E", "signed", "2024-04-01", investment_yuan=5 * YI),
        ev("P", "planned", "2023-01-05"), ev("Q", "planned", "2023-01-05"), ev("R", "planned", "2023-01-05"),
        issue("P", "raised", "I1", "2023-02-01"), issue("P", "resolved", "I1", "2023-05-01"),
        issue("P", "raised", "I2", "2023-02-01"), issue("P", "resolved", "I2", "2023-06-01"),
        issue("Q", "raised", "I1", "2023-02-01", category="planning"), issue("Q", "resolved", "I1", "2023-12-01"),
        issue("R", "raised", "I1", "2023-02-01"), issue("R", "resolved", "I1", "2024-01-10"),
        issue("Z", "raised", "I1", "2023-02-01"), issue("Z", "resolved", "I1", "2023-03-01"),  # Z is an orphan
    ]


def _row(table: pl.DataFrame, year: int, metric: str) -> dict:
    return table.filter((pl.col("year") == year) & (pl.col("metric") == metric)).row(0, named=True)


def _attainment(result, targets):
    return target_attainment(result.state, targets, result.view.cutoff, trips=result.trips,
                             from_trips=result.from_trips, issues=result.issues)


def test_the_default_targets_hold_the_trip_targets_and_the_projects_cleared():
    targets = config.targets()
    assert {k: targets["2024"][k] for k in ("leader_led", "team", "team_signed_yuan")} == {
        "leader_led": 20, "team": 50, "team_signed_yuan": 500 * YI}
    assert targets["2023"]["projects_cleared"] == 70
    assert set(targets["2023"]) | set(targets["2024"]) <= set(METRICS)


def test_trip_metrics_count_the_years_trips_by_kind_and_the_teams_signed_amount():
    result = fold(_history(), as_of="2025-06-30")
    kw = dict(trips=result.trips, from_trips=result.from_trips, issues=result.issues)
    y2024, y2023 = year_metrics(result.state, 2024, **kw), year_metrics(result.state, 2023, **kw)
    assert (y2024["leader_led"], y2024["team"]) == (2, 2)  # L3 withdrawn; S0 departed in 2023
    assert (y2023["leader_led"], y2023["team"]) == (0, 1)
    # A (S1) and B (S2), and E (S0: a 2023 trip, its project signed in 2024); not C (2025) nor D (leader-led)
    assert y2024["team_signed_yuan"] == (120 + 30 + 5) * YI
    assert year_metrics(result.state, 2025, **kw)["team_signed_yuan"] == 99 * YI
    # every trip's signed amount is the summary's; the teams' is a part of it
    assert summary(result)["trips"]["2024"]["signed_yuan"] == (120 + 30 + 5 + 77) * YI


def test_projects_cleared_counts_projects_by_the_year_of_their_standing_resolution():
    result = fold(_history(), as_of="2024-12-31")
    kw = dict(trips=result.trips, from_trips=result.from_trips, issues=result.issues)
    assert year_metrics(result.state, 2023, **kw)["projects_cleared"] == 2  # P and Q; not the orphan Z
    assert year_metrics(result.state, 2024, **kw)["projects_cleared"] == 1  # R
    assert summary(result)["bottlenecks"]["projects_cleared"] == {"2023": 2, "2024": 1}


def test_without_frames_the_trip_metrics_count_zero_and_the_old_call_still_works():
    result = fold(_history(), as_of="2024-12-31")
    plain = year_metrics(result.state, 2024)
    assert {m: plain[m] for m in ("leader_led", "team", "team_signed_yuan", "projects_cleared")} == dict.fromkeys(
        ("leader_led", "team", "team_signed_yuan", "projects_cleared"), 0)
    assert plain["signed"] == 4  # A, B, D, E (C signs in 2025)
    table = target_attainment(result.state, {"2024": {"team": 50, "signed": 60}}, result.view.cutoff)
    assert _row(table, 2024, "team")["actual"] == 0 and _row(table, 2024, "signed")["actual"] == 4


def test_attainment_and_run_rate_of_the_trip_targets():
    result = fold(_history(), as_of="2024-06-30")
    table = _attainment(result, config.targets())
    share = _row(table, 2024, "team")["elapsed_share"]
    assert 0.49 < share < 0.5  # 182 days of 366
    team = _row(table, 2024, "team")
    assert team["actual"] == 1 and team["attainment"] == pytest.approx(1 / 50)  # S2 departs in July
    assert team["projected"] == pytest.approx(1 / share) and team["on_track"] is False
    assert _row(table, 2024, "leader_led")["actual"] == 2
    signed = _row(table, 2024, "team_signed_yuan")
    assert signed["actual"] == (120 + 5) * YI and signed["attainment"] == pytest.approx(125 / 500)
    cleared = _row(table, 2023, "projects_cleared")
    assert cleared["actual"] == 2 and cleared["attainment"] == pytest.approx(2 / 70) and cleared["elapsed_share"] == 1


@pytest.mark.parametrize("buckets", [1, 3])
def test_the_replays_targets_table_has_the_trip_targets_in_memory_and_in_buckets(tmp_path, buckets):
    from streams.core.log import received_log
    from streams.core.summary import View
    from streams.replay import fold_and_aggregate
    from tests.unit.history import RECEIVED, lines

    log = received_log(enumerate(lines(_history()), start=1), RECEIVED)
    targets = config.targets()
    replayed = fold_and_aggregate(log, View(date(2024, 12, 31)), targets, buckets=buckets, work=tmp_path)
    table = replayed.tables["targets"]
    table = table.collect() if isinstance(table, pl.LazyFrame) else table
    expected = _attainment(fold(_history(), as_of="2024-12-31"), targets)
    assert_frame_equal(table, expected)
    assert _row(table, 2024, "team_signed_yuan")["actual"] == (120 + 30 + 5) * YI
    assert _row(table, 2023, "projects_cleared")["actual"] == 2
