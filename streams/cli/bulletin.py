"""``funnel bulletin``: the period's bulletin for officials (月/季度/年度通报) as DOCX, PDF and HTML."""

from __future__ import annotations

import logging
import tempfile
import time
from pathlib import Path

import click

from streams import config
from streams.cli.app import bootstrap_option, main, topic_option, json_option
from streams.cli.reading import read_log
from streams.cli.render import print_grid, print_json

log = logging.getLogger(__name__)


@main.command()
@click.option("--period", metavar="PERIOD",
              help="A month 2024-03, a quarter 2024-Q1 or a year 2024 (CST); required unless --reproduce.")
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
@click.option("--reproduce", "reproduce", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A bulletin (DOCX or .view.json): make its figures again from the log it read, say if equal.")
@click.option("--previous", "previous_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The previous period's bulletin (DOCX or .view.json), for the 数据更正 section; default: "
                   "bulletin-<previous period>.view.json in --out when it is there.")
@json_option
def bulletin(period, formats, out, source, files, bootstrap_servers, topic, targets_file, font_mode, limit,
             reproduce, previous_file, as_json) -> None:
    """Write the bulletin of a month, quarter or year for officials: targets, the four pools and flows
    against the period before, the 月评比 with its 红黑榜, the red list and the weekly-meeting list.

    From a replay directory (--source), feed files (--from-file) or, by default, the topic; a log is
    replayed as of the period's last day (or today, if the period is not over).
    """
    from streams.core.clock import previous_period
    from streams.core.rankings import parse_period
    from streams.documents import publish, sources

    if reproduce:
        return _reproduce(reproduce, bootstrap_servers, targets_file, as_json)
    if not period:
        raise click.UsageError("--period is required (unless --reproduce)")
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
        corrections: list[str] = []
        if source:
            data = sources.from_replay_dir(source, targets)
            read = None
        else:
            received, name, read = read_log(files, bootstrap_servers, topic, work)
            data = sources.from_log(received, label, targets, name, work)
            corrections = _corrections(previous_file or out / f"bulletin-{previous_period(label)}.view.json",
                                       received, read, targets, bootstrap_servers)
            del received
        loaded = time.perf_counter() - started
        view = {"as_of": data.summary["as_of"], "known_at": data.summary.get("known_at"), "log": read,
                "source": data.source}
        try:
            done = publish.publish(data, label, out, chosen, font_mode, limit, view=view,
                                   corrections=tuple(corrections))
        except (LookupError, ValueError) as e:
            raise click.ClickException(str(e)) from e
    seconds = {"read and replay": round(loaded, 3), **done.seconds,
               "total": round(time.perf_counter() - started, 3)}
    fallbacks = done.fonts.fallbacks()
    if as_json:
        print_json({"period": label, "as_of": data.summary["as_of"], "source": data.source,
                    "files": {k: str(v) for k, v in done.files.items()}, "seconds": seconds,
                    "view": done.view_file and str(done.view_file), "corrections": len(corrections),
                    "fonts": {r: done.fonts.role(r).name for r in ("title", "body", "heading", "subheading")}})
        return
    print_grid(f"bulletin {label} (as of {data.summary['as_of']}, from {data.source})", ["file", "path"],
               [[k, str(v)] for k, v in done.files.items()] + ([["view", str(done.view_file)]] if done.view_file else []),
               left=("file", "path"))
    click.echo("seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in seconds.items()), err=True)
    if fallbacks:
        click.echo("GB/T 9704 fonts not installed; used " + "; ".join(fallbacks) + " (--fonts official names them)",
                   err=True)


def _frame(received):
    return received.frame() if hasattr(received, "frame") else received


def _same_log(earlier: dict | None, now: dict) -> bool:
    """Whether a previous bulletin read a part of the log read now (the same topic, or files it continues)."""
    if not earlier:
        return False
    if "topic" in earlier:
        return earlier["topic"] == now.get("topic")
    files = earlier.get("files", [])
    return now.get("files", [])[:len(files)] == files


def _corrections(previous: Path, received, read: dict, targets: dict, bootstrap_servers) -> list[str]:
    """The sentences of the 数据更正 section: the previous bulletin's figures that changed since it was made."""
    from streams.cli.diff import _with_provenance, provenance
    from streams.documents import corrections

    if not Path(previous).exists() and not corrections.view_file(previous).exists():
        return []
    try:
        earlier = corrections.read_view(previous)
    except (FileNotFoundError, ValueError) as e:
        log.warning("the previous bulletin %s: %s; no 数据更正 section", previous, e)
        return []
    if not _same_log(earlier.get("log"), read):
        log.warning("the previous bulletin %s read another log (%s); no 数据更正 section", previous,
                    earlier.get("source"))
        return []
    r = corrections.explain_since(_frame(received), earlier, targets)
    seqs = sorted({s for values in r.seqs.values() for s in values})
    if seqs:
        r.records = _with_provenance(r.records, provenance(read, seqs, bootstrap_servers))
    found = corrections.sentences(r, earlier["period"])
    log.info("the previous bulletin %s: %d figure(s) changed since it was made", previous, len(found))
    return found


def _reproduce(file: Path, bootstrap_servers, targets_file, as_json: bool) -> None:
    """Make a bulletin's figures again from the log it read, restricted to its offsets and its view."""
    from datetime import date, datetime

    from streams.core import restatement as rs
    from streams.documents import bulletin as doc, corrections, publish, sources

    view = corrections.read_view(file)
    read = view.get("log")
    if not read:
        raise click.ClickException(f"{file} was made from a replay directory ({view.get('source')}): "
                                   "reproduce the replay from its log instead")
    targets = config.targets(targets_file)
    with tempfile.TemporaryDirectory(prefix="funnel-bulletin-") as work:
        at = datetime.fromisoformat(read["received_at"]) if "received_at" in read else None
        received, name, _ = read_log(read.get("files", ()), bootstrap_servers, read.get("topic"), work, at)
        issued = rs.as_issued(_frame(received), read)
        data = sources.from_log(issued, view["period"], targets, name, work, as_of=date.fromisoformat(view["as_of"]))
        again = publish.printed_figures(data, doc.figures(data, view["period"]))
    differences = rs.compare(view["figures"], again)
    if as_json:
        print_json({"period": view["period"], "as_of": view["as_of"], "equal": not differences,
                    "figures": len(view["figures"]),
                    "differences": [c.__dict__ for c in differences]})
    elif differences:
        print_grid(f"bulletin {view['period']}: {len(differences)} figure(s) differ from the log it read",
                   ["figure", "printed", "again"], [[c.path, str(c.old), str(c.new)] for c in differences],
                   left=("figure",))
    else:
        click.echo(f"bulletin {view['period']} (as of {view['as_of']}, from {name}) reproduced: "
                   f"{len(view['figures'])} figures equal")
    if differences:
        raise SystemExit(1)
