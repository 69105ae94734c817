"""The contract check and the log row per record, standard path against the validator's fast path.

    python -m bench.checks [--events 100000] [--runs 5]

Replay turns every record into a row of the log: parse, the stateless checks of DOMAIN.md §3,
the upcast, the content fingerprint, the row (``streams.core.log.LogBuilder``, with its Polars
chunks). The standard path validates every event with the compiled JSON Schema; the fast path
(``streams.contract.typed``) certifies the common well-formed event with msgspec types compiled
from the same schema and skips the validator for it. Both build the same log (checked here on
every record, and by ``tests/unit/test_fast_path.py`` on generated ones).

Each run is the records of a generated feed as a topic gives them (bytes, stamped with a
receive time), interleaved standard, fast, standard, ...; the figures are the medians of the
per-record microseconds, wall-clock and CPU time of this process (a shared machine slows both
alike; CPU time is the steadier of the two), and their ratio per round.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import datetime, timezone

from bench.common import record
from bench.scale import feed_of
from streams.contract import typed
from streams.core.log import LogBuilder


def build(lines: list[bytes], received_at: datetime, fast: bool):
    builder = LogBuilder(fast=fast)
    for seq, line in enumerate(lines, 1):
        builder.add(seq, line, received_at, stamp_missing=True)
    return builder.frame()


def timed(lines: list[bytes], received_at: datetime, fast: bool) -> tuple[float, float, object]:
    """(wall µs, CPU µs) per record of one build, and the log."""
    wall, cpu = time.perf_counter(), time.process_time()
    log = build(lines, received_at, fast)
    return ((time.perf_counter() - wall) / len(lines) * 1e6, (time.process_time() - cpu) / len(lines) * 1e6, log)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with feed_of(args.events).open("rb") as f:
        lines = [line.rstrip(b"\n") for line in f]
    received_at = datetime(2025, 1, 1, tzinfo=timezone.utc)
    build(lines[:2000], received_at, True)  # warm: schema compilation, caches
    build(lines[:2000], received_at, False)
    rounds = []
    for _ in range(args.runs):
        standard = timed(lines, received_at, False)
        fast = timed(lines, received_at, True)
        if not fast[2].equals(standard[2]):
            raise AssertionError("the fast path built a different log")
        rounds.append({"standard_us": round(standard[0], 2), "fast_us": round(fast[0], 2),
                       "standard_cpu_us": round(standard[1], 2), "fast_cpu_us": round(fast[1], 2),
                       "speedup": round(standard[0] / fast[0], 2), "speedup_cpu": round(standard[1] / fast[1], 2)})
    log = fast[2]
    certified = sum(1 for line in lines if _certified(line))

    def median(key: str) -> float:
        return round(statistics.median(r[key] for r in rounds), 2)

    record(f"checks-{len(lines)}", {
        "command": f"python -m bench.checks --events {args.events} --runs {args.runs}",
        "records": len(lines), "rejected": int(log["reason"].is_not_null().sum()),
        "certified_by_fast_path": certified,
        "per_record_us": {"standard": median("standard_us"), "fast": median("fast_us"),
                          "standard_cpu": median("standard_cpu_us"), "fast_cpu": median("fast_cpu_us")},
        "speedup": {"median": median("speedup"), "min": min(r["speedup"] for r in rounds),
                    "max": max(r["speedup"] for r in rounds)},
        "speedup_cpu": {"median": median("speedup_cpu"), "min": min(r["speedup_cpu"] for r in rounds),
                        "max": max(r["speedup_cpu"] for r in rounds)},
        "same_log": True, "runs": rounds,
    })


def _certified(line: bytes) -> bool:
    from streams.contract.acceptance import Rejection, parse_json

    parsed = parse_json(line)
    return not isinstance(parsed, Rejection) and typed.conforms(parsed)


if __name__ == "__main__":
    main()
