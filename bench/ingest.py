"""Ingest of a generated N-event file through `funnel ingest`: events/s and peak memory.

    python -m bench.ingest --events 1000000

Also measures the bare kafka-python producer on the same lines with the same settings,
in the same run, so the figure reads against the client library's own limit.
"""

from __future__ import annotations

import argparse
import json
import time
import uuid
from pathlib import Path

from bench.common import feed_of, peak_rss_children_mb, record, run_funnel
from streams import config
from streams.kafkaio.producer import DeliverySettings, event_producer
from streams.kafkaio.topics import ensure_topics, event_topics


def bare_producer_rate(bootstrap: str, path: Path, limit: int) -> float:
    """Records/s of kafka-python alone (same acks, idempotence and batching), no checks."""
    topic = f"bench-bare-{uuid.uuid4().hex[:6]}"
    ensure_topics(bootstrap, event_topics(topic))
    producer = event_producer(bootstrap, DeliverySettings())
    with path.open("rb") as f:
        lines = [line.rstrip(b"\n") for _, line in zip(range(limit), f)]
    started = time.perf_counter()
    for i, line in enumerate(lines):
        producer.send(topic, key=str(i % 50_000).encode(), value=line)
    producer.flush()
    rate = len(lines) / (time.perf_counter() - started)
    producer.close()
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--data", type=Path, default=Path("data/bench"))
    args = parser.parse_args()
    bootstrap = config.bootstrap_servers()
    path = feed_of(args.events, data=args.data)
    lines = sum(1 for _ in path.open("rb"))
    topic = f"bench-ingest-{uuid.uuid4().hex[:6]}"
    # the feed quality suite is measured on its own (bench.quality): here, the ingest path itself
    seconds, out = run_funnel("ingest", str(path), "--topic", topic, "--json", "--quality", "off",
                              env={"KAFKA_BOOTSTRAP_SERVERS": bootstrap})
    result = json.loads(out)
    bare = bare_producer_rate(bootstrap, path, min(lines, 200_000))
    record(f"ingest-{args.events}", {
        "command": f"python -m bench.ingest --events {args.events}",
        "quality_policy": "off",
        "lines": lines, "topic": topic, "seconds": round(seconds, 1),
        "events_per_s": round(lines / seconds), "peak_rss_mb": round(peak_rss_children_mb()),
        "bare_kafka_python_records_per_s": round(bare),
        "ingest_vs_bare_kafka_python": round(lines / seconds / bare, 3),
        "accounting": {k: result[k] for k in ("received", "produced", "rejected", "delivered", "dead_lettered")},
    })


if __name__ == "__main__":
    main()
