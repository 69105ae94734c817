"""DOMAIN.md §9: bottlenecks (解瓶颈清障碍), the issues of projects, as of T. Pure functions over Polars frames."""

from __future__ import annotations

from datetime import date, datetime

import polars as pl

from streams.core.clock import CST_ZONE
from streams.core.trips import in_standing_order

#: What the issue fold reads of a project's issue events.
ISSUE_COLUMNS = ("project_id", "issue_id", "event_type", "occurred_at", "seq", "category", "department", "due",
                 "description")
_RAISED = pl.col("event_type") == "issue_raised"


def issue_state(events: pl.LazyFrame | pl.DataFrame, cutoff: datetime) -> pl.DataFrame:
    """One row per issue (``project_id``, ``issue_id``) raised before ``cutoff`` (the exclusive end of T): ``open``
    or resolved by its standing event (the latest, a resolution winning a tie, then arrival); the category,
    lead department, due date and description of its latest raise alone; when it was first raised and, resolved, when.
    Sorted by project, then issue. An issue only resolved as of T is no issue (:func:`unraised_resolutions`)."""
    ev = _issue_events(events, cutoff)
    raised = ev.filter(_RAISED)
    latest_raise = raised.group_by("project_id", "issue_id", maintain_order=True).agg(
        pl.col("category").last(), pl.col("department").last(), pl.col("due").last(), pl.col("description").last(),
        first_raised_at=pl.col("occurred_at").min(), raised_at=pl.col("occurred_at").last())
    standing = ev.group_by("project_id", "issue_id", maintain_order=True).agg(
        open=pl.col("event_type").last() == "issue_raised", _last_at=pl.col("occurred_at").last())
    return (latest_raise.join(standing, on=["project_id", "issue_id"], how="left")
            .with_columns(resolved_at=pl.when(~pl.col("open")).then(pl.col("_last_at")))
            .drop("_last_at")
            .select("project_id", pl.col("issue_id").cast(pl.Utf8), "open", pl.col("category").cast(pl.Utf8),
                    pl.col("department").cast(pl.Utf8), "due", "first_raised_at", "raised_at", "resolved_at",
                    pl.col("description").cast(pl.Utf8))
            .sort("project_id", "issue_id"))


def _issue_events(events: pl.LazyFrame | pl.DataFrame, cutoff: datetime) -> pl.DataFrame:
    names = events.lazy().collect_schema().names()
    if "issue_id" not in names:
        return pl.DataFrame(schema={"project_id": pl.Utf8, "issue_id": pl.Utf8, "event_type": pl.Utf8,
                                    "occurred_at": pl.Datetime("us", "UTC"), "seq": pl.Int64, "category": pl.Utf8,
                                    "department": pl.Utf8, "due": pl.Date, "description": pl.Utf8,
                                    "_wins_tie": pl.Boolean})
    issues = events.lazy().filter(pl.col("issue_id").is_not_null()).select(
        pl.col(c) if c in names else pl.lit(None, pl.Utf8).alias(c) for c in ISSUE_COLUMNS)
    return in_standing_order(issues, ["project_id", "issue_id"], "issue_resolved", cutoff)


def resolutions(events: pl.LazyFrame | pl.DataFrame, cutoff: datetime) -> pl.DataFrame:
    """Every ``issue_resolved`` occurring before ``cutoff``, and whether its issue was ``raised`` as of T (one
    that was not makes no issue: the quality checks report it)."""
    ev = _issue_events(events, cutoff)
    raised = ev.filter(_RAISED).select("project_id", "issue_id").unique().with_columns(raised=pl.lit(True))
    return (ev.filter(~_RAISED).join(raised, on=["project_id", "issue_id"], how="left")
            .select("project_id", pl.col("issue_id").cast(pl.Utf8), "occurred_at", "seq",
                    pl.col("raised").fill_null(False)).sort("project_id", "issue_id", "occurred_at", "seq"))


def unraised_resolutions(events: pl.LazyFrame | pl.DataFrame, cutoff: datetime) -> pl.DataFrame:
    """The ``issue_resolved`` events of issues not raised as of T: they make no issue; the quality checks report them."""
    return resolutions(events, cutoff).filter(~pl.col("raised")).drop("raised")


def _year(at: str) -> pl.Expr:
    return pl.col(at).dt.convert_time_zone(CST_ZONE).dt.year().cast(pl.Utf8)


#: An issue counted open (§9): open, of a project in the pools and not dropped at T.
_OPEN = pl.col("open") & pl.col("active")


def _of_projects(issues: pl.DataFrame, state: pl.DataFrame) -> pl.DataFrame:
    """The issues of non-orphan projects, with whether their project is ``active`` (in the pools, not dropped)."""
    projects = state.lazy().filter(~pl.col("orphan")).select(
        "project_id", active=pl.col("in_pools") & ~pl.col("dropped"))
    return issues.lazy().join(projects, on="project_id", how="inner").collect()


def bottlenecks_of(issues: pl.DataFrame | None, state: pl.DataFrame, as_of: date) -> dict:
    """The summary's ``bottlenecks`` (§9) over the issues of non-orphan projects: the open ones (of projects in
    the pools and not dropped at T), overdue ones (due before ``as_of``) and open ones by category; issues raised,
    resolved and projects cleared by year (CST) of the first raise / the standing resolution, dropped or not."""
    doc = {"open": 0, "overdue": 0, "open_by_category": {}, "raised": {}, "resolved": {}, "projects_cleared": {}}
    if issues is None or not issues.height or not state.height or "orphan" not in state.columns:
        return doc
    of = _of_projects(issues, state)
    open_ = of.filter(_OPEN)
    resolved = of.filter(~pl.col("open")).with_columns(year=_year("resolved_at"))
    return {
        "open": open_.height,
        "overdue": int((open_["due"] < as_of).sum()),
        "open_by_category": dict(sorted(open_.group_by("category").len().iter_rows())),
        "raised": dict(sorted(of.group_by(year=_year("first_raised_at")).len().iter_rows())),
        "resolved": dict(sorted(resolved.group_by("year").len().iter_rows())),
        "projects_cleared": dict(sorted(resolved.group_by("year").agg(pl.col("project_id").n_unique()).iter_rows())),
    }


def issues_at(issues: pl.DataFrame | None, end: datetime) -> pl.DataFrame | None:
    """The issues of a later fold as they stood at ``end`` (an exclusive cut-off): those first raised before it,
    open unless resolved before it. (Category, department and due date stay those of the fold's latest raise.)"""
    if issues is None:
        return None
    resolved = ~pl.col("open") & (pl.col("resolved_at") < end)
    return (issues.filter(pl.col("first_raised_at") < end)
            .with_columns(open=~resolved, resolved_at=pl.when(resolved).then(pl.col("resolved_at"))))


def overdue_issues(issues: pl.DataFrame | None, state: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """The overdue issues at ``as_of`` (§9: open, due before it) of projects in the pools and not dropped, with the
    project's name, and days overdue (``as_of`` − due); most overdue first."""
    schema = {"project_id": pl.Utf8, "name": pl.Utf8, "issue_id": pl.Utf8, "category": pl.Utf8,
              "department": pl.Utf8, "due": pl.Date, "days_overdue": pl.Int64}
    if issues is None or not issues.height or not state.height or "orphan" not in state.columns:
        return pl.DataFrame(schema=schema)
    active = state.filter(~pl.col("orphan") & pl.col("in_pools") & ~pl.col("dropped")).select(
        "project_id", pl.col("name").cast(pl.Utf8) if "name" in state.columns else pl.lit(None, pl.Utf8).alias("name"))
    overdue = issues.filter(pl.col("open") & (pl.col("due") < as_of)).join(active, on="project_id", how="inner")
    return (overdue.with_columns(days_overdue=(pl.lit(as_of) - pl.col("due")).dt.total_days().cast(pl.Int64))
            .sort(["days_overdue", "project_id", "issue_id"], descending=[True, False, False])
            .select(*schema))


def issue_projects(issues: pl.DataFrame | None, state: pl.DataFrame, as_of: date, which: str) -> pl.Series:
    """The ids of the projects behind a figure of :func:`bottlenecks_of`: ``open`` (with an open issue), ``overdue``
    (with an overdue one) or a year ``YYYY`` (cleared: with an issue resolved in that CST year)."""
    if issues is None or not issues.height or not state.height or "orphan" not in state.columns:
        return pl.Series("project_id", [], pl.Utf8)
    of = _of_projects(issues, state)
    if which == "open":
        chosen = of.filter(_OPEN)
    elif which == "overdue":
        chosen = of.filter(_OPEN & (pl.col("due") < as_of))
    else:
        chosen = of.filter(~pl.col("open")).filter(_year("resolved_at") == which)
    return chosen["project_id"].cast(pl.Utf8).unique().sort()
