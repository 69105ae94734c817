"""The worker's intake: two agents take the event topic and the dead-letter topic in batches into the store.

Each batch is checked by the one validator (in batches, as replay checks), the bad records are
dead-lettered, and each partition's checked records go to the :class:`ProjectStore` as one chunk,
also written to the ``checked-log`` table's changelog. A batch is acknowledged (its offsets may be
committed) only once its chunks and dead letters are in Kafka.
"""

from __future__ import annotations

import asyncio
import logging

import faust

from streams.kafkaio.consumer import read_range, read_ranges
from streams.kafkaio.offsets import committed_offsets
from streams.kafkaio.records import dead_letter_headers
from streams.worker import compact
from streams.worker.intake import Intake, Record, from_faust, from_kafka
from streams.worker.pacing import FoldPacing, behind
from streams.worker.settings import WorkerSettings
from streams.worker.store import ProjectStore
from streams.worker.table import CheckedLogTable, note_changelog
from streams.worker.transport import PASSED_OVER

log = logging.getLogger(__name__)
_OFFSET_MASK = (1 << 40) - 1  # the offset bits of an arrival sequence


class Deliveries:
    """The changelog writes of each partition Kafka has not confirmed yet: a checkpoint waits for them."""

    def __init__(self) -> None:
        self.pending: dict[int, set[asyncio.Future]] = {}

    def add(self, partition: int, delivery: asyncio.Future) -> None:
        waiting = self.pending.setdefault(partition, set())
        waiting.add(delivery)
        delivery.add_done_callback(waiting.discard)

    async def confirmed(self, partition: int, timeout_s: float) -> bool:
        """Whether every write of the partition was confirmed within ``timeout_s``."""
        waiting = list(self.pending.get(partition, ()))
        if not waiting:
            return True
        done, _ = await asyncio.wait(waiting, timeout=timeout_s)
        return len(done) == len(waiting)


def add_intake(app: faust.App, settings: WorkerSettings, store: ProjectStore, table: CheckedLogTable
               ) -> tuple[Intake, Deliveries]:
    """The agents, the restore of what the changelog lacks, and the sweep of skipped ends; the intake they share
    and the deliveries checkpoints wait for."""
    deliveries = Deliveries()

    async def write(partition: int, chunk: list) -> asyncio.Future:
        """One changelog record for a partition's share of a batch, then into the store; the delivery."""
        key = f"{partition}:{chunk[0][2][0]}".encode()
        # Straight to the producer, not Faust's send_soon buffer: Faust's flush before a commit
        # gives up on that buffer after 0.1 s, and a commit could then run ahead of the chunk.
        delivery = await app.producer.send(table.changelog_topic_name, key, compact.encode(chunk), partition, None,
                                           None)
        store.apply(partition, chunk)
        part = store.partitions[partition]
        delivery.add_done_callback(lambda done: _noted(done, part, key))
        deliveries.add(partition, delivery)
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
    table.restore_missing = _restorer(app, settings, store, intake)
    # The publish timer asks it (streams.worker.pacing): behind by more than a batch, it folds less often.
    app.fold_pacing = FoldPacing(lambda: behind(intake.next_offset, settings.topic, store.assigned,
                                                lambda topic, n: end_offset(app, topic, n), settings.batch_size))

    async def take_batches(stream, topic: str) -> None:
        async for batch in stream.noack_take(settings.batch_size, within=settings.batch_within_s):
            async with intake.lock(topic):
                written = await intake.take(topic, [from_faust(event.message) for event in batch])
            # Acknowledged once in the store and in Kafka: a worker stopped or killed mid-batch reads the
            # batch again, and the store skips what it has.
            await asyncio.gather(*written)
            for event in batch:
                await stream.ack(event)

    @app.agent(app.topic(settings.topic, **RAW))
    async def check_and_keep(stream):
        """Check each record with the one validator; keep it in its project's log, or dead-letter it."""
        await take_batches(stream, settings.topic)

    @app.agent(app.topic(settings.dead_letter_topic, **RAW))
    async def count_dead_letters(stream):
        """Records ingest rejected never reach the topic: count them as received, like replay does."""
        await take_batches(stream, settings.dead_letter_topic)

    @app.timer(interval=settings.sweep_interval_s)
    async def take_skipped_ends():
        """Records a partition's consumer skipped at its end, read from the topic (:meth:`Intake.sweep`)."""
        if not store.ready or app.rebalancing:
            return
        try:
            await intake.sweep(lambda topic, n: end_offset(app, topic, n))
        except Exception:  # e.g. the broker unreachable: nothing is taken, so the next sweep tries again
            log.exception("reading what the consumer skipped at the partitions' ends failed; retrying in %.0f s",
                          settings.sweep_interval_s)

    return intake, deliveries


RAW = {"key_type": bytes, "value_type": bytes, "key_serializer": "raw", "value_serializer": "raw"}


def _noted(delivery: asyncio.Future, part, key: bytes) -> None:
    if not delivery.cancelled() and delivery.exception() is None:
        note_changelog(part, delivery.result().offset, key)


def end_offset(app: faust.App, topic: str, partition: int) -> int | None:
    """The partition's last stable offset as the consumer last heard it; None when unknown (or no longer assigned)."""
    try:
        return app.consumer.highwater(faust.types.TP(topic, partition))
    except (AssertionError, KeyError):  # aiokafka asserts the partition is assigned
        return None


def _restorer(app: faust.App, settings: WorkerSettings, store: ProjectStore, intake: Intake):
    async def restore_missing(owned: set[int]) -> None:
        """Records the group committed but the changelog lacks, read from the topics themselves; then where each
        partition is taken up to (:class:`Intake`).

        A commit should never run ahead of the changelog (a batch is acknowledged only once its
        chunks are in Kafka); if one did, those records are not lost: the topics are the source
        of truth, and they are read again here before the worker answers or consumes. A partition
        with nothing committed is read from its start (:func:`_from_the_start`).
        """
        loop = asyncio.get_running_loop()
        intake.keep_only(owned)
        topics = ((settings.topic, "last_seq"), (settings.dead_letter_topic, "last_dead_letter"))
        committed = await asyncio.gather(*(loop.run_in_executor(None, committed_offsets, settings.bootstrap,
                                                                settings.app_id, topic) for topic, _ in topics))
        tails = []
        for (topic, watermark), ends in zip(topics, committed):
            for partition in sorted(owned):
                held = getattr(store.partitions.get(partition), watermark, -1)
                start = (held & _OFFSET_MASK) + 1 if held >= 0 else 0
                end = ends.get(partition, 0)
                log.info("%s:%d: the store holds up to offset %d; the group committed %d", topic, partition,
                         start - 1, end)
                if not end:  # (aiokafka seeks to a committed offset only above 0)
                    await _from_the_start(app, topic, partition)
                intake.start_at(topic, partition, start)
                if end > start:
                    tails.append((topic, partition, end))
        # Every short tail by one reader at once: a reader per tail costs a connection and a metadata round
        # (a tail of transaction markers holds it for a poll), and one after another they added up to seconds.
        async with intake.lock(settings.topic), intake.lock(settings.dead_letter_topic):
            starts = {(topic, partition): intake.next_offset[(topic, partition)] for topic, partition, _ in tails}
            short = {(topic, partition): (starts[(topic, partition)], end) for topic, partition, end in tails
                     if end - starts[(topic, partition)] <= intake.READ_SLICE}
            read = await loop.run_in_executor(None, lambda: {key: [from_kafka(r) for r in records] for key, records in
                                                             read_ranges(settings.bootstrap, short).items()})
            await asyncio.gather(*(intake.read_back(topic, partition, end, "read again from the topic: the group "
                                                                           "committed them, the changelog lacks them",
                                                    read.get((topic, partition)))
                                   for topic, partition, end in tails))

    return restore_missing


async def _from_the_start(app: faust.App, topic: str, partition: int) -> None:
    """Read a partition the group never committed (or committed at 0) from its start; the store skips what it holds.

    Faust's consumer may have fetched and dropped records of it while the tables recovered, and
    its seek to the committed offsets leaves a partition without one where that left it: at the
    end, so a worker killed before its first commit would never read what came since.
    """
    log.info("%s:%d: nothing committed by the group: read from its start", topic, partition)
    await app.consumer.seek_wait({faust.types.TP(topic, partition): 0})  # in the consumer's own thread
