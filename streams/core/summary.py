"""The machine-readable summary of DOMAIN.md §5, and the one call that computes it from a log."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import polars as pl

from streams.core.aggregates import flows, flows_wide, pools_at, supervision
from streams.core.fold import project_state
from streams.core.clock import day_end
from streams.core.log import accepted_events, accounting_of, outcome_counts, settle
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
    """A settled log and the project state it folds into, for one view."""

    view: View
    settled: pl.DataFrame
    state: pl.DataFrame


def fold_log(log: pl.DataFrame, view: View) -> Result:
    """The whole pipeline: settle the received log for the view, fold accepted events into state."""
    settled = settle(log, view.known_cutoff)
    return Result(view, settled, project_state(accepted_events(settled), view.cutoff))


def summary(result: Result) -> dict:
    """The summary.json document."""
    return summary_of(result.view, outcome_counts(result.settled), result.state)


def summary_of(view: View, outcomes: dict[str, int], state: pl.DataFrame) -> dict:
    """The summary.json document of a view, from the outcome counts of its records and its project state."""
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
    for part in parts:
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
    }


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
    }


def with_outcomes(doc: dict, outcomes: dict[str, int]) -> dict:
    """A summary with more records counted in its accounting (e.g. rejections kept apart)."""
    counts = Counter(outcomes_of(doc))
    counts.update(outcomes)
    return {**doc, "accounting": accounting_of(dict(counts))}
