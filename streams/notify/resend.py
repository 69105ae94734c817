"""Resending dead-lettered reminders (after fixing a webhook, or to settle an ``outcome_unknown``): their
deliveries are forgotten in the delivery log (tombstones) and their records written back to the reminders topic."""

from __future__ import annotations

import logging
from collections.abc import Collection

from streams.config import dlq_topic
from streams.kafkaio.records import header_value, key_text
from streams.notify.ledger import DEAD_LETTERED, DeliveryLog, delivered_topic, delivery_key

log = logging.getLogger(__name__)


def chosen(dead_letters, reminder_ids: Collection[str], reasons: Collection[str],
           state) -> dict[str, tuple[bytes, list[str]]]:
    """The dead letters to resend (by id or reason, still dead-lettered in the log, not malformed):
    reminder_id → (its record, the delivery keys to forget)."""
    picked: dict[str, tuple[bytes, list[str]]] = {}
    for record in dead_letters:
        rid, reason = key_text(record.key), header_value(record, "reason")
        if not rid or reason == "malformed" or not (rid in reminder_ids or reason in reasons):
            continue
        key = delivery_key(rid, header_value(record, "recipient") or "", header_value(record, "channel") or "")
        if state(key) != DEAD_LETTERED:  # resent already (and maybe delivered since)
            continue
        value, keys = picked.get(rid, (record.value, []))
        if key not in keys:
            keys.append(key)
        picked[rid] = (value, keys)
    return picked


def resend(bootstrap: str, topic: str, reminder_ids: Collection[str] = (), reasons: Collection[str] = ()) -> int:
    """Forget the chosen dead-lettered deliveries and write their reminders back; returns the deliveries."""
    from streams.kafkaio.consumer import read_topic
    from streams.kafkaio.producer import event_producer

    producer = event_producer(bootstrap)
    ledger = DeliveryLog(bootstrap, topic, producer, "resend")
    try:
        ledger.catch_up()
        picked = chosen(read_topic(bootstrap, dlq_topic(topic)), set(reminder_ids), set(reasons), ledger.state)
        for rid, (value, keys) in picked.items():
            for key in keys:
                producer.send(delivered_topic(topic), key=key.encode(), value=None)
            producer.flush()  # forgotten before the reminder comes back
            producer.send(topic, key=rid.encode(), value=value)
            log.info("resending %s (%s)", rid, ", ".join(keys))
        producer.flush()
        return sum(len(keys) for _, keys in picked.values())
    finally:
        ledger.close()
        producer.close(timeout=10)
