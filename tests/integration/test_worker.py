"""The live Faust worker through the real broker: its /summary equals a replay (trips and bottlenecks included), its
/trips and projects' issues equal the replay's tables, and it survives kill -9."""

from __future__ import annotations

import json
import signal
import subprocess

import polars as pl
import pytest

from streams import synthetic
from streams.worker.web import rows_of
from tests.integration.test_ingest import funnel
from tests.trip_feed import write_trip_feed
from tests.workers import Worker, workers  # noqa: F401  (fixture)

pytestmark = pytest.mark.integration


def replayed(bootstrap, topic, as_of, known_at=None) -> dict:
    """A replay's summary; the topic position it adds (where it read up to) is no figure the worker has."""
    known = ("--known-at", known_at) if known_at else ()
    doc = json.loads(funnel("replay", "--topic", topic, "--as-of", as_of, *known, "--json",
                            bootstrap=bootstrap).stdout)
    assert doc.pop("topic")["name"] == topic
    return doc


def replayed_tables(bootstrap, topic, as_of, out) -> dict[str, pl.DataFrame]:
    """A replay's trips, issues and targets tables (Parquet, read back)."""
    funnel("replay", "--topic", topic, "--as-of", as_of, "--out", str(out), "--no-check", bootstrap=bootstrap)
    return {name: pl.read_parquet(out / f"{name}.parquet") for name in ("trips", "issues", "targets")}


def issues_of(issues: pl.DataFrame, project_id: str) -> list[dict]:
    """A project's issues as its page shows them: the replay's issues table's rows of it."""
    return rows_of(issues.filter(pl.col("project_id") == project_id).drop("project_id"))


def assert_trips_and_issues_match(worker, tables: dict[str, pl.DataFrame], as_of: str, projects) -> None:
    """/trips is the replay's trips table; each project's page shows the replay's issues of it."""
    assert worker.get(f"/trips?as_of={as_of}") == rows_of(tables["trips"].sort("trip_id"))
    for project_id in projects:
        page = worker.get(f"/projects/{project_id}?as_of={as_of}")  # None (404): not planned yet as of the view
        assert (page["issues"] if page is not None else []) == issues_of(tables["issues"], project_id)


def assert_targets_match(worker, tables: dict[str, pl.DataFrame], as_of: str) -> list[dict]:
    """/targets is the replay's targets table: every metric of every year, the money targets included."""
    live = worker.get(f"/targets?as_of={as_of}")
    assert live == rows_of(tables["targets"]) and len(live) == tables["targets"].height > 0
    return live


def test_live_summary_equals_replay(bootstrap, topic, tmp_path, workers):
    feed = tmp_path / "seed.jsonl"
    synthetic.generate_file(feed, projects=600, seed=2023)
    trips = write_trip_feed(tmp_path / "trips.jsonl")  # trips in 3 partitions; projects naming trips of others
    worker = workers(bootstrap, topic)
    funnel("ingest", str(feed), str(trips), "--topic", topic, bootstrap=bootstrap)
    # A foreign producer's bad record reaches the topic directly: the worker dead-letters it.
    subprocess.run(["kcat", "-P", "-b", bootstrap, "-t", topic, "-k", "X-1"], input=b'{"schema_version": 9}',
                   check=True, timeout=60)
    for as_of in ("2023-12-31", "2024-12-31"):
        expected = replayed(bootstrap, topic, as_of)
        live = worker.wait_for(f"/summary?as_of={as_of}",
                               lambda doc: doc["accounting"]["received"] == expected["accounting"]["received"])
        assert live == expected
        tables = replayed_tables(bootstrap, topic, as_of, tmp_path / as_of)
        assert_trips_and_issues_match(worker, tables, as_of, ("TRP-1", "TRP-2", "TRP-3", "TRP-6", "TRQ-0"))
        targets = {(r["year"], r["metric"]): r["actual"] for r in assert_targets_match(worker, tables, as_of)}
    assert targets[(2024, "team_signed_yuan")] >= 600_000_000 and targets[(2024, "signed_yuan")] > 0
    assert expected["accounting"]["rejected"]["unsupported_version"] >= 1
    assert expected["trips"]["2024"]["projects_planned"] >= 3 + 14 and expected["bottlenecks"]["overdue"] >= 1
    page = worker.get("/projects/TRP-1?as_of=2024-12-31")["issues"]
    assert [(i["issue_id"], i["open"], i["category"], i["due"]) for i in page] == [("I-1", True, "approval",
                                                                                   "2024-08-01")]
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
    figures = ("projects", "pools", "flows", "trips", "bottlenecks")
    maintained = worker.wait_for("/summary", lambda d: {k: d[k] for k in figures} == {k: folded[k] for k in figures},
                                 timeout=30)  # folded every second: at most one fold behind
    assert maintained["as_of"] == folded["as_of"]
    assert worker.get("/projects/EQ-N-014") == worker.get("/projects/EQ-N-014?known_at=2099-12-31") is not None
    assert worker.get("/projects/TRP-1") == worker.get("/projects/TRP-1?known_at=2099-12-31") is not None
    assert worker.get("/trips") == worker.get("/trips?known_at=2099-12-31") != []
    assert worker.get("/targets") == worker.get("/targets?known_at=2099-12-31") != []

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
    # trips and issues too: the second worker restores trip records from the changelog like projects'
    funnel("ingest", str(feed), str(write_trip_feed(tmp_path / "trips.jsonl")), "--topic", topic, bootstrap=bootstrap)
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
    funnel("ingest", str(feed), str(write_trip_feed(tmp_path / "trips.jsonl")), "--topic", topic, bootstrap=bootstrap)
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
    assert expected["trips"] and expected["bottlenecks"]["open"]
