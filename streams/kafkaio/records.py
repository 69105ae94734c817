"""The rules every reader and writer of the event and dead-letter topics shares.

Replay, the live worker and ``funnel status`` read records; ingest and the worker write
dead letters. They agree on a record's place in the arrival order, on what its headers
say, and on which dead letters count as received (DOMAIN.md §3) through this module only.
Works on kafka-python ``ConsumerRecord``s and Faust/aiokafka messages alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone

from streams.contract.acceptance import parse_json
from streams.contract.schemas import parse_timestamp

#: Dead letters sort after every topic record; their order among themselves does not matter.
DLQ_SEQ = 1 << 62


def arrival_seq(partition: int, offset: int) -> int:
    """A topic record's place in the arrival order: by partition, then by offset within it."""
    return (partition << 40) | offset


def dead_letter_seq(partition: int, offset: int) -> int:
    """A dead letter's place in the arrival order: after every record of the event topic."""
    return DLQ_SEQ | arrival_seq(partition, offset)


def header_value(record, name: str) -> str | None:
    """The first header ``name`` of a record, decoded as UTF-8 with replacement; None if absent or null."""
    headers = record.headers or ()
    if isinstance(headers, Mapping):  # Faust also accepts headers as a mapping
        headers = headers.items()
    for key, value in headers:
        if key == name:
            return None if value is None else bytes(value).decode("utf-8", errors="replace")
    return None


def received_at(timestamp_ms: float | None) -> datetime:
    """A record's Kafka timestamp (milliseconds; None as 0) as an aware UTC datetime."""
    return datetime.fromtimestamp((timestamp_ms or 0) / 1000, timezone.utc)


def recorded_at_in(raw: bytes) -> datetime | None:
    """The ``recorded_at`` of a record's bytes if they are a JSON object with a valid one, else None.

    Read with the contract's own parser: a record it finds ``malformed`` (``NaN``, say, which Python's
    parser would take) has no readable ``recorded_at``, in a topic's dead letters as in a file."""
    value = parse_json(raw)
    return parse_timestamp(value.get("recorded_at")) if isinstance(value, dict) else None


def counts_as_received(record) -> bool:
    """Whether a dead letter counts as received: not when the worker wrote it (its topic record counts)."""
    return header_value(record, "rejected_by") != "worker"


def dead_letter_reason(record) -> tuple[str, str]:
    """A dead letter's (reason, detail) headers; "malformed" and "" when missing."""
    return header_value(record, "reason") or "malformed", header_value(record, "detail") or ""


def dead_letter_headers(reason: str, detail: str, origin: str, rejected_by: str) -> list[tuple[str, bytes]]:
    """The headers every dead letter carries: why, in detail, where it came from, and who rejected it."""
    return [("reason", reason.encode()), ("detail", detail.encode()), ("origin", origin.encode()),
            ("rejected_by", rejected_by.encode())]


def key_text(key: bytes | None) -> str | None:
    """A record key decoded as UTF-8 with replacement; None for no key (or an empty one)."""
    return key.decode("utf-8", "replace") if key else None
