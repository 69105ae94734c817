"""The filters behind the board's trip and bottleneck figures (``/projects?from_trip=&planned=&signed=&issues=
&cleared=``): which projects they select is the core's (streams/core/trips.py, bottlenecks.py); here only the
query is read and the replay's tables or the workers' ``/project-list`` are asked."""

from __future__ import annotations

import logging
import re
import urllib.parse
from dataclasses import dataclass
from datetime import date

import polars as pl

from streams.contract.events import TRIP_KINDS
from streams.core.bottlenecks import issue_projects
from streams.core.trips import from_trip_references, from_trips_reaching
from streams.serve.figures import PROJECT_COLUMNS, NotAvailable, ProjectFilter, ReplayFigures, rows, worst_first

log = logging.getLogger(__name__)

#: The query parameters of these filters, in order.
LINK_FILTERS = ("from_trip", "planned", "signed", "issues", "cleared")
TRIP_KINDS_ZH = {"leader_led": "党政主要领导带队", "team": "小分队", "other": "其他外出", "any": "外出招商"}
ISSUES_ZH = {"open": "有在办问题", "overdue": "有超期问题"}
_YEAR = re.compile(r"^\d{4}$")


class BadFilter(ValueError):
    """A query these filters do not understand."""


@dataclass(frozen=True)
class Linked:
    """Projects from a trip (of a kind, or ``any``) reaching planned / signed in a year, with an open / overdue
    issue, or cleared (an issue resolved) in a year; any left out matches all."""

    from_trip: str | None = None
    planned: str | None = None
    signed: str | None = None
    issues: str | None = None
    cleared: str | None = None

    @classmethod
    def of(cls, query) -> "Linked":
        """The filters of a query string (a mapping); :class:`BadFilter` when a value is not one they take."""
        found = cls(**{k: query.get(k) or None for k in LINK_FILTERS})
        if found.from_trip and found.from_trip not in (*TRIP_KINDS, "any"):
            raise BadFilter(f"from_trip={found.from_trip}")
        if found.from_trip and not (found.planned or found.signed):
            raise BadFilter("from_trip needs planned=YYYY or signed=YYYY")
        if found.planned and found.signed:
            raise BadFilter("planned and signed together")
        if found.issues and found.issues not in ISSUES_ZH:
            raise BadFilter(f"issues={found.issues}")
        for year in (found.planned, found.signed, found.cleared):
            if year and not _YEAR.match(year):
                raise BadFilter(f"year {year}")
        return found

    def __bool__(self) -> bool:
        return any(vars(self).values())

    def query(self) -> str:
        """The filters as a query string."""
        return urllib.parse.urlencode({k: v for k, v in vars(self).items() if v})

    def describe(self) -> list[str]:
        """The filters in words: 小分队引来 · 2024年入库."""
        trip = None
        if self.from_trip:
            stage = f"{self.planned}年入库" if self.planned else f"{self.signed}年签约"
            trip = f"{TRIP_KINDS_ZH[self.from_trip]}引来、{stage}"
        return [p for p in (trip, ISSUES_ZH.get(self.issues or ""),
                            f"{self.cleared}年解瓶颈清障碍" if self.cleared else None) if p]


def project_ids(figures: ReplayFigures, linked: Linked) -> pl.Series:
    """The ids of the projects of a replay that ``linked`` selects (each filter by the core)."""
    state = figures.table("project_state")
    chosen: list[pl.Series] = []
    if linked.from_trip:
        trips = figures.table("trips")
        from_trips = from_trip_references(state, figures.table("trip_references"), trips)
        kind = None if linked.from_trip == "any" else linked.from_trip
        stage, year = ("planned", linked.planned) if linked.planned else ("signed", linked.signed)
        chosen.append(from_trips_reaching(from_trips, trips, kind, stage, year))
    as_of = date.fromisoformat(figures.summary()["as_of"])
    for which in (linked.issues, linked.cleared):
        if which:
            chosen.append(issue_projects(figures.table("issues"), state, as_of, which))
    ids = chosen[0]
    for more in chosen[1:]:
        ids = ids.filter(ids.is_in(more.implode()))
    return ids


def _replay_projects(figures: ReplayFigures, which: ProjectFilter, linked: Linked, limit: int) -> tuple[list, int]:
    state = figures.table("project_state").filter(which.expr() & pl.col("project_id").cast(pl.Utf8).is_in(
        project_ids(figures, linked).implode()))
    shown = [c for c in PROJECT_COLUMNS if c in state.columns]
    ordered = state.select(shown).sort("days_late", "project_id", descending=[True, False], nulls_last=True)
    return rows(ordered.head(limit)), state.height


def linked_projects(figures, which: ProjectFilter, linked: Linked, limit: int) -> tuple[list[dict], int]:
    """The projects ``which`` and ``linked`` select, worst first, at most ``limit``, and how many in all: from a
    replay's tables, or from the workers' ``/project-list`` (which applies the same core rules)."""
    if isinstance(figures, ReplayFigures):
        return _replay_projects(figures, which, linked, limit)
    if not hasattr(figures, "_get"):
        raise NotAvailable("the projects behind the trips and bottlenecks")
    issues = Linked(issues=linked.issues, cleared=linked.cleared)
    query = "&".join(q for q in (which.query(), issues.query(), "names_trip=1" if linked.from_trip else "") if q)
    found = figures._get(f"/project-list?{query}")
    if linked.from_trip:
        ids = set(_from_trips_live(found, figures.trips(), linked).to_list())
        found = [p for p in found if p["project_id"] in ids]
    return sorted(found, key=worst_first)[:limit], len(found)


def _from_trips_live(named: list[dict], trips: list[dict], linked: Linked) -> pl.Series:
    """The ids ``linked.from_trip`` selects among the workers' projects naming a trip (``/project-list?names_trip=1``)
    and every worker's trips (``/trips``), by the same core functions as from a replay."""
    at = ("reached_at_planned", "reached_at_signed")
    state = pl.DataFrame(named, schema={"project_id": pl.Utf8, "trip_id": pl.Utf8, "signed_yuan": pl.Int64,
                                        **dict.fromkeys(at, pl.Utf8)}, strict=False).with_columns(
        *(pl.col(c).str.to_datetime(time_zone="UTC") for c in at), in_pools=pl.lit(True))
    table = pl.DataFrame(trips, schema={"trip_id": pl.Utf8, "counts": pl.Boolean, "kind": pl.Utf8}, strict=False)
    from_trips = from_trip_references(state, state.select("project_id", "trip_id"), table)
    kind = None if linked.from_trip == "any" else linked.from_trip
    stage, year = ("planned", linked.planned) if linked.planned else ("signed", linked.signed)
    return from_trips_reaching(from_trips, table, kind, stage, year)
