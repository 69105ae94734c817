"""The fold as it was written before it was vectorised (a group_by with one aggregation per column), kept
as the reference the tests compare :func:`streams.core.fold.project_state` with: the same frame, always."""

from __future__ import annotations

from datetime import datetime

import polars as pl

from streams.contract.events import MILESTONES, STAGES
from streams.core.fold import DEFAULT_COLOURS, FOLD_COLUMNS, ColourRules, _derive, planned, reached
from streams.core.log import DIMENSIONS

_is = pl.col("event_type").__eq__


def _per_event(names: list[str]) -> list[pl.Expr]:
    """Row-level columns whose plain min / max / first / last per project is the state.

    Plain aggregations of precomputed columns are several times faster in Polars than
    filters inside the aggregation.
    """
    by_stage = range(1, len(STAGES) + 1)
    cols = [pl.when(pl.col("stage") >= n).then(pl.col("occurred_at")).alias(f"_at{n}") for n in by_stage]
    cols += [(pl.col("stage") == n).alias(f"_is{n}") for n in by_stage]
    cols += [
        pl.when(pl.col("stage").is_not_null()).then(pl.col("occurred_at")).alias("_stage_at"),
        pl.when(_is("project_dropped")).then(pl.col("occurred_at")).alias("_drop_at"),
        pl.when(_is("contract_signed")).then(pl.col("amount")).alias("_signed_yuan"),
    ]
    for column in ("name", *DIMENSIONS, "drop_reason"):
        if column in names:
            cols.append(pl.when(_carries(column)).then(pl.col(column)).alias(f"_{column}"))
    if "due" in names:
        cols += [pl.when(_is("milestone_planned") & (pl.col("milestone") == m)).then(pl.col("due")).alias(f"_plan_{m}")
                 for m in MILESTONES]
    return cols


def _carries(column: str) -> pl.Expr:
    """Which events set a descriptive field: planning sets them all, reassignment the owner, a drop its reason."""
    if column == "drop_reason":
        return _is("project_dropped")
    if column in ("leader", "department"):
        return _is("project_planned") | _is("project_reassigned")
    return _is("project_planned")


def _state_aggregates(names: list[str]) -> list[pl.Expr]:
    out = []
    for n, stage in enumerate(STAGES, start=1):
        at = pl.col(f"_at{n}").min()
        out += [at.alias(reached(stage)), (at.is_not_null() & ~pl.col(f"_is{n}").any()).alias(f"implied_{stage}")]
    out += [
        pl.col("stage").max().alias("stage"),
        pl.col("_stage_at").max().alias("last_stage_at"),
        pl.col("_drop_at").max().alias("last_drop_at"),
        _is("project_planned").any().alias("has_planned"),
        # events come sorted by occurred_at then arrival: "last" is the latest
        pl.col("amount").last(ignore_nulls=True).alias("investment_yuan"),
        pl.col("_signed_yuan").first(ignore_nulls=True).alias("signed_yuan"),
    ]
    out += [pl.col(f"_{c}").last(ignore_nulls=True).alias(c) for c in ("name", *DIMENSIONS, "drop_reason")
            if c in names]
    if "due" in names:  # a later plan for the same milestone replaces the earlier one
        out += [pl.col(f"_plan_{m}").last(ignore_nulls=True).alias(planned(m)) for m in MILESTONES]
    return out + [pl.len().alias("events")]


def _started_yuan(ev: pl.DataFrame, state: pl.DataFrame) -> pl.DataFrame:
    """The investment as of construction start: the latest amount occurring no later than it."""
    started = state.select("project_id", start=pl.col(reached("started"))).filter(pl.col("start").is_not_null())
    return (ev.lazy().join(started.lazy(), on="project_id", maintain_order="left")
            .filter(pl.col("occurred_at") <= pl.col("start"))
            .group_by("project_id").agg(started_yuan=pl.col("amount").last(ignore_nulls=True)).collect())


def reference_state(events: pl.DataFrame | pl.LazyFrame, cutoff: datetime, colours: ColourRules = DEFAULT_COLOURS
                  ) -> pl.DataFrame:
    """One row per project with accepted events occurring before ``cutoff`` (the exclusive end of T)."""
    events = events.lazy()
    names = events.collect_schema().names()
    present = [c for c in FOLD_COLUMNS if c in names]
    ev = events.select(present).filter(pl.col("occurred_at") < cutoff).sort(["project_id", "occurred_at", "seq"]) \
        .collect()
    state = ev.lazy().with_columns(_per_event(present)).group_by("project_id", maintain_order=True) \
        .agg(_state_aggregates(present)).collect()
    state = state.join(_started_yuan(ev, state), on="project_id", how="left", maintain_order="left")
    order = state.columns[:-1]
    order.insert(order.index("signed_yuan") + 1, "started_yuan")
    return _derive(state.select(order), cutoff, colours)


