"""Soak: `funnel ingest` fed at a steady rate for minutes while `funnel worker` keeps up.

    python -m bench.soak --minutes 5 --rate 1000

Samples every 2 s: records produced, the worker group's lag, the worker's resident memory.
After the feed stops it waits for the lag to return to zero. Writes bench/results/soak.json
and a chart, bench/results/soak.png.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import psutil

from bench.common import RESULTS, machine
from bench.live import _free_port
from streams import config, synthetic
from streams.kafkaio.offsets import group_lag
from streams.kafkaio.topics import ensure_topics, event_topics


def _feed(stdin, lines: list[bytes], rate: float, seconds: float) -> None:
    """Write lines to ingest's stdin at ``rate`` per second for ``seconds`` (cycling, with fresh event ids)."""
    started, sent = time.monotonic(), 0
    while (elapsed := time.monotonic() - started) < seconds:
        due = int(elapsed * rate) - sent
        for _ in range(due):
            line = lines[sent % len(lines)]
            stdin.write(line if sent < len(lines) else line.replace(b'"event_id":"', f'"event_id":"r{sent}-'.encode(), 1))
            sent += 1
        stdin.flush()
        time.sleep(0.05)
    stdin.close()


def soak(bootstrap: str, minutes: float, rate: float) -> dict:
    topic, group = f"soak-{uuid.uuid4().hex[:6]}", f"soak-worker-{uuid.uuid4().hex[:6]}"
    ensure_topics(bootstrap, event_topics(topic))
    buffer = io.BytesIO()
    synthetic.write(buffer, synthetic.records(20_000, 5))
    lines = [line + b"\n" for line in buffer.getvalue().splitlines()]
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": bootstrap, "FUNNEL_QUALITY_INTERVAL": "60"}
    logs = Path("data/bench")
    logs.mkdir(parents=True, exist_ok=True)
    with open(logs / "soak-worker.log", "wb") as worker_log, open(logs / "soak-ingest.log", "wb") as ingest_log:
        worker = subprocess.Popen([sys.executable, "-m", "streams.cli", "worker", "--topic", topic, "--app-id", group,
                                   "--web-port", str(_free_port()), "--state-topic", f"{group}.state"],
                                  env=env, stdout=worker_log, stderr=subprocess.STDOUT)
        ingest = subprocess.Popen([sys.executable, "-m", "streams.cli", "ingest", "-", "--topic", topic, "--quality",
                                   "warn", "--batch-size", "1000", "--json"], env=env, stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=ingest_log)
        try:
            time.sleep(15)  # let the worker join its group first
            feeder = threading.Thread(target=_feed, args=(ingest.stdin, lines, rate, minutes * 60))
            started = time.monotonic()
            feeder.start()
            samples = _sample(bootstrap, group, topic, worker, lambda: feeder.is_alive() or ingest.poll() is None,
                              started)
            feeder.join()
            report = json.loads(ingest.stdout.read())
            ingest.wait(timeout=120)
        finally:
            for proc in (ingest, worker):
                if proc.poll() is None:
                    proc.terminate()
                    proc.wait(timeout=60)
    feeding = [s for s in samples if s["t"] <= minutes * 60]
    held = feeding[-1]["produced"] / feeding[-1]["t"] if feeding else 0
    drained = next((s["t"] for s in samples if s["t"] > minutes * 60 and s["lag"] == 0), None)
    return {"topic": topic, "minutes": minutes, "target_rate": rate, "events_per_s_held": round(held),
            "received": report["received"], "max_lag": max(s["lag"] for s in samples),
            "final_lag": samples[-1]["lag"], "lag_zero_after_feed_stopped_s": drained and round(drained - minutes * 60, 1),
            "worker_peak_rss_mb": round(max(s["worker_rss_mb"] for s in samples)), "samples": samples}


def _sample(bootstrap, group, topic, worker, feeding, started, drain_timeout=600) -> list[dict]:
    samples, process = [], psutil.Process(worker.pid)
    deadline = None
    while True:
        if worker.poll() is not None:
            raise RuntimeError("the worker died during the soak; see data/bench/soak-worker.log")
        lag = group_lag(bootstrap, group, topic)
        t = time.monotonic() - started
        samples.append({"t": round(t, 1), "produced": lag.end, "lag": lag.lag,
                        "worker_rss_mb": round(process.memory_info().rss / 2**20)})
        if not feeding():
            deadline = deadline or time.monotonic() + drain_timeout
            if lag.lag == 0 or time.monotonic() > deadline:
                return samples
        time.sleep(2)


def chart(doc: dict, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = [s["t"] / 60 for s in doc["samples"]]
    fig, (lag, rss) = plt.subplots(2, 1, figsize=(9, 5), sharex=True)
    lag.plot(t, [s["lag"] for s in doc["samples"]])
    lag.set(ylabel="worker lag (records)", title=f"Soak: {doc['target_rate']:.0f} events/s for {doc['minutes']} min")
    rss.plot(t, [s["worker_rss_mb"] for s in doc["samples"]], color="tab:red")
    rss.set(xlabel="minutes", ylabel="worker RSS (MB)")
    for ax in (lag, rss):
        ax.axvline(doc["minutes"], color="grey", linestyle="--")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=5)
    parser.add_argument("--rate", type=float, default=1000)
    args = parser.parse_args()
    doc = {"benchmark": "soak", "command": f"python -m bench.soak --minutes {args.minutes:g} --rate {args.rate:g}",
           "machine": machine(), **soak(config.bootstrap_servers(), args.minutes, args.rate)}
    (RESULTS / "soak.json").write_text(json.dumps(doc, indent=2) + "\n")
    chart(doc, RESULTS / "soak.png")
    print(json.dumps({k: v for k, v in doc.items() if k != "samples"}, indent=2))


if __name__ == "__main__":
    main()
