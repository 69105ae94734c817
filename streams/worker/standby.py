"""Standby copies kept warm by reading their changelog partitions directly.

Faust assigns the standby partitions (``table_standby_replicas``) and reads their changelogs while
it recovers, but what it fetches of them once the worker is ready is never applied (faust-streaming
issue #212; measured here: a fresh worker's standby copies stayed empty for minutes, so a failover
restored the whole changelog). So the worker follows its standby partitions itself, from where
each copy stands (a checkpoint, or nothing), and applies each chunk as it comes. Applying a chunk
twice is harmless: the store skips records it holds (:meth:`ProjectStore.apply`).

The follower reads in a thread (kafka-python, the platform's security settings) and applies on the
event loop, so it never races the intake or a rebalance; a rebalance stops it before copies are
promoted, and the recovery that follows starts it again on the new standby partitions.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

log = logging.getLogger(__name__)

#: How long one read waits for new chunks: also how long stopping the follower may take.
POLL_MS = 200


class StandbyFollower:
    """Follows a changelog's standby partitions and hands every chunk read to ``apply(partition, offset, key,
    value)``."""

    def __init__(self, bootstrap: str, apply: Callable[[int, int, bytes | None, bytes], None]) -> None:
        self.bootstrap, self.apply = bootstrap, apply
        self.task: asyncio.Task | None = None
        self.stopping = False

    def start(self, topic: str, starts: dict[int, int]) -> None:
        """Follow ``topic``'s partitions from their offsets (``starts``: partition → the next offset to read)."""
        if starts:
            self.stopping = False
            self.task = asyncio.get_running_loop().create_task(self._follow(topic, dict(starts)))
            log.info("%s: following standby partitions %s from offsets %s", topic, sorted(starts), starts)

    async def stop(self) -> None:
        """Stop following (within a read's wait): nothing is applied after this returns."""
        task, self.task = self.task, None
        if task is not None:
            self.stopping = True
            await asyncio.gather(task, return_exceptions=True)

    async def _follow(self, topic: str, starts: dict[int, int]) -> None:
        loop = asyncio.get_running_loop()
        consumer = None
        try:
            consumer = await loop.run_in_executor(None, _consumer, self.bootstrap, topic, starts)
            while not self.stopping:
                batches = await loop.run_in_executor(None, lambda: consumer.poll(timeout_ms=POLL_MS))
                if self.stopping:
                    break  # a rebalance is promoting copies: what was read is read again by whoever owns it
                for records in batches.values():
                    for record in records:
                        self.apply(record.partition, record.offset, record.key, record.value)
        except Exception:  # the copies go cold, not wrong: a promotion then reads the changelog's tail
            log.exception("%s: following standby partitions %s failed; they stay as they are", topic, sorted(starts))
        finally:
            if consumer is not None:
                await loop.run_in_executor(None, consumer.close)


def _consumer(bootstrap: str, topic: str, starts: dict[int, int]):
    from kafka import KafkaConsumer, TopicPartition

    from streams.kafkaio.security import client_config

    consumer = KafkaConsumer(bootstrap_servers=bootstrap.split(","), enable_auto_commit=False, group_id=None,
                             **client_config(), auto_offset_reset="earliest", fetch_max_wait_ms=POLL_MS,
                             max_partition_fetch_bytes=32 * 1024 * 1024)
    tps = {n: TopicPartition(topic, n) for n in starts}
    consumer.assign(list(tps.values()))
    for n, offset in starts.items():
        consumer.seek(tps[n], offset)
    return consumer
