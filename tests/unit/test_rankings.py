"""月评比, given this history: each unit's figures in a period, the score, the rank and the 红黑榜."""

from __future__ import annotations

import math

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from streams.core.aggregates import supervision_over_time
from streams.core.clock import previous_period
from streams.core.log import accepted_events
from streams.core.rankings import (COUNTS, RankingRules, merge_counts, parse_period, periods_needed, rank_units,
                                   rankings, unit_counts)
from streams.core.summary import Result, summary
from tests.unit.history import ev, fold
from tests.unit.test_trips_and_bottlenecks import issue

YI = 100_000_000


def planned(project: str, day: str, town: str, **more) -> dict:
    return ev(project, "planned", day, town=town, department=more.pop("department", "区商务局"),
              leader=more.pop("leader", "领导甲"), **more)


def counts_of(result: Result, periods, units=("town",)) -> pl.DataFrame:
    colours = supervision_over_time(accepted_events(result.settled), result.view.cutoff)
    rules = RankingRules(units=units)
    return unit_counts(result.state, colours, result.view.cutoff, periods, rules,
                       issues=result.issues).drop("granularity")


def expected(rows: list[tuple]) -> pl.DataFrame:
    """Rows of (period, dimension, unit, *COUNTS); counts left out at the end (the issue figures) are 0."""
    columns = ["period", "dimension", "unit", *COUNTS]
    padded = [row + (0,) * (len(columns) - len(row)) for row in rows]
    return pl.DataFrame(padded, schema={c: (pl.Utf8 if i < 3 else pl.Int64) for i, c in enumerate(columns)},
                        orient="row")


HISTORY = [
    planned("A", "2023-11-05", "马寨镇", investment_yuan=3 * YI),
    ev("A", "signed", "2024-01-10", investment_yuan=4 * YI),
    ev("A", "started", "2024-03-02", investment_yuan=5 * YI),
    planned("B", "2024-01-20", "马寨镇"),
    ev("B", "signed", "2024-02-01", investment_yuan=2 * YI),
    ev("B", "started", "2024-02-20"),          # started at the signed amount
    planned("C", "2024-02-14", "侯寨乡", investment_yuan=YI),
    ev("C", "started", "2024-04-01"),          # after the quarter: not a start of Q1
    planned("D", "2024-04-03", "侯寨乡"),       # planned after Q1: not in Q1's figures
]


def test_the_figures_of_each_unit_in_a_month_and_a_quarter():
    result = fold(HISTORY, as_of="2024-06-30")
    got = counts_of(result, ["2024-02", "2024Q1", "2024Q2"])
    # columns: projects signings signed_yuan starts started_yuan planned_ytd landed_ytd red
    assert_frame_equal(got, expected([
        ("2024-02", "town", "侯寨乡", 1, 0, 0, 0, 0, 1, 0, 0),
        ("2024-02", "town", "马寨镇", 2, 1, 2 * YI, 1, 2 * YI, 1, 1, 0),
        ("2024Q1", "town", "侯寨乡", 1, 0, 0, 0, 0, 1, 0, 0),
        # A planned in 2023 is no part of the year's planned→landed cohort; its start still counts
        ("2024Q1", "town", "马寨镇", 2, 2, 6 * YI, 2, 7 * YI, 1, 1, 0),
        # C's start implies its signing (§4), at the amount it had then
        ("2024Q2", "town", "侯寨乡", 2, 1, YI, 1, YI, 2, 1, 0),
        ("2024Q2", "town", "马寨镇", 2, 0, 0, 0, 0, 1, 1, 0),
    ]))


def test_the_year_to_date_cohort_converts_only_what_landed_before_the_period_end():
    history = [planned("P", "2024-01-05", "马寨镇"), ev("P", "started", "2024-03-31T23:59:59+08:00"),
               planned("Q", "2024-01-06", "马寨镇"), ev("Q", "started", "2024-04-01T00:00:00+08:00")]
    ranked = rankings(*_inputs(fold(history, as_of="2024-12-31")))
    rows = ranked.filter(pl.col("unit") == "马寨镇", pl.col("period").is_in(["2024-03", "2024-04", "2024"]))
    assert dict(zip(rows["period"], rows["conversion"])) == {"2024-03": 0.5, "2024-04": 1.0, "2024": 1.0}


def _inputs(result: Result):
    return result.state, supervision_over_time(accepted_events(result.settled), result.view.cutoff), \
        result.view.cutoff


def _with_issues(result: Result) -> dict:
    return {"issues": result.issues}


def test_red_counts_the_projects_red_at_the_end_of_the_period():
    # due 2024-01-31: 90 days late on 2024-04-30 (yellow), 91 days late on 2024-05-01 (red)
    history = [planned("R", "2023-12-01", "马寨镇"), ev("R", "plan", "2023-12-02", milestone="signed", due="2024-01-31"),
               planned("G", "2023-12-01", "侯寨乡")]
    result = fold(history, as_of="2024-07-15")
    got = counts_of(result, ["2024-04", "2024-05", "2024Q2", "2024Q3"]).select("period", "unit", "red")
    assert got.to_dicts() == [
        {"period": "2024-04", "unit": "侯寨乡", "red": 0}, {"period": "2024-04", "unit": "马寨镇", "red": 0},
        {"period": "2024-05", "unit": "侯寨乡", "red": 0}, {"period": "2024-05", "unit": "马寨镇", "red": 1},
        {"period": "2024Q2", "unit": "侯寨乡", "red": 0}, {"period": "2024Q2", "unit": "马寨镇", "red": 1},
        # a period not over at the cut-off ends there
        {"period": "2024Q3", "unit": "侯寨乡", "red": 0}, {"period": "2024Q3", "unit": "马寨镇", "red": 1},
    ]


def test_a_reassigned_project_counts_for_its_latest_owner_in_every_dimension():
    history = [planned("P", "2024-01-05", "马寨镇", department="区商务局", leader="领导甲", industry="新材料"),
               ev("P", "signed", "2024-02-01", investment_yuan=YI),
               ev("P", "reassigned", "2024-05-01", leader="领导乙", department="区发改委")]
    got = counts_of(fold(history, as_of="2024-06-30"), ["2024-02"], units=("town", "department", "leader", "industry"))
    assert got.select("dimension", "unit", "signings").to_dicts() == [
        {"dimension": "department", "unit": "区发改委", "signings": 1},
        {"dimension": "industry", "unit": "新材料", "signings": 1},
        {"dimension": "leader", "unit": "领导乙", "signings": 1},
        {"dimension": "town", "unit": "马寨镇", "signings": 1},
    ]


def test_orphans_and_projects_without_the_dimension_are_left_out():
    history = [ev("O", "signed", "2024-02-01", investment_yuan=YI),          # an orphan: never planned
               ev("N", "planned", "2024-01-02"), ev("N", "signed", "2024-02-01"),  # no town
               planned("P", "2024-01-05", "马寨镇")]
    got = counts_of(fold(history, as_of="2024-02-29"), ["2024-02"])
    assert got["unit"].to_list() == ["马寨镇"] and got["signings"].to_list() == [0]


def test_figures_of_disjoint_parts_add_up_to_the_whole():
    history = HISTORY + ISSUES
    parts = [[e for e in history if e["project_id"] in ids] for ids in ({"A", "C"}, {"B", "D"})]
    whole = fold(history, as_of="2024-06-30")
    summed = merge_counts([unit_counts(*_inputs(part), issues=part.issues)
                           for part in (fold(p, as_of="2024-06-30") for p in parts)])
    expected_counts = unit_counts(*_inputs(whole), issues=whole.issues)
    assert_frame_equal(summed, expected_counts)
    assert expected_counts.select(pl.col("issues_raised", "issues_resolved", "issues_open").sum()).row(0) > (0, 0, 0)
    ranked = rankings(*_inputs(whole), issues=whole.issues)
    assert_frame_equal(rank_units(summed), ranked)
    assert ranked["resolution_rate"].drop_nulls().len() > 0


# A/1 raised and resolved; A/2 still open; B/1 resolved after Q1; C/1 open until C is dropped; D/1 raised
# before D was planned (counts from D's month)
ISSUES = [
    issue("A", "raised", "1", "2024-01-15"), issue("A", "resolved", "1", "2024-02-10"),
    issue("A", "raised", "2", "2024-02-20", category="funding", department="区财政局", due="2024-03-31"),
    issue("B", "raised", "1", "2024-03-05"), issue("B", "resolved", "1", "2024-05-02", resolution="已办结"),
    issue("C", "raised", "1", "2024-02-15"), ev("C", "dropped", "2024-04-10"),
    issue("D", "raised", "1", "2024-03-01"),
]


def test_the_issue_figures_of_each_unit():
    result = fold(HISTORY + ISSUES, as_of="2024-06-30")
    got = counts_of(result, ["2024-01", "2024-02", "2024Q1", "2024Q2"]).select(
        "period", "unit", "issues_raised", "issues_resolved", "issues_open")
    assert got.rows() == [
        ("2024-01", "马寨镇", 1, 0, 1),        # 侯寨乡 had no project yet
        ("2024-02", "侯寨乡", 1, 0, 1),
        ("2024-02", "马寨镇", 1, 1, 1),        # A/1 resolved, A/2 raised
        ("2024Q1", "侯寨乡", 1, 0, 1),         # D/1 is D's, planned in April
        ("2024Q1", "马寨镇", 3, 1, 2),
        ("2024Q2", "侯寨乡", 1, 0, 1),         # C/1 no longer open once C is dropped; D/1 counts from April
        ("2024Q2", "马寨镇", 0, 1, 1),
    ]
    # at the cut-off's period, the open issues are the summary's
    assert got.filter(pl.col("period") == "2024Q2")["issues_open"].sum() == summary(result)["bottlenecks"]["open"]


def test_the_resolution_rate_is_resolved_over_resolved_and_open_and_null_without_issues():
    result = fold(HISTORY + ISSUES, as_of="2024-06-30")
    ranked = rankings(*_inputs(result), issues=result.issues)
    rates = {(r["period"], r["unit"]): r["resolution_rate"]
             for r in ranked.filter(pl.col("dimension") == "town").iter_rows(named=True)}
    assert rates[("2024-01", "马寨镇")] == 0.0 and rates[("2024-02", "马寨镇")] == 0.5
    assert rates[("2024Q1", "马寨镇")] == pytest.approx(1 / 3) and rates[("2024Q2", "马寨镇")] == 0.5
    assert rates[("2023-11", "马寨镇")] is None  # no issue at all
    assert rates[("2024Q2", "侯寨乡")] == 0.0


def test_without_an_issue_frame_the_issue_figures_are_zero_and_the_rate_null():
    result = fold(HISTORY + ISSUES, as_of="2024-06-30")
    ranked = rankings(*_inputs(result))
    assert ranked.select(pl.col("issues_raised", "issues_resolved", "issues_open").sum()).row(0) == (0, 0, 0)
    assert ranked["resolution_rate"].null_count() == ranked.height


def test_the_issue_figures_are_not_scored_by_default():
    result = fold(HISTORY + ISSUES, as_of="2024-06-30")
    with_issues = rankings(*_inputs(result), issues=result.issues)
    without = rankings(*_inputs(result))
    assert_frame_equal(with_issues.select("period", "dimension", "unit", "score", "rank"),
                       without.select("period", "dimension", "unit", "score", "rank"))


def test_a_resolved_issue_raised_again_is_open_from_its_first_raise():
    """The documented limit: the figures read each issue by its standing state at the cut-off."""
    history = [planned("P", "2024-01-05", "马寨镇"), issue("P", "raised", "1", "2024-01-10"),
               issue("P", "resolved", "1", "2024-01-20"), issue("P", "raised", "1", "2024-04-02")]
    got = counts_of(fold(history, as_of="2024-06-30"), ["2024-01", "2024-02", "2024-04"])
    assert got.select("period", "issues_raised", "issues_resolved", "issues_open").rows() == [
        ("2024-01", 1, 0, 1), ("2024-02", 0, 0, 1), ("2024-04", 0, 0, 1)]
    # as of February, before it was raised again, it is resolved in January
    got = counts_of(fold(history, as_of="2024-02-29"), ["2024-01", "2024-02"])
    assert got.select("period", "issues_raised", "issues_resolved", "issues_open").rows() == [
        ("2024-01", 1, 1, 0), ("2024-02", 0, 0, 0)]


def counts(period: str, figures: dict[str, dict[str, int]]) -> pl.DataFrame:
    rows = [{"granularity": "month", "period": period, "dimension": "town", "unit": unit,
             **{c: 0 for c in COUNTS}, **f} for unit, f in figures.items()]
    return pl.DataFrame(rows)


def test_the_score_is_the_weighted_sum_of_z_scores_and_rank_one_is_the_best():
    rules = RankingRules(weights=(("signings", 1.0), ("red", -0.5)), board=1)
    frame = counts("2024-03", {"甲": {"projects": 5, "signings": 3, "red": 0},
                               "乙": {"projects": 5, "signings": 1, "red": 2},
                               "丙": {"projects": 5, "signings": 2, "red": 1}})
    ranked = rank_units(frame, rules)
    sd = math.sqrt(2 / 3)  # of 3, 1, 2 and of 0, 2, 1 (population)
    assert ranked["unit"].to_list() == ["甲", "丙", "乙"]
    assert ranked["score"].to_list() == [round(1 / sd + 0.5 / sd, 4), 0.0, round(-1 / sd - 0.5 / sd, 4)]
    assert ranked["rank"].to_list() == [1, 2, 3]
    assert ranked["board"].to_list() == ["top", None, "bottom"]
    assert ranked["units"].to_list() == [3, 3, 3]
    assert ranked["conversion"].to_list() == [None, None, None]  # nothing planned this year


def test_equal_scores_share_a_rank_and_nobody_is_on_a_board_when_all_are_equal():
    ranked = rank_units(counts("2024-03", {u: {"projects": 1, "signings": 2} for u in "甲乙丙"}))
    assert ranked["rank"].to_list() == [1, 1, 1] and ranked["score"].to_list() == [0.0, 0.0, 0.0]
    assert ranked["board"].to_list() == [None, None, None]


def test_rank_change_is_against_the_previous_period_of_the_same_length():
    rules = RankingRules(weights=(("signings", 1.0),))
    frame = pl.concat([counts("2024-02", {"甲": {"projects": 1, "signings": 1}, "乙": {"projects": 1, "signings": 5}}),
                       counts("2024-03", {"甲": {"projects": 1, "signings": 4}, "乙": {"projects": 1, "signings": 0},
                                          "丙": {"projects": 1, "signings": 2}})])
    march = rank_units(frame, rules).filter(pl.col("period") == "2024-03")
    assert march.select("unit", "rank", "previous_rank", "rank_change").to_dicts() == [
        {"unit": "甲", "rank": 1, "previous_rank": 2, "rank_change": 1},
        {"unit": "丙", "rank": 2, "previous_rank": None, "rank_change": None},
        {"unit": "乙", "rank": 3, "previous_rank": 1, "rank_change": -2},
    ]


@pytest.mark.parametrize(("text", "label", "before"), [
    ("2024-03", "2024-03", "2024-02"), ("2024-01", "2024-01", "2023-12"), ("2024-Q1", "2024Q1", "2023Q4"),
    ("2024q3", "2024Q3", "2024Q2"), ("2024", "2024", "2023")])
def test_periods(text, label, before):
    assert parse_period(text) == label and previous_period(label) == before
    assert periods_needed(text) == [before, label]


@pytest.mark.parametrize("text", ["2024-13", "2024-Q5", "24-03", "2024/03", ""])
def test_not_periods(text):
    with pytest.raises(ValueError):
        parse_period(text)


def test_every_replay_has_a_rankings_table_of_months_quarters_and_years():
    from streams.core.tables import aggregate_tables

    tables = aggregate_tables(fold(HISTORY, as_of="2024-06-30"), {})
    table = tables["rankings"]
    assert table.filter(pl.col("granularity") == "year")["period"].unique().sort().to_list() == ["2023", "2024"]
    assert table.filter(pl.col("granularity") == "quarter")["period"].unique(maintain_order=True).to_list() == \
        ["2023Q4", "2024Q1", "2024Q2"]
    assert set(table["dimension"]) == {"town", "department", "leader", "industry"}
