"""A worker restarted on the same machine restores each partition from its local checkpoint and reads only the
changelog after it; a checkpoint it cannot trust is ignored, and that partition is restored from the whole
changelog. Either way the summary equals a clean replay."""

from __future__ import annotations

import ast
import re
import signal
import time

import pytest

from streams import synthetic
from streams.kafkaio.offsets import partition_bounds
from streams.worker import checkpoint
from tests.integration.test_ingest import funnel
from tests.integration.test_worker import replayed
from tests.workers import workers  # noqa: F401  (fixture)

pytestmark = pytest.mark.integration
AS_OF = "2024-12-31"
SUMMARY = f"/summary?as_of={AS_OF}"


def chunks_read(log_text: str) -> dict[int, int]:
    """The changelog chunks each partition's restore read, from the worker's 'store ready' line."""
    found = re.findall(r"changelog chunks read: (\{[^}]*\})", log_text)
    assert found, "no 'store ready' line"
    return ast.literal_eval(found[-1])


@pytest.mark.timeout(600)
def test_a_restarted_worker_restores_its_checkpoints_and_reads_only_the_changelogs_tail(bootstrap, topic, tmp_path,
                                                                                       workers):
    feed = tmp_path / "feed.jsonl"
    synthetic.generate_file(feed, projects=3_000, seed=17)
    lines = feed.read_bytes().splitlines(keepends=True)
    half = len(lines) // 2
    (tmp_path / "first.jsonl").write_bytes(b"".join(lines[:half]))
    (tmp_path / "second.jsonl").write_bytes(b"".join(lines[half:]))
    funnel("ingest", str(tmp_path / "first.jsonl"), "--topic", topic, "--quality", "off", bootstrap=bootstrap)
    fast = {"FUNNEL_CHECKPOINT_INTERVAL": "0.5", "FUNNEL_BATCH_SIZE": "200"}  # many chunks, frequent checkpoints
    worker = workers(bootstrap, topic, "first", env=fast)
    worker.wait_for(SUMMARY, lambda d: d["accounting"]["received"] >= half)
    slot = tmp_path / "worker-state" / worker.app_id / "slot-0"
    changelog = f"{worker.app_id}-checked-log-changelog"
    deadline = time.monotonic() + 60
    while len(list(slot.glob("*.checkpoint"))) < 3 and time.monotonic() < deadline:
        time.sleep(0.5)
    time.sleep(2)  # a checkpoint after the last chunk
    worker.kill(signal.SIGKILL)
    ends = {n: partition_bounds(bootstrap, changelog, n)[1] for n in range(3)}
    assert min(ends.values()) > 3, "too few chunks for the test to tell a tail from the whole"
    damaged = slot / f"{changelog}-0.checkpoint"
    damaged.write_bytes(damaged.read_bytes()[:-7])  # torn: partition 0 must come from the whole changelog
    funnel("ingest", str(tmp_path / "second.jsonl"), "--topic", topic, "--quality", "off", bootstrap=bootstrap)

    # Restarted as it was (machine, slot, port): the same static member, given its partitions back at once,
    # in the generation it left, with no rebalance and no wait for the broker to expire the killed one.
    again = workers(bootstrap, topic, "again", app_id=worker.app_id, env=fast, port=worker.port)
    live = again.wait_for(SUMMARY, lambda d: d["accounting"]["received"] >= len(lines))
    assert live == replayed(bootstrap, topic, AS_OF)
    text = again.log_path.read_text()
    joined = r"Joined group '[^']+' \(generation (\d+)\) with member_id ([\w.-]+\.slot-0)-"
    before, after = re.findall(joined, worker.log_path.read_text()), re.findall(joined, text)
    assert before and after and after[0] == before[-1], (before, after)
    assert "torn or altered body" in text and "partition 0 restored from the whole changelog" in text
    assert len(re.findall(r"checkpoint loaded at changelog offset", text)) == 2
    read = chunks_read(text)
    assert read[0] == ends[0]  # the whole changelog of the damaged one
    assert all(read[n] <= 1 for n in (1, 2)), read  # at most the chunk the checkpoint names again

    again.kill(signal.SIGTERM)  # a clean stop leaves a checkpoint of every partition at the changelog's end
    text = again.log_path.read_text()
    assert re.search(r"stopping: \d+ checkpoints written", text), text[-2000:]
    assert re.search(r"left group \S+ as \S+: \{'\S+': 'NoError'\}", text), text[-2000:]  # not waited out
    ends = {n: partition_bounds(bootstrap, changelog, n)[1] for n in range(3)}
    identity = {n: checkpoint.Identity(worker.app_id, topic, changelog, n) for n in range(3)}
    assert {n: checkpoint.read(slot, identity[n]).offset for n in range(3)} == {n: ends[n] - 1 for n in range(3)}
