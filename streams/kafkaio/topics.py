"""The project's topics, created with explicit settings rather than broker defaults."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from streams.config import dlq_topic

log = logging.getLogger(__name__)

#: Large enough for a hostile 10 MB record to reach the dead-letter topic untouched.
MAX_MESSAGE_BYTES = 16 * 1024 * 1024
DEFAULT_PARTITIONS = 3


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    config: dict[str, str] = field(default_factory=dict)
    replication: int = 1


def _log_config() -> dict[str, str]:
    # An event log is an official record: keep everything, forever.
    return {
        "cleanup.policy": "delete",
        "retention.ms": "-1",
        "retention.bytes": "-1",
        "min.insync.replicas": "1",
        "max.message.bytes": str(MAX_MESSAGE_BYTES),
        "message.timestamp.type": "CreateTime",
    }


def event_topics(topic: str, partitions: int = DEFAULT_PARTITIONS, replication: int = 1) -> list[TopicSpec]:
    """The event topic (keyed by project_id) and its dead-letter topic."""
    return [TopicSpec(name, partitions, _log_config(), replication) for name in (topic, dlq_topic(topic))]


def ensure_topics(bootstrap: str, specs: list[TopicSpec]) -> list[str]:
    """Create the topics that do not exist yet; returns the names created."""
    from kafka.admin import KafkaAdminClient, NewTopic
    from kafka.errors import TopicAlreadyExistsError

    from streams.kafkaio.security import client_config

    admin = KafkaAdminClient(bootstrap_servers=bootstrap.split(","), **client_config())
    try:
        existing = set(admin.list_topics())
        missing = [s for s in specs if s.name not in existing]
        created = []
        for spec in missing:
            try:
                admin.create_topics([NewTopic(spec.name, spec.partitions, spec.replication, topic_configs=spec.config)])
                created.append(spec.name)
                log.info("created topic %s (%d partitions, replication %d)", spec.name, spec.partitions,
                         spec.replication)
            except TopicAlreadyExistsError:
                log.info("topic %s was created by another client meanwhile", spec.name)
        return created
    finally:
        admin.close()


def state_topic(name: str, partitions: int = DEFAULT_PARTITIONS, replication: int = 1) -> TopicSpec:
    """The compacted topic of each project's latest state, keyed by project_id."""
    config = {"cleanup.policy": "compact", "min.insync.replicas": "1", "max.message.bytes": str(MAX_MESSAGE_BYTES)}
    return TopicSpec(name, partitions, config, replication)


def partition_count(bootstrap: str, topic: str) -> int | None:
    """How many partitions ``topic`` has, or None when it does not exist."""
    from kafka.admin import KafkaAdminClient

    from streams.kafkaio.security import client_config

    admin = KafkaAdminClient(bootstrap_servers=bootstrap.split(","), **client_config())
    try:
        described = admin.describe_topics([topic])
    finally:
        admin.close()
    found = [t for t in described if t.get("name") == topic and not t.get("error_code")]
    return len(found[0]["partitions"]) if found else None
