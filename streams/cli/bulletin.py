"""``funnel bulletin``: the period's bulletin for officials (月/季度/年度通报) as DOCX, PDF and HTML."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import click

from streams import config
from streams.cli.app import bootstrap_option, log_failure, main, topic_option, json_option
from streams.cli.render import print_grid, print_json, progress


@main.command()
@click.option("--period", required=True, metavar="PERIOD",
              help="A month 2024-03, a quarter 2024-Q1 or a year 2024 (CST).")
@click.option("--format", "formats", default="docx,pdf", show_default=True,
              help="Comma-separated: docx, pdf (headless Chromium prints the HTML), html.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("bulletin"), show_default=True,
              help="Write bulletin-<period>.<format> here (and the full lists as CSV attachments when cut).")
@click.option("--source", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="A replay output directory (funnel replay --out DIR): its figures, as of its as-of date.")
@click.option("--from-file", "files", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="Replay JSON Lines / CSV feeds (repeatable) as of the period's end instead of a topic.")
@bootstrap_option
@topic_option
@click.option("--targets", "targets_file", type=click.Path(exists=True, dir_okay=False), envvar="FUNNEL_TARGETS",
              help="Annual targets JSON; default: the 2023/2024 targets.")
@click.option("--fonts", "font_mode", type=click.Choice(["auto", "official"]), default="auto", show_default=True,
              help="auto: the GB/T 9704 typefaces where installed, else free CJK fonts; official: name the "
                   "GB/T 9704 typefaces in the DOCX and HTML whatever is installed here.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(min=1),
              help="Rows of each list (red projects, colour changes, due milestones) in the document.")
@json_option
def bulletin(period, formats, out, source, files, bootstrap_servers, topic, targets_file, font_mode, limit,
             as_json) -> None:
    """Write the bulletin of a month, quarter or year for officials: targets, the four pools and flows
    against the period before, the 月评比 with its 红黑榜, the red list and the weekly-meeting list.

    From a replay directory (--source), feed files (--from-file) or, by default, the topic; a log is
    replayed as of the period's last day (or today, if the period is not over).
    """
    from streams.core.rankings import parse_period
    from streams.documents import publish, sources

    try:
        label = parse_period(period)
        chosen = publish.parse_formats(formats)
    except ValueError as e:
        raise click.BadParameter(str(e)) from e
    if source and files:
        raise click.UsageError("--source and --from-file are two sources: give one")
    targets = config.targets(targets_file)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="funnel-bulletin-") as work:
        if source:
            data = sources.from_replay_dir(source, targets)
        else:
            received, name = _read_log(files, bootstrap_servers, topic, work)
            data = sources.from_log(received, label, targets, name, work)
            del received
        loaded = time.perf_counter() - started
        try:
            done = publish.publish(data, label, out, chosen, font_mode, limit)
        except (LookupError, ValueError) as e:
            raise click.ClickException(str(e)) from e
    seconds = {"read and replay": round(loaded, 3), **done.seconds,
               "total": round(time.perf_counter() - started, 3)}
    fallbacks = done.fonts.fallbacks()
    if as_json:
        print_json({"period": label, "as_of": data.summary["as_of"], "source": data.source,
                    "files": {k: str(v) for k, v in done.files.items()}, "seconds": seconds,
                    "fonts": {r: done.fonts.role(r).name for r in ("title", "body", "heading", "subheading")}})
        return
    print_grid(f"bulletin {label} (as of {data.summary['as_of']}, from {data.source})", ["file", "path"],
               [[k, str(v)] for k, v in done.files.items()], left=("file", "path"))
    click.echo("seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in seconds.items()), err=True)
    if fallbacks:
        click.echo("GB/T 9704 fonts not installed; used " + "; ".join(fallbacks) + " (--fonts official names them)",
                   err=True)


def _read_log(files, bootstrap_servers, topic, work):
    """The received log of the feed files, or of the topic, spilled to ``work`` as it is read."""
    from streams import replay as shell

    if files:
        size = sum(Path(f).stat().st_size for f in files)
        with progress("read", size, "bytes") as advance:
            return shell.log_from_files(files, shell.files_received_at(files), on_record=advance, spill=work), \
                ", ".join(files)
    from kafka.errors import KafkaError

    from streams.kafkaio.security import explain

    bootstrap = bootstrap_servers or config.bootstrap_servers()
    try:
        with progress("read", 0, "records") as advance:
            return shell.log_from_topic(bootstrap, topic, on_record=advance, spill=work), f"topic {topic}"
    except (LookupError, TimeoutError) as e:
        log_failure(f"bulletin: replay of topic {topic} at {bootstrap}", e)
        raise click.ClickException(str(e)) from e
    except KafkaError as e:
        log_failure(f"bulletin: replay of topic {topic} at {bootstrap}", e)
        raise click.ClickException(explain(e, bootstrap)) from e
