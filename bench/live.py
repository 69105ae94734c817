"""The live worker vs a bare aiokafka loop doing the same decoding and checks, on the same topic.

    python -m bench.live --topic bench-run-xxxxxx [--rounds 3]

The worker's rate is read from its consumer group's committed offsets while it catches up
with a full topic (its start-up and rebalance are left out); the bare loop times itself.
Rounds are interleaved (worker, floor, bare loop, worker, ...): each ratio is of one round's
figures, and the medians are reported with their range and every round's rates.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid

from bench.common import interleaved
from streams import config
from streams.kafkaio.offsets import end_offsets, group_lag
from streams.worker.intake import Record, checked_events


async def _raw_loop(bootstrap: str, topic: str, ends: dict[int, int]) -> float:
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None,
                                auto_offset_reset="earliest", isolation_level="read_committed")  # as the worker
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in ends]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        seen, started = 0, time.perf_counter()
        # Up to each partition's end offset, not a count of records: transaction markers take offsets too.
        while any([await consumer.position(tp) < ends[tp.partition] for tp in tps]):
            batches = await consumer.getmany(timeout_ms=10_000, max_records=5000)
            if not batches:
                raise TimeoutError(f"bare loop stalled after {seen} records")
            for records in batches.values():  # what the worker's agent does to a batch before storing it
                checked_events([Record(msg.topic, msg.partition, msg.offset, msg.timestamp, msg.key, msg.value,
                                       msg.headers) for msg in records])
                seen += len(records)
        return seen / (time.perf_counter() - started)
    finally:
        await consumer.stop()


def raw_aiokafka(bootstrap: str, topic: str) -> float:
    """Records per second of a bare aiokafka loop decoding and checking every record."""
    return asyncio.run(_raw_loop(bootstrap, topic, end_offsets(bootstrap, topic)))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def worker(bootstrap: str, topic: str, timeout_s: float = 1800) -> dict:
    """Records per second of `funnel worker` catching up with ``topic`` (committed offsets over time)."""
    group = f"bench-worker-{uuid.uuid4().hex[:6]}"
    return _timed(bootstrap, topic, group, ["-m", "streams.cli", "worker", "--topic", topic, "--app-id", group,
                                            "--web-port", str(_free_port()), "--state-topic", f"{group}.state",
                                            "--loglevel", "warning"], timeout_s)


def faust_floor(bootstrap: str, topic: str, timeout_s: float = 1800) -> dict:
    """Records per second of the worker's Faust configuration with an agent that does nothing (bench/faust_floor.py)."""
    from streams.kafkaio.topics import partition_count

    group = f"bench-floor-{uuid.uuid4().hex[:6]}"
    return _timed(bootstrap, topic, group, ["-m", "bench.faust_floor", "--topic", topic, "--app-id", group,
                                            "--partitions", str(partition_count(bootstrap, topic))], timeout_s)


def _timed(bootstrap: str, topic: str, group: str, args: list[str], timeout_s: float) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        log = open(os.path.join(tmp, "worker.log"), "wb")
        proc = subprocess.Popen([sys.executable, *args],
                                env={**os.environ, "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
                                     "FUNNEL_QUALITY_INTERVAL": "100000"},
                                stdout=log, stderr=subprocess.STDOUT)
        try:
            return _catch_up(bootstrap, group, topic, proc, timeout_s)
        finally:
            proc.terminate()
            proc.wait(timeout=60)
            log.close()


def _catch_up(bootstrap: str, group: str, topic: str, proc: subprocess.Popen, timeout_s: float) -> dict:
    deadline, first = time.monotonic() + timeout_s, None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the worker exited with {proc.returncode}")
        lag = group_lag(bootstrap, group, topic)
        now = time.monotonic()
        if first is None and lag.committed > 0:
            first = (now, lag.committed)
        if first and lag.lag == 0 and now > first[0]:
            return {"records": lag.end, "timed_records": lag.end - first[1],
                    "records_per_s": (lag.end - first[1]) / (now - first[0])}
        time.sleep(0.5)
    raise TimeoutError(f"the worker did not catch up with {topic} in {timeout_s:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds of the worker, the Faust floor and the bare loop, one after another")
    args = parser.parse_args()
    bootstrap = config.bootstrap_servers()
    ratios = interleaved(lambda: worker(bootstrap, args.topic)["records_per_s"],
                         {"faust_floor": lambda: faust_floor(bootstrap, args.topic)["records_per_s"],
                          "raw_aiokafka": lambda: raw_aiokafka(bootstrap, args.topic)}, runs=args.rounds)
    print(json.dumps({"topic": args.topic, "records": end_offsets_total(bootstrap, args.topic),
                      "worker_vs_faust_floor": ratios["faust_floor"],
                      "worker_vs_raw_aiokafka": ratios["raw_aiokafka"]}, indent=2))


def end_offsets_total(bootstrap: str, topic: str) -> int:
    """The topic's offsets (records and transaction markers) over every partition."""
    return sum(end_offsets(bootstrap, topic).values())


if __name__ == "__main__":
    main()
