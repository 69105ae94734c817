"""Parts of one log's summary that merge exactly: the partitions a live worker holds, merged across workers.

Every figure of the summary adds up across parts that share no project and no trip
(:func:`streams.core.summary.merge_summaries`), except the projects from a trip (§8): a
project in one part may name a trip kept in another, and it counts only if that trip
counts at T anywhere in the log. So a part carries, besides its summary (whose ``trips``
count its own trips only, no project from a trip), the trip ids that count at T among its
own trips, and, for every trip id its projects name, what those projects would add to
``trips`` if that trip counts (``from_trips``). The merge adds the contributions of the
trip ids counted in any part: exactly what a fold of the whole log counts. Pure functions.
"""

from __future__ import annotations

from collections import Counter

import polars as pl

from streams.core.log import accepted_events, outcome_counts
from streams.core.summary import Result, merge_summaries, summary_of
from streams.core.trips import YEAR_FIGURES, project_trip_ids, projects_from_trips, trips_by_year

#: The part of the summary's ``trips`` of one trip id's projects: year → figures (§8).
Contributions = dict[str, dict[str, int]]


def from_trips_by_trip(state: pl.DataFrame, trip_ids: pl.DataFrame) -> dict[str, Contributions]:
    """For every trip id that a project of ``state`` names at T (``trip_ids``: project_id, trip_id), what its
    non-orphan projects add to the summary's ``trips`` if that trip counts (:func:`trips_by_year`)."""
    if not trip_ids.height:
        return {}
    named = projects_from_trips(state, trip_ids, trip_ids["trip_id"])
    if not named.height:
        return {}
    return {str(trip_id): trips_by_year(None, piece)
            for (trip_id,), piece in sorted(named.partition_by("trip_id", as_dict=True).items())}


def counted_trips(trips: pl.DataFrame | None) -> list[str]:
    """The trip ids that count at T among a part's trips (:func:`streams.core.trips.trip_state`)."""
    if trips is None or not trips.height:
        return []
    return sorted(trips.filter(pl.col("counts"))["trip_id"].cast(pl.Utf8).to_list())


def part_of(summary: dict, trips: pl.DataFrame | None, state: pl.DataFrame, trip_ids: pl.DataFrame) -> dict:
    """A part: its ``summary`` (no project from a trip in its ``trips``), its ``counted_trips`` and ``from_trips``
    (:func:`from_trips_by_trip`)."""
    return {"summary": summary, "counted_trips": counted_trips(trips),
            "from_trips": from_trips_by_trip(state, trip_ids)}


def summary_part(result: Result) -> dict:
    """The part of a fold of some of the log's projects and trips (e.g. a worker's partitions)."""
    view = result.view
    doc = summary_of(view, outcome_counts(result.settled), result.state, trips=result.trips, issues=result.issues)
    return part_of(doc, result.trips, result.state, project_trip_ids(accepted_events(result.settled), view.cutoff))


def merge_parts(parts: list[dict]) -> dict:
    """The summary of the whole log from its parts (:func:`summary_part`): their summaries added up, and the
    contributions of every trip id that counts in some part added to ``trips``."""
    doc = merge_summaries([part["summary"] for part in parts])
    counted = {trip_id for part in parts for trip_id in part["counted_trips"]}
    years: dict[str, Counter] = {year: Counter(figures) for year, figures in doc["trips"].items()}
    for part in parts:
        for trip_id, by_year in part["from_trips"].items():
            if trip_id in counted:
                for year, figures in by_year.items():
                    years.setdefault(year, Counter()).update(figures)
    doc["trips"] = {year: {f: years[year][f] for f in YEAR_FIGURES} for year in sorted(years)
                    if any(years[year].values())}
    return doc
