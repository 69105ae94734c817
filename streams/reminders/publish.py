"""Compute a day's reminders from a received log and write them to the reminders topic, keyed by reminder_id.

The topic is compacted (:func:`streams.notify.notifier.reminder_topics`): a reminder computed again (a re-run,
the worker and ``funnel remind`` for one day, the next day's window) has the same key and, but for
``computed_for``, the same value, so compaction keeps one record per reminder ever computed and loses nothing;
the notifier delivers each reminder_id once whatever it reads twice.
"""

from __future__ import annotations

import json
import logging
from datetime import date
from pathlib import Path

import polars as pl

from streams.core.log import settle
from streams.core.reminders import KINDS, reminders_for

log = logging.getLogger(__name__)

DEFAULT_TOPIC = "project-reminders"


def compute(received: pl.DataFrame, day: date) -> pl.DataFrame:
    """The reminders of ``day`` over a received log as it stands (every record, no known-at view)."""
    return reminders_for(settle(received), day)


def from_files(paths: list[str | Path], day: date) -> pl.DataFrame:
    """The reminders of ``day`` from JSON Lines / CSV feeds, judged as a file replay judges them."""
    from streams.replay import files_received_at, log_from_files

    return compute(log_from_files(paths, files_received_at(paths)), day)


def from_topic(bootstrap: str, topic: str, day: date) -> pl.DataFrame:
    """The reminders of ``day`` from an event topic's committed records (and its ingest's dead letters)."""
    from streams.replay import log_from_topic

    return compute(log_from_topic(bootstrap, topic), day)


def record_value(row: dict) -> bytes:
    """A reminder's record value: the JSON of the shared contract (dates as YYYY-MM-DD, absent fields null)."""
    doc = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in row.items()}
    return json.dumps(doc, ensure_ascii=False, sort_keys=True).encode()


def records_of(reminders: pl.DataFrame) -> list[tuple[bytes, bytes]]:
    """The (key, value) of each reminder's record."""
    return [(row["reminder_id"].encode(), record_value(row)) for row in reminders.iter_rows(named=True)]


def publish(bootstrap: str, reminders: pl.DataFrame, topic: str = DEFAULT_TOPIC, producer=None) -> int:
    """Write the reminders to ``topic`` (created with its .dlq and delivery log when missing) with an idempotent
    producer, and wait until every one is acknowledged; returns how many were written."""
    from streams.kafkaio.producer import event_producer
    from streams.kafkaio.topics import ensure_topics
    from streams.notify.notifier import reminder_topics

    ensure_topics(bootstrap, reminder_topics(topic))
    own = producer is None
    producer = event_producer(bootstrap) if own else producer
    try:
        futures = [producer.send(topic, key=key, value=value) for key, value in records_of(reminders)]
        producer.flush()
        for future in futures:
            future.get(timeout=60)  # raises what failed
    finally:
        if own:
            producer.close()
    log.info("wrote %d reminders to %s", len(futures), topic)
    return len(futures)


def counts_by_kind(reminders: pl.DataFrame) -> dict[str, int]:
    """How many reminders of each kind (every kind present, in order)."""
    got = dict(reminders.group_by("kind").len().iter_rows()) if reminders.height else {}
    return {k: int(got.get(k, 0)) for k in KINDS}
