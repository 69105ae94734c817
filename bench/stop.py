"""How long `funnel worker` takes to stop on Ctrl-C (SIGINT), at lag 0 and under load, on a topic written by
librdkafka in transactions of 40 records with an aborted one after every fifth (the hold-out log's shape).
The reference, in the same run and on the same topic: Faust's do-nothing agent (bench/faust_floor.py).

    python -m bench.stop [--events 100000] [--runs 3]

Each round starts ours and the reference in turn on a new consumer group: "idle" waits until the group's lag
is 0, "load" until it has committed a fifth of the topic; then SIGINT, and the seconds until the process
has exited. Medians of the rounds with their min and max; written to bench/results/stop.json.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from bench.live import _free_port
from streams import config, synthetic
from streams.kafkaio.offsets import group_lag

PARTITIONS = 6


def _command(kind: str, topic: str, group: str) -> list[str]:
    if kind == "worker":
        return ["-m", "streams.cli", "worker", "--topic", topic, "--app-id", group, "--web-port",
                str(_free_port()), "--state-topic", f"{group}.state", "--loglevel", "warning"]
    return ["-m", "bench.faust_floor", "--topic", topic, "--app-id", group, "--partitions", str(PARTITIONS)]


def stop_seconds(bootstrap: str, topic: str, kind: str, when: str, logs: str, timeout_s: float = 900) -> float:
    """Start ``kind`` (worker or floor) on a new group, wait for ``when`` (idle: lag 0; load: a fifth committed),
    send SIGINT, and return the seconds until it has exited."""
    group = f"bench-stop-{kind}-{uuid.uuid4().hex[:6]}"
    with open(os.path.join(logs, f"{group}.log"), "wb") as log:
        proc = subprocess.Popen([sys.executable, *_command(kind, topic, group)],
                                env={**os.environ, "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
                                     "FUNNEL_QUALITY_INTERVAL": "100000"}, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + timeout_s
            while time.monotonic() < deadline:
                if proc.poll() is not None:
                    raise RuntimeError(f"{kind} exited with {proc.returncode}; see {log.name}")
                lag = group_lag(bootstrap, group, topic)
                if (when == "idle" and lag.lag == 0) or (when == "load" and lag.committed >= lag.end / 5):
                    break
                time.sleep(0.2)
            else:
                raise TimeoutError(f"{kind} did not get to '{when}' in {timeout_s:.0f} s")
            started = time.perf_counter()
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=300)
            return time.perf_counter() - started
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def _spread(values: list[float]) -> dict:
    return {"median_s": round(statistics.median(values), 2), "min_s": round(min(values), 2),
            "max_s": round(max(values), 2), "runs_s": [round(v, 2) for v in values]}


def main(events: int, runs: int) -> dict:
    from bench.common import record
    from streams.kafkaio.local_broker import LocalBroker
    from streams.kafkaio.topics import ensure_topics, event_topics
    from tests.transactional import write_in_transactions

    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or LocalBroker(config.state_dir(), config.cache_dir()).up()
    feed = Path("data/bench") / f"stop-{events}.jsonl"
    if not feed.exists():
        synthetic.generate_file(feed, projects=max(1, events // 4), seed=3)
    topic = f"bench-stop-{uuid.uuid4().hex[:6]}"
    ensure_topics(bootstrap, event_topics(topic, PARTITIONS))
    lines = feed.read_bytes().splitlines()[:events]
    written = write_in_transactions(bootstrap, topic, lines)
    figures: dict = {"command": f"python -m bench.stop --events {events} --runs {runs}", "topic": topic,
                     "records": len(written.committed), "aborted_records": len(written.aborted),
                     "transactions": written.transactions}
    with tempfile.TemporaryDirectory() as logs:
        for when in ("idle", "load"):
            times: dict[str, list[float]] = {"worker": [], "faust_floor": []}
            for _ in range(runs):  # interleaved: ours, then the reference, each round
                times["worker"].append(stop_seconds(bootstrap, topic, "worker", when, logs))
                times["faust_floor"].append(stop_seconds(bootstrap, topic, "floor", when, logs))
            figures[when] = {name: _spread(values) for name, values in times.items()}
    return record("stop", figures)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    main(args.events, args.runs)
