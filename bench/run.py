"""`funnel bench`: every figure as a ratio against a reference measured in the same run.

- ingest  : `funnel ingest` (kafka-python, acks=all, idempotent)  vs Kafka's ProducerPerformance, same record size
- replay  : `funnel replay --topic`'s path to the summary          vs Kafka's ConsumerPerformance on the same topic
- fold    : the Polars fold + summary                                vs a plain pandas version (bench/pandas_fold.py)
- live    : `funnel worker` catching up with the topic           vs a bare aiokafka loop doing the same checks,
            and vs the same Faust configuration with an agent that does nothing (bench/faust_floor.py)
- worker  : memory per event, page latency under load, recovery after SIGKILL, two workers (bench/worker.py)
- fold    : (above) at 10k, 1M and 10M events; the headline is 1M
- quality : GX per ingest batch and per aggregate write
- scale   : `funnel replay` and the fold alone, time and peak memory, 10k … 10M events (bench/scale.py)
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
import uuid
from datetime import date, datetime, timezone
from pathlib import Path

import polars as pl

from bench.common import EVENTS_PER_PROJECT, RESULTS, machine, run_funnel
from streams import config, synthetic


def _kafka_tool(main_class: str, *args: str) -> str:
    from streams.kafkaio.local_broker import fetch_jars

    lib = fetch_jars(config.cache_dir())
    done = subprocess.run(["java", "-Xmx1g", "-cp", f"{lib}/*", main_class, *args], capture_output=True, text=True,
                          timeout=1800)
    if done.returncode != 0:
        raise RuntimeError(f"{main_class} failed: {done.stderr[-2000:]}")
    return done.stdout


def producer_performance(bootstrap: str, records: int, size: int) -> float:
    topic = f"bench-kafka-{uuid.uuid4().hex[:6]}"
    from streams.kafkaio.topics import ensure_topics, event_topics

    ensure_topics(bootstrap, event_topics(topic))
    out = _kafka_tool("org.apache.kafka.tools.ProducerPerformance", "--topic", topic, "--num-records", str(records),
                      "--record-size", str(size), "--throughput", "-1", "--producer-props",
                      f"bootstrap.servers={bootstrap}", "acks=all", "enable.idempotence=true", "linger.ms=20",
                      "batch.size=262144")
    return float(re.findall(r"([\d.]+) records/sec", out)[-1])


def consumer_performance(bootstrap: str, topic: str, records: int) -> float:
    out = _kafka_tool("org.apache.kafka.tools.ConsumerPerformance", "--bootstrap-server", bootstrap, "--topic", topic,
                      "--messages", str(records), "--timeout", "600000")
    return float(out.strip().splitlines()[-1].split(",")[5])  # nMsg.sec


def replay_in_process(bootstrap: str, topic: str) -> float:
    """Seconds of what `funnel replay --topic` does, without the interpreter's start-up (the
    Kafka tools' figures leave out the JVM's start-up too)."""
    from streams.core.summary import View, fold_log, summary
    from streams.replay import log_from_topic

    started = time.perf_counter()
    summary(fold_log(log_from_topic(bootstrap, topic), View(date(2024, 12, 31))))
    return time.perf_counter() - started


def fold_vs_pandas(log: pl.DataFrame) -> dict:
    from bench.pandas_fold import summary as pandas_summary
    from streams.core.summary import View, fold_log, summary

    view = View(date(2024, 12, 31))
    started = time.perf_counter()
    ours = summary(fold_log(log, view))
    polars_s = time.perf_counter() - started
    frame = log.with_columns(pl.col(pl.Categorical).cast(pl.Utf8)).to_pandas()
    started = time.perf_counter()
    reference = pandas_summary(frame, view.cutoff)
    pandas_s = time.perf_counter() - started
    same = {k: v for k, v in ours["pools"].items() if v["count"]} == reference["pools"] and \
        ours["flows"] == reference["flows"]
    return {"events": log.height, "polars_s": round(polars_s, 3), "pandas_s": round(pandas_s, 3),
            "speedup": round(pandas_s / polars_s, 2), "same_result": same}


def tiled(log: pl.DataFrame, events: int) -> pl.DataFrame:
    copies = max(1, -(-events // log.height))
    return pl.concat([log.with_columns(seq=pl.col("seq") + i * log.height, project_id=pl.col("project_id") + f"~{i}")
                      for i in range(copies)]).head(events)


def broker_cpu_s() -> float | None:
    """CPU seconds the local broker has used so far (None when the broker is not ours)."""
    import psutil

    from streams.kafkaio.local_broker import LocalBroker

    pid = LocalBroker(config.state_dir(), config.cache_dir()).pid()
    if pid is None:
        return None
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


def main(quick: bool = False, events: int | None = None) -> dict:
    from streams.core.log import received_log
    from streams.kafkaio.local_broker import LocalBroker

    n = events or (100_000 if quick else 1_000_000)
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or LocalBroker(config.state_dir(), config.cache_dir()).up()
    env = {"KAFKA_BOOTSTRAP_SERVERS": bootstrap}
    data = Path("data/bench")
    feed = data / f"events-{n}.jsonl"
    if not feed.exists():
        synthetic.generate_file(feed, projects=int(n / EVENTS_PER_PROJECT), seed=1)
    lines = sum(1 for _ in feed.open("rb"))
    size = round(feed.stat().st_size / lines)

    topic = f"bench-run-{uuid.uuid4().hex[:6]}"
    broker_cpu_at_start = broker_cpu_s()
    ingest_s, out = run_funnel("ingest", str(feed), "--topic", topic, "--quality", "off", "--json", env=env)
    produced = json.loads(out)["produced"]  # the topic's records; the rest went to the DLQ
    kafka_producer = producer_performance(bootstrap, lines, size)
    replay_s = replay_in_process(bootstrap, topic)
    replay_command_s, _ = run_funnel("replay", "--topic", topic, "--as-of", "2024-12-31", "--json", env=env)
    kafka_consumer = consumer_performance(bootstrap, topic, produced)
    broker_cpu = None if broker_cpu_at_start is None else round(broker_cpu_s() - broker_cpu_at_start, 1)
    from bench import live, scale

    worker = live.worker(bootstrap, topic)
    floor = live.faust_floor(bootstrap, topic)
    bare = live.raw_aiokafka(bootstrap, topic)
    from bench import worker as live_at_scale

    at_scale = live_at_scale.main(n, load_s=20 if quick else 30)

    with feed.open("rb") as f:
        log = received_log(((i, line.rstrip(b"\n")) for i, line in enumerate(f, 1)), datetime.now(timezone.utc))
    sizes = [10_000, 100_000, 1_000_000] if quick else [10_000, 1_000_000, 10_000_000]
    folds = [fold_vs_pandas(tiled(log, s)) for s in sizes]
    headline = next((f for f in folds if f["events"] == 1_000_000), folds[-1])
    from bench.quality import measure as quality

    scaled = [scale.measure(s) for s in ([10_000, 100_000] if quick else [10_000, 100_000, 1_000_000, 10_000_000])]
    figures = {
        "ingest_vs_kafka_producer": round(lines / ingest_s / kafka_producer, 4),
        "replay_vs_kafka_consumer": round(lines / replay_s / kafka_consumer, 4),
        "worker_vs_raw_aiokafka": round(worker["records_per_s"] / bare, 4),
        "worker_vs_faust_floor": round(worker["records_per_s"] / floor["records_per_s"], 4),
        "worker_rss_bytes_per_event": at_scale["one_worker"]["rss_growth_bytes_per_event"],
        "worker_project_p99_ms_under_load": at_scale["one_worker"]["load"]["project_p99_ms"],
        "worker_summary_p99_ms_under_load": at_scale["one_worker"]["load"]["summary_p99_ms"],
        "worker_recovery_s_after_sigkill": at_scale["recovery_s_after_sigkill"],
        "two_workers_vs_one": at_scale["two_workers"]["vs_one"],
        "fold_vs_pandas_speedup": headline["speedup"],
        "quality": quality(),
        "raw": {"events": lines, "record_bytes": size, "ingest_records_per_s": round(lines / ingest_s),
                "kafka_producer_records_per_s": round(kafka_producer), "replay_records_per_s": round(lines / replay_s),
                "replay_command_records_per_s_with_start_up": round(lines / replay_command_s),
                "kafka_consumer_records_per_s": round(kafka_consumer),
                "worker_records_per_s": round(worker["records_per_s"]), "raw_aiokafka_records_per_s": round(bare),
                "faust_floor_records_per_s": round(floor["records_per_s"]), "worker_at_scale": at_scale,
                "fold": folds, "scale": scaled, "broker_cpu_s_ingest_and_replay": broker_cpu},
        "machine": machine(),
    }
    (RESULTS / ("bench-quick.json" if quick else "bench.json")).write_text(json.dumps(figures, indent=2) + "\n")
    return figures


if __name__ == "__main__":
    print(json.dumps(main(quick=True), indent=2))
