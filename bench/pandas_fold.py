"""A straightforward pandas version of the settle + fold + pools + yearly flows, for comparison only.

Never used by the product: it is the reference `fold_vs_pandas_speedup` divides by.
It reads the same log frame (as pandas) and must give the same pools and flows.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd

STAGES = ["planned", "negotiating", "signed", "started", "completed", "operating"]
POOL = {1: "planning", 2: "attraction", 3: "signed", 4: "landed", 5: "landed", 6: "landed"}


def settle(log: pd.DataFrame) -> pd.DataFrame:
    log = log.sort_values("seq")
    passed = log[log["reason"].isna()].copy()
    first = passed.groupby(["project_id", "event_id"], sort=False)["content"].transform("first")
    rank = passed.groupby(["project_id", "event_id"], sort=False).cumcount()
    passed["outcome"] = "event_id_conflict"
    passed.loc[passed["content"] == first, "outcome"] = "duplicate"
    passed.loc[rank == 0, "outcome"] = "accepted"
    return passed[passed["outcome"] == "accepted"]


def project_pools(events: pd.DataFrame, cutoff: datetime) -> pd.DataFrame:
    ev = events[events["occurred_at"] < pd.Timestamp(cutoff)].sort_values(["project_id", "occurred_at", "seq"])
    g = ev.groupby("project_id", sort=False)
    out = pd.DataFrame(index=g.size().index)
    staged = ev[ev["stage"].notna()]
    for number, name in enumerate(STAGES, start=1):
        out[f"reached_{name}"] = staged[staged["stage"] >= number].groupby("project_id")["occurred_at"].min()
    out["stage"] = staged.groupby("project_id")["stage"].max()
    out["last_stage_at"] = staged.groupby("project_id")["occurred_at"].max()
    out["last_drop_at"] = ev[ev["event_type"] == "project_dropped"].groupby("project_id")["occurred_at"].max()
    out["has_planned"] = ev[ev["event_type"] == "project_planned"].groupby("project_id").size() > 0
    out["has_planned"] = out["has_planned"].fillna(False).astype(bool)
    out["investment_yuan"] = ev[ev["amount"].notna()].groupby("project_id")["amount"].last()
    dropped = out["last_drop_at"].notna() & (out["last_stage_at"].isna() | (out["last_drop_at"] >= out["last_stage_at"]))
    in_pools = out["has_planned"] & out["reached_planned"].notna()
    out["pool"] = out["stage"].map(POOL)
    out.loc[dropped, "pool"] = "dropped"
    out.loc[~in_pools, "pool"] = None
    out["in_pools"] = in_pools
    return out


def summary(log: pd.DataFrame, cutoff: datetime) -> dict:
    state = project_pools(settle(log), cutoff)
    pooled = state[state["pool"].notna()]
    pools = pooled.groupby("pool").agg(count=("pool", "size"), investment_yuan=("investment_yuan", "sum"))
    flows: dict[str, dict[str, int]] = {}
    for name in STAGES:
        years = state.loc[state["in_pools"], f"reached_{name}"].dropna().dt.tz_convert("Asia/Shanghai").dt.year
        for year, n in years.value_counts().items():
            flows.setdefault(str(year), {s: 0 for s in STAGES})[name] = int(n)
    return {"pools": {p: {"count": int(r["count"]), "investment_yuan": int(r["investment_yuan"])}
                      for p, r in pools.iterrows()},
            "flows": dict(sorted(flows.items()))}
