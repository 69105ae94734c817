"""Parts of a log's summary (streams/core/parts.py), given a history split into parts that share no project and no
trip: their merge is the summary of the whole, projects from a trip kept in another part included."""

from __future__ import annotations

import json
import random

import polars as pl
import pytest

from polars.testing import assert_frame_equal

from streams import config
from streams.core.parts import from_trips_frame, merge_parts, merge_target_parts, result_targets_part, summary_part
from streams.core.targets import METRICS, target_attainment
from streams.core.summary import merge_summaries, summary
from streams.core.trips import trips_by_year
from tests.trip_feed import trip_history
from tests.unit.history import ev, fold
from tests.unit.test_trips_and_bottlenecks import ZERO, trip, withdrawn


def key(event: dict) -> str:
    return event.get("project_id") or event["trip_id"]


def split(events: list[dict], where: dict[str, int], parts: int) -> list[list[dict]]:
    """The history split by key: ``where`` names the part of a key, any other key goes to part 0."""
    out: list[list[dict]] = [[] for _ in range(parts)]
    for event in events:
        out[where.get(key(event), 0)].append(event)
    return out


def merged(pieces: list[list[dict]], as_of: str = "2024-12-31") -> dict:
    return merge_parts([summary_part(fold(piece, as_of)) for piece in pieces])


def test_a_project_counts_from_a_trip_kept_in_another_part():
    history = [trip("T1", "2024-03-08", people=2), ev("A", "planned", "2024-04-01", trip_id="T1",
                                                      investment_yuan=100), ev("A", "signed", "2024-05-01")]
    pieces = split(history, {"T1": 1}, 2)
    assert merged(pieces) == summary(fold(history))
    assert merged(pieces)["trips"] == {"2024": ZERO | {"team": 1, "people_days": 6, "projects_planned": 1,
                                                       "projects_signed": 1, "signed_yuan": 100}}
    # each part alone: the trip's part has no project, the project's part no trip that counts
    assert merge_summaries([summary(fold(p)) for p in pieces])["trips"]["2024"]["projects_planned"] == 0


def test_a_trip_that_counts_in_no_part_brings_no_project():
    history = [trip("T1", "2024-03-08"), withdrawn("T1", "2024-03-10"), ev("A", "planned", "2024-04-01", trip_id="T1"),
               ev("B", "planned", "2024-04-01", trip_id="T9")]
    assert merged(split(history, {"T1": 1, "B": 2}, 3)) == summary(fold(history))
    assert merged(split(history, {"T1": 1, "B": 2}, 3))["trips"] == {}
    before = merged(split(history, {"T1": 1}, 2), "2024-03-09")  # T1 counts; A is planned after T: not yet
    assert before == summary(fold(history, "2024-03-09")) and before["trips"]["2024"]["projects_planned"] == 0


def test_a_part_is_plain_json_and_names_every_trip_its_projects_name():
    part = summary_part(fold(trip_history()))
    assert json.loads(json.dumps(part)) == part
    assert part["counted_trips"] == ["TR-A", "TR-C", "TR-E"]
    named = from_trips_frame(part["from_trips"])
    assert set(named["trip_id"]) == {"TR-A", "TR-B", "TR-C", "TR-D", "TR-E", "TR-X"}  # counted or not
    assert trips_by_year(None, named.filter(pl.col("trip_id") == "TR-A")) == {"2024": ZERO | {
        "projects_planned": 1 + 14, "projects_signed": 1, "signed_yuan": 600_000_000}}


@pytest.mark.parametrize("as_of", ["2023-12-31", "2024-03-01", "2024-12-31"])
@pytest.mark.parametrize("parts", [1, 2, 3, 5])
def test_every_split_of_the_history_merges_to_the_whole(as_of, parts):
    history = trip_history()
    whole = summary(fold(history, as_of))
    keys = sorted({key(e) for e in history})
    chance = random.Random(parts)
    for _ in range(6):  # a few random splits of the keys among the parts
        where = {k: chance.randrange(parts) for k in keys}
        assert merged(split(history, where, parts), as_of) == whole


def test_the_trip_history_counts_what_the_domain_says():
    doc = summary(fold(trip_history()))
    assert doc["trips"] == {"2024": ZERO | {"leader_led": 1, "team": 1, "other": 1, "people_days": 12 + 3 + 2,
                                            "companies_visited": 13, "valid_leads": 4, "projects_planned": 3 + 14,
                                            "projects_signed": 1, "signed_yuan": 600_000_000}}
    assert doc["bottlenecks"] == {"open": 2, "overdue": 1, "open_by_category": {"approval": 1, "planning": 1},
                                  "raised": {"2023": 1, "2024": 3}, "resolved": {"2024": 1},
                                  "projects_cleared": {"2024": 1}}
    assert summary(fold(trip_history(), "2023-12-31"))["trips"]["2023"]["projects_planned"] == 1


def merged_targets(pieces: list[list[dict]], targets: dict, as_of: str = "2024-12-31") -> pl.DataFrame:
    folds = [fold(piece, as_of) for piece in pieces]
    parts = [json.loads(json.dumps(result_targets_part(r, list(targets)))) for r in folds]  # as a worker sends it
    return merge_target_parts(parts, targets, folds[0].view.cutoff)


def replay_targets(history: list[dict], targets: dict, as_of: str = "2024-12-31") -> pl.DataFrame:
    """The replay's targets table of the whole history."""
    r = fold(history, as_of)
    return target_attainment(r.state, targets, r.view.cutoff, trips=r.trips, from_trips=r.from_trips,
                             issues=r.issues)


def test_a_project_signed_from_a_team_trip_in_another_part_counts_in_the_team_signed_amount():
    targets = {"2024": {"team_signed_yuan": 1_000, "signed_yuan": 1_000, "team": 2, "leader_led": 1}}
    history = [trip("T1", "2024-03-08"), trip("L1", "2024-03-08", "leader_led"),
               ev("A", "planned", "2024-04-01", trip_id="T1", investment_yuan=300),
               ev("A", "signed", "2024-05-01"),
               ev("B", "planned", "2024-04-01", trip_id="L1", investment_yuan=50), ev("B", "signed", "2024-05-01")]
    whole = replay_targets(history, targets)
    for where in ({"T1": 1}, {"A": 1, "L1": 2}, {"T1": 1, "L1": 1, "B": 2}):
        table = merged_targets(split(history, where, 3), targets)
        assert_frame_equal(table, whole)
    actual = dict(whole.select("metric", "actual").iter_rows())
    assert actual == {"team_signed_yuan": 300, "signed_yuan": 350, "team": 1, "leader_led": 1}
    # the trip's part alone counts no amount; the project's part alone no team trip
    alone = [merged_targets([piece], targets) for piece in split(history, {"T1": 1}, 2)]
    assert [dict(t.select("metric", "actual").iter_rows())["team_signed_yuan"] for t in alone] == [0, 0]


@pytest.mark.parametrize("as_of", ["2023-12-31", "2024-06-30", "2024-12-31"])
@pytest.mark.parametrize("parts", [1, 2, 3])
def test_every_split_of_the_history_merges_to_the_replays_targets(as_of, parts):
    history = trip_history()
    targets = {**config.targets(), "2024": dict.fromkeys(METRICS, 10)}  # every metric in 2024
    whole = replay_targets(history, targets, as_of)
    keys = sorted({key(e) for e in history})
    chance = random.Random(parts)
    for _ in range(3):
        where = {k: chance.randrange(parts) for k in keys}
        assert_frame_equal(merged_targets(split(history, where, parts), targets, as_of), whole)
    if as_of == "2024-12-31":
        actual = {(y, m): a for y, m, a in whole.select("year", "metric", "actual").iter_rows()}
        assert actual[(2024, "team_signed_yuan")] == 600_000_000 and actual[(2024, "projects_cleared")] == 1
