"""A topic replay spilled to Parquet chunks as it is read and folded in buckets of project ids gives the
in-memory replay's summary and tables, through the real broker (and `funnel replay --buckets`)."""

from __future__ import annotations

import json
from datetime import date

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from streams import config, synthetic
from streams.core.log import LogBuilder
from streams.core.summary import View
from streams.replay import SpilledLog, fold_and_aggregate, log_from_topic
from tests.integration.test_ingest import funnel

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def feed(tmp_path_factory):
    path = tmp_path_factory.mktemp("buckets") / "seed.jsonl"
    synthetic.generate_file(path, projects=300, seed=11)
    return path


def test_a_spilled_topic_log_in_buckets_equals_the_in_memory_replay(bootstrap, topic, feed, tmp_path, monkeypatch):
    funnel("ingest", str(feed), "--topic", topic, bootstrap=bootstrap)
    view, targets = View(date(2024, 12, 31)), config.targets()
    whole = fold_and_aggregate(log_from_topic(bootstrap, topic), view, targets)
    monkeypatch.setattr(LogBuilder, "CHUNK", 128)  # so a small topic is written in many chunks as it is read
    spilled = log_from_topic(bootstrap, topic, spill=tmp_path)
    assert isinstance(spilled, SpilledLog) and len(spilled.paths) > 5
    parts = fold_and_aggregate(spilled, view, targets, buckets=6, work=tmp_path)
    assert parts.buckets == 6
    assert parts.doc == whole.doc
    for name, table in whole.tables.items():
        got = parts.tables[name]
        assert_frame_equal(got.collect() if isinstance(got, pl.LazyFrame) else got, table)


def test_funnel_replay_with_buckets_writes_what_the_in_memory_replay_writes(bootstrap, topic, feed, tmp_path):
    funnel("ingest", str(feed), "--topic", topic, bootstrap=bootstrap)
    outs = {}
    for buckets in ("1", "4"):
        out = tmp_path / buckets
        doc = json.loads(funnel("replay", "--topic", topic, "--as-of", "2024-06-30", "--out", str(out),
                                "--buckets", buckets, "--json", bootstrap=bootstrap).stdout)
        outs[buckets] = (doc, out)
    assert outs["1"][0] == outs["4"][0]
    assert (outs["1"][1] / "summary.json").read_text() == (outs["4"][1] / "summary.json").read_text()
    names = sorted(p.name for p in outs["1"][1].glob("*.parquet"))
    assert names == sorted(p.name for p in outs["4"][1].glob("*.parquet")) and "project_state.parquet" in names
    for name in names:
        assert_frame_equal(pl.read_parquet(outs["4"][1] / name), pl.read_parquet(outs["1"][1] / name))
    assert json.loads((outs["4"][1] / "quality.json").read_text())["success"]
