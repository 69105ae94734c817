"""A transactional producer the project did not write (librdkafka, through confluent-kafka), and a feed
laid out as a hold-out log of transactions: committed ones, aborted ones between them whose records
must never count, and optionally one left open at the end.

The aborted records are built to do harm if they were read: new projects that never existed, stage
advances that never happened, and records that reuse the ``event_id`` of a *later* committed record
with other content (read as facts, they would turn that committed record into a conflict).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field

from streams.contract.events import key_of


@dataclass
class TransactionalLog:
    """What was written: the committed feed lines in order, the aborted ones, and the open transaction."""

    committed: list[bytes] = field(default_factory=list)
    aborted: list[bytes] = field(default_factory=list)
    transactions: int = 0
    open_producer: object | None = None  #: the producer holding a transaction open, if one was left open
    open_records: int = 0

    def write_committed_feed(self, path) -> None:
        """The committed records as a JSON Lines file: the independent reference for every reader."""
        path.write_bytes(b"".join(line + b"\n" for line in self.committed))

    def abort_open(self) -> None:
        if self.open_producer is not None:
            self.open_producer.abort_transaction(30)
            self.open_producer = None


def _producer(bootstrap: str, transactional_id: str):
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": bootstrap, "transactional.id": transactional_id,
                         "enable.idempotence": True, "linger.ms": 5, "transaction.timeout.ms": 300_000})
    producer.init_transactions(30)
    return producer


def _key(line: bytes) -> bytes | None:
    """The record's key as the contract has it (a project's project_id, a trip's trip_id: §8), as ingest keys it."""
    event = _event(line)
    key = key_of(event) if event else None
    return key.encode() if key else None


def _event(line: bytes) -> dict | None:
    """The line's JSON object, or None (a feed may hold malformed lines on purpose)."""
    try:
        event = json.loads(line)
    except ValueError:
        return None
    return event if isinstance(event, dict) else None


def harmful_records(committed: list[bytes], at: int, n: int) -> list[bytes]:
    """``n`` records that must never count: phantom projects, phantom advances of real projects, and
    twins of later committed records (same project and event id, other content)."""
    later = [e for e in map(_event, committed[at + 40:at + 400]) if e and e.get("event_type") == "project_planned"
             and isinstance(e.get("event_id"), str)]
    real = [e for e in map(_event, committed[max(0, at - 200):at]) if e and e.get("event_type") == "project_planned"
            and isinstance(e.get("occurred_at"), str) and isinstance(e.get("project_id"), str)]
    out: list[dict] = []
    for i in range(n):
        kind = i % 3
        if kind == 0 or (kind == 1 and not real) or (kind == 2 and not later):
            out.append({"event_id": str(uuid.uuid4()), "event_type": "project_planned", "schema_version": 2,
                        "project_id": f"PHANTOM-{at}-{i}", "occurred_at": "2024-03-01T09:00:00+08:00",
                        "recorded_at": "2024-03-01T10:00:00+08:00", "name": "从未存在的项目", "industry": "新材料"})
        elif kind == 1:
            base = real[i % len(real)]
            out.append({"event_id": str(uuid.uuid4()), "event_type": "operation_started", "schema_version": 2,
                        "project_id": base["project_id"], "occurred_at": base["occurred_at"],
                        "recorded_at": base.get("recorded_at", base["occurred_at"])})
        else:
            twin = later[i % len(later)]
            out.append({**twin, "name": "被回滚的改名", "industry": "回滚行业"})
    return [json.dumps(e, ensure_ascii=False, separators=(",", ":")).encode() for e in out]


def write_in_transactions(bootstrap: str, topic: str, lines: list[bytes], *, per_transaction: int = 40,
                          abort_every: int = 5, aborted_size: int = 14, leave_open: int = 0) -> TransactionalLog:
    """``lines`` in committed transactions of ``per_transaction`` records, an aborted transaction of
    ``aborted_size`` harmful records after every ``abort_every``-th; with ``leave_open``, that many more
    harmful records in a transaction left open (the returned log holds its producer: abort it when done)."""
    written = TransactionalLog()
    producer = _producer(bootstrap, f"test-tx-{uuid.uuid4().hex[:8]}")
    for n, start in enumerate(range(0, len(lines), per_transaction), start=1):
        chunk = lines[start:start + per_transaction]
        producer.begin_transaction()
        for line in chunk:
            producer.produce(topic, value=line, key=_key(line))
        producer.commit_transaction(30)
        written.committed += chunk
        written.transactions += 1
        if abort_every and n % abort_every == 0:
            harm = harmful_records(lines, start, aborted_size)
            producer.begin_transaction()
            for line in harm:
                producer.produce(topic, value=line, key=_key(line))
            producer.flush(30)  # on the broker, then aborted: the markers and the records take offsets
            producer.abort_transaction(30)
            written.aborted += harm
    if leave_open:
        holder = _producer(bootstrap, f"test-open-{uuid.uuid4().hex[:8]}")
        holder.begin_transaction()
        for line in harmful_records(lines, len(lines) - 1, leave_open):
            holder.produce(topic, value=line, key=_key(line))
        holder.flush(30)
        written.open_producer, written.open_records = holder, leave_open
    return written
