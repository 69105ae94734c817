"""Target attainment against annual targets, with a run-rate projection to the end of the year."""

from __future__ import annotations

from datetime import date, datetime

import polars as pl

from streams.contract.events import STAGES, YUAN_PER_YI
from streams.core.aggregates import TZ
from streams.core.bottlenecks import bottlenecks_of
from streams.core.fold import reached
from streams.core.trips import trips_by_year

#: metrics of the projects' state: metric -> what it measures
PROJECT_METRICS = {
    **{s: f"projects reaching '{s}' in the year" for s in STAGES},
    "signed_yuan": "signed amount of projects signed in the year",
    "signed_lead_yuan": "signed amount of lead-industry projects signed in the year",
    "signed_projects_50yi": "projects signed in the year with a signed amount ≥ 50 亿",
    "started_yuan": "investment of projects starting construction in the year",
}
#: metrics of the trips (§8) and the issues (§9): metric -> what it measures
TRIP_AND_ISSUE_METRICS = {
    "leader_led": "trips led by the top Party and government leaders (党政主要领导带队) departing in the year",
    "team": "promotion-team trips (小分队) departing in the year",
    "team_signed_yuan": "signed amount of projects from team trips signed in the year (小分队签约额)",
    "projects_cleared": "projects with an issue resolved in the year (解瓶颈清障碍)",
}
#: metric -> what it measures
METRICS = {**PROJECT_METRICS, **TRIP_AND_ISSUE_METRICS}


def _in_year(stage: str, year: int) -> pl.Expr:
    return pl.col(reached(stage)).dt.convert_time_zone(TZ).dt.year() == year


def project_metrics(state: pl.DataFrame, year: int) -> dict[str, float]:
    """Every metric of :data:`PROJECT_METRICS` for one calendar year (CST), from project state."""
    s = state.filter(pl.col("in_pools"))
    signed = s.filter(_in_year("signed", year))
    out: dict[str, float] = {st: s.filter(_in_year(st, year)).height for st in STAGES}
    out["signed_yuan"] = int(signed["signed_yuan"].sum() or 0)
    out["signed_lead_yuan"] = int(signed.filter(pl.col("lead_industry").fill_null(False))["signed_yuan"].sum() or 0)
    out["signed_projects_50yi"] = signed.filter(pl.col("signed_yuan") >= 50 * YUAN_PER_YI).height
    out["started_yuan"] = int(s.filter(_in_year("started", year))["started_yuan"].sum() or 0)
    return out


def team_trips(trips: pl.DataFrame | None, from_trips: pl.DataFrame | None
               ) -> tuple[pl.DataFrame | None, pl.DataFrame | None]:
    """The counted team trips (小分队) and the projects from them."""
    if trips is None or not trips.height:
        return None, None
    teams = trips.filter(pl.col("counts") & (pl.col("kind") == "team"))
    if from_trips is None or not from_trips.height:
        return teams, from_trips
    return teams, from_trips.filter(pl.col("trip_id").is_in(teams["trip_id"].cast(pl.Utf8).implode()))


def trip_and_issue_metrics(year: int, *, state: pl.DataFrame | None = None, trips: pl.DataFrame | None = None,
                           from_trips: pl.DataFrame | None = None, issues: pl.DataFrame | None = None
                           ) -> dict[str, float]:
    """Every metric of :data:`TRIP_AND_ISSUE_METRICS` for one calendar year (CST), by the summary's rules
    (§8 ``trips``, §9 ``bottlenecks``); a metric whose frame is absent counts 0."""
    key = str(year)
    by_year = trips_by_year(trips, None).get(key, {})
    teams, team_projects = team_trips(trips, from_trips)
    team_year = trips_by_year(teams, team_projects).get(key, {})
    cleared = 0
    if state is not None and issues is not None:
        cleared = bottlenecks_of(issues, state, date(year, 12, 31))["projects_cleared"].get(key, 0)
    return {"leader_led": by_year.get("leader_led", 0), "team": by_year.get("team", 0),
            "team_signed_yuan": team_year.get("signed_yuan", 0), "projects_cleared": cleared}


def year_metrics(state: pl.DataFrame, year: int, *, trips: pl.DataFrame | None = None,
                 from_trips: pl.DataFrame | None = None, issues: pl.DataFrame | None = None) -> dict[str, float]:
    """Every metric of :data:`METRICS` for one calendar year (CST), from project state and (when given) the
    trips, the projects from trips and the issues of a :class:`streams.core.summary.Result`."""
    return {**project_metrics(state, year),
            **trip_and_issue_metrics(year, state=state, trips=trips, from_trips=from_trips, issues=issues)}


def _elapsed_share(year: int, cutoff: datetime) -> float:
    start = datetime(year, 1, 1, tzinfo=cutoff.tzinfo)
    end = datetime(year + 1, 1, 1, tzinfo=cutoff.tzinfo)
    return min(max((cutoff - start) / (end - start), 0.0), 1.0)


def target_attainment(state: pl.DataFrame, targets: dict[str, dict[str, float]], cutoff: datetime, *,
                      trips: pl.DataFrame | None = None, from_trips: pl.DataFrame | None = None,
                      issues: pl.DataFrame | None = None) -> pl.DataFrame:
    """Per (year, metric): target, actual, attainment, and the run-rate projection to year end."""
    rows = []
    for year_text, goals in sorted(targets.items()):
        year = int(year_text)
        actual = year_metrics(state, year, trips=trips, from_trips=from_trips, issues=issues)
        share = _elapsed_share(year, cutoff)
        for metric, target in goals.items():
            value = actual[metric]
            projected = value / share if share > 0 else None
            rows.append({"year": year, "metric": metric, "target": float(target), "actual": float(value),
                         "attainment": value / target if target else None, "elapsed_share": share,
                         "projected": projected, "on_track": None if projected is None else projected >= target})
    return pl.DataFrame(rows, schema={"year": pl.Int32, "metric": pl.Utf8, "target": pl.Float64, "actual": pl.Float64,
                                      "attainment": pl.Float64, "elapsed_share": pl.Float64,
                                      "projected": pl.Float64, "on_track": pl.Boolean})
