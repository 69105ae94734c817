"""``funnel ingest``: feed files → the event topic, rejected records → ``<topic>.dlq``.

Each record is checked for the stateless reasons of DOMAIN.md §3 by the one
validator in :mod:`streams.contract.acceptance`. Valid records go to the topic in
file order, keyed by project_id; rejected ones go, bytes untouched, to the
dead-letter topic with ``reason``, ``detail`` and ``origin`` headers. Duplicates
are not dropped here: the fold settles them.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable, Iterable

from streams.config import dlq_topic
from streams.contract.acceptance import Rejection, check_event
from streams.core.clock import now_cst
from streams.feeds import FeedRecord, read_feed
from streams.kafkaio.records import dead_letter_headers

log = logging.getLogger(__name__)


@dataclass
class Undelivered:
    origin: str
    error: str


def _no_quality_yet():
    from streams.quality.gate import QualityReport  # GX itself is imported only when a batch is checked

    return QualityReport()


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
    #: records read but never sent because ingest stopped at a delivery failure
    not_sent: int = 0
    quality: "QualityReport" = field(default_factory=_no_quality_yet)  #: the feed suite's merged results

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
            "undelivered": len(self.undelivered) + self.not_sent,
            "first_undelivered": first and {"origin": first.origin, "error": first.error},
            "ok": self.ok,
            "quality": self.quality.merged().as_dict(),
        }


def _key(record: FeedRecord) -> bytes | None:
    pid = record.parsed.get("project_id") if isinstance(record.parsed, dict) else None
    return pid.encode() if isinstance(pid, str) and pid else None


def _value(record: FeedRecord, event: dict) -> bytes:
    # JSON Lines records that needed no stamp keep their bytes; CSV rows become JSON.
    if event is record.parsed and record.is_json:
        return record.raw
    return json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()


POLICIES = ("warn", "quarantine", "reject", "off")


class Ingest:
    """Sends records through one producer and accounts for every one of them.

    Records are checked one by one against the contract, then batch by batch with the
    feed quality suite under a policy: ``warn`` (report only), ``quarantine`` (rows failing
    a critical expectation go to the DLQ with reason ``quality:<expectation>``), ``reject``
    (a failing batch goes to the DLQ whole) or ``off``.
    """

    def __init__(self, producer, topic: str, clock: Callable[[], datetime] = now_cst,
                 quality: str = "warn", batch_size: int = 10_000):
        self.producer, self.topic, self.dlq, self.clock = producer, topic, dlq_topic(topic), clock
        self.quality, self.batch_size = quality, batch_size
        self.report = IngestReport()
        self._pending: dict[int, str] = {}  # send sequence number -> origin, until the broker answers
        self._sent = 0

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
            log.error("%s could not be delivered: %s: %s", origin, type(exc).__name__, exc)
        return errback

    def _send(self, topic: str, record: FeedRecord, value: bytes, headers: list[tuple[str, bytes]]) -> None:
        self._sent += 1
        seq = self._sent
        self._pending[seq] = record.origin
        try:
            future = self.producer.send(topic, key=_key(record), value=value, headers=headers)
        except Exception as exc:  # e.g. no metadata within max_block_ms: counted, and ingest stops
            self._on_failed(seq, record.origin)(exc)
            return
        future.add_callback(self._on_delivered(seq, topic == self.dlq))
        future.add_errback(self._on_failed(seq, record.origin))

    def _dead_letter(self, record: FeedRecord, reason: str, detail: str) -> None:
        self.report.rejected[reason] += 1
        log.warning("%s dead-lettered to %s: %s (%s)", record.origin, self.dlq, reason, detail)
        self._send(self.dlq, record, record.raw, dead_letter_headers(reason, detail, record.origin, "ingest"))

    def dead_letter(self, record: FeedRecord, reason: str, detail: str) -> None:
        """A record rejected before the contract check (e.g. a ledger row that does not read): received,
        and sent to the dead-letter topic with its reason."""
        self.report.received += 1
        self._dead_letter(record, reason, detail)

    def _holds(self, batch: list[tuple[FeedRecord, dict | Rejection]]) -> dict[int, tuple[str, str]]:
        """Rows of the batch the quality policy keeps out of the topic: row -> (reason, detail)."""
        if self.quality == "off":
            return {}
        from streams.quality import frames, gate

        rows = [frames.feed_row(i, r.origin, r.parsed, v) for i, (r, v) in enumerate(batch)]
        checked = gate.check_feed_rows(rows)
        self.report.quality.extend(checked)
        if self.quality == "warn":
            return {}
        valid = {i for i, (_, v) in enumerate(batch) if not isinstance(v, Rejection)}
        failing: dict[int, tuple[str, str]] = {}
        for f in checked.failures:
            if f.severity != "critical":
                continue
            for row in set(f.rows) & valid:
                failing.setdefault(row, (f"quality:{f.expectation}", f"{f.column} failed {f.expectation}"))
        if self.quality == "quarantine" or not failing:
            return failing
        first = next(iter(failing.values()))
        return {i: ("quality:batch_rejected", f"batch rejected: {first[1]}") for i in valid}  # policy: reject

    def _send_batch(self, batch: list[tuple[FeedRecord, dict | Rejection]]) -> None:
        holds = self._holds(batch)
        for i, (record, verdict) in enumerate(batch):
            if self.report.undelivered:
                return
            if isinstance(verdict, Rejection):
                self._dead_letter(record, verdict.reason, verdict.detail)
            elif i in holds:
                self._dead_letter(record, *holds[i])
            else:
                self.report.produced += 1
                self._send(self.topic, record, _value(record, verdict), [("origin", record.origin.encode())])

    def run(self, records: Iterable[FeedRecord], on_progress: Callable[[FeedRecord], None] = lambda r: None,
            flush_timeout: float = 180.0) -> IngestReport:
        """Check and send records batch by batch until the end or the first delivery failure."""
        batch: list[tuple[FeedRecord, dict | Rejection]] = []
        for record in records:
            if self.report.undelivered:
                break  # fail loudly rather than pile up more undeliverable records
            self.report.received += 1
            parsed = record.parsed
            batch.append((record, parsed if isinstance(parsed, Rejection) else check_event(parsed, self.clock())))
            if len(batch) >= self.batch_size:
                self._send_batch(batch)
                batch = []
            on_progress(record)
        if batch:
            self._send_batch(batch)
        from kafka.errors import KafkaTimeoutError

        try:
            self.producer.flush(timeout=flush_timeout)
        except KafkaTimeoutError as e:
            # records still pending are reported below as undelivered, never silently lost
            first = self._pending[min(self._pending)] if self._pending else "none"
            log.error("the broker did not confirm %d record(s) within %.0f s (the first: %s): %s",
                      len(self._pending), flush_timeout, first, e)
        for seq, origin in list(self._pending.items()):
            self.report.undelivered.setdefault(seq, Undelivered(origin, "no answer from the broker"))
        unsent = self.report.received - self._sent
        if unsent and self.report.undelivered:
            self.report.not_sent = unsent
        return self.report


def feed_records(paths: Iterable[str | Path], start_line: int = 1) -> Iterable[FeedRecord]:
    """The records of several feeds in order; ``start_line`` skips the first lines of the first feed."""
    for i, path in enumerate(paths):
        for record in read_feed(path):
            if i == 0 and record.line < start_line:
                continue
            yield record
