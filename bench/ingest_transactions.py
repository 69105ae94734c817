"""What transactions cost `funnel ingest`: the whole command with transactions ÷ with ``--no-transactions``.

    python -m bench.ingest_transactions --events 300000 [--runs 3] [--batch-size 10000]

Both sides ingest the same generated feed into a fresh topic each run, with the feed quality suite
off (measured on its own by bench.quality), interleaved (``bench.common.interleaved``: with, without,
with, ...), so a slow minute of a shared machine falls on both sides of a round. A ratio below 1 is the
cost: each batch of ``--batch-size`` records waits for its acknowledgements and its commit before the
next is sent. Each side's rate is the whole command's (interpreter start-up included on both sides).
Writes ``results/ingest-transactions-<events>.json``.
"""

from __future__ import annotations

import argparse
import json
import uuid
from pathlib import Path
from typing import Callable

from bench.common import feed_of, interleaved, record, run_funnel
from streams import config


def ingest_rate(feed: Path, lines: int, bootstrap: str, batch_size: int, *flags: str) -> Callable[[], float]:
    """One measurement: `funnel ingest` of the whole feed into a fresh topic, in records/s; checked complete."""
    def measure() -> float:
        topic = f"bench-txn-{uuid.uuid4().hex[:6]}"
        seconds, out = run_funnel("ingest", str(feed), "--topic", topic, "--quality", "off", "--batch-size",
                                  str(batch_size), "--json", *flags, env={"KAFKA_BOOTSTRAP_SERVERS": bootstrap})
        result = json.loads(out)
        if not result["ok"] or result["delivered"] + result["dead_lettered"] != lines:
            raise RuntimeError(f"ingest into {topic} did not deliver the whole feed: {result}")
        return lines / seconds
    return measure


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=300_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=10_000)
    parser.add_argument("--data", type=Path, default=Path("data/bench"))
    args = parser.parse_args()
    bootstrap = config.bootstrap_servers()
    feed = feed_of(args.events, data=args.data)
    lines = sum(1 for _ in feed.open("rb"))
    pair = interleaved(ingest_rate(feed, lines, bootstrap, args.batch_size), {
        "without_transactions": ingest_rate(feed, lines, bootstrap, args.batch_size, "--no-transactions")},
        args.runs, unstable=None if lines >= 1_000_000 else f"{lines:,} records per run (under 1M: start-up weighs)")
    ratio = pair["without_transactions"]
    record(f"ingest-transactions-{args.events}", {
        "command": f"python -m bench.ingest_transactions --events {args.events} --runs {args.runs} "
                   f"--batch-size {args.batch_size}",
        "lines": lines, "batch_size": args.batch_size, "quality_policy": "off",
        "with_vs_without_transactions": ratio,
        "records_per_s": {"with_transactions": [r["ours"] for r in ratio["runs"]],
                          "without_transactions": [r["reference"] for r in ratio["runs"]]},
    })


if __name__ == "__main__":
    main()
