"""``funnel replay``: rebuild project state and every aggregate from the log (a topic or files)."""

from __future__ import annotations

from pathlib import Path

import click

from streams import config
from streams.cli.app import bootstrap_option, json_option, main, topic_option, topic_read_errors
from streams.cli.render import print_json, print_quality, print_summary, progress


def _today_cst():
    from streams.core.clock import today_cst

    return today_cst()


_date = click.DateTime(formats=["%Y-%m-%d"])


@main.command()
@click.option("--from-file", "files", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="Replay JSON Lines / CSV files instead of a topic (repeatable).")
@bootstrap_option
@topic_option
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
@click.option("--buckets", type=click.IntRange(min=1), metavar="N",
              help="Fold the log in N buckets of project ids, spilled to a temporary directory (1: in memory). "
                   "Default: in memory up to 600,000 records, else buckets of about 250,000.")
@click.option("--readers", type=click.IntRange(min=1), metavar="N", envvar="FUNNEL_REPLAY_READERS",
              help="Read the log in N processes (1: in this one): a topic's partitions, or JSON Lines files' lines, "
                   "shared. Default: one per core, up to 4, one per 100,000 records (32 MiB of a file).")
@json_option
def replay(files, bootstrap_servers, topic, from_time, to_time, as_of, known_at, received_at, out, targets_file,
           check, buckets, readers, as_json) -> None:
    """Rebuild project state and every aggregate from the log; commits no offsets, needs no worker.

    A file replay depends on the files alone: a record without recorded_at is judged as received
    at --received-at (default: the files' newest modification time), never at the replay's clock.
    A long log is folded bucket by bucket of project ids, with the same results in bounded memory.
    """
    import tempfile

    with tempfile.TemporaryDirectory(prefix="funnel-replay-") as work:
        _replay(files, bootstrap_servers, topic, from_time, to_time, as_of, known_at, received_at, out, targets_file,
                check, buckets, readers, as_json, work)


def _replay(files, bootstrap_servers, topic, from_time, to_time, as_of, known_at, received_at, out, targets_file,
            check, buckets, readers, as_json, work) -> None:
    from datetime import datetime

    from streams import replay as shell
    from streams.contract.acceptance import format_timestamp
    from streams.contract.schemas import parse_timestamp
    from streams.core.summary import View

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
    unit, size = ("bytes", sum(Path(f).stat().st_size for f in files)) if files else ("records", 0)
    position = None  # a topic replay: where each partition was read up to
    with progress("replay", size, unit) as advance:
        if files:
            received = shell.log_from_files(files, stamp, on_record=advance, spill=work, readers=readers)
        else:
            ms = [None if t is None else int(t.astimezone().timestamp() * 1000) for t in (from_time, to_time)]
            bootstrap = bootstrap_servers or config.bootstrap_servers()
            with topic_read_errors(topic, bootstrap):
                ends = shell.topic_ends(bootstrap, topic)
                position = shell.held_back(ends)
                received = shell.log_from_topic(bootstrap, topic, *ms, on_record=advance, spill=work,
                                                readers=readers, ends=ends)
    replayed = shell.fold_and_aggregate(received, view, config.targets(targets_file) if out else None,
                                        buckets=buckets, work=work)
    del received
    doc, quality = replayed.doc, None
    if files:  # an added key (DOMAIN.md §5 allows more): the time the file's unstamped records were judged at
        doc = {"as_of": doc["as_of"], "known_at": doc["known_at"], "received_at": format_timestamp(stamp), **doc}
    if position is not None:  # an added key too: the topic's offsets read, and what open transactions held back
        doc = {**doc, "topic": {"name": topic, **position}}
    if out:
        shell.write_outputs(doc, replayed.tables, out)
        if check:
            quality = shell.write_quality(doc, replayed.tables, out)
    if as_json:
        print_json(doc)
    else:
        if files:
            click.echo(f"records without recorded_at received at {doc['received_at']} (--received-at)")
        print_summary(doc)
        if position and position["not_visible_yet"]:
            click.echo(f"{position['not_visible_yet']:,} offsets of {topic} not visible yet: held back by a "
                       f"transaction still open (partitions {', '.join(position['held_back'])}); replay again "
                       f"once it ends")
        if out:
            click.echo(f"wrote {out}/summary.json and Parquet tables", err=True)
    if quality is not None and not quality.success:
        print_quality(quality, False)
        raise click.ClickException(f"the aggregates failed their quality checks: see {out}/quality.json")
