"""Small-sample statistics for the notebooks (pure functions)."""

from __future__ import annotations

import math

import polars as pl


def wilson_interval(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval of a proportion: honest for small n and for 0 % or 100 %."""
    if n == 0:
        return (float("nan"), float("nan"))
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def with_wilson(frame: pl.DataFrame, successes: str, n: str) -> pl.DataFrame:
    bounds = [wilson_interval(s, t) for s, t in zip(frame[successes], frame[n])]
    return frame.with_columns(rate=pl.col(successes) / pl.col(n),
                              low=pl.Series([b[0] for b in bounds]), high=pl.Series([b[1] for b in bounds]))


def kaplan_meier(durations: list[float], observed: list[bool]) -> pl.DataFrame:
    """Survival curve S(t): share not yet landed after t days; unobserved (censored) leave the risk set."""
    rows = sorted(zip(durations, observed))
    at_risk, surv, out = len(rows), 1.0, [{"days": 0.0, "survival": 1.0, "at_risk": len(rows)}]
    i = 0
    while i < len(rows):
        t = rows[i][0]
        events = censored = 0
        while i < len(rows) and rows[i][0] == t:
            events += rows[i][1]
            censored += not rows[i][1]
            i += 1
        if events and at_risk:
            surv *= 1 - events / at_risk
            out.append({"days": t, "survival": surv, "at_risk": at_risk})
        at_risk -= events + censored
    return pl.DataFrame(out)
