"""How the worker takes the records of its two topics into the store: per partition, in offset order, none skipped.

Faust's consumer can skip records and count them as acknowledged: around its seek to the committed
offsets, records of the new position can be delivered before the consumer's read offsets are set
back, and a later record then makes everything between look like a gap it treats as done (seen in
the fault tests: a record missing from the store while the group had committed past it). The topics
are the source of truth, so :class:`Intake` knows each partition's next offset: a record beyond it
means the records between were skipped, and they are read from the topic before it. A skip at a
partition's end shows no later record; :meth:`Intake.sweep` reads it.

Not every gap is a skip. The worker reads committed records only (DOMAIN.md §3), and transaction
markers and aborted records take offsets too. The consumer tells which offsets it passed over
(:class:`PassedOver`); a gap made only of those is taken as it is, without a warning or a read.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import threading
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, NamedTuple

import polars as pl

from streams.core.log import LogBuilder, log_row, rejected_row
from streams.kafkaio.records import (arrival_seq, counts_as_received, dead_letter_reason, dead_letter_seq, key_text,
                                     received_at, recorded_at_in)
from streams.worker import compact
from streams.worker.store import EVENT, REJECTED, TRIP, ProjectStore

log = logging.getLogger(__name__)


class Record(NamedTuple):
    """A topic record as the worker takes it, whoever read it."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: float | None
    key: bytes | None
    value: bytes | None
    headers: Any


def from_faust(message) -> Record:
    """A Faust message (its timestamp is in seconds)."""
    ms = None if message.timestamp is None else message.timestamp * 1000
    return Record(message.topic, message.partition, message.offset, ms, message.key, message.value, message.headers)


def from_kafka(record) -> Record:
    """A kafka-python ``ConsumerRecord`` (its timestamp is in milliseconds)."""
    return Record(record.topic, record.partition, record.offset, record.timestamp, record.key, record.value,
                  record.headers)


def checked_event(record: Record) -> tuple[tuple, dict]:
    """A record of the event topic checked by the one validator: its changelog entry (a project's event keyed by
    its project_id, a trip's by its trip_id, §8) and its log row."""
    seq = arrival_seq(record.partition, record.offset)
    row = log_row(seq, record.value or b"", received_at(record.timestamp_ms), stamp_missing=True)
    if row.get("reason"):
        return (REJECTED, None, compact.rejection_record(row)), row
    if row["project_id"] is None:
        return (TRIP, row["trip_id"], compact.event_record(row)), row
    return (EVENT, row["project_id"], compact.event_record(row)), row


def checked_events(records: list[Record]) -> list[tuple[tuple, dict | None]]:
    """Records of the event topic checked together by the one validator's batch path (as replay checks them): each
    one's changelog entry (:func:`checked_event`'s) and, when it is rejected, its reason and detail."""
    if not records:
        return []
    builder = LogBuilder()
    for record in records:
        builder.add(arrival_seq(record.partition, record.offset), record.value or b"",
                    received_at(record.timestamp_ms), stamp_missing=True)
    frame = builder.frame()
    keys = frame.select("project_id", pl.col("trip_id").cast(pl.Utf8)).iter_rows()
    out = []
    for (rejected, compacted), (project_id, trip_id) in zip(compact.log_records(frame), keys):
        if rejected:
            out.append(((REJECTED, None, compacted), {"reason": compacted[1], "detail": compacted[2]}))
        elif project_id is None:
            out.append(((TRIP, trip_id, compacted), None))
        else:
            out.append(((EVENT, project_id, compacted), None))
    return out


def counted_dead_letter(record: Record) -> tuple | None:
    """A dead letter ingest wrote, as a changelog entry; None for the worker's own (its topic record counts)."""
    if not counts_as_received(record):
        return None
    reason, detail = dead_letter_reason(record)
    row = rejected_row(dead_letter_seq(record.partition, record.offset), reason, detail,
                       recorded_at_in(record.value or b""), key_text(record.key))
    return (REJECTED, None, compact.rejection_record(row))


class PassedOver:
    """The offset ranges a consumer passed over without a record for the reader (transaction markers, aborted
    records), by partition: noted by the consumer's thread as it reads, asked by the intake."""

    def __init__(self) -> None:
        self._ranges: dict[tuple[str, int], list[tuple[int, int]]] = {}
        self._lock = threading.Lock()

    def note(self, topic: str, partition: int, start: int, end: int) -> None:
        """Offsets ``start`` up to (not including) ``end`` hold nothing for the reader."""
        with self._lock:
            bisect.insort(self._ranges.setdefault((topic, partition), []), (start, end))

    def through(self, topic: str, partition: int, offset: int, forget: bool = False) -> int:
        """The first offset from ``offset`` on that was not passed over (``offset`` itself if it was not);
        ``forget``: drop the ranges behind it (the consumer's commit does, once nothing behind it is asked)."""
        with self._lock:
            ranges = self._ranges.get((topic, partition))
            if not ranges:
                return offset
            behind = 0
            for start, end in ranges:
                if start > offset:
                    break
                offset = max(offset, end)
                behind += 1
            if forget:
                del ranges[:behind]
            return offset

    def ranges(self, topic: str, partition: int) -> list[tuple[int, int]]:
        """The ranges noted for a partition and not forgotten yet, in order."""
        with self._lock:
            return list(self._ranges.get((topic, partition), ()))

    def forget(self, keep: set[int]) -> None:
        """Drop the ranges of partitions other than ``keep``."""
        with self._lock:
            for key in [k for k in self._ranges if k[1] not in keep]:
                del self._ranges[key]


#: Reads ``topic``'s ``partition`` from one offset up to (not including) another.
Reader = Callable[[str, int, int, int], Awaitable[list[Record]]]
#: Writes a partition's chunk to the changelog and the store; the delivery to wait for.
Writer = Callable[[int, list], Awaitable[asyncio.Future]]
#: Dead-letters a rejected event record with its log row; the delivery to wait for.
DeadLetterer = Callable[[Record, dict], Awaitable[asyncio.Future]]


class Intake:
    """Takes records of the event topic and the dead-letter topic into the store (see the module)."""

    #: Entries per write (one changelog record) at most. A batch is far fewer, but records read back from a
    #: topic at once (a skip, a commit ahead of the changelog) can be more than a producer request carries.
    PIECE = 10_000
    #: Records the sweep reads back at a time.
    READ_SLICE = 50_000

    def __init__(self, store: ProjectStore, events_topic: str, read: Reader, write: Writer,
                 dead_letter: DeadLetterer, passed_over: PassedOver | None = None) -> None:
        self.store, self.events_topic = store, events_topic
        self.read, self.write, self.dead_letter = read, write, dead_letter
        self.passed_over = passed_over if passed_over is not None else PassedOver()
        self.next_offset: dict[tuple[str, int], int] = {}  # (topic, partition) → the first offset not yet taken
        self.locks: dict[str, asyncio.Lock] = {}
        self._stalled: dict[tuple[str, int], int] = {}

    def lock(self, topic: str) -> asyncio.Lock:
        return self.locks.setdefault(topic, asyncio.Lock())

    def start_at(self, topic: str, partition: int, offset: int) -> None:
        """Everything of the partition before ``offset`` is taken (in the store, or counting nowhere)."""
        self.next_offset[(topic, partition)] = offset

    def keep_only(self, partitions: set[int]) -> None:
        """Forget the partitions this worker no longer owns."""
        for key in [k for k in self.next_offset if k[1] not in partitions]:
            del self.next_offset[key]
            self._stalled.pop(key, None)
        self.passed_over.forget(partitions)

    async def take(self, topic: str, records: Iterable[Record], whole: bool = False) -> list:
        """Take records of one topic, in the order read; returns the deliveries to wait for before acknowledging
        them. A record the partition has had is skipped; one beyond its next offset is preceded by the records
        between, read from the topic, unless the consumer passed over all of them. ``whole``: the records are
        every committed record of their offsets (read from the topic), so a gap between them is no skip."""
        wanted: list[Record] = []
        taken: dict[tuple[str, int], int] = {}  # the next offsets, once the chunks are written
        for record in records:
            key = (topic, record.partition)
            expected = taken.get(key, self.next_offset.get(key))
            if expected is not None and record.offset < expected:
                continue  # taken before (restored from the changelog after a crash, or delivered twice)
            if expected is not None and record.offset > expected and not whole:
                wanted += await self._skipped(topic, record, expected)
            wanted.append(record)
            taken[key] = record.offset + 1
        chunks: dict[int, list] = {}
        deliveries: list = []
        for record, entry, row in self._entries(topic, wanted):
            if row is not None:
                deliveries.append(await self.dead_letter(record, row))
            chunks.setdefault(record.partition, []).append(entry)
        deliveries += [await self.write(partition, chunk[start:start + self.PIECE])
                       for partition, chunk in chunks.items() for start in range(0, len(chunk), self.PIECE)]
        self.next_offset.update(taken)  # (a write that failed leaves them to be taken again)
        return deliveries

    async def _skipped(self, topic: str, record: Record, expected: int) -> list[Record]:
        """The records between a partition's next offset and ``record``, read from the topic, unless the
        consumer passed over every offset between (markers, aborted records)."""
        start = self.passed_over.through(topic, record.partition, expected)
        if start >= record.offset:
            return []
        skipped = await self.read(topic, record.partition, start, record.offset)
        log.warning("%s:%d: offsets %d to %d read from the topic: the consumer skipped them before the next record "
                    "(%d records)", topic, record.partition, start, record.offset - 1, len(skipped))
        return skipped

    def _entries(self, topic: str, records: list[Record]) -> list[tuple[Record, tuple, dict | None]]:
        """The changelog entries of the records the store does not have yet, in order, each with the row to
        dead-letter it by when the validator rejected it (an event record only; None otherwise)."""
        if topic == self.events_topic:
            fresh = [r for r in records if self.store.fresh(r.partition, arrival_seq(r.partition, r.offset))]
            return [(record, entry, row) for record, (entry, row) in zip(fresh, checked_events(fresh))]
        entries = [(record, counted_dead_letter(record)) for record in records]
        return [(record, entry, None) for record, entry in entries
                if entry is not None and self.store.fresh(record.partition, entry[2][0])]

    async def sweep(self, end_offsets: Callable[[str, int], int | None]) -> None:
        """Read the records a partition's consumer skipped at its end: behind the partition's end offset, with
        no progress since the last sweep (a skip that a later record would have shown is taken by :meth:`take`)."""
        for key, expected in list(self.next_offset.items()):
            topic, partition = key
            end = end_offsets(topic, partition)
            if end is not None and end > expected:  # markers at the end: nothing to read
                async with self.lock(topic):
                    if self.next_offset.get(key) == expected:
                        expected = self.next_offset[key] = self.passed_over.through(topic, partition, expected)
            if end is None or end <= expected:
                self._stalled.pop(key, None)
                continue
            if self._stalled.get(key) != expected:  # moved since the last sweep: the consumer is on its way
                self._stalled[key] = expected
                continue
            async with self.lock(topic):
                if self.next_offset.get(key) == expected:
                    await self.read_back(topic, partition, end,
                                         "read from the topic: the consumer skipped them at the partition's end")
            self._stalled.pop(key, None)

    async def read_back(self, topic: str, partition: int, end: int, why: str, read: list[Record] | None = None
                        ) -> None:
        """Read the partition from its next offset up to ``end`` from the topic and take it, a slice at a time
        (a worker down for long: a long tail), with a warning saying what and why (``read``: the records of that
        whole range, already read). Call it holding the topic's lock."""
        key = (topic, partition)
        for start in range(self.next_offset[key], end, self.READ_SLICE):
            stop = min(end, start + self.READ_SLICE)
            records = read if read is not None and stop == end else await self.read(topic, partition, start, stop)
            # Offsets without a committed record (transaction markers, aborted records) are no skip.
            (log.warning if records else log.debug)("%s:%d: offsets %d to %d %s (%d records)", topic, partition,
                                                    start, stop - 1, why, len(records))
            await asyncio.gather(*await self.take(topic, records, whole=True))
            self.next_offset[key] = max(self.next_offset[key], stop)  # (offsets without a record: markers)
