"""DOMAIN.md §4: accepted events → per-project state as of T. Arrival order never changes the result."""

from __future__ import annotations

from datetime import datetime

import polars as pl

from streams.contract.events import STAGE_POOL, STAGES
from streams.core.log import DIMENSIONS

#: Supervision colours by days since the latest stage advance: (colour, at most this many days).
DEFAULT_COLOURS: tuple[tuple[str, int], ...] = (("green", 90), ("blue", 180), ("yellow", 365))

_is = pl.col("event_type").__eq__
#: What the fold reads; a frame with only the first six columns folds too (no dimensions).
FOLD_COLUMNS = ("project_id", "occurred_at", "seq", "stage", "event_type", "amount", "name", *DIMENSIONS,
                "drop_reason")


def reached(stage: str) -> str:
    """The column holding ``reached_at[stage]``."""
    return f"reached_at_{stage}"


def _stage_aggregates() -> list[pl.Expr]:
    out = []
    for number, name in enumerate(STAGES, start=1):
        at = pl.col("occurred_at").filter(pl.col("stage") >= number).min()
        out += [at.alias(reached(name)), (at.is_not_null() & ~(pl.col("stage") == number).any()).alias(f"implied_{name}")]
    return out


def _latest(column: str, where: pl.Expr | None = None) -> pl.Expr:
    """The value of the latest event (by occurred_at, then arrival) that carries one; events come sorted."""
    values = pl.col(column) if where is None else pl.col(column).filter(where)
    return values.drop_nulls().last()


def project_state(events: pl.DataFrame | pl.LazyFrame, cutoff: datetime, colours: tuple[tuple[str, int], ...] = DEFAULT_COLOURS
                  ) -> pl.DataFrame:
    """One row per project with accepted events occurring before ``cutoff`` (the exclusive end of T)."""
    events = events.lazy()
    names = events.collect_schema().names()
    present = [c for c in FOLD_COLUMNS if c in names]
    ev = events.select(present).filter(pl.col("occurred_at") < cutoff).sort(["project_id", "occurred_at", "seq"])
    started_at = pl.col("occurred_at").filter(pl.col("stage") >= 4).min()
    dims = [d for d in DIMENSIONS if d in present]
    state = ev.group_by("project_id", maintain_order=True).agg(
        *_stage_aggregates(),
        pl.col("stage").max().alias("stage"),
        pl.col("occurred_at").filter(pl.col("stage").is_not_null()).max().alias("last_stage_at"),
        pl.col("occurred_at").filter(_is("project_dropped")).max().alias("last_drop_at"),
        _is("project_planned").any().alias("has_planned"),
        _latest("amount").alias("investment_yuan"),
        pl.col("amount").filter(_is("contract_signed")).drop_nulls().first().alias("signed_yuan"),
        pl.col("amount").filter(pl.col("occurred_at") <= started_at).drop_nulls().last().alias("started_yuan"),
        *[_latest("name", _is("project_planned")).alias("name")] * ("name" in present),
        *[_latest(d, _is("project_planned")).alias(d) for d in dims if d not in ("leader", "department")],
        *[_latest(d, _is("project_planned") | _is("project_reassigned")).alias(d)
          for d in dims if d in ("leader", "department")],
        *[_latest("drop_reason", _is("project_dropped")).alias("drop_reason")] * ("drop_reason" in present),
        pl.len().alias("events"),
    )
    return _derive(state.collect(), cutoff, colours)


def _derive(state: pl.DataFrame, cutoff: datetime, colours) -> pl.DataFrame:
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
        days_since_advance=(pl.lit(cutoff) - pl.col("last_advance_at")).dt.total_days(),
    )
    colour = pl.lit("red")
    for name, days in reversed(colours):
        colour = pl.when(pl.col("days_since_advance") <= days).then(pl.lit(name)).otherwise(colour)
    supervised = pl.col("in_pools") & ~pl.col("dropped") & (pl.col("stage") < 6)
    return state.with_columns(colour=pl.when(supervised).then(colour)).drop("has_planned")
