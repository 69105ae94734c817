"""``funnel generate`` (a synthetic feed) and ``funnel ingest`` (feeds into the topic)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from streams import config
from streams.cli.app import bootstrap_option, json_option, log, log_failure, main, topic_option
from streams.cli.render import print_json, print_quality, print_table, progress


@main.command()
@click.option("--out", type=click.Path(path_type=Path), required=True, help="File to write ('-' for stdout).")
@click.option("--projects", default=600, show_default=True,
              help="Number of projects (≈4.4 records each, ≈6 with the bureau's trips and issues).")
@click.option("--seed", default=2023, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True)
@click.option("--bureau/--projects-only", default=True, show_default=True,
              help="With the bureau's promotion trips (§8) and the projects' bottlenecks (§9); --projects-only: "
              "the same project events without them (and without the trip a project names).")
def generate(out: Path, projects: int, seed: int, fmt: str, bureau: bool) -> None:
    """Write a deterministic synthetic feed calibrated on the 2023/2024 figures."""
    from streams import synthetic

    if str(out) == "-":
        lines = synthetic.write(sys.stdout.buffer, synthetic.records(projects, seed, bureau=bureau), fmt)
    else:
        lines = synthetic.generate_file(out, projects, seed, fmt, bureau=bureau)
    click.echo(f"wrote {lines:,} lines for {projects:,} projects to {out}", err=True)


@main.command()
@click.argument("files", nargs=-1, required=True)
@bootstrap_option
@topic_option
@click.option("--start-line", default=1, show_default=True, help="Resume the first file at this line.")
@click.option("--delivery-timeout", default=120.0, show_default=True, help="Seconds to retry before failing.")
@click.option("--quality", type=click.Choice(["warn", "quarantine", "reject", "off"]), default="warn",
              show_default=True, envvar="FUNNEL_QUALITY", help="What a batch failing the feed suite does.")
@click.option("--batch-size", default=10_000, show_default=True,
              help="Records per quality-checked batch, and per transaction.")
@click.option("--transactions/--no-transactions", default=True, show_default=True, envvar="FUNNEL_TRANSACTIONS",
              show_envvar=True, help="Write each batch (events and dead letters) in one Kafka transaction; "
              "--no-transactions: idempotent sends only, for clusters that forbid transactions.")
@click.option("--transactional-id", envvar="FUNNEL_TRANSACTIONAL_ID", default=None, show_envvar=True,
              help="The producer's transactional.id; default: derived from the topic and the files' names, so a "
              "re-run fences the run it replaces.")
@json_option
def ingest(files: tuple[str, ...], bootstrap_servers: str | None, topic: str, start_line: int,
           delivery_timeout: float, quality: str, batch_size: int, transactions: bool,
           transactional_id: str | None, as_json: bool) -> None:
    """Check JSON Lines / CSV feeds and send them to the topic; rejected records go to <topic>.dlq."""
    from streams.feeds import feed_records
    from streams.feeds.ingest import Ingest
    from streams.kafkaio import producer as producers
    from streams.kafkaio.topics import ensure_topics, event_topics

    bootstrap = bootstrap_servers or config.bootstrap_servers()
    for f in files:
        if f != "-" and not Path(f).is_file():
            raise click.BadParameter(f"no such file: {f}", param_hint="FILES")
    ms = int(delivery_timeout * 1000)
    if transactions:
        transactional_id = transactional_id or producers.transactional_id("ingest", topic, files)
        log.info("ingest: transactional.id %s", transactional_id)
    try:
        ensure_topics(bootstrap, event_topics(topic))
        producer = producers.event_producer(bootstrap, producers.DeliverySettings(delivery_timeout_ms=ms,
                                                                                  max_block_ms=ms),
                                            transactional_id=transactional_id if transactions else None)
    except Exception as e:
        from streams.kafkaio.security import explain

        log_failure(f"ingest: connecting to {bootstrap}", e)
        raise click.ClickException(explain(e, bootstrap) + _transactions_hint(e, transactional_id)) from e
    run = Ingest(producer, topic, quality=quality, batch_size=batch_size)
    size = sum(Path(f).stat().st_size for f in files if f != "-")
    with progress("ingest", size, "bytes", min_total=5_000_000, measure=lambda record: len(record.raw) + 1) as advance:
        report = run.run(feed_records(files, start_line), on_progress=advance, flush_timeout=delivery_timeout + 5)
    _close(producer, timeout=10 if report.ok else 0)
    _report_ingest({**report.as_dict(), "transactional": run.transactional}, files, topic, as_json)
    if not report.ok:
        sys.exit(1)


def _transactions_hint(error: Exception, transactional_id: str | None) -> str:
    from kafka.errors import TransactionalIdAuthorizationFailedError

    if transactional_id and isinstance(error, TransactionalIdAuthorizationFailedError):
        return (f"; writing in transactions needs WRITE and DESCRIBE on TransactionalId {transactional_id!r} "
                "(or on the prefix 'funnel-ingest:'), or run with --no-transactions")
    return ""


def _close(producer, timeout: float) -> None:
    from kafka.errors import KafkaTimeoutError

    try:
        producer.close(timeout=timeout)
    except KafkaTimeoutError as e:  # what it still held is already counted as undelivered
        log.warning("ingest: the producer did not close within %.0f s: %s", timeout, e)


def _report_ingest(result: dict, files: tuple[str, ...], topic: str, as_json: bool) -> None:
    if as_json:
        print_json({"files": list(files), "topic": topic, **result})
    else:
        rows = [("received", result["received"]), ("→ " + topic, result["produced"])]
        rows += [(f"→ {config.dlq_topic(topic)}: {r}", n) for r, n in result["rejected"].items()]
        rows += [("delivered", result["delivered"]), ("dead-lettered", result["dead_lettered"]),
                 ("undelivered", result["undelivered"])]
        print_table("ingest accounting", rows)
        if result["quality"]["failures"]:
            from streams.quality.gate import Failure, QualityReport

            print_quality(QualityReport([Failure(**f) for f in result["quality"]["failures"]]), False)
    first = result["first_undelivered"]
    if first:
        click.echo(_rerun_message(first, files, result["transactional"]), err=True)


def _rerun_message(first: dict, files: tuple[str, ...], transactional: bool) -> str:
    """Where to resume: in transactions, the first line of the first batch not committed (nothing of that
    batch or after it is visible to a read_committed reader); without, the first record not acknowledged."""
    name, _, line = first["origin"].rpartition(":")
    later = files[files.index(name) + 1:] if name in files else ()
    before = ("every batch before it was committed, nothing from it on is visible to read_committed readers"
              if transactional else "every line before it was delivered")
    return (f"error: {first['origin']} could not be delivered ({first['error']}); {before}. Rerun from it: "
            f"funnel ingest {' '.join((name, *later))} --start-line {line}")
