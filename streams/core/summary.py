"""The machine-readable summary of DOMAIN.md §5, and the one call that computes it from a log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import polars as pl

from streams.core.aggregates import flows, flows_wide, pools_at
from streams.core.fold import project_state
from streams.core.log import accepted_events, accounting, day_end, settle
from streams.contract.events import STAGES


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
    state = result.state
    pools = {row["pool"]: {"count": row["count"], "investment_yuan": row["investment_yuan"]}
             for row in pools_at(state).iter_rows(named=True)}
    yearly = flows_wide(flows(state, "year")) if state.height else pl.DataFrame({"period": []})
    flow_doc = {row["period"]: {s: row[s] for s in STAGES} for row in yearly.iter_rows(named=True)}
    return {
        "as_of": result.view.as_of.isoformat(),
        "known_at": result.view.known_at and result.view.known_at.isoformat(),
        "accounting": accounting(result.settled),
        "projects": {"total": int(state["in_pools"].sum()) if state.height else 0,
                     "orphans": int(state["orphan"].sum()) if state.height else 0},
        "pools": pools,
        "flows": flow_doc,
    }
