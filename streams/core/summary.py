"""The machine-readable summary of DOMAIN.md §5, and the one call that computes it from a log."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import polars as pl

from streams.core.aggregates import flows, flows_wide, pools_at, supervision
from streams.core.bottlenecks import bottlenecks_of, issue_state
from streams.core.fold import project_state
from streams.core.clock import day_end
from streams.core.log import accepted_events, accounting_of, outcome_counts, settle, trip_events
from streams.core.trips import YEAR_FIGURES, project_trip_ids, projects_from_trips, trip_state, trips_by_year
from streams.contract.events import STAGES, SUPERVISION_COLOURS


@dataclass(frozen=True)
class View:
    """Which slice of time a result describes: business time T and, optionally, knowledge time K."""

    as_of: date
    known_at: date | None = None

    @property
    def cutoff(self) -> datetime:
        return day_end(self.as_of)

    @property
    def known_cutoff(self) -> datetime | None:
        # recorded_at ≤ K means before the next day's midnight CST: the last microsecond of day K
        return None if self.known_at is None else day_end(self.known_at) - _MICROSECOND


_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True)
class Result:
    """A settled log and the project state it folds into, for one view; its trips (§8), the non-orphan projects
    from a counted trip, and the projects' issues (§9) (None: none folded)."""

    view: View
    settled: pl.DataFrame
    state: pl.DataFrame
    trips: pl.DataFrame | None = None
    from_trips: pl.DataFrame | None = None
    issues: pl.DataFrame | None = None


def fold_log(log: pl.DataFrame, view: View) -> Result:
    """The whole pipeline: settle the received log for the view, fold accepted events into state."""
    settled = settle(log, view.known_cutoff)
    return with_trips_and_issues(settled, project_state(accepted_events(settled), view.cutoff), view)


def with_trips_and_issues(settled: pl.DataFrame, state: pl.DataFrame, view: View,
                          counted_trips: pl.Series | None = None) -> Result:
    """The :class:`Result` of a settled log and its project state, with its trips and issues folded as of T.

    ``counted_trips``: the trip ids that count at T over the whole log, when ``settled`` is a part of it that
    may not hold the trips its projects name (a bucket); by default, those of ``settled`` itself.
    """
    events = accepted_events(settled)
    trips = trip_state(trip_events(settled), view.cutoff)
    counted = trips.filter(pl.col("counts"))["trip_id"] if counted_trips is None else counted_trips
    from_trips = projects_from_trips(state, project_trip_ids(events, view.cutoff), counted)
    return Result(view, settled, state, trips, from_trips, issue_state(events, view.cutoff))


def summary(result: Result) -> dict:
    """The summary.json document."""
    return summary_of(result.view, outcome_counts(result.settled), result.state, trips=result.trips,
                      from_trips=result.from_trips, issues=result.issues)


def summary_of(view: View, outcomes: dict[str, int], state: pl.DataFrame, *, trips: pl.DataFrame | None = None,
               from_trips: pl.DataFrame | None = None, issues: pl.DataFrame | None = None) -> dict:
    """The summary.json document of a view, from the outcome counts of its records and its project state (and
    its trips, projects from trips and issues: without them, ``trips`` and ``bottlenecks`` count nothing)."""
    pools = {row["pool"]: {"count": row["count"], "investment_yuan": row["investment_yuan"]}
             for row in pools_at(state).iter_rows(named=True)}
    in_pools = state.filter(pl.col("in_pools"))
    yearly = flows_wide(flows(in_pools, "year")) if in_pools.height else pl.DataFrame({"period": []})
    flow_doc = {row["period"]: {s: row[s] for s in STAGES} for row in yearly.iter_rows(named=True)}
    return {
        "as_of": view.as_of.isoformat(),
        "known_at": view.known_at and view.known_at.isoformat(),
        "accounting": accounting_of(outcomes),
        "projects": {"total": int(state["in_pools"].sum()) if state.height else 0,
                     "orphans": int(state["orphan"].sum()) if state.height else 0},
        "pools": pools,
        "flows": flow_doc,
        "supervision": dict(supervision(state).iter_rows()) if state.height else dict.fromkeys(SUPERVISION_COLOURS, 0),
        "trips": trips_by_year(trips, from_trips),
        "bottlenecks": bottlenecks_of(issues, state, view.as_of),
    }


def merge_summaries(parts: list[dict]) -> dict:
    """The summary of a log split into parts that share no project (e.g. partitions): every figure adds up."""
    views = {(p["as_of"], p["known_at"]) for p in parts}
    if len(views) != 1:
        raise ValueError(f"summaries of different views cannot be merged: {sorted(views, key=str)}")
    outcomes: Counter[str] = Counter()
    pools: dict[str, Counter[str]] = {}
    flow_doc: dict[str, Counter[str]] = {}
    projects: Counter[str] = Counter()
    colours: Counter[str] = Counter()
    trips: dict[str, Counter[str]] = {}
    issues: dict[str, Counter[str]] = {k: Counter() for k in _BY_KEY}
    open_: Counter[str] = Counter()
    for part in parts:
        for year, figures in part["trips"].items():
            trips.setdefault(year, Counter()).update(figures)
        b = part["bottlenecks"]
        open_.update({"open": b["open"], "overdue": b["overdue"]})
        for key in _BY_KEY:
            issues[key].update(b[key])
        a = part["accounting"]
        outcomes.update({"accepted": a["accepted"], "duplicate": a["duplicates"], **a["rejected"]})
        projects.update(part["projects"])
        colours.update(part["supervision"])
        for pool, figures in part["pools"].items():
            pools.setdefault(pool, Counter()).update(figures)
        for year, by_stage in part["flows"].items():
            flow_doc.setdefault(year, Counter()).update(by_stage)
    return {
        "as_of": parts[0]["as_of"], "known_at": parts[0]["known_at"],
        "accounting": accounting_of(dict(outcomes)),
        "projects": {"total": projects["total"], "orphans": projects["orphans"]},
        "pools": {pool: {"count": f["count"], "investment_yuan": f["investment_yuan"]} for pool, f in pools.items()},
        # A year stays while anything flowed in it (a year can empty only when a part is taken away).
        "flows": {year: {s: by_stage[s] for s in STAGES} for year, by_stage in sorted(flow_doc.items())
                  if any(by_stage[s] for s in STAGES)},
        "supervision": {c: colours[c] for c in SUPERVISION_COLOURS},
        # a year or a category stays while it counts anything (it can empty only when a part is taken away)
        "trips": {year: {f: figures[f] for f in YEAR_FIGURES} for year, figures in sorted(trips.items())
                  if any(figures.values())},
        "bottlenecks": {"open": open_["open"], "overdue": open_["overdue"],
                        **{key: {k: n for k, n in sorted(issues[key].items()) if n} for key in _BY_KEY}},
    }


#: The maps of ``bottlenecks`` (§9) that add up key by key.
_BY_KEY = ("open_by_category", "raised", "resolved", "projects_cleared")


def outcomes_of(doc: dict) -> dict[str, int]:
    """The outcome counts a summary's accounting was made from."""
    a = doc["accounting"]
    return {"accepted": a["accepted"], "duplicate": a["duplicates"], **a["rejected"]}


def negated(doc: dict) -> dict:
    """A summary with every figure negated: merged with a whole, it takes that part away."""
    flip = {k: -v for k, v in outcomes_of(doc).items()}
    return {
        **doc,
        "accounting": {"received": -doc["accounting"]["received"], "accepted": flip["accepted"],
                       "duplicates": flip["duplicate"],
                       "rejected": {r: n for r, n in flip.items() if r not in ("accepted", "duplicate")}},
        "projects": {k: -v for k, v in doc["projects"].items()},
        "pools": {p: {k: -v for k, v in f.items()} for p, f in doc["pools"].items()},
        "flows": {y: {s: -n for s, n in f.items()} for y, f in doc["flows"].items()},
        "supervision": {c: -n for c, n in doc["supervision"].items()},
        "trips": {y: {f: -n for f, n in figures.items()} for y, figures in doc["trips"].items()},
        "bottlenecks": {k: ({c: -n for c, n in v.items()} if isinstance(v, dict) else -v)
                        for k, v in doc["bottlenecks"].items()},
    }


def with_outcomes(doc: dict, outcomes: dict[str, int]) -> dict:
    """A summary with more records counted in its accounting (e.g. rejections kept apart)."""
    counts = Counter(outcomes_of(doc))
    counts.update(outcomes)
    return {**doc, "accounting": accounting_of(dict(counts))}
