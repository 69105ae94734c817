"""Every aggregate table a replay writes (and the worker and notebooks read), from one Result."""

from __future__ import annotations

import polars as pl

from streams.contract.events import STAGES
from streams.core import aggregates as agg
from streams.core.log import accepted_events
from streams.core.rankings import rankings
from streams.core.summary import Result
from streams.core.targets import target_attainment

#: Stage pairs whose conversion is reported: each step, and planned → landed.
CONVERSION_PAIRS: tuple[tuple[str, str], ...] = (*zip(STAGES[:4], STAGES[1:4]), ("planned", "started"))
ROLLING_WINDOWS = (3, 6, 12)


def conversions(state: pl.DataFrame) -> pl.DataFrame:
    """Period conversions (month, quarter, year) for every reported stage pair."""
    parts = []
    for period in agg.PERIODS:
        flow = agg.flows(state, period)
        for a, b in CONVERSION_PAIRS:
            parts.append(agg.conversion(flow, a, b).with_columns(granularity=pl.lit(period), pair=pl.lit(f"{a}→{b}")))
    return pl.concat(parts)


def rolling_conversions(state: pl.DataFrame) -> pl.DataFrame:
    monthly = agg.flows(state, "month")
    return pl.concat([agg.conversion_rolling(state, a, b, w, monthly=monthly).with_columns(pair=pl.lit(f"{a}→{b}"))
                      for a, b in CONVERSION_PAIRS for w in ROLLING_WINDOWS])


def trip_and_issue_tables(result: Result) -> dict[str, pl.DataFrame]:
    """The ``trips`` (§8: every trip reported or withdrawn as of T, with its standing report) and ``issues``
    (§9: every issue raised as of T, open or resolved) tables; for the quality checks, ``trip_references`` (each
    project naming a trip, and whether it counts) and ``resolutions`` (each resolution, and whether its issue
    was raised)."""
    from streams.core.bottlenecks import issue_state, resolutions
    from streams.core.trips import project_trip_ids, projects_from_trips, trip_references, trip_state

    cutoff = result.view.cutoff
    empty = result.settled.clear()
    events = accepted_events(result.settled)
    trip_ids = project_trip_ids(events, cutoff)
    from_trips = result.from_trips if result.from_trips is not None else \
        projects_from_trips(result.state, trip_ids, pl.Series("trip_id", [], pl.Utf8))
    return {"trips": result.trips if result.trips is not None else trip_state(empty, cutoff),
            "issues": result.issues if result.issues is not None else issue_state(empty, cutoff),
            "trip_references": trip_references(trip_ids, from_trips),
            "resolutions": resolutions(events, cutoff)}


def aggregate_tables(result: Result, targets: dict) -> dict[str, pl.DataFrame]:
    state = result.state
    if state.is_empty():
        return {"project_state": state, **trip_and_issue_tables(result)}
    cutoff = result.view.cutoff
    pools_over_time, supervision_over_time = agg.over_time(accepted_events(result.settled), cutoff)
    return {
        "project_state": state,
        "pools_over_time": pools_over_time,
        "flows": pl.concat([agg.flows(state, p).with_columns(granularity=pl.lit(p)) for p in agg.PERIODS]),
        "conversions": conversions(state),
        "rolling_conversions": rolling_conversions(state),
        "cohorts": pl.concat([agg.cohort_conversion(state, b, cutoff) for b in STAGES[1:4]]),
        "time_in_stage": agg.time_in_stage(state),
        "supervision": agg.supervision(state),
        "supervision_over_time": supervision_over_time,
        # 月评比: from the state's reached_at (flows) and the month-end colours (red), no fold per period
        "rankings": rankings(state, supervision_over_time, cutoff, issues=result.issues),
        "targets": target_attainment(state, targets, cutoff, trips=result.trips, from_trips=result.from_trips,
                                      issues=result.issues),
        "arrival_lags": agg.arrival_lags(result.settled),
        "rejections": result.settled.filter(~pl.col("outcome").is_in(["accepted", "duplicate"]))
                      .select("seq", "outcome", "detail", "project_id", "recorded_at"),
        **trip_and_issue_tables(result),
    }
