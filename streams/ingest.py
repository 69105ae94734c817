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
    """Every record received ends in exactly one count: produced, rejected, or undelivered."""

    received: int = 0
    produced: int = 0
    rejected: Counter = field(default_factory=Counter)
    delivered: int = 0
    dead_lettered: int = 0
    undelivered: list[Undelivered] = field(default_factory=list)
    last_origin: str | None = None

    @property
    def ok(self) -> bool:
        return not self.undelivered and self.delivered == self.produced and self.dead_lettered == sum(
            self.rejected.values())

    def first_undelivered(self) -> Undelivered | None:
        def order(u: Undelivered) -> tuple[str, int]:
            name, _, line = u.origin.rpartition(":")
            return name, int(line)
        return min(self.undelivered, key=order, default=None)

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

    def _on_delivered(self, is_dead_letter: bool):
        def callback(_metadata) -> None:
            if is_dead_letter:
                self.report.dead_lettered += 1
            else:
                self.report.delivered += 1
        return callback

    def _on_failed(self, origin: str):
        def errback(exc: BaseException) -> None:
            self.report.undelivered.append(Undelivered(origin, f"{type(exc).__name__}: {exc}"))
        return errback

    def _send(self, topic: str, record: FeedRecord, value: bytes, headers: list[tuple[str, bytes]]) -> None:
        try:
            future = self.producer.send(topic, key=_key(record), value=value, headers=headers)
        except Exception as exc:  # e.g. no metadata within max_block_ms: counted, ingest stops
            self._on_failed(record.origin)(exc)
            return
        future.add_callback(self._on_delivered(topic == self.dlq))
        future.add_errback(self._on_failed(record.origin))

    def send(self, record: FeedRecord) -> None:
        """Check one record and send it to the topic or the dead-letter topic."""
        self.report.received += 1
        self.report.last_origin = record.origin
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
            flush_timeout: float | None = None) -> IngestReport:
        """Send records until the end or the first delivery failure, then flush."""
        for record in records:
            if self.report.undelivered:
                break  # fail loudly rather than pile up more undeliverable records
            self.send(record)
            on_progress(record)
        self.producer.flush(timeout=flush_timeout)
        return self.report


def feed_records(paths: Iterable[str | Path], start_line: int = 1) -> Iterable[FeedRecord]:
    """The records of several feeds in order; ``start_line`` skips the first lines of the first feed."""
    for i, path in enumerate(paths):
        for record in read_feed(path):
            if i == 0 and record.line < start_line:
                continue
            yield record
