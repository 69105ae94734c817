"""``funnel diff``: two views of one log, every figure that changed, and the records that changed it (issue 26).

The shell reads the log (feed files or a topic), folds it at the two views with the core, and asks
:func:`streams.core.restatement.explain` why each figure moved; it then looks up where the responsible records
came from (a topic record's ``origin`` header and ``source``; a file's line), which the log does not keep.
"""

from __future__ import annotations

import json
import logging
import tempfile
from datetime import datetime
from pathlib import Path

import click

from streams import config
from streams.cli.app import bootstrap_option, json_option, main, topic_option
from streams.cli.reading import read_log as read_received
from streams.cli.render import print_grid, print_json

log = logging.getLogger(__name__)


def read_log(files, bootstrap_servers, topic, work, received_at: datetime | None = None):
    """The received log of the feed files, or of the topic, as a frame; its name; and what was read (the ``log`` of
    a view file: the files and how many records, or the topic and its partitions' end offsets)."""
    received, name, read = read_received(files, bootstrap_servers, topic, work, received_at)
    return (received if not hasattr(received, "frame") else received.frame()), name, read


def provenance(read: dict, seqs: list[int], bootstrap_servers: str | None):
    """seq → source and origin of the records ``seqs``: a topic record's ``topic:partition:offset`` with its
    ``origin`` header (file:line, or file:sheet:row for a ledger's) and its ``source``; a file record's line."""
    import polars as pl

    rows: list[dict] = []
    wanted = set(seqs)
    if "files" in read:
        from streams.feeds import read_feed

        seq = 0
        for path in read["files"]:
            for record in read_feed(path):
                seq += 1
                if seq in wanted:
                    parsed = record.parsed if isinstance(record.parsed, dict) else {}
                    rows.append({"seq": seq, "source": parsed.get("source"), "origin": record.origin})
    else:
        rows = _topic_provenance(read["topic"], wanted, bootstrap_servers or config.bootstrap_servers())
    schema = {"seq": pl.Int64, "source": pl.Utf8, "origin": pl.Utf8}
    return pl.DataFrame(rows, schema=schema) if rows else pl.DataFrame(schema=schema)


def _topic_provenance(topic: str, wanted: set[int], bootstrap: str) -> list[dict]:
    from streams.config import dlq_topic
    from streams.contract.acceptance import parse_json
    from streams.core.restatement import where
    from streams.kafkaio.consumer import read_range
    from streams.kafkaio.records import header_value

    by_partition: dict[tuple[bool, int], dict[int, int]] = {}
    for seq in wanted:
        dead, partition, offset = where(seq)
        by_partition.setdefault((dead, partition), {})[offset] = seq
    rows = []
    for (dead, partition), offsets in sorted(by_partition.items()):
        name = dlq_topic(topic) if dead else topic
        for record in read_range(bootstrap, name, partition, min(offsets), max(offsets) + 1):
            if record.offset not in offsets:
                continue
            parsed = parse_json(record.value or b"")
            source = parsed.get("source") if isinstance(parsed, dict) else None
            origin = header_value(record, "origin")
            place = f"{name}:{partition}:{record.offset}"
            rows.append({"seq": offsets[record.offset], "source": source,
                         "origin": f"{place} ({origin})" if origin else place})
    return rows


def _fmt(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def print_restatement(r, title: str, sentences: list[str]) -> None:
    """The changed figures, then the records responsible, as tables for people."""
    print_grid(title, ["figure", "old", "new", "delta", "projects and trips", "records"],
               [[c.path, _fmt(c.old), _fmt(c.new), _fmt(c.delta), ", ".join(r.entities.get(c.path, [])[:5])
                 + (" …" if len(r.entities.get(c.path, [])) > 5 else ""), str(len(r.seqs.get(c.path, [])))]
                for c in r.changes], left=("figure", "projects and trips"), overflow="fold")
    named = sorted({s for seqs in r.seqs.values() for s in seqs})
    rows = r.records.filter(r.records["seq"].is_in(named)) if named else r.records.clear()
    if rows.height:
        print_grid("records responsible", ["origin", "record", "event", "occurred_at", "recorded_at", "kind",
                                           "source"],
                   [[x["origin"] or str(x["seq"]), x["project_id"] or x["trip_id"] or "—", x["event_type"] or "—",
                     _fmt(x["occurred_at"]), _fmt(x["recorded_at"]), x["kind"], x["source"] or "—"]
                    for x in rows.iter_rows(named=True)], left=("origin", "record", "event", "kind", "source"))
    for text in sentences:
        click.echo(text)


@main.command()
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False))
@click.option("--as-of", "as_of", type=click.DateTime(["%Y-%m-%d"]), help="Business date T of both views (CST).")
@click.option("--known-at", "known_at", multiple=True, type=click.DateTime(["%Y-%m-%d"]),
              help="Twice: the knowledge dates A then B of the old and the new view.")
@click.option("--dirs", nargs=2, type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Two replay output directories (old, new): their summaries and project states.")
@click.option("--bulletin", "bulletin_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A bulletin (its DOCX or .view.json): what changed in its figures since it was made.")
@click.option("--targets", "targets_file", type=click.Path(exists=True, dir_okay=False), envvar="FUNNEL_TARGETS",
              help="Annual targets JSON (for the bulletin's figures); default: the 2023/2024 targets.")
@bootstrap_option
@topic_option
@json_option
def diff(files, as_of, known_at, dirs, bulletin_file, targets_file, bootstrap_servers, topic, as_json) -> None:
    """Two views of the same log: every figure's old and new value and its change, then, for each changed
    figure, the projects and trips whose contribution changed and the records that changed it (received
    between the two, with occurred_at, recorded_at, source and origin).

    Either --as-of D --known-at A --known-at B (of FILES or the topic), --dirs OLD NEW, or --bulletin FILE.
    """
    chosen = sum(map(bool, (known_at, dirs, bulletin_file)))
    if chosen != 1:
        raise click.UsageError("give one of: --as-of with --known-at twice, --dirs OLD NEW, --bulletin FILE")
    if dirs:
        return _dirs(*dirs, as_json)
    from streams.core import restatement as rs
    from streams.core.summary import View, fold_log
    from streams.documents import corrections

    targets = config.targets(targets_file)
    with tempfile.TemporaryDirectory(prefix="funnel-diff-") as work:
        if bulletin_file:
            view_doc = corrections.read_view(bulletin_file)
            read = view_doc.get("log") or {}
            if not read:
                raise click.ClickException(f"{bulletin_file} was made from a replay directory: no log to compare")
            at = datetime.fromisoformat(read["received_at"]) if "received_at" in read else None
            frame, name, _ = read_log(read.get("files", ()), bootstrap_servers, read.get("topic", topic), work, at)
            r = corrections.explain_since(frame, view_doc, targets)
            title = f"bulletin {view_doc['period']} (as of {view_doc['as_of']}) since it was made, from {name}"
            period = view_doc["period"]
        else:
            if as_of is None or len(known_at) != 2:
                raise click.UsageError("--known-at takes two dates (A then B) with --as-of")
            frame, name, read = read_log(files, bootstrap_servers, topic, work)
            old_view, new_view = (View(as_of.date(), k.date()) for k in known_at)
            r = rs.explain(fold_log(frame, old_view), fold_log(frame, new_view))
            title = f"as of {as_of.date()}: known at {known_at[0].date()} → {known_at[1].date()}, from {name}"
            period = None
        seqs = sorted({s for values in r.seqs.values() for s in values})
        if seqs:
            r.records = _with_provenance(r.records, provenance(read, seqs, bootstrap_servers))
    sentences = corrections.sentences(r, period) if period else []
    if as_json:
        print_json({"title": title, **r.as_dict(), "sentences": sentences})
        return
    if not r.changes:
        click.echo(f"{title}: no figure changed")
        return
    print_restatement(r, title, sentences)


def _with_provenance(records, found):
    """The records with the source and origin the shell found (a ledger's events carry their source already)."""
    import polars as pl

    joined = records.join(found.rename({"source": "_source", "origin": "_origin"}), on="seq", how="left")
    return joined.with_columns(source=pl.coalesce("_source", "source"), origin=pl.coalesce("_origin", "origin")) \
        .drop("_source", "_origin")


def _dirs(old: Path, new: Path, as_json: bool) -> None:
    """Two replay directories: their summaries' figures and the projects whose state differs (a replay's
    output holds no log, so no records: diff the log itself for those)."""
    import polars as pl

    from streams.core import restatement as rs

    docs = [json.loads((d / "summary.json").read_text(encoding="utf-8")) for d in (old, new)]
    flats = [{k: v for k, v in rs.flatten(d).items() if k not in ("as_of", "known_at")} for d in docs]
    changes = rs.compare(*flats)
    states = [pl.read_parquet(d / "project_state.parquet") if (d / "project_state.parquet").exists() else None
              for d in (old, new)]
    projects = sorted(rs.differing(*states, "project_id")) if all(s is not None for s in states) else []
    if as_json:
        print_json({"changes": [c.__dict__ for c in changes], "projects_changed": projects})
        return
    print_grid(f"{old} → {new}", ["figure", "old", "new", "delta"],
               [[c.path, _fmt(c.old), _fmt(c.new), _fmt(c.delta)] for c in changes], left=("figure",))
    click.echo(f"projects whose state differs: {len(projects)}" + (f" ({', '.join(projects[:20])}"
                                                                   f"{' …' if len(projects) > 20 else ''})"
                                                                   if projects else ""))
