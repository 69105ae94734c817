"""The live worker (faust-streaming): the same contract and fold as ``funnel replay``, kept up to date.

``create_app(settings)`` builds it; nothing connects until it runs. Agents take the event
topic in batches, check each record with the one validator, dead-letter the bad ones,
and hand each partition's checked records to the :class:`ProjectStore` as one chunk,
which is also written, once per partition per batch, to the changelog of the
``checked-log`` table. A restarted worker, or one given a partition in a rebalance,
rebuilds its store from those chunks before it consumes (Faust's table recovery). The
event topic stays the source of truth; the store holds only what the fold needs.

Every second the projects that changed are folded into today's state and published to
the compacted state topic. The web pages are in :mod:`streams.worker.web`.
"""

from __future__ import annotations

import asyncio
import ctypes
import itertools
import logging
import socket

import faust
import orjson
from faust.worker import Worker

from streams.core.clock import today_cst
from streams.kafkaio import security
from streams.kafkaio.consumer import read_range
from streams.kafkaio.offsets import committed_offsets
from streams.kafkaio.records import dead_letter_headers
from streams.worker import compact
from streams.reminders.worker import MidnightReminders
from streams.worker.intake import Intake, Record, from_faust, from_kafka
from streams.worker.settings import WorkerSettings
from streams.worker.store import ProjectStore, refreshed
from streams.worker.transport import PASSED_OVER, CommittedApp

log = logging.getLogger(__name__)
_RAW = {"key_type": bytes, "value_type": bytes, "key_serializer": "raw", "value_serializer": "raw"}


class CheckedLogTable(faust.Table):
    """A table whose changelog carries chunks of checked records; restoring it fills the store.

    Its own key/value data stays empty: the store is the state, the changelog its backup.
    """

    store: ProjectStore

    def apply_changelog_batch(self, batch) -> None:
        for event in batch:
            msg = event.message
            try:
                self.store.apply(msg.partition, compact.decode(msg.value))
            except Exception:  # Faust would log a warning and go on: say exactly what the store is missing
                log.exception("changelog record %s:%d:%d could not be restored into the store", msg.topic,
                              msg.partition, msg.offset)
                raise

    async def on_recovery_completed(self, active_tps, standby_tps) -> None:
        owned = {tp.partition for tp in active_tps}
        self.store.keep_only(owned)
        await self.restore_missing(owned)
        self.store.assigned = owned
        self.store.ready = True
        log.info("store ready: partitions %s of %s restored", sorted(owned), self.changelog_topic_name)
        await super().on_recovery_completed(active_tps, standby_tps)


_OFFSET_MASK = (1 << 40) - 1  # the offset bits of an arrival sequence


def _release_freed_memory() -> None:
    """Hand the heap that folds freed back to the system: glibc keeps it, and the worker's RSS with it."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to do
        pass


def _advertised_host(host: str) -> str:
    """The host name peers use to reach this worker (a wildcard bind is not an address)."""
    return socket.gethostname() if host in ("0.0.0.0", "::", "") else host


def faust_options(settings: WorkerSettings) -> dict:
    """The Faust configuration of the worker (the benchmark's do-nothing agent runs with the same)."""
    host = _advertised_host(settings.web_host)
    return dict(
        broker=[f"kafka://{b}" for b in settings.bootstrap.split(",")],
        broker_credentials=security.from_environment().faust_credentials(),  # TLS / SASL
        store="memory://",
        topic_partitions=settings.partitions,
        table_standby_replicas=0,  # a standby's chunks would enter the store as if owned
        web_enabled=settings.web_enabled,
        # Faust wants a valid port even with the web server off (--web-port 0).
        web_bind=settings.web_host, web_host=host, web_port=settings.web_port or 6066,
        canonical_url=f"http://{host}:{settings.web_port or 6066}",
        consumer_auto_offset_reset="earliest",
        # A worker killed mid-stream leaves the group after this long, so its successor starts soon.
        broker_session_timeout=settings.session_timeout_s,
        broker_heartbeat_interval=2.0,
        producer_max_request_size=16 * 1024 * 1024,
        consumer_max_fetch_size=16 * 1024 * 1024,
    )


def create_app(settings: WorkerSettings) -> faust.App:
    """The Faust app of the live worker, configured from ``settings``."""
    app = CommittedApp(settings.app_id, **faust_options(settings))
    events = app.topic(settings.topic, **_RAW)
    dead_letters = app.topic(settings.dead_letter_topic, **_RAW)
    store = ProjectStore()
    table = app.tables.add(CheckedLogTable(app, name="checked-log", default=None, beacon=app.tables.beacon,
                                           key_type=bytes, value_type=bytes,  # raw: chunks are msgpack
                                           help="Chunks of checked records, one per partition per batch."))
    table.store = store
    app.pending_states = {}  # project → its latest state document, until the state topic has it

    async def write(partition: int, chunk: list) -> asyncio.Future:
        """One changelog record for a partition's share of a batch, then into the store; the delivery."""
        first = chunk[0][2][0]
        # Straight to the producer, not Faust's send_soon buffer: Faust's flush before a commit
        # gives up on that buffer after 0.1 s, and a commit could then run ahead of the chunk.
        delivery = await app.producer.send(table.changelog_topic_name, f"{partition}:{first}".encode(),
                                           compact.encode(chunk), partition, None, None)
        store.apply(partition, chunk)
        return delivery

    async def dead_letter(record: Record, row: dict) -> asyncio.Future:
        origin = f"{settings.topic}:{record.partition}:{record.offset}"
        log.warning("%s dead-lettered to %s: %s (%s)", origin, settings.dead_letter_topic, row["reason"],
                    row["detail"])
        return await app.producer.send(settings.dead_letter_topic, record.key, record.value, None, None,
                                       dead_letter_headers(row["reason"], row["detail"], origin, "worker"))

    async def read(topic: str, partition: int, start: int, end: int) -> list[Record]:
        return await asyncio.get_running_loop().run_in_executor(None, lambda: [
            from_kafka(r) for r in read_range(settings.bootstrap, topic, partition, start, end)])

    intake = Intake(store, settings.topic, read, write, dead_letter, PASSED_OVER)

    async def acknowledge(stream, batch, deliveries: list) -> None:
        """Acknowledge a batch once it is in the store and Kafka has its changelog records and dead letters.

        Only then may its offsets be committed: a worker stopped or killed mid-batch reads the
        batch again, and the store skips what it has.
        """
        await asyncio.gather(*deliveries)
        for event in batch:
            await stream.ack(event)

    async def restore_missing(owned: set[int]) -> None:
        """Records the group committed but the changelog lacks, read from the topics themselves; then where
        each partition is taken up to (:class:`Intake`).

        A commit should never run ahead of the changelog (a batch is acknowledged only once its
        chunks are in Kafka); if one did, those records are not lost: the topics are the source
        of truth, and they are read again here before the worker answers or consumes. A partition
        with nothing committed is read from its start (:func:`_from_the_start`).
        """
        loop = asyncio.get_running_loop()
        intake.keep_only(owned)
        for topic, watermark in ((settings.topic, "last_seq"), (settings.dead_letter_topic, "last_dead_letter")):
            committed = await loop.run_in_executor(None, committed_offsets, settings.bootstrap, settings.app_id,
                                                   topic)
            for partition in sorted(owned):
                held = getattr(store.partitions.get(partition), watermark, -1)
                start = (held & _OFFSET_MASK) + 1 if held >= 0 else 0
                end = committed.get(partition, 0)
                log.info("%s:%d: the store holds up to offset %d; the group committed %d", topic, partition,
                         start - 1, end)
                if not end:  # (aiokafka seeks to a committed offset only above 0)
                    await _from_the_start(topic, partition)
                async with intake.lock(topic):
                    intake.start_at(topic, partition, start)
                    if end > start:
                        await intake.read_back(topic, partition, end, "read again from the topic: the group "
                                                                      "committed them, the changelog lacks them")

    async def _from_the_start(topic: str, partition: int) -> None:
        """Read a partition the group never committed (or committed at 0) from its start; the store skips what
        it holds.

        Faust's consumer may have fetched and dropped records of it while the tables recovered,
        and its seek to the committed offsets leaves a partition without one where that left it:
        at the end, so a worker killed before its first commit would never read what came since.
        """
        log.info("%s:%d: nothing committed by the group: read from its start", topic, partition)
        await app.consumer.seek_wait({faust.types.TP(topic, partition): 0})  # in the consumer's own thread

    table.restore_missing = restore_missing

    async def take_batches(stream, topic: str) -> None:
        async for batch in stream.noack_take(settings.batch_size, within=settings.batch_within_s):
            async with intake.lock(topic):
                deliveries = await intake.take(topic, [from_faust(event.message) for event in batch])
            await acknowledge(stream, batch, deliveries)

    @app.agent(events)
    async def check_and_keep(stream):
        """Check each record with the one validator; keep it in its project's log, or dead-letter it."""
        await take_batches(stream, settings.topic)

    @app.agent(dead_letters)
    async def count_dead_letters(stream):
        """Records ingest rejected never reach the topic: count them as received, like replay does."""
        await take_batches(stream, settings.dead_letter_topic)

    def end_offset(topic: str, partition: int) -> int | None:
        """The partition's last stable offset as the consumer last heard it; None when unknown (or no longer
        assigned)."""
        try:
            return app.consumer.highwater(faust.types.TP(topic, partition))
        except (AssertionError, KeyError):  # aiokafka asserts the partition is assigned
            return None

    @app.timer(interval=settings.sweep_interval_s)
    async def take_skipped_ends():
        """Records a partition's consumer skipped at its end, read from the topic (:meth:`Intake.sweep`)."""
        if not store.ready or app.rebalancing:
            return
        try:
            await intake.sweep(end_offset)
        except Exception:  # e.g. the broker unreachable: nothing is taken, so the next sweep tries again
            log.exception("reading what the consumer skipped at the partitions' ends failed; retrying in %.0f s",
                          settings.sweep_interval_s)

    refreshing = asyncio.Lock()

    async def refresh() -> None:
        """Fold the projects and trips that changed into today's state (in a thread); a new day refolds them
        all."""
        async with refreshing:
            day = today_cst()
            everything = store.today is None or store.today.day != day
            if not everything and not store.dirty and not store.dirty_trips:
                return
            changed = ({pid: n for n, part in store.partitions.items() for pid in part.projects} if everything
                       else dict(store.dirty))
            projects = [(pid, n, store.partitions[n].projects[pid]) for pid, n in changed.items()
                        if n in store.partitions and pid in store.partitions[n].projects]
            trips = store.all_trips() if everything else store.changed_trips()
            generation = store.generation
            today, state = await asyncio.get_running_loop().run_in_executor(
                None, refreshed, store.today, day, projects, everything, trips)
            if store.generation != generation:
                return  # partitions were taken away meanwhile: fold again from what is left
            store.today = today
            for pid, n, blob in projects:
                if store.partitions[n].projects.get(pid) is blob:
                    store.dirty.pop(pid, None)  # unchanged while it was folded
            for tid, n, blob in trips:
                if store.partitions[n].trips.get(tid) is blob:
                    store.dirty_trips.pop(tid, None)
            for doc in state.iter_rows(named=True):
                app.pending_states[doc["project_id"]] = doc

    app.refresh = refresh

    ticks = itertools.count(1)

    @app.timer(interval=settings.publish_interval_s)
    async def publish_states():
        """Fold the projects that changed and publish their state to the compacted state topic."""
        await refresh()
        if not next(ticks) % 10:
            _release_freed_memory()
        pending = dict(app.pending_states)
        if not pending:
            return
        try:
            # Straight to the producer: Faust's channel layer costs more than the send itself here.
            sent = [await app.producer.send(settings.state_topic, pid.encode(), orjson.dumps(doc), None, None, None)
                    for pid, doc in pending.items()]
            await asyncio.gather(*sent)
        except Exception:
            log.exception("publishing %d project states to %s failed; retrying in %.0f s", len(pending),
                          settings.state_topic, settings.publish_interval_s)
            return
        for pid, doc in pending.items():
            if app.pending_states.get(pid) is doc:
                del app.pending_states[pid]  # only what was sent: a newer state waits for the next round

    app.quality = {"success": None, "checked_at": None, "failures": []}

    @app.timer(interval=settings.quality_interval_s)
    async def check_quality():
        """Run the aggregate suites on this worker's aggregates (in a thread: GX is slow to import and run)."""
        if not store.partitions:
            return
        from streams.worker.web import check_store_quality

        app.quality = await check_store_quality(store)

    reminders = MidnightReminders(settings.bootstrap, settings.reminder_topic)

    def caught_up() -> bool:
        """Whether this worker has taken every partition of the event topic it was given up to its end."""
        for n in store.assigned:
            taken, end = intake.next_offset.get((settings.topic, n)), end_offset(settings.topic, n)
            if taken is None or end is None or taken < end:
                return False
        return True

    @app.timer(interval=settings.reminder_check_s)
    async def remind_after_midnight():
        """After each CST midnight, once caught up, the reminders (§10) of the day just ended of this worker's
        partitions, to the reminders topic (:class:`MidnightReminders`)."""
        if not store.ready or app.rebalancing or not caught_up():
            return
        try:
            await reminders.tick(app.producer, store.snapshot)
        except Exception:  # e.g. the broker unreachable: the day stays due, the next tick tries again
            log.exception("the reminders of %s failed; retrying in %.0f s", reminders.due(),
                          settings.reminder_check_s)

    from streams.worker import web

    web.add_pages(app, settings, store)
    return app


def run(app: faust.App, loglevel: str = "info") -> None:
    """Run the worker until it is stopped (SIGTERM, Ctrl-C); ``loglevel``: debug, info, warning or error."""
    worker = Worker(app, loglevel={"warning": "warn"}.get(loglevel.lower(), loglevel.lower()))
    # At warn and above Faust's start-up spinner sets the root logger to DEBUG so that it spins on
    # every record: aiokafka's and Faust's debug records for every message would be built.
    worker.spinner = None
    worker.execute_from_commandline()
