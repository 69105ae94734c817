"""The live worker's midnight hook: after each CST midnight, the reminders of the day just ended, computed from the
worker's own store (its partitions' records, as replay would read them) by the one core, written to the reminders
topic through the worker's producer.

Reminders are a project's alone, and a project lives in one partition: the workers of a group, each computing its
own partitions, compute every reminder; one computed twice (a restart, a rebalance, ``funnel remind`` for the same
day) is the same record under the same key, and is delivered once.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import date, timedelta

import polars as pl

from streams.core.clock import today_cst
from streams.reminders.publish import compute, records_of

log = logging.getLogger(__name__)


def of_snapshot(snapshot, day: date) -> pl.DataFrame:
    """The reminders of ``day`` over a snapshot of a worker's store (:meth:`ProjectStore.snapshot`). Pure: run it
    in a thread."""
    from streams.worker.store import full_log

    return compute(full_log(snapshot), day)


class MidnightReminders:
    """Once per CST day, the reminders of the day before; a day whose computation failed is tried again."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.bootstrap, self.topic = bootstrap, topic
        self.done: date | None = None  # the last day whose reminders were written
        self.topics_ready = False

    def due(self) -> date | None:
        """The day just ended, unless its reminders are written already."""
        day = today_cst() - timedelta(days=1)
        return None if self.done == day else day

    async def tick(self, producer, snapshot_of) -> int | None:
        """Compute and write the day just ended's reminders when not done yet (``snapshot_of``: the store's
        snapshot, taken now); returns how many were written, or None when there was nothing to do."""
        day = self.due()
        if day is None:
            return None
        loop = asyncio.get_running_loop()
        if not self.topics_ready:
            from streams.kafkaio.topics import ensure_topics
            from streams.notify.notifier import reminder_topics

            await loop.run_in_executor(None, ensure_topics, self.bootstrap, reminder_topics(self.topic))
            self.topics_ready = True
        reminders = await loop.run_in_executor(None, of_snapshot, snapshot_of(), day)
        sent = [await producer.send(self.topic, key, value, None, None, None) for key, value in records_of(reminders)]
        await asyncio.gather(*sent)
        self.done = day
        log.info("reminders of %s: %d written to %s", day, len(sent), self.topic)
        return len(sent)
