"""`funnel bench`: every figure as a ratio against a reference measured in the same run.

Each pair runs three times interleaved (ours, its references, ours, ...; ``bench.common.interleaved``)
and reports the median ratio with its min, max and every run; each reference handles at least 1M
records with its warm-up left out. ``--quick`` (100k records for our side) says which ratios it
cannot make stable.

- ingest  : `funnel ingest` (kafka-python, acks=all, idempotent)  vs Kafka's ProducerPerformance, same record
            size, and vs kafka-python alone with the same settings
- replay  : `funnel replay --topic`'s path to the summary          vs Kafka's ConsumerPerformance, and vs
            kafka-python alone reading the topic (no checks)
- fold    : the Polars settle + fold + summary.json                  vs a plain pandas version writing the same summary
            (bench/pandas_fold.py, checked whole), and vs its narrower first version (pools and yearly flows)
- live    : `funnel worker` catching up with the topic           vs a bare aiokafka loop doing the same checks,
            and vs the same Faust configuration with an agent that does nothing (bench/faust_floor.py)
- worker  : memory per event, page latency under load, recovery after SIGKILL, two workers (bench/worker.py; one run)
- fold    : (above) at 10k, 1M and 10M events; the headline is 1M
- quality : GX per ingest batch and per aggregate write
- scale   : `funnel replay` and the fold alone, time and peak memory, 10k … 1M events (bench/scale.py; its
            10M row, a 30-minute replay on 2 cores, is `python -m bench.scale --sizes ...,10000000` on its own)
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
import uuid
from datetime import date, datetime, timezone
from typing import Callable

import polars as pl

from bench.common import RESULTS, feed_of, interleaved, machine, run_funnel
from streams import config


#: Records every reference handles per run, at least: enough for the JVM (and the brokers' caches) to settle.
REFERENCE_RECORDS = 1_000_000
#: Share of a reference's records counted as its warm-up and left out of its rate.
WARM_UP = 0.2


def _kafka_tool(main_class: str, *args: str) -> str:
    from streams.kafkaio.local_broker import fetch_jars

    lib = fetch_jars(config.cache_dir())
    done = subprocess.run(["java", "-Xmx1g", "-cp", f"{lib}/*", main_class, *args], capture_output=True, text=True,
                          timeout=1800)
    if done.returncode != 0:
        raise RuntimeError(f"{main_class} failed: {done.stderr[-2000:]}")
    return done.stdout


def _new_topic(bootstrap: str, prefix: str) -> str:
    from streams.kafkaio.topics import ensure_topics, event_topics

    topic = f"{prefix}-{uuid.uuid4().hex[:6]}"
    ensure_topics(bootstrap, event_topics(topic))
    return topic


_WINDOW = re.compile(r"^(\d+) records sent, ([\d.]+) records/sec \([^)]*\), [\d.]+ ms avg latency, "
                     r"[\d.]+ ms max latency\.$", re.M)


def steady_producer_rate(out: str) -> float:
    """ProducerPerformance's rate without its warm-up: over its 5-second windows after the first
    (the last line, the whole run's average, includes the JVM's start)."""
    windows = [(int(n), float(r)) for n, r in _WINDOW.findall(out) if float(r) > 0]
    if len(windows) < 2:
        return float(re.findall(r"([\d.]+) records/sec", out)[-1])
    steady = windows[1:]
    return sum(n for n, _ in steady) / sum(n / r for n, r in steady)


def producer_performance(bootstrap: str, records: int, size: int, topics: list[str] | None = None) -> float:
    """Kafka's ProducerPerformance, acks=all and idempotent, steady state (records/s); its topic goes to ``topics``."""
    topic = _new_topic(bootstrap, "bench-kafka")
    out = _kafka_tool("org.apache.kafka.tools.ProducerPerformance", "--topic", topic, "--num-records", str(records),
                      "--record-size", str(size), "--throughput", "-1", "--producer-props",
                      f"bootstrap.servers={bootstrap}", "acks=all", "enable.idempotence=true", "linger.ms=20",
                      "batch.size=262144")
    if topics is not None:
        topics.append(topic)
    return steady_producer_rate(out)


def steady_consumer_rate(out: str, records: int) -> float:
    """ConsumerPerformance's rate without its warm-up, from its detailed stats (a report every 100 ms):
    from the first report past :data:`WARM_UP` of the records to the last report."""
    rows = []
    for line in out.splitlines():
        cells = [c.strip() for c in line.split(",")]
        if len(cells) >= 6 and re.match(r"\d{4}-\d\d-\d\d ", cells[0]):
            rows.append((datetime.strptime(cells[0], "%Y-%m-%d %H:%M:%S:%f"), int(cells[4])))
    start = next((r for r in rows if r[1] >= WARM_UP * records), None)
    if start is None or rows[-1][0] <= start[0]:
        raise RuntimeError(f"ConsumerPerformance reported too little to judge its steady state: {out[-500:]}")
    end = rows[-1]
    return (end[1] - start[1]) / (end[0] - start[0]).total_seconds()


def consumer_performance(bootstrap: str, topic: str, records: int) -> float:
    out = _kafka_tool("org.apache.kafka.tools.ConsumerPerformance", "--bootstrap-server", bootstrap, "--topic", topic,
                      "--messages", str(records), "--timeout", "600000", "--show-detailed-stats",
                      "--reporting-interval", "100")  # a million records can take 3 s here
    return steady_consumer_rate(out, records)


def kafka_python_consumer(bootstrap: str, topic: str) -> float:
    """kafka-python alone reading a topic with replay's settings (``read_topic``), no checks: records/s
    after the first :data:`WARM_UP` of them."""
    from streams.kafkaio.consumer import read_topic
    from streams.kafkaio.offsets import end_offsets

    total = sum(end_offsets(bootstrap, topic).values())
    mark = int(total * WARM_UP)
    seen, started = 0, None
    for _ in read_topic(bootstrap, topic):
        seen += 1
        if seen == mark:
            started = time.perf_counter()
    return (seen - mark) / (time.perf_counter() - started)


def kafka_python_producer(bootstrap: str, lines: list[bytes], records: int) -> float:
    """kafka-python alone sending ``records`` of the feed's lines (cycled) with ingest's producer settings,
    no checks: records/s after the first :data:`WARM_UP` of them, to the last delivery."""
    from streams.kafkaio.producer import DeliverySettings, event_producer

    topic = _new_topic(bootstrap, "bench-bare")
    producer = event_producer(bootstrap, DeliverySettings())
    mark, started = int(records * WARM_UP), time.perf_counter()
    for i in range(records):
        if i == mark:
            producer.flush()
            started = time.perf_counter()
        producer.send(topic, key=str(i % 50_000).encode(), value=lines[i % len(lines)])
    producer.flush()
    rate = (records - mark) / (time.perf_counter() - started)
    producer.close()
    return rate


def replay_in_process(bootstrap: str, topic: str) -> float:
    """Seconds of what `funnel replay --topic` does to the summary, without the interpreter's start-up
    (the Kafka tools' figures leave out the JVM's start-up too)."""
    import tempfile

    from streams.core.summary import View
    from streams.replay import fold_and_aggregate, log_from_topic

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-replay-") as work:
        fold_and_aggregate(log_from_topic(bootstrap, topic, spill=work), View(date(2024, 12, 31)), work=work)
    return time.perf_counter() - started


def fold_vs_pandas(log: pl.DataFrame, runs: int = 1) -> dict:
    """The Polars settle + fold + summary against the pandas reference writing the same summary.json (checked
    whole), interleaved; and against the narrower pandas reference of pools and yearly flows (checked on those)."""
    from bench.pandas_fold import pools_and_flows, summary as pandas_summary
    from streams.core.summary import View, fold_log, summary

    view = View(date(2024, 12, 31))
    frame = log.with_columns(pl.col(pl.Categorical).cast(pl.Utf8)).to_pandas()
    results = {}

    def timed(name: str, run: Callable[[], dict]) -> Callable[[], float]:
        def measure() -> float:
            started = time.perf_counter()
            results[name] = run()
            return log.height / (time.perf_counter() - started)
        return measure

    pairs = interleaved(timed("ours", lambda: summary(fold_log(log, view))), {
        "pandas": timed("pandas", lambda: pandas_summary(frame, view.cutoff)),
        "pandas_pools_flows": timed("pandas_pools_flows", lambda: pools_and_flows(frame, view.cutoff)),
    }, runs)
    mine, narrow = results["ours"], results["pandas_pools_flows"]
    same_narrow = {k: v for k, v in mine["pools"].items() if v["count"]} == narrow["pools"] and \
        mine["flows"] == narrow["flows"]
    return {"events": log.height, "speedup": pairs["pandas"], "same_result": mine == results["pandas"],
            "speedup_vs_pools_and_flows": pairs["pandas_pools_flows"], "same_pools_and_flows": same_narrow}


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


def main(quick: bool = False, events: int | None = None, runs: int = 3) -> dict:
    """Every pair measured ``runs`` times interleaved (:func:`bench.common.interleaved`); the JSON has, per
    ratio, its median, min, max and runs, and says which figures this run cannot make stable."""
    from streams.core.log import received_log
    from streams.kafkaio.local_broker import LocalBroker

    n = events or (100_000 if quick else 1_000_000)
    references = max(n, REFERENCE_RECORDS)
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or LocalBroker(config.state_dir(), config.cache_dir()).up()
    env = {"KAFKA_BOOTSTRAP_SERVERS": bootstrap}
    feed = feed_of(n)
    with feed.open("rb") as f:
        lines = [line.rstrip(b"\n") for line in f]
    size = round(feed.stat().st_size / len(lines))
    few = None if n >= REFERENCE_RECORDS else (
        f"our side handles {n:,} records (the whole command for ingest): start-up and the first batches weigh "
        f"on it; its reference runs {references:,} records, warm-up excluded. Run without --quick")

    broker_cpu_at_start = broker_cpu_s()
    ours_topics: list[str] = []
    ref_topics: list[str] = []

    def ingest() -> float:
        topic = f"bench-run-{uuid.uuid4().hex[:6]}"
        seconds, _ = run_funnel("ingest", str(feed), "--topic", topic, "--quality", "off", "--json", env=env)
        ours_topics.append(topic)
        return len(lines) / seconds

    ingest_pairs = interleaved(ingest, {
        "kafka_producer": lambda: producer_performance(bootstrap, references, size, ref_topics),
        "kafka_python_producer": lambda: kafka_python_producer(bootstrap, lines, references),
    }, runs, few)
    topic, reference_topic = ours_topics[0], ref_topics[0]
    replay_pairs = interleaved(lambda: len(lines) / replay_in_process(bootstrap, topic), {
        "kafka_consumer": lambda: consumer_performance(bootstrap, reference_topic, references),
        "kafka_python_consumer": lambda: kafka_python_consumer(bootstrap, reference_topic),
    }, runs, few)
    replay_command_s, _ = run_funnel("replay", "--topic", topic, "--as-of", "2024-12-31", "--json", env=env)
    broker_cpu = None if broker_cpu_at_start is None else round(broker_cpu_s() - broker_cpu_at_start, 1)
    from bench import live, scale

    worker_runs: list[dict] = []

    def worker() -> float:
        worker_runs.append(live.worker(bootstrap, topic))
        return worker_runs[-1]["records_per_s"]

    worker_pairs = interleaved(worker, {
        "faust_floor": lambda: live.faust_floor(bootstrap, topic)["records_per_s"],
        "raw_aiokafka": lambda: live.raw_aiokafka(bootstrap, topic),
    }, runs, few)
    from bench import worker as live_at_scale

    at_scale = live_at_scale.main(n, load_s=20 if quick else 30)

    # The pandas reference folds projects only (no trips, §8, or issues, §9): both sides fold the same feed of
    # projects, so that the two summaries can be checked whole (bench.bureau measures what trips and issues cost).
    with feed_of(n, bureau=False).open("rb") as f:
        log = received_log(((i, line.rstrip(b"\n")) for i, line in enumerate(f, 1)), datetime.now(timezone.utc))
    sizes = [10_000, 100_000, 1_000_000] if quick else [10_000, 1_000_000, 10_000_000]
    folds = [fold_vs_pandas(tiled(log, s), runs if s == 1_000_000 else 1) for s in sizes]
    headline = next((f for f in folds if f["events"] == 1_000_000), folds[-1])
    from bench.quality import measure as quality

    scaled = [scale.measure(s) for s in ([10_000, 100_000] if quick else [10_000, 100_000, 1_000_000])]
    ratios = {
        "ingest_vs_kafka_producer": ingest_pairs["kafka_producer"],
        "ingest_vs_kafka_python_producer": ingest_pairs["kafka_python_producer"],
        "replay_vs_kafka_consumer": replay_pairs["kafka_consumer"],
        "replay_vs_kafka_python_consumer": replay_pairs["kafka_python_consumer"],
        "worker_vs_raw_aiokafka": worker_pairs["raw_aiokafka"],
        "worker_vs_faust_floor": worker_pairs["faust_floor"],
        "fold_vs_pandas_speedup": headline["speedup"],
        "fold_vs_pandas_pools_flows_speedup": headline["speedup_vs_pools_and_flows"],
    }
    single = {
        "worker_rss_bytes_per_event": at_scale["one_worker"]["rss_growth_bytes_per_event"],
        "worker_project_p99_ms_under_load": at_scale["one_worker"]["load"]["project_p99_ms"],
        "worker_summary_p99_ms_under_load": at_scale["one_worker"]["load"]["summary_p99_ms"],
        "worker_recovery_s_after_sigkill": at_scale["recovery_s_after_sigkill"],
        "two_workers_vs_one": at_scale["two_workers"]["vs_one"],
    }
    figures = {
        **ratios,
        **single,
        "runs_per_pair": runs,
        "unstable": sorted([k for k, v in ratios.items() if not v["stable"]] + list(single) if quick
                           else [k for k, v in ratios.items() if not v["stable"]]),
        "single_run": sorted(single),
        "quality": quality(),
        "raw": {"events": len(log), "record_bytes": size, "reference_records": references,
                "reference_warm_up_share": WARM_UP,
                "replay_command_records_per_s_with_start_up": round(len(log) / replay_command_s),
                "worker_runs": worker_runs, "worker_at_scale": at_scale,
                "fold": folds, "fold_same_result": all(f["same_result"] and f["same_pools_and_flows"] for f in folds),
                "scale": scaled, "broker_cpu_s_ingest_and_replay": broker_cpu},
        "machine": machine(),
    }
    (RESULTS / ("bench-quick.json" if quick else "bench.json")).write_text(json.dumps(figures, indent=2) + "\n")
    return figures


def replay_only(events: int | None = None, runs: int = 3) -> dict:
    """The replay pairs of :func:`main` alone (``--replay-only``): the feed ingested once into a topic and
    ``ProducerPerformance`` filling the reference topic once, then replay against ``ConsumerPerformance``
    and kafka-python alone, ``runs`` rounds interleaved; written to ``bench/results/bench-replay.json``."""
    from streams.kafkaio.local_broker import LocalBroker

    n = events or 1_000_000
    references = max(n, REFERENCE_RECORDS)
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or LocalBroker(config.state_dir(), config.cache_dir()).up()
    feed = feed_of(n)
    with feed.open("rb") as f:
        records = sum(1 for _ in f)
    topic, ref_topics = f"bench-run-{uuid.uuid4().hex[:6]}", []
    run_funnel("ingest", str(feed), "--topic", topic, "--quality", "off", "--json",
               env={"KAFKA_BOOTSTRAP_SERVERS": bootstrap})
    producer_performance(bootstrap, references, round(feed.stat().st_size / records), ref_topics)
    pairs = interleaved(lambda: records / replay_in_process(bootstrap, topic), {
        "kafka_consumer": lambda: consumer_performance(bootstrap, ref_topics[0], references),
        "kafka_python_consumer": lambda: kafka_python_consumer(bootstrap, ref_topics[0]),
    }, runs, None if n >= REFERENCE_RECORDS else f"our side handles {n:,} records only")
    figures = {"command": f"python -m bench.run --replay-only --events {n}", "records": records,
               "replay_vs_kafka_consumer": pairs["kafka_consumer"],
               "replay_vs_kafka_python_consumer": pairs["kafka_python_consumer"], "machine": machine()}
    (RESULTS / "bench-replay.json").write_text(json.dumps(figures, indent=2) + "\n")
    return figures


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--events", type=int)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--replay-only", action="store_true", help="only the replay pairs (replay_only)")
    args = parser.parse_args()
    if args.replay_only:
        print(json.dumps(replay_only(args.events, args.runs), indent=2))
    else:
        print(json.dumps(main(quick=args.quick, events=args.events, runs=args.runs), indent=2))
