"""`funnel ingest` through the real broker: topic + DLQ = lines read, reasons, per-project order."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from collections import Counter, defaultdict
from datetime import datetime, timezone
from pathlib import Path

import pytest

from streams import synthetic
from streams.config import dlq_topic
from streams.contract.acceptance import Rejection, check_record
from streams.contract.events import key_of
from streams.kafkaio.consumer import read_topic

pytestmark = pytest.mark.integration


def funnel(*args: str, bootstrap: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": bootstrap}
    done = subprocess.run([sys.executable, "-m", "streams.cli", *args], env=env, capture_output=True, text=True,
                          timeout=timeout)
    if check and done.returncode != 0:
        raise AssertionError(f"funnel {' '.join(args)} exited {done.returncode}:\n{done.stderr}")
    return done


def headers(record) -> dict[str, str]:
    return {k: v.decode() for k, v in record.headers}


@pytest.fixture(scope="module")
def seed_feed(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("feeds") / "seed.jsonl"
    synthetic.generate_file(path, projects=600, seed=2023)
    return path


def test_every_line_ends_in_the_topic_or_the_dlq(bootstrap, topic, seed_feed):
    lines = seed_feed.read_bytes().splitlines()
    result = json.loads(funnel("ingest", str(seed_feed), "--topic", topic, "--json", bootstrap=bootstrap).stdout)

    events = list(read_topic(bootstrap, topic))
    dead = list(read_topic(bootstrap, dlq_topic(topic)))
    assert len(events) + len(dead) == len(lines) == result["received"]
    assert result["ok"] and result["delivered"] == len(events) and result["dead_lettered"] == len(dead)

    # The DLQ holds the rejected lines' bytes untouched, with the reason the validator gives.
    now = datetime.now(timezone.utc)
    expected = {i + 1: v for i, v in enumerate(check_record(line, now) for line in lines) if isinstance(v, Rejection)}
    assert {int(headers(r)["origin"].rsplit(":", 1)[1]) for r in dead} == set(expected)
    for record in dead:
        line = int(headers(record)["origin"].rsplit(":", 1)[1])
        assert record.value == lines[line - 1]
        assert headers(record)["reason"] == expected[line].reason
        assert headers(record)["detail"]
    assert Counter(headers(r)["reason"] for r in dead) == Counter(result["rejected"])
    assert {"malformed", "schema"} <= set(result["rejected"])

    # Accepted records: bytes kept unless ingest had to stamp recorded_at; keyed by project (a trip by its trip_id).
    for record in events:
        line = lines[int(headers(record)["origin"].rsplit(":", 1)[1]) - 1]
        event = json.loads(record.value)
        assert record.key.decode() == key_of(event)
        assert record.value == line if b'"recorded_at"' in line else "recorded_at" in event


def test_per_project_order_is_file_order(bootstrap, topic, seed_feed):
    funnel("ingest", str(seed_feed), "--topic", topic, bootstrap=bootstrap)
    by_project: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for record in read_topic(bootstrap, topic):
        line = int(headers(record)["origin"].rsplit(":", 1)[1])
        by_project[record.key.decode()].append((record.partition, line))
    assert len(by_project) > 500
    for project, seen in by_project.items():
        assert len({p for p, _ in seen}) == 1, f"{project} spread over partitions"
        assert [line for _, line in seen] == sorted(line for _, line in seen), f"{project} out of file order"


def test_csv_feed(bootstrap, topic, tmp_path):
    path = tmp_path / "feed.csv"
    synthetic.generate_file(path, projects=80, seed=5, fmt="csv")
    result = json.loads(funnel("ingest", str(path), "--topic", topic, "--json", bootstrap=bootstrap).stdout)
    rows = len(path.read_bytes().splitlines()) - 1
    events = list(read_topic(bootstrap, topic))
    assert result["received"] == rows == len(events) + sum(result["rejected"].values())
    assert all(json.loads(r.value)["event_id"] for r in events)


def test_the_human_output_is_a_table(bootstrap, topic, tmp_path):
    path = tmp_path / "one.jsonl"
    path.write_bytes(b'{"broken": \n')
    out = funnel("ingest", str(path), "--topic", topic, bootstrap=bootstrap).stdout
    assert "received" in out and "malformed" in out


def test_an_unreachable_cluster_is_a_clear_error(tmp_path):
    path = tmp_path / "one.jsonl"
    path.write_bytes(b"{}\n")
    done = funnel("ingest", str(path), "--delivery-timeout", "3", bootstrap="127.0.0.1:1", check=False)
    assert done.returncode != 0 and "cannot reach Kafka at 127.0.0.1:1" in done.stderr


def test_every_dead_letter_is_logged_with_its_line_and_reason_on_stderr_only(bootstrap, topic, tmp_path):
    path = tmp_path / "feed.jsonl"
    synthetic.generate_file(path, projects=5, seed=7)
    now = datetime.now(timezone.utc)
    good = [line for line in path.read_bytes().splitlines() if not isinstance(check_record(line, now), Rejection)]
    path.write_bytes(b"\n".join([good[0], b'{"broken": ', good[1], b"[1, 2]"]) + b"\n")
    done = funnel("--loglevel", "warning", "ingest", str(path), "--topic", topic, "--json", bootstrap=bootstrap)
    result = json.loads(done.stdout)  # stdout holds the JSON document and nothing else
    assert result["dead_lettered"] == 2 and result["rejected"] == {"malformed": 2}
    logged = [line for line in done.stderr.splitlines() if " WARNING streams.feeds.ingest: " in line]
    assert len(logged) == 2
    assert f"{path}:2 " in logged[0] and "malformed" in logged[0] and "not JSON" in logged[0]
    assert f"{path}:4 " in logged[1] and "malformed" in logged[1] and "not a JSON object" in logged[1]
    quiet = funnel("--loglevel", "error", "ingest", str(path), "--topic", topic, "--json", bootstrap=bootstrap)
    assert "streams.feeds.ingest" not in quiet.stderr


# --- transactions: each batch, its events and its dead letters, is one Kafka transaction ---------------------


def lines_seen_by(bootstrap: str, topic: str, isolation: str = "read_committed") -> list[int]:
    """The feed line (ingest's ``origin`` header) of every record of the topic and its DLQ that a reader with
    ``isolation`` sees, repeats kept. Read with kafka-python directly, to the end that reader is given (the last
    stable offset under read_committed), so the test does not depend on how the platform's readers read."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=bootstrap.split(","), isolation_level=isolation,
                             enable_auto_commit=False)
    try:
        partitions = [TopicPartition(t, p) for t in (topic, dlq_topic(topic))
                      for p in sorted(consumer.partitions_for_topic(t))]
        consumer.assign(partitions)
        consumer.seek_to_beginning()
        end = consumer.end_offsets(partitions)
        lines: list[int] = []
        deadline = time.monotonic() + 120  # a guard against a reader that never gets to its end, not a measure
        while any(consumer.position(tp) < end[tp] for tp in partitions):
            assert time.monotonic() < deadline, f"the {isolation} reader did not reach {end}"
            for records in consumer.poll(timeout_ms=500).values():
                lines += [int(headers(r)["origin"].rsplit(":", 1)[1]) for r in records if r.offset < end[
                    TopicPartition(r.topic, r.partition)]]
        return lines
    finally:
        consumer.close()


def records_and_offsets(bootstrap: str, topic: str) -> tuple[int, int]:
    """(records a read_uncommitted reader sees, offsets the partitions' logs span) over the topic and its DLQ:
    transactions leave a marker at an offset of its own after each transaction in each partition it wrote."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=bootstrap.split(","))
    try:
        partitions = [TopicPartition(t, p) for t in (topic, dlq_topic(topic))
                      for p in consumer.partitions_for_topic(t)]
        offsets = sum(consumer.end_offsets(partitions).values())
    finally:
        consumer.close()
    return len(lines_seen_by(bootstrap, topic, "read_uncommitted")), offsets


def batches(lines: list[int], batch_size: int) -> Counter:
    """How many records of each batch (numbered from 0) a reader saw."""
    return Counter((line - 1) // batch_size for line in lines)


def test_ingest_writes_each_batch_in_a_transaction_and_a_committed_reader_sees_every_line_once(
        bootstrap, topic, seed_feed):
    lines = len(seed_feed.read_bytes().splitlines())
    result = json.loads(funnel("ingest", str(seed_feed), "--topic", topic, "--batch-size", "500", "--json",
                               bootstrap=bootstrap).stdout)
    assert result["ok"] and result["transactional"]
    assert result["delivered"] + result["dead_lettered"] == result["received"] == lines

    committed = lines_seen_by(bootstrap, topic)
    assert sorted(committed) == list(range(1, lines + 1))  # every line once, events and dead letters alike
    records, offsets = records_and_offsets(bootstrap, topic)
    assert records == lines and offsets > lines  # the commit markers take offsets of their own


@pytest.mark.parametrize("flag, env", [(["--no-transactions"], "1"), ([], "0")],
                         ids=["--no-transactions", "FUNNEL_TRANSACTIONS=0"])
def test_no_transactions_keeps_idempotent_sends_without_markers(bootstrap, topic, tmp_path, flag, env, monkeypatch):
    path = tmp_path / "feed.jsonl"
    synthetic.generate_file(path, projects=100, seed=3)
    monkeypatch.setenv("FUNNEL_TRANSACTIONS", env)
    result = json.loads(funnel("ingest", str(path), "--topic", topic, *flag, "--json", bootstrap=bootstrap).stdout)
    lines = len(path.read_bytes().splitlines())
    assert result["ok"] and not result["transactional"] and result["received"] == lines
    assert sorted(lines_seen_by(bootstrap, topic)) == list(range(1, lines + 1))
    assert records_and_offsets(bootstrap, topic) == (lines, lines)  # no transaction, no marker


def test_a_batch_that_fails_is_aborted_and_the_rerun_the_message_gives_completes_the_feed(bootstrap, topic, tmp_path):
    batch_size = 200
    path = tmp_path / "feed.jsonl"
    synthetic.generate_file(path, projects=200, seed=11)
    good = path.read_bytes().splitlines()
    too_big = 2 * batch_size + 50  # in the third batch: larger than any request the producer may make
    feed = good[:too_big - 1] + [b'{"note": "' + b"x" * (17 * 1024 * 1024) + b'"}'] + good[too_big - 1:]
    path.write_bytes(b"\n".join(feed) + b"\n")

    done = funnel("ingest", str(path), "--topic", topic, "--batch-size", str(batch_size), "--quality", "off",
                  "--json", bootstrap=bootstrap, check=False)
    assert done.returncode == 1
    result = json.loads(done.stdout)
    first_of_failed = 2 * batch_size + 1
    assert result["first_undelivered"]["origin"] == f"{path}:{first_of_failed}"
    assert "MessageSizeTooLargeError" in result["first_undelivered"]["error"]
    assert result["delivered"] + result["dead_lettered"] == 2 * batch_size  # counted on commit only
    assert result["delivered"] + result["dead_lettered"] + result["undelivered"] == result["received"]
    assert f"--start-line {first_of_failed}" in done.stderr and "every batch before it was committed" in done.stderr
    assert f"batch from {path}:{first_of_failed} not committed" in done.stderr  # logged, with where

    # The records of the failed batch sent before the big one were written, then aborted: never seen committed.
    assert batches(lines_seen_by(bootstrap, topic), batch_size) == {0: batch_size, 1: batch_size}
    uncommitted = batches(lines_seen_by(bootstrap, topic, "read_uncommitted"), batch_size)
    assert uncommitted[2] == too_big - first_of_failed

    feed[too_big - 1] = good[0]  # the big line fixed (a copy of line 1: a duplicate, settled by the fold)
    path.write_bytes(b"\n".join(feed) + b"\n")
    rerun = json.loads(funnel("ingest", str(path), "--topic", topic, "--batch-size", str(batch_size),
                              "--start-line", str(first_of_failed), "--quality", "off", "--json",
                              bootstrap=bootstrap).stdout)
    assert rerun["ok"] and rerun["received"] == len(feed) - 2 * batch_size
    assert sorted(lines_seen_by(bootstrap, topic)) == list(range(1, len(feed) + 1))  # exactly once


def test_a_fenced_batch_counts_as_undelivered_and_nothing_of_it_is_committed(bootstrap, topic, seed_feed, caplog):
    from streams.feeds import feed_records
    from streams.feeds.ingest import Ingest
    from streams.kafkaio.producer import event_producer, transactional_id

    batch_size, tid = 300, transactional_id("ingest", topic, [seed_feed])
    zombie = event_producer(bootstrap, transactional_id=tid)
    newer = []

    def fence_after_the_first_batch(record) -> None:
        if record.line == batch_size + 10 and not newer:  # batch 0 committed, batch 1 being read
            newer.append(event_producer(bootstrap, transactional_id=tid))  # a re-run starting: fences the zombie

    run = Ingest(zombie, topic, quality="off", batch_size=batch_size)
    with caplog.at_level(logging.ERROR, logger="streams.feeds.ingest"):
        report = run.run(feed_records([seed_feed]), on_progress=fence_after_the_first_batch, flush_timeout=60)
    zombie.close(timeout=0)
    newer[0].close(timeout=5)

    assert not report.ok and report.delivered + report.dead_lettered == batch_size
    first = report.first_undelivered()
    assert first.origin == f"{seed_feed}:{batch_size + 1}" and "Fenced" in first.error
    assert report.delivered + report.dead_lettered + report.as_dict()["undelivered"] == report.received
    assert any(f"batch from {seed_feed}:{batch_size + 1} not committed" in r.getMessage() for r in caplog.records)
    assert batches(lines_seen_by(bootstrap, topic), batch_size) == {0: batch_size}
