"""Reading a topic from the beginning up to its end at the time of the call, with no consumer group.

Every read is ``read_committed`` (DOMAIN.md §3, Transactions): a record of an aborted transaction is
never returned, a transaction still open holds its partition back at the last stable offset (LSO),
and the offsets that transaction markers take are gaps, not lost records.
"""

from __future__ import annotations

import logging
import time
from typing import Iterable, Iterator, Mapping

log = logging.getLogger(__name__)


#: What every reader of the platform reads: committed records only.
ISOLATION = "read_committed"


def read_topic(bootstrap: str, topic: str, *, timeout_s: float = 60.0, max_poll_records: int = 5000,
               partitions: Iterable[int] | None = None, stops: Mapping[int, int] | None = None) -> Iterator:
    """Every committed record of ``topic`` (all partitions, or only ``partitions``) up to the last stable
    offsets seen at the start, or up to ``stops`` (partition → offset, at most its LSO).

    Commits no offsets. Yields kafka-python ``ConsumerRecord``s; order is kept per partition.
    """
    from kafka import KafkaConsumer, TopicPartition

    from streams.kafkaio.security import client_config

    consumer = KafkaConsumer(bootstrap_servers=bootstrap.split(","), enable_auto_commit=False, group_id=None,
                             **client_config(), isolation_level=ISOLATION,
                             max_poll_records=max_poll_records, fetch_max_bytes=64 * 1024 * 1024,
                             max_partition_fetch_bytes=32 * 1024 * 1024)
    try:
        existing = consumer.partitions_for_topic(topic)
        if not existing:
            raise LookupError(f"topic {topic!r} does not exist, or this account may not describe it")
        wanted = existing if partitions is None else set(partitions)
        if not wanted <= existing:
            raise LookupError(f"topic {topic!r} has no partition {sorted(wanted - existing)}")
        tps = [TopicPartition(topic, p) for p in sorted(wanted)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        ends = consumer.end_offsets(tps) if stops is None else {tp: stops[tp.partition] for tp in tps}
        remaining = {tp: end for tp, end in ends.items() if end > consumer.position(tp)}
        log.debug("reading %s: %d of %d partitions hold records", topic, len(remaining), len(tps))
        yield from _records_up_to(consumer, remaining, timeout_s, topic)
    finally:
        consumer.close()


def read_range(bootstrap: str, topic: str, partition: int, start: int, end: int, *, timeout_s: float = 60.0
               ) -> Iterator:
    """The committed records of one partition from offset ``start`` up to (not including) ``end``, which must not
    lie beyond its last stable offset. Commits nothing."""
    from kafka import KafkaConsumer, TopicPartition

    from streams.kafkaio.security import client_config

    # A start the log no longer holds (retention) reads from where it now starts.
    consumer = KafkaConsumer(bootstrap_servers=bootstrap.split(","), enable_auto_commit=False, group_id=None,
                             **client_config(), max_partition_fetch_bytes=32 * 1024 * 1024,
                             auto_offset_reset="earliest", isolation_level=ISOLATION)
    try:
        tp = TopicPartition(topic, partition)
        consumer.assign([tp])
        consumer.seek(tp, start)
        yield from _records_up_to(consumer, {tp: end}, timeout_s, f"{topic}:{partition}")
    finally:
        consumer.close()


def read_ranges(bootstrap: str, ranges: Mapping[tuple[str, int], tuple[int, int]], *, timeout_s: float = 60.0
                ) -> dict[tuple[str, int], list]:
    """The committed records of several partitions, each from its ``start`` up to (not including) its ``end``
    (``ranges``: (topic, partition) → (start, end)), read by one consumer at once: one connection and one
    metadata round, not one per partition. Commits nothing."""
    from kafka import KafkaConsumer, TopicPartition

    from streams.kafkaio.security import client_config

    wanted = {TopicPartition(topic, n): (start, end) for (topic, n), (start, end) in ranges.items() if end > start}
    found: dict[tuple[str, int], list] = {key: [] for key in ranges}
    if not wanted:
        return found
    consumer = KafkaConsumer(bootstrap_servers=bootstrap.split(","), enable_auto_commit=False, group_id=None,
                             **client_config(), max_partition_fetch_bytes=32 * 1024 * 1024,
                             auto_offset_reset="earliest", isolation_level=ISOLATION, fetch_max_wait_ms=100)
    try:
        consumer.assign(list(wanted))
        for tp, (start, _) in wanted.items():
            consumer.seek(tp, start)
        what = ", ".join(sorted({tp.topic for tp in wanted}))
        for record in _records_up_to(consumer, {tp: end for tp, (_, end) in wanted.items()}, timeout_s, what):
            found[(record.topic, record.partition)].append(record)
    finally:
        consumer.close()
    return found


def _records_up_to(consumer, remaining: dict, timeout_s: float, what: str) -> Iterator:
    """The records the consumer polls until each partition's position reaches its end in ``remaining``.

    A partition's last offsets may hold no record for a committed reader (transaction markers, aborted
    records): a poll then returns nothing while the position still moves past them, so the ends are
    checked after every poll, and only ``timeout_s`` without any progress is an error."""
    positions = {tp: consumer.position(tp) for tp in remaining}
    remaining = {tp: end for tp, end in remaining.items() if positions[tp] < end}
    quiet_since = time.monotonic()
    while remaining:
        batches = consumer.poll(timeout_ms=min(1000, int(timeout_s * 1000)))
        for tp, records in batches.items():
            end = remaining.get(tp)
            if end is not None:
                yield from (record for record in records if record.offset < end)
        moved = False
        for tp in list(remaining):
            now = consumer.position(tp)
            moved |= now != positions[tp]
            positions[tp] = now
            if now >= remaining[tp]:
                del remaining[tp]
        if moved:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since > timeout_s:
            unread = ", ".join(f"{tp.partition} at {positions[tp]} of {end}" for tp, end in sorted(remaining.items()))
            raise TimeoutError(f"no records from {what} within {timeout_s:.0f} s; partitions unread: {unread}")
