"""``funnel ingest``: feed files → the event topic, rejected records → ``<topic>.dlq``.

Each record is checked for the stateless reasons of DOMAIN.md §3 by the one
validator in :mod:`streams.contract.acceptance`. Valid records go to the topic in
file order, keyed by project_id (a trip's by trip_id); rejected ones go, bytes untouched, to the
dead-letter topic with ``reason``, ``detail`` and ``origin`` headers. Duplicates
are not dropped here: the fold settles them.

With a transactional producer (the default of ``funnel ingest`` and ``funnel ledger import``) each
batch, its events and its dead letters, is one Kafka transaction: a ``read_committed`` reader sees a
batch whole or not at all, and a batch that fails is aborted and counted undelivered, so a re-run
resumes at the first line of the first batch not committed (docs/transactions-ingest.md).
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, Iterable

from streams.config import dlq_topic
from streams.contract.acceptance import Rejection, check_event
from streams.contract.events import key_of
from streams.core.clock import now_cst
from streams.feeds import FeedRecord
from streams.kafkaio.producer import finish_transaction, is_transactional
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
    key = key_of(record.parsed) if isinstance(record.parsed, dict) else None  # a trip's record: its trip_id (§8)
    return key.encode() if key else None


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

    With a transactional producer (:func:`streams.kafkaio.producer.event_producer` given a
    ``transactional_id``) each batch is one transaction, and its records count as delivered or
    dead-lettered only once it commits; without one, each record counts when the broker acknowledges it.
    """

    def __init__(self, producer, topic: str, clock: Callable[[], datetime] = now_cst,
                 quality: str = "warn", batch_size: int = 10_000):
        self.producer, self.topic, self.dlq, self.clock = producer, topic, dlq_topic(topic), clock
        self.quality, self.batch_size = quality, batch_size
        self.transactional = is_transactional(producer)
        self.report = IngestReport()
        self._pending: dict[int, str] = {}  # send sequence number -> origin, until the broker answers
        self._sent = 0
        #: send sequence number -> (origin, is a dead letter) of every record sent in the open transaction
        self._in_transaction: dict[int, tuple[str, bool]] = {}
        #: dead letters received before any batch (a ledger's rejected rows), sent in the first transaction
        self._queued: list[tuple[FeedRecord, str, str]] = []
        self._timeout = 180.0  # seconds a batch's flush, commit or abort may take (run's flush_timeout)

    def _on_delivered(self, seq: int, is_dead_letter: bool):
        def callback(_metadata) -> None:
            del self._pending[seq]
            if self.transactional:
                return  # acknowledged, but a reader sees it only once its transaction commits: counted then
            if is_dead_letter:
                self.report.dead_lettered += 1
            else:
                self.report.delivered += 1
        return callback

    def _on_failed(self, seq: int, origin: str):
        def errback(exc: BaseException) -> None:
            self._pending.pop(seq, None)
            self.report.undelivered[seq] = Undelivered(origin, f"{type(exc).__name__}: {exc}")
            # in a transaction the whole batch fails with it: logged once, by _abort, not per record
            (log.debug if self.transactional else log.error)("%s could not be delivered: %s: %s",
                                                             origin, type(exc).__name__, exc)
        return errback

    def _send(self, topic: str, record: FeedRecord, value: bytes, headers: list[tuple[str, bytes]]) -> None:
        self._sent += 1
        seq = self._sent
        self._pending[seq] = record.origin
        if self.transactional:
            self._in_transaction[seq] = (record.origin, topic == self.dlq)
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
        and sent to the dead-letter topic with its reason (in a transaction: with the first batch)."""
        self.report.received += 1
        if self.transactional:
            self._queued.append((record, reason, detail))
        else:
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

    def _send_batch(self, batch: list[tuple[FeedRecord, dict | Rejection]], holds: dict[int, tuple[str, str]]
                    ) -> None:
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

    def _deliver(self, batch: list[tuple[FeedRecord, dict | Rejection]]) -> None:
        """Check one batch with the quality suite and send it: in a transaction of its own if transactional."""
        if self.report.undelivered:
            return
        holds = self._holds(batch) if batch else {}  # before the transaction opens: the suite may take seconds
        if not self.transactional:
            self._send_batch(batch, holds)
            return
        first = self._queued[0][0] if self._queued else batch[0][0]
        try:
            self.producer.begin_transaction()
        except Exception as exc:  # the producer is in an error state: this batch's first record fails with it
            self._sent += 1
            self._on_failed(self._sent, first.origin)(exc)
            log.error("batch from %s: no transaction could begin: %s: %s", first.origin, type(exc).__name__, exc)
            return
        for record, reason, detail in self._queued:
            self._dead_letter(record, reason, detail)
        self._queued.clear()
        self._send_batch(batch, holds)
        self._settle_transaction(first.origin)

    def _settle_transaction(self, first: str) -> None:
        """Commit the open transaction if every record of it was acknowledged, else abort it."""
        from kafka.errors import KafkaTimeoutError

        error: str | None = None
        try:
            self.producer.flush(timeout=self._timeout)  # inside a transaction: waits for every acknowledgement
        except KafkaTimeoutError as exc:
            error = f"the broker did not acknowledge every record within {self._timeout:.0f} s ({exc})"
        failed = self._first_failure()
        if error is None and failed is None:
            try:
                finish_transaction(self.producer, commit=True, timeout=self._timeout)
            except Exception as exc:  # fenced by a newer run, aborted by the coordinator, no answer
                error = f"the commit failed: {type(exc).__name__}: {exc}"
                if isinstance(exc, KafkaTimeoutError):
                    error += " (its outcome is unknown: if it committed, a re-run's copies are duplicates)"
            else:
                self._count_committed(first)
                return
        self._abort(first, error or f"{failed.origin}: {failed.error}")

    def _first_failure(self) -> Undelivered | None:
        failed = [seq for seq in self._in_transaction if seq in self.report.undelivered]
        return self.report.undelivered[min(failed)] if failed else None

    def _count_committed(self, first: str) -> None:
        dead = sum(is_dead_letter for _, is_dead_letter in self._in_transaction.values())
        self.report.dead_lettered += dead
        self.report.delivered += len(self._in_transaction) - dead
        log.debug("batch from %s committed: %d record(s), %d of them dead letters",
                  first, len(self._in_transaction), dead)
        self._in_transaction.clear()

    def _abort(self, first: str, error: str) -> None:
        """Abort the open transaction and count each of its records undelivered; ingest stops after it."""
        log.error("batch from %s not committed (%d record(s) sent in it): %s; aborting its transaction",
                  first, len(self._in_transaction), error)
        try:
            finish_transaction(self.producer, commit=False, timeout=self._timeout)
        except Exception as exc:
            # fenced or unanswered: the coordinator aborts it when a newer producer with this
            # transactional.id starts (the re-run) or when the transaction times out
            log.error("batch from %s: the abort failed too (%s: %s); the coordinator aborts the transaction "
                      "when a re-run starts or when it times out", first, type(exc).__name__, exc)
        seqs = sorted(self._in_transaction)
        for seq in seqs:
            origin = self._in_transaction[seq][0]
            self.report.undelivered.setdefault(seq, Undelivered(origin, f"transaction aborted: {error}"))
        if seqs:  # the first undelivered record is the batch's first, with the batch's error
            self.report.undelivered[seqs[0]] = Undelivered(first, f"batch not committed: {error}")
        self._in_transaction.clear()

    def run(self, records: Iterable[FeedRecord], on_progress: Callable[[FeedRecord], None] = lambda r: None,
            flush_timeout: float = 180.0) -> IngestReport:
        """Check and send records batch by batch until the end or the first delivery failure."""
        self._timeout = flush_timeout
        batch: list[tuple[FeedRecord, dict | Rejection]] = []
        for record in records:
            if self.report.undelivered:
                break  # fail loudly rather than pile up more undeliverable records
            self.report.received += 1
            parsed = record.parsed
            batch.append((record, parsed if isinstance(parsed, Rejection) else check_event(parsed, self.clock())))
            if len(batch) >= self.batch_size:
                self._deliver(batch)
                batch = []
            on_progress(record)
        if batch or self._queued:
            self._deliver(batch)
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

