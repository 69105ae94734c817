"""Producing events and dead letters with kafka-python: idempotent, ``acks=all``, keyed by project."""

from __future__ import annotations

from dataclasses import dataclass

from streams.kafkaio.topics import MAX_MESSAGE_BYTES


@dataclass(frozen=True)
class DeliverySettings:
    """How long to keep retrying before a record counts as undelivered."""

    delivery_timeout_ms: int = 120_000
    max_block_ms: int = 60_000
    request_timeout_ms: int = 30_000
    linger_ms: int = 20
    batch_size: int = 256 * 1024


def event_producer(bootstrap: str, settings: DeliverySettings = DeliverySettings()):
    """A producer for the event and dead-letter topics. Connects when created: call it late."""
    from kafka import KafkaProducer

    from streams.kafkaio.security import client_config

    return KafkaProducer(
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
    )
