"""The worker's consumer commits through the holes a transactional producer leaves (streams/worker/transport.py).

Faust notes a gap whenever a record arrives past the one before it; its own commit rule stalls on the
holes that transaction markers and aborted transactions leave. These tests drive Faust's consumer state
the way its fetch loop does, with the offsets of a partition written in transactions.
"""

from __future__ import annotations

import asyncio
import random
from collections import defaultdict

import pytest
from faust.transport.consumer import Consumer as FaustConsumer
from faust.types import TP
from intervaltree import IntervalTree

from streams.worker import transport
from streams.worker.transport import _CommittedConsumer, committable

TOPIC = "events"


def transactional_offsets(transactions: int = 60, seed: int = 7, first: int | None = None) -> tuple[list[int], int]:
    """The offsets a committed reader gets from a partition written in transactions of 1–8 records (the first
    of ``first`` records, if given), each ended by a marker, with an aborted transaction (records and marker)
    after every fifth; and the partition's end."""
    rng = random.Random(seed)
    offsets, at = [], 0
    for n in range(1, transactions + 1):
        size = first if n == 1 and first is not None else rng.randint(1, 8)
        offsets += range(at, at + size)
        at += size + 1  # the commit marker
        if n % 5 == 0:
            at += rng.randint(1, 6) + 1  # aborted records and their marker
    return offsets, at


class ConsumerState:
    """The state Faust's consumer keeps per partition for commits, driven as its fetch loop drives it."""

    def __init__(self, rules) -> None:
        self._acked = defaultdict(list)
        self._gap = defaultdict(IntervalTree)
        self._committed_offset = defaultdict(lambda: None)
        self._acked_index = defaultdict(set)
        self.rules = rules

    def consume(self, offsets: list[int], commit_chance: float, seed: int) -> int | None:
        rng, tp, read = random.Random(seed), TP(TOPIC, 0), None

        async def loop():
            nonlocal read
            for offset in offsets:
                if offset - (read or 0) > 1 and read:  # as Faust's _drain_messages does (no gap after offset 0)
                    await self.rules._add_gap(self, tp, read + 1, offset)
                read = offset
                self._acked[tp].append(offset)
                self._acked_index[tp].add(offset)
                if rng.random() < commit_chance:
                    self.commit(tp)
            self.commit(tp)
        asyncio.run(loop())
        return self._committed_offset[tp]

    def commit(self, tp) -> None:
        offset = self.rules._new_offset(self, tp)
        if offset is not None and (self._committed_offset[tp] is None or offset > self._committed_offset[tp]):
            self._committed_offset[tp] = offset


def fetcher_saw(monkeypatch, offsets: list[int], end: int) -> None:
    """What the fetcher notes as it reads the partition: every range between records, and after the last."""
    passed = transport.PassedOver()
    monkeypatch.setattr(transport, "PASSED_OVER", passed)
    for before, after in zip([-1] + offsets, offsets + [end]):
        if after > before + 1:
            passed.note(TOPIC, 0, before + 1, after)


@pytest.mark.parametrize("seed", range(8))
def test_the_group_commits_every_offset_of_a_transactional_partition(seed, monkeypatch) -> None:
    offsets, end = transactional_offsets(seed=seed)
    fetcher_saw(monkeypatch, offsets, end)
    assert ConsumerState(_CommittedConsumer).consume(offsets, 0.1, seed) == end


@pytest.mark.parametrize("seed", range(4))
def test_without_the_fetcher_s_word_faust_s_gaps_carry_the_commit_to_the_last_record(seed) -> None:
    offsets, _ = transactional_offsets(seed=seed, first=3)
    assert ConsumerState(_CommittedConsumer).consume(offsets, 0.1, seed) == offsets[-1] + 1


def test_a_lone_first_record_then_a_marker(monkeypatch) -> None:
    """Faust notes no gap after a record at offset 0 (its read offset 0 counts as none): the marker at 1 is
    known from the fetcher alone (the CI run that found it: the group's lag stayed at 870)."""
    offsets, end = transactional_offsets(first=1)
    assert offsets[:2] == [0, 2]
    assert ConsumerState(_CommittedConsumer).consume(offsets, 0.1, 3) == 1  # stalled without the fetcher
    fetcher_saw(monkeypatch, offsets, end)
    assert ConsumerState(_CommittedConsumer).consume(offsets, 0.1, 3) == end


def test_faust_s_own_rule_stalls_there() -> None:
    """Why the worker's consumer has its own rule (faust-streaming 0.15.3): the group stays behind for good."""
    offsets, _ = transactional_offsets(first=3)
    stalled = [ConsumerState(FaustConsumer).consume(offsets, 0.1, seed) for seed in range(8)]
    assert any(c is None or c < offsets[-1] + 1 for c in stalled)


def test_markers_after_the_last_record_are_committed_past(monkeypatch) -> None:
    """With the fetcher's word that the partition's tail holds only markers, the lag can reach 0."""
    offsets, end = transactional_offsets(first=3)
    passed = transport.PassedOver()
    monkeypatch.setattr(transport, "PASSED_OVER", passed)
    passed.note(TOPIC, 0, offsets[-1] + 1, end)
    assert ConsumerState(_CommittedConsumer).consume(offsets, 0.1, 1) == end


def test_committable() -> None:
    assert committable(None, [], []) is None
    assert committable(None, [0, 1, 2], []) == 3
    assert committable(3, [5, 4], [(3, 5)]) == 6  # the gap 3 up to the record at 4, then 4 and 5 acknowledged
    assert committable(3, [6], [(3, 5)]) == 4  # 4 (it ended the gap) is not acknowledged: read from it again
    assert committable(3, [1, 2], []) is None  # acknowledged again after a seek back: nothing new
    assert committable(10, [10, 11, 13], []) == 12  # 12 not acknowledged yet
    assert committable(10, [10, 11, 13], [], [(12, 13)]) == 14  # 12 was a marker
    assert committable(14, [], [], [(14, 16)]) == 16  # markers after the last commit
    assert committable(None, [], [], [(0, 2)]) is None  # nothing acknowledged, nothing committed
