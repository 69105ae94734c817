"""Producing events and dead letters with kafka-python: idempotent, ``acks=all``, keyed by project;
transactional when given a ``transactional.id`` (``funnel ingest`` and ``funnel ledger import``)."""

from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from streams.kafkaio.topics import MAX_MESSAGE_BYTES

log = logging.getLogger(__name__)

#: the broker's default ``transaction.max.timeout.ms``: a longer transaction timeout is refused
BROKER_MAX_TRANSACTION_TIMEOUT_MS = 900_000
#: what a transaction may take beyond the delivery timeout of its records (its commit, the quality check is before)
TRANSACTION_MARGIN_MS = 30_000


@dataclass(frozen=True)
class DeliverySettings:
    """How long to keep retrying before a record counts as undelivered."""

    delivery_timeout_ms: int = 120_000
    max_block_ms: int = 60_000
    request_timeout_ms: int = 30_000
    linger_ms: int = 20
    batch_size: int = 256 * 1024

    @property
    def transaction_timeout_ms(self) -> int:
        # Longer than a batch's records may retry, so the coordinator never aborts a batch still being
        # delivered; no longer than needed, because a transaction left open by a killed ingest holds back
        # every read_committed reader of its partitions until it times out (or a re-run fences it).
        return min(self.delivery_timeout_ms + TRANSACTION_MARGIN_MS, BROKER_MAX_TRANSACTION_TIMEOUT_MS)


def event_producer(bootstrap: str, settings: DeliverySettings = DeliverySettings(),
                   transactional_id: str | None = None):
    """A producer for the event and dead-letter topics. Connects when created: call it late.

    With ``transactional_id`` it is a transactional producer whose transactions are already initialised:
    any earlier producer with that id (a killed run's zombie) is fenced, and its open transaction aborted.
    """
    from kafka import KafkaProducer

    from streams.kafkaio.security import client_config

    transactional = {"transactional_id": transactional_id,
                     "transaction_timeout_ms": settings.transaction_timeout_ms} if transactional_id else {}
    producer = KafkaProducer(
        bootstrap_servers=bootstrap.split(","),
        **client_config(),
        acks="all",
        enable_idempotence=True,  # retries never duplicate or reorder a partition
        linger_ms=settings.linger_ms,
        batch_size=settings.batch_size,
        max_request_size=MAX_MESSAGE_BYTES,
        delivery_timeout_ms=settings.delivery_timeout_ms,
        request_timeout_ms=min(settings.request_timeout_ms, settings.delivery_timeout_ms - settings.linger_ms - 1),
        max_block_ms=settings.max_block_ms,
        **transactional,
    )
    if transactional_id:
        try:
            producer.init_transactions()  # bounded by max_block_ms
        except BaseException:
            producer.close(timeout=0)
            raise
        log.info("transactional producer %r ready (earlier producers with this id are fenced)", transactional_id)
    return producer


def is_transactional(producer) -> bool:
    """Whether ``producer`` writes in transactions (a kafka-python producer given a ``transactional_id``)."""
    config = getattr(producer, "config", None)
    return isinstance(config, dict) and bool(config.get("transactional_id"))


def transactional_id(command: str, topic: str, inputs: Iterable[str | Path]) -> str:
    """The stable ``transactional.id`` of ``command`` writing ``inputs`` (file names) to ``topic``.

    Stable per (topic, inputs), so a re-run of the same ingest (resumed with --start-line, from another
    directory or machine) fences the run it replaces: a killed run's zombie can no longer commit, and its
    open transaction is aborted at once instead of holding back readers until it times out. Only the
    files' names count (not their directories), because a re-run may see the same feed under another path;
    two different ingests into one topic at the same time need different names (or --transactional-id).
    """
    names = [("stdin" if str(p) == "-" else Path(p).name) for p in inputs]
    digest = hashlib.sha256("\n".join(names).encode()).hexdigest()[:16]
    return f"funnel-{command}:{topic}:{digest}"


def finish_transaction(producer, commit: bool, timeout: float) -> None:
    """Commit (or abort) the open transaction, waiting at most ``timeout`` seconds.

    kafka-python's ``commit_transaction`` and ``abort_transaction`` wait without a bound (its sender retries
    an unanswered EndTxn for ever), and a command must end; past the timeout this raises
    :class:`kafka.errors.KafkaTimeoutError`, and the transaction's outcome is unknown (the coordinator
    aborts it after the transaction timeout unless the EndTxn request got through).
    """
    from kafka.errors import KafkaTimeoutError

    outcome: list[BaseException | None] = []

    def finish() -> None:
        try:
            if commit:
                producer.commit_transaction()
            else:
                producer.abort_transaction()
            outcome.append(None)
        except BaseException as exc:  # handed to the caller's thread below
            outcome.append(exc)

    worker = threading.Thread(target=finish, name="funnel-end-transaction", daemon=True)
    worker.start()
    worker.join(timeout)
    if not outcome:
        raise KafkaTimeoutError(f"the transaction coordinator did not answer the {'commit' if commit else 'abort'} "
                                f"within {timeout:.0f} s")
    if outcome[0] is not None:
        raise outcome[0]
