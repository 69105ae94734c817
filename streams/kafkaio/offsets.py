"""Where a topic ends and how far a consumer group is behind: what the operator and the benchmarks watch."""

from __future__ import annotations

import logging
from dataclasses import dataclass

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


def end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    """The next offset of every partition of ``topic`` ({} when the topic does not exist)."""
    from kafka import KafkaConsumer, TopicPartition

    from streams.kafkaio.security import client_config

    consumer = KafkaConsumer(bootstrap_servers=bootstrap.split(","), group_id=None, enable_auto_commit=False,
                             **client_config())
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        ends = consumer.end_offsets([TopicPartition(topic, p) for p in partitions])
        return {tp.partition: offset for tp, offset in ends.items()}
    finally:
        consumer.close()


def group_lag(bootstrap: str, group: str, topic: str) -> GroupLag:
    """How many records of ``topic`` the group has not committed yet."""
    ends = end_offsets(bootstrap, topic)
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
