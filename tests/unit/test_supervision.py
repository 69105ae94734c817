"""DOMAIN.md §6, given this history: milestone plans and the supervision colours they drive."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from streams.core.aggregates import supervision_over_time
from streams.core.clock import day_end
from streams.core.fold import ColourRules, project_state
from streams.core.log import accepted_events
from streams.core.summary import summary
from tests.unit.history import ev, fold

AS_OF = "2024-06-30"


def colour_of(events: list[dict], as_of: str = AS_OF, rules: ColourRules | None = None) -> str | None:
    result = fold(events, as_of=as_of)
    state = result.state if rules is None else project_state(accepted_events(result.settled), result.view.cutoff, rules)
    return dict(state.select("project_id", "colour").iter_rows()).get("P")


def planned_project(*more: dict) -> list[dict]:
    # planned on 2024-06-01: 29 days before the as-of date, green by the dwell rule
    return [ev("P", "planned", "2024-06-01"), *more]


@pytest.mark.parametrize(("due", "colour"), [
    ("2024-07-31", "green"),   # 31 days ahead
    ("2024-07-30", "blue"),    # 30 days ahead
    ("2024-06-30", "blue"),    # due today
    ("2024-06-29", "yellow"),  # 1 day late
    ("2024-04-01", "yellow"),  # 90 days late
    ("2024-03-31", "red"),     # 91 days late
])
def test_an_open_milestone_colours_by_how_late_it_is(due, colour):
    assert colour_of(planned_project(ev("P", "plan", "2024-06-02", milestone="signed", due=due))) == colour


def test_a_reached_milestone_is_closed_and_the_dwell_rule_returns():
    events = planned_project(ev("P", "plan", "2024-01-02", milestone="signed", due="2024-02-01"),
                             ev("P", "signed", "2024-06-10"))
    assert colour_of(events) == "green"
    assert colour_of(events, as_of="2024-06-09") == "red"  # 129 days late, not reached yet


def test_reaching_a_later_stage_closes_the_earlier_milestones_too():
    events = planned_project(ev("P", "plan", "2024-06-02", milestone="negotiating", due="2024-01-01"),
                             ev("P", "started", "2024-06-03"))
    assert colour_of(events) == "green"


def test_the_earliest_open_due_date_decides():
    events = planned_project(ev("P", "plan", "2024-06-02", milestone="started", due="2024-12-31"),
                             ev("P", "plan", "2024-06-02", milestone="signed", due="2024-06-20"))
    assert colour_of(events) == "yellow"


def test_a_later_plan_replaces_the_earlier_by_occurred_at_not_arrival():
    events = planned_project(ev("P", "plan", "2024-06-10", milestone="signed", due="2024-12-31"),
                             ev("P", "plan", "2024-06-05", milestone="signed", due="2024-01-01"))
    assert colour_of(events) == "green"
    state = fold(events, as_of=AS_OF).state
    assert state["plan_signed"].to_list() == [date(2024, 12, 31)]
    assert state["next_due"].to_list() == [date(2024, 12, 31)]


def test_a_plan_made_after_the_as_of_date_does_not_count():
    events = planned_project(ev("P", "plan", "2024-07-02", milestone="signed", due="2024-06-01"))
    assert colour_of(events) == "green"
    assert colour_of(events, as_of="2024-07-02") == "yellow"


def test_dropped_and_operating_projects_have_no_colour_whatever_their_plans():
    plan = ev("P", "plan", "2024-06-02", milestone="completed", due="2023-01-01")
    assert colour_of(planned_project(plan, ev("P", "dropped", "2024-06-03", reason="x"))) is None
    assert colour_of(planned_project(plan, ev("P", "operating", "2024-06-03"))) is None


def test_plans_alone_make_an_orphan_and_change_no_pool_or_flow():
    plain = [ev("A", "planned", "2024-02-01"), ev("A", "signed", "2024-03-01")]
    plans = [ev("A", "plan", "2024-02-02", milestone="started", due="2024-05-01"),
             ev("B", "plan", "2024-02-02", milestone="signed", due="2024-05-01")]
    with_plans, without = summary(fold(plain + plans, as_of=AS_OF)), summary(fold(plain, as_of=AS_OF))
    assert with_plans["projects"] == {"total": 1, "orphans": 1}
    assert without["projects"] == {"total": 1, "orphans": 0}
    for key in ("pools", "flows"):
        assert with_plans[key] == without[key]
    assert with_plans["supervision"] == {"green": 0, "blue": 0, "yellow": 1, "red": 0}  # 60 days late
    assert without["supervision"] == {"green": 0, "blue": 1, "yellow": 0, "red": 0}  # 121 days since signing


def test_a_version_1_plan_is_an_unknown_event_type():
    plan = ev("P", "plan", "2024-06-02", milestone="signed", due="2024-01-01") | {"schema_version": 1}
    doc = summary(fold(planned_project(plan), as_of=AS_OF))
    assert doc["accounting"]["rejected"] == {"unknown_event_type": 1}
    assert doc["supervision"]["green"] == 1


def test_the_thresholds_are_configurable():
    events = planned_project(ev("P", "plan", "2024-06-02", milestone="signed", due="2024-06-20"))  # 10 days late
    assert colour_of(events) == "yellow"
    assert colour_of(events, rules=ColourRules(red_late=7)) == "red"
    assert colour_of(planned_project(), rules=ColourRules(dwell=(("green", 10), ("blue", 30), ("yellow", 60)))) == "blue"


def test_colours_at_every_month_end_say_how_long_a_project_has_been_red():
    events = [ev("P", "planned", "2024-01-05"), ev("P", "plan", "2024-01-05", milestone="signed", due="2024-01-20"),
              ev("Q", "planned", "2024-03-10"), ev("P", "signed", "2024-06-15")]
    result = fold(events, as_of="2024-07-31")
    got = supervision_over_time(accepted_events(result.settled), result.view.cutoff)
    p = got.filter(pl.col("project_id") == "P").select("month", "colour", "days_late", "months_in_colour")
    expected = pl.DataFrame({
        "month": ["2024-01", "2024-02", "2024-03", "2024-04", "2024-05", "2024-06", "2024-07"],
        "colour": ["yellow", "yellow", "yellow", "red", "red", "green", "green"],
        "days_late": [11, 40, 71, 101, 132, None, None],
        "months_in_colour": [1, 2, 3, 1, 2, 1, 2],
    }, schema_overrides={"days_late": pl.Int64, "months_in_colour": pl.UInt32})
    assert_frame_equal(p, expected)
    # each month end's colours are those of a fold at that day
    for month, end in (("2024-03", date(2024, 3, 31)), ("2024-07", date(2024, 7, 31))):
        at_end = project_state(accepted_events(result.settled), day_end(end)).filter(pl.col("colour").is_not_null())
        assert_frame_equal(got.filter(pl.col("month") == month).select("project_id", "colour"),
                           at_end.select("project_id", "colour").sort("project_id"))
