"""``funnel``: the one command-line entry point. Output for people is a table, ``--json`` for machines.

Heavy imports (kafka-python, polars, great_expectations) happen inside the
commands that need them, so ``funnel --help`` and light commands start fast.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import click

from streams import config

log = logging.getLogger("streams.cli")  # not __name__: `python -m streams.cli` runs this module as __main__

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

_bootstrap = click.option(
    "--bootstrap-servers", envvar="KAFKA_BOOTSTRAP_SERVERS", default=None, show_envvar=True,
    help="Kafka cluster; default: the local broker of `funnel kafka up`.")
_topic = click.option("--topic", envvar="FUNNEL_TOPIC", default=config.DEFAULT_TOPIC, show_default=True,
                      show_envvar=True, help="Event topic; its dead-letter topic is <topic>.dlq.")
_as_json = click.option("--json", "as_json", is_flag=True, help="Print JSON for machines instead of a table.")


def _log_failure(where: str, error: BaseException) -> None:
    """An ERROR record of a failure the command is about to report and exit with (the traceback at debug)."""
    log.error("%s failed: %s: %s", where, type(error).__name__, error, exc_info=log.isEnabledFor(logging.DEBUG))


def _console():
    from rich.console import Console

    return Console(stderr=False)


def _print_table(title: str, rows: list[tuple[str, object]]) -> None:
    from rich.table import Table

    table = Table(title=title, show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    for key, value in rows:
        if isinstance(value, bool):
            value = "yes" if value else "no"
        table.add_row(key, f"{value:,}" if isinstance(value, int) and key != "pid" else str(value))
    _console().print(table)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="erqi-funnel")
@click.option("--loglevel", type=click.Choice(["debug", "info", "warning", "error"], case_sensitive=False),
              default="warning", show_default=True, envvar="FUNNEL_LOGLEVEL", show_envvar=True,
              help="Log to stderr from this level up (stdout stays for output); `worker` has its own --loglevel.")
@click.pass_context
def main(ctx: click.Context, loglevel: str) -> None:
    """Erqi District investment funnel: events → Kafka → project state → aggregates."""
    if ctx.invoked_subcommand != "worker":  # Faust sets up the worker's logging from the worker's own option
        logging.basicConfig(level=loglevel.upper(), format=LOG_FORMAT, stream=sys.stderr)


# ---- kafka --------------------------------------------------------------------------------------

@main.group()
def kafka() -> None:
    """A real local Kafka broker (KRaft, from Kafka's jars) and the project's topics."""


def _local_broker(port: int = 9092):
    from streams.kafkaio.local_broker import LocalBroker

    return LocalBroker(state=config.state_dir(), cache=config.cache_dir(), port=port)


@kafka.command()
def fetch() -> None:
    """Resolve Kafka's jars from Maven Central into the cache and verify their checksums."""
    from streams.kafkaio.local_broker import fetch_jars

    click.echo(fetch_jars(config.cache_dir(), quiet=False))


@kafka.command()
@click.option("--port", default=9092, show_default=True, help="PLAINTEXT port; the controller uses port+1.")
@click.option("--partitions", default=3, show_default=True, help="Partitions of a newly created event topic.")
@_topic
def up(port: int, partitions: int, topic: str) -> None:
    """Start the local broker (unless KAFKA_BOOTSTRAP_SERVERS is set) and create the topics."""
    import os

    from streams.kafkaio.local_broker import BrokerError
    from streams.kafkaio.topics import ensure_topics, event_topics

    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if not bootstrap:
        try:
            bootstrap = _local_broker(port).up()
        except BrokerError as e:
            _log_failure("kafka up", e)
            raise click.ClickException(str(e)) from e
    created = ensure_topics(bootstrap, event_topics(topic, partitions))
    for name in created:
        click.echo(f"created topic {name}", err=True)
    click.echo(bootstrap)


@kafka.command()
@click.option("--wipe", is_flag=True, help="Also delete the broker's data.")
def down(wipe: bool) -> None:
    """Stop the local broker by its recorded pid (SIGTERM, then SIGKILL after 60 s)."""
    stopped = _local_broker().down(wipe=wipe)
    click.echo("stopped" if stopped else "not running")


@kafka.command()
@_as_json
def status(as_json: bool) -> None:
    """Is the local broker running and answering?"""
    info = _local_broker().status()
    if as_json:
        click.echo(json.dumps(info))
    else:
        _print_table("local Kafka broker", list(info.items()))
    sys.exit(0 if info["running"] and info["answering"] else 1)


@kafka.command()
@_bootstrap
@_topic
@click.option("--partitions", default=3, show_default=True)
@click.option("--replication-factor", default=1, show_default=True)
def topics(bootstrap_servers: str | None, topic: str, partitions: int, replication_factor: int) -> None:
    """Create the event topic and its dead-letter topic with explicit settings (idempotent)."""
    from streams.kafkaio.topics import ensure_topics, event_topics

    bootstrap = bootstrap_servers or config.bootstrap_servers()
    created = ensure_topics(bootstrap, event_topics(topic, partitions, replication_factor))
    click.echo(json.dumps({"bootstrap": bootstrap, "created": created}))


@kafka.command("grant-feed")
@click.argument("user")
@_bootstrap
@_topic
def grant_feed(user: str, bootstrap_servers: str | None, topic: str) -> None:
    """Let USER write events (and dead letters) to TOPIC and nothing else; run as a super user."""
    from streams.kafkaio.acls import feed_account_acls, grant

    bootstrap = bootstrap_servers or config.bootstrap_servers()
    for line in grant(bootstrap, feed_account_acls(user, topic)):
        click.echo(line)


# ---- generate -----------------------------------------------------------------------------------

@main.command()
@click.option("--out", type=click.Path(path_type=Path), required=True, help="File to write ('-' for stdout).")
@click.option("--projects", default=600, show_default=True, help="Number of projects (≈3.6 events each).")
@click.option("--seed", default=2023, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True)
def generate(out: Path, projects: int, seed: int, fmt: str) -> None:
    """Write a deterministic synthetic feed calibrated on the 2023/2024 figures."""
    from streams import synthetic

    if str(out) == "-":
        lines = synthetic.write(sys.stdout.buffer, synthetic.records(projects, seed), fmt)
    else:
        lines = synthetic.generate_file(out, projects, seed, fmt)
    click.echo(f"wrote {lines:,} lines for {projects:,} projects to {out}", err=True)


# ---- ingest -------------------------------------------------------------------------------------

@main.command()
@click.argument("files", nargs=-1, required=True)
@_bootstrap
@_topic
@click.option("--start-line", default=1, show_default=True, help="Resume the first file at this line.")
@click.option("--delivery-timeout", default=120.0, show_default=True, help="Seconds to retry before failing.")
@click.option("--quality", type=click.Choice(["warn", "quarantine", "reject", "off"]), default="warn",
              show_default=True, envvar="FUNNEL_QUALITY", help="What a batch failing the feed suite does.")
@click.option("--batch-size", default=10_000, show_default=True, help="Records per quality-checked batch.")
@_as_json
def ingest(files: tuple[str, ...], bootstrap_servers: str | None, topic: str, start_line: int,
           delivery_timeout: float, quality: str, batch_size: int, as_json: bool) -> None:
    """Check JSON Lines / CSV feeds and send them to the topic; rejected records go to <topic>.dlq."""
    from streams.ingest import Ingest, feed_records
    from streams.kafkaio.producer import DeliverySettings, event_producer
    from streams.kafkaio.topics import ensure_topics, event_topics

    bootstrap = bootstrap_servers or config.bootstrap_servers()
    for f in files:
        if f != "-" and not Path(f).is_file():
            raise click.BadParameter(f"no such file: {f}", param_hint="FILES")
    ms = int(delivery_timeout * 1000)
    try:
        ensure_topics(bootstrap, event_topics(topic))
        producer = event_producer(bootstrap, DeliverySettings(delivery_timeout_ms=ms, max_block_ms=ms))
    except Exception as e:
        from streams.kafkaio.security import explain

        _log_failure(f"ingest: connecting to {bootstrap}", e)
        raise click.ClickException(explain(e, bootstrap)) from e
    run = Ingest(producer, topic, quality=quality, batch_size=batch_size)
    with _progress(files) as advance:
        report = run.run(feed_records(files, start_line), on_progress=advance, flush_timeout=delivery_timeout + 5)
    _close(producer, timeout=10 if report.ok else 0)
    _report_ingest(report.as_dict(), files, topic, as_json)
    if not report.ok:
        sys.exit(1)


def _close(producer, timeout: float) -> None:
    from kafka.errors import KafkaTimeoutError

    try:
        producer.close(timeout=timeout)
    except KafkaTimeoutError as e:  # what it still held is already counted as undelivered
        log.warning("ingest: the producer did not close within %.0f s: %s", timeout, e)


def _progress(files: tuple[str, ...]):
    """A progress bar over the bytes of the feeds, shown on a terminal for large files."""
    import contextlib

    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

    total = sum(Path(f).stat().st_size for f in files if f != "-")
    console = _console()
    if not console.is_terminal or total < 5_000_000:
        return contextlib.nullcontext(lambda record: None)

    @contextlib.contextmanager
    def bar():
        columns = (TextColumn("ingest"), BarColumn(), TransferSpeedColumn(), TimeRemainingColumn())
        with Progress(*columns, console=console, transient=True) as progress:
            task = progress.add_task("ingest", total=total)
            pending = [0]

            def advance(record) -> None:
                pending[0] += len(record.raw) + 1
                if pending[0] > 1_000_000:
                    progress.advance(task, pending[0])
                    pending[0] = 0
            yield advance
    return bar()


def _report_ingest(result: dict, files: tuple[str, ...], topic: str, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps({"files": list(files), "topic": topic, **result}, ensure_ascii=False))
    else:
        rows = [("received", result["received"]), ("→ " + topic, result["produced"])]
        rows += [(f"→ {config.dlq_topic(topic)}: {r}", n) for r, n in result["rejected"].items()]
        rows += [("delivered", result["delivered"]), ("dead-lettered", result["dead_lettered"]),
                 ("undelivered", result["undelivered"])]
        _print_table("ingest accounting", rows)
        if result["quality"]["failures"]:
            from streams.quality.gate import Failure, QualityReport

            _report_quality(QualityReport([Failure(**f) for f in result["quality"]["failures"]]), False)
    first = result["first_undelivered"]
    if first:
        name, _, line = first["origin"].rpartition(":")
        click.echo(f"error: {first['origin']} could not be delivered ({first['error']}); every line before it "
                   f"was delivered. Rerun from it: funnel ingest {name} --start-line {line}", err=True)


# ---- check --------------------------------------------------------------------------------------

@main.command()
@click.argument("outputs", nargs=-1, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--feed", "feeds", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="Check a feed file with the feed suite instead (repeatable).")
@click.option("--batch-size", default=10_000, show_default=True, help="Feed records per validated batch.")
@click.option("--docs", is_flag=True, help="Write the GX file project and build Data Docs (with DIR's results).")
@click.option("--project-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="GX project for --docs; default: the repository's expectations/.")
@_as_json
def check(outputs, feeds, batch_size, docs, project_dir, as_json) -> None:
    """Great Expectations on replay outputs (DIR...) or feeds (--feed FILE); exit 1 on a critical failure."""
    from streams.quality import gate

    if docs:
        index = gate.build_docs(list(outputs), project_dir or gate.PROJECT_DIR)
        click.echo(index)
        return
    if not outputs and not feeds:
        raise click.UsageError("give replay output directories, or --feed FILE, or --docs")
    report = gate.QualityReport()
    if feeds:
        report.extend(gate.check_feed_files(feeds, batch_size))
    for out in outputs:
        try:
            report.extend(gate.check_output_dir(out))
        except FileNotFoundError as e:
            _log_failure(f"check {out}", e)
            raise click.ClickException(str(e)) from e
    _report_quality(report, as_json)
    sys.exit(0 if report.success else 1)


def _example(example) -> str:
    """An offending row, briefly: its origin (file:line) or its id columns and value."""
    if not isinstance(example, dict):
        return str(example)
    if "origin" in example:
        return example["origin"]
    return ", ".join(f"{k}={v}" for k, v in example.items())[:80]


def _report_quality(report, as_json: bool) -> None:
    doc = report.as_dict()
    if as_json:
        click.echo(json.dumps(doc, ensure_ascii=False, default=str))
        return
    from rich.table import Table

    table = Table(title=f"quality: {'PASS' if doc['success'] else 'FAIL'} ({len(doc['failures'])} expectations failed)")
    for col in ("severity", "suite", "expectation", "column", "rows", "for example"):
        table.add_column(col, overflow="fold")
    for f in doc["failures"]:
        table.add_row(f["severity"], f["suite"], f["expectation"].removeprefix("expect_"), f["column"],
                      str(f["unexpected"] or ""), "; ".join(_example(e) for e in f["examples"][:3]))
    _console().print(table)


# ---- worker -------------------------------------------------------------------------------------

def _is_loopback(host: str) -> bool:
    import ipaddress

    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


@main.command()
@_bootstrap
@_topic
@click.option("--app-id", envvar="FUNNEL_APP_ID", default="funnel-worker", show_default=True, show_envvar=True,
              help="Consumer group and prefix of the table changelog topics.")
@click.option("--web-port", envvar="FUNNEL_WEB_PORT", default=6066, show_default=True, show_envvar=True,
              help="Port of the web server (0: no web server).")
@click.option("--web-host", envvar="FUNNEL_WEB_HOST", default="127.0.0.1", show_default=True, show_envvar=True,
              help="Interface the web server listens on.")
@click.option("--partitions", envvar="FUNNEL_PARTITIONS", default=3, show_default=True, show_envvar=True,
              help="Partitions of the event topic if the worker has to create it (else the topic's own count).")
@click.option("--state-topic", envvar="FUNNEL_STATE_TOPIC", default=config.STATE_TOPIC, show_default=True,
              show_envvar=True, help="Compacted topic of each project's latest state.")
@click.option("--batch-size", envvar="FUNNEL_BATCH_SIZE", default=2000, show_default=True, show_envvar=True,
              help="Records checked and stored at a time.")
@click.option("--quality-interval", envvar="FUNNEL_QUALITY_INTERVAL", default=60.0, show_default=True,
              show_envvar=True, help="Seconds between aggregate quality checks.")
@click.option("--loglevel", envvar="FUNNEL_LOGLEVEL", default="info", show_default=True, show_envvar=True,
              type=click.Choice(["debug", "info", "warning", "error"], case_sensitive=False),
              help="The worker's log level (Faust's and ours; the worker logs info by default).")
def worker(bootstrap_servers, topic, app_id, web_port, web_host, partitions, state_topic, batch_size,
           quality_interval, loglevel) -> None:
    """Run the live Faust worker: check, keep, fold and serve /summary, /projects/{id}, /pools, /quality.

    Run several with the same --app-id to share the partitions: each answers for all of them.
    The web server listens on 127.0.0.1; on any other interface it requires FUNNEL_WEB_TOKEN.
    """
    import os

    from streams.kafkaio import topics
    from streams.worker.settings import WorkerSettings

    token = os.environ.get("FUNNEL_WEB_TOKEN") or None
    if web_port and not _is_loopback(web_host) and not token:
        raise click.ClickException(f"the web server would listen on {web_host}, beyond this machine: set "
                                   "FUNNEL_WEB_TOKEN (clients send Authorization: Bearer <token>) or use 127.0.0.1")
    bootstrap = bootstrap_servers or config.bootstrap_servers()
    try:
        topics.ensure_topics(bootstrap, topics.event_topics(topic, partitions))
        partitions = topics.partition_count(bootstrap, topic) or partitions  # the table must match the topic
        topics.ensure_topics(bootstrap, [topics.state_topic(state_topic, partitions)])
    except Exception as e:
        from streams.kafkaio.security import explain

        raise click.ClickException(explain(e, bootstrap)) from e
    settings = WorkerSettings(bootstrap=bootstrap, topic=topic, app_id=app_id, partitions=partitions,
                              state_topic=state_topic, web_host=web_host, web_port=web_port, web_token=token,
                              session_timeout_s=float(os.environ.get("FUNNEL_SESSION_TIMEOUT", "10")),
                              quality_interval_s=quality_interval, batch_size=batch_size)
    from streams.worker.app import create_app, run

    run(create_app(settings), loglevel)


# ---- status -------------------------------------------------------------------------------------

@main.command("status")
@_bootstrap
@_topic
@click.option("--app-id", envvar="FUNNEL_APP_ID", default="funnel-worker", show_default=True, show_envvar=True,
              help="The worker's consumer group.")
@click.option("--state-topic", envvar="FUNNEL_STATE_TOPIC", default=config.STATE_TOPIC, show_default=True)
@click.option("--worker-url", envvar="FUNNEL_WORKER_URL", default="http://127.0.0.1:6066", show_default=True,
              show_envvar=True, help="The worker's web server (sends FUNNEL_WEB_TOKEN when set).")
@_as_json
def operator_status(bootstrap_servers, topic, app_id, state_topic, worker_url, as_json) -> None:
    """Broker reachability, topic offsets, the worker's lag, dead letters by reason, the last quality check.

    Exits 1 when the broker is unreachable or the last quality check failed.
    """
    from streams.status import status as read_status

    doc = read_status(bootstrap_servers or config.bootstrap_servers(), topic, app_id, state_topic, worker_url)
    if as_json:
        click.echo(json.dumps(doc, ensure_ascii=False, default=str))
    else:
        reachable = "reachable" if doc["broker_reachable"] else "NOT reachable"
        rows: list[tuple[str, object]] = [("broker", f"{doc['bootstrap']} ({reachable})"), ("client", doc["client"])]
        if doc["broker_reachable"]:
            rows += [(f"topic {name}", f"{t['records']:,} records in {t['partitions']} partitions" if t["exists"]
                      else "missing") for name, t in doc["topics"].items()]
            g = doc["worker_group"]
            rows += [(f"worker group {g['group']}", f"lag {g['lag']:,} (committed {g['committed']:,} of {g['end']:,})")]
            rows += [(f"dead letters: {reason}", n) for reason, n in doc["dead_letters"].items()]
            q = doc["quality"]
            rows += [("last quality check", q.get("error") or
                      f"{'passed' if q.get('success') else 'FAILED' if q.get('success') is False else 'not run yet'}"
                      f" at {q.get('checked_at')}")]
        else:
            rows += [("error", doc["error"])]
        _print_table("funnel status", rows)
    failed = not doc["broker_reachable"] or doc.get("quality", {}).get("success") is False
    sys.exit(1 if failed else 0)


# ---- report and lab -----------------------------------------------------------------------------

@main.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("report"), show_default=True)
@click.option("--source", help="A replay output directory or a feed file; default: replay the topic.")
@click.option("--as-of", help="Business date for a fresh replay (YYYY-MM-DD); default today.")
def report(out: Path, source: str | None, as_of: str | None) -> None:
    """Execute every notebook headless on one data set; write one HTML page each and an index."""
    from streams.report import build

    index = build(out, source, as_of)
    click.echo(index)


@main.command()
@click.option("--port", default=8888, show_default=True)
def lab(port: int) -> None:
    """Open JupyterLab on the notebooks with the project's kernel."""
    import os

    os.execvp(sys.executable, [sys.executable, "-m", "jupyter", "lab", f"--port={port}", "--no-browser",
                               f"--notebook-dir={Path(__file__).resolve().parents[1] / 'notebooks'}"])


# ---- bench --------------------------------------------------------------------------------------

@main.command()
@click.option("--quick", is_flag=True, help="Small sizes: a few minutes.")
@click.option("--events", type=int, help="Events to ingest and replay (default 1,000,000; --quick 100,000).")
@_as_json
def bench(quick: bool, events: int | None, as_json: bool) -> None:
    """Benchmarks, each a ratio against a reference measured in the same run (Kafka's perf tools, pandas)."""
    repo = Path(__file__).resolve().parents[1]
    if not (repo / "bench").is_dir():
        raise click.ClickException("the benchmarks live in the repository's bench/: run from a clone")
    sys.path.insert(0, str(repo))
    from bench.run import main as run_bench

    figures = run_bench(quick=quick, events=events)
    if as_json:
        click.echo(json.dumps(figures, ensure_ascii=False))
    else:
        keys = ("ingest_vs_kafka_producer", "replay_vs_kafka_consumer", "worker_vs_raw_aiokafka",
                "worker_vs_faust_floor", "worker_rss_bytes_per_event", "worker_project_p99_ms_under_load",
                "worker_summary_p99_ms_under_load", "worker_recovery_s_after_sigkill", "two_workers_vs_one",
                "fold_vs_pandas_speedup")
        _print_table("benchmark ratios (same run)", [(k, "not measured" if figures[k] is None else figures[k])
                                                      for k in keys])
        click.echo(json.dumps(figures["raw"], ensure_ascii=False))


# ---- replay -------------------------------------------------------------------------------------

def _today_cst():
    from streams.core.clock import today_cst

    return today_cst()


_date = click.DateTime(formats=["%Y-%m-%d"])


@main.command()
@click.option("--from-file", "files", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="Replay JSON Lines / CSV files instead of a topic (repeatable).")
@_bootstrap
@_topic
@click.option("--from-time", type=click.DateTime(), help="Only topic records produced at or after this time.")
@click.option("--to-time", type=click.DateTime(), help="Only topic records produced before this time.")
@click.option("--as-of", type=_date, help="Business date T (CST); default today.")
@click.option("--known-at", type=_date, help="Knowledge date K: only records recorded by the end of K (CST).")
@click.option("--received-at", "received_at", metavar="TIMESTAMP",
              help="File replay: records without recorded_at count as received at this time (ISO-8601 with "
                   "offset, e.g. 2024-01-05T18:00:00+08:00) and are judged against it (future_occurred_at); "
                   "default: the newest modification time of the files, in CST.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Write summary.json and Parquet here.")
@click.option("--targets", "targets_file", type=click.Path(exists=True, dir_okay=False), envvar="FUNNEL_TARGETS",
              help="Annual targets JSON; default: the 2023/2024 targets.")
@click.option("--check/--no-check", default=True, show_default=True,
              help="Run the aggregate quality suites on what --out writes (quality.json); exit 1 on failure.")
@_as_json
def replay(files, bootstrap_servers, topic, from_time, to_time, as_of, known_at, received_at, out, targets_file,
           check, as_json) -> None:
    """Rebuild project state and every aggregate from the log; commits no offsets, needs no worker.

    A file replay depends on the files alone: a record without recorded_at is judged as received
    at --received-at (default: the files' newest modification time), never at the replay's clock.
    """
    from datetime import datetime

    from streams import replay as shell
    from streams.contract.acceptance import format_timestamp
    from streams.contract.schemas import parse_timestamp
    from streams.core.summary import View, fold_log, summary
    from streams.core.tables import aggregate_tables

    stamp = None
    if received_at is not None:
        if not files:
            raise click.UsageError("--received-at is for a file replay (--from-file); "
                                   "a topic's records are received at their Kafka timestamps")
        stamp = parse_timestamp(received_at)
        if stamp is None:
            raise click.BadParameter(f"{received_at!r} is not an ISO-8601 date-time with an offset "
                                     "(e.g. 2024-01-05T18:00:00+08:00)", param_hint="'--received-at'")
    elif files:
        stamp = shell.files_received_at(files)
    view = View((as_of or datetime.combine(_today_cst(), datetime.min.time())).date(), known_at and known_at.date())
    size = ("bytes", sum(Path(f).stat().st_size for f in files)) if files else ("records", 0)
    with _counter("replay", size) as advance:
        if files:
            received = shell.log_from_files(files, stamp, on_record=advance)
        else:
            ms = [None if t is None else int(t.astimezone().timestamp() * 1000) for t in (from_time, to_time)]
            bootstrap = bootstrap_servers or config.bootstrap_servers()
            from kafka.errors import KafkaError

            from streams.kafkaio.security import explain

            try:
                received = shell.log_from_topic(bootstrap, topic, *ms, on_record=advance)
            except (LookupError, TimeoutError) as e:
                _log_failure(f"replay of topic {topic} at {bootstrap}", e)
                raise click.ClickException(str(e)) from e
            except KafkaError as e:
                _log_failure(f"replay of topic {topic} at {bootstrap}", e)
                raise click.ClickException(explain(e, bootstrap)) from e
    result = fold_log(received, view)
    doc, quality = summary(result), None
    if files:  # an added key (DOMAIN.md §5 allows more): the time the file's unstamped records were judged at
        doc = {"as_of": doc["as_of"], "known_at": doc["known_at"], "received_at": format_timestamp(stamp), **doc}
    if out:
        tables = aggregate_tables(result, config.targets(targets_file))
        shell.write_outputs(doc, tables, out)
        if check:
            quality = shell.write_quality(doc, tables, out)
    if as_json:
        click.echo(json.dumps(doc, ensure_ascii=False))
    else:
        if files:
            click.echo(f"records without recorded_at received at {doc['received_at']} (--received-at)")
        _print_summary(doc)
        if out:
            click.echo(f"wrote {out}/summary.json and Parquet tables", err=True)
    if quality is not None and not quality.success:
        _report_quality(quality, False)
        raise click.ClickException(f"the aggregates failed their quality checks: see {out}/quality.json")


def _counter(label: str, size: tuple[str, int]):
    """A progress bar (bytes of files, or records of a topic) on a terminal; nothing otherwise."""
    import contextlib

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = _console()
    if not console.is_terminal:
        return contextlib.nullcontext(lambda n: None)

    @contextlib.contextmanager
    def bar():
        unit, total = size
        with Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TextColumn(unit), TimeElapsedColumn(),
                      console=console, transient=True) as progress:
            task = progress.add_task(label, total=total or None)
            pending = [0]

            def advance(n: int) -> None:
                pending[0] += n
                if pending[0] >= 50_000:
                    progress.advance(task, pending[0])
                    pending[0] = 0
            yield advance
    return bar()


def _print_summary(doc: dict) -> None:
    from rich.table import Table

    acc = doc["accounting"]
    rows = [("received", acc["received"]), ("accepted", acc["accepted"]), ("duplicates", acc["duplicates"])]
    rows += [(f"rejected: {r}", n) for r, n in acc["rejected"].items()]
    rows += [("projects", doc["projects"]["total"]), ("orphans", doc["projects"]["orphans"])]
    _print_table(f"accounting (as of {doc['as_of']}, known at {doc['known_at'] or 'now'})", rows)
    pools = Table(title="pools 四库")
    for col in ("pool", "projects", "investment 亿元"):
        pools.add_column(col, justify="left" if col == "pool" else "right")
    for name, p in doc["pools"].items():
        pools.add_row(name, f"{p['count']:,}", f"{p['investment_yuan'] / 1e8:,.1f}")
    _console().print(pools)
    if doc["flows"]:
        stages = list(next(iter(doc["flows"].values())))
        flows = Table(title="flows by year (projects reaching each stage)")
        for col in ("year", *stages):
            flows.add_column(col, justify="right")
        for year, f in doc["flows"].items():
            flows.add_row(year, *(f"{f[s]:,}" for s in stages))
        _console().print(flows)


if __name__ == "__main__":
    main()
