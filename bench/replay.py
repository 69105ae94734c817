"""Replay of a topic from the beginning into the finished summary: events/s and peak memory.

    python -m bench.replay --topic bench-ingest-xxxxxx     # default: the topic of the last ingest benchmark
"""

from __future__ import annotations

import argparse
import json

from bench.common import RESULTS, peak_rss_children_mb, record, run_funnel
from streams import config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--topic")
    parser.add_argument("--events", type=int, default=1_000_000, help="which ingest benchmark's topic to replay")
    args = parser.parse_args()
    ingest = json.loads((RESULTS / f"ingest-{args.events}.json").read_text())
    topic = args.topic or ingest["topic"]
    seconds, out = run_funnel("replay", "--topic", topic, "--as-of", "2024-12-31", "--json",
                              env={"KAFKA_BOOTSTRAP_SERVERS": config.bootstrap_servers()})
    doc = json.loads(out)
    received = doc["accounting"]["received"]
    record(f"replay-{args.events}", {
        "command": f"python -m bench.replay --events {args.events}",
        "topic": topic, "records": received, "seconds": round(seconds, 1),
        "events_per_s": round(received / seconds), "peak_rss_mb": round(peak_rss_children_mb()),
    })


if __name__ == "__main__":
    main()
