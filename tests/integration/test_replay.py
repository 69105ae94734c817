"""Replay from a file = replay from the topic it was ingested into, through the real broker."""

from __future__ import annotations

import json

import polars as pl
import pytest

from streams import synthetic
from tests.integration.test_ingest import funnel

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def feed(tmp_path_factory):
    path = tmp_path_factory.mktemp("replay") / "seed.jsonl"
    synthetic.generate_file(path, projects=600, seed=2023)
    return path


@pytest.mark.parametrize("as_of, known_at", [("2023-12-31", None), ("2024-12-31", None), ("2023-12-31", "2024-01-05")])
def test_replay_from_file_equals_replay_from_topic(bootstrap, topic, feed, tmp_path, as_of, known_at):
    funnel("ingest", str(feed), "--topic", topic, bootstrap=bootstrap)
    view = ["--as-of", as_of] + (["--known-at", known_at] if known_at else [])
    from_file = json.loads(funnel("replay", "--from-file", str(feed), *view, "--json", bootstrap=bootstrap).stdout)
    out = tmp_path / "out"
    from_topic = json.loads(funnel("replay", "--topic", topic, *view, "--out", str(out), "--json",
                                   bootstrap=bootstrap).stdout)
    # Only a file replay names the time its records without recorded_at count as received (the topic's were
    # stamped by ingest). In a known-at view both leave those records out (DOMAIN.md §4): the file's have no
    # recorded_at, and ingest stamped the topic's today, after K. So every figure agrees.
    assert from_file.pop("received_at") and "received_at" not in from_topic
    position = from_topic.pop("topic")  # only a topic replay says where it read up to
    assert position["name"] == topic and position["not_visible_yet"] == 0 and len(position["read_up_to"]) == 3
    assert from_topic == from_file
    assert from_topic["known_at"] == known_at
    assert json.loads((out / "summary.json").read_text()) == {**from_topic, "topic": position}
    acc = from_topic["accounting"]
    assert acc["received"] == acc["accepted"] + acc["duplicates"] + sum(acc["rejected"].values())
    state = pl.read_parquet(out / "project_state.parquet")
    assert state.filter(pl.col("in_pools")).height == from_topic["projects"]["total"]
    for table in ("pools_over_time", "flows", "conversions", "rolling_conversions", "cohorts", "targets"):
        assert pl.read_parquet(out / f"{table}.parquet").height > 0


def test_2023_flows_of_the_seed_data_meet_the_targets(bootstrap, topic, feed):
    funnel("ingest", str(feed), "--topic", topic, bootstrap=bootstrap)
    doc = json.loads(funnel("replay", "--topic", topic, "--as-of", "2023-12-31", "--json", bootstrap=bootstrap).stdout)
    flows = doc["flows"]["2023"]
    assert flows["planned"] >= 200 and flows["negotiating"] >= 160 and flows["signed"] >= 80 and flows["started"] >= 60


def test_replay_of_a_missing_topic_is_a_clear_error(bootstrap):
    done = funnel("replay", "--topic", "no-such-topic", bootstrap=bootstrap, check=False)
    assert done.returncode != 0 and "no-such-topic" in done.stderr


def replay_file(path, *args: str) -> dict:
    return json.loads(funnel("replay", "--from-file", str(path), *args, "--json", bootstrap="unused:1").stdout)


def test_known_at_shows_the_figures_known_then(tmp_path):
    """A contract signed in December but recorded on 8 January: the view known at 5 January still has
    the project in attraction and has not received that record; the view known at 8 January has it signed."""
    def event(project, event_id, event_type, occurred, recorded=None, **payload):
        e = {"event_id": event_id, "event_type": event_type, "schema_version": 2, "project_id": project,
             "occurred_at": occurred, **payload}
        return e if recorded is None else {**e, "recorded_at": recorded}

    feed = tmp_path / "feed.jsonl"
    records = [
        event("P", "p1", "project_planned", "2023-11-01T10:00:00+08:00", "2023-11-02T09:00:00+08:00",
              name="杉杉奥特莱斯", industry="现代商贸", investment_yuan=100_000_000),
        event("P", "p2", "negotiation_started", "2023-12-01T10:00:00+08:00", "2024-01-05T23:59:59+08:00"),
        event("P", "p3", "contract_signed", "2023-12-20T10:00:00+08:00", "2024-01-08T09:00:00+08:00",
              investment_yuan=500_000_000),
        event("Q", "q1", "project_planned", "2023-10-01T10:00:00+08:00", "2023-10-02T09:00:00+08:00",
              name="仲景医药健康产业园", industry="健康服务", investment_yuan=300_000_000),
        event("Q", "q2", "project_planned", "2023-10-01T10:00:00+08:00", "2024-01-08T10:00:00+08:00",
              name="仲景医药健康产业园", industry="健康服务", investment_yuan=-1),        # schema, recorded late
        event("R", "r1", "project_planned", "2023-12-05T10:00:00+08:00",               # no recorded_at
              name="亚细亚卓悦城", industry="现代商贸"),
    ]
    feed.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    empty = {"count": 0, "investment_yuan": 0}

    before = replay_file(feed, "--as-of", "2023-12-31", "--known-at", "2024-01-05")
    assert before["known_at"] == "2024-01-05"
    assert before["accounting"] == {"received": 3, "accepted": 3, "duplicates": 0, "rejected": {}}
    assert before["projects"] == {"total": 2, "orphans": 0}
    assert before["pools"] == {"planning": {"count": 1, "investment_yuan": 300_000_000},
                               "attraction": {"count": 1, "investment_yuan": 100_000_000},
                               "signed": empty, "landed": empty, "dropped": empty}
    assert before["flows"]["2023"] == {"planned": 2, "negotiating": 1, "signed": 0, "started": 0,
                                       "completed": 0, "operating": 0}

    after = replay_file(feed, "--as-of", "2023-12-31", "--known-at", "2024-01-08")
    assert after["accounting"] == {"received": 5, "accepted": 4, "duplicates": 0, "rejected": {"schema": 1}}
    assert after["pools"] == {"planning": {"count": 1, "investment_yuan": 300_000_000},
                              "attraction": empty,
                              "signed": {"count": 1, "investment_yuan": 500_000_000},
                              "landed": empty, "dropped": empty}
    assert after["flows"]["2023"]["signed"] == 1

    # without --known-at every record counts, the one without recorded_at included
    everything = replay_file(feed, "--as-of", "2023-12-31")
    assert everything["accounting"] == {"received": 6, "accepted": 5, "duplicates": 0, "rejected": {"schema": 1}}
    assert everything["pools"]["planning"] == {"count": 2, "investment_yuan": 300_000_000}
