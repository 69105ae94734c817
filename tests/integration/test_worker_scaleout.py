"""Two workers on a 6-partition topic: either answers for every partition, whole or not at all, projects from a trip
that the other worker keeps included."""

from __future__ import annotations

import ast
import json
import re
import signal
import time
import uuid

import pytest

from streams import synthetic
from streams.kafkaio.offsets import end_offsets
from streams.kafkaio.topics import ensure_topics, event_topics
from streams.worker.web import key_partition
from tests.integration.test_ingest import funnel
from tests.integration.test_worker import (assert_targets_match, assert_trips_and_issues_match, replayed,
                                          replayed_tables)
from tests.trip_feed import PROJECTS, SPREAD, write_trip_feed
from tests.workers import workers  # noqa: F401  (fixture)

pytestmark = pytest.mark.integration
AS_OF = "2024-12-31"
SUMMARY = f"/summary?as_of={AS_OF}"


def planned_projects(feed) -> list[str]:
    ids = []
    for line in feed.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict) and event.get("event_type") == "project_planned" and \
                isinstance(event.get("project_id"), str) and event["project_id"] not in ids:
            ids.append(event["project_id"])
    return ids


def watch(workers_, seconds: float, total: int, smallest: int) -> int:
    """Poll every worker's summary for a while: any whole answer must count every partition."""
    answered = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for w in workers_:
            doc = w.get(SUMMARY)  # None: 503 while rebalancing or restoring
            if doc is not None:
                answered += 1
                assert doc["accounting"]["received"] > total - smallest, "an answer missed a partition"
        time.sleep(0.3)
    return answered


@pytest.mark.timeout(900)
def test_two_workers_answer_for_every_partition_and_survive_a_sigkill(bootstrap, tmp_path, workers):
    topic = f"six-{uuid.uuid4().hex[:6]}"
    ensure_topics(bootstrap, event_topics(topic, 6))
    feed = tmp_path / "feed.jsonl"
    synthetic.generate_file(feed, projects=3_000, seed=61)
    trips = write_trip_feed(tmp_path / "trips.jsonl")
    funnel("ingest", str(feed), str(trips), "--topic", topic, "--quality", "off", bootstrap=bootstrap)
    expected = replayed(bootstrap, topic, AS_OF)
    tables = replayed_tables(bootstrap, topic, AS_OF, tmp_path / "replay")
    total = expected["accounting"]["received"]
    smallest = min(end_offsets(bootstrap, topic).values())

    first = workers(bootstrap, topic, "first")
    assert first.wait_for(SUMMARY, lambda d: d["accounting"]["received"] >= total) == expected
    second = workers(bootstrap, topic, "second", app_id=first.app_id)  # a rebalance: three partitions each
    assert watch([first, second], 20, total, smallest) > 0
    for w in (first, second):
        assert w.wait_for(SUMMARY, lambda d: d == expected, timeout=120) == expected
        pools = w.get(f"/pools?as_of={AS_OF}")
        assert {p["pool"]: p["count"] for p in pools} == {k: v["count"] for k, v in expected["pools"].items()}
        assert_trips_and_issues_match(w, tables, AS_OF, (*PROJECTS, *SPREAD[:3]))
        assert_targets_match(w, tables, AS_OF)  # TRP-1, signed from TR-A, counts whichever worker keeps either
    # Each keeps a warm standby copy of the other's partitions, never counted as its own.
    firsts = set(first.get(f"/parts/summary?as_of={AS_OF}")["partitions"])
    theirs = set(second.get(f"/parts/summary?as_of={AS_OF}")["partitions"])
    assert not firsts & theirs and firsts | theirs == set(range(6))
    # TR-A is kept by one worker; projects naming it are kept by both (their keys are in every partition)
    named = {key_partition(p, 6) in firsts for p in SPREAD}
    assert named == {True, False} and expected["trips"]["2024"]["projects_planned"] >= 3 + len(SPREAD)

    # A project answers from either worker, whichever owns its partition.
    found = []
    for project_id in planned_projects(feed)[:60]:
        mine = first.get(f"/projects/{project_id}?as_of={AS_OF}")  # None: 404, e.g. its planning was rejected
        assert mine == second.get(f"/projects/{project_id}?as_of={AS_OF}")
        if mine is not None:
            assert mine["project_id"] == project_id
            found.append(project_id)
    assert len(found) >= 50 and len({key_partition(p, 6) for p in found}) == 6

    # More records while both run: the second's copies of the first's partitions follow their changelog.
    more = tmp_path / "more.jsonl"
    synthetic.generate_file(more, projects=300, seed=62)
    funnel("ingest", str(more), "--topic", topic, "--quality", "off", bootstrap=bootstrap)
    expected = replayed(bootstrap, topic, AS_OF)
    for w in (first, second):
        assert w.wait_for(SUMMARY, lambda d: d == expected, timeout=120) == expected
    time.sleep(3)  # the last chunks reach the copies (a follower reads every 0.2 s)

    first.kill(signal.SIGKILL)  # the second takes every partition once the group notices
    watch([second], 15, expected["accounting"]["received"], smallest)
    assert second.wait_for(SUMMARY, lambda d: d == expected, timeout=180) == expected
    text = second.log_path.read_text()
    promoted = {int(n) for n in re.findall(r":(\d+): the warm standby copy promoted", text)}
    assert promoted >= firsts, f"the survivor restored {firsts - promoted} from scratch; see {second.log_path}"
    read = ast.literal_eval(re.findall(r"changelog chunks read: (\{[^}]*\})", text)[-1])
    assert all(read[n] <= 1 for n in firsts), read  # warm: at most the chunk the copy holds, read again
    assert_targets_match(second, replayed_tables(bootstrap, topic, AS_OF, tmp_path / "replay-after"), AS_OF)
