"""The broker goes away mid-file: ingest retries, fails loudly naming the line, and a rerun is safe."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import pytest

from streams import synthetic
from streams.config import dlq_topic
from streams.kafkaio.consumer import read_topic
from streams.kafkaio.offsets import end_offsets
from streams.kafkaio.topics import ensure_topics, event_topics
from tests.conftest import start_broker
from tests.integration.test_ingest import funnel, headers

pytestmark = pytest.mark.integration


def _end_offset(bootstrap: str, topic: str) -> int:
    return sum(end_offsets(bootstrap, topic).values())


def test_broker_loss_mid_file_then_resume(tmp_path):
    broker = start_broker(tmp_path / "kafka")  # our own broker: this test stops it
    try:
        feed = tmp_path / "feed.jsonl"
        synthetic.generate_file(feed, projects=30_000, seed=11)
        lines = len(feed.read_bytes().splitlines())
        topic = "events-loss"
        ensure_topics(broker.bootstrap, event_topics(topic))

        env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap}
        ingest = subprocess.Popen([sys.executable, "-m", "streams.cli", "ingest", str(feed), "--topic", topic,
                                   "--delivery-timeout", "8"], env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while _end_offset(broker.bootstrap, topic) < 2_000 and time.monotonic() < deadline:
            time.sleep(0.2)
        broker.down()
        out, err = ingest.communicate(timeout=120)

        assert ingest.returncode == 1, f"ingest should fail loudly:\n{out}\n{err}"
        match = re.search(r"error: \S*feed\.jsonl:(\d+) could not be delivered .*--start-line (\d+)", err)
        assert match, err
        resume = int(match.group(2))
        assert 1 < resume < lines

        broker.up()
        funnel("ingest", str(feed), "--topic", topic, "--start-line", str(resume), bootstrap=broker.bootstrap)
        seen = {int(headers(r)["origin"].rsplit(":", 1)[1])
                for t in (topic, dlq_topic(topic)) for r in read_topic(broker.bootstrap, t)}
        assert seen == set(range(1, lines + 1)), "a line was lost"
    finally:
        broker.down()
