"""The Faust table whose changelog backs the store: restored from local checkpoints and the changelog's tail, with
warm standby copies of other workers' partitions.

Its own key/value data stays empty: the :class:`ProjectStore` is the state, the changelog its backup. Faust
reads a changelog partition from the offset :meth:`CheckedLogTable.persisted_offset` gives, so a partition
already held — loaded from a checkpoint on disk, or kept warm as a standby — is brought up to date from
its tail only (Kafka Streams' checkpointed stores and standby replicas). Standby copies live in a
store of their own, never counted as owned; a rebalance that gives this worker a partition it kept
warm promotes the copy, and one that takes a partition away keeps it warm if it becomes a standby here.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

import faust

from streams.kafkaio.consumer import read_ranges
from streams.kafkaio.offsets import bounds_of
from streams.worker import checkpoint, compact
from streams.worker.standby import StandbyFollower
from streams.worker.store import Partition, ProjectStore

log = logging.getLogger(__name__)


class CheckedLogTable(faust.Table):
    """A table whose changelog carries chunks of checked records; restoring it fills the store (or the standbys)."""

    store: ProjectStore  # the partitions this worker owns
    standby: ProjectStore  # warm copies of partitions other workers own (never answered from)
    standby_parts: set[int]
    state_dir: Path | None  # where checkpoints are kept (None: none)
    identity_of: Callable[[int], checkpoint.Identity]
    bootstrap: str
    restore_missing: Callable[[set[int]], Awaitable[None]]
    on_ready: Callable[[], None]

    def attach(self, store: ProjectStore, bootstrap: str, state_dir: Path | None, topic: str, app_id: str) -> None:
        """Give the table its store, and where it keeps checkpoints."""
        self.store, self.standby, self.standby_parts = store, ProjectStore(), set()
        self.chunks_read: dict[int, int] = {}  # partition → changelog chunks applied since the last rebalance
        self.bootstrap, self.state_dir = bootstrap, state_dir
        self.identity_of = lambda n: checkpoint.Identity(app_id, topic, self.changelog_topic_name, n)
        self.follower = StandbyFollower(bootstrap, self._follow_standby)

    def holder(self, partition: int) -> ProjectStore:
        return self.standby if partition in self.standby_parts else self.store

    def apply_changelog_batch(self, batch) -> None:
        for event in batch:
            msg = event.message
            if msg.partition in self.standby_parts:
                # The follower alone keeps the copies (streams.worker.standby): Faust applies some of what it
                # reads of them and drops the rest (faust-streaming#212), and a chunk applied after a later one
                # is skipped whole (the store takes each position once, in order): a failover lost 10,000
                # records that way at 1M events.
                continue
            self.apply_chunk(self.store, msg.partition, msg.offset, msg.key, msg.value)

    def apply_chunk(self, target: ProjectStore, partition: int, offset: int, key: bytes | None, value: bytes) -> None:
        """One changelog chunk into a store (the owned partitions' or the standby copies')."""
        try:
            target.apply(partition, compact.decode(value))
        except Exception:  # Faust would log a warning and go on: say exactly what the store is missing
            log.exception("changelog record %s:%d:%d could not be restored into the store", self.changelog_topic_name,
                          partition, offset)
            raise
        note_changelog(target.partitions[partition], offset, key)
        self.chunks_read[partition] = self.chunks_read.get(partition, 0) + 1

    def _follow_standby(self, partition: int, offset: int, key: bytes | None, value: bytes) -> None:
        if partition in self.standby_parts:  # (a copy promoted meanwhile is the store's: its owner reads it)
            self.apply_chunk(self.standby, partition, offset, key, value)

    def persisted_offset(self, tp) -> int | None:
        """The changelog offset a partition held here already covers: Faust reads only what follows."""
        part = self.store.partitions.get(tp.partition) or self.standby.partitions.get(tp.partition)
        return part.changelog_offset if part is not None and part.changelog_offset >= 0 else None

    async def on_rebalance(self, assigned, revoked, newly_assigned, generation_id: int = 0) -> None:
        """Before Faust reads the changelogs: promote warm copies, keep copies warm, load checkpoints."""
        await self.follower.stop()  # nothing applied to a copy while copies change hands
        await super().on_rebalance(assigned, revoked, newly_assigned, generation_id)
        name = self.changelog_topic_name
        actives = {tp.partition for tp in self.app.assignor.assigned_actives() if tp.topic == name}
        standbys = {tp.partition for tp in self.app.assignor.assigned_standbys() if tp.topic == name} - actives
        log.info("%s: rebalanced: active %s, standby %s; warm copies held (changelog offset): %s", name,
                 sorted(actives), sorted(standbys),
                 {n: part.changelog_offset for n, part in sorted(self.standby.partitions.items())})
        for n in actives & set(self.standby.partitions):
            self.store.adopt(n, self.standby.release(n), republish=True)
            log.info("%s:%d: the warm standby copy promoted (today's state %s): only the changelog's tail is read",
                     name, n, "folded" if self.store.partitions[n].today else "to fold")
        for n in standbys & set(self.store.partitions):
            self.standby.adopt(n, self.store.release(n))
            log.info("%s:%d: given to another worker; kept warm here as a standby", name, n)
        self.standby.keep_only(standbys)
        self.standby_parts = standbys
        self.chunks_read = {}
        missing = sorted((actives | standbys) - set(self.store.partitions) - set(self.standby.partitions))
        for n, loaded in (await self.load_checkpoints(missing)).items():
            self.holder(n).adopt(n, loaded)

    async def load_checkpoints(self, partitions: list[int]) -> dict[int, Partition]:
        """The partitions' checkpoints from disk that fit the changelog as the broker has it (the others ignored,
        each with its reason), checked in one round for all of them."""
        if self.state_dir is None or not partitions:
            return {}
        loop = asyncio.get_running_loop()
        read = await asyncio.gather(*(loop.run_in_executor(None, checkpoint.read, self.state_dir, self.identity_of(n))
                                      for n in partitions))
        found = {n: cp for n, cp in zip(partitions, read) if cp is not None}
        if not found:
            return {}
        try:
            misfits = await loop.run_in_executor(None, self._misfits, found)
        except Exception as exc:  # the broker unreachable: the whole changelog will be read instead
            misfits = {n: f"the changelog could not be checked ({type(exc).__name__}: {exc})" for n in found}
        loaded = {}
        for n, cp in found.items():
            if misfits[n]:
                log.warning("%s: checkpoint ignored: %s; partition %d restored from the whole changelog",
                            checkpoint.path_of(self.state_dir, self.identity_of(n)), misfits[n], n)
                continue
            log.info("%s:%d: checkpoint loaded at changelog offset %d (today's state %s): only the changelog after it "
                     "is read", self.changelog_topic_name, n, cp.offset,
                     cp.partition.today.day if cp.partition.today else "to fold")
            loaded[n] = cp.partition
        return loaded

    def _misfits(self, found: dict[int, checkpoint.Checkpoint]) -> dict[int, str | None]:
        """Why each checkpoint does not fit the changelog (:func:`checkpoint.fits_changelog`; None: it fits)."""
        name = self.changelog_topic_name
        bounds = bounds_of(self.bootstrap, name, found)
        records = read_ranges(self.bootstrap, {(name, n): (cp.offset, cp.offset + 1) for n, cp in found.items()
                                               if bounds[n][0] <= cp.offset < bounds[n][1]}, timeout_s=10.0)
        why = {}
        for n, cp in found.items():
            held = records.get((name, n)) or []
            key = held[0].key if held and held[0].offset == cp.offset else None
            why[n] = checkpoint.fits_changelog(cp, *bounds[n], key)
        return why

    async def on_recovery_completed(self, active_tps, standby_tps) -> None:
        owned = {tp.partition for tp in active_tps}
        self.store.keep_only(owned)
        await self.restore_missing(owned)
        self.store.assigned = owned
        self.store.ready = True
        log.info("store ready: partitions %s of %s restored (changelog chunks read: %s); standby copies of %s",
                 sorted(owned), self.changelog_topic_name,
                 {n: self.chunks_read.get(n, 0) for n in sorted(owned)}, sorted(self.standby.partitions))
        self.on_ready()
        self.follower.start(self.changelog_topic_name, {
            n: (self.standby.partitions[n].changelog_offset + 1 if n in self.standby.partitions else 0)
            for n in sorted(self.standby_parts)})
        await super().on_recovery_completed(active_tps, standby_tps)


def note_changelog(part: Partition, offset: int, key: bytes | None) -> None:
    """A partition's store now holds the changelog chunk at ``offset``."""
    if offset > part.changelog_offset:
        part.changelog_offset, part.changelog_key = offset, key
