"""The live Faust worker through the real broker: its /summary equals a replay, and it survives kill -9."""

from __future__ import annotations

import json
import signal
import subprocess

import pytest

from streams import synthetic
from tests.integration.test_ingest import funnel
from tests.workers import Worker, workers  # noqa: F401  (fixture)

pytestmark = pytest.mark.integration


def replayed(bootstrap, topic, as_of, known_at=None) -> dict:
    """A replay's summary; the topic position it adds (where it read up to) is no figure the worker has."""
    known = ("--known-at", known_at) if known_at else ()
    doc = json.loads(funnel("replay", "--topic", topic, "--as-of", as_of, *known, "--json",
                            bootstrap=bootstrap).stdout)
    assert doc.pop("topic")["name"] == topic
    return doc


def test_live_summary_equals_replay(bootstrap, topic, tmp_path, workers):
    feed = tmp_path / "seed.jsonl"
    synthetic.generate_file(feed, projects=600, seed=2023)
    worker = workers(bootstrap, topic)
    funnel("ingest", str(feed), "--topic", topic, bootstrap=bootstrap)
    # A foreign producer's bad record reaches the topic directly: the worker dead-letters it.
    subprocess.run(["kcat", "-P", "-b", bootstrap, "-t", topic, "-k", "X-1"], input=b'{"schema_version": 9}',
                   check=True, timeout=60)
    for as_of in ("2023-12-31", "2024-12-31"):
        expected = replayed(bootstrap, topic, as_of)
        live = worker.wait_for(f"/summary?as_of={as_of}",
                               lambda doc: doc["accounting"]["received"] == expected["accounting"]["received"])
        assert live == expected
    assert expected["accounting"]["rejected"]["unsupported_version"] >= 1
    # The bitemporal view: only what had been recorded by mid-2023, as a replay sees it.
    known = replayed(bootstrap, topic, "2023-12-31", known_at="2023-06-30")
    assert known["accounting"]["received"] < expected["accounting"]["received"]
    assert 0 < known["projects"]["total"] < replayed(bootstrap, topic, "2023-12-31")["projects"]["total"]
    assert worker.get("/summary?as_of=2023-12-31&known_at=2023-06-30") == known

    year_end = replayed(bootstrap, topic, "2023-12-31")
    pools = worker.get("/pools?as_of=2023-12-31")
    assert {p["pool"]: p["count"] for p in pools} == {k: v["count"] for k, v in year_end["pools"].items()}
    grain = worker.get("/projects/EQ-N-014?as_of=2023-12-31")
    assert grain["pool"] == "landed" and grain["investment_yuan"] == 41 * 10**8
    assert worker.get("/projects/NO-SUCH") is None  # 404
    # Today's answers come from the maintained state; a view with a knowledge time is folded afresh:
    # with every record known, both must agree.
    folded = worker.get("/summary?known_at=2099-12-31")
    figures = ("projects", "pools", "flows")
    maintained = worker.wait_for("/summary", lambda d: {k: d[k] for k in figures} == {k: folded[k] for k in figures},
                                 timeout=30)  # folded every second: at most one fold behind
    assert maintained["as_of"] == folded["as_of"]
    assert worker.get("/projects/EQ-N-014") == worker.get("/projects/EQ-N-014?known_at=2099-12-31") is not None

    states = subprocess.run(["kcat", "-C", "-b", bootstrap, "-t", f"{topic}.state", "-e", "-q", "-f", "%k\t%s\n"],
                            capture_output=True, text=True, check=True, timeout=60).stdout
    latest = {k: json.loads(v) for k, v in (line.split("\t", 1) for line in states.splitlines())}
    assert latest["EQ-N-014"]["reached_at_started"].startswith("2023-10-26")
    assert latest["EQ-N-014"]["investment_yuan"] == 41 * 10**8

    dead = subprocess.run(["kcat", "-C", "-b", bootstrap, "-t", f"{topic}.dlq", "-e", "-q", "-f", "%h\n"],
                          capture_output=True, text=True, check=True, timeout=60).stdout
    assert "rejected_by=worker" in dead and "reason=unsupported_version" in dead


def test_killed_mid_stream_the_worker_recovers_with_nothing_lost_or_counted_twice(bootstrap, topic, tmp_path,
                                                                                workers):
    feed = tmp_path / "big.jsonl"
    synthetic.generate_file(feed, projects=6_000, seed=99)
    # Small batches: more commits to be killed between, and a worker slow enough to be caught mid-stream.
    worker = workers(bootstrap, topic, "first", env={"FUNNEL_BATCH_SIZE": "50"})
    funnel("ingest", str(feed), "--topic", topic, bootstrap=bootstrap)
    expected = replayed(bootstrap, topic, "2024-12-31")
    total = expected["accounting"]["received"]
    # Today's summary is kept up to date, so polling it is cheap even while the worker is busy.
    partial = worker.wait_for("/summary", lambda d: d["accounting"]["received"] > total // 10)
    worker.kill(signal.SIGKILL)
    assert partial["accounting"]["received"] < total, "killed too late to test recovery"

    again = workers(bootstrap, topic, "second", app_id=worker.app_id)  # same group, same changelogs
    live = again.wait_for("/summary?as_of=2024-12-31", lambda d: d["accounting"]["received"] >= total)
    assert live == expected


def test_the_worker_checks_its_aggregates(bootstrap, topic, tmp_path, workers, monkeypatch):
    monkeypatch.setenv("FUNNEL_QUALITY_INTERVAL", "3")
    feed = tmp_path / "seed.jsonl"
    synthetic.generate_file(feed, projects=200, seed=5)
    worker = workers(bootstrap, topic)
    funnel("ingest", str(feed), "--topic", topic, "--quality", "off", bootstrap=bootstrap)
    quality = worker.wait_for("/quality", lambda q: q["success"] is not None, timeout=180)
    assert quality["success"] is True and quality["failures"] == [] and quality["checked_at"]


def test_records_the_group_committed_but_the_changelog_lacks_are_read_again(bootstrap, topic, tmp_path, workers):
    """If a commit ever ran ahead of the changelog, the topics (the source of truth) fill the gap."""
    from kafka import KafkaConsumer, TopicPartition
    from kafka.structs import OffsetAndMetadata

    from streams.kafkaio.offsets import end_offsets

    feed = tmp_path / "seed.jsonl"
    synthetic.generate_file(feed, projects=400, seed=17)
    funnel("ingest", str(feed), "--topic", topic, bootstrap=bootstrap)
    expected = replayed(bootstrap, topic, "2024-12-31")
    group = f"ahead-{topic}"
    committer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    try:  # the group "has consumed" everything, and its changelog holds nothing
        for name in (topic, f"{topic}.dlq"):
            committer.commit({TopicPartition(name, p): OffsetAndMetadata(end, "", -1)
                              for p, end in end_offsets(bootstrap, name).items()})
    finally:
        committer.close()
    worker = workers(bootstrap, topic, "ahead", app_id=group)
    assert worker.wait_for("/summary?as_of=2024-12-31", lambda d: d == expected, timeout=120) == expected
    assert "read again from the topic" in worker.log_path.read_text()
