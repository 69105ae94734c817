"""A topic replay read by several processes, each a share of the partitions, makes the same log and the
same outputs as one process, through the real broker (and `funnel replay --readers`)."""

from __future__ import annotations

import json

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from streams import synthetic
from streams.kafkaio.offsets import end_offsets
from streams.kafkaio.records import DLQ_SEQ
from streams.replay import SpilledLog, log_from_topic
from streams.topic_readers import read_in_processes
from tests.integration.test_ingest import funnel

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def feed(tmp_path_factory):
    path = tmp_path_factory.mktemp("readers") / "seed.jsonl"
    synthetic.generate_file(path, projects=400, seed=12)
    return path


def _log(received) -> pl.DataFrame:
    return (received.frame() if isinstance(received, SpilledLog) else received).sort("seq")


def test_three_readers_read_the_log_one_reader_reads(bootstrap, topic, feed, tmp_path):
    funnel("ingest", str(feed), "--topic", topic, bootstrap=bootstrap)
    assert sum(1 for end in end_offsets(bootstrap, topic).values() if end) >= 3
    progress = []
    one = _log(log_from_topic(bootstrap, topic, spill=tmp_path / "one", readers=1))
    three = log_from_topic(bootstrap, topic, spill=tmp_path / "three", readers=3, on_record=progress.append)
    assert isinstance(three, SpilledLog)
    assert {p.parent.parent.name for p in three.paths} >= {"reader-0", "reader-1", "reader-2"}
    assert_frame_equal(_log(three), one)
    dead_letters = sum(end_offsets(bootstrap, f"{topic}.dlq").values())
    assert dead_letters > 0 and one.filter(pl.col("seq") >= DLQ_SEQ).height == dead_letters
    assert sum(progress) == one.height  # every topic record and dead letter read, shown once


def test_funnel_replay_with_readers_writes_what_one_reader_writes(bootstrap, topic, feed, tmp_path):
    funnel("ingest", str(feed), "--topic", topic, bootstrap=bootstrap)
    outs = {}
    for readers in ("1", "3"):
        out = tmp_path / readers
        outs[readers] = json.loads(funnel("replay", "--topic", topic, "--as-of", "2024-06-30", "--out", str(out),
                                          "--readers", readers, "--json", bootstrap=bootstrap).stdout)
    assert outs["1"] == outs["3"]
    for name in sorted(p.name for p in (tmp_path / "1").glob("*.parquet")):
        assert_frame_equal(pl.read_parquet(tmp_path / "3" / name), pl.read_parquet(tmp_path / "1" / name))


def test_a_reader_that_fails_fails_the_replay_with_its_reason(bootstrap, topic, feed, tmp_path):
    funnel("ingest", str(feed), "--topic", topic, bootstrap=bootstrap)
    with pytest.raises(LookupError, match=r"no partition \[999\].*replay reader 1"):
        read_in_processes(bootstrap, topic, [[0], [999]], None, None, tmp_path, lambda n: None)
