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
#: The columns of the targets table (:func:`attainment`).
TARGETS_SCHEMA = {"year": pl.Int32, "metric": pl.Utf8, "target": pl.Float64, "actual": pl.Float64,
                  "attainment": pl.Float64, "elapsed_share": pl.Float64, "projected": pl.Float64,
                  "on_track": pl.Boolean}


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


def counted_team_trips(trips: pl.DataFrame | None) -> list[str]:
    """The ids of the team trips (小分队) that count at T."""
    teams, _ = team_trips(trips, None)
    return [] if teams is None else sorted(teams["trip_id"].cast(pl.Utf8).to_list())


def team_signed_yuan(year: int, team_ids: list[str], from_trips: pl.DataFrame | None) -> int:
    """小分队签约额: the signed amount of the projects from the counted team trips ``team_ids`` signed in the year
    (CST); ``from_trips`` may hold projects from other trips too."""
    if from_trips is None or not from_trips.height:
        return 0
    ours = from_trips.filter(pl.col("trip_id").cast(pl.Utf8).is_in(pl.Series(team_ids, dtype=pl.Utf8).implode()))
    return trips_by_year(None, ours).get(str(year), {}).get("signed_yuan", 0)


def additive_metrics(state: pl.DataFrame, year: int, *, trips: pl.DataFrame | None = None,
                     issues: pl.DataFrame | None = None) -> dict[str, float]:
    """Every metric of :data:`METRICS` but ``team_signed_yuan`` for one calendar year (CST): counts and sums over
    projects and trips, so those of disjoint sets of projects and trips add up (:func:`add_metrics`)."""
    key = str(year)
    by_year = trips_by_year(trips, None).get(key, {})
    cleared = 0
    if issues is not None:
        cleared = bottlenecks_of(issues, state, date(year, 12, 31))["projects_cleared"].get(key, 0)
    return {**project_metrics(state, year), "leader_led": by_year.get("leader_led", 0),
            "team": by_year.get("team", 0), "projects_cleared": cleared}


def add_metrics(parts: list[dict[str, float]]) -> dict[str, float]:
    """The :func:`additive_metrics` of disjoint sets of projects and trips, added up."""
    out: dict[str, float] = {}
    for part in parts:
        for metric, value in part.items():
            out[metric] = out.get(metric, 0) + value
    return out


def trip_and_issue_metrics(year: int, *, state: pl.DataFrame | None = None, trips: pl.DataFrame | None = None,
                           from_trips: pl.DataFrame | None = None, issues: pl.DataFrame | None = None
                           ) -> dict[str, float]:
    """Every metric of :data:`TRIP_AND_ISSUE_METRICS` for one calendar year (CST), by the summary's rules
    (§8 ``trips``, §9 ``bottlenecks``); a metric whose frame is absent counts 0."""
    key = str(year)
    by_year = trips_by_year(trips, None).get(key, {})
    cleared = 0
    if state is not None and issues is not None:
        cleared = bottlenecks_of(issues, state, date(year, 12, 31))["projects_cleared"].get(key, 0)
    return {"leader_led": by_year.get("leader_led", 0), "team": by_year.get("team", 0),
            "team_signed_yuan": team_signed_yuan(year, counted_team_trips(trips), from_trips),
            "projects_cleared": cleared}


def year_metrics(state: pl.DataFrame, year: int, *, trips: pl.DataFrame | None = None,
                 from_trips: pl.DataFrame | None = None, issues: pl.DataFrame | None = None) -> dict[str, float]:
    """Every metric of :data:`METRICS` for one calendar year (CST), from project state and (when given) the
    trips, the projects from trips and the issues of a :class:`streams.core.summary.Result`: the
    :func:`additive_metrics` and :func:`team_signed_yuan`."""
    return {**additive_metrics(state, year, trips=trips, issues=issues),
            "team_signed_yuan": team_signed_yuan(year, counted_team_trips(trips), from_trips)}


def _elapsed_share(year: int, cutoff: datetime) -> float:
    start = datetime(year, 1, 1, tzinfo=cutoff.tzinfo)
    end = datetime(year + 1, 1, 1, tzinfo=cutoff.tzinfo)
    return min(max((cutoff - start) / (end - start), 0.0), 1.0)


def attainment(actual: dict[str, dict[str, float]], targets: dict[str, dict[str, float]],
               cutoff: datetime) -> pl.DataFrame:
    """Per (year, metric) of ``targets``: target, actual (``actual``: year -> :func:`year_metrics`), attainment,
    and the run-rate projection to year end at ``cutoff``."""
    rows = []
    for year_text, goals in sorted(targets.items()):
        year = int(year_text)
        share = _elapsed_share(year, cutoff)
        for metric, target in goals.items():
            value = actual[year_text][metric]
            projected = value / share if share > 0 else None
            rows.append({"year": year, "metric": metric, "target": float(target), "actual": float(value),
                         "attainment": value / target if target else None, "elapsed_share": share,
                         "projected": projected, "on_track": None if projected is None else projected >= target})
    return pl.DataFrame(rows, schema=TARGETS_SCHEMA)


def target_attainment(state: pl.DataFrame, targets: dict[str, dict[str, float]], cutoff: datetime, *,
                      trips: pl.DataFrame | None = None, from_trips: pl.DataFrame | None = None,
                      issues: pl.DataFrame | None = None) -> pl.DataFrame:
    """Per (year, metric): target, actual, attainment, and the run-rate projection to year end."""
    actual = {year: year_metrics(state, int(year), trips=trips, from_trips=from_trips, issues=issues)
              for year in targets}
    return attainment(actual, targets, cutoff)
