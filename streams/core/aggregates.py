"""Aggregates of project state (pure Polars): pools, flows, conversions, cohorts, time in stage, colours.

Every function takes an optional ``by``: a dimension column (industry, lead_industry,
zone, axis, department, source_region, channel, ...) to break the figures down by.
Periods are calendar months, quarters and years in China Standard Time.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl

from streams.contract.events import POOLS, STAGES
from streams.core.fold import project_state, reached

TZ = "Asia/Shanghai"  # UTC+08:00 all year since 1991
PERIODS = {"month": "1mo", "quarter": "1q", "year": "1y"}


def _keys(by: str | None) -> list[str]:
    return [by] if by else []


def _label(at: pl.Expr, period: str) -> pl.Expr:
    local = at.dt.convert_time_zone(TZ)
    if period == "year":
        return local.dt.year().cast(pl.Utf8)
    if period == "quarter":
        return pl.format("{}Q{}", local.dt.year(), local.dt.quarter())
    return local.dt.strftime("%Y-%m")


def pools_at(state: pl.DataFrame, by: str | None = None) -> pl.DataFrame:
    """Count and investment of every pool (all five present, zero when empty)."""
    in_pools = state.filter(pl.col("pool").is_not_null())
    got = in_pools.group_by(["pool", *_keys(by)]).agg(
        count=pl.len().cast(pl.Int64), investment_yuan=pl.col("investment_yuan").sum().cast(pl.Int64))
    frame = pl.DataFrame({"pool": list(POOLS)})
    if by:
        frame = frame.join(in_pools.select(by).unique(), how="cross")
    return (frame.join(got, on=["pool", *_keys(by)], how="left", nulls_equal=True)
            .with_columns(pl.col("count", "investment_yuan").fill_null(0))
            .sort([pl.col("pool").replace_strict({p: i for i, p in enumerate(POOLS)}), *_keys(by)]))


def flows(state: pl.DataFrame, period: str = "year", by: str | None = None) -> pl.DataFrame:
    """Flow of each stage per period: projects in the pools whose reached_at[stage] falls in it."""
    in_pools = state.filter(pl.col("in_pools"))
    parts = [in_pools.filter(pl.col(reached(s)).is_not_null())
             .select(period=_label(pl.col(reached(s)), period), stage=pl.lit(s), *_keys(by))
             for s in STAGES]
    long = pl.concat(parts).group_by(["period", "stage", *_keys(by)]).agg(count=pl.len().cast(pl.Int64))
    order = pl.col("stage").replace_strict({s: i for i, s in enumerate(STAGES)})
    return long.sort(["period", *_keys(by), order])


def flows_wide(flow: pl.DataFrame, by: str | None = None) -> pl.DataFrame:
    """One row per period (and ``by``), one column per stage, zeros where nothing flowed."""
    wide = flow.pivot(on="stage", index=["period", *_keys(by)], values="count")
    for s in STAGES:
        if s not in wide.columns:
            wide = wide.with_columns(pl.lit(0, pl.Int64).alias(s))
    return wide.select(["period", *_keys(by), *STAGES]).fill_null(0).sort(["period", *_keys(by)])


def conversion(flow: pl.DataFrame, a: str, b: str, by: str | None = None) -> pl.DataFrame:
    """Conversion in each period from stage ``a`` to a later stage ``b``: flow(b) / flow(a)."""
    wide = flows_wide(flow, by)
    return wide.select("period", *_keys(by), pl.col(a).alias("from"), pl.col(b).alias("to"),
                       rate=pl.when(pl.col(a) > 0).then(pl.col(b) / pl.col(a)))


def _month_range(first: str, last: str) -> list[str]:
    y, m = map(int, first.split("-"))
    out = []
    while f"{y:04d}-{m:02d}" <= last:
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def conversion_rolling(state: pl.DataFrame, a: str, b: str, window: int, by: str | None = None) -> pl.DataFrame:
    """Rolling conversion at each month m: flows of the ``window`` months ending with m."""
    wide = flows_wide(flows(state, "month", by), by)
    if wide.is_empty():
        return pl.DataFrame(schema={"period": pl.Utf8, **({by: state.schema[by]} if by else {}), "from": pl.Int64,
                                    "to": pl.Int64, "rate": pl.Float64})
    months = pl.DataFrame({"period": _month_range(wide["period"].min(), wide["period"].max())})
    if by:
        months = months.join(wide.select(by).unique(), how="cross")
    full = months.join(wide, on=["period", *_keys(by)], how="left", nulls_equal=True).fill_null(0)
    full = full.sort([*_keys(by), "period"])
    def rolling(column: str) -> pl.Expr:
        total = pl.col(column).rolling_sum(window, min_samples=1)
        return (total.over(by) if by else total).alias("from" if column == a else "to")

    roll = full.with_columns(rolling(a), rolling(b))
    return roll.select("period", *_keys(by), "from", "to",
                       rate=pl.when(pl.col("from") > 0).then(pl.col("to") / pl.col("from")),
                       window=pl.lit(window))


def cohort_conversion(state: pl.DataFrame, b: str, cutoff: datetime, max_k: int = 24,
                      by: str | None = None) -> pl.DataFrame:
    """Share of the projects planned in month c that reached ``b`` by the end of month c+k.

    A cohort younger than k months at the cut-off has no value (null: censored, not zero).
    """
    planned = state.filter(pl.col("in_pools")).with_columns(
        cohort=pl.col(reached("planned")).dt.convert_time_zone(TZ).dt.truncate("1mo"))
    ks = pl.DataFrame({"k": list(range(max_k + 1))})
    per = planned.join(ks, how="cross").with_columns(
        window_end=pl.col("cohort").dt.offset_by(pl.format("{}mo", pl.col("k") + 1)))
    local_cutoff = pl.lit(cutoff).dt.convert_time_zone(TZ)
    out = per.group_by(["cohort", "k", *_keys(by)]).agg(
        size=pl.len().cast(pl.Int64),
        reached=(pl.col(reached(b)).dt.convert_time_zone(TZ) < pl.col("window_end")).sum().cast(pl.Int64),
        censored=(pl.col("window_end").first() > local_cutoff),
    )
    return out.with_columns(
        cohort=pl.col("cohort").dt.strftime("%Y-%m"),
        reached=pl.when(~pl.col("censored")).then(pl.col("reached")),
        rate=pl.when(~pl.col("censored")).then(pl.col("reached") / pl.col("size")),
        stage=pl.lit(b),
    ).sort(["cohort", *_keys(by), "k"])


def time_in_stage(state: pl.DataFrame, by: str | None = None) -> pl.DataFrame:
    """Days between reaching a stage and reaching the next, over projects that did both."""
    parts = []
    for s, nxt in zip(STAGES, STAGES[1:]):
        days = (pl.col(reached(nxt)) - pl.col(reached(s))).dt.total_hours() / 24
        parts.append(state.filter(pl.col("in_pools") & pl.col(reached(nxt)).is_not_null())
                     .select(*_keys(by), stage=pl.lit(s), days=days))
    long = pl.concat(parts)
    order = pl.col("stage").replace_strict({s: i for i, s in enumerate(STAGES)})
    return (long.group_by(["stage", *_keys(by)])
            .agg(projects=pl.len().cast(pl.Int64), mean_days=pl.col("days").mean(),
                 median_days=pl.col("days").median(), p90_days=pl.col("days").quantile(0.9))
            .sort([order, *_keys(by)]))


def supervision(state: pl.DataFrame, by: str | None = None) -> pl.DataFrame:
    """Projects per supervision colour (neither dropped nor operating)."""
    frame = pl.DataFrame({"colour": ["green", "blue", "yellow", "red"]})
    got = state.filter(pl.col("colour").is_not_null()).group_by(["colour", *_keys(by)]).agg(
        count=pl.len().cast(pl.Int64))
    if by:
        return got.sort(["colour", by])
    return frame.join(got, on="colour", how="left").fill_null(0)


def month_ends(first: datetime, cutoff: datetime) -> list[datetime]:
    """The exclusive end of every CST month from ``first``'s month up to the one holding the cut-off."""
    start = first.astimezone(cutoff.tzinfo).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    ends = []
    y, m = start.year, start.month
    while True:
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        end = start.replace(year=y, month=m)
        ends.append(min(end, cutoff))
        if end >= cutoff:
            return ends


def pools_over_time(events: pl.DataFrame, cutoff: datetime, by: str | None = None) -> pl.DataFrame:
    """Pools at the end of every month up to the cut-off (the last row is the cut-off itself)."""
    if events.is_empty():
        return pl.DataFrame(schema={"month": pl.Utf8, "pool": pl.Utf8, "count": pl.Int64, "investment_yuan": pl.Int64})
    frames = []
    for end in month_ends(events["occurred_at"].min(), cutoff):
        label = (end - timedelta(microseconds=1)).astimezone(cutoff.tzinfo).strftime("%Y-%m")
        frames.append(pools_at(project_state(events, end), by).select(pl.lit(label).alias("month"), pl.all()))
    return pl.concat(frames)
