"""What the trips (§8) and bottlenecks (§9) cost a replay: the same number of events with and without them.

    python -m bench.bureau --sizes 100000,1000000 --runs 3

At each size, two synthetic feeds of about that many records: the default feed (the bureau's trips and the
projects' issues, ≈ 6.2 records a project) and ``--projects-only`` (≈ 4.4 records a project, so more
projects for the same records). Each ``funnel replay`` (every table, Parquet, buckets above 600,000
records) runs in a fresh child process, the two interleaved run by run, so a slow minute of the shared
machine falls on both. Reported per size: each side's median seconds and peak RSS with their spread, and
the ratio (with / without) of rates and of peaks: if the new folds kept the scale curve's shape, the ratios
stay about the same from size to size.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile

from bench.common import feed_of, record
from bench.scale import _child


def replay(feed) -> dict:
    """One ``funnel replay`` of ``feed`` in a child process: its seconds, peak RSS (MB) and records."""
    with tempfile.TemporaryDirectory() as out:
        seconds, peak_mb, text = _child(["-m", "streams.cli", "replay", "--from-file", str(feed), "--as-of",
                                         "2024-12-31", "--out", out, "--no-check", "--json"])
    doc = json.loads(text)
    return {"seconds": seconds, "peak_mb": peak_mb, "records": doc["accounting"]["received"],
            "trips": sum(sum(y[k] for k in ("leader_led", "team", "other")) for y in doc["trips"].values()),
            "issues": sum(doc["bottlenecks"]["raised"].values())}


def _spread(values: list[float], digits: int = 2) -> dict:
    return {"median": round(statistics.median(values), digits), "min": round(min(values), digits),
            "max": round(max(values), digits)}


def measure(events: int, runs: int) -> dict:
    """Both feeds of one size, replayed ``runs`` times each, interleaved."""
    feeds = {"with": feed_of(events), "without": feed_of(events, bureau=False)}
    rounds = [{side: replay(feed) for side, feed in feeds.items()} for _ in range(runs)]
    row: dict = {"events": events}
    for side in feeds:
        got = [r[side] for r in rounds]
        row[side] = {"records": got[0]["records"], "trips": got[0]["trips"], "issues": got[0]["issues"],
                     "seconds": _spread([g["seconds"] for g in got]),
                     "records_per_s": _spread([g["records"] / g["seconds"] for g in got], 0),
                     "peak_mb": _spread([g["peak_mb"] for g in got], 0)}
    rate = [(r["with"]["records"] / r["with"]["seconds"]) / (r["without"]["records"] / r["without"]["seconds"])
            for r in rounds]
    peak = [r["with"]["peak_mb"] / r["without"]["peak_mb"] for r in rounds]
    row["rate_ratio"], row["peak_ratio"] = _spread(rate, 3), _spread(peak, 3)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    rows = []
    for n in args.sizes.split(","):
        rows.append(measure(int(n), args.runs))
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    record("bureau", {"command": f"python -m bench.bureau --sizes {args.sizes} --runs {args.runs}", "rows": rows})


if __name__ == "__main__":
    main()
