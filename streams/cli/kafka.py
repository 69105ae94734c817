"""``funnel kafka …``: a real local Kafka broker (KRaft, from Kafka's jars) and the project's topics."""

from __future__ import annotations

import sys

import click

from streams import config
from streams.cli.app import bootstrap_option, debug_logging, json_option, log_failure, main, topic_option
from streams.cli.render import print_json, print_table


@main.group()
def kafka() -> None:
    """A real local Kafka broker (KRaft, from Kafka's jars) and the project's topics."""


def _local_broker(port: int = 9092):
    from streams.kafkaio.local_broker import LocalBroker

    return LocalBroker(state=config.state_dir(), cache=config.cache_dir(), port=port)


@kafka.command()
@click.option("-v", "--verbose", is_flag=True,
              help="Show Maven's own output (also with `funnel --loglevel debug`); else only if it fails.")
def fetch(verbose: bool) -> None:
    """Resolve Kafka's jars from Maven Central into the cache and verify their checksums."""
    from streams.kafkaio.local_broker import BrokerError, fetch_jars

    try:
        lib = fetch_jars(config.cache_dir(), quiet=not (verbose or debug_logging()))
    except BrokerError as e:  # its message ends with Maven's output
        raise click.ClickException(str(e)) from e
    click.echo(lib)


@kafka.command()
@click.option("--port", default=9092, show_default=True, help="PLAINTEXT port; the controller uses port+1.")
@click.option("--partitions", default=3, show_default=True, help="Partitions of a newly created event topic.")
@topic_option
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
            log_failure("kafka up", e)
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


@kafka.command("status")
@json_option
def broker_status(as_json: bool) -> None:
    """Is the local broker running and answering?"""
    info = _local_broker().status()
    if as_json:
        print_json(info)
    else:
        print_table("local Kafka broker", list(info.items()))
    sys.exit(0 if info["running"] and info["answering"] else 1)


@kafka.command()
@bootstrap_option
@topic_option
@click.option("--partitions", default=3, show_default=True)
@click.option("--replication-factor", default=1, show_default=True)
def topics(bootstrap_servers: str | None, topic: str, partitions: int, replication_factor: int) -> None:
    """Create the event topic and its dead-letter topic with explicit settings (idempotent)."""
    from streams.kafkaio.topics import ensure_topics, event_topics

    bootstrap = bootstrap_servers or config.bootstrap_servers()
    created = ensure_topics(bootstrap, event_topics(topic, partitions, replication_factor))
    print_json({"bootstrap": bootstrap, "created": created})


@kafka.command("grant-feed")
@click.argument("user")
@bootstrap_option
@topic_option
def grant_feed(user: str, bootstrap_servers: str | None, topic: str) -> None:
    """Let USER write events (and dead letters) to TOPIC and nothing else; run as a super user."""
    from streams.kafkaio.acls import feed_account_acls, grant

    bootstrap = bootstrap_servers or config.bootstrap_servers()
    for line in grant(bootstrap, feed_account_acls(user, topic)):
        click.echo(line)
