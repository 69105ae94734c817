"""The live worker under faults: killed again and again, a second worker joining and leaving, the broker
restarting under it. Each scenario ends with the accounting identity and a summary equal to a clean replay."""

from __future__ import annotations

import random
import signal
import time

import pytest

from streams import synthetic
from tests.conftest import start_broker
from tests.integration.test_ingest import funnel
from tests.integration.test_worker import replayed
from tests.workers import workers  # noqa: F401  (fixture)

pytestmark = [pytest.mark.integration, pytest.mark.faults]
AS_OF = "2024-12-31"
SUMMARY = f"/summary?as_of={AS_OF}"


def balanced(doc: dict) -> bool:
    """received = accepted + duplicates + every rejection: nothing lost, nothing counted twice."""
    a = doc["accounting"]
    return a["received"] == a["accepted"] + a["duplicates"] + sum(a["rejected"].values())


def ingested(bootstrap: str, topic: str, tmp_path, projects: int, seed: int) -> dict:
    feed = tmp_path / f"feed-{seed}.jsonl"
    synthetic.generate_file(feed, projects=projects, seed=seed)
    funnel("ingest", str(feed), "--topic", topic, "--quality", "off", bootstrap=bootstrap)
    expected = replayed(bootstrap, topic, AS_OF)
    assert balanced(expected)
    return expected


@pytest.mark.timeout(600)
def test_worker_killed_at_random_points_three_times(bootstrap, topic, tmp_path, workers):
    """Killed with SIGKILL at a random point of each of three parts of the feed; the next part arrives while it
    is down, so every restart has its store to recover and records to read, however quickly the worker got
    through the part before (its /summary can lag what it has read by seconds)."""
    feed = tmp_path / "feed-7.jsonl"
    synthetic.generate_file(feed, projects=6_000, seed=7)
    lines = feed.read_bytes().splitlines(keepends=True)
    cuts = [len(lines) * i // 4 for i in range(5)]
    parts = [tmp_path / f"part-{i}.jsonl" for i in range(4)]
    for part, start, end in zip(parts, cuts, cuts[1:]):
        part.write_bytes(b"".join(lines[start:end]))
    funnel("ingest", str(parts[0]), "--topic", topic, "--quality", "off", bootstrap=bootstrap)
    rng = random.Random(7)
    # Checkpoints written all the time: a kill lands in the middle of one, or between one and its rename.
    checkpointing = {"FUNNEL_CHECKPOINT_INTERVAL": "0.2"}
    worker = workers(bootstrap, topic, "first", env=checkpointing)
    for kill in range(3):
        at = rng.randint(cuts[kill] + 1, cuts[kill + 1])  # in the part sent last: every line is a record received
        worker.wait_for(SUMMARY, lambda d: d["accounting"]["received"] >= at)
        worker.kill(signal.SIGKILL)
        funnel("ingest", str(parts[kill + 1]), "--topic", topic, "--quality", "off", bootstrap=bootstrap)
        worker = workers(bootstrap, topic, f"after-kill-{kill}", app_id=worker.app_id, env=checkpointing)

    expected = replayed(bootstrap, topic, AS_OF)
    assert balanced(expected) and expected["accounting"]["received"] == len(lines)
    live = worker.wait_for(SUMMARY, lambda d: d["accounting"]["received"] >= len(lines))
    assert live == expected and balanced(live)
    assert "checkpoint loaded at changelog offset" in worker.log_path.read_text()  # the restarts used them


@pytest.mark.timeout(600)
def test_a_worker_killed_before_its_first_commit_reads_what_came_while_it_was_down(bootstrap, topic, tmp_path,
                                                                                  workers):
    """Killed before the group committed anything, so its successor has only its changelog: the records sent
    while it was down must still be read. (Faust's consumer could fetch and drop them while the tables
    recovered, and its seek to the committed offsets left a partition without one at its end: the
    successor then waited there for ever.)"""
    feed = tmp_path / "feed-7.jsonl"
    synthetic.generate_file(feed, projects=3_000, seed=7)
    lines = feed.read_bytes().splitlines(keepends=True)
    half = len(lines) // 2
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    first.write_bytes(b"".join(lines[:half]))
    second.write_bytes(b"".join(lines[half:]))
    funnel("ingest", str(first), "--topic", topic, "--quality", "off", bootstrap=bootstrap)
    worker = workers(bootstrap, topic, "first")
    worker.wait_for(SUMMARY, lambda d: d["accounting"]["received"] >= half * 9 // 10)
    worker.kill(signal.SIGKILL)  # within seconds of its start: before the first commit
    funnel("ingest", str(second), "--topic", topic, "--quality", "off", bootstrap=bootstrap)
    worker = workers(bootstrap, topic, "again", app_id=worker.app_id)
    live = worker.wait_for(SUMMARY, lambda d: d["accounting"]["received"] >= len(lines), timeout=120)
    assert live == replayed(bootstrap, topic, AS_OF) and balanced(live)


@pytest.mark.timeout(600)
def test_a_second_worker_joins_and_leaves_mid_stream(bootstrap, topic, tmp_path, workers):
    expected = ingested(bootstrap, topic, tmp_path, projects=6_000, seed=8)
    total = expected["accounting"]["received"]
    first = workers(bootstrap, topic, "first")
    first.wait_for(SUMMARY, lambda d: d["accounting"]["received"] >= total // 5)

    second = workers(bootstrap, topic, "second", app_id=first.app_id)  # joins the group: a rebalance
    second.wait_for(SUMMARY, lambda d: d["accounting"]["received"] > 0)  # it owns partitions now
    second.kill(signal.SIGTERM)  # leaves cleanly: another rebalance hands everything back

    live = first.wait_for(SUMMARY, lambda d: d["accounting"]["received"] >= total)
    assert live == expected and balanced(live)


@pytest.mark.timeout(600)
def test_the_broker_restarts_under_a_consuming_worker(tmp_path, workers):
    broker = start_broker(tmp_path / "kafka")  # our own broker: this test stops it
    try:
        topic = "events-restart"
        from streams.kafkaio.topics import ensure_topics, event_topics

        ensure_topics(broker.bootstrap, event_topics(topic))
        expected = ingested(broker.bootstrap, topic, tmp_path, projects=6_000, seed=9)
        total = expected["accounting"]["received"]
        worker = workers(broker.bootstrap, topic, "through-restart")
        worker.wait_for(SUMMARY, lambda d: d["accounting"]["received"] >= total // 4)
        broker.down()
        time.sleep(5)
        broker.up()

        live = worker.wait_for(SUMMARY, lambda d: d["accounting"]["received"] >= total, timeout=300)
        assert live == expected and balanced(live)
        worker.kill(signal.SIGTERM)  # while the broker is still there to leave the group cleanly
    finally:
        broker.down()
