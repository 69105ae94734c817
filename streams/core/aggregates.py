"""Aggregates of project state (pure Polars): pools, flows, conversions, cohorts, time in stage, colours.

Every function takes an optional ``by``: a dimension column (industry, lead_industry,
zone, axis, department, source_region, channel, ...) to break the figures down by.
Periods are calendar months, quarters and years in China Standard Time.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, time, timedelta

import polars as pl

from streams.contract.events import POOLS, STAGES
from streams.core.clock import CST, CST_ZONE, day_of
from streams.core.fold import project_state, reached, with_colour

TZ = CST_ZONE  # for Polars, which names zones
PERIODS = {"month": "1mo", "quarter": "1q", "year": "1y"}


def _keys(by: str | None) -> list[str]:
    return [by] if by else []


def _label(at: pl.Expr, period: str) -> pl.Expr:
    """The CST period of ``at`` as labelled everywhere: ``2024``, ``2024Q3``, ``2024-07``."""
    return _period_of_number(_period_number(at, period), period)


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


def _period_number(at: pl.Expr, period: str) -> pl.Expr:
    """The CST period of ``at`` as a number that sorts as its label: 2024, 20243 (2024Q3), 202407."""
    local = at.dt.convert_time_zone(TZ)
    year = local.dt.year().cast(pl.Int32)
    if period == "year":
        return year
    if period == "quarter":
        return year * 10 + local.dt.quarter()
    return year * 100 + local.dt.month()


def _period_of_number(number: pl.Expr, period: str) -> pl.Expr:
    """The label of a :func:`_period_number` (the month's year written with four digits, as ``%Y`` does)."""
    if period == "year":
        return number.cast(pl.Utf8)
    if period == "quarter":
        return pl.format("{}Q{}", number // 10, number % 10)
    return pl.format("{}-{}", (number // 100).cast(pl.Utf8).str.zfill(4), (number % 100).cast(pl.Utf8).str.zfill(2))


def flows(state: pl.DataFrame, period: str = "year", by: str | None = None) -> pl.DataFrame:
    """Flow of each stage per period: projects in the pools whose reached_at[stage] falls in it."""
    in_pools = state.lazy().filter(pl.col("in_pools"))
    # Counted by the period's number, labelled once counted: far fewer labels to write than projects.
    parts = [in_pools.filter(pl.col(reached(s)).is_not_null())
             .select(_period_number(pl.col(reached(s)), period).alias("_n"), pl.lit(s).alias("stage"), *_keys(by))
             for s in STAGES]
    long = (pl.concat(parts).group_by(["_n", "stage", *_keys(by)]).agg(count=pl.len().cast(pl.Int64))
            .select(_period_of_number(pl.col("_n"), period).alias("period"), "stage", *_keys(by), "count"))
    order = pl.col("stage").replace_strict({s: i for i, s in enumerate(STAGES)})
    return long.sort(["period", *_keys(by), order]).collect()


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


def conversion_rolling(state: pl.DataFrame, a: str, b: str, window: int, by: str | None = None,
                       monthly: pl.DataFrame | None = None) -> pl.DataFrame:
    """Rolling conversion at each month m: flows of the ``window`` months ending with m.

    ``monthly`` is ``flows(state, "month", by)`` when the caller already has it.
    """
    wide = flows_wide(flows(state, "month", by) if monthly is None else monthly, by)
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


def _month_index(at: pl.Expr) -> pl.Expr:
    local = at.dt.convert_time_zone(TZ)
    return local.dt.year().cast(pl.Int32) * 12 + local.dt.month().cast(pl.Int32) - 1


def cohort_conversion(state: pl.DataFrame, b: str, cutoff: datetime, max_k: int = 24,
                      by: str | None = None) -> pl.DataFrame:
    """Share of the projects planned in month c that reached ``b`` by the end of month c+k.

    A cohort younger than k months at the cut-off (month c+k not yet over) has no value:
    null, censored, not zero.
    """
    keys = ["cohort_index", *_keys(by)]
    planned = state.filter(pl.col("in_pools")).select(
        *_keys(by), cohort_index=_month_index(pl.col(reached("planned"))),
        lag=_month_index(pl.col(reached(b))) - _month_index(pl.col(reached("planned"))))
    sizes = planned.group_by(keys).agg(size=pl.len().cast(pl.Int64))
    ks = pl.DataFrame({"k": list(range(max_k + 1))}, schema={"k": pl.Int32})
    lags = planned.filter(pl.col("lag").is_not_null()).group_by([*keys, "lag"]).agg(n=pl.len().cast(pl.Int64))
    reached_by = (sizes.join(ks, how="cross")
                  .join(lags, on=keys, how="left", nulls_equal=True)
                  .group_by([*keys, "k", "size"])
                  .agg(reached=pl.col("n").filter(pl.col("lag") <= pl.col("k")).sum().fill_null(0).cast(pl.Int64)))
    # month c+k is over when the cut-off falls after its end
    cutoff_index = _month_index(pl.lit(cutoff - timedelta(microseconds=1)))
    censored = (pl.col("cohort_index") + pl.col("k")) >= cutoff_index
    local = cutoff.astimezone(CST)
    if local.day == 1 and local.time() == time():  # a cut-off on a month boundary ends the month before
        censored = (pl.col("cohort_index") + pl.col("k")) > cutoff_index
    out = reached_by.with_columns(censored=censored).with_columns(
        cohort=pl.format("{}-{}", pl.col("cohort_index") // 12,
                         (pl.col("cohort_index") % 12 + 1).cast(pl.Utf8).str.zfill(2)),
        reached=pl.when(~pl.col("censored")).then(pl.col("reached")),
        rate=pl.when(~pl.col("censored")).then(pl.col("reached") / pl.col("size")),
        stage=pl.lit(b),
    )
    return out.select("cohort", "k", *_keys(by), "size", "reached", "censored", "rate", "stage").sort(
        ["cohort", *_keys(by), "k"])


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


def month_end_states(events: pl.DataFrame | pl.LazyFrame, cutoff: datetime, by: str | None = None
                     ) -> Iterator[tuple[str, datetime, pl.DataFrame]]:
    """(month label, its exclusive end, every project's state then) for each month up to the cut-off
    (the last month ends at the cut-off).

    A project's state changes only with its own events, so a month needs the state of just the
    projects that had events in it, and carries the others over; the colour, which also changes
    with the calendar, is judged again at every month end. Those states are all folded at once
    (:func:`_prefix_states`), with the one fold.
    """
    columns = ["project_id", "occurred_at", "seq", "stage", "event_type", "amount", "milestone", "due"]
    events = events.lazy()
    names = events.collect_schema().names()
    columns = [c for c in columns if c in names] + ([by] if by and by not in columns else [])
    events = events.select(columns).filter(pl.col("occurred_at") < cutoff).collect()
    if events.is_empty():
        return
    ends = month_ends(events["occurred_at"].min(), cutoff)
    changed_in = _prefix_states(events, ends)
    current: pl.DataFrame | None = None
    for k, end in enumerate(ends):
        changed = changed_in.get(k)
        if changed is not None:
            current = changed if current is None else pl.concat([
                current.join(changed.select("project_id"), on="project_id", how="anti"),
                changed.select(current.columns)])
        if current is None:
            continue
        label = day_of(end).strftime("%Y-%m")
        yield label, end, with_colour(current, end)


#: Digits of a month's number in front of a project id (:func:`_prefix_states`).
_MONTH_DIGITS = 6


def _prefix_states(events: pl.DataFrame, ends: list[datetime]) -> dict[int, pl.DataFrame]:
    """Per month k (ending at ``ends[k]``), the state at its end of each project that had events in it.

    Each event is copied into every later month its project had events in, under the id ``kkkkkk<project id>``:
    one fold of those copies is every such state at once (a fixed-width month number in front keeps the ids
    apart and in (month, project) order).
    """
    at = pl.Series("end", ends, dtype=events.schema["occurred_at"])
    month = at.search_sorted(events["occurred_at"], side="right").alias("_k")  # the first end after the event
    events = events.with_columns(month)
    active = events.select("project_id", _in=pl.col("_k")).unique()
    copies = (events.join(active, on="project_id").filter(pl.col("_k") <= pl.col("_in"))
              .with_columns(project_id=pl.format("{}{}", pl.col("_in").cast(pl.Utf8).str.zfill(_MONTH_DIGITS),
                                                 pl.col("project_id")))
              .drop("_k", "_in"))
    states = project_state(copies, ends[-1]).with_columns(
        _k=pl.col("project_id").str.slice(0, _MONTH_DIGITS).cast(pl.Int64),
        project_id=pl.col("project_id").str.slice(_MONTH_DIGITS))
    return {k: part.drop("_k") for (k,), part in states.partition_by("_k", as_dict=True, maintain_order=True).items()}


_POOLS_OVER_TIME = {"month": pl.Utf8, "pool": pl.Utf8, "count": pl.Int64, "investment_yuan": pl.Int64}
_COLOURS_OVER_TIME = {"month": pl.Utf8, "project_id": pl.Utf8, "colour": pl.Utf8, "days_late": pl.Int64,
                      "months_in_colour": pl.UInt32}


def pools_over_time(events: pl.DataFrame | pl.LazyFrame, cutoff: datetime, by: str | None = None) -> pl.DataFrame:
    """Pools at the end of every month up to the cut-off (the last month ends at the cut-off)."""
    frames = [pools_at(state, by).select(pl.lit(label).alias("month"), pl.all())
              for label, _, state in month_end_states(events, cutoff, by)]
    if not frames:
        return pl.DataFrame(schema={"month": pl.Utf8, "pool": pl.Utf8, **({by: pl.Utf8} if by else {}),
                                    "count": pl.Int64, "investment_yuan": pl.Int64})
    return pl.concat(frames)


def over_time(events: pl.DataFrame | pl.LazyFrame, cutoff: datetime) -> tuple[pl.DataFrame, pl.DataFrame]:
    """:func:`pools_over_time` and :func:`supervision_over_time` from one pass over the months."""
    pools, colours = [], []
    for label, _, state in month_end_states(events, cutoff):
        pools.append(pools_at(state).select(pl.lit(label).alias("month"), pl.all()))
        colours.append(_coloured(state, label))
    if not pools:
        return pl.DataFrame(schema=_POOLS_OVER_TIME), pl.DataFrame(schema=_COLOURS_OVER_TIME)
    return pl.concat(pools), _with_streaks(pl.concat(colours))


def supervision_over_time(events: pl.DataFrame | pl.LazyFrame, cutoff: datetime) -> pl.DataFrame:
    """Every coloured project's colour at every month end (§6), and for how many month ends running
    it has had that colour: "red three months running" is ``colour == "red"`` and ``months_in_colour >= 3``."""
    return over_time(events, cutoff)[1]


def _coloured(state: pl.DataFrame, label: str) -> pl.DataFrame:
    return state.filter(pl.col("colour").is_not_null()).select(
        month=pl.lit(label), project_id="project_id", colour="colour", days_late=pl.col("days_late").cast(pl.Int64))


def _with_streaks(colours: pl.DataFrame) -> pl.DataFrame:
    index = pl.col("month").str.slice(0, 4).cast(pl.Int32) * 12 + pl.col("month").str.slice(5, 2).cast(pl.Int32)
    frame = colours.with_columns(_i=index).sort("project_id", "_i")
    # A new run starts at a project's first month end, where the colour changes, or where a month end was
    # skipped (e.g. dropped, then revived). Each project's rows are consecutive, so a run is found by comparing
    # a row with the one before it: no window per project, which costs seconds on millions of rows.
    row = pl.int_range(pl.len(), dtype=pl.UInt32)
    starts = ((pl.col("project_id") != pl.col("project_id").shift()) | (pl.col("colour") != pl.col("colour").shift())
              | (pl.col("_i") - pl.col("_i").shift() != 1)).fill_null(True)
    first_of_run = pl.when(starts).then(row).forward_fill()
    # in order of month, then project id: the rows are in id order within each month already
    return (frame.with_columns(months_in_colour=(row - first_of_run + 1).cast(pl.UInt32))
            .sort("_i", maintain_order=True).drop("_i"))


def arrival_lags(settled: pl.DataFrame, late_days: int = 30) -> pl.DataFrame:
    """Per month of arrival (recorded_at, CST): events, median and p90 lag after occurred_at, late share."""
    checked = settled.filter(pl.col("outcome").is_in(["accepted", "duplicate"]) & pl.col("recorded_at").is_not_null())
    lag = (pl.col("recorded_at") - pl.col("occurred_at")).dt.total_hours() / 24
    return (checked.select(month=_label(pl.col("recorded_at"), "month"), lag_days=lag)
            .group_by("month").agg(events=pl.len().cast(pl.Int64), median_lag_days=pl.col("lag_days").median(),
                                   p90_lag_days=pl.col("lag_days").quantile(0.9),
                                   late_share=(pl.col("lag_days") > late_days).mean())
            .sort("month"))
