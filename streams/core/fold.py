"""DOMAIN.md §4: accepted events → per-project state as of T. Arrival order never changes the result."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import polars as pl

from streams.contract.events import MILESTONES, STAGE_POOL, STAGES
from streams.core.clock import day_of
from streams.core.log import DIMENSIONS


@dataclass(frozen=True)
class ColourRules:
    """The thresholds of the supervision colours (红黄蓝绿), DOMAIN.md §4 and §6.

    ``dwell``: without an open milestone, (colour, at most this many days since the latest
    stage advance), else red. With one, by ``late`` = days from its due date to the as-of date:
    red above ``red_late``, yellow above 0, blue from ``-blue_ahead`` to 0, else green.
    """

    dwell: tuple[tuple[str, int], ...] = (("green", 90), ("blue", 180), ("yellow", 365))
    red_late: int = 90
    blue_ahead: int = 30


DEFAULT_COLOURS = ColourRules()

_is = pl.col("event_type").__eq__
#: What the fold reads; a frame with only the first six columns folds too (no dimensions).
FOLD_COLUMNS = ("project_id", "occurred_at", "seq", "stage", "event_type", "amount", "name", *DIMENSIONS,
                "drop_reason", "milestone", "due")


def planned(milestone: str) -> str:
    """The column holding the due date of the latest plan for ``milestone`` (§6)."""
    return f"plan_{milestone}"


def reached(stage: str) -> str:
    """The column holding ``reached_at[stage]``."""
    return f"reached_at_{stage}"


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


def project_state(events: pl.DataFrame | pl.LazyFrame, cutoff: datetime, colours: ColourRules = DEFAULT_COLOURS
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


def _derive(state: pl.DataFrame, cutoff: datetime, colours: ColourRules) -> pl.DataFrame:
    last_advance = pl.coalesce([pl.when(pl.col("stage") == n).then(pl.col(reached(s)))
                                for n, s in enumerate(STAGES, start=1)])
    dropped = pl.col("last_drop_at").is_not_null() & (
        pl.col("last_stage_at").is_null() | (pl.col("last_drop_at") >= pl.col("last_stage_at")))
    pool = pl.col("stage").replace_strict(STAGE_POOL, default=None, return_dtype=pl.Utf8)
    state = state.with_columns(
        orphan=~pl.col("has_planned"),
        dropped=dropped.fill_null(False),
        last_advance_at=last_advance,
        signed_yuan=pl.coalesce("signed_yuan", pl.when(pl.col("stage") >= 3).then(pl.col("investment_yuan"))),
        started_yuan=pl.coalesce("started_yuan", pl.when(pl.col("stage") >= 4).then(pl.col("investment_yuan"))),
    ).with_columns(
        in_pools=~pl.col("orphan") & pl.col(reached("planned")).is_not_null(),
    ).with_columns(
        pool=pl.when(~pl.col("in_pools")).then(None).when(pl.col("dropped")).then(pl.lit("dropped")).otherwise(pool),
    )
    return with_colour(state.drop("has_planned"), cutoff, colours)


def _open_plans(state: pl.DataFrame) -> list[pl.Expr]:
    """Per milestone, its due date while it is planned and not yet reached (an open milestone, §6)."""
    if planned(MILESTONES[0]) not in state.columns:
        return []
    return [pl.when(pl.col(reached(m)).is_null()).then(pl.col(planned(m))) for m in MILESTONES]


def with_colour(state: pl.DataFrame, cutoff: datetime, colours: ColourRules = DEFAULT_COLOURS) -> pl.DataFrame:
    """Each project's supervision colour at the cut-off (§4, §6), with what it was judged on.

    Depends on the cut-off as well as the state, so a state carried over from an earlier
    month (as :func:`streams.core.aggregates.month_end_states` does) is coloured again.
    """
    as_of_day = day_of(cutoff)
    open_plans = _open_plans(state)
    next_due = pl.min_horizontal(open_plans) if open_plans else pl.lit(None, pl.Date)
    state = state.with_columns(
        days_since_advance=(pl.lit(cutoff) - pl.col("last_advance_at")).dt.total_days(),
        next_due=next_due,
    ).with_columns(days_late=(pl.lit(as_of_day) - pl.col("next_due")).dt.total_days())
    by_dwell = pl.lit("red")
    for name, days in reversed(colours.dwell):
        by_dwell = pl.when(pl.col("days_since_advance") <= days).then(pl.lit(name)).otherwise(by_dwell)
    late = pl.col("days_late")
    by_plan = (pl.when(late > colours.red_late).then(pl.lit("red")).when(late > 0).then(pl.lit("yellow"))
               .when(late >= -colours.blue_ahead).then(pl.lit("blue")).otherwise(pl.lit("green")))
    colour = pl.when(pl.col("next_due").is_not_null()).then(by_plan).otherwise(by_dwell)
    supervised = pl.col("in_pools") & ~pl.col("dropped") & (pl.col("stage") < 6)
    return state.with_columns(colour=pl.when(supervised).then(colour))
