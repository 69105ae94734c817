"""The worker's Kafka consumer: Faust's aiokafka driver reading committed records only (DOMAIN.md §3).

Faust reads with ``read_committed`` only under ``processing_guarantee="exactly_once"``, which also
makes every write transactional through a producer per partition. The worker does not need that
(docs/transactions.md says why): its store applies each record once by its position, so it keeps
at-least-once processing and only changes what its consumer reads. :class:`CommittedApp` gives Faust
that consumer; its end of a partition is the last stable offset, where a committed reader stops.

The fetcher passes over offsets that hold no record a committed reader gets: transaction markers
and the records of aborted transactions. :data:`PASSED_OVER` learns those ranges as aiokafka reads
them, so that the intake can tell such a gap from a record Faust's consumer really skipped without
reading the topic again (:class:`streams.worker.intake.Intake`).
"""

from __future__ import annotations

from collections.abc import Iterable

import aiokafka.consumer.fetcher as aiokafka_fetcher
import faust
from faust.transport.drivers import aiokafka as faust_aiokafka

from streams.worker.intake import PassedOver

#: How long a fetch of the worker's consumer waits for records when there are none (Faust's: 1500).
FETCH_MAX_WAIT_MS = 100

#: The offset ranges the fetcher of this process passed over, by (topic, partition).
PASSED_OVER = PassedOver()


class _NotingPartitionRecords(aiokafka_fetcher.PartitionRecords):
    """aiokafka's records of one fetched partition, noting the offsets it passes over between them."""

    def _unpack_records(self):
        topic, partition = self._tp.topic, self._tp.partition
        start = self.next_fetch_offset
        for record in super()._unpack_records():
            if record.offset > start:
                PASSED_OVER.note(topic, partition, start, record.offset)
            yield record
            start = record.offset + 1
        if self.next_fetch_offset > start:  # markers (or aborted records) after the last record
            PASSED_OVER.note(topic, partition, start, self.next_fetch_offset)


# The fetcher builds its PartitionRecords by this module-level name (aiokafka 0.14).
aiokafka_fetcher.PartitionRecords = _NotingPartitionRecords


class _CommittedConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport):
        consumer = super()._create_worker_consumer(transport)
        # What Faust sets under exactly_once; read by the consumer's start(), which creates its fetcher.
        consumer._isolation_level = "read_committed"
        # Faust long-polls for 1.5 s, and the broker answers a connection's requests in order: every offset
        # lookup of a recovery (highwaters, earliest offsets) waited behind a fetch, 1.5 s each. A fetch with
        # records to return returns at once whatever the wait, so only an idle consumer polls more often.
        consumer._fetch_max_wait_ms = FETCH_MAX_WAIT_MS
        return consumer

    def highwater(self, tp) -> int:
        """A partition's end for a committed reader: its last stable offset."""
        return self._ensure_consumer().last_stable_offset(tp)


def committable(committed: int | None, acked: Iterable[int], gaps: Iterable[tuple[int, int]],
                passed: Iterable[tuple[int, int]] = ()) -> int | None:
    """The offset a partition can commit: the end of the unbroken run from ``committed`` (the next offset to
    read; None: from the first acknowledged) through acknowledged offsets, gaps and offsets passed over.

    A gap ``(begin, end)`` is what Faust notes when a record arrives past the one before it: ``begin`` up
    to the record at ``end - 1``, which only its own acknowledgement covers. ``passed``: ranges the fetcher
    passed over (markers, aborted records), which hold no record at all. None when nothing new can be
    committed."""
    acked = sorted(set(acked))
    if committed is None and not acked:
        return None
    spans = sorted([(o, o + 1) for o in acked] + [(b, e - 1) for b, e in gaps if b < e - 1] + list(passed))
    reach = (acked[0] if committed is None else committed)
    start = reach
    for begin, end in spans:
        if begin > reach:
            break  # a record delivered and not acknowledged yet, or not delivered yet
        reach = max(reach, end)
    return reach if reach > start else None


class _CommittedConsumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self):
        return _CommittedConsumerThread(self, loop=self.loop, beacon=self.beacon)

    async def _add_gap(self, tp, offset_from: int, offset_to: int) -> None:
        """Note offsets ``offset_from`` to ``offset_to`` (the record that showed the gap) as a gap. Faust's own
        drops the gap's first offset when it equals the committed offset (the next offset to read, which
        Faust takes for the last one read), leaving a hole no acknowledgement fills."""
        committed = self._committed_offset[tp]
        if committed is not None:
            offset_from = max(offset_from, committed)
        if offset_from <= offset_to:
            gaps = self._gap[tp]
            gaps.addi(offset_from, offset_to + 1)
            gaps.merge_overlaps()

    def _new_offset(self, tp):
        """Faust's own rule stalls on a topic written in transactions (seen here with a librdkafka transactional
        producer: the group stuck at an aborted transaction for good, its lag never shrinking; and Faust
        notes no gap after a record at offset 0): :func:`committable` instead, through what the fetcher
        passed over too; then forget what it covers."""
        acked, gaps, committed = self._acked[tp], self._gap[tp], self._committed_offset[tp]
        offset = committable(committed, acked, [(g.begin, g.end) for g in gaps],
                             PASSED_OVER.ranges(tp.topic, tp.partition))
        if offset is not None:
            PASSED_OVER.through(tp.topic, tp.partition, offset, forget=True)
            done = [o for o in acked if o < offset]
            acked[:] = [o for o in acked if o >= offset]
            self._acked_index[tp].difference_update(done)
            gaps.chop(0, offset)
        return offset


class _CommittedTransport(faust_aiokafka.Transport):
    Consumer = _CommittedConsumer


class CommittedApp(faust.App):
    """A Faust app whose consumer reads committed records only (its producer is Faust's own)."""

    def _new_transport(self):
        return _CommittedTransport(self.conf.broker_consumer, self)
