"""Target attainment against annual targets, with a run-rate projection to the end of the year."""

from __future__ import annotations

from datetime import datetime

import polars as pl

from streams.contract.events import STAGES, YUAN_PER_YI
from streams.core.aggregates import TZ
from streams.core.fold import reached

#: metric -> what it measures
METRICS = {
    **{s: f"projects reaching '{s}' in the year" for s in STAGES},
    "signed_yuan": "signed amount of projects signed in the year",
    "signed_lead_yuan": "signed amount of lead-industry projects signed in the year",
    "signed_projects_50yi": "projects signed in the year with a signed amount ≥ 50 亿",
    "started_yuan": "investment of projects starting construction in the year",
}


def _in_year(stage: str, year: int) -> pl.Expr:
    return pl.col(reached(stage)).dt.convert_time_zone(TZ).dt.year() == year


def year_metrics(state: pl.DataFrame, year: int) -> dict[str, float]:
    """Every metric of :data:`METRICS` for one calendar year (CST), from project state."""
    s = state.filter(pl.col("in_pools"))
    signed = s.filter(_in_year("signed", year))
    out: dict[str, float] = {st: s.filter(_in_year(st, year)).height for st in STAGES}
    out["signed_yuan"] = int(signed["signed_yuan"].sum() or 0)
    out["signed_lead_yuan"] = int(signed.filter(pl.col("lead_industry").fill_null(False))["signed_yuan"].sum() or 0)
    out["signed_projects_50yi"] = signed.filter(pl.col("signed_yuan") >= 50 * YUAN_PER_YI).height
    out["started_yuan"] = int(s.filter(_in_year("started", year))["started_yuan"].sum() or 0)
    return out


def _elapsed_share(year: int, cutoff: datetime) -> float:
    start = datetime(year, 1, 1, tzinfo=cutoff.tzinfo)
    end = datetime(year + 1, 1, 1, tzinfo=cutoff.tzinfo)
    return min(max((cutoff - start) / (end - start), 0.0), 1.0)


def target_attainment(state: pl.DataFrame, targets: dict[str, dict[str, float]], cutoff: datetime) -> pl.DataFrame:
    """Per (year, metric): target, actual, attainment, and the run-rate projection to year end."""
    rows = []
    for year_text, goals in sorted(targets.items()):
        year = int(year_text)
        actual = year_metrics(state, year)
        share = _elapsed_share(year, cutoff)
        for metric, target in goals.items():
            value = actual[metric]
            projected = value / share if share > 0 else None
            rows.append({"year": year, "metric": metric, "target": float(target), "actual": float(value),
                         "attainment": value / target if target else None, "elapsed_share": share,
                         "projected": projected, "on_track": None if projected is None else projected >= target})
    return pl.DataFrame(rows, schema={"year": pl.Int32, "metric": pl.Utf8, "target": pl.Float64, "actual": pl.Float64,
                                      "attainment": pl.Float64, "elapsed_share": pl.Float64,
                                      "projected": pl.Float64, "on_track": pl.Boolean})
