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
    if known_at is None:
        assert from_topic == from_file
    else:
        # Ingest stamped recorded_at on the records that lacked one: the topic knows when they arrived,
        # the raw file does not, so the file's known-at view leaves them out (DOMAIN.md §4).
        assert from_topic["accounting"]["received"] >= from_file["accounting"]["received"]
        assert from_topic["as_of"] == from_file["as_of"] and from_topic["known_at"] == known_at
    assert json.loads((out / "summary.json").read_text()) == from_topic
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
