"""``funnel ingest``: feed files → the event topic, rejected records → ``<topic>.dlq``.

Each record is checked for the stateless reasons of DOMAIN.md §3 by the one
validator in :mod:`streams.contract.acceptance`. Valid records go to the topic in
file order, keyed by project_id; rejected ones go, bytes untouched, to the
dead-letter topic with ``reason``, ``detail`` and ``origin`` headers. Duplicates
are not dropped here: the fold settles them.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, Iterable

from streams.config import dlq_topic
from streams.contract.acceptance import Rejection, check_event
from streams.feeds import FeedRecord, read_feed

CST = timezone(timedelta(hours=8), "CST")


@dataclass
class Undelivered:
    origin: str
    error: str


@dataclass
class IngestReport:
    """Every record received is produced or rejected; each send ends delivered or undelivered."""

    received: int = 0
    produced: int = 0
    rejected: Counter = field(default_factory=Counter)
    delivered: int = 0
    dead_lettered: int = 0
    #: send sequence number -> what went wrong; records still pending at the end count too
    undelivered: dict[int, Undelivered] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.undelivered and self.delivered + self.dead_lettered == self.received

    def first_undelivered(self) -> Undelivered | None:
        return self.undelivered[min(self.undelivered)] if self.undelivered else None

    def as_dict(self) -> dict:
        first = self.first_undelivered()
        return {
            "received": self.received,
            "produced": self.produced,
            "rejected": dict(sorted(self.rejected.items())),
            "delivered": self.delivered,
            "dead_lettered": self.dead_lettered,
            "undelivered": len(self.undelivered),
            "first_undelivered": first and {"origin": first.origin, "error": first.error},
            "ok": self.ok,
        }


def _key(record: FeedRecord) -> bytes | None:
    pid = record.parsed.get("project_id") if isinstance(record.parsed, dict) else None
    return pid.encode() if isinstance(pid, str) and pid else None


def _value(record: FeedRecord, event: dict) -> bytes:
    # JSON Lines records that needed no stamp keep their bytes; CSV rows become JSON.
    if event is record.parsed and record.is_json:
        return record.raw
    return json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()


class Ingest:
    """Sends records through one producer and accounts for every one of them."""

    def __init__(self, producer, topic: str, clock: Callable[[], datetime] = lambda: datetime.now(CST)):
        self.producer, self.topic, self.dlq, self.clock = producer, topic, dlq_topic(topic), clock
        self.report = IngestReport()
        self._pending: dict[int, str] = {}  # send sequence number -> origin, until the broker answers

    def _on_delivered(self, seq: int, is_dead_letter: bool):
        def callback(_metadata) -> None:
            del self._pending[seq]
            if is_dead_letter:
                self.report.dead_lettered += 1
            else:
                self.report.delivered += 1
        return callback

    def _on_failed(self, seq: int, origin: str):
        def errback(exc: BaseException) -> None:
            self._pending.pop(seq, None)
            self.report.undelivered[seq] = Undelivered(origin, f"{type(exc).__name__}: {exc}")
        return errback

    def _send(self, topic: str, record: FeedRecord, value: bytes, headers: list[tuple[str, bytes]]) -> None:
        seq = self.report.received
        self._pending[seq] = record.origin
        try:
            future = self.producer.send(topic, key=_key(record), value=value, headers=headers)
        except Exception as exc:  # e.g. no metadata within max_block_ms: counted, and ingest stops
            self._on_failed(seq, record.origin)(exc)
            return
        future.add_callback(self._on_delivered(seq, topic == self.dlq))
        future.add_errback(self._on_failed(seq, record.origin))

    def send(self, record: FeedRecord) -> None:
        """Check one record and send it to the topic or the dead-letter topic."""
        self.report.received += 1
        origin = [("origin", record.origin.encode())]
        verdict = record.parsed if isinstance(record.parsed, Rejection) else check_event(record.parsed, self.clock())
        if isinstance(verdict, Rejection):
            self.report.rejected[verdict.reason] += 1
            headers = [("reason", verdict.reason.encode()), ("detail", verdict.detail.encode())] + origin
            self._send(self.dlq, record, record.raw, headers)
        else:
            self.report.produced += 1
            self._send(self.topic, record, _value(record, verdict), origin)

    def run(self, records: Iterable[FeedRecord], on_progress: Callable[[FeedRecord], None] = lambda r: None,
            flush_timeout: float = 180.0) -> IngestReport:
        """Send records until the end or the first delivery failure, then wait for the broker's answers."""
        for record in records:
            if self.report.undelivered:
                break  # fail loudly rather than pile up more undeliverable records
            self.send(record)
            on_progress(record)
        from kafka.errors import KafkaTimeoutError

        try:
            self.producer.flush(timeout=flush_timeout)
        except KafkaTimeoutError:
            pass  # records still pending are reported below as undelivered, never silently lost
        for seq, origin in list(self._pending.items()):
            self.report.undelivered.setdefault(seq, Undelivered(origin, "no answer from the broker"))
        return self.report


def feed_records(paths: Iterable[str | Path], start_line: int = 1) -> Iterable[FeedRecord]:
    """The records of several feeds in order; ``start_line`` skips the first lines of the first feed."""
    for i, path in enumerate(paths):
        for record in read_feed(path):
            if i == 0 and record.line < start_line:
                continue
            yield record
