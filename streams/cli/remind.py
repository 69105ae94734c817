"""``funnel remind``: compute the reminders of a day that has ended (DOMAIN.md §10) and write them to the
reminders topic, for ``funnel notify`` to deliver."""

from __future__ import annotations

import click

from streams import config
from streams.cli.app import bootstrap_option, json_option, log_failure, main, topic_option
from streams.cli.render import print_grid, print_json, print_table

_date = click.DateTime(formats=["%Y-%m-%d"])
_SHOWN = 30  #: reminders listed in the table (--json prints them all)


@main.command()
@click.option("--day", type=_date, help="The day D (CST) whose reminders to compute; default: yesterday. D must "
                                        "have ended.")
@click.option("--from-file", "files", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="Read the log from JSON Lines / CSV files instead of the event topic (repeatable).")
@bootstrap_option
@topic_option
@click.option("--reminder-topic", default="project-reminders", show_default=True, envvar="FUNNEL_REMINDER_TOPIC",
              show_envvar=True, help="Where to write the reminders (compacted, keyed by reminder_id; created "
                                     "with <topic>.dlq and the notifier's delivery log when missing).")
@click.option("--dry-run", is_flag=True, help="Compute and print the reminders; write nothing.")
@json_option
def remind(day, files, bootstrap_servers, topic, reminder_topic, dry_run, as_json) -> None:
    """Compute the reminders of day D from the log as it stands (every accepted record) and write them to the
    reminders topic: those whose condition held at the end of some day up to D and whose date is no earlier than
    D − 7 (a milestone_due up to D + 7). Re-running writes the same records; the notifier delivers each once."""
    from datetime import timedelta

    from kafka.errors import KafkaError

    from streams.core.clock import today_cst
    from streams.kafkaio.security import explain
    from streams.reminders import publish as shell

    today = today_cst()
    d = day.date() if day else today - timedelta(days=1)
    if d >= today:
        raise click.BadParameter(f"{d} has not ended yet (today is {today} in CST)", param_hint="'--day'")
    bootstrap = bootstrap_servers or config.bootstrap_servers()
    try:
        reminders = shell.from_files(list(files), d) if files else shell.from_topic(bootstrap, topic, d)
        written = 0 if dry_run else shell.publish(bootstrap, reminders, reminder_topic)
    except (LookupError, TimeoutError) as e:
        log_failure("remind", e)
        raise click.ClickException(str(e)) from e
    except KafkaError as e:
        log_failure("remind", e)
        raise click.ClickException(explain(e, bootstrap)) from e
    counts = shell.counts_by_kind(reminders)
    if as_json:
        print_json({"day": d.isoformat(), "topic": None if dry_run else reminder_topic, "written": written,
                    "by_kind": counts, "reminders": [_jsonable(r) for r in reminders.iter_rows(named=True)]})
        return
    print_table(f"reminders of {d}", [*counts.items(), ("total", reminders.height)])
    if reminders.height:
        print_grid("reminders", ["kind", "project", "about", "names", "leader", "department"],
                   [[r["kind"], r["project_id"], r["about"].isoformat(), r["milestone"] or r["issue_id"] or "",
                     r["leader"] or "", r["department"] or ""] for r in reminders.head(_SHOWN).iter_rows(named=True)],
                   left=("kind", "project", "names", "leader", "department"))
        if reminders.height > _SHOWN:
            click.echo(f"… and {reminders.height - _SHOWN:,} more (--json prints them all)")
    click.echo("dry run: nothing written" if dry_run else f"wrote {written} reminders to {reminder_topic}", err=True)


def _jsonable(row: dict) -> dict:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items()}
