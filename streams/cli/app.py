"""The root ``funnel`` group, its ``--loglevel``, and the options and helpers every command shares.

Heavy imports (kafka-python, polars, great_expectations) happen inside the commands that
need them, so ``funnel --help`` and light commands start fast.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from pathlib import Path

import click

from streams import config

log = logging.getLogger("streams.cli")  # one name for every command module (and for `python -m streams.cli`)

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
LOGLEVELS = ["debug", "info", "warning", "error"]
REPO = Path(__file__).resolve().parents[2]  #: the repository root of an editable install (notebooks/, bench/)

bootstrap_option = click.option(
    "--bootstrap-servers", envvar="KAFKA_BOOTSTRAP_SERVERS", default=None, show_envvar=True,
    help="Kafka cluster; default: the local broker of `funnel kafka up`.")
topic_option = click.option("--topic", envvar="FUNNEL_TOPIC", default=config.DEFAULT_TOPIC, show_default=True,
                            show_envvar=True, help="Event topic; its dead-letter topic is <topic>.dlq.")
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for machines instead of a table.")


def log_failure(where: str, error: BaseException) -> None:
    """An ERROR record of a failure the command is about to report and exit with (the traceback at debug)."""
    log.error("%s failed: %s: %s", where, type(error).__name__, error, exc_info=log.isEnabledFor(logging.DEBUG))


@contextlib.contextmanager
def topic_read_errors(topic: str, bootstrap: str):
    """A topic read's failures as a clear error for people (logged with where): a missing topic or a timeout as
    it says, a Kafka error explained (unreachable, TLS, SASL, ACLs)."""
    from kafka.errors import KafkaError

    from streams.kafkaio.security import explain

    try:
        yield
    except (LookupError, TimeoutError) as e:
        log_failure(f"replay of topic {topic} at {bootstrap}", e)
        raise click.ClickException(str(e)) from e
    except KafkaError as e:
        log_failure(f"replay of topic {topic} at {bootstrap}", e)
        raise click.ClickException(explain(e, bootstrap)) from e


def debug_logging() -> bool:
    """Whether ``funnel --loglevel debug`` (or FUNNEL_LOGLEVEL=debug) asked for everything."""
    return log.isEnabledFor(logging.DEBUG)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="erqi-funnel")
@click.option("--loglevel", type=click.Choice(LOGLEVELS, case_sensitive=False),
              default="warning", show_default=True, envvar="FUNNEL_LOGLEVEL", show_envvar=True,
              help="Log to stderr from this level up (stdout stays for output); `worker` has its own --loglevel.")
@click.pass_context
def main(ctx: click.Context, loglevel: str) -> None:
    """Erqi District investment funnel: events → Kafka → project state → aggregates."""
    if ctx.invoked_subcommand != "worker":  # Faust sets up the worker's logging from the worker's own option
        setup_logging(loglevel)


def setup_logging(loglevel: str) -> None:
    """Records from ``loglevel`` up go to stderr. The handler itself has the level too, because some
    libraries give their loggers a lower level of their own (GX logs its temporary directories at INFO)."""
    root = logging.getLogger()
    if root.handlers:  # configured already (as logging.basicConfig would leave it)
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    handler.setLevel(loglevel.upper())
    root.addHandler(handler)
    root.setLevel(loglevel.upper())
    if loglevel.lower() != "debug":
        # kafka-python's own timing notice ("Task … ran for 0.292s … blocking the event loop") while a
        # command reads a topic flat out: nothing a user can act on
        logging.getLogger("kafka.net.selector").setLevel(logging.ERROR)
