"""What the commands print: rich tables for people, JSON for machines, and one progress bar."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from typing import Any

import click


def console():
    from rich.console import Console

    return Console(stderr=False)


def print_json(doc) -> None:
    """One JSON document on one line of stdout (Chinese as is, dates and paths as strings)."""
    click.echo(json.dumps(doc, ensure_ascii=False, default=str))


def print_table(title: str, rows: list[tuple[str, object]]) -> None:
    """A two-column key/value table: integers with thousands separators (except a pid), booleans as yes/no."""
    from rich.table import Table

    table = Table(title=title, show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    for key, value in rows:
        if isinstance(value, bool):
            value = "yes" if value else "no"
        table.add_row(key, f"{value:,}" if isinstance(value, int) and key != "pid" else str(value))
    console().print(table)


def print_grid(title: str, columns: list[str], rows: list[list[str]], *, left: tuple[str, ...] = (),
               overflow: str | None = None) -> None:
    """A table with a header row; columns right-aligned except those named in ``left``."""
    from rich.table import Table

    table = Table(title=title)
    for col in columns:
        if overflow:
            table.add_column(col, overflow=overflow)
        else:
            table.add_column(col, justify="left" if col in left else "right")
    for row in rows:
        table.add_row(*row)
    console().print(table)


@contextlib.contextmanager
def progress(label: str, total: int, unit: str = "records", *, min_total: int = 0, step: int | None = None,
             measure: Callable[[Any], int] | None = None) -> Iterator[Callable[[Any], None]]:
    """A transient progress bar on a terminal; yields ``advance(n)`` (or ``advance(item)``, counted as
    ``measure(item)`` units). Off a terminal, or when a known ``total`` is under ``min_total``,
    nothing is shown and ``advance`` does nothing.

    ``unit`` is ``bytes`` (size, speed and time left) or anything else (a count and time elapsed);
    a ``total`` of 0 means unknown. The bar is redrawn every ``step`` units (default 1 % of the total).
    """
    out = console()
    if not out.is_terminal or (total and total < min_total):
        yield lambda n: None
        return
    from rich.progress import (BarColumn, DownloadColumn, MofNCompleteColumn, Progress, TextColumn,
                               TimeElapsedColumn, TimeRemainingColumn, TransferSpeedColumn)

    if unit == "bytes":
        columns = (TextColumn(label), BarColumn(), DownloadColumn(), TransferSpeedColumn(), TimeRemainingColumn())
    else:
        columns = (TextColumn(label), BarColumn(), MofNCompleteColumn(), TextColumn(unit), TimeElapsedColumn())
    if step is None:
        step = max(1, total // 100) if total else 50_000
    with Progress(*columns, console=out, transient=True) as bar:
        task = bar.add_task(label, total=total or None)
        pending = [0]

        def advance(n) -> None:
            pending[0] += measure(n) if measure else n
            if pending[0] >= step:
                bar.advance(task, pending[0])
                pending[0] = 0
        yield advance


def _example(example) -> str:
    """An offending row, briefly: its origin (file:line) or its id columns and value."""
    if not isinstance(example, dict):
        return str(example)
    if "origin" in example:
        return example["origin"]
    return ", ".join(f"{k}={v}" for k, v in example.items())[:80]


def print_quality(report, as_json: bool) -> None:
    """A quality report (``streams.quality.gate.QualityReport``): each failing expectation and a few rows."""
    doc = report.as_dict()
    if as_json:
        print_json(doc)
        return
    rows = [[f["severity"], f["suite"], f["expectation"].removeprefix("expect_"), f["column"],
             str(f["unexpected"] or ""), "; ".join(_example(e) for e in f["examples"][:3])] for f in doc["failures"]]
    print_grid(f"quality: {'PASS' if doc['success'] else 'FAIL'} ({len(doc['failures'])} expectations failed)",
               ["severity", "suite", "expectation", "column", "rows", "for example"], rows, overflow="fold")


def print_summary(doc: dict) -> None:
    """A replay's summary: the accounting, the four pools and the flows by year."""
    acc = doc["accounting"]
    rows = [("received", acc["received"]), ("accepted", acc["accepted"]), ("duplicates", acc["duplicates"])]
    rows += [(f"rejected: {r}", n) for r, n in acc["rejected"].items()]
    rows += [("projects", doc["projects"]["total"]), ("orphans", doc["projects"]["orphans"])]
    print_table(f"accounting (as of {doc['as_of']}, known at {doc['known_at'] or 'now'})", rows)
    print_grid("pools 四库", ["pool", "projects", "investment 亿元"],
               [[name, f"{p['count']:,}", f"{p['investment_yuan'] / 1e8:,.1f}"] for name, p in doc["pools"].items()],
               left=("pool",))
    if doc["flows"]:
        stages = list(next(iter(doc["flows"].values())))
        print_grid("flows by year (projects reaching each stage)", ["year", *stages],
                   [[year, *(f"{f[s]:,}" for s in stages)] for year, f in doc["flows"].items()])
