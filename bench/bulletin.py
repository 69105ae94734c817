"""``funnel bulletin`` for a quarter (2024-Q4, DOCX and PDF) on the demo data and on a 1M-event log.

    python -m bench.bulletin                      # the demo data set and 1,000,000 events
    python -m bench.bulletin --events 100000      # a smaller log

For each data set: ``funnel replay --from-file F --as-of 2024-12-31 --out DIR`` (what ``make demo``
runs before its bulletin), then ``funnel bulletin --period 2024-Q4 --source DIR`` (the bulletin from
that replay: what ``make demo`` times) and ``funnel bulletin --period 2024-Q4 --from-file F`` (the
whole way from the log); seconds of each command as a child process, the bulletin's own steps from
its ``--json``, and the peak resident memory of the command's process (sampled every 50 ms; Chromium,
its child, is not counted). The logs are generated with the current synthetic feed (milestone plans
included: about 4.4 lines per project, not the 3.15 of the older feeds in ``data/bench/events-N.jsonl``)
and cached in ``data/bench/bulletin-events-N.jsonl``. Writes ``results/bulletin.json``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from bench.common import record
from streams import synthetic

PERIOD = "2024-Q4"
AS_OF = "2024-12-31"


def timed(*args: str) -> tuple[float, float, str]:
    """Run ``funnel *args``: (seconds, peak RSS in MB of its process, stdout)."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen([sys.executable, "-m", "streams.cli", *args], stdout=out, stderr=err)
        watched, peak = psutil.Process(proc.pid), 0
        while proc.poll() is None:
            try:
                peak = max(peak, watched.memory_info().rss)
            except psutil.Error:
                pass
            time.sleep(0.05)
        seconds = time.perf_counter() - started
        out.seek(0), err.seek(0)
        if proc.returncode != 0:
            raise RuntimeError(f"funnel {' '.join(args)} failed:\n{err.read().decode()[-3000:]}")
        return seconds, peak / 2**20, out.read().decode()


def measure(name: str, feed: Path, work: Path) -> dict:
    replay_dir = work / f"replay-{name}"
    replay_s, replay_mb, _ = timed("replay", "--from-file", str(feed), "--as-of", AS_OF, "--out", str(replay_dir),
                                   "--no-check")
    figures = {"feed": str(feed), "records": sum(1 for _ in feed.open("rb")),
               "replay": {"seconds": round(replay_s, 1), "peak_rss_mb": round(replay_mb)}}
    for how, source in (("from_replay_dir", ("--source", str(replay_dir))), ("from_file", ("--from-file", str(feed)))):
        seconds, mb, out = timed("bulletin", "--period", PERIOD, *source, "--out", str(work / f"{name}-{how}"),
                                 "--format", "docx,pdf", "--json")
        doc = json.loads(out)
        figures[how] = {"seconds": round(seconds, 1), "peak_rss_mb": round(mb), "steps": doc["seconds"],
                        "pdf_bytes": Path(doc["files"]["pdf"]).stat().st_size,
                        "docx_bytes": Path(doc["files"]["docx"]).stat().st_size}
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--data", type=Path, default=Path("data/bench"))
    args = parser.parse_args()
    args.data.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bench-bulletin-") as tmp:
        work = Path(tmp)
        demo = work / "seed.jsonl"
        synthetic.generate_file(demo, projects=600, seed=2023)  # what make demo ingests
        big = args.data / f"bulletin-events-{args.events}.jsonl"
        if not big.exists():  # as many projects as make about --events lines, at the demo feed's lines per project
            per_project = sum(1 for _ in demo.open("rb")) / 600
            synthetic.generate_file(big, projects=round(args.events / per_project), seed=1)
        results = {"demo": measure("demo", demo, work), f"events_{args.events}": measure("big", big, work)}
    record("bulletin", {"command": f"python -m bench.bulletin --events {args.events}", "period": PERIOD,
                        "formats": "docx,pdf", **results})


if __name__ == "__main__":
    main()
