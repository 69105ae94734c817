"""How cost grows with the log: `funnel replay` of a feed file and the fold alone, time and peak memory.

    python -m bench.scale --sizes 10000,100000,1000000,10000000

Each size runs in fresh child processes, so each peak resident memory is that run's own
(sampled every 20 ms). The replay figure is the whole command: read, check, fold, every
aggregate table, Parquet; above 600,000 records it folds in buckets of project ids
(``--buckets N`` forces N at every size). The fold figure is settle + fold + summary on the
checked log held in memory, up to 1M events.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from bench.common import RESULTS, feed_of, machine



def _tree_rss(process) -> int:
    """Resident bytes of a process and all its descendants now (those that end meanwhile count 0)."""
    import psutil

    total = 0
    try:
        family = [process, *process.children(recursive=True)]
    except psutil.Error:
        return 0
    for member in family:
        try:
            total += member.memory_info().rss
        except psutil.Error:
            pass
    return total


def _child(args: list[str]) -> tuple[float, float, str]:
    """(seconds, peak RSS MB, stdout) of one child process.

    The peak is sampled every 20 ms: ``ru_maxrss`` would count the parent's memory copied at fork. It is
    the process's memory with its children's (replay's reader processes) at the same moment.
    """
    import psutil

    started, peak = time.perf_counter(), 0
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen([sys.executable, *args], stdout=out, stderr=err)
        watched = psutil.Process(proc.pid)
        while proc.poll() is None:
            peak = max(peak, _tree_rss(watched))
            time.sleep(0.02)
        seconds = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        text, message = out.read().decode(), err.read().decode(errors="replace")
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed: {message[-2000:]}")
    return seconds, peak / 2**20, text


def fold_only(feed: str) -> dict:
    """In the child: check the feed into a log (not timed), then time settle + fold + summary."""
    from datetime import datetime, timezone

    from streams.core.log import received_log
    from streams.core.summary import View, fold_log, summary

    with open(feed, "rb") as f:
        log = received_log(((i, line.rstrip(b"\n")) for i, line in enumerate(f, 1)), datetime.now(timezone.utc))
    started = time.perf_counter()
    summary(fold_log(log, View(date(2024, 12, 31))))
    return {"records": log.height, "fold_s": time.perf_counter() - started}


#: The fold alone holds the whole checked log in memory: measured up to this size (bench.fold goes to 10M).
FOLD_ONLY_MAX = 1_000_000


def measure(events: int, buckets: int | None = None) -> dict:
    """``funnel replay`` of the feed (in memory or in buckets, as it chooses, or ``--buckets``), and up to
    :data:`FOLD_ONLY_MAX` events the in-memory fold alone."""
    from streams.core.buckets import buckets_for

    feed = feed_of(events)
    with tempfile.TemporaryDirectory() as out:
        replay_s, replay_mb, text = _child(["-m", "streams.cli", "replay", "--from-file", str(feed), "--as-of",
                                            "2024-12-31", "--out", out, "--no-check", "--json",
                                            *(["--buckets", str(buckets)] if buckets else [])])
    records = json.loads(text)["accounting"]["received"]
    row = {"events": records, "buckets": buckets_for(records, buckets), "replay_s": round(replay_s, 2),
           "replay_events_per_s": round(records / replay_s), "replay_peak_mb": round(replay_mb)}
    if events <= FOLD_ONLY_MAX:
        _, fold_mb, text = _child(["-m", "bench.scale", "--fold-only", str(feed)])
        fold = json.loads(text)
        row |= {"fold_s": round(fold["fold_s"], 3), "fold_peak_mb": round(fold_mb)}
    return row


def chart(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    events = [r["events"] for r in rows]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.loglog(events, [r["replay_s"] for r in rows], "o-", label="funnel replay (file → all tables)")
    folded = [r for r in rows if "fold_s" in r]
    left.loglog([r["events"] for r in folded], [r["fold_s"] for r in folded], "s-", label="fold + summary (in memory)")
    left.set(xlabel="events in the log", ylabel="seconds", title="Time")
    right.loglog(events, [r["replay_peak_mb"] for r in rows], "o-", label="funnel replay (buckets above 600k)")
    right.loglog([r["events"] for r in folded], [r["fold_peak_mb"] for r in folded], "s-", label="fold (log in memory)")
    right.axhline(2048, color="grey", linestyle=":", label="2 GiB")
    right.set(xlabel="events in the log", ylabel="peak RSS, MB", title="Peak memory")
    for ax in (left, right):
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10000,100000,1000000,10000000")
    parser.add_argument("--buckets", type=int, help="force funnel replay --buckets N at every size")
    parser.add_argument("--fold-only", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.fold_only:
        print(json.dumps(fold_only(args.fold_only)))
        return
    rows = []
    for n in args.sizes.split(","):
        rows.append(measure(int(n), args.buckets))
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    doc = {"benchmark": "scale", "command": f"python -m bench.scale --sizes {args.sizes}" + (f" --buckets {args.buckets}" if args.buckets else ""), "machine": machine(),
           "rows": rows}
    (RESULTS / "scale.json").write_text(json.dumps(doc, indent=2) + "\n")
    chart(rows, RESULTS / "scale.png")
    print(json.dumps(doc, indent=2))


if __name__ == "__main__":
    main()
