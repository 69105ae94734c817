"""Statistics for the notebooks, from maintained libraries (statsmodels, SciPy): pure functions of frames.

- Proportions: Wilson score intervals (``statsmodels.stats.proportion.proportion_confint``),
  honest for small n and for 0 % or 100 %.
- Time to land: the cumulative incidence of landing with dropping as a **competing risk**
  (Aalen–Johansen, ``statsmodels.duration.survfunc.CumIncidenceRight``). Treating drops as
  censored (one minus Kaplan–Meier) assumes a dropped project could still land, and overstates
  the chance of landing; :func:`km_drops_censored` gives that curve only to show the difference.
  Ties between landing and dropping on the same day are handled by the estimator itself (every
  event at time t uses the survival just before t), with no random jitter, so the result is
  deterministic. (lifelines' ``AalenJohansenFitter`` jitters tied times at random, and
  lifelines 0.30.3 requires pandas < 3, which conflicts with the pinned pandas 3.1.1.)
- Pointwise 95 % confidence intervals of a cumulative incidence F with standard error s use the
  log(−log) transform (Pintilie, *Competing Risks: A Practical Perspective*, 2006), which keeps
  them inside [0, 1]: F^exp(±z·s / (F·log F)). They hold at each day separately; they are not a
  simultaneous band for the whole curve.
- Quantiles of days between stages: distribution-free (order-statistic) confidence intervals
  (``scipy.stats.quantile_test``). Two periods: flows compared by the exact conditional test of
  two Poisson rates with the periods' lengths as exposure
  (``statsmodels.stats.rates.test_poisson_2indep``), quantiles of days by Mood's test (Fisher's
  exact test on the counts above and below the pooled quantile).

The frames they take come from :mod:`streams.core.analysis`.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl
from scipy import stats as sps
from statsmodels.duration.survfunc import CumIncidenceRight, SurvfuncRight
from statsmodels.stats.proportion import proportion_confint
from statsmodels.stats.rates import test_poisson_2indep

from streams.core import analysis
from streams.core.analysis import DROPPED, REACHED, period_days, step_time_quantiles

CAUSES = {REACHED: "reached", DROPPED: "dropped"}


def wilson_interval(successes: int, n: int, alpha: float = 0.05) -> tuple[float, float]:
    """Wilson score interval of a proportion (NaN, NaN when n is 0)."""
    if n == 0:
        return (float("nan"), float("nan"))
    low, high = proportion_confint(successes, n, alpha=alpha, method="wilson")
    return (float(low), float(high))


def with_wilson(frame: pl.DataFrame, successes: str, n: str, alpha: float = 0.05) -> pl.DataFrame:
    """``rate`` = successes / n with its Wilson interval ``low`` … ``high``."""
    bounds = [wilson_interval(s, t, alpha) for s, t in zip(frame[successes], frame[n])]
    return frame.with_columns(rate=pl.when(pl.col(n) > 0).then(pl.col(successes) / pl.col(n)),
                              low=pl.Series([b[0] for b in bounds], dtype=pl.Float64),
                              high=pl.Series([b[1] for b in bounds], dtype=pl.Float64))


def _loglog_interval(f: np.ndarray, se: np.ndarray, z: float) -> tuple[np.ndarray, np.ndarray]:
    """Pointwise interval on the log(−log) scale; NaN where the standard error is undefined
    (statsmodels' variance breaks down when every project at risk has the event)."""
    low, high = f.copy(), f.copy()
    inside = (f > 0) & (f < 1)
    known = inside & np.isfinite(se)
    low[inside & ~known] = high[inside & ~known] = np.nan
    fi = f[known]
    c = z * se[known] / (fi * np.log(fi))  # negative
    low[known], high[known] = fi ** np.exp(-c), fi ** np.exp(c)
    return low, high


def cumulative_incidence(events: pl.DataFrame, alpha: float = 0.05) -> pl.DataFrame:
    """Aalen–Johansen cumulative incidence of every cause of a :func:`streams.core.analysis.time_to_event`
    frame (``days``, ``status``): one row per cause and day with an event, from day 0 to the end of
    follow-up (the longest time any project was watched, where the curve stops).

    Columns: ``cause`` (reached, dropped), ``days``, ``incidence``, ``low``, ``high`` (pointwise
    confidence interval at level 1 − alpha), ``at_risk`` (projects still waiting just before that day).
    """
    schema = {"cause": pl.Utf8, "days": pl.Float64, "incidence": pl.Float64, "low": pl.Float64,
              "high": pl.Float64, "at_risk": pl.Int64}
    if events.is_empty():
        return pl.DataFrame(schema=schema)
    days = events["days"].to_numpy().astype(float)
    status = events["status"].to_numpy().astype(int)
    ordered = np.sort(days)

    def waiting(t: np.ndarray) -> np.ndarray:
        return len(days) - np.searchsorted(ordered, t, side="left")

    z = sps.norm.ppf(1 - alpha / 2)
    present = set(status[status > 0].tolist())
    with np.errstate(divide="ignore", invalid="ignore"):
        fit = CumIncidenceRight(days, status) if present else None
    end = float(days.max())
    parts = []
    for code, cause in CAUSES.items():
        t, f, se = np.zeros(1), np.zeros(1), np.zeros(1)
        if fit is not None and code in present:
            # statsmodels numbers the causes 1..max(status) and reports them at every event time
            t = np.concatenate(([0.0], np.asarray(fit.times, dtype=float)))
            f = np.concatenate(([0.0], np.asarray(fit.cinc[code - 1], dtype=float)))
            se = np.concatenate(([0.0], np.asarray(fit.cinc_se[code - 1], dtype=float)))
        if t[-1] < end:  # the estimate holds until the end of follow-up
            t, f, se = np.append(t, end), np.append(f, f[-1]), np.append(se, se[-1])
        low, high = _loglog_interval(f, se, z)
        parts.append(pl.DataFrame({"cause": cause, "days": t, "incidence": f, "low": low, "high": high,
                                   "at_risk": waiting(t)}, schema=schema))
    return pl.concat(parts)


def cumulative_incidence_by(events: pl.DataFrame, by: str, alpha: float = 0.05) -> pl.DataFrame:
    """:func:`cumulative_incidence` of each group of ``by`` (e.g. the ``cohort`` year), with a ``by`` column."""
    parts = [cumulative_incidence(part, alpha).select(pl.lit(key).alias(by), pl.all())
             for (key,), part in events.sort(by).partition_by(by, as_dict=True).items()]
    return pl.concat(parts) if parts else pl.DataFrame(schema={by: pl.Utf8})


def while_at_risk(curves: pl.DataFrame, min_at_risk: int = 10) -> pl.DataFrame:
    """Curves cut where fewer than ``min_at_risk`` projects (or issues) are still waiting: beyond, an estimate rests
    on a handful of them and its interval says little."""
    return curves.filter(pl.col("at_risk") >= min_at_risk)


def km_drops_censored(events: pl.DataFrame) -> pl.DataFrame:
    """One minus Kaplan–Meier with drops treated as censored: the biased curve, kept only for comparison.
    Columns ``days``, ``incidence``, ``at_risk``."""
    schema = {"days": pl.Float64, "incidence": pl.Float64, "at_risk": pl.Int64}
    if events.is_empty():
        return pl.DataFrame(schema=schema)
    days = events["days"].to_numpy().astype(float)
    landed = (events["status"].to_numpy() == REACHED).astype(float)
    if not landed.any():
        return pl.DataFrame({"days": [0.0], "incidence": [0.0], "at_risk": [len(days)]}, schema=schema)
    fit = SurvfuncRight(days, landed)
    return pl.DataFrame({"days": np.concatenate(([0.0], fit.surv_times)),
                         "incidence": np.concatenate(([0.0], 1 - fit.surv_prob)),
                         "at_risk": np.concatenate(([len(days)], fit.n_risk)).astype(np.int64)}, schema=schema)


def incidence_at(curves: pl.DataFrame, days: list[int], by: tuple[str, ...] = ()) -> pl.DataFrame:
    """Curves of :func:`cumulative_incidence` read at given days: the last estimate at or before each day,
    null after the end of a curve's follow-up (unknown, not zero)."""
    keys = ["cause", *by]
    ends = curves.group_by(keys).agg(end=pl.col("days").max())
    grid = ends.join(pl.DataFrame({"days": [float(d) for d in days]}), how="cross").sort(keys + ["days"])
    read = grid.join_asof(curves.sort(keys + ["days"]), on="days", by=keys, strategy="backward",
                          check_sortedness=False)
    known = pl.col("days") <= pl.col("end")
    return (read.select(*keys, pl.col("days").cast(pl.Int64),
                        *[pl.when(known).then(pl.col(c)).alias(c) for c in ("incidence", "low", "high", "at_risk")])
            .sort([*keys, "days"]))


def quantile_interval(values: np.ndarray, q: float, alpha: float = 0.05) -> tuple[float, float]:
    """Distribution-free confidence interval of the q-quantile from order statistics (NaN when undefined)."""
    if len(values) == 0:
        return (float("nan"), float("nan"))
    ci = sps.quantile_test(values, q=float(np.median(values)), p=q).confidence_interval(1 - alpha)
    low, high = float(ci.low), float(ci.high)
    return (low if math.isfinite(low) else float("nan"), high if math.isfinite(high) else float("nan"))


def step_times(durations: pl.DataFrame, alpha: float = 0.05) -> pl.DataFrame:
    """Median and 90th-percentile days of every step (:func:`streams.core.analysis.step_time_quantiles`)
    with distribution-free confidence intervals (NaN where too few projects completed the step)."""
    table = step_time_quantiles(durations)
    bounds = {}
    for (step,), part in durations.partition_by("step", as_dict=True).items():
        values = part["days"].to_numpy()
        bounds[step] = [*quantile_interval(values, 0.5, alpha), *quantile_interval(values, 0.9, alpha)]
    names = ["median_low", "median_high", "p90_low", "p90_high"]
    return table.with_columns(**{n: pl.col("step").replace_strict({s: b[i] for s, b in bounds.items()},
                                                                  return_dtype=pl.Float64)
                                 for i, n in enumerate(names)}).select(
        "step", "projects", "median_days", "median_low", "median_high", "p90_days", "p90_low", "p90_high")


def quantile_test_2(x: np.ndarray, y: np.ndarray, q: float) -> float | None:
    """p-value of "the q-quantile is the same in both samples": Mood's test, Fisher's exact test on how many
    of each sample lie above the pooled q-quantile (q = 0.5 is Mood's median test). None if a sample is empty."""
    if len(x) == 0 or len(y) == 0:
        return None
    cut = np.quantile(np.concatenate((x, y)), q)
    table = [[int((x > cut).sum()), int((x <= cut).sum())], [int((y > cut).sum()), int((y <= cut).sum())]]
    return float(sps.fisher_exact(table).pvalue)


def period_comparison(state: pl.DataFrame, cutoff, granularity: str = "year") -> pl.DataFrame:
    """:func:`streams.core.analysis.period_comparison` (periods: :func:`streams.core.analysis.compared_periods`)
    with a p-value where a test applies: flows and drops (two Poisson rates, exposure the periods'
    days) and the median and 90th-percentile days between stages (Mood's quantile test,
    :func:`quantile_test_2`). Conversions, ratios of flows of different projects, get none."""
    table = analysis.period_comparison(state, cutoff, granularity)
    previous, current = table["previous_period"][0], table["current_period"][0]
    exposure = (period_days(previous), period_days(current))
    durations = analysis.step_durations(state)
    before, after = analysis.completed_in(durations, previous), analysis.completed_in(durations, current)
    p_values = []
    for row in table.iter_rows(named=True):
        p = None
        if row["measure"] in ("flow", "dropped") and (row["previous"] or row["current"]):
            with np.errstate(divide="ignore", invalid="ignore"):
                p = float(test_poisson_2indep(int(row["current"]), exposure[1], int(row["previous"]), exposure[0],
                                              method="exact-cond").pvalue)
        elif row["measure"] in ("median_days", "p90_days"):
            x = after.filter(pl.col("step") == row["what"])["days"].to_numpy()
            y = before.filter(pl.col("step") == row["what"])["days"].to_numpy()
            p = quantile_test_2(x, y, 0.5 if row["measure"] == "median_days" else 0.9)
        p_values.append(p)
    return table.with_columns(p_value=pl.Series(p_values, dtype=pl.Float64)).drop("previous_period",
                                                                                 "current_period")



# --- time to resolution of issues (§9): Kaplan–Meier with open issues censored ---------------------------

KM_SCHEMA = {"days": pl.Float64, "survival": pl.Float64, "low": pl.Float64, "high": pl.Float64,
             "at_risk": pl.Int64, "events": pl.Int64}


def kaplan_meier(events: pl.DataFrame, alpha: float = 0.05) -> pl.DataFrame:
    """Kaplan–Meier estimate of the share of issues still unresolved after t days, from a
    :func:`streams.core.analysis.issue_durations` frame (``days``, ``status``: 1 resolved, 0 open = censored, so an
    open issue counts as at risk until it was last seen open, and is never left out).

    One row per day with a resolution, from day 0 (survival 1) to the end of follow-up (the longest time any
    issue was watched, where the curve stops): ``survival``, its pointwise confidence interval ``low`` …
    ``high`` at level 1 − alpha (Greenwood's variance on the log(−log) scale, inside [0, 1]), ``at_risk`` (issues
    still open just before that day) and ``events`` (resolved that day). Ties: a censoring at the same time as a
    resolution is at risk at that resolution (statsmodels' ``SurvfuncRight``)."""
    if events.is_empty():
        return pl.DataFrame(schema=KM_SCHEMA)
    days = events["days"].to_numpy().astype(float)
    resolved = (events["status"].to_numpy() == analysis.RESOLVED).astype(float)
    ordered = np.sort(days)
    t, s, se, events_at = np.zeros(1), np.ones(1), np.zeros(1), np.zeros(1)
    if resolved.any():
        fit = SurvfuncRight(days, resolved)
        t = np.concatenate((t, fit.surv_times))
        s = np.concatenate((s, fit.surv_prob))
        se = np.concatenate((se, fit.surv_prob_se))
        events_at = np.concatenate((events_at, fit.n_events))
    end = float(days.max())
    if t[-1] < end:  # the estimate holds until the end of follow-up
        t, s, se, events_at = np.append(t, end), np.append(s, s[-1]), np.append(se, se[-1]), np.append(events_at, 0)
    z = sps.norm.ppf(1 - alpha / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        low, high = _loglog_interval(s, se, z)
    at_risk = len(days) - np.searchsorted(ordered, t, side="left")
    return pl.DataFrame({"days": t, "survival": s, "low": low, "high": high, "at_risk": at_risk,
                         "events": events_at}, schema=KM_SCHEMA)


def kaplan_meier_by(events: pl.DataFrame, by: str, alpha: float = 0.05, min_at_risk: int = 0
                    ) -> list[tuple[str, pl.DataFrame]]:
    """:func:`kaplan_meier` of each group of ``by`` (e.g. ``category``), most issues first: (group, curve); with
    ``min_at_risk``, each curve cut where fewer issues are still open (:func:`while_at_risk`)."""
    sizes = events.group_by(by).len().sort(["len", by], descending=[True, False])
    return [(key, while_at_risk(kaplan_meier(events.filter(pl.col(by) == key), alpha), min_at_risk))
            for key in sizes[by].to_list()]


def survival_at(curve: pl.DataFrame, day: float) -> float | None:
    """A :func:`kaplan_meier` curve read at ``day``: the last estimate at or before it; None after the end of
    follow-up (unknown, not the last value)."""
    if curve.is_empty() or day > curve["days"].max():
        return None
    return float(curve.filter(pl.col("days") <= day)["survival"][-1])


def resolution_times(events: pl.DataFrame, by: str = "category", days: tuple[int, ...] = (30, 90),
                     alpha: float = 0.05) -> pl.DataFrame:
    """Per group of ``by`` (most issues first): issues, resolved, still open (censored), the Kaplan–Meier median
    days to resolution with its confidence interval (null where the curve never falls to one half, or an
    interval bound is not reached), and the share resolved within each of ``days`` (``resolved_30d`` …: one
    minus the survival then; null past the end of follow-up)."""
    rows = []
    for key, curve in kaplan_meier_by(events, by, alpha):
        part = events.filter(pl.col(by) == key)
        resolved = (part["status"] == analysis.RESOLVED).to_numpy()
        median = low = high = None
        if resolved.any():
            fit = SurvfuncRight(part["days"].to_numpy().astype(float), resolved.astype(float))
            with np.errstate(divide="ignore", invalid="ignore"):
                median, (low, high) = fit.quantile(0.5), fit.quantile_ci(0.5, alpha=alpha)
        row = {by: key, "issues": part.height, "resolved": int(resolved.sum()), "open": int((~resolved).sum()),
               "median_days": _finite(median), "median_low": _finite(low), "median_high": _finite(high)}
        for d in days:
            s = survival_at(curve, d)
            row[f"resolved_{d}d"] = None if s is None else 1 - s
        rows.append(row)
    schema = {by: pl.Utf8, "issues": pl.Int64, "resolved": pl.Int64, "open": pl.Int64, "median_days": pl.Float64,
              "median_low": pl.Float64, "median_high": pl.Float64, **{f"resolved_{d}d": pl.Float64 for d in days}}
    return pl.DataFrame(rows, schema=schema)


def _finite(value) -> float | None:
    """A float, or None for a missing, NaN or infinite one (a quantile or bound the curve never reaches)."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None
