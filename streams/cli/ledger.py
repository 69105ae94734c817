"""``funnel ledger import`` and ``funnel ledger export``: the bureau's monthly Excel ledgers (台账, DOMAIN.md §7)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import click

from streams import config
from streams.cli.app import bootstrap_option, json_option, log_failure, main, topic_option
from streams.cli.render import print_grid, print_json, print_table


def _month(_ctx, _param, value: str) -> str:
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", value or ""):
        raise click.BadParameter(f"{value!r} is not a month written YYYY-MM")
    return value


@main.group()
def ledger() -> None:
    """Monthly ledgers (台账): import one as the events it means, export the log as one."""


def _received_log(files, bootstrap_servers: str | None, topic: str):
    """The log the ledger is compared with: feed files, or the topic (and its dead letters)."""
    from streams.replay import files_received_at, log_from_files, log_from_topic

    if files:
        return log_from_files(files, files_received_at(files))
    bootstrap = bootstrap_servers or config.bootstrap_servers()
    try:
        return log_from_topic(bootstrap, topic)
    except Exception as e:
        from streams.kafkaio.security import explain

        log_failure(f"ledger: reading {topic} at {bootstrap}", e)
        raise click.ClickException(explain(e, bootstrap)) from e


@ledger.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--month", required=True, callback=_month, help="The ledger's month, YYYY-MM; compared with the log "
              "as of its last day, and its events occur at 23:59:59 CST that day.")
@bootstrap_option
@topic_option
@click.option("--from-file", "files", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="Compare with these feed files instead of the topic (repeatable; with --out, nothing is sent).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the events to this JSON Lines file instead of sending them (rejected rows beside it).")
@click.option("--transactions/--no-transactions", default=True, show_default=True, envvar="FUNNEL_TRANSACTIONS",
              show_envvar=True, help="Send the rejected rows and the events in one Kafka transaction; "
              "--no-transactions: idempotent sends only, for clusters that forbid transactions.")
@click.option("--department", help="Import for this department only: a row of another department's project (or "
              "naming another 责任单位) is rejected as ledger_not_yours; default: the bureau's import, for all.")
@click.option("--submitted-by", "submitted_by", help="Who hands the ledger in: carried by every event as submitted_by.")
@json_option
def import_(file: Path, month: str, bootstrap_servers, topic: str, files, out: Path | None, transactions: bool,
            department: str | None, submitted_by: str | None, as_json: bool) -> None:
    """Turn a month's ledger (.xlsx, .xlsm, .xls, .ods or .csv) into the events that differ from the log, and send them.

    Titles, unit lines and group headers above the header row, section headings, totals, notes and blank
    rows are read as what they are and listed as skipped (DOMAIN.md §7a); totals are checked. A 问题清单 and a
    外出招商 sheet are read too, each with its own accounting (DOMAIN.md §11).
    """
    from streams.feeds import ledger_import as ledgers
    from streams.core.ledger import LedgerFileError, month_end_of

    from streams.feeds.workbooks import read_ledger

    try:  # the file first: a file that cannot be read is refused before the log is read
        cells = read_ledger(file)
    except LedgerFileError as e:
        raise click.ClickException(str(e)) from e
    received = _received_log(files, bootstrap_servers, topic)
    as_of_e = ledgers.fold_as_of(received, month_end_of(month)[0])
    try:
        sheet, result = ledgers.plan_import(cells, month, as_of_e.state, ledgers.import_time(), trips=as_of_e.trips,
                                            issues=as_of_e.issues, department=department, submitted_by=submitted_by)
    except LedgerFileError as e:
        raise click.ClickException(str(e)) from e
    doc = {"file": str(file), "sheet": sheet.sheet, "encoding": sheet.encoding, **result.as_dict(),
           "skipped_sheets": [s.as_dict() for s in sheet.skipped_sheets]}
    ok = True
    if out is not None:
        rejected = ledgers.write_events(out, sheet.file, result)
        doc["written"] = {"events": str(out), "rejected": rejected and str(rejected)}
    else:
        bootstrap = bootstrap_servers or config.bootstrap_servers()
        report = _send(bootstrap, topic, sheet.file, result, transactions)
        doc["ingest"] = report.as_dict()
        ok = report.ok
    _print_import(doc, as_json)
    if not ok:
        sys.exit(1)


def _send(bootstrap: str, topic: str, file: str, result, transactions: bool):
    from streams.feeds import ledger_import as ledgers
    from streams.kafkaio.producer import event_producer, transactional_id
    from streams.kafkaio.topics import ensure_topics, event_topics

    try:
        ensure_topics(bootstrap, event_topics(topic))
        # Stable per (topic, ledger file): a re-run fences an import that was killed mid-transaction.
        producer = event_producer(bootstrap, transactional_id=transactional_id("ledger", topic, [file])
                                  if transactions else None)
    except Exception as e:
        from streams.kafkaio.security import explain

        log_failure(f"ledger import: connecting to {bootstrap}", e)
        raise click.ClickException(explain(e, bootstrap)) from e
    try:
        return ledgers.send(producer, topic, file, result)
    finally:
        producer.close(timeout=10)


def _print_import(doc: dict, as_json: bool) -> None:
    if as_json:
        print_json(doc)
        return
    rows = [("file", f"{doc['file']} (sheet {doc['sheet']})")]
    if doc["encoding"]:
        rows.append(("encoding", doc["encoding"]))
    rows += [("header row", ", ".join(f"{s['sheet']}!{s['header_row']}" for s in doc["sheets"])),
             ("month", doc["month"]), ("rows", doc["rows"]),
             ("unchanged", doc["unchanged"]), ("changed", doc["changed"]), ("new", doc["new"])]
    rows += [(f"rejected: {k}", n) for k, n in doc["rejected"].items()]
    rows += [(f"skipped: {k}", n) for k, n in doc["skipped"].items()]
    rows += [(f"sheet not read: {s['sheet']}", s["kind"]) for s in doc["skipped_sheets"]]
    rows += [(f"warning: {k}", n) for k, n in doc["warnings"].items()]
    rows += [(f"event: {k}", n) for k, n in doc["events"].items()]
    for name, other in doc["section_11"].items():
        rows += [(f"{name}: header row", other["header_row"]), (f"{name}: rows", other["rows"]),
                 (f"{name}: unchanged", other["unchanged"]), (f"{name}: changed", other["changed"]),
                 (f"{name}: new", other["new"])]
        rows += [(f"{name}: rejected: {k}", n) for k, n in other["rejected"].items()]
        rows += [(f"{name}: skipped: {k}", n) for k, n in other["skipped"].items()]
        rows += [(f"{name}: event: {k}", n) for k, n in other["events"].items()]
    if "ingest" in doc:
        i = doc["ingest"]
        rows += [("sent to the topic", i["delivered"]), ("dead-lettered", i["dead_lettered"]),
                 ("undelivered", i["undelivered"])]
    else:
        rows += [("written to", doc["written"]["events"])]
    print_table("ledger import", rows)
    rejected_rows = doc["rejected_rows"] + [r for o in doc["section_11"].values() for r in o["rejected_rows"]]
    problems = [[r["reason"], f"{r['sheet']}:{r['row']}", r["project_id"] or "", r["detail"]]
                for r in rejected_rows]
    problems += [[w["kind"], f"{w['sheet']}:{w['row']}" if "row" in w else "", w["project_id"] or "", w["detail"]]
                 for w in doc["warning_list"]]
    if problems:
        print_grid("rows rejected and warnings", ["kind", "sheet:row", "project", "detail"], problems[:200],
                   left=("kind", "sheet:row", "project", "detail"))
        if len(problems) > 200:
            click.echo(f"… and {len(problems) - 200:,} more (--json lists them all)")
    skipped = doc["skipped_rows"] + [s for o in doc["section_11"].values() for s in o["skipped_rows"]]
    if skipped:
        print_grid("rows that are not projects (skipped)", ["sheet:row", "kind"],
                   [[f"{s['sheet']}:{s['row']}", s["kind"]] for s in skipped[:200]],
                   left=("sheet:row", "kind"))
        if len(skipped) > 200:
            click.echo(f"… and {len(skipped) - 200:,} more (--json lists them all)")


@ledger.command("export")
@click.option("--as-of", "as_of", required=True, type=click.DateTime(formats=["%Y-%m-%d"]),
              help="The ledger's date (CST): every project's state at the end of that day.")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="The .xlsx to write.")
@bootstrap_option
@topic_option
@click.option("--from-file", "files", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="Export from these feed files instead of the topic (repeatable).")
@click.option("--targets", "targets_file", type=click.Path(exists=True, dir_okay=False), envvar="FUNNEL_TARGETS",
              help="Annual targets JSON for the summary sheet; default: the 2023/2024 targets.")
@json_option
def export(as_of, out: Path, bootstrap_servers, topic: str, files, targets_file, as_json: bool) -> None:
    """Write the ledger as of a day: sheet 台账 (colours as fills), a sheet per pool, 问题清单 (the issues raised)
    and 外出招商 (the trips that count), a summary sheet."""
    from streams.feeds import ledger_import as ledgers

    if out.suffix.lower() != ".xlsx":
        raise click.BadParameter(f"{out.name}: the ledger is written as .xlsx", param_hint="--out")
    day = as_of.date()
    result = ledgers.fold_as_of(_received_log(files, bootstrap_servers, topic), day)
    projects = ledgers.export(result.state, day, out, config.targets(targets_file), trips=result.trips,
                              issues=result.issues)
    doc = {"as_of": day.isoformat(), "out": str(out), "projects": projects,
           "issues": len(ledgers.issue_rows(result.issues, result.state)), "trips": len(ledgers.trip_rows(result.trips))}
    if as_json:
        print_json(doc)
    else:
        print_table("ledger export", list(doc.items()))
