"""The live worker at scale: memory per event, page latency under load while it consumes at full rate,
recovery after SIGKILL, and two workers against one.

    python -m bench.worker --events 1000000

1. N events are ingested into a new 6-partition topic; one `funnel worker` catches up with it.
   Its resident memory is sampled with the group's committed offsets: growth per event is the
   slope between 10 % and 100 % consumed.
2. From 20 % consumed, 10 clients query `/projects/{id}` (random known projects) and `/summary`
   (today) for ``--load-s`` seconds; latencies per page (p50, p99), and the consumption rate during
   the load against the rate before it.
3. The worker is SIGKILLed at the end; a new one in the same group is timed until its `/summary`
   equals the one before the kill (store restored from the changelog, lag 0).
4. Two workers in a new group catch up with the same topic: their aggregate rate against one's, and
   both answer the same global `/summary`.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import psutil

from bench.common import feed_of, record, run_funnel
from bench.live import _free_port
from streams import config
from streams.kafkaio.offsets import group_lag

PARTITIONS = 6


class LiveWorker:
    def __init__(self, bootstrap: str, topic: str, group: str, log_dir: str, env: dict | None = None,
                 port: int | None = None, loglevel: str = "warning") -> None:
        self.port = port or _free_port()  # a restart on the same machine keeps its port, as a supervisor's would
        self.log = open(os.path.join(log_dir, f"{group}-{self.port}.log"), "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streams.cli", "worker", "--topic", topic, "--app-id", group, "--web-port",
             str(self.port), "--state-topic", f"{group}.state", "--loglevel", loglevel],
            env={**os.environ, "KAFKA_BOOTSTRAP_SERVERS": bootstrap, "FUNNEL_QUALITY_INTERVAL": "100000",
                 **(env or {})},
            stdout=self.log, stderr=subprocess.STDOUT)
        self.ps = psutil.Process(self.proc.pid)

    def rss_mb(self) -> float:
        return self.ps.memory_info().rss / 2**20

    def get(self, path: str, timeout: float = 30) -> tuple[int, dict | None]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=timeout) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as e:
            return e.code, None
        except OSError:
            return 0, None

    def stop(self, sig=signal.SIGTERM) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _load(worker: LiveWorker, project_ids: list[str], clients: int, seconds: float) -> dict:
    """``clients`` threads alternating /projects/{id} and /summary as fast as answers come."""
    latencies: dict[str, list[float]] = {"project": [], "summary": []}
    errors = []
    deadline = time.monotonic() + seconds

    def client(n: int) -> None:
        rng = random.Random(n)
        turn = n
        while time.monotonic() < deadline:
            page = "summary" if turn % 2 else "project"
            path = "/summary" if page == "summary" else f"/projects/{rng.choice(project_ids)}"
            started = time.perf_counter()
            status, _ = worker.get(path)
            latencies[page].append(time.perf_counter() - started)
            if status != 200:
                errors.append(status)
            turn += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {f"{page}_{stat}_ms": round(fn(ms) * 1000, 1) for page, ms in latencies.items()
            for stat, fn in (("p50", statistics.median), ("p99", lambda v: _percentile(v, 0.99)))} | {
        "requests": {page: len(ms) for page, ms in latencies.items()}, "non_200": len(errors)}


def _known_projects(feed: Path, n: int = 2000) -> list[str]:
    found = []
    with feed.open("rb") as f:
        for line in f:
            if b'"project_planned"' in line:
                try:
                    found.append(json.loads(line)["project_id"])
                except (ValueError, KeyError, TypeError):
                    continue
            if len(found) >= n * 10:
                break
    return random.Random(1).sample(found, min(n, len(found)))


def catch_up(bootstrap: str, topic: str, group: str, workers: list[LiveWorker], total: int,
             on_progress=lambda done, now: None, timeout_s: float = 3600) -> dict:
    """Sample committed offsets and memory until the group's lag is 0; the rate from the first commit."""
    first, samples = None, []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for w in workers:
            if w.proc.poll() is not None:
                raise RuntimeError(f"a worker exited with {w.proc.returncode}; see {w.log.name}")
        lag = group_lag(bootstrap, group, topic)
        now = time.monotonic()
        samples.append((now, lag.committed, sum(w.rss_mb() for w in workers)))
        if first is None and lag.committed > 0:
            first = (now, lag.committed)
        on_progress(lag.committed, now)
        if first and lag.lag == 0 and now > first[0]:
            return {"records_per_s": round((lag.end - first[1]) / (now - first[0])), "samples": samples}
        time.sleep(0.5)
    raise TimeoutError(f"group {group} did not catch up with {topic}")


def _rate(samples, start: float, end: float) -> float | None:
    inside = [(t, c) for t, c, _ in samples if start <= t <= end]
    if len(inside) < 2 or inside[-1][0] == inside[0][0]:
        return None
    return round((inside[-1][1] - inside[0][1]) / (inside[-1][0] - inside[0][0]))


def main(events: int, clients: int = 10, load_s: float = 30) -> dict:
    from streams.kafkaio.local_broker import LocalBroker
    from streams.kafkaio.offsets import end_offsets
    from streams.kafkaio.topics import ensure_topics, event_topics

    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or LocalBroker(config.state_dir(), config.cache_dir()).up()
    feed = feed_of(events)
    topic = f"bench-live-{uuid.uuid4().hex[:6]}"
    ensure_topics(bootstrap, event_topics(topic, PARTITIONS))
    _, report = run_funnel("ingest", str(feed), "--topic", topic, "--quality", "off", "--json",
                           env={"KAFKA_BOOTSTRAP_SERVERS": bootstrap})
    received = json.loads(report)["received"]  # records; the offsets below count transaction markers too
    total = sum(end_offsets(bootstrap, topic).values())
    projects = _known_projects(feed)
    figures: dict = {"events": total, "partitions": PARTITIONS, "clients": clients}
    with tempfile.TemporaryDirectory() as logs:
        group = f"bench-live-{uuid.uuid4().hex[:6]}"
        one = LiveWorker(bootstrap, topic, group, logs)
        load: dict = {}

        def query_at_20_percent(done: int, now: float) -> None:
            if not load and done >= total * 0.2:  # in a thread: the offsets are sampled meanwhile
                load["start"] = now

                def run() -> None:
                    load.update(_load(one, projects, clients, load_s))
                    load["end"] = time.monotonic()
                threading.Thread(target=run, daemon=True).start()

        caught = catch_up(bootstrap, topic, group, [one], total, query_at_20_percent)
        while "end" not in load:  # a slow answer may outlast the catch-up
            time.sleep(0.5)
        samples = caught["samples"]
        base = next(s for s in samples if s[1] >= total * 0.1)
        end = samples[-1]
        status, before_kill = one.get("/summary")
        while status != 200 or before_kill["accounting"]["received"] < received:
            time.sleep(0.5)
            status, before_kill = one.get("/summary")
        figures["one_worker"] = {
            "records_per_s": caught["records_per_s"],
            "rss_mb_at_10_percent": round(base[2]), "rss_mb_at_end": round(end[2]),
            "rss_growth_bytes_per_event": round((end[2] - base[2]) * 2**20 / max(1, end[1] - base[1])),
            "load": {k: v for k, v in load.items() if k not in ("start", "end")},
            "records_per_s_during_load": _rate(samples, load.get("start", 0), load.get("end", 0)),
            "records_per_s_before_load": _rate(samples, samples[0][0], load.get("start", 0)),
        }
        figures["idle_load"] = _load(one, projects, clients, min(load_s, 10))

        one.stop(signal.SIGKILL)
        started = time.monotonic()
        again = LiveWorker(bootstrap, topic, group, logs)
        while again.get("/summary")[1] != before_kill:
            if time.monotonic() - started > 1800 or again.proc.poll() is not None:
                raise RuntimeError(f"the restarted worker did not recover; see {again.log.name}")
            time.sleep(0.25)
        figures["recovery_s_after_sigkill"] = round(time.monotonic() - started, 1)
        figures["recovered_rss_mb"] = round(again.rss_mb())
        again.stop()

        pair_group = f"bench-pair-{uuid.uuid4().hex[:6]}"
        pair = [LiveWorker(bootstrap, topic, pair_group, logs) for _ in range(2)]
        two = catch_up(bootstrap, topic, pair_group, pair, total)
        answers = []
        for w in pair:  # today's answers are folded every second: give them a few seconds to settle
            deadline = time.monotonic() + 60
            status, doc = w.get("/summary")
            while (status != 200 or doc != before_kill) and time.monotonic() < deadline:
                time.sleep(0.5)
                status, doc = w.get("/summary")
            answers.append(doc)
        figures["two_workers"] = {"records_per_s": two["records_per_s"],
                                  "vs_one": round(two["records_per_s"] / caught["records_per_s"], 2),
                                  "both_answer_the_global_summary": answers[0] == answers[1] == before_kill}
        for w in pair:
            w.stop()
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--load-s", type=float, default=30)
    args = parser.parse_args()
    record(f"worker-{args.events}", main(args.events, args.clients, args.load_s))
