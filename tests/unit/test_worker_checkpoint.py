"""Checkpoints of a partition's store: written atomically, read back equal, and every file that cannot be trusted
(torn, altered, of another format, app, topic, changelog or partition, an unfinished write) ignored with a reason."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from collections import Counter

import pytest

from streams.worker import checkpoint, compact
from streams.worker.checkpoint import Identity, fits_changelog
from streams.worker.store import Partition

ID = Identity("funnel-worker", "project-events", "funnel-worker-checked-log-changelog", 2)


def partition() -> Partition:
    return Partition(projects={"P1": compact.encode([[5, 1, b"x" * 16, 0, 2, None, "c", None]]), "P2": b"\x90"},
                     trips={"T1": compact.encode([[7, 1, "t", 9, 3, None, "d", None]])},
                     rejections=[[6, "malformed", "bad json", None, None]], rejected=Counter({"malformed": 1}),
                     last_seq=7, last_dead_letter=(1 << 62) | 3, changelog_offset=41, changelog_key=b"2:5")


def test_a_checkpoint_reads_back_equal(tmp_path):
    checkpoint.write(tmp_path, ID, partition())
    found = checkpoint.read(tmp_path, ID)
    assert found.offset == 41 and found.key == b"2:5"
    assert found.partition == partition()


def test_a_rewrite_replaces_the_checkpoint_whole(tmp_path):
    checkpoint.write(tmp_path, ID, partition())
    later = partition()
    later.projects["P3"], later.changelog_offset, later.changelog_key = b"\x90", 57, b"2:9"
    checkpoint.write(tmp_path, ID, later)
    assert checkpoint.read(tmp_path, ID).partition == later
    assert [p.name for p in tmp_path.iterdir()] == [checkpoint.path_of(tmp_path, ID).name]


@pytest.mark.parametrize("damage, reason", [
    (lambda b: b[:-10], "torn or altered body"),
    (lambda b: b[:-1] + bytes([b[-1] ^ 1]), "CRC mismatch"),
    (lambda b: b"garbage" + b, "no magic"),
    (lambda b: b[:30], "torn header"),
    (lambda b: b.replace(f'"format": {checkpoint.FORMAT}'.encode(), b'"format": 9'), "format 9"),
])
def test_a_damaged_checkpoint_is_ignored_with_its_reason(tmp_path, caplog, damage, reason):
    path = checkpoint.write(tmp_path, ID, partition())
    path.write_bytes(damage(path.read_bytes()))
    with caplog.at_level(logging.WARNING):
        assert checkpoint.read(tmp_path, ID) is None
    assert reason in caplog.text and "restored from the whole changelog" in caplog.text


@pytest.mark.parametrize("other", [Identity("another-app", ID.topic, ID.changelog, 2),
                                   Identity(ID.app_id, "other-events", ID.changelog, 2),
                                   Identity(ID.app_id, ID.topic, "other-changelog", 2)])
def test_a_checkpoint_of_another_app_topic_or_changelog_is_ignored(tmp_path, caplog, other):
    path = checkpoint.write(tmp_path, other, partition())
    path.rename(checkpoint.path_of(tmp_path, ID))  # in the place of ours
    assert checkpoint.read(tmp_path, ID) is None
    assert "checkpoint ignored" in caplog.text


def test_no_checkpoint_is_none(tmp_path):
    assert checkpoint.read(tmp_path, ID) is None


def test_a_write_killed_before_its_rename_leaves_the_old_checkpoint(tmp_path):
    """SIGKILL between the temporary file and the rename: the old checkpoint stays, the leftover is removed."""
    checkpoint.write(tmp_path, ID, partition())
    script = f"""
import os, signal
from streams.worker import checkpoint
from tests.unit.test_worker_checkpoint import ID, partition
os.replace = lambda *a: os.kill(os.getpid(), signal.SIGKILL)
later = partition(); later.changelog_offset = 99
checkpoint.write({str(tmp_path)!r}, ID, later)
"""
    done = subprocess.run([sys.executable, "-c", script], cwd=os.getcwd())
    assert done.returncode == -signal.SIGKILL
    assert list(tmp_path.glob("*.tmp"))
    assert checkpoint.read(tmp_path, ID).offset == 41
    assert not list(tmp_path.glob("*.tmp"))


def test_two_workers_of_a_machine_take_different_slots_and_a_dead_ones_slot_is_taken_back(tmp_path):
    mine = checkpoint.claim_slot(tmp_path, "app")
    script = f"from streams.worker import checkpoint; print(checkpoint.claim_slot({str(tmp_path)!r}, 'app').name)"
    other = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.strip()
    assert (mine.name, other) == ("slot-0", "slot-1")  # the other process ended: slot-1 is free again
    again = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.strip()
    assert again == "slot-1"


def cp(offset: int, key: bytes = b"k") -> checkpoint.Checkpoint:
    return checkpoint.Checkpoint(Partition(changelog_offset=offset, changelog_key=key), offset, key)


def test_a_checkpoint_fits_a_changelog_that_holds_its_offset_and_chunk():
    assert fits_changelog(cp(10), earliest=0, end=20, key_at_offset=b"k") is None
    assert fits_changelog(cp(19), earliest=0, end=20, key_at_offset=b"k") is None  # nothing to read after it


@pytest.mark.parametrize("checked, earliest, end, key, reason", [
    (cp(20), 0, 20, None, "past the changelog's end"),
    (cp(5), 9, 20, None, "no longer holds offsets 5 to 8"),
    (cp(10), 11, 20, None, "no longer holds offsets 10 to 10"),
    (cp(10), 0, 20, b"other", "another topic"),
    (cp(-1, b""), 0, 20, None, "covers no changelog record"),
])
def test_a_checkpoint_that_does_not_fit_the_changelog_says_why(checked, earliest, end, key, reason):
    assert reason in fits_changelog(checked, earliest, end, key)


def test_a_partition_is_checkpointed_again_once_its_state_is_folded_not_only_when_its_changelog_moves(tmp_path):
    """A catch-up's last chunk comes before its last fold: the checkpoint that follows the fold holds the state."""
    import asyncio
    from types import SimpleNamespace

    from streams.worker.agents import Deliveries
    from streams.worker.settings import WorkerSettings
    from datetime import date

    from streams.worker.store import ProjectStore, refreshed
    from streams.worker.timers import Checkpoints

    store = ProjectStore()
    store.adopt(2, partition())
    store.dirty = {"P1": 2}
    table = SimpleNamespace(store=store, standby=ProjectStore(), state_dir=tmp_path, identity_of=lambda n: ID,
                            changelog_topic_name=ID.changelog)
    intake = SimpleNamespace(locks={}, lock=lambda topic: intake.locks.setdefault(topic, asyncio.Lock()))
    checkpoints = Checkpoints(WorkerSettings(bootstrap="unused:9092"), table, intake, Deliveries(), {"P2": {}})

    async def rounds() -> list[int]:
        written = [await checkpoints.write_changed(), await checkpoints.write_changed()]
        store.partitions[2].today = refreshed(None, date(2025, 1, 10), [], True, [])[0]  # folded: nothing left
        store.dirty = {}
        checkpoints.unpublished.clear()
        return [*written, await checkpoints.write_changed(), await checkpoints.write_changed()]

    assert asyncio.run(rounds()) == [1, 0, 1, 0]
    kept = checkpoint.read(tmp_path, ID).partition
    assert kept.unfolded == set() and kept.today.day == date(2025, 1, 10)


def test_two_checkpoint_rounds_at_once_write_one_after_the_other(tmp_path):
    """The clock's round and the last one on stop: the same temporary file, never written by both at once."""
    import asyncio
    from types import SimpleNamespace

    from streams.worker.agents import Deliveries
    from streams.worker.settings import WorkerSettings
    from streams.worker.store import ProjectStore
    from streams.worker.timers import Checkpoints

    store = ProjectStore()
    store.adopt(2, partition())
    table = SimpleNamespace(store=store, standby=ProjectStore(), state_dir=tmp_path, identity_of=lambda n: ID,
                            changelog_topic_name=ID.changelog)
    intake = SimpleNamespace(locks={}, lock=lambda topic: intake.locks.setdefault(topic, asyncio.Lock()))
    checkpoints = Checkpoints(WorkerSettings(bootstrap="unused:9092"), table, intake, Deliveries(), {})

    async def both() -> list[int]:
        return list(await asyncio.gather(checkpoints.write_changed(), checkpoints.write_changed()))

    assert sorted(asyncio.run(both())) == [0, 1]  # the second finds the first's checkpoint current
    assert checkpoint.read(tmp_path, ID).partition.projects == partition().projects
