"""What has been delivered: a compacted topic ``<reminders>.delivered``, keyed by (reminder, recipient, channel).

Its latest value per key is the delivery's state: ``sending`` (written and flushed before a message leaves),
``delivered`` (after the robot or mail server accepted it) or ``dead_lettered``. Every notifier reads it whole
at start and catches up to its end before each batch, so a reminder is sent once across restarts and notifiers.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Iterable

from streams.core.clock import now_cst
from streams.kafkaio.topics import MAX_MESSAGE_BYTES, TopicSpec

log = logging.getLogger(__name__)

SENDING, DELIVERED, DEAD_LETTERED = "sending", "delivered", "dead_lettered"
FINAL = (DELIVERED, DEAD_LETTERED)


def delivered_topic(topic: str) -> str:
    """The delivery log of a reminders topic."""
    return f"{topic}.delivered"


def delivery_key(reminder_id: str, recipient: str, channel: str) -> str:
    """A delivery's identity: a reminder to one recipient on one channel (``|`` never occurs in a config name)."""
    return f"{reminder_id}|{recipient}|{channel}"


def log_spec(topic: str, partitions: int = 3, replication: int = 1) -> TopicSpec:
    """The delivery log: compacted (only each delivery's latest state matters), kept for ever."""
    config = {"cleanup.policy": "compact", "min.insync.replicas": "1", "max.message.bytes": str(MAX_MESSAGE_BYTES)}
    return TopicSpec(delivered_topic(topic), partitions, config, replication)


class DeliveryLog:
    """The delivery log of one reminders topic: read whole, caught up on demand, written synchronously."""

    def __init__(self, bootstrap: str, topic: str, producer, owner: str):
        from kafka import KafkaConsumer, TopicPartition

        from streams.kafkaio.security import client_config

        self.topic, self.producer, self.owner = delivered_topic(topic), producer, owner
        self.states: dict[str, dict] = {}
        self.consumer = KafkaConsumer(bootstrap_servers=bootstrap.split(","), group_id=None,
                                      enable_auto_commit=False, auto_offset_reset="earliest", **client_config())
        partitions = self.consumer.partitions_for_topic(self.topic)
        if not partitions:
            raise LookupError(f"the delivery log {self.topic} does not exist")
        self.partitions = [TopicPartition(self.topic, p) for p in sorted(partitions)]
        self.consumer.assign(self.partitions)
        self.consumer.seek_to_beginning(*self.partitions)

    def catch_up(self, timeout_s: float = 30.0) -> int:
        """Read the log up to its end now; returns how many records were read."""
        ends = self.consumer.end_offsets(self.partitions)
        read, deadline = 0, time.monotonic() + timeout_s
        while any(self.consumer.position(tp) < end for tp, end in ends.items()):
            if time.monotonic() > deadline:
                raise TimeoutError(f"the delivery log {self.topic} was not read to its end in {timeout_s:.0f} s")
            for records in self.consumer.poll(timeout_ms=500).values():
                for record in records:
                    self._apply(record)
                    read += 1
        return read

    def _apply(self, record) -> None:
        key = record.key.decode("utf-8", "replace") if record.key else None
        if key and record.value is None:  # a tombstone: the delivery is to be made again (a resend)
            self.states.pop(key, None)
            return
        try:
            value = json.loads(record.value) if record.value is not None else None
        except ValueError:
            log.warning("delivery log %s:%d:%d is not JSON; ignored", self.topic, record.partition, record.offset)
            return
        if key and isinstance(value, dict):
            self.states[key] = value

    def state(self, key: str) -> str | None:
        """A delivery's latest state, or None when it was never started."""
        value = self.states.get(key)
        return value.get("state") if value else None

    def mark(self, keys: Iterable[str], state: str, **detail) -> None:
        """Record a state for deliveries and wait until the broker has it (acks=all)."""
        stamp = {"state": state, "at": now_cst().isoformat(timespec="milliseconds"), "by": self.owner, **detail}
        for key in keys:
            self.producer.send(self.topic, key=key.encode(), value=json.dumps(stamp, ensure_ascii=False).encode())
            self.states[key] = stamp
        self.producer.flush()

    def close(self) -> None:
        self.consumer.close()
