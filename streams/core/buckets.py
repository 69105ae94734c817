"""A log too big to hold: fold it bucket by bucket, each bucket a range of project ids (pure functions).

Settling (per ``project_id`` and ``event_id``, DOMAIN.md §3) and the fold (per project, §4)
never look across projects, so the part of a log holding some projects' records is a whole
log of those projects: settle, fold and the per-project tables of a bucket are exactly that
bucket's share of the whole log's. The buckets are ranges of ``project_id`` in Polars' sort
order, the order the fold writes projects in, so per-project tables concatenated in bucket
order are in the same order as the in-memory path's.

What each aggregate table needs from the buckets is a rule (:data:`TABLE_RULES`), so the merge
never holds more than one bucket's records or a few columns of the merged project state:

- :class:`ByProject`: rows of single projects (``project_state``, ``supervision_over_time``):
  the buckets' tables, concatenated in bucket order (interleaved by a column, e.g. month, when
  the table is ordered by it first), streamed to the output file.
- :class:`Additive`: counts summed over the buckets (``pools_over_time``, ``flows``, ``cohorts``,
  ``supervision``); with ``then``, a table computed from such counts (``cohorts``' rates of the
  summed sizes; ``rankings``: the units' counts summed, then ranked once).
- :class:`FromTable`: ratios from a merged table (period and rolling conversions from the merged
  flows), never averages of the buckets' ratios.
- :class:`FromState`: tables that do not add up (medians of ``time_in_stage``, ``targets``' ratios)
  from the merged project state, read with only the columns they use.
- :class:`FromLog`: tables of the records (``rejections``; ``arrival_lags``' medians, a month of
  arrivals at a time) from the buckets' settled records narrowed to the rows and columns they use.

A table without a rule is still right: it is computed from the whole merged project state (with a
warning, as its memory grows with the projects). The summary is :func:`streams.core.summary.merge_summaries`
of the buckets' summaries, which add up because no project spans two buckets.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import polars as pl

from streams.contract.events import STAGES
from streams.core import aggregates as agg
from streams.core import rankings

#: A log with at most this many records is folded in memory, as one bucket (≈1.2 GB at 1M records).
IN_MEMORY_ROWS = 600_000
#: Above it, records per bucket: a bucket folds and aggregates in ≈0.3 GB.
ROWS_PER_BUCKET = 250_000
#: Columns of the project state that no whole-log table reads (free text): left out of the merged state
#: that a table without a rule is computed from.
STATE_TEXT = ("project_id", "name")


@dataclass(frozen=True)
class ByProject:
    """A table of single projects' rows: concatenated in bucket order; with ``interleave``, ordered by
    that column first and by bucket within each of its values (each bucket's table is sorted by it)."""

    interleave: str | None = None


@dataclass(frozen=True)
class Additive:
    """A table of counts: summed over the buckets by ``keys``, rows ordered by ``order`` then by first appearance."""

    keys: tuple[str, ...]
    order: tuple[str, ...]
    #: a table whose other columns do not add up but follow from the counts (e.g. rankings): the
    #: buckets' tables concatenated, from which this computes the whole table (summing by itself)
    then: Callable[[pl.DataFrame], pl.DataFrame] | None = None


@dataclass(frozen=True)
class FromLog:
    """A table of the records that does not add up (medians): ``compute`` of the buckets' settled records
    narrowed to ``rows`` and ``columns``; with ``split``, computed for each value of that expression
    (e.g. the month the table groups by) apart, so only one value's records are held at a time."""

    columns: tuple[str, ...]
    compute: Callable[[pl.DataFrame], pl.DataFrame]
    rows: pl.Expr | None = None
    split: pl.Expr | None = None


@dataclass(frozen=True)
class FromState:
    """A table that does not add up (medians, ratios of sums): ``compute(state, view, targets)`` of the
    merged project state, read with only ``columns``; with ``tables``, also given those merged tables (of
    :class:`ByProject` rules) by name as keyword arguments."""

    columns: tuple[str, ...]
    compute: Callable[..., pl.DataFrame]
    tables: tuple[str, ...] = ()


@dataclass(frozen=True)
class FromTable:
    """A table that follows from another merged table (conversions from the merged flows)."""

    table: str
    compute: Callable[[pl.DataFrame], pl.DataFrame]


_REACHED = tuple(f"reached_at_{s}" for s in STAGES)
_STAGE_ORDER = {s: i for i, s in enumerate(STAGES)}
_PERIOD_ORDER = {p: i for i, p in enumerate(agg.PERIODS)}


def merge_flows(parts: pl.DataFrame) -> pl.DataFrame:
    """The ``flows`` table of the buckets' ``flows`` tables: counts summed, in the table's order."""
    merged = parts.group_by(["granularity", "period", "stage"], maintain_order=True).agg(pl.col("count").sum())
    return merged.sort([pl.col("granularity").replace_strict(_PERIOD_ORDER), "period",
                        pl.col("stage").replace_strict(_STAGE_ORDER)]).select(parts.columns)


def merge_cohorts(parts: pl.DataFrame) -> pl.DataFrame:
    """The ``cohorts`` table of the buckets': sizes and projects reached summed, rates of the sums,
    censoring (which depends on the cohort, k and the cut-off only) kept."""
    merged = parts.group_by(["stage", "cohort", "k"], maintain_order=True).agg(
        pl.col("size").sum(), pl.col("reached").sum(), pl.col("censored").first())
    merged = merged.with_columns(reached=pl.when(~pl.col("censored")).then(pl.col("reached")),
                                 rate=pl.when(~pl.col("censored")).then(pl.col("reached") / pl.col("size")))
    return merged.sort([pl.col("stage").replace_strict(_STAGE_ORDER), "cohort", "k"]).select(parts.columns)


def _of_granularity(flows: pl.DataFrame, period: str) -> pl.DataFrame:
    return flows.filter(pl.col("granularity") == period).drop("granularity")


def conversions_of(flows: pl.DataFrame) -> pl.DataFrame:
    """:func:`streams.core.tables.conversions` from the merged flows instead of the state."""
    from streams.core.tables import CONVERSION_PAIRS

    return pl.concat([agg.conversion(_of_granularity(flows, period), a, b)
                      .with_columns(granularity=pl.lit(period), pair=pl.lit(f"{a}→{b}"))
                      for period in agg.PERIODS for a, b in CONVERSION_PAIRS])


def rolling_conversions_of(flows: pl.DataFrame) -> pl.DataFrame:
    """:func:`streams.core.tables.rolling_conversions` from the merged monthly flows instead of the state."""
    from streams.core.tables import CONVERSION_PAIRS, ROLLING_WINDOWS

    monthly = _of_granularity(flows, "month")
    return pl.concat([agg.conversion_rolling(None, a, b, w, monthly=monthly).with_columns(pair=pl.lit(f"{a}→{b}"))
                      for a, b in CONVERSION_PAIRS for w in ROLLING_WINDOWS])


def _targets(state: pl.DataFrame, view, targets: dict, *, trips: pl.DataFrame, issues: pl.DataFrame,
             trip_references: pl.DataFrame) -> pl.DataFrame:
    from streams.core.targets import target_attainment
    from streams.core.trips import from_trip_references

    return target_attainment(state, targets, view.cutoff, trips=trips, issues=issues,
                             from_trips=from_trip_references(state, trip_references, trips))


_CHECKED = pl.col("outcome").is_in(["accepted", "duplicate"])

TABLE_RULES: dict[str, ByProject | Additive | FromLog | FromState | FromTable] = {
    "project_state": ByProject(),
    # a trip's records are in one bucket (keyed by its id), and the buckets are ranges of keys in trip id order
    "trips": ByProject(),
    "issues": ByProject(),
    "trip_references": ByProject(),
    "resolutions": ByProject(),
    "supervision_over_time": ByProject(interleave="month"),
    "pools_over_time": Additive(keys=("month", "pool"), order=("month",)),
    "flows": Additive(keys=("granularity", "period", "stage"), order=(), then=merge_flows),
    "cohorts": Additive(keys=("stage", "cohort", "k"), order=(), then=merge_cohorts),
    "supervision": Additive(keys=("colour",), order=()),
    # ranked once: the units' counts of every bucket summed, then scored and ranked
    "rankings": Additive(keys=rankings.KEYS, order=(), then=rankings.rerank),
    "conversions": FromTable("flows", conversions_of),
    "rolling_conversions": FromTable("flows", rolling_conversions_of),
    "time_in_stage": FromState(columns=(*_REACHED, "in_pools"), compute=lambda state, view, targets:
                               agg.time_in_stage(state)),
    # the trip targets (§8) from the merged trips and the projects naming them, projects_cleared (§9) from the issues
    "targets": FromState(columns=(*_REACHED, "in_pools", "signed_yuan", "started_yuan", "lead_industry",
                                  "project_id", "orphan", "dropped"),
                         compute=_targets, tables=("trips", "issues", "trip_references")),
    # per month of arrival: each month's records at a time
    "arrival_lags": FromLog(columns=("outcome", "recorded_at", "occurred_at"), compute=agg.arrival_lags,
                            rows=_CHECKED & pl.col("recorded_at").is_not_null(),
                            split=pl.col("recorded_at").dt.convert_time_zone(agg.TZ).dt.strftime("%Y-%m")),
    "rejections": FromLog(columns=("seq", "outcome", "detail", "project_id", "recorded_at"),
                          compute=lambda rows: rows.sort("seq"), rows=~_CHECKED),
}


#: The tables of trips and issues (streams.core.tables.trip_and_issue_tables), written even with no project.
TRIP_AND_ISSUE_TABLES = ("trips", "issues", "trip_references", "resolutions")


def buckets_for(rows: int, forced: int | None = None) -> int:
    """How many buckets to fold a log of ``rows`` records in: 1 (in memory) up to :data:`IN_MEMORY_ROWS`."""
    if forced is not None:
        if forced < 1:
            raise ValueError(f"buckets must be at least 1, not {forced}")
        return forced
    return 1 if rows <= IN_MEMORY_ROWS else math.ceil(rows / ROWS_PER_BUCKET)


#: Put before a trip's id in the bucket key: a trip is keyed by its own id (§8), apart from the projects' ids.
TRIP_KEY = "\x00trip:"


def project_key() -> pl.Expr:
    """The key records are bucketed by: ``project_id``; a trip's record (no project_id) by its ``trip_id``
    (:data:`TRIP_KEY` first); "" for a rejected record without either."""
    trip = pl.when(pl.col("trip_id").is_not_null()).then(pl.lit(TRIP_KEY) + pl.col("trip_id").cast(pl.Utf8))
    return pl.coalesce(pl.col("project_id"), trip, pl.lit(""))


def bucket_bounds(rows_per_project: pl.DataFrame, buckets: int) -> pl.Series:
    """The first project id of every bucket but the first, for ``buckets`` buckets of about equal records.

    ``rows_per_project`` has one row per key (:func:`project_key`) as ``project_id`` and its record
    count as ``rows``. A project is never split, so one project with more records than a bucket's
    share gets a bucket of its own and there may be fewer buckets than asked for.
    """
    frame = rows_per_project.sort("project_id").with_columns(pl.col("rows").cast(pl.Int64))
    total = max(1, int(frame["rows"].sum() or 0))
    # a project's bucket: the share of the log's records before it, in buckets
    numbered = frame.with_columns(bucket=(pl.col("rows").cum_sum() - pl.col("rows")) * buckets // total)
    firsts = numbered.group_by("bucket", maintain_order=True).agg(pl.col("project_id").first())
    return firsts.filter(pl.col("bucket") > 0)["project_id"]


def bucket_index(keys: pl.Series, bounds: pl.Series) -> pl.Series:
    """The bucket of each key (:func:`project_key`'s values): how many bounds are at or below it."""
    return bounds.search_sorted(keys.fill_null(""), side="right")


def narrow_state(state: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame | pl.LazyFrame:
    """The project state the whole-log tables and the summary are computed from: without free text."""
    names = state.collect_schema().names()
    return state.drop([c for c in STATE_TEXT if c in names])


def not_accepted(settled: pl.DataFrame) -> pl.DataFrame:
    """The settled records that were not accepted (duplicates and rejections): few, and kept whole."""
    return settled.filter(pl.col("outcome") != "accepted")


def merge_additive(parts: list[pl.DataFrame], rule: Additive) -> pl.DataFrame:
    """The buckets' count tables summed by the rule's keys, in its order (or the rule's ``then`` of them)."""
    if rule.then is not None:
        return rule.then(pl.concat(parts))
    merged = pl.concat(parts).group_by(list(rule.keys), maintain_order=True).agg(pl.all().sum())
    if rule.order:
        merged = merged.sort(list(rule.order), maintain_order=True)
    return merged.select(parts[0].columns)


def interleave_keys(table: pl.DataFrame, rule: ByProject) -> list:
    """The values of the rule's interleave column in a bucket's table, in order (``[None]`` without one)."""
    if rule.interleave is None:
        return [None]
    return table[rule.interleave].unique(maintain_order=True).to_list()


def split_by_interleave(table: pl.DataFrame, rule: ByProject) -> dict:
    """A bucket's table split by the rule's interleave column (one piece, keyed None, without one)."""
    if rule.interleave is None:
        return {None: table}
    return {key[0]: piece for key, piece in table.partition_by(rule.interleave, as_dict=True,
                                                               maintain_order=True).items()}


def merge_by_project(pieces: dict[tuple, pl.DataFrame | pl.LazyFrame]) -> pl.DataFrame | pl.LazyFrame:
    """Pieces keyed (interleave value, bucket), concatenated in key order (the value None sorts first)."""
    order = sorted(pieces, key=lambda k: (k[0] is not None, k[0] if k[0] is not None else "", k[1]))
    return pl.concat([pieces[k] for k in order], how="vertical")
