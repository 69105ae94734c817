"""Ingest under faults: the broker restarts while it sends, or ingest itself is killed and run again.
At-least-once delivery plus the fold's duplicate rule leave every figure equal to a clean replay of the file."""

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
from tests.integration.test_ingest import funnel, headers
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
