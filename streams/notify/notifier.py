"""The notifier: a consumer group over the reminders topic that routes each reminder, groups what is due into
digests, and delivers each (reminder, recipient, channel) once, recording it in the delivery log."""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Callable, Iterable

from streams.config import dlq_topic
from streams.kafkaio.records import dead_letter_headers
from streams.kafkaio.topics import TopicSpec, event_topics
from streams.notify.channels import DeliveryError, Sender
from streams.notify.digest import EMAIL_LIMIT_BYTES, ROBOT_LIMIT_BYTES, build_digests
from streams.notify.ledger import FINAL, SENDING, DeliveryLog, delivery_key, log_spec
from streams.notify.routing import NotifyConfig, route

log = logging.getLogger(__name__)

DEFAULT_TOPIC = "project-reminders"
DEFAULT_GROUP = "funnel-notify"
REQUIRED = ("reminder_id", "kind", "project_id", "about")
#: how long --idle-exit waits for partitions before it counts idleness (a killed member's session is 10 s)
JOIN_GRACE_S = 60.0


@dataclass(frozen=True)
class Due:
    """A reminder read from the topic, with where it came from."""

    reminder: dict
    origin: str
    raw: bytes

    @property
    def reminder_id(self) -> str:
        return str(self.reminder["reminder_id"])


@dataclass
class Plan:
    """What a batch asks for: messages to send, and deliveries to dead-letter with their reason."""

    sends: dict[tuple[str, str], list[Due]] = field(default_factory=lambda: defaultdict(list))
    dead: list[tuple[Due | None, str, str, str, str, bytes, str]] = field(default_factory=list)
    skipped: int = 0


def parse(raw: bytes | None) -> dict | None:
    """A reminder record's value as a dict with the fields routing needs, or None when it is malformed."""
    try:
        value = json.loads(raw) if raw is not None else None
    except (ValueError, RecursionError):
        return None
    if not isinstance(value, dict) or any(not isinstance(value.get(k), str) or not value[k] for k in REQUIRED):
        return None
    return value


def plan(records: Iterable, config: NotifyConfig, state: Callable[[str], str | None]) -> Plan:
    """Route a batch of topic records against the delivery log's states (pure but for ``state``)."""
    result, seen = Plan(), set()
    for record in records:
        origin = f"{record.topic}:{record.partition}:{record.offset}"
        reminder = parse(record.value)
        if reminder is None:
            key = delivery_key(origin, "", "malformed")
            if state(key) not in FINAL:
                result.dead.append((None, "", "", "malformed", "not a reminder record (JSON with "
                                    + ", ".join(REQUIRED) + ")", record.value or b"", origin))
            continue
        due = Due(reminder, origin, record.value)
        if due.reminder_id in seen:  # computed again and written again: the same reminder
            result.skipped += 1
            continue
        seen.add(due.reminder_id)
        _plan_one(result, due, config, state)
    return result


def _plan_one(result: Plan, due: Due, config: NotifyConfig, state: Callable[[str], str | None]) -> None:
    recipients = route(due.reminder, config)
    if not recipients:
        if state(delivery_key(due.reminder_id, "", "")) not in FINAL:
            detail = f"no rule routes department {due.reminder.get('department')!r}, leader " \
                     f"{due.reminder.get('leader')!r}, kind {due.reminder.get('kind')!r}"
            result.dead.append((due, "", "", "no_recipient", detail, due.raw, due.origin))
        return
    for name in recipients:
        for channel in config.recipients[name].channels():
            now = state(delivery_key(due.reminder_id, name, channel))
            if now in FINAL:
                result.skipped += 1
            elif now == SENDING:  # a notifier began sending it and never recorded the outcome (killed)
                result.dead.append((due, name, channel, "outcome_unknown", "a notifier started this delivery and "
                                    "did not record its outcome; it may or may not have arrived", due.raw,
                                    due.origin))
            else:
                result.sends[(name, channel)].append(due)


def reminder_topics(topic: str, partitions: int = 3, replication: int = 1) -> list[TopicSpec]:
    """The reminders topic (compacted: a reminder computed again has the same key and value), its dead-letter
    topic (kept for ever) and its delivery log."""
    compact = {"cleanup.policy": "compact", "min.insync.replicas": "1"}
    return [TopicSpec(topic, partitions, compact, replication),
            event_topics(topic, partitions, replication)[1],
            log_spec(topic, partitions, replication)]


class Notifier:
    """One notifier process: its consumer (in the group), its delivery log, its producer and its sender."""

    def __init__(self, bootstrap: str, config: NotifyConfig, topic: str = DEFAULT_TOPIC,
                 group: str = DEFAULT_GROUP, sender: Sender | None = None):
        from kafka import KafkaConsumer

        from streams.kafkaio.consumer import ISOLATION
        from streams.kafkaio.producer import event_producer
        from streams.kafkaio.security import client_config

        self.config, self.topic = config, topic
        self.owner = f"{socket.gethostname()}:{os.getpid()}"
        self.sender = sender or Sender(config)
        self.producer = event_producer(bootstrap)
        self.log = DeliveryLog(bootstrap, topic, self.producer, self.owner)
        self.consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap.split(","), group_id=group,
                                      enable_auto_commit=False, auto_offset_reset="earliest",
                                      isolation_level=ISOLATION, max_poll_interval_ms=900_000,
                                      **client_config())
        self.sent = self.dead = 0

    def run(self, stop: threading.Event, idle_exit_s: float | None = None, linger_ms: int = 500) -> None:
        """Deliver until ``stop`` is set (or nothing came for ``idle_exit_s``)."""
        started = idle_since = time.monotonic()
        log.info("notifier %s reading %s", self.owner, self.topic)
        while not stop.is_set():
            records = self.poll(linger_ms)
            if not records:
                now = time.monotonic()
                if not self.consumer.assignment() and now - started < JOIN_GRACE_S:
                    idle_since = now  # still joining: a killed member holds its partitions until its session ends
                if idle_exit_s is not None and now - idle_since > idle_exit_s:
                    break
                continue
            if self.handle(records, stop):
                self.commit()
            idle_since = time.monotonic()

    def poll(self, linger_ms: int, max_records: int = 10_000) -> list:
        """A batch: what one poll returns plus whatever keeps arriving within ``linger_ms`` (one digest per
        recipient for what a midnight computation wrote)."""
        batch = [r for rs in self.consumer.poll(timeout_ms=1000).values() for r in rs]
        while batch and len(batch) < max_records:
            more = [r for rs in self.consumer.poll(timeout_ms=linger_ms).values() for r in rs]
            if not more:
                break
            batch.extend(more)
        return batch

    def commit(self) -> None:
        """Commit the group's offsets; a failure only means another notifier will skip them via the log."""
        from kafka.errors import KafkaError

        try:
            self.consumer.commit()
        except KafkaError as e:
            log.warning("offsets not committed (%s); the delivery log keeps the batch from being sent twice", e)

    def handle(self, records: list, stop: threading.Event | None = None) -> bool:
        """Deliver a batch; returns False when stopped before its end (its offsets then stay uncommitted)."""
        self.log.catch_up()
        todo = plan(records, self.config, self.log.state)
        for due, name, channel, reason, detail, raw, origin in todo.dead:
            self.dead_letter(due, name, channel, reason, detail, raw, origin)
        for (name, channel), dues in todo.sends.items():
            if stop is not None and stop.is_set():
                return False
            self.deliver(name, channel, dues)
        log.info("batch of %d records: %d deliveries skipped (done already)", len(records), todo.skipped)
        return True

    def deliver(self, name: str, channel: str, dues: list[Due]) -> None:
        """Send the digests of one recipient's channel, recording each before it leaves and after."""
        by_id = {d.reminder_id: d for d in dues}
        limit = EMAIL_LIMIT_BYTES if channel == "email" else ROBOT_LIMIT_BYTES
        for digest in build_digests(name, [d.reminder for d in dues], limit, self.config.link_base):
            keys = [delivery_key(rid, name, channel) for rid in digest.reminder_ids]
            self.log.mark(keys, SENDING)
            try:
                attempts = self.sender.deliver(self.config.recipients[name], channel, digest)
            except DeliveryError as e:
                detail = f"{e.detail} (after {getattr(e, 'attempts', 1)} attempts)"
                for rid in digest.reminder_ids:
                    due = by_id[rid]
                    self.dead_letter(due, name, channel, e.reason, detail, due.raw, due.origin)
                continue
            self.log.mark(keys, "delivered", attempts=attempts)
            self.sent += len(keys)
            log.info("delivered %d reminders to %s by %s in %d attempt(s)", len(keys), name, channel, attempts)

    def dead_letter(self, due: Due | None, name: str, channel: str, reason: str, detail: str, raw: bytes,
                    origin: str) -> None:
        """Write an undeliverable reminder to the dead-letter topic with why, then record it as final."""
        rid = due.reminder_id if due else origin
        headers = dead_letter_headers(reason, detail, origin, "notify") + [
            ("recipient", name.encode()), ("channel", channel.encode())]
        self.producer.send(dlq_topic(self.topic), key=rid.encode(), value=raw, headers=headers)
        self.log.mark([delivery_key(rid, name, channel if due else "malformed")], "dead_lettered", reason=reason)
        self.dead += 1
        log.error("reminder %s to %r by %s dead-lettered: %s: %s", rid, name, channel or "-", reason, detail)

    def close(self) -> None:
        """Leave the group and close the clients."""
        self.consumer.close()
        self.log.close()
        self.producer.close(timeout=10)
