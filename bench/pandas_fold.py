"""A straightforward pandas version of settle + fold + summary.json, for comparison only.

Never used by the product: it is the reference `fold_vs_pandas_speedup` divides by. It reads the
same log frame (as pandas) and writes the same summary document as ``streams.core.summary`` (every
key: accounting, projects, pools, flows, supervision), which `funnel bench` checks whole.
:func:`pools_and_flows` is the narrower reference the figure was first measured against (pools and
yearly flows only), kept so the two can be read side by side.

Vectorised pandas throughout: one sort, group-bys, no Python loop over rows or projects.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pandas as pd

STAGES = ["planned", "negotiating", "signed", "started", "completed", "operating"]
MILESTONES = STAGES[1:]
POOLS = ["planning", "attraction", "signed", "landed", "dropped"]
POOL = {1: "planning", 2: "attraction", 3: "signed", 4: "landed", 5: "landed", 6: "landed"}
REASONS = ["malformed", "unsupported_version", "unknown_event_type", "schema", "future_occurred_at",
           "event_id_conflict"]
COLOURS = ["green", "blue", "yellow", "red"]
DWELL = [("green", 90), ("blue", 180), ("yellow", 365)]  # else red
CST = "Asia/Shanghai"


def settle(log: pd.DataFrame) -> pd.DataFrame:
    """Every record with its outcome: its rejection reason, accepted, duplicate or event_id_conflict."""
    log = log.sort_values("seq", kind="stable")
    passed = log["reason"].isna()
    checked = log[passed]
    group = checked.groupby(["project_id", "event_id"], sort=False)
    first = group["content"].transform("first")
    rank = group.cumcount()
    outcome = log["reason"].astype(object).copy()
    outcome[passed] = "event_id_conflict"
    outcome[passed & (log["content"] == first.reindex(log.index))] = "duplicate"
    outcome[passed & (rank.reindex(log.index) == 0)] = "accepted"
    return log.assign(outcome=outcome)


def _accounting(outcomes: pd.Series) -> dict:
    counts = outcomes.value_counts().to_dict()
    accepted, duplicates = counts.pop("accepted", 0), counts.pop("duplicate", 0)
    rejected = {r: int(counts[r]) for r in REASONS if r in counts}
    rejected |= {r: int(n) for r, n in sorted(counts.items()) if r not in rejected}
    return {"received": int(len(outcomes)), "accepted": int(accepted), "duplicates": int(duplicates),
            "rejected": rejected}


def _ordered(events: pd.DataFrame, cutoff: datetime) -> pd.DataFrame:
    return events[events["occurred_at"] < pd.Timestamp(cutoff)].sort_values(["project_id", "occurred_at", "seq"])


def _pools_state(ev: pd.DataFrame) -> pd.DataFrame:
    """One row per project of ordered events: reached_at per stage, stage, drop, investment and pool."""
    out = pd.DataFrame(index=ev["project_id"].unique())
    staged = ev[ev["stage"].notna()]
    for number, name in enumerate(STAGES, start=1):
        out[f"reached_{name}"] = staged[staged["stage"] >= number].groupby("project_id")["occurred_at"].min()
    out["stage"] = staged.groupby("project_id")["stage"].max()
    out["last_stage_at"] = staged.groupby("project_id")["occurred_at"].max()
    out["last_drop_at"] = ev[ev["event_type"] == "project_dropped"].groupby("project_id")["occurred_at"].max()
    planned = ev[ev["event_type"] == "project_planned"].groupby("project_id").size()
    out["has_planned"] = planned.reindex(out.index).notna()
    out["investment_yuan"] = ev[ev["amount"].notna()].groupby("project_id")["amount"].last()
    dropped = out["last_drop_at"].notna() & (out["last_stage_at"].isna() | (out["last_drop_at"] >= out["last_stage_at"]))
    in_pools = out["has_planned"] & out["reached_planned"].notna()
    out["pool"] = out["stage"].map(POOL)
    out.loc[dropped, "pool"] = "dropped"
    out.loc[~in_pools, "pool"] = None
    out["in_pools"], out["dropped"] = in_pools, dropped
    return out


def project_state(events: pd.DataFrame, cutoff: datetime) -> pd.DataFrame:
    """One row per project: reached_at per stage, stage, drop, investment, pool and colour."""
    ev = _ordered(events, cutoff)
    return _with_colour(_pools_state(ev), ev, cutoff)


def _with_colour(out: pd.DataFrame, ev: pd.DataFrame, cutoff: datetime) -> pd.DataFrame:
    """DOMAIN §4 and §6: by the earliest open milestone's due date, else by the days since the latest advance."""
    plans = ev[(ev["event_type"] == "milestone_planned") & ev["due"].notna()]
    due = plans.groupby(["project_id", "milestone"])["due"].last().unstack()  # the latest plan per milestone
    open_due = pd.DataFrame(index=out.index)
    for m in MILESTONES:
        if m in due.columns:
            open_due[m] = due[m].reindex(out.index).where(out[f"reached_{m}"].isna())
    next_due = pd.to_datetime(open_due.min(axis=1)) if len(open_due.columns) else pd.Series(pd.NaT, index=out.index)
    as_of = pd.Timestamp(_day_of(cutoff))
    late = (as_of - next_due).dt.days
    by_plan = pd.Series("green", index=out.index).mask(late >= -30, "blue").mask(late > 0, "yellow").mask(late > 90, "red")
    advance = pd.Series(pd.NaT, index=out.index, dtype=out["reached_planned"].dtype)
    for number, name in enumerate(STAGES, start=1):
        advance = advance.mask(out["stage"] == number, out[f"reached_{name}"])
    since = (pd.Timestamp(cutoff) - advance).dt.days
    by_dwell = pd.Series("red", index=out.index)
    for colour, days in reversed(DWELL):
        by_dwell = by_dwell.mask(since <= days, colour)
    colour = by_plan.where(next_due.notna(), by_dwell)
    supervised = out["in_pools"] & ~out["dropped"] & (out["stage"] < 6)
    out["colour"] = colour.where(supervised)
    return out


def _day_of(cutoff: datetime) -> date:
    return (pd.Timestamp(cutoff) - timedelta(microseconds=1)).tz_convert(CST).date()


def _flows(state: pd.DataFrame) -> dict:
    flows: dict[str, dict[str, int]] = {}
    for name in STAGES:
        years = state.loc[state["in_pools"], f"reached_{name}"].dropna().dt.tz_convert(CST).dt.year
        for year, n in years.value_counts().items():
            flows.setdefault(str(year), {s: 0 for s in STAGES})[name] = int(n)
    return dict(sorted(flows.items()))


def summary(log: pd.DataFrame, cutoff: datetime) -> dict:
    """The whole summary.json of the log as of ``cutoff`` (no known_at view)."""
    settled = settle(log)
    state = project_state(settled[settled["outcome"] == "accepted"], cutoff)
    pooled = state[state["pool"].notna()].groupby("pool").agg(count=("pool", "size"),
                                                             investment_yuan=("investment_yuan", "sum"))
    colours = state["colour"].value_counts()
    return {
        "as_of": _day_of(cutoff).isoformat(), "known_at": None,
        "accounting": _accounting(settled["outcome"]),
        "projects": {"total": int(state["in_pools"].sum()), "orphans": int((~state["has_planned"]).sum())},
        "pools": {p: {"count": int(pooled["count"].get(p, 0)), "investment_yuan": int(pooled["investment_yuan"].get(p, 0))}
                  for p in POOLS},
        "flows": _flows(state),
        "supervision": {c: int(colours.get(c, 0)) for c in COLOURS},
    }


def _accepted(log: pd.DataFrame) -> pd.DataFrame:
    """The accepted records alone, as the narrower reference has always settled them."""
    log = log.sort_values("seq")
    passed = log[log["reason"].isna()].copy()
    first = passed.groupby(["project_id", "event_id"], sort=False)["content"].transform("first")
    rank = passed.groupby(["project_id", "event_id"], sort=False).cumcount()
    passed["outcome"] = "event_id_conflict"
    passed.loc[passed["content"] == first, "outcome"] = "duplicate"
    passed.loc[rank == 0, "outcome"] = "accepted"
    return passed[passed["outcome"] == "accepted"]


def pools_and_flows(log: pd.DataFrame, cutoff: datetime) -> dict:
    """The narrower reference: the pools (those with projects) and the yearly flows only."""
    state = _pools_state(_ordered(_accepted(log), cutoff))
    pooled = state[state["pool"].notna()]
    pools = pooled.groupby("pool").agg(count=("pool", "size"), investment_yuan=("investment_yuan", "sum"))
    return {"pools": {p: {"count": int(r["count"]), "investment_yuan": int(r["investment_yuan"])}
                      for p, r in pools.iterrows()},
            "flows": _flows(state)}
