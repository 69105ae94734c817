"""Measuring helpers shared by the benchmarks."""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

RESULTS = Path(__file__).resolve().parent / "results"
#: Records per project of the synthetic feed: with the bureau's trips and issues, and projects only.
EVENTS_PER_PROJECT, PROJECT_EVENTS_PER_PROJECT = 6.2, 4.4
BENCH_DATA = Path("data/bench")


def feed_of(events: int, *, bureau: bool = True, seed: int = 1, data: Path = BENCH_DATA) -> Path:
    """A synthetic feed of about ``events`` records (made once, then reused): with the bureau's trips and issues
    (§8, §9), or ``bureau=False`` projects only. The name says which generator made it."""
    path = data / f"events-{events}-{'bureau' if bureau else 'projects'}-{seed}.jsonl"
    if not path.exists():
        from streams import synthetic

        per_project = EVENTS_PER_PROJECT if bureau else PROJECT_EVENTS_PER_PROJECT
        path.parent.mkdir(parents=True, exist_ok=True)
        synthetic.generate_file(path, projects=max(1, int(events / per_project)), seed=seed, bureau=bureau)
    return path


def machine() -> dict:
    return {"cores": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds")}


def run_funnel(*args: str, env: dict | None = None) -> tuple[float, str]:
    """Run a funnel command in a child process; (seconds, stdout)."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "streams.cli", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})})
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"funnel {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return seconds, done.stdout


def peak_rss_children_mb() -> float:
    """Peak resident memory of the largest child process waited for so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def peak_rss_self_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def record(name: str, figures: dict) -> dict:
    doc = {"benchmark": name, "machine": machine(), **figures}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(doc, ensure_ascii=False, indent=2))
    return doc


def interleaved(ours: Callable[[], float], references: dict[str, Callable[[], float]], runs: int = 3,
                unstable: str | None = None) -> dict[str, dict]:
    """Each pair (ours, a reference) measured ``runs`` times, interleaved: ours, each reference, ours, ...

    Every callable runs one measurement and returns a rate (records/s; higher is better), so a
    ratio is ours / reference of the same round, and a slow minute of a shared machine falls on
    both sides of a round. Per reference: the median ratio with its min and max, and every run's
    figures. ``unstable`` says why a figure cannot be made stable (e.g. too few records for our side).
    """
    rounds = []
    for _ in range(runs):
        mine = ours()
        rounds.append((mine, {name: measure() for name, measure in references.items()}))
    out = {}
    for name in references:
        ratios = [mine / refs[name] for mine, refs in rounds]
        out[name] = {"median": round(statistics.median(ratios), 4), "min": round(min(ratios), 4),
                     "max": round(max(ratios), 4), "runs": [{"ours": round(mine), "reference": round(refs[name]),
                                                             "ratio": round(mine / refs[name], 4)}
                                                            for mine, refs in rounds],
                     "stable": unstable is None, **({"unstable_because": unstable} if unstable else {})}
    return out
