"""The contract check and the log row per record, standard path against the validator's fast path.

    python -m bench.checks [--events 100000] [--runs 5]

Replay turns every record into a row of the log: parse, the stateless checks of DOMAIN.md §3,
the upcast, the content fingerprint, the row (``streams.core.log.LogBuilder``, with its Polars
chunks). The standard path validates every event with the compiled JSON Schema; the fast path
(``streams.contract.typed``) certifies the common well-formed event with msgspec types compiled
from the same schema and skips the validator for it, a record at a time; the batch path
(``streams.contract.columnar``, what replay uses) decodes each record into those types and does
the rest for a builder part's records at once, by columns. All three build the same log (checked
here on every record, and by ``tests/unit/test_fast_path.py`` and ``tests/unit/test_columnar.py``
on generated ones).

Each run is the records of a generated feed as a topic gives them (bytes, stamped with a
receive time), interleaved standard, fast, batch, standard, ...; the figures are the medians of
the per-record microseconds, wall-clock and CPU time of this process (CPU time counts every thread,
so Polars' second thread adds to the batch path's), and their ratios per round.

``steps_us`` splits the per-record fast path into its steps, each timed alone over the certified records
with the product's own functions (median CPU µs per record of ``--runs`` rounds): certifying the
bytes (msgspec decoding, the formats, the dict), the checks after the schema, the content that a
duplicate must match, its fingerprint (sorted JSON and BLAKE2b, kept by the worker's store), and
the record's share of its Polars part. Certifying, the fingerprint and the part are what any
per-record path must pay with this contract and this fingerprint: their sum is its floor.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import datetime, timezone

from bench.common import record
from bench.scale import feed_of
from streams.contract import typed
from streams.contract.acceptance import Rejection, checked_event, content_of
from streams.core.log import LogBuilder, _fingerprint, _log_row, _rows_frame


def build(lines: list[bytes], received_at: datetime, fast: bool, batch: bool = True):
    builder = LogBuilder(fast=fast, batch=batch)
    for seq, line in enumerate(lines, 1):
        builder.add(seq, line, received_at, stamp_missing=True)
    return builder.frame()


def timed(lines: list[bytes], received_at: datetime, fast: bool, batch: bool = True) -> tuple[float, float, object]:
    """(wall µs, CPU µs) per record of one build, and the log."""
    wall, cpu = time.perf_counter(), time.process_time()
    log = build(lines, received_at, fast, batch)
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
    build(lines[:2000], received_at, True, False)
    rounds = []
    for _ in range(args.runs):
        standard = timed(lines, received_at, False)
        fast = timed(lines, received_at, True, False)
        batch = timed(lines, received_at, True)
        if not (fast[2].equals(standard[2]) and batch[2].equals(standard[2])):
            raise AssertionError("the fast path or the batch path built a different log")
        rounds.append({"standard_us": round(standard[0], 2), "fast_us": round(fast[0], 2),
                       "batch_us": round(batch[0], 2), "standard_cpu_us": round(standard[1], 2),
                       "fast_cpu_us": round(fast[1], 2), "batch_cpu_us": round(batch[1], 2),
                       "speedup": round(standard[0] / fast[0], 2), "speedup_cpu": round(standard[1] / fast[1], 2),
                       "batch_speedup": round(standard[0] / batch[0], 2),
                       "batch_speedup_cpu": round(standard[1] / batch[1], 2)})
    log = batch[2]
    certified = sum(1 for line in lines if _certified(line))
    steps = _steps([line for line in lines if _certified(line)], received_at, args.runs)

    def median(key: str) -> float:
        return round(statistics.median(r[key] for r in rounds), 2)

    record(f"checks-{len(lines)}", {
        "command": f"python -m bench.checks --events {args.events} --runs {args.runs}",
        "records": len(lines), "rejected": int(log["reason"].is_not_null().sum()),
        "certified_by_fast_path": certified,
        "per_record_us": {name: median(f"{name}_us") for name in
                          ("standard", "fast", "batch", "standard_cpu", "fast_cpu", "batch_cpu")},
        "per_record_us_spread": {name: [min(r[f"{name}_us"] for r in rounds), max(r[f"{name}_us"] for r in rounds)]
                                 for name in ("standard", "fast", "batch", "standard_cpu", "fast_cpu", "batch_cpu")},
        **{key: {"median": median(key), "min": min(r[key] for r in rounds), "max": max(r[key] for r in rounds)}
           for key in ("speedup", "speedup_cpu", "batch_speedup", "batch_speedup_cpu")},
        "same_log": True, "runs": rounds,
        "steps_us": steps, "floor_us": round(steps["certify"] + steps["fingerprint"] + steps["row_frame"], 2),
    })


def _cpu_us(work, n: int) -> float:
    started = time.process_time()
    work()
    return (time.process_time() - started) / n * 1e6


def _steps(lines: list[bytes], received_at: datetime, runs: int) -> dict[str, float]:
    """The fast path's steps, each timed alone on certified records: median CPU µs per record."""
    n = len(lines)
    events = [typed.certified(line) for line in lines]
    checked = [(e, occurred) for e, occurred, _ in (checked_event(e, received_at, certified=True) for e in events)
               if not isinstance(e, Rejection)]  # (a few are judged future_occurred_at after their schema)
    contents = [content_of(e, occurred) for e, occurred in checked]
    rows = [_log_row(seq, line, received_at, True, True, True) for seq, line in enumerate(lines, 1)]
    part = LogBuilder.PART
    measured: dict[str, list[float]] = {}
    for _ in range(runs):
        for name, work in (
            ("certify", lambda: [typed.certified(line) for line in lines]),
            ("checks_after_schema", lambda: [checked_event(e, received_at, certified=True) for e in events]),
            ("content", lambda: [content_of(e, occurred) for e, occurred in checked]),
            ("fingerprint", lambda: [_fingerprint(c) for c in contents]),
            ("row_frame", lambda: [_rows_frame(rows[i:i + part]) for i in range(0, n, part)]),
            ("whole_row", lambda: build(lines, received_at, True, False)),
        ):
            measured.setdefault(name, []).append(_cpu_us(work, n))
    return {name: round(statistics.median(v), 2) for name, v in measured.items()}


def _certified(line: bytes) -> bool:
    from streams.contract.acceptance import Rejection, parse_json

    parsed = parse_json(line)
    return not isinstance(parsed, Rejection) and typed.conforms(parsed)


if __name__ == "__main__":
    main()
