"""The fold and aggregates alone, on a log read from Parquet: seconds and peak memory.

    python -m bench.fold --events 10000000
    python -m bench.fold --events 1000000 --pandas 3     # and fold_vs_pandas_speedup, three rounds interleaved

The 10M-event log is the 1M-event synthetic log tiled ten times under new project ids
(built once and cached as Parquet); the stateless checks are not part of this figure.
With ``--pandas N``, the settle + fold + summary is measured against the pandas reference
(bench/pandas_fold.py) in N interleaved rounds (bench.run.fold_vs_pandas: the same function
`funnel bench` uses, which checks that both write the same summary.json, and reports the
narrower pools-and-flows reference beside it), and each step of ours (settle, project_state,
summary) is timed on its own (medians).
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import date, datetime, timezone
from pathlib import Path

import polars as pl

from bench.common import feed_of, peak_rss_self_mb, record
from streams import config
from streams.core.log import received_log
from streams.core.summary import View, fold_log, summary
from streams.core.tables import aggregate_tables

BASE = 1_000_000


def base_log(data: Path) -> pl.DataFrame:
    path = data / f"log-{BASE}.parquet"
    if not path.exists():
        feed = feed_of(BASE, bureau=False, data=data)  # projects only, as the pandas reference folds
        with feed.open("rb") as f:
            log = received_log(((i, line.rstrip(b"\n")) for i, line in enumerate(f, 1)), datetime.now(timezone.utc))
        log.write_parquet(path)
    return pl.read_parquet(path)


def tiled_log(data: Path, events: int) -> Path:
    path = data / f"log-{events}.parquet"
    if not path.exists():
        base = base_log(data)
        copies = max(1, round(events / base.height))
        tiles = [base.with_columns(seq=pl.col("seq") + i * base.height,
                                   project_id=pl.col("project_id") + f"~{i}") for i in range(copies)]
        pl.concat(tiles).write_parquet(path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--data", type=Path, default=Path("data/bench"))
    parser.add_argument("--pandas", type=int, default=0, metavar="ROUNDS",
                        help="also measure against the pandas reference, interleaved, this many rounds")
    args = parser.parse_args()
    args.data.mkdir(parents=True, exist_ok=True)
    path = tiled_log(args.data, args.events) if args.events >= BASE else None
    started = time.perf_counter()
    log = pl.read_parquet(path) if path else base_log(args.data).head(args.events)
    read_s = time.perf_counter() - started
    view = View(date(2024, 12, 31))
    started = time.perf_counter()
    result = fold_log(log, view)
    doc = summary(result)
    fold_s = time.perf_counter() - started
    started = time.perf_counter()
    tables = aggregate_tables(result, config.targets())
    tables_s = time.perf_counter() - started
    pandas = _against_pandas(log, view, args.pandas) if args.pandas else {}
    record(f"fold-{args.events}", {
        "command": f"python -m bench.fold --events {args.events}",
        "records": log.height, "projects": doc["projects"]["total"],
        "read_parquet_s": round(read_s, 2), "fold_and_summary_s": round(fold_s, 2),
        "events_per_s": round(log.height / fold_s), "all_aggregate_tables_s": round(tables_s, 2),
        "tables": {k: v.height for k, v in tables.items()}, "peak_rss_mb": round(peak_rss_self_mb()),
        **pandas,
    })


def _against_pandas(log: pl.DataFrame, view: View, rounds: int) -> dict:
    """fold_vs_pandas_speedup as `funnel bench` measures it, and our steps one by one (median seconds)."""
    from bench.run import fold_vs_pandas
    from streams.core.fold import project_state
    from streams.core.log import accepted_events, outcome_counts, settle
    from streams.core.summary import summary_of

    steps: dict[str, list[float]] = {"settle_s": [], "project_state_s": [], "summary_s": []}
    for _ in range(rounds):
        started = time.perf_counter()
        settled = settle(log, view.known_cutoff)
        steps["settle_s"].append(time.perf_counter() - started)
        started = time.perf_counter()
        state = project_state(accepted_events(settled), view.cutoff)
        steps["project_state_s"].append(time.perf_counter() - started)
        started = time.perf_counter()
        summary_of(view, outcome_counts(settled), state)
        steps["summary_s"].append(time.perf_counter() - started)
    pair = fold_vs_pandas(log, rounds)
    return {"fold_vs_pandas": pair, "ours_by_step_median_s": {k: round(statistics.median(v), 3)
                                                               for k, v in steps.items()}}


if __name__ == "__main__":
    main()
