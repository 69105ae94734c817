"""``funnel notify``: deliver the reminders of topic ``project-reminders`` to DingTalk, WeCom and email."""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path

import click

from streams import config
from streams.cli.app import bootstrap_option, log, log_failure, main


@main.command()
@click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("notify.toml"), show_default=True, envvar="FUNNEL_NOTIFY_CONFIG", show_envvar=True,
              help="Recipients (DingTalk, WeCom, email) and the rules routing reminders to them.")
@click.option("--topic", default="project-reminders", show_default=True, envvar="FUNNEL_REMINDER_TOPIC",
              show_envvar=True, help="Reminders topic; undeliverable ones go to <topic>.dlq, the delivery "
                                     "log is <topic>.delivered.")
@click.option("--group", default="funnel-notify", show_default=True,
              help="Consumer group: notifiers of one group share the topic's partitions.")
@click.option("--idle-exit", type=click.FloatRange(min=0), default=None, metavar="SECONDS",
              help="Exit after this long with nothing new (default: run until SIGTERM or Ctrl-C).")
@click.option("--resend", "resend_ids", multiple=True, metavar="REMINDER_ID",
              help="Resend this dead-lettered reminder (repeatable) and exit; a running notifier delivers it.")
@click.option("--resend-reason", "resend_reasons", multiple=True, metavar="REASON",
              help="Resend every reminder dead-lettered with this reason (e.g. outcome_unknown) and exit.")
@bootstrap_option
def notify(config_file, topic, group, idle_exit, resend_ids, resend_reasons, bootstrap_servers) -> None:
    """Deliver reminders (DOMAIN.md §10) to DingTalk and WeCom group robots and by email, one digest per
    recipient for what is due, each reminder once per recipient and channel across restarts and notifiers."""
    from streams.kafkaio.topics import ensure_topics
    from streams.notify.notifier import Notifier, reminder_topics
    from streams.notify.routing import ConfigError, load_config

    if resend_ids or resend_reasons:
        _resend(bootstrap_servers or config.bootstrap_servers(), topic, resend_ids, resend_reasons)
        return
    try:
        routing = load_config(config_file)
    except ConfigError as e:
        raise click.BadParameter(str(e), param_hint="--config") from e
    bootstrap = bootstrap_servers or config.bootstrap_servers()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    try:
        ensure_topics(bootstrap, reminder_topics(topic))
        notifier = Notifier(bootstrap, routing, topic, group)
    except Exception as e:  # noqa: BLE001 (reported and exited with)
        log_failure("notify", e)
        sys.exit(1)
    try:
        notifier.run(stop, idle_exit_s=idle_exit)
    except Exception as e:  # noqa: BLE001 (a broker lost mid-batch: the log's `sending` marks what was cut off)
        log_failure("notify", e)
        sys.exit(1)
    finally:
        notifier.close()
        log.info("notify: %d deliveries made, %d dead-lettered", notifier.sent, notifier.dead)
    click.echo(f"{notifier.sent} deliveries made, {notifier.dead} dead-lettered")


def _resend(bootstrap: str, topic: str, ids, reasons) -> None:
    """Forget the chosen dead-lettered deliveries and write their reminders back to the topic."""
    from streams.notify.resend import resend

    try:
        count = resend(bootstrap, topic, ids, reasons)
    except Exception as e:  # noqa: BLE001 (reported and exited with)
        log_failure("notify --resend", e)
        sys.exit(1)
    click.echo(f"{count} dead-lettered deliveries written back to {topic}")
