"""A replay read by several processes makes the same log and the same outputs as one process: a topic's, each
reader a share of its partitions, through the real broker; JSON Lines files', each reader a run of their lines
(and `funnel replay --readers` for both)."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from streams import synthetic
from streams.kafkaio.consumer import read_topic
from streams.kafkaio.offsets import end_offsets
from streams.kafkaio.records import DLQ_SEQ
from streams.replay import SpilledLog, log_from_files, log_from_topic, read_segments_into
from streams.replay.readers import Segment, read_topic_in_processes
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
    dead_letters = sum(1 for _ in read_topic(bootstrap, f"{topic}.dlq"))  # (its offsets count markers too)
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
        read_topic_in_processes(bootstrap, topic, [[0], [999]], None, None, tmp_path, lambda n: None)


# ------------------------------------------------------------------------------------------- files

RECEIVED = datetime(2025, 1, 10, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """The feed in two files, the second without a newline after its last line, and a malformed line or two."""
    folder = tmp_path_factory.mktemp("file-readers")
    lines = []
    for seed in (12, 13):
        path = folder / f"feed-{seed}.jsonl"
        synthetic.generate_file(path, projects=300, seed=seed)
        lines.append(path.read_bytes())
    first, second = folder / "a.jsonl", folder / "b.jsonl"
    first.write_bytes(lines[0] + b"{not json\n\n")
    second.write_bytes(lines[1].rstrip(b"\n"))
    return [first, second]


def test_three_readers_read_the_files_one_reader_reads(files, tmp_path):
    one = _log(log_from_files(files, RECEIVED, spill=tmp_path / "one", readers=1))
    progress = []
    three = log_from_files(files, RECEIVED, spill=tmp_path / "three", readers=3, on_record=progress.append)
    assert isinstance(three, SpilledLog)
    assert {p.parent.parent.name for p in three.paths} == {"reader-0", "reader-1", "reader-2"}
    assert_frame_equal(_log(three), one)
    assert one["seq"].to_list() == list(range(1, one.height + 1))  # every line, numbered across the files
    assert one.filter(pl.col("reason") == "malformed").height >= 2
    assert sum(progress) == sum(p.stat().st_size for p in files) + 1  # every line's bytes (the last has no newline)


def test_funnel_replay_of_files_with_readers_writes_what_one_reader_writes(files, tmp_path):
    outs = {}
    for readers in ("1", "3"):
        out = tmp_path / readers
        outs[readers] = json.loads(funnel("replay", *[a for f in files for a in ("--from-file", str(f))], "--as-of",
                                          "2024-06-30", "--out", str(out), "--readers", readers, "--json",
                                          bootstrap="unused:9092").stdout)
    assert outs["1"] == outs["3"] and outs["1"]["accounting"]["received"] > 2000
    for name in sorted(p.name for p in (tmp_path / "1").glob("*.parquet")):
        assert_frame_equal(pl.read_parquet(tmp_path / "3" / name), pl.read_parquet(tmp_path / "1" / name))


def test_a_file_that_changed_under_a_reader_fails_its_share(files):
    from streams.core.log import LogBuilder

    size = files[0].stat().st_size
    counted = Segment(str(files[0]), 0, size, 1, 1, lines=5)  # fewer than the file holds
    with pytest.raises(RuntimeError, match=r"a.jsonl changed while it was replayed: \d+ lines in bytes 0"):
        read_segments_into(LogBuilder(), None, segments=[counted], received_at=RECEIVED, on_record=lambda n: None)
