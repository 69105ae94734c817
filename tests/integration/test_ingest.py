"""`funnel ingest` through the real broker: topic + DLQ = lines read, reasons, per-project order."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter, defaultdict
from datetime import datetime, timezone
from pathlib import Path

import pytest

from streams import synthetic
from streams.config import dlq_topic
from streams.contract.acceptance import Rejection, check_record
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

    # Accepted records: bytes kept unless ingest had to stamp recorded_at; keyed by project.
    for record in events:
        line = lines[int(headers(record)["origin"].rsplit(":", 1)[1]) - 1]
        event = json.loads(record.value)
        assert record.key.decode() == event["project_id"]
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
    logged = [line for line in done.stderr.splitlines() if " WARNING streams.ingest: " in line]
    assert len(logged) == 2
    assert f"{path}:2 " in logged[0] and "malformed" in logged[0] and "not JSON" in logged[0]
    assert f"{path}:4 " in logged[1] and "malformed" in logged[1] and "not a JSON object" in logged[1]
    quiet = funnel("--loglevel", "error", "ingest", str(path), "--topic", topic, "--json", bootstrap=bootstrap)
    assert "streams.ingest" not in quiet.stderr
