"""Parts of one log's summary that merge exactly: the partitions a live worker holds, merged across workers.

Every figure of the summary adds up across parts that share no project and no trip
(:func:`streams.core.summary.merge_summaries`), except the projects from a trip (§8): a
project in one part may name a trip kept in another, and it counts only if that trip
counts at T anywhere in the log. So a part carries, besides its summary (whose ``trips``
count its own trips only, no project from a trip), the trip ids that count at T among its
own trips, and its projects that name a trip at T, counted or not (``from_trips``: the trip
id and what :func:`streams.core.trips.trips_by_year` reads of each). The merge keeps those
naming a trip counted in some part and counts them by the one rule: exactly what a fold of
the whole log counts. Pure functions.

The targets (:mod:`streams.core.targets`) merge the same way: a targets part carries the
:func:`~streams.core.targets.additive_metrics` of its own projects and trips per year, its
counted team trips and its projects naming a trip; the merge adds the metrics up and works
out 小分队签约额 from the projects naming a team trip counted in some part.
"""

from __future__ import annotations

from collections import Counter

import polars as pl

from streams.core.log import accepted_events, outcome_counts
from streams.core.summary import Result, merge_summaries, summary_of
from streams.core.targets import add_metrics, additive_metrics, attainment, counted_team_trips, team_signed_yuan
from streams.core.trips import YEAR_FIGURES, project_trip_ids, projects_from_trips, trips_by_year

#: What a part's ``from_trips`` keeps of each project naming a trip: what :func:`trips_by_year` reads of it.
FROM_TRIP_COLUMNS = ("trip_id", "reached_at_planned", "reached_at_signed", "signed_yuan")
_TIMES = ("reached_at_planned", "reached_at_signed")
_SCHEMA = {"trip_id": pl.Utf8, "reached_at_planned": pl.Int64, "reached_at_signed": pl.Int64, "signed_yuan": pl.Int64}


def named_projects(state: pl.DataFrame, trip_ids: pl.DataFrame) -> pl.DataFrame:
    """The non-orphan projects of ``state`` (dropped ones included) naming a trip at T (``trip_ids``: project_id,
    trip_id), whether that trip counts or not: those a fold would count from a trip if it counted."""
    return projects_from_trips(state, trip_ids, trip_ids["trip_id"] if trip_ids.height else pl.Series("trip_id", [], pl.Utf8))


def from_trips_columns(named: pl.DataFrame) -> dict[str, list]:
    """Named projects (:func:`named_projects`) as plain JSON columns (times in microseconds since 1970, UTC)."""
    if not named.height:
        return {c: [] for c in FROM_TRIP_COLUMNS}
    frame = named.select(pl.col("trip_id").cast(pl.Utf8), *(pl.col(c).dt.epoch("us") for c in _TIMES),
                         pl.col("signed_yuan").cast(pl.Int64))
    return {c: frame[c].to_list() for c in FROM_TRIP_COLUMNS}


def from_trips_frame(columns: dict[str, list]) -> pl.DataFrame:
    """A part's ``from_trips`` columns back as a frame :func:`trips_by_year` reads."""
    frame = pl.DataFrame({c: columns[c] for c in FROM_TRIP_COLUMNS}, schema=_SCHEMA)
    return frame.with_columns(pl.from_epoch(c, "us").dt.replace_time_zone("UTC") for c in _TIMES)


def counted_trips(trips: pl.DataFrame | None) -> list[str]:
    """The trip ids that count at T among a part's trips (:func:`streams.core.trips.trip_state`)."""
    if trips is None or not trips.height:
        return []
    return sorted(trips.filter(pl.col("counts"))["trip_id"].cast(pl.Utf8).to_list())


def part_of(summary: dict, trips: pl.DataFrame | None, state: pl.DataFrame, trip_ids: pl.DataFrame) -> dict:
    """A part: its ``summary`` (no project from a trip in its ``trips``), its ``counted_trips`` and, as columns,
    its projects naming a trip (``from_trips``: :func:`named_projects`)."""
    return {"summary": summary, "counted_trips": counted_trips(trips),
            "from_trips": from_trips_columns(named_projects(state, trip_ids))}


def summary_part(result: Result) -> dict:
    """The part of a fold of some of the log's projects and trips (e.g. a worker's partitions)."""
    view = result.view
    doc = summary_of(view, outcome_counts(result.settled), result.state, trips=result.trips, issues=result.issues)
    return part_of(doc, result.trips, result.state, project_trip_ids(accepted_events(result.settled), view.cutoff))


def merge_parts(parts: list[dict]) -> dict:
    """The summary of the whole log from its parts (:func:`summary_part`): their summaries added up, and to
    ``trips`` the projects of every part that name a trip counted in some part (:func:`trips_by_year`)."""
    doc = merge_summaries([part["summary"] for part in parts])
    counted = pl.Series("trip_id", sorted({t for part in parts for t in part["counted_trips"]}), pl.Utf8)
    named = pl.concat([from_trips_frame(part["from_trips"]) for part in parts])
    from_trips = named.filter(pl.col("trip_id").is_in(counted.implode()))
    years: dict[str, Counter] = {year: Counter(figures) for year, figures in doc["trips"].items()}
    for year, figures in trips_by_year(None, from_trips).items():
        years.setdefault(year, Counter()).update(figures)
    doc["trips"] = {year: {f: years[year][f] for f in YEAR_FIGURES} for year in sorted(years)
                    if any(years[year].values())}
    return doc


def targets_part(years: list[str], state: pl.DataFrame, trips: pl.DataFrame | None, issues: pl.DataFrame | None,
                 trip_ids: pl.DataFrame) -> dict:
    """A part of the targets: per year of ``years``, the :func:`additive_metrics` of its projects and trips; its
    ``team_trips`` (counted team trip ids) and, as columns, its projects naming a trip (``from_trips``)."""
    return {"metrics": {year: additive_metrics(state, int(year), trips=trips, issues=issues) for year in years},
            "team_trips": counted_team_trips(trips),
            "from_trips": from_trips_columns(named_projects(state, trip_ids))}


def result_targets_part(result: Result, years: list[str]) -> dict:
    """The targets part of a fold of some of the log's projects and trips (e.g. a worker's partitions)."""
    trip_ids = project_trip_ids(accepted_events(result.settled), result.view.cutoff)
    return targets_part(years, result.state, result.trips, result.issues, trip_ids)


def merge_target_parts(parts: list[dict], targets: dict[str, dict[str, float]], cutoff) -> pl.DataFrame:
    """The targets table of the whole log (:func:`streams.core.targets.target_attainment`) from its
    :func:`targets_part` parts: the additive metrics added up, 小分队签约额 from the projects of every part naming a
    team trip counted in some part."""
    teams = sorted({t for part in parts for t in part["team_trips"]})
    named = pl.concat([from_trips_frame(part["from_trips"]) for part in parts]) if parts else None
    actual = {year: {**add_metrics([part["metrics"][year] for part in parts]),
                     "team_signed_yuan": team_signed_yuan(int(year), teams, named)} for year in targets}
    return attainment(actual, targets, cutoff)
