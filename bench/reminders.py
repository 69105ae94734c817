"""What computing a day's reminders (§10) costs, against the fold of the same log.

    python -m bench.reminders --events 1000000 --runs 3

The synthetic bureau feed of about ``--events`` records (trips and issues included) is read and settled once in
this process; then, ``--runs`` times interleaved, for each day D of ``--days``: ``reminders_for(settled, D)`` (the
whole computation: the state at the ends of D-14..D and of the month ends a red_persisting looks at, the issues of
D-6..D, the records and their text) and the reference, one ``project_state`` of the same log as of D (what replay
folds once). Reported per day: each side's median seconds with min and max, the ratio reminders / fold per round
(median, min, max), and the reminders by kind.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import date

from bench.common import feed_of, peak_rss_self_mb, record


def _spread(values: list[float], digits: int = 3) -> dict:
    return {"median": round(statistics.median(values), digits), "min": round(min(values), digits),
            "max": round(max(values), digits)}


def _timed(fn) -> tuple[float, object]:
    started = time.perf_counter()
    got = fn()
    return time.perf_counter() - started, got


def measure(settled, day: date, runs: int) -> dict:
    """Reminders of ``day`` and the fold as of ``day``, ``runs`` times interleaved."""
    from streams.core.clock import day_end
    from streams.core.fold import project_state
    from streams.core.log import accepted_events
    from streams.core.reminders import reminders_for
    from streams.reminders.publish import counts_by_kind

    rounds, found = [], None
    for _ in range(runs):
        ours, found = _timed(lambda: reminders_for(settled, day))
        fold, _ = _timed(lambda: project_state(accepted_events(settled), day_end(day)))
        rounds.append((ours, fold))
    return {"day": day.isoformat(), "reminders": found.height, "by_kind": counts_by_kind(found),
            "reminders_s": _spread([r[0] for r in rounds]), "fold_s": _spread([r[1] for r in rounds]),
            "ratio": _spread([r[0] / r[1] for r in rounds])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--days", default="2024-06-30,2024-11-15")
    args = parser.parse_args()
    from streams.core.log import settle
    from streams.replay import files_received_at, log_from_files

    feed = feed_of(args.events)
    seconds, settled = _timed(lambda: settle(log_from_files([feed], files_received_at([feed]))))
    print(f"read and settled {settled.height:,} records of {feed.name} in {seconds:.1f} s", file=sys.stderr)
    rows = []
    for day in args.days.split(","):
        rows.append(measure(settled, date.fromisoformat(day), args.runs))
        print(rows[-1], file=sys.stderr, flush=True)
    record("reminders", {"command": f"python -m bench.reminders --events {args.events} --runs {args.runs} "
                                    f"--days {args.days}", "records": settled.height,
                         "peak_rss_mb": round(peak_rss_self_mb()), "rows": rows})


if __name__ == "__main__":
    main()
