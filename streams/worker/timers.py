"""What the worker does on a clock: publish the projects that changed, check quality, send the day's reminders,
write checkpoints, and hand freed memory back."""

from __future__ import annotations

import asyncio
import ctypes
import gc
import itertools
import logging
import time

import faust
import orjson

from streams.core.clock import today_cst
from streams.reminders.worker import MidnightReminders
from streams.worker import checkpoint
from streams.worker.agents import Deliveries, end_offset
from streams.worker.intake import Intake
from streams.worker.settings import WorkerSettings
from streams.worker.store import (Partition, ProjectStore, refreshed_folds, refreshed_partitions,
                                  states_of)
from streams.worker.table import CheckedLogTable

log = logging.getLogger(__name__)


def release_freed_memory() -> None:
    """Hand the heap that folds freed back to the system: glibc keeps it, and the worker's RSS with it."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to do
        pass


#: The collector's thresholds in the worker (Python's: 700, 10, 10). Each batch's objects live long enough to reach
#: the oldest generation, so a full collection of the whole heap ran every few batches: 11 % of a catch-up's main
#: thread (py-spy, 250k events), ~200 ms each. Raised, it runs rarely; the store's values are bytes it never scans.
GC_THRESHOLDS = (50_000, 50, 1_000)


def tune_collector() -> None:
    """Collect cyclic garbage rarely in the worker (:data:`GC_THRESHOLDS`)."""
    gc.set_threshold(*GC_THRESHOLDS)


def after_restore() -> None:
    """Once restored: collect the restore's garbage (a full collection, once, not on the clock: it pauses the event
    loop for the whole heap), hand it back, and leave what survives out of every later collection (``gc.freeze``)."""
    gc.collect()
    gc.freeze()
    release_freed_memory()


#: Project states sent before the publish round lets the pages answer (a promoted partition publishes them all).
SENDS_BETWEEN_YIELDS = 2000

#: Publish rounds between two folds of the standby copies' state (nobody reads them until one is promoted).
STANDBY_FOLD_EVERY = 5


def add_state_publishing(app: faust.App, settings: WorkerSettings, store: ProjectStore,
                         standby: ProjectStore | None = None) -> None:
    """Every second, fold the projects that changed into today's state and publish it to the state topic; every
    few seconds, fold the standby copies' too, so that a promoted copy answers without folding."""
    app.pending_states = {}  # project → its latest state document, until the state topic has it
    refreshing = asyncio.Lock()

    async def refresh() -> None:
        """Fold the projects and trips that changed into today's state (in a thread), partition by partition; a new
        day, or a partition restored whole without today's state, folds that partition whole."""
        async with refreshing:
            day = today_cst()
            work = store.fold_work(day)
            if not work and store.today is not None and store.today.day == day:
                return
            generation = store.generation
            kept = {n: part.today for n, part in store.partitions.items() if part.today is not None}
            todays, today, state = await asyncio.get_running_loop().run_in_executor(
                None, refreshed_partitions, day, work, kept)
            if store.generation != generation:
                return  # partitions changed hands meanwhile: fold again from what is held now
            store.folded(work, todays)
            store.today = today
            for doc in state.iter_rows(named=True):
                app.pending_states[doc["project_id"]] = doc
            for n in sorted(store.republish):  # promoted from a standby: its owner may have died before publishing
                store.republish.discard(n)
                for doc in states_of(store.partitions[n].today).iter_rows(named=True):
                    app.pending_states.setdefault(doc["project_id"], doc)

    async def refresh_standbys() -> None:
        """Fold what changed in the standby copies into their partitions' state (in a thread)."""
        async with refreshing:
            day = today_cst()
            work = standby.fold_work(day)
            if not work:
                return
            generation = standby.generation
            folds = await asyncio.get_running_loop().run_in_executor(None, refreshed_folds, day, work)
            if standby.generation == generation:
                standby.folded(work, [today for today, _ in folds])

    app.refresh = refresh
    ticks = itertools.count(1)

    @app.timer(interval=settings.publish_interval_s)
    async def publish_states():
        """Fold the projects that changed and publish their state to the compacted state topic."""
        await app.fold_pacing.fold(refresh)  # every tick once caught up; paced while the intake is behind
        tick = next(ticks)
        # The copies fold once this worker has caught up (not to slow its intake): every few rounds, or at once
        # when a copy has no state of today (new, or a new day), so that it is warm before it is needed.
        if standby is not None and not app.fold_pacing.is_behind() and (
                not tick % STANDBY_FOLD_EVERY or not standby.folded_whole(today_cst())):
            await refresh_standbys()
        if not tick % 10:
            release_freed_memory()
        pending = dict(app.pending_states)
        if not pending:
            return
        try:
            # Straight to the producer: Faust's channel layer costs more than the send itself here.
            sent = []
            for n, (pid, doc) in enumerate(pending.items(), 1):
                sent.append(await app.producer.send(settings.state_topic, pid.encode(), orjson.dumps(doc), None, None,
                                                    None))
                if not n % SENDS_BETWEEN_YIELDS:
                    await asyncio.sleep(0)  # a send rarely yields: tens of thousands would hold every page waiting
            await asyncio.gather(*sent)
        except Exception:
            log.exception("publishing %d project states to %s failed; retrying in %.0f s", len(pending),
                          settings.state_topic, settings.publish_interval_s)
            return
        for pid, doc in pending.items():
            if app.pending_states.get(pid) is doc:
                del app.pending_states[pid]  # only what was sent: a newer state waits for the next round


def add_quality_checks(app: faust.App, settings: WorkerSettings, store: ProjectStore) -> None:
    """Every minute, the aggregate suites on this worker's aggregates (for ``/quality``)."""
    app.quality = {"success": None, "checked_at": None, "failures": []}

    @app.timer(interval=settings.quality_interval_s)
    async def check_quality():
        """Run the aggregate suites on this worker's aggregates (in a thread: GX is slow to import and run)."""
        if not store.partitions:
            return
        from streams.worker.web import check_store_quality

        app.quality = await check_store_quality(store)


def add_reminders(app: faust.App, settings: WorkerSettings, store: ProjectStore, intake: Intake) -> None:
    """After each CST midnight, once caught up, the reminders (§10) of the day just ended of this worker's
    partitions, to the reminders topic (:class:`MidnightReminders`)."""
    reminders = MidnightReminders(settings.bootstrap, settings.reminder_topic)

    def caught_up() -> bool:
        """Whether this worker has taken every partition of the event topic it was given up to its end."""
        for n in store.assigned:
            taken, end = intake.next_offset.get((settings.topic, n)), end_offset(app, settings.topic, n)
            if taken is None or end is None or taken < end:
                return False
        return True

    @app.timer(interval=settings.reminder_check_s)
    async def remind_after_midnight():
        if not store.ready or app.rebalancing or not caught_up():
            return
        try:
            await reminders.tick(app.producer, store.snapshot)
        except Exception:  # e.g. the broker unreachable: the day stays due, the next tick tries again
            log.exception("the reminders of %s failed; retrying in %.0f s", reminders.due(),
                          settings.reminder_check_s)


class Checkpoints:
    """Writes each held partition's checkpoint (:mod:`streams.worker.checkpoint`) when it has changed."""

    #: Seconds a checkpoint waits for the partition's changelog writes to be confirmed before it is put off.
    CONFIRM_S = 2.0

    def __init__(self, settings: WorkerSettings, table: CheckedLogTable, intake: Intake, deliveries: Deliveries,
                 unpublished: dict[str, dict]):
        self.settings, self.table, self.intake, self.deliveries = settings, table, intake, deliveries
        self.unpublished = unpublished  # project → its state folded but not yet in the state topic
        # partition → what its last checkpoint held: changelog offset, today's state, how many it had not folded
        self.written: dict[int, tuple[int, object, int]] = {}
        # One round at a time: the clock's and the last one on stop once wrote the same temporary file together.
        self.writing = asyncio.Lock()

    async def write_changed(self) -> int:
        """Checkpoint every held partition (owned or standby) whose changelog offset or folded state moved since its
        last checkpoint; how many were written. (A catch-up's last checkpoint holds a state folded long before the
        end: rewritten once it is folded, a restart folds nothing again.)"""
        async with self.writing:
            return await self._write_changed()

    async def _write_changed(self) -> int:
        written = 0
        for store in (self.table.store, self.table.standby):
            for n in sorted(store.partitions):
                copy = await self._consistent_copy(store, n)
                if copy is None:
                    continue
                held = (copy.changelog_offset, copy.today, len(copy.unfolded) + len(copy.unfolded_trips))
                last = self.written.get(n)
                if last is not None and last[0] == held[0] and last[1] is held[1] and last[2] == held[2]:
                    continue
                started = time.perf_counter()
                await asyncio.get_running_loop().run_in_executor(
                    None, checkpoint.write, self.table.state_dir, self.table.identity_of(n), copy)
                self.written[n] = held
                written += 1
                log.debug("%s:%d: checkpoint at changelog offset %d written in %.2f s", self.table.changelog_topic_name,
                          n, copy.changelog_offset, time.perf_counter() - started)
        return written

    async def _consistent_copy(self, store: ProjectStore, n: int) -> Partition | None:
        """The partition as of a changelog offset that covers exactly what it holds: taken while no batch is being
        taken and every changelog write of it is confirmed (None when they are not, within :attr:`CONFIRM_S`)."""
        topics = (self.settings.topic, self.settings.dead_letter_topic)
        async with self.intake.lock(topics[0]), self.intake.lock(topics[1]):
            if not await self.deliveries.confirmed(n, self.CONFIRM_S):
                return None
            part = store.partitions.get(n)
            if part is None or part.changelog_offset < 0:
                return None
            # Values are immutable bytes and lists replaced whole (today's state too): shallow copies are the
            # partition as of now. What its state lacks, or the state topic, is folded again after a restore.
            unfolded = {p for p, m in store.dirty.items() if m == n}
            if store is self.table.store:
                unfolded |= {p for p in self.unpublished if p in part.projects}
            return Partition(dict(part.projects), dict(part.trips), list(part.rejections), part.rejected.copy(),
                             part.last_seq, part.last_dead_letter, part.changelog_offset, part.changelog_key,
                             part.today, unfolded, {t for t, m in store.dirty_trips.items() if m == n})


def add_checkpoints(app: faust.App, settings: WorkerSettings, store: ProjectStore, checkpoints: Checkpoints) -> None:
    """Checkpoints on a clock, once recovered, and a last one when the worker stops."""

    @app.timer(interval=settings.checkpoint_interval_s)
    async def write_checkpoints():
        if not store.ready or app.rebalancing:
            return
        try:
            await checkpoints.write_changed()
        except Exception:  # e.g. the disk full: the last good checkpoint stays; the changelog covers the rest
            log.exception("writing checkpoints to %s failed; retrying in %.0f s", settings.state_dir,
                          settings.checkpoint_interval_s)

    @app.on_before_shutdown.connect
    async def last_checkpoints(app, **kwargs):
        """Stopped cleanly: a checkpoint of every partition, so the next start reads no changelog."""
        if not store.ready:
            return
        try:
            written = await asyncio.wait_for(checkpoints.write_changed(), timeout=10)
            log.info("stopping: %d checkpoints written to %s", written, settings.state_dir)
        except Exception:
            log.exception("stopping: the last checkpoints could not be written to %s", settings.state_dir)
