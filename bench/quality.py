"""Great Expectations overhead: per feed batch (ingest) and per aggregate write (replay --out).

    python -m bench.quality

Compared in the same run with the work it guards: checking the batch against the contract,
and computing the aggregates it validates.
"""

from __future__ import annotations

import json
import time
from datetime import date, datetime, timezone

from bench.common import peak_rss_self_mb, record
from streams import config, synthetic
from streams.contract.acceptance import Rejection, check_record, parse_json
from streams.core.log import received_log
from streams.core.summary import View, fold_log, summary
from streams.core.tables import aggregate_tables
from streams.quality import frames, gate


def measure() -> dict:
    """GX seconds per 10,000-record feed batch and per aggregate write, beside the work they guard."""
    started = time.perf_counter()
    gate._context()
    import_s = time.perf_counter() - started
    lines = [r if isinstance(r, bytes) else json.dumps(r, ensure_ascii=False).encode()
             for r in synthetic.records(3_200, seed=2)][:10_000]
    now = datetime.now(timezone.utc)
    started = time.perf_counter()
    verdicts = [check_record(line, now) for line in lines]
    contract_s = time.perf_counter() - started
    rows = [frames.feed_row(i, f"f:{i}", parse_json(line), v) for i, (line, v) in enumerate(zip(lines, verdicts))]
    gate.check_feed_rows(rows)  # warm
    started = time.perf_counter()
    gate.check_feed_rows(rows)
    feed_s = time.perf_counter() - started

    log = received_log(enumerate(lines, 1), now)
    started = time.perf_counter()
    result = fold_log(log, View(date(2024, 12, 31)))
    tables = aggregate_tables(result, config.targets())
    doc = summary(result)
    aggregates_s = time.perf_counter() - started
    started = time.perf_counter()
    gate.check_aggregates(doc, tables)
    check_s = time.perf_counter() - started
    return {
        "gx_import_and_context_s": round(import_s, 2),
        "feed_batch_rows": len(rows), "feed_suite_per_batch_s": round(feed_s, 3),
        "contract_checks_same_batch_s": round(contract_s, 3),
        "aggregate_write_events": len(lines), "aggregate_suites_per_write_s": round(check_s, 3),
        "computing_those_aggregates_s": round(aggregates_s, 3),
        "rejected_in_batch": sum(isinstance(v, Rejection) for v in verdicts),
    }


def main() -> None:
    figures = measure()
    record("quality", {"command": "python -m bench.quality", **figures, "peak_rss_mb": round(peak_rss_self_mb())})


if __name__ == "__main__":
    main()
