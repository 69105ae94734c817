"""A project's whole history from the log: every record of it on the event topic (one partition: the one its
key goes to) and every dead letter naming it (one partition of ``<topic>.dlq``), each with where it came from.

The outcome of each topic record (accepted, duplicate, event_id_conflict) is the core's (:func:`settle`), over
the project's own records: a project's records are all in its partition, and acceptance is judged per
(project_id, event_id).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field

from kafka.partitioner.default import murmur2

from streams.config import dlq_topic
from streams.contract.schemas import parse_timestamp
from streams.core.clock import CST
from streams.core.log import LogBuilder, settle
from streams.kafkaio import records

log = logging.getLogger(__name__)

#: A page lists at most this many records of one project (the newest kept).
HISTORY_LIMIT = 2000
TYPES_ZH = {"project_planned": "入库（谋划）", "negotiation_started": "开始洽谈", "contract_signed": "签约",
            "construction_started": "开工", "construction_completed": "竣工", "operation_started": "投产",
            "project_dropped": "终止", "investment_revised": "调整投资", "project_reassigned": "调整责任",
            "milestone_planned": "计划节点", "issue_raised": "提出问题", "issue_resolved": "问题办结"}
OUTCOMES_ZH = {"accepted": "已接收", "duplicate": "重复", "event_id_conflict": "编号冲突"}


def key_partition(key: str, partitions: int) -> int:
    """The partition Kafka's default partitioner gives a keyed record (murmur2, as every producer here uses)."""
    return (murmur2(key.encode()) & 0x7FFFFFFF) % partitions


@dataclass
class Entry:
    """One record of a project's history."""

    position: str  # topic:partition:offset
    outcome: str  # accepted, duplicate, event_id_conflict, or a rejection reason
    rejected: bool
    event_type: str | None = None
    occurred_at: str | None = None
    recorded_at: str | None = None
    source: str | None = None
    origin: str | None = None
    detail: str | None = None
    event: dict = field(default_factory=dict)

    @property
    def type_zh(self) -> str:
        if self.event_type is None and "cells" in self.event and "sheet" in self.event:
            return f"台账行（{self.event['sheet']} 第{self.event.get('row')}行）"  # a ledger row the import rejected
        return TYPES_ZH.get(self.event_type or "", self.event_type or "（无法解析）")

    @property
    def outcome_zh(self) -> str:
        return OUTCOMES_ZH.get(self.outcome, f"退回：{self.outcome}")


def _parsed(raw: bytes) -> dict:
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        return {}
    return value if isinstance(value, dict) else {}


def received_cst(timestamp_ms: float | None) -> str:
    """A record's Kafka timestamp (when the platform received it) in CST, to the second."""
    return records.received_at(timestamp_ms).astimezone(CST).isoformat(timespec="seconds")


def _entry(record, outcome: str, rejected: bool, detail: str | None = None) -> Entry:
    event = _parsed(record.value or b"")
    text = (lambda k: event.get(k) if isinstance(event.get(k), str) else None)
    return Entry(position=f"{record.topic}:{record.partition}:{record.offset}", outcome=outcome, rejected=rejected,
                 event_type=text("event_type"), occurred_at=text("occurred_at"),
                 recorded_at=text("recorded_at") or received_cst(record.timestamp),
                 source=text("source"), origin=records.header_value(record, "origin"), detail=detail or None,
                 event=event)


def _partition_records(bootstrap: str, topic: str, key: str) -> list:
    """The committed records of ``topic`` keyed ``key``, read from the one partition that key goes to."""
    from kafka import KafkaConsumer

    from streams.kafkaio.consumer import read_topic
    from streams.kafkaio.security import client_config

    probe = KafkaConsumer(bootstrap_servers=bootstrap.split(","), **client_config())
    try:
        partitions = probe.partitions_for_topic(topic)
    finally:
        probe.close()
    if not partitions:
        return []
    wanted = key.encode()
    partition = key_partition(key, len(partitions))
    return [r for r in read_topic(bootstrap, topic, partitions=[partition]) if r.key == wanted]


def _when(entry: Entry) -> tuple:
    """Sort key: by occurred_at as a time (any offset), unreadable ones last, then by position."""
    at = parse_timestamp(entry.occurred_at) if entry.occurred_at else None
    return (at is None, at.timestamp() if at else 0.0, entry.position)


def history(bootstrap: str, topic: str, project_id: str) -> list[Entry]:
    """Every record of a project, accepted or not, by ``occurred_at`` (unreadable ones last)."""
    on_topic = _partition_records(bootstrap, topic, project_id)
    builder = LogBuilder()
    for r in on_topic:
        builder.add(records.arrival_seq(r.partition, r.offset), r.value or b"", records.received_at(r.timestamp),
                    stamp_missing=True)
    settled = settle(builder.frame()) if on_topic else None
    outcome = dict(zip(settled["seq"], settled["outcome"])) if settled is not None else {}
    entries = [_entry(r, outcome.get(records.arrival_seq(r.partition, r.offset), "accepted"), False)
               for r in on_topic]
    for r in _partition_records(bootstrap, dlq_topic(topic), project_id):
        reason, detail = records.dead_letter_reason(r)
        entries.append(_entry(r, reason, True, detail))
    entries.sort(key=_when)
    log.info("history of %s: %d records on %s, %d rejected", project_id, len(on_topic), topic,
             sum(e.rejected for e in entries))
    return entries[-HISTORY_LIMIT:]
