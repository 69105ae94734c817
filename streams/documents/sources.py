"""What a bulletin is made from: a replay's output directory, or a log (files, a topic) replayed here."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import polars as pl

from streams.core.clock import day_end, day_of, period_bounds, today_cst

#: the tables a bulletin reads
TABLES = ("project_state", "pools_over_time", "supervision_over_time", "rankings", "trips", "issues", "trip_references")


@dataclass
class BulletinData:
    """A replay's summary and the tables a bulletin reads, as of one date."""

    summary: dict
    state: pl.DataFrame
    pools_over_time: pl.DataFrame
    supervision: pl.LazyFrame  #: supervision_over_time, read lazily: only two month ends are needed
    rankings: pl.DataFrame
    targets: dict
    source: str
    trips: pl.DataFrame | None = None  #: §8's trips table (None: a replay written before it existed)
    issues: pl.DataFrame | None = None  #: §9's issues table
    trip_references: pl.DataFrame | None = None  #: the projects naming a trip, to find the projects from trips

    @property
    def as_of(self) -> date:
        return date.fromisoformat(self.summary["as_of"])

    @property
    def cutoff(self) -> datetime:
        return day_end(self.as_of)


def _lazy(table) -> pl.LazyFrame:
    return table if isinstance(table, pl.LazyFrame) else table.lazy()


def _frame(table) -> pl.DataFrame:
    return table.collect() if isinstance(table, pl.LazyFrame) else table


def from_tables(summary: dict, tables: dict, targets: dict, source: str) -> BulletinData:
    """From a replay's summary and tables (frames or lazy frames)."""
    if "pools_over_time" not in tables:  # a replay with no project at all writes only the state
        raise LookupError(f"{source}: no project as of {summary['as_of']}, nothing to report")
    state = _frame(tables["project_state"])
    supervision = _lazy(tables["supervision_over_time"])
    if "rankings" in tables:
        ranked = _frame(tables["rankings"])
    else:  # a replay written before the rankings table existed
        from streams.core.rankings import rankings

        ranked = rankings(state, supervision, day_end(date.fromisoformat(summary["as_of"])))
    optional = {name: _frame(tables[name]) if name in tables else None
                for name in ("trips", "issues", "trip_references")}
    return BulletinData(summary, state, _frame(tables["pools_over_time"]), supervision, ranked, targets, source,
                        **optional)


def from_replay_dir(out: Path, targets: dict) -> BulletinData:
    """What ``funnel replay --out DIR`` wrote."""
    out = Path(out)
    summary_file = out / "summary.json"
    if not summary_file.exists():
        raise FileNotFoundError(f"{out} has no summary.json: not a replay output (funnel replay --out DIR)")
    summary = json.loads(summary_file.read_text(encoding="utf-8"))
    tables = {name: pl.scan_parquet(out / f"{name}.parquet") for name in TABLES if (out / f"{name}.parquet").exists()}
    return from_tables(summary, tables, targets, str(out))


def view_for(period: str, today: date | None = None) -> date:
    """The as-of date to replay a log at for a period's bulletin: its last day, or today if it is not over."""
    return min(day_of(period_bounds(period)[1]), today or today_cst())


def from_log(received, period: str, targets: dict, source: str, work: str | Path, as_of: date | None = None
             ) -> BulletinData:
    """Replay a received log (a frame, or a log spilled to ``work``) as of the period's end: in memory, or
    bucket by bucket for a long log (:func:`streams.replay.fold_and_aggregate`), in ``work``, which must
    outlast the bulletin's making (lazy tables read it). ``as_of``: another as-of date (a reproduction's)."""
    from streams.core.summary import View
    from streams.replay import fold_and_aggregate

    replayed = fold_and_aggregate(received, View(as_of or view_for(period)), targets, work=work)
    return from_tables(replayed.doc, replayed.tables, targets, source)
