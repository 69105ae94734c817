"""One call for a notebook's data: a replay output directory, a feed file, or the live topic."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import polars as pl

from streams import config
from streams.core.clock import day_end, today_cst


@dataclass
class Dataset:
    summary: dict
    tables: dict[str, pl.DataFrame]
    quality: dict | None = None
    source: str = ""
    targets: dict = field(default_factory=dict)

    def __getitem__(self, name: str) -> pl.DataFrame:
        return self.tables[name]

    @property
    def as_of(self) -> date:
        """The business date T of the data set (CST)."""
        return date.fromisoformat(self.summary["as_of"])

    @property
    def cutoff(self) -> datetime:
        """The exclusive end of T: midnight CST after the as-of day (``clock.day_end``)."""
        return day_end(self.as_of)

    def quality_report(self) -> dict:
        """The aggregate suites' results: those the replay wrote, else run now on these tables."""
        if self.quality is None:
            from streams.quality.gate import check_aggregates

            self.quality = check_aggregates(self.summary, self.tables).as_dict()
        return self.quality


def _from_dir(out: Path) -> Dataset:
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    tables = {p.stem: pl.read_parquet(p) for p in sorted(out.glob("*.parquet"))}
    quality_file = out / "quality.json"
    quality = json.loads(quality_file.read_text(encoding="utf-8")) if quality_file.exists() else None
    return Dataset(summary, tables, quality, str(out), config.targets())


def load(source: str | Path | None = None, as_of: str | None = None) -> Dataset:
    """``source``: a replay output directory, a JSONL/CSV feed, or None for the topic
    (``FUNNEL_SOURCE`` if set; the topic is ``FUNNEL_TOPIC`` on ``KAFKA_BOOTSTRAP_SERVERS``)."""
    from streams import replay
    from streams.core.summary import View, fold_log, summary
    from streams.core.tables import aggregate_tables

    source = source or os.environ.get("FUNNEL_SOURCE")
    if source and Path(source).is_dir():
        return _from_dir(Path(source))
    view = View(date.fromisoformat(as_of) if as_of else today_cst())  # today in CST, as replay takes it
    if source:
        log = replay.log_from_files([source], replay.files_received_at([source]))
    else:
        log = replay.log_from_topic(config.bootstrap_servers(), os.environ.get("FUNNEL_TOPIC", config.DEFAULT_TOPIC))
    result = fold_log(log, view)
    targets = config.targets()
    return Dataset(summary(result), aggregate_tables(result, targets), None, str(source or "topic"), targets)
