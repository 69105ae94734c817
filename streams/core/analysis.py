"""What the analyst notebooks show, as pure functions of project state and the aggregate tables.

The notebooks only draw: every figure they show is computed here, from the rules of
:mod:`streams.core.aggregates` and :mod:`streams.core.fold`, so no notebook holds a rule of
DOMAIN.md. No I/O and no clock reading: the cut-off is passed in (``clock.day_end(as_of)``),
and periods are CST periods from :mod:`streams.core.clock`.

Time to an event (for the competing-risks estimates of :mod:`streams.analysis.stats`): a
project enters at ``reached_at[start]`` and leaves at the first of reaching ``end`` (cause 1),
being dropped (cause 2, a competing risk: a dropped project will not land), or the cut-off
(censored, still waiting).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import polars as pl

from streams.contract.events import POOLS, STAGES, YUAN_PER_YI
from streams.core import aggregates as agg
from streams.core.clock import CST_ZONE, day_of, last_complete_period, period_bounds, previous_period
from streams.core.fold import reached
from streams.core.tables import CONVERSION_PAIRS

#: The four stages of the bureau's annual funnel (200 → 160 → 80 → 60 in 2023).
FUNNEL_STAGES: tuple[str, ...] = STAGES[:4]
#: Steps whose duration is reported: each stage to the next, and planned → started (landing).
STEPS: tuple[tuple[str, str], ...] = (*zip(STAGES, STAGES[1:]), ("planned", "started"))
#: Status of a time-to-event row: censored (still waiting at the cut-off), reached the end stage, dropped first.
CENSORED, REACHED, DROPPED = 0, 1, 2
#: The managed pools (dropped projects are not in a pool the bureau manages).
MANAGED_POOLS: tuple[str, ...] = POOLS[:4]
TARGET_LABELS = {"planned": "谋划项目数 projects planned", "negotiating": "洽谈项目数 projects negotiated",
                 "signed": "新签约项目数 new signings", "started": "开工项目数 projects started",
                 "signed_yuan": "签约额 signed amount", "signed_lead_yuan": "主导产业签约额 lead-industry amount",
                 "signed_projects_50yi": "50亿以上项目 signings ≥ 50 亿", "started_yuan": "新开工投资 started investment",
                 "leader_led": "党政主要领导带队外出 leader-led trips", "team": "小分队外出招商 team trips",
                 "team_signed_yuan": "小分队签约额 teams' signed amount",
                 "projects_cleared": "解瓶颈清障碍项目数 projects cleared"}
#: The targets of the trips (§8) and of the bottlenecks (§9), apart from the projects' own (``streams.core.targets``).
TRIP_TARGETS: tuple[str, ...] = ("leader_led", "team", "team_signed_yuan")
ISSUE_TARGETS: tuple[str, ...] = ("projects_cleared",)


def step_name(a: str, b: str) -> str:
    return f"{a}→{b}"


def _days(later: pl.Expr, earlier: pl.Expr) -> pl.Expr:
    """Days between two instants, as :func:`streams.core.aggregates.time_in_stage` counts them."""
    return (later - earlier).dt.total_hours() / 24


def _in_pools(state: pl.DataFrame) -> pl.DataFrame:
    return state.filter(pl.col("in_pools"))


def _within(at: pl.Expr, label: str) -> pl.Expr:
    start, end = period_bounds(label)
    return (at >= start) & (at < end)


# --- the funnel, pools and projects --------------------------------------------------------------------------

def stage_funnel(state: pl.DataFrame, year: str, targets: dict) -> pl.DataFrame:
    """The year's flow into each funnel stage against its target, with the conversion from the stage before.

    ``conversion`` = flow(stage) / flow(previous stage) in the year (DOMAIN.md §4), beside the
    conversion the targets imply. A stage without a target has a null target and attainment.
    """
    flow = agg.flows(state, "year").filter(pl.col("period") == year)
    counts = dict(zip(flow["stage"], flow["count"]))
    goals = targets.get(year, {})
    frame = pl.DataFrame({"stage": list(FUNNEL_STAGES), "actual": [counts.get(s, 0) for s in FUNNEL_STAGES],
                          "target": [None if goals.get(s) is None else int(goals[s]) for s in FUNNEL_STAGES]},
                         schema={"stage": pl.Utf8, "actual": pl.Int64, "target": pl.Int64})
    before = pl.col("actual").shift(1)
    return frame.with_columns(
        attainment=pl.col("actual") / pl.col("target"),
        conversion=pl.when(before > 0).then(pl.col("actual") / before),
        target_conversion=pl.col("target") / pl.col("target").shift(1),
    )


def funnel_steps(funnel: pl.DataFrame) -> pl.DataFrame:
    """Each step of a :func:`stage_funnel`: how many reached each end and how many of the flow did not convert."""
    return funnel.select(
        pl.col("stage").shift(1).alias("from"), pl.col("stage").alias("to"),
        pl.col("actual").shift(1).alias("from_count"), pl.col("actual").alias("to_count"),
        (pl.col("actual").shift(1) - pl.col("actual")).alias("not_converted"),
    ).slice(1)


def pools_by_month(pools_over_time: pl.DataFrame) -> pl.DataFrame:
    """Projects in each managed pool at every month end: one row per month, one column per pool."""
    if pools_over_time.is_empty():
        return pl.DataFrame(schema={"month": pl.Utf8, **{p: pl.Int64 for p in MANAGED_POOLS}})
    wide = pools_over_time.filter(pl.col("pool").is_in(MANAGED_POOLS)).pivot(
        on="pool", index="month", values="count")
    return wide.select("month", *[pl.col(p) if p in wide.columns else pl.lit(0, pl.Int64).alias(p)
                                  for p in MANAGED_POOLS]).fill_null(0).sort("month")


def investment_by_pool(state: pl.DataFrame) -> pl.DataFrame:
    """Count and investment (亿元) of every pool at the cut-off."""
    return agg.pools_at(state).with_columns(investment_yi=pl.col("investment_yuan") / YUAN_PER_YI)


def biggest_projects(state: pl.DataFrame, n: int = 12) -> pl.DataFrame:
    """The ``n`` projects in the pools with the largest current investment."""
    return (_in_pools(state).sort("investment_yuan", descending=True, nulls_last=True).head(n)
            .select("project_id", "name", "industry", "zone", "pool",
                    (pl.col("investment_yuan") / YUAN_PER_YI).round(1).alias("亿元 investment")))


def target_table(targets: pl.DataFrame, year: int, metrics: tuple[str, ...] | None = None,
                 leave_out: tuple[str, ...] = ()) -> pl.DataFrame:
    """The ``targets`` table of one year for people: labels, amounts in 亿元, percentages; only ``metrics`` (all
    by default) but those in ``leave_out`` (e.g. the projects' targets: every one but :data:`TRIP_TARGETS`)."""
    in_yi = pl.col("metric").str.ends_with("_yuan")

    def amount(column: str) -> pl.Expr:
        return pl.when(in_yi).then(pl.col(column) / YUAN_PER_YI).otherwise(pl.col(column)).round(1)

    chosen = pl.col("metric").is_in(list(metrics)) if metrics is not None else pl.lit(True)
    return targets.filter((pl.col("year") == year) & chosen & ~pl.col("metric").is_in(list(leave_out))).select(
        pl.col("metric").replace_strict(TARGET_LABELS, default=pl.col("metric")).alias("target 目标"),
        amount("target").alias("target (亿 / count)"),
        amount("actual").alias("actual"),
        (pl.col("attainment") * 100).round(1).alias("attainment %"),
        (pl.col("projected") / pl.col("target") * 100).round(1).alias("projected %"),
        (pl.col("elapsed_share") * 100).round(1).alias("year elapsed %"),
        pl.col("on_track"),
    )


# --- rolling and cohort conversion ---------------------------------------------------------------------------

def rolling_by_pair(rolling: pl.DataFrame) -> list[tuple[str, pl.DataFrame]]:
    """The ``rolling_conversions`` table per stage pair: one row per month, one rate column per window ("3", ...)."""
    out = []
    for (pair,), part in rolling.partition_by("pair", as_dict=True, maintain_order=True).items():
        wide = part.with_columns(pl.col("window").cast(pl.Utf8)).pivot(on="window", index="period", values="rate")
        out.append((pair, wide.sort("period")))
    return out


def cohort_curves(cohorts: pl.DataFrame, stage: str, every: int = 1) -> list[tuple[str, pl.DataFrame]]:
    """For every ``every``-th monthly cohort, its share that reached ``stage`` after k months, censored k left out."""
    part = cohorts.filter(pl.col("stage") == stage)
    chosen = part["cohort"].unique().sort().gather_every(every)
    known = part.filter(pl.col("cohort").is_in(chosen.implode()) & ~pl.col("censored")).sort("cohort", "k")
    return [(cohort, frame.select("k", "rate"))
            for (cohort,), frame in known.partition_by("cohort", as_dict=True, maintain_order=True).items()]


# --- times between stages ------------------------------------------------------------------------------------

def time_to_event(state: pl.DataFrame, cutoff: datetime, start: str = "planned", end: str = "started",
                  by: tuple[str, ...] = ()) -> pl.DataFrame:
    """One row per project that reached ``start``: days to leaving and why (:data:`REACHED`, :data:`DROPPED`,
    :data:`CENSORED`), the CST year it entered (``cohort``) and the ``by`` dimensions.

    A project that reached ``end`` counts as reaching it even if dropped later; one dropped at the
    cut-off before reaching it leaves at its drop; every other one is censored at the cut-off.
    """
    entered = _in_pools(state).filter(pl.col(reached(start)).is_not_null())
    left_at = (pl.when(pl.col(reached(end)).is_not_null()).then(pl.col(reached(end)))
               .when(pl.col("dropped")).then(pl.col("last_drop_at"))
               .otherwise(pl.lit(cutoff)))
    status = (pl.when(pl.col(reached(end)).is_not_null()).then(pl.lit(REACHED))
              .when(pl.col("dropped")).then(pl.lit(DROPPED)).otherwise(pl.lit(CENSORED)))
    return entered.select(
        "project_id", *by,
        cohort=pl.col(reached(start)).dt.convert_time_zone(CST_ZONE).dt.year().cast(pl.Utf8),
        days=pl.max_horizontal(_days(left_at, pl.col(reached(start))), pl.lit(0.0)),
        status=status.cast(pl.Int8),
    )


def landing_within(state: pl.DataFrame, cutoff: datetime, days: int = 365, by: tuple[str, ...] = ("industry",),
                   start: str = "planned", end: str = "started", min_n: int = 1) -> pl.DataFrame:
    """Per group, of the projects that reached ``start`` at least ``days`` before the cut-off (so every one
    was watched that long), how many reached ``end`` within ``days``: a plain binomial share, no censoring.

    ``dropped``: of the others, how many are dropped at the cut-off. Groups with a null dimension, and
    groups of fewer than ``min_n`` projects, are left out.
    """
    mature = _in_pools(state).filter(pl.col(reached(start)) <= cutoff - timedelta(days=days))
    took = _days(pl.col(reached(end)), pl.col(reached(start)))
    made_it = took.le(days).fill_null(False)
    keys = list(by)
    return (mature.filter(pl.all_horizontal([pl.col(k).is_not_null() for k in keys]))
            .group_by(keys).agg(n=pl.len().cast(pl.Int64), reached=made_it.sum().cast(pl.Int64),
                                dropped=(~made_it & pl.col("dropped")).sum().cast(pl.Int64))
            .filter(pl.col("n") >= min_n).sort(["n", *keys], descending=[True, *[False] * len(keys)]))


def step_durations(state: pl.DataFrame, steps: tuple[tuple[str, str], ...] = STEPS) -> pl.DataFrame:
    """Every completed step: the project, the step (``planned→negotiating`` ...), when it completed, and its days."""
    in_pools = _in_pools(state)
    parts = [in_pools.filter(pl.col(reached(a)).is_not_null() & pl.col(reached(b)).is_not_null())
             .select("project_id", step=pl.lit(step_name(a, b)), completed_at=pl.col(reached(b)),
                     days=_days(pl.col(reached(b)), pl.col(reached(a))))
             for a, b in steps]
    return pl.concat(parts)


def completed_in(durations: pl.DataFrame, label: str) -> pl.DataFrame:
    """The steps of :func:`step_durations` completed in a CST period (``2024``, ``2024Q3``, ``2024-07``)."""
    return durations.filter(_within(pl.col("completed_at"), label))


def measure(comparison: pl.DataFrame, name: str) -> pl.DataFrame:
    """The rows of one measure (flow, dropped, conversion, median_days, p90_days) of a :func:`period_comparison`."""
    return comparison.filter(pl.col("measure") == name)


def _step_order() -> pl.Expr:
    return pl.col("step").replace_strict({step_name(a, b): i for i, (a, b) in enumerate(STEPS)}, default=len(STEPS))


def step_time_quantiles(durations: pl.DataFrame) -> pl.DataFrame:
    """Per step: how many completed it, and the median and 90th percentile of their days
    (the same quantiles as :func:`streams.core.aggregates.time_in_stage`)."""
    return (durations.group_by("step").agg(projects=pl.len().cast(pl.Int64), median_days=pl.col("days").median(),
                                           p90_days=pl.col("days").quantile(0.9))
            .sort(_step_order()))


# --- this period against the one before ----------------------------------------------------------------------

def compared_periods(cutoff: datetime, granularity: str = "year") -> tuple[str, str]:
    """The latest CST period over at the cut-off, and the one before it: (previous, current)."""
    current = last_complete_period(cutoff, granularity)
    return previous_period(current), current


def period_days(label: str) -> float:
    start, end = period_bounds(label)
    return (end - start) / timedelta(days=1)


def period_comparison(state: pl.DataFrame, cutoff: datetime, granularity: str = "year") -> pl.DataFrame:
    """The latest complete period against the one before: flows into every stage, projects dropped,
    step conversions (flow ratios, §4), and the median and 90th-percentile days of the steps
    completed in each period.

    Columns: ``measure`` (flow, dropped, conversion, median_days, p90_days), ``what`` (stage or
    step), ``previous``, ``current``, ``change``, ``change_pct``, and the two period labels.
    """
    previous, current = compared_periods(cutoff, granularity)
    flow = agg.flows(state, granularity).filter(pl.col("period").is_in([previous, current]))
    rows = []
    counts = {(r["period"], r["stage"]): r["count"] for r in flow.iter_rows(named=True)}
    for s in STAGES:
        rows.append(("flow", s, counts.get((previous, s), 0), counts.get((current, s), 0)))
    dropped = _in_pools(state).filter(pl.col("dropped"))
    rows.append(("dropped", "dropped", dropped.filter(_within(pl.col("last_drop_at"), previous)).height,
                 dropped.filter(_within(pl.col("last_drop_at"), current)).height))
    for a, b in CONVERSION_PAIRS:
        rates = [counts.get((p, b), 0) / counts[(p, a)] if counts.get((p, a)) else None for p in (previous, current)]
        rows.append(("conversion", step_name(a, b), *rates))
    durations = step_durations(state)
    quantiles = {p: {r["step"]: r for r in step_time_quantiles(completed_in(durations, p))
                     .iter_rows(named=True)} for p in (previous, current)}
    for measure in ("median_days", "p90_days"):
        for a, b in STEPS:
            step = step_name(a, b)
            rows.append((measure, step, *[quantiles[p].get(step, {}).get(measure) for p in (previous, current)]))
    frame = pl.DataFrame(rows, schema={"measure": pl.Utf8, "what": pl.Utf8, "previous": pl.Float64,
                                       "current": pl.Float64}, orient="row")
    return frame.with_columns(
        change=pl.col("current") - pl.col("previous"),
        change_pct=pl.when(pl.col("previous") != 0).then((pl.col("current") - pl.col("previous")) / pl.col("previous")),
        previous_period=pl.lit(previous), current_period=pl.lit(current),
    )


# --- data quality --------------------------------------------------------------------------------------------

def accounting(summary: dict) -> pl.DataFrame:
    """The summary's accounting as rows: received, accepted, duplicates, every rejection reason, rejected in all."""
    a = summary["accounting"]
    rejected = a["rejected"]
    rows = [("received", a["received"]), ("accepted", a["accepted"]), ("duplicates", a["duplicates"]),
            *[(f"rejected: {reason}", n) for reason, n in sorted(rejected.items())],
            ("rejected", sum(rejected.values()))]
    return pl.DataFrame(rows, schema={"records": pl.Utf8, "count": pl.Int64}, orient="row")


def _arrival_month(rejections: pl.DataFrame) -> pl.Expr:
    """Month of arrival in CST; records with no readable recorded_at (malformed lines) are "unknown"."""
    return pl.col("recorded_at").dt.convert_time_zone(CST_ZONE).dt.strftime("%Y-%m").fill_null("unknown")


def rejections_by_month(rejections: pl.DataFrame) -> pl.DataFrame:
    """Rejected records per month of arrival (CST): one row per month, one column per reason."""
    if rejections.is_empty():
        return pl.DataFrame(schema={"month": pl.Utf8})
    counts = rejections.group_by(month=_arrival_month(rejections), reason=pl.col("outcome")).agg(
        records=pl.len().cast(pl.Int64))
    reasons = counts.group_by("reason").agg(pl.col("records").sum()).sort("records", "reason", descending=[True, False])
    wide = counts.pivot(on="reason", index="month", values="records", on_columns=reasons["reason"])
    return wide.select("month", *reasons["reason"]).fill_null(0).sort("month")


def rejections_by_reason(rejections: pl.DataFrame) -> pl.DataFrame:
    return (rejections.group_by(reason=pl.col("outcome")).agg(records=pl.len().cast(pl.Int64))
            .sort("records", "reason", descending=[True, False]))


def quality_verdict(quality: dict) -> str:
    return "PASS" if quality["success"] else "FAIL"


def quality_failures(quality: dict) -> pl.DataFrame:
    """The failing expectations of a quality report, one row each (none: an empty frame).

    ``examples`` stays as the report has it, a list of rows (dicts) or of plain values, which differ
    from one failure to the next: an inferred Polars type would make one of them the other's.
    """
    failures = quality.get("failures") or []
    if not failures:
        return pl.DataFrame({"failures": []}, schema={"failures": pl.Utf8})
    names = list(dict.fromkeys(k for f in failures for k in f))
    return pl.DataFrame([pl.Series(k, [f.get(k) for f in failures], dtype=pl.Object) if k == "examples"
                         else pl.Series(k, [f.get(k) for f in failures]) for k in names])


def colours_by_month(supervision_over_time: pl.DataFrame) -> pl.DataFrame:
    """Projects of each supervision colour at every month end (§6): one row per month, red first."""
    order = ["red", "yellow", "blue", "green"]
    if supervision_over_time.is_empty():
        return pl.DataFrame(schema={"month": pl.Utf8, **{c: pl.UInt32 for c in order}})
    wide = supervision_over_time.group_by("month", "colour").len().pivot(on="colour", index="month", values="len")
    return wide.select("month", *[pl.col(c) if c in wide.columns else pl.lit(0, pl.UInt32).alias(c)
                                  for c in order]).fill_null(0).sort("month")


def red_running(supervision_over_time: pl.DataFrame, state: pl.DataFrame, months: int = 3) -> pl.DataFrame:
    """Projects red at the last month end for at least ``months`` month ends running, longest first,
    with who answers for them: the weekly meeting's list."""
    if supervision_over_time.is_empty():
        return pl.DataFrame(schema={"project_id": pl.Utf8, "months_red": pl.UInt32, "days_late": pl.Int64})
    last = supervision_over_time.filter(pl.col("month") == pl.col("month").max())
    red = last.filter((pl.col("colour") == "red") & (pl.col("months_in_colour") >= months))
    people = [c for c in ("name", "department", "leader", "pool") if c in state.columns]
    return (red.join(state.select("project_id", *people), on="project_id", how="left")
            .select("project_id", *people, months_red="months_in_colour", days_late="days_late")
            .sort(["months_red", "project_id"], descending=[True, False]))


# --- bottlenecks (§9) and trips (§8) -------------------------------------------------------------------------

#: Status of an issue in :func:`issue_durations`: resolved (the event), or still open (censored).
RESOLVED = 1
#: Label of a lead department an issue does not name.
NO_DEPARTMENT = "未指定 unassigned"


def _issues_of_projects(issues: pl.DataFrame, state: pl.DataFrame) -> pl.DataFrame:
    """The issues of non-orphan projects (§9), with whether their project is dropped at T and since when."""
    if not state.height or "orphan" not in state.columns:
        return issues.clear().with_columns(dropped=pl.lit(None, pl.Boolean),
                                           last_drop_at=pl.lit(None, pl.Datetime("us", "UTC")))
    projects = state.filter(~pl.col("orphan")).select("project_id", "dropped", "last_drop_at")
    return issues.join(projects, on="project_id", how="inner")


DURATION_SCHEMA = {"project_id": pl.Utf8, "issue_id": pl.Utf8, "category": pl.Utf8, "department": pl.Utf8,
                   "days": pl.Float64, "status": pl.Int8}


def issue_durations(issues: pl.DataFrame | None, state: pl.DataFrame, cutoff: datetime) -> pl.DataFrame:
    """One row per issue of a non-orphan project at the cut-off (the ``issues`` table, §9): days from its first
    raise to its standing resolution (``status`` :data:`RESOLVED`) or, still open, to the cut-off (:data:`CENSORED`):
    an open issue is censored, never left out. An open issue of a project dropped at T is censored at the drop
    (no one works on it after), at 0 days if it was raised after the drop. Columns: ``project_id``,
    ``issue_id``, ``category``, ``department``, ``days``, ``status``; none without an issues table (None: a replay
    written before issues were)."""
    if issues is None:
        return pl.DataFrame(schema=DURATION_SCHEMA)
    rows = _issues_of_projects(issues, state)
    end = (pl.when(~pl.col("open")).then(pl.col("resolved_at"))
           .when(pl.col("dropped")).then(pl.col("last_drop_at")).otherwise(pl.lit(cutoff)))
    return rows.select(
        "project_id", "issue_id", "category", "department",
        days=pl.max_horizontal(_days(end, pl.col("first_raised_at")), pl.lit(0.0)),
        status=pl.when(pl.col("open")).then(pl.lit(CENSORED)).otherwise(pl.lit(RESOLVED)).cast(pl.Int8),
    ).sort("project_id", "issue_id")


def resolution_by(issues: pl.DataFrame | None, state: pl.DataFrame, cutoff: datetime, by: str = "department"
                  ) -> pl.DataFrame:
    """办结率 per group of ``by`` (the issue's lead ``department`` or its ``category``) at the cut-off: ``issues`` =
    ``resolved`` + ``open``, the rankings' rate (``resolved / (resolved + open)``) over every issue so far. Open
    issues count as the summary's ``bottlenecks.open`` (of projects in the pools and not dropped), resolved ones of
    every non-orphan project; ``overdue``: open with a due date before the as-of day. An issue naming no lead
    department counts under :data:`NO_DEPARTMENT`. Most issues first; grouped by department, the column is
    ``lead_department``."""
    as_of = day_of(cutoff)
    if issues is None:  # no issues table: no issue
        issues = pl.DataFrame(schema={"project_id": pl.Utf8, by: pl.Utf8, "open": pl.Boolean, "due": pl.Date})
    rows = _issues_of_projects(issues, state).with_columns(pl.col(by).cast(pl.Utf8).fill_null(NO_DEPARTMENT))
    counted = rows.filter(~pl.col("open") | ~pl.col("dropped"))
    table = counted.group_by(by).agg(
        resolved=(~pl.col("open")).sum().cast(pl.Int64), open=pl.col("open").sum().cast(pl.Int64),
        overdue=(pl.col("open") & (pl.col("due") < as_of)).sum().cast(pl.Int64))
    named = "lead_department" if by == "department" else by  # 牵头单位, not the project's 责任单位
    return (table.select(pl.col(by).alias(named), issues=pl.col("resolved") + pl.col("open"), resolved="resolved",
                         open="open", overdue="overdue")
            .sort(["issues", named], descending=[True, False]))


def bottleneck_years(summary: dict) -> pl.DataFrame:
    """The summary's ``bottlenecks`` (§9) by year: issues raised, resolved, projects cleared (the seed's 70余个)."""
    b = summary.get("bottlenecks") or {}
    years = sorted({*b.get("raised", {}), *b.get("resolved", {}), *b.get("projects_cleared", {})})
    return pl.DataFrame({"year": years, "raised": [b["raised"].get(y, 0) for y in years],
                         "resolved": [b["resolved"].get(y, 0) for y in years],
                         "projects_cleared": [b["projects_cleared"].get(y, 0) for y in years]},
                        schema={"year": pl.Utf8, "raised": pl.Int64, "resolved": pl.Int64,
                                "projects_cleared": pl.Int64})


def open_issues(summary: dict) -> pl.DataFrame:
    """The summary's open issues at T by category (§9: of projects in the pools and not dropped), most first,
    and the total with how many are overdue."""
    b = summary.get("bottlenecks") or {}
    by_category = sorted((b.get("open_by_category") or {}).items(), key=lambda kv: (-kv[1], kv[0]))
    return pl.DataFrame([*by_category, ("total", b.get("open", 0))], schema={"category": pl.Utf8, "open": pl.Int64},
                        orient="row").with_columns(
        overdue=pl.when(pl.col("category") == "total").then(pl.lit(b.get("overdue", 0), pl.Int64)))


#: The sums of a group of trips in :func:`trip_yield`, then per trip.
TRIP_SUMS = ("people_days", "companies_visited", "leads", "valid_leads")
YIELD = ("projects_planned", "projects_signed", "signed_yuan")


def trip_yield(trips: pl.DataFrame | None, trip_references: pl.DataFrame | None, state: pl.DataFrame,
               by: str = "region", year: int | None = None) -> pl.DataFrame:
    """What the counted trips (§8) of each group of ``by`` (``region``, ``team``, ``kind``) brought in, as of T:
    trips, their people-days, companies visited, leads and valid leads; the non-orphan projects from them
    (dropped ones included) and how many of those signed, with their signed amount at T; and per trip:
    companies, valid leads, projects signed, signed amount. ``year``: only trips departing in that year
    (their projects whenever planned). Trips without a value of ``by`` are left out (and every trip without a trips
    table). Largest signed amount first."""
    from streams.core.trips import from_trip_references

    if trips is None:
        trips = pl.DataFrame(schema={"trip_id": pl.Utf8, "counts": pl.Boolean, "departed": pl.Date, by: pl.Utf8,
                                     **{c: pl.Int64 for c in TRIP_SUMS}})
    counted = trips.filter(pl.col("counts"))
    if year is not None:
        counted = counted.filter(pl.col("departed").dt.year() == year)
    counted = counted.filter(pl.col(by).is_not_null()).with_columns(pl.col(by).cast(pl.Utf8))
    projects = from_trip_references(state, trip_references, trips)
    per_trip = (projects.group_by("trip_id").agg(
        projects_planned=pl.len().cast(pl.Int64), projects_signed=pl.col("reached_at_signed").is_not_null().sum(),
        signed_yuan=pl.when(pl.col("reached_at_signed").is_not_null()).then(pl.col("signed_yuan")).sum()))
    rows = counted.join(per_trip.with_columns(pl.col("trip_id").cast(pl.Utf8)), on="trip_id", how="left")
    table = rows.group_by(by).agg(trips=pl.len().cast(pl.Int64),
                                  *[pl.col(c).fill_null(0).sum().cast(pl.Int64) for c in (*TRIP_SUMS, *YIELD)])
    return table.select(by, "trips", *TRIP_SUMS, *YIELD).with_columns(
        per_trip_companies=pl.col("companies_visited") / pl.col("trips"),
        per_trip_valid_leads=pl.col("valid_leads") / pl.col("trips"),
        per_trip_projects_signed=pl.col("projects_signed") / pl.col("trips"),
        per_trip_signed_yuan=pl.col("signed_yuan") / pl.col("trips"),
    ).sort(["signed_yuan", "trips", by], descending=[True, True, False])


def trip_years(summary: dict) -> pl.DataFrame:
    """The summary's ``trips`` (§8) as rows, one per year: trips by kind, people-days, companies visited, valid
    leads, projects from trips planned and signed, and their signed amount."""
    from streams.core.trips import YEAR_FIGURES

    years = summary.get("trips") or {}
    return pl.DataFrame([{"year": y, **{f: int(v.get(f, 0)) for f in YEAR_FIGURES}} for y, v in sorted(years.items())],
                        schema={"year": pl.Utf8, **{f: pl.Int64 for f in YEAR_FIGURES}})


def trip_progress(trips: pl.DataFrame | None, targets: dict, year: int, cutoff: datetime) -> pl.DataFrame:
    """The counted trips (§8) led by the top leaders and of the teams departing in ``year``, cumulated to the end of
    each month up to the cut-off's (``leader_led``, ``team``), beside the year's targets (``leader_led_target``,
    ``team_target``: null without one), as the ``targets`` table counts them (by ``departed``)."""
    last = min(day_of(cutoff), date(year, 12, 31))
    months = [f"{year}-{m:02d}" for m in range(1, last.month + 1)] if last.year == year else []
    frame = pl.DataFrame({"month": months}, schema={"month": pl.Utf8})
    goals = targets.get(str(year), {})
    if trips is not None and trips.height:
        counted = trips.filter(pl.col("counts") & (pl.col("departed").dt.year() == year)).with_columns(
            month=pl.col("departed").dt.strftime("%Y-%m"), kind=pl.col("kind").cast(pl.Utf8))
        by_month = counted.group_by("month").agg(**{k: (pl.col("kind") == k).sum().cast(pl.Int64)
                                                    for k in ("leader_led", "team")})
        frame = frame.join(by_month, on="month", how="left")
    else:
        frame = frame.with_columns(leader_led=pl.lit(None, pl.Int64), team=pl.lit(None, pl.Int64))
    return frame.with_columns(pl.col("leader_led", "team").fill_null(0).cum_sum()).with_columns(
        leader_led_target=pl.lit(goals.get("leader_led"), pl.Float64), team_target=pl.lit(goals.get("team"), pl.Float64))
