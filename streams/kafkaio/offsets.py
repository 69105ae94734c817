"""Where a topic ends and how far a consumer group is behind: what the operator and the benchmarks watch."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Iterable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GroupLag:
    """A consumer group on one topic: committed and end offsets summed over partitions."""

    group: str
    topic: str
    committed: int
    end: int

    @property
    def lag(self) -> int:
        return self.end - self.committed


@dataclass(frozen=True)
class PartitionEnd:
    """Where a partition ends for a reader: its last stable offset (LSO: the end of what ``read_committed``
    readers see, held back by the first transaction still open) and its high watermark."""

    stable: int
    high: int

    @property
    def held_back(self) -> int:
        """Offsets written after an open transaction's first record: not visible yet (markers included)."""
        return self.high - self.stable


def partition_ends(bootstrap: str, topic: str) -> dict[int, PartitionEnd]:
    """Every partition's end, stable and high ({} when the topic does not exist)."""
    from kafka import KafkaAdminClient, TopicPartition
    from kafka.errors import UnknownTopicOrPartitionError
    from kafka.protocol.consumer import IsolationLevel, OffsetSpec

    from streams.kafkaio.security import client_config

    admin = KafkaAdminClient(bootstrap_servers=bootstrap.split(","), **client_config())
    try:
        try:
            [described] = admin.describe_topics([topic])
        except UnknownTopicOrPartitionError:
            return {}
        if described.get("error_code"):
            return {}
        specs = {TopicPartition(topic, p["partition_index"]): OffsetSpec.LATEST for p in described["partitions"]}
        if not specs:
            return {}
        stable = admin.list_partition_offsets(specs, isolation_level=IsolationLevel.READ_COMMITTED)
        high = admin.list_partition_offsets(specs, isolation_level=IsolationLevel.READ_UNCOMMITTED)
    finally:
        admin.close()
    return {tp.partition: PartitionEnd(stable[tp].offset, high[tp].offset) for tp in specs}


def end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    """The end of every partition of ``topic`` for a ``read_committed`` reader: its last stable offset
    ({} when the topic does not exist). Without transactions, that is the high watermark."""
    return {p: end.stable for p, end in partition_ends(bootstrap, topic).items()}


@dataclass(frozen=True)
class OpenTransaction:
    """A partition held back by a transaction still open: from its first record on, nothing is visible yet."""

    topic: str
    partition: int
    first_offset: int  #: the last stable offset: the open transaction's first record
    held_back: int  #: offsets behind it, markers included
    since_ms: int | None  #: the Kafka timestamp of its first record (None when it could not be read)


def open_transactions(bootstrap: str, topic: str, ends: dict[int, PartitionEnd]) -> list[OpenTransaction]:
    """The partitions an open transaction holds back, each with when its first record was written (read, with
    ``read_uncommitted``, at the partition's last stable offset)."""
    held = {p: end for p, end in sorted(ends.items()) if end.held_back}
    if not held:
        return []
    from kafka import KafkaConsumer, TopicPartition

    from streams.kafkaio.security import client_config

    consumer = KafkaConsumer(bootstrap_servers=bootstrap.split(","), group_id=None, enable_auto_commit=False,
                             isolation_level="read_uncommitted", max_poll_records=1, **client_config())
    found = []
    try:
        for partition, end in held.items():
            tp = TopicPartition(topic, partition)
            consumer.assign([tp])
            consumer.seek(tp, end.stable)
            records = consumer.poll(timeout_ms=5000, max_records=1).get(tp, [])
            since = records[0].timestamp if records else None
            found.append(OpenTransaction(topic, partition, end.stable, end.held_back, since))
    finally:
        consumer.close()
    return found


def group_lag(bootstrap: str, group: str, topic: str, ends: dict[int, PartitionEnd] | None = None) -> GroupLag:
    """How many offsets of ``topic`` the group has not committed yet, up to each partition's last stable
    offset (a consumer reading committed records cannot go further while a transaction is open)."""
    ends = end_offsets(bootstrap, topic) if ends is None else {p: end.stable for p, end in ends.items()}
    done = committed_offsets(bootstrap, group, topic)
    return GroupLag(group, topic, sum(done.get(p, 0) for p in ends), sum(ends.values()))


def committed_offsets(bootstrap: str, group: str, topic: str) -> dict[int, int]:
    """The group's committed offset of each partition of ``topic`` (partitions it never committed left out)."""
    from kafka.admin import KafkaAdminClient
    from kafka.errors import CoordinatorNotAvailableError, GroupIdNotFoundError

    from streams.kafkaio.security import client_config

    admin = KafkaAdminClient(bootstrap_servers=bootstrap.split(","), **client_config())
    try:
        committed = admin.list_group_offsets(group).get(group, {})
    except (CoordinatorNotAvailableError, GroupIdNotFoundError) as e:
        log.info("group %s has committed nothing yet (%s): its lag is the whole topic", group, type(e).__name__)
        committed = {}  # the group has not committed (or even joined) yet
    finally:
        admin.close()
    return {tp.partition: meta.offset for tp, meta in committed.items() if tp.topic == topic and meta.offset >= 0}


def partition_bounds(bootstrap: str, topic: str, partition: int) -> tuple[int, int]:
    """A partition's earliest offset still held and its high watermark: (earliest, end)."""
    return bounds_of(bootstrap, topic, [partition])[partition]


def bounds_of(bootstrap: str, topic: str, partitions: Iterable[int]) -> dict[int, tuple[int, int]]:
    """Several partitions' earliest offsets still held and high watermarks, in one round: partition → (earliest,
    end)."""
    from kafka import KafkaConsumer, TopicPartition

    from streams.kafkaio.security import client_config

    consumer = KafkaConsumer(bootstrap_servers=bootstrap.split(","), enable_auto_commit=False, group_id=None,
                             **client_config())
    try:
        tps = [TopicPartition(topic, n) for n in partitions]
        earliest, end = consumer.beginning_offsets(tps), consumer.end_offsets(tps)
        return {tp.partition: (earliest[tp], end[tp]) for tp in tps}
    finally:
        consumer.close()
