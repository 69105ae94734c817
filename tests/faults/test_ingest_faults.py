"""Ingest under faults: the broker restarts while it sends, or ingest itself is killed and run again.
At-least-once delivery plus the fold's duplicate rule leave every figure equal to a clean replay of the file;
with transactions, a read_committed reader never sees part of a batch, and a re-run from the first batch not
committed leaves every line in the log exactly once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from streams import synthetic
from streams.config import dlq_topic
from streams.kafkaio.consumer import read_topic
from streams.kafkaio.topics import ensure_topics, event_topics
from tests.conftest import start_broker
from tests.faults.test_worker_faults import AS_OF, balanced
from tests.integration.test_ingest import batches, funnel, headers, lines_seen_by
from tests.integration.test_ingest_broker_loss import _end_offset

pytestmark = [pytest.mark.integration, pytest.mark.faults]


def replay(*args: str, bootstrap: str) -> dict:
    return json.loads(funnel("replay", *args, "--as-of", AS_OF, "--json", bootstrap=bootstrap).stdout)


def same_figures(topic_doc: dict, file_doc: dict) -> None:
    assert topic_doc["pools"] == file_doc["pools"] and topic_doc["flows"] == file_doc["flows"]
    assert topic_doc["accounting"]["accepted"] == file_doc["accounting"]["accepted"]
    assert balanced(topic_doc) and balanced(file_doc)


def lines_seen(bootstrap: str, topic: str) -> list[int]:
    """The feed line of every record in the topic and its DLQ (ingest's ``origin`` header), repeats kept."""
    return [int(headers(r)["origin"].rsplit(":", 1)[1])
            for t in (topic, dlq_topic(topic)) for r in read_topic(bootstrap, t)]


def start_ingest(feed, topic: str, bootstrap: str, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": bootstrap}
    return subprocess.Popen([sys.executable, "-m", "streams.cli", "ingest", str(feed), "--topic", topic,
                             "--quality", "off", *extra], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def wait_for_records(bootstrap: str, topic: str, n: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while _end_offset(bootstrap, topic) < n:
        assert time.monotonic() < deadline, f"fewer than {n} records in {topic} after {timeout:.0f} s"
        time.sleep(0.2)


@pytest.fixture
def feed(tmp_path):
    path = tmp_path / "feed.jsonl"
    synthetic.generate_file(path, projects=30_000, seed=21)
    return path


@pytest.mark.timeout(600)
def test_the_broker_restarts_while_ingest_sends(tmp_path, feed):
    broker = start_broker(tmp_path / "kafka")  # our own broker: this test stops it
    try:
        topic = "events-restart"
        ensure_topics(broker.bootstrap, event_topics(topic))
        ingest = start_ingest(feed, topic, broker.bootstrap, "--delivery-timeout", "180")
        wait_for_records(broker.bootstrap, topic, 3_000)
        broker.down()
        time.sleep(5)
        broker.up()
        out, err = ingest.communicate(timeout=400)
        assert ingest.returncode == 0, f"ingest should ride out the restart:\n{out}\n{err}"

        lines = len(feed.read_bytes().splitlines())
        assert set(lines_seen(broker.bootstrap, topic)) == set(range(1, lines + 1)), "a line was lost"
        same_figures(replay("--topic", topic, bootstrap=broker.bootstrap),
                     replay("--from-file", str(feed), bootstrap=broker.bootstrap))
    finally:
        broker.down()


@pytest.mark.timeout(600)
def test_ingest_killed_mid_file_and_run_again(bootstrap, topic, feed):
    ingest = start_ingest(feed, topic, bootstrap)
    wait_for_records(bootstrap, topic, 5_000)
    ingest.send_signal(signal.SIGKILL)
    ingest.wait(timeout=60)
    sent_before = len(lines_seen(bootstrap, topic))
    lines = len(feed.read_bytes().splitlines())
    assert 0 < sent_before < lines, "killed too late to test anything"

    funnel("ingest", str(feed), "--topic", topic, "--quality", "off", bootstrap=bootstrap)  # the whole file again
    seen = lines_seen(bootstrap, topic)
    assert set(seen) == set(range(1, lines + 1)) and len(seen) == lines + sent_before

    from_topic = replay("--topic", topic, bootstrap=bootstrap)
    from_file = replay("--from-file", str(feed), bootstrap=bootstrap)
    same_figures(from_topic, from_file)
    assert from_topic["accounting"]["received"] == lines + sent_before  # the re-sent ones are duplicates


def held_back(bootstrap: str, topic: str) -> bool:
    """Whether an open transaction holds back a partition of the topic or its DLQ: records written past its
    last stable offset (what read_uncommitted sees beyond what read_committed may)."""
    from kafka import KafkaConsumer, TopicPartition

    ends = []
    for isolation in ("read_committed", "read_uncommitted"):
        consumer = KafkaConsumer(bootstrap_servers=bootstrap.split(","), isolation_level=isolation)
        try:
            partitions = [TopicPartition(t, p) for t in (topic, dlq_topic(topic))
                          for p in consumer.partitions_for_topic(t)]
            ends.append(consumer.end_offsets(partitions))
        finally:
            consumer.close()
    stable, high = ends
    return any(high[tp] > stable[tp] for tp in high)


def kill_inside_a_transaction(ingest: subprocess.Popen, bootstrap: str, topic: str) -> None:
    """SIGKILL ``ingest`` while a transaction of it is open with records written, after its first commit.

    The process is frozen (SIGSTOP) and left a second for requests in flight to land, so what the broker
    shows is what the kill leaves; if no transaction is open with records at that moment, it runs on a little.
    """
    while not lines_seen_by(bootstrap, topic):  # the first batch committed
        assert ingest.poll() is None, "ingest ended before its first commit was seen"
        time.sleep(0.2)
    for _ in range(100):
        assert ingest.poll() is None, "ingest ended before it was caught inside a transaction"
        ingest.send_signal(signal.SIGSTOP)
        time.sleep(1)
        if held_back(bootstrap, topic):
            ingest.send_signal(signal.SIGKILL)
            ingest.wait(timeout=60)
            return
        ingest.send_signal(signal.SIGCONT)
        time.sleep(0.1)
    raise AssertionError("ingest was never caught inside an open transaction")


@pytest.mark.timeout(600)
def test_ingest_killed_mid_transaction_then_run_again_from_the_first_batch_not_committed(bootstrap, topic, feed):
    batch_size = 2_000
    lines = len(feed.read_bytes().splitlines())
    ingest = start_ingest(feed, topic, bootstrap, "--batch-size", str(batch_size))
    try:
        kill_inside_a_transaction(ingest, bootstrap, topic)
    finally:
        if ingest.poll() is None:
            ingest.kill()
            ingest.wait(timeout=60)

    # A read_committed reader sees whole batches, the first k of them, and nothing of the open one ...
    committed = batches(lines_seen_by(bootstrap, topic), batch_size)
    k = len(committed)
    assert set(committed) == set(range(k)) and set(committed.values()) == {batch_size}, committed
    # ... which the kill left written but not committed: the log holds part of it.
    written = batches(lines_seen_by(bootstrap, topic, "read_uncommitted"), batch_size)
    assert written[k] > 0 and {b: n for b, n in written.items() if b < k} == committed
    open_records = sum(n for b, n in written.items() if b >= k)

    # The re-run from the first line of the first batch not committed fences the killed run (same
    # transactional.id) and aborts its open transaction: every line is then committed exactly once.
    rerun = json.loads(funnel("ingest", str(feed), "--topic", topic, "--quality", "off", "--batch-size",
                              str(batch_size), "--start-line", str(k * batch_size + 1), "--json",
                              bootstrap=bootstrap).stdout)
    assert rerun["ok"] and rerun["received"] == lines - k * batch_size
    assert sorted(lines_seen_by(bootstrap, topic)) == list(range(1, lines + 1))
    assert len(lines_seen_by(bootstrap, topic, "read_uncommitted")) == lines + open_records  # aborted, still there

    # The figures equal one clean ingest of the file into a fresh topic.
    clean = f"{topic}-clean"
    funnel("ingest", str(feed), "--topic", clean, "--quality", "off", bootstrap=bootstrap)
    after_kill, once = replay("--topic", topic, bootstrap=bootstrap), replay("--topic", clean, bootstrap=bootstrap)
    for figure in ("accounting", "pools", "flows"):
        assert after_kill[figure] == once[figure], figure
    assert balanced(after_kill)
