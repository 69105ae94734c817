"""DOMAIN.md §4, given small histories: reached_at, current stage, drops, investment, orphans, pools."""

from datetime import datetime, timezone

import polars as pl
from polars.testing import assert_frame_equal

from streams.core.aggregates import pools_at
from streams.core.summary import summary
from tests.unit.history import ev, fold


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(timezone.utc)


def row(result, project: str) -> dict:
    return result.state.filter(pl.col("project_id") == project).row(0, named=True)


def test_reaching_a_stage_implies_the_earlier_ones_at_the_same_moment():
    r = fold([ev("P", "planned", "2023-01-10"), ev("P", "signed", "2023-03-01")])
    p = row(r, "P")
    assert p["reached_at_negotiating"] == p["reached_at_signed"] == utc("2023-03-01T12:00:00+08:00")
    assert p["implied_negotiating"] and not p["implied_signed"] and not p["implied_planned"]
    assert p["stage"] == 3 and p["pool"] == "signed"


def test_reached_at_is_the_earliest_event_at_or_beyond_the_stage():
    # A late-reported negotiation that happened after signing does not move reached_at[negotiating].
    r = fold([ev("P", "planned", "2023-01-10"), ev("P", "signed", "2023-03-01"), ev("P", "negotiating", "2023-04-01")])
    assert row(r, "P")["reached_at_negotiating"] == utc("2023-03-01T12:00:00+08:00")


def test_as_of_excludes_later_events_in_cst():
    events = [ev("P", "planned", "2023-12-31T23:59:59+08:00"), ev("P", "negotiating", "2024-01-01T00:00:00+08:00")]
    assert row(fold(events, as_of="2023-12-31"), "P")["pool"] == "planning"
    assert row(fold(events, as_of="2024-01-01"), "P")["pool"] == "attraction"


def test_dropped_wins_a_tie_and_a_later_stage_revives():
    tie = [ev("P", "planned", "2023-01-10"), ev("P", "negotiating", "2023-02-01T10:00:00+08:00"),
           ev("P", "dropped", "2023-02-01T10:00:00+08:00", reason="选址未落实")]
    assert row(fold(tie), "P")["pool"] == "dropped"
    revived = tie + [ev("P", "signed", "2023-05-01")]
    assert row(fold(revived), "P")["pool"] == "signed"
    assert row(fold(revived, as_of="2023-04-30"), "P")["pool"] == "dropped"


def test_investment_is_the_latest_amount_by_occurred_then_arrival():
    events = [ev("P", "planned", "2023-01-10", investment_yuan=100),
              ev("P", "revised", "2023-06-01", investment_yuan=300),
              ev("P", "signed", "2023-03-01", investment_yuan=200),       # arrives later, happened earlier
              ev("P", "revised", "2023-06-01", investment_yuan=400)]      # same moment, later arrival wins
    p = row(fold(events), "P")
    assert p["investment_yuan"] == 400 and p["signed_yuan"] == 200
    assert row(fold(events, as_of="2023-05-01"), "P")["investment_yuan"] == 200


def test_legacy_amounts_are_upcast_to_yuan():
    events = [ev("P", "planned", "2023-01-10", schema_version=1, investment_wan=12.5)]
    assert row(fold(events), "P")["investment_yuan"] == 125_000


def test_orphans_are_counted_but_left_out_of_pools_and_flows():
    r = fold([ev("P", "planned", "2023-01-10"), ev("Q", "signed", "2023-02-01")])
    doc = summary(r)
    assert doc["projects"] == {"total": 1, "orphans": 1}
    assert doc["flows"]["2023"]["signed"] == 0 and doc["pools"]["signed"]["count"] == 0


def test_pools_given_a_history():
    r = fold([
        ev("A", "planned", "2023-01-10", investment_yuan=10),
        ev("B", "planned", "2023-01-11", investment_yuan=20), ev("B", "negotiating", "2023-02-01"),
        ev("C", "planned", "2023-01-12", investment_yuan=30), ev("C", "operating", "2023-09-01"),
        ev("D", "planned", "2023-01-13", investment_yuan=40), ev("D", "dropped", "2023-04-01", reason="x"),
    ])
    expected = pl.DataFrame({"pool": ["planning", "attraction", "signed", "landed", "dropped"],
                             "count": [1, 1, 0, 1, 1], "investment_yuan": [10, 20, 0, 30, 40]})
    assert_frame_equal(pools_at(r.state), expected)


def test_supervision_colour_counts_days_since_the_latest_advance():
    r = fold([ev("G", "planned", "2023-11-01"), ev("B", "planned", "2023-08-01"),
              ev("Y", "planned", "2023-03-01"), ev("R", "planned", "2022-06-01"),
              ev("O", "planned", "2022-01-01"), ev("O", "operating", "2022-03-01")], as_of="2023-12-31")
    colours = dict(r.state.select("project_id", "colour").iter_rows())
    assert colours == {"G": "green", "B": "blue", "Y": "yellow", "R": "red", "O": None}
