"""DOMAIN.md §8: promotion trips (外出招商) as of T, and the projects they found. Pure functions over Polars frames."""

from __future__ import annotations

from datetime import date, datetime

import polars as pl

from streams.contract.events import TRIP_KINDS
from streams.core.clock import CST, CST_ZONE, day_of

#: What the trip fold reads of a trip's events.
TRIP_COLUMNS = ("trip_id", "event_type", "occurred_at", "seq", "kind", "departed", "returned", "team", "leader",
                "department", "people", "region", "companies_visited", "leads", "valid_leads", "destinations",
                "drop_reason")
#: The fields a standing report describes the trip with (a field it lacks is absent, §8).
REPORTED = ("kind", "departed", "returned", "team", "leader", "department", "people", "region",
            "companies_visited", "leads", "valid_leads", "destinations")
#: The figures of one year of ``trips`` in the summary (§8), in order.
YEAR_FIGURES = (*TRIP_KINDS, "people_days", "companies_visited", "valid_leads", "projects_planned",
                "projects_signed", "signed_yuan")


def in_standing_order(events: pl.LazyFrame | pl.DataFrame, key: list[str], withdrawal: str, cutoff: datetime
                    ) -> pl.DataFrame:
    """Each key's events occurring before ``cutoff``, its standing one (the latest by occurred_at, a ``withdrawal``
    winning a tie, then arrival) last."""
    return (events.lazy().filter(pl.col("occurred_at") < cutoff)
            .with_columns(_wins_tie=pl.col("event_type") == withdrawal)
            .sort([*key, "occurred_at", "_wins_tie", "seq"]).collect())


def trip_state(events: pl.LazyFrame | pl.DataFrame, cutoff: datetime) -> pl.DataFrame:
    """One row per trip with a report or withdrawal occurring before ``cutoff`` (the exclusive end of T): its
    standing report's fields, whether it ``counts`` (that report is a ``trip_reported``), its days and
    people-days (people, 1 when absent, × days), sorted by ``trip_id``."""
    names = events.lazy().collect_schema().names()
    ev = in_standing_order(events.lazy().select(c for c in TRIP_COLUMNS if c in names), ["trip_id"], "trip_withdrawn",
                         cutoff)
    standing = ev.group_by("trip_id", maintain_order=True).last()
    counts = pl.col("event_type") == "trip_reported"
    days = (pl.col("returned") - pl.col("departed")).dt.total_days() + 1
    return standing.select(
        pl.col("trip_id").cast(pl.Utf8), counts.alias("counts"),
        *(pl.when(counts).then(pl.col(c)).alias(c) for c in REPORTED if c in standing.columns),
        reported_at=pl.col("occurred_at"),
        withdrawal_reason=pl.when(~counts).then(pl.col("drop_reason")).cast(pl.Utf8),
    ).with_columns(days=days, people_days=pl.col("people").fill_null(1) * days).with_columns(
        pl.when(pl.col("counts")).then(pl.col("people_days")).alias("people_days")
    ).sort("trip_id")


def project_trip_ids(events: pl.LazyFrame | pl.DataFrame, cutoff: datetime) -> pl.DataFrame:
    """Each project's ``trip_id`` at T: that of its latest ``project_planned`` (by occurred_at, then arrival)
    occurring before ``cutoff`` that carries one (§8)."""
    names = events.lazy().collect_schema().names()
    if "trip_id" not in names:
        return pl.DataFrame(schema={"project_id": pl.Utf8, "trip_id": pl.Utf8})
    planned = (events.lazy().filter((pl.col("event_type") == "project_planned") & pl.col("trip_id").is_not_null()
                                    & (pl.col("occurred_at") < cutoff))
               .select("project_id", "trip_id", "occurred_at", "seq").sort("project_id", "occurred_at", "seq"))
    return (planned.group_by("project_id", maintain_order=True).agg(pl.col("trip_id").last().cast(pl.Utf8))
            .collect())


def projects_from_trips(state: pl.DataFrame, trip_ids: pl.DataFrame, counted: pl.Series) -> pl.DataFrame:
    """The non-orphan projects (dropped ones included) from a trip at T: whose ``trip_id`` names a trip that
    ``counted`` holds, whatever its standing when the project was planned; with their reached_at and signed
    amount (§4)."""
    columns = ("project_id", "reached_at_planned", "reached_at_signed", "signed_yuan")
    if not state.height or not trip_ids.height or "in_pools" not in state.columns:
        return pl.DataFrame(schema={"project_id": pl.Utf8, "trip_id": pl.Utf8,
                                    **{c: state.schema.get(c, pl.Int64) for c in columns[1:]}})
    named = trip_ids.filter(pl.col("trip_id").is_in(counted.cast(pl.Utf8).implode()))
    return (state.lazy().filter(pl.col("in_pools")).select(columns)
            .join(named.lazy(), on="project_id", how="inner").collect())


def trip_references(trip_ids: pl.DataFrame, from_trips: pl.DataFrame) -> pl.DataFrame:
    """Each project naming a trip at T (:func:`project_trip_ids`), and whether that trip counts at T (the project
    is then from it, :func:`projects_from_trips`); one that does not is reported by the quality checks (§8)."""
    found = from_trips.select(pl.col("project_id").cast(pl.Utf8), counted=pl.lit(True))
    return (trip_ids.select(pl.col("project_id").cast(pl.Utf8), pl.col("trip_id").cast(pl.Utf8))
            .join(found, on="project_id", how="left")
            .with_columns(pl.col("counted").fill_null(False)).sort("project_id"))


def _year(at: pl.Expr) -> pl.Expr:
    return at.dt.convert_time_zone(CST_ZONE).dt.year().cast(pl.Utf8)


def trips_by_year(trips: pl.DataFrame | None, from_trips: pl.DataFrame | None) -> dict[str, dict[str, int]]:
    """The summary's ``trips`` (§8): per calendar year (CST), the counted trips by kind and their sums by
    ``departed``, and the projects from a trip by the year of their ``reached_at[planned]`` / ``[signed]``
    (the signed amount at T of those signed in the year). Only years with something to count."""
    years: dict[str, dict[str, int]] = {}

    def add(rows: pl.DataFrame) -> None:
        for row in rows.iter_rows(named=True):
            figures = years.setdefault(row.pop("year"), dict.fromkeys(YEAR_FIGURES, 0))
            for name, value in row.items():
                figures[name] += int(value or 0)

    if trips is not None and trips.height:
        counted = trips.filter(pl.col("counts"))
        add(counted.group_by(year=pl.col("departed").dt.year().cast(pl.Utf8)).agg(
            *((pl.col("kind") == k).sum().alias(k) for k in TRIP_KINDS),
            pl.col("people_days").sum(), pl.col("companies_visited").sum(), pl.col("valid_leads").sum()))
    if from_trips is not None and from_trips.height:
        add(from_trips.group_by(year=_year(pl.col("reached_at_planned"))).agg(projects_planned=pl.len()))
        signed = from_trips.filter(pl.col("reached_at_signed").is_not_null())
        add(signed.group_by(year=_year(pl.col("reached_at_signed"))).agg(
            projects_signed=pl.len(), signed_yuan=pl.col("signed_yuan").sum()))
    return {year: years[year] for year in sorted(years)}


def from_trip_references(state: pl.DataFrame, references: pl.DataFrame | None, trips: pl.DataFrame | None
                         ) -> pl.DataFrame:
    """:func:`projects_from_trips` from a replay's tables: the projects naming a trip (``trip_references``:
    project_id, trip_id) and the ``trips`` table (those that count)."""
    empty = pl.DataFrame(schema={"project_id": pl.Utf8, "trip_id": pl.Utf8})
    named = empty if references is None else references.select(pl.col("project_id").cast(pl.Utf8),
                                                                pl.col("trip_id").cast(pl.Utf8))
    counted = (pl.Series("trip_id", [], pl.Utf8) if trips is None or not trips.height
               else trips.filter(pl.col("counts"))["trip_id"].cast(pl.Utf8))
    return projects_from_trips(state, named, counted)


def _days_of(start: datetime, end: datetime) -> tuple[date, date]:
    """The CST days of [start, end): the first and the last."""
    return start.astimezone(CST).date(), day_of(end)


def departed_by(trips: pl.DataFrame | None, end: datetime) -> pl.DataFrame | None:
    """The trips that departed before ``end`` (an exclusive cut-off): what a period's end had seen set out."""
    if trips is None:
        return None
    return trips.filter(pl.col("departed").is_null() | (pl.col("departed") <= day_of(end)))


#: the columns of :func:`trips_by_team`, in order
TEAM_COLUMNS = ("team", "trips", "people", "days", "companies_visited", "valid_leads", "projects_planned",
                "projects_signed", "signed_yuan")


def trips_by_team(trips: pl.DataFrame | None, from_trips: pl.DataFrame | None, start: datetime, end: datetime
                  ) -> pl.DataFrame:
    """Per team (组别: the trip's ``team``, null for a trip without one), the counted trips departing in [start, end)
    (CST days): trips, people (1 when absent, as in people-days), days (returned − departed + 1) summed,
    companies visited and valid leads; and the projects from the team's trips (:func:`projects_from_trips`) reaching
    planned and signed in [start, end), with the signed amount at T of those signed. Most signed amount first."""
    first, last = _days_of(start, end)
    counted = (pl.DataFrame(schema={"trip_id": pl.Utf8, "team": pl.Utf8, "departed": pl.Date, "people": pl.Int64,
                                    "days": pl.Int64, "companies_visited": pl.Int64, "valid_leads": pl.Int64})
               if trips is None or not trips.height else
               trips.filter(pl.col("counts")).select(
                   pl.col("trip_id").cast(pl.Utf8), pl.col("team").cast(pl.Utf8), "departed", "people", "days",
                   "companies_visited", "valid_leads"))
    went = counted.filter(pl.col("departed").is_between(first, last)).group_by("team").agg(
        trips=pl.len(), people=pl.col("people").fill_null(1).sum(), days=pl.col("days").sum(),
        companies_visited=pl.col("companies_visited").sum(), valid_leads=pl.col("valid_leads").sum())
    projects = _projects_by_team(counted.select("trip_id", "team"), from_trips, start, end)
    joined = went.join(projects, on="team", how="full", coalesce=True, nulls_equal=True)
    return (joined.with_columns(pl.col(c).fill_null(0).cast(pl.Int64) for c in TEAM_COLUMNS[1:])
            .sort(["signed_yuan", "trips", "team"], descending=[True, True, False], nulls_last=True)
            .select(TEAM_COLUMNS))


def _projects_by_team(teams: pl.DataFrame, from_trips: pl.DataFrame | None, start: datetime, end: datetime
                      ) -> pl.DataFrame:
    """Per team, the projects from its trips reaching planned and signed in [start, end), and their signed amount."""
    schema = {"team": pl.Utf8, "projects_planned": pl.UInt32, "projects_signed": pl.UInt32, "signed_yuan": pl.Int64}
    if from_trips is None or not from_trips.height:
        return pl.DataFrame(schema=schema)
    within = (lambda c: pl.col(c).is_not_null() & (pl.col(c) >= start) & (pl.col(c) < end))
    rows = from_trips.with_columns(pl.col("trip_id").cast(pl.Utf8)).join(teams, on="trip_id", how="inner")
    signed = within("reached_at_signed")
    return rows.group_by("team").agg(
        projects_planned=within("reached_at_planned").sum(), projects_signed=signed.sum(),
        signed_yuan=pl.col("signed_yuan").filter(signed).sum())


def from_trips_reaching(from_trips: pl.DataFrame | None, trips: pl.DataFrame | None, kind: str | None, stage: str,
                        year: str) -> pl.Series:
    """The ids of the projects from a trip (:func:`projects_from_trips`) reaching ``stage`` (planned or signed) in
    the CST ``year``, as :func:`trips_by_year` counts them; ``kind`` keeps those from a counted trip of that kind."""
    if from_trips is None or not from_trips.height:
        return pl.Series("project_id", [], pl.Utf8)
    rows = from_trips.with_columns(pl.col("trip_id").cast(pl.Utf8))
    if kind:
        kinds = (pl.DataFrame(schema={"trip_id": pl.Utf8}) if trips is None or not trips.height else
                 trips.filter(pl.col("counts") & (pl.col("kind").cast(pl.Utf8) == kind))
                 .select(pl.col("trip_id").cast(pl.Utf8)))
        rows = rows.join(kinds, on="trip_id", how="semi")
    at = pl.col(f"reached_at_{stage}")
    return rows.filter(at.is_not_null() & (_year(at) == year))["project_id"].cast(pl.Utf8).unique().sort()
