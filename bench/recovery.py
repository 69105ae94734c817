"""The worker back after a failure: restart after SIGKILL with and without a local checkpoint, failover of a killed
worker's partitions with and without standby copies, memory before the kill and after recovery, and the intake's
rate against Faust's do-nothing agent and a bare aiokafka loop doing the same checks, on the same topic.

    python -m bench.recovery --events 1000000 --runs 3

1. N events are ingested into a new 6-partition topic.
2. Rates (``--runs`` rounds, interleaved): `funnel worker` catching up (committed offsets over time), Faust's
   do-nothing agent in the worker's configuration (bench/faust_floor.py), a bare aiokafka loop checking each
   fetched batch with the worker's batch check. Ratios per round; median, min, max.
3. Restart: one worker catches up; each round it is SIGKILLed and restarted as a supervisor would (the same
   group, state directory and port) and timed from its start to its first ``/summary`` equal to the one before
   the kill. Rounds with checkpoints (the default: a static member, back without a rebalance), then with
   ``--state-dir none`` (the whole changelog restored, after the broker expires the killed member). RSS of the
   killed worker just before the kill, and of its successor 20 s after it answered.
4. Failover: two workers of one group, caught up, with one standby replica (the default); each round one is
   SIGKILLed and the survivor is timed until its ``/summary`` is whole and equal again (the broker notices the
   death after the session timeout, 10 s); the killed one is started again between rounds. Then the same with
   ``--standby-replicas 0`` and no checkpoints (the survivor restores the partitions it takes over from the
   whole changelog). Results in bench/results/recovery-<events>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import tempfile
import time
import uuid

from bench.common import feed_of, record, run_funnel
from bench.live import faust_floor, raw_aiokafka, worker as worker_rate
from bench.worker import PARTITIONS, LiveWorker
from streams import config
from streams.kafkaio.offsets import group_lag

SETTLE_S = 20  # after answering: a publish round hands freed memory back every 10 s


def spread(values: list[float], digits: int = 2) -> dict:
    return {"median": round(statistics.median(values), digits), "min": round(min(values), digits),
            "max": round(max(values), digits), "runs": [round(v, digits) for v in values]}


def whole_summary(w: LiveWorker, expected: dict | None = None, timeout_s: float = 1800) -> dict:
    """Poll ``/summary`` until it answers (equal to ``expected`` when given)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if w.proc.poll() is not None:
            raise RuntimeError(f"the worker exited; see {w.log.name}")
        status, doc = w.get("/summary", timeout=10)
        if status == 200 and (expected is None or doc == expected):
            return doc
        time.sleep(0.1)
    raise TimeoutError(f"no whole /summary in {timeout_s:.0f} s; see {w.log.name}")


def caught_up(w: LiveWorker, received: int, bootstrap: str, group: str, topic: str) -> dict:
    """The worker's summary once it holds every record and its group has committed every offset (a worker still
    digesting a catch-up commits late, and its successor reads that lag again)."""
    while True:
        doc = whole_summary(w)
        if doc["accounting"]["received"] >= received and group_lag(bootstrap, group, topic).lag == 0:
            time.sleep(3)  # today's state is folded every second: let it settle, then take the answer
            return whole_summary(w)
        time.sleep(1)


def rates(bootstrap: str, topic: str, runs: int) -> dict:
    rounds = []
    for _ in range(runs):
        ours = worker_rate(bootstrap, topic)["records_per_s"]
        floor = faust_floor(bootstrap, topic)["records_per_s"]
        bare = raw_aiokafka(bootstrap, topic)
        rounds.append({"worker": round(ours), "faust_floor": round(floor), "raw_aiokafka": round(bare)})
    return {"rounds": rounds,
            "worker_vs_faust_floor": spread([r["worker"] / r["faust_floor"] for r in rounds], 3),
            "worker_vs_raw_aiokafka": spread([r["worker"] / r["raw_aiokafka"] for r in rounds], 3)}


def restarts(bootstrap: str, topic: str, received: int, runs: int, logs: str) -> dict:
    """Rounds of SIGKILL and restart in one group and state directory: with checkpoints, then without."""
    group = f"bench-restart-{uuid.uuid4().hex[:6]}"
    state = {"FUNNEL_WORKER_STATE_DIR": os.path.join(logs, group)}
    current = LiveWorker(bootstrap, topic, group, logs, state)
    before = caught_up(current, received, bootstrap, group, topic)
    figures = {}
    for mode, env in (("with_checkpoint", state), ("without_checkpoint", {"FUNNEL_WORKER_STATE_DIR": "none"})):
        times, rss_before, rss_after = [], [], []
        for _ in range(runs):
            time.sleep(35)  # a checkpoint after the last chunk (every 30 s)
            rss_before.append(current.rss_mb())
            current.stop(signal.SIGKILL)
            started = time.monotonic()
            current = LiveWorker(bootstrap, topic, group, logs, env, port=current.port)  # restarted as it was
            whole_summary(current, before)
            times.append(time.monotonic() - started)
            time.sleep(SETTLE_S)
            rss_after.append(current.rss_mb())
        figures[f"restart_{mode}"] = {
            "restart_s": spread(times, 1), "rss_mb_before_kill": spread(rss_before, 0),
            "rss_mb_after_recovery": spread(rss_after, 0),
            "rss_after_vs_before": spread([a / b for a, b in zip(rss_after, rss_before)], 2)}
    current.stop()
    return figures


def failovers(bootstrap: str, topic: str, received: int, runs: int, logs: str) -> dict:
    """Rounds of SIGKILL of one of two workers in one group: with standby copies, then without standbys or
    checkpoints (the survivor restores what it takes over from the whole changelog)."""
    group = f"bench-failover-{uuid.uuid4().hex[:6]}"
    first = {"FUNNEL_WORKER_STATE_DIR": os.path.join(logs, group)}
    pair = [LiveWorker(bootstrap, topic, group, logs, first)]
    before = caught_up(pair[0], received, bootstrap, group, topic)
    figures = {}
    for mode, env in (("with_standby", first),
                      ("without_standby", {"FUNNEL_STANDBY_REPLICAS": "0", "FUNNEL_WORKER_STATE_DIR": "none"})):
        if mode == "without_standby":  # every member with the new settings: the group leader's decide
            for w in pair:
                w.stop()
            pair = [LiveWorker(bootstrap, topic, group, logs, env)]
            whole_summary(pair[0], before)
        pair = pair[:1] + [LiveWorker(bootstrap, topic, group, logs, env)]
        times = []
        for n in range(runs):
            for w in pair:
                whole_summary(w, before)
            time.sleep(15)  # standby copies warm (they follow the changelog as it is written)
            victim, survivor = pair[n % 2], pair[1 - n % 2]
            victim.stop(signal.SIGKILL)
            started = time.monotonic()
            time.sleep(1)  # the survivor still answers from before the death until the group notices it
            whole_summary(survivor, before)
            times.append(time.monotonic() - started)
            pair[n % 2] = LiveWorker(bootstrap, topic, group, logs, env, port=victim.port)
        figures[f"failover_{mode}"] = {"failover_s": spread(times, 1)}
    for w in pair:
        w.stop()
    return figures


def main(events: int, runs: int) -> dict:
    from streams.kafkaio.local_broker import LocalBroker
    from streams.kafkaio.topics import ensure_topics, event_topics

    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or LocalBroker(config.state_dir(), config.cache_dir()).up()
    topic = f"bench-recovery-{uuid.uuid4().hex[:6]}"
    ensure_topics(bootstrap, event_topics(topic, PARTITIONS))
    _, report = run_funnel("ingest", str(feed_of(events)), "--topic", topic, "--quality", "off", "--json",
                           env={"KAFKA_BOOTSTRAP_SERVERS": bootstrap})
    received = json.loads(report)["received"]
    figures: dict = {"command": f"python -m bench.recovery --events {events} --runs {runs}", "events": received,
                     "partitions": PARTITIONS, "session_timeout_s": 10}
    with tempfile.TemporaryDirectory() as logs:
        figures.update(restarts(bootstrap, topic, received, runs, logs))
        figures.update(failovers(bootstrap, topic, received, runs, logs))
        figures["rates"] = rates(bootstrap, topic, runs)
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    record(f"recovery-{args.events}", main(args.events, args.runs))
