"""月评比: rankings of the units that own projects, per month, quarter and year (pure Polars, no I/O).

A *unit* is a value of one of the dimensions :data:`UNITS`: a town or street office (``town``), a
department (``department``), a county-level leader (``leader``) or an industry chain (``industry``).
A project counts for the unit that owns it in the project state it is ranked from (its latest
owner by then: a reassignment moves all its figures to the new owner), and only if it is in the
pools (DOMAIN.md §4: not an orphan). A project without a value for a dimension is left out of
that dimension's ranking.

The figures of a unit in a period P = [start, end) (CST; ``end`` is the cut-off when P holds it):

================ ==================================================================================
projects         its projects planned before ``end``: the units ranked in P are those with at least one
signings         projects reaching ``signed`` in P (their ``reached_at_signed`` falls in P)
signed_yuan      their signed amount
starts           projects reaching ``started`` (开工, landed) in P
started_yuan     their investment at construction start
planned_ytd      projects planned in P's year before ``end`` (the year to date)
landed_ytd       of those, the ones that had started (landed) before ``end``
conversion       planned→landed conversion: ``landed_ytd / planned_ytd`` (null without a project planned
                 in the year to date). A cohort share of the same projects, so never above 1.
red              projects red (红) at the end of P: their colour at the end of P's last month (or at the
                 cut-off), as :func:`streams.core.aggregates.supervision_over_time` gives it
issues_raised    issues (DOMAIN.md §9, 问题清单) of its projects first raised in P
issues_resolved  issues of its projects resolved at the cut-off whose standing resolution falls in P
                 (dropped projects included, as the summary's ``bottlenecks.resolved`` counts them)
issues_open      issues of its projects open at the end of P: first raised before P's end, and neither
                 resolved (by the standing resolution) nor their project dropped (by its latest drop)
                 before it. At the cut-off's period this is the summary's ``bottlenecks.open``.
resolution_rate  办结率: ``issues_resolved / (issues_resolved + issues_open)``, the share resolved of the
                 issues the unit had to deal with in P (those it resolved in P and those still open at
                 its end); null without any (like ``conversion``). Not additive: computed from the summed
                 counts, never averaged.
================ ==================================================================================

The issue figures read the issues as of the cut-off (:func:`streams.core.bottlenecks.issue_state`),
so a period before it sees each issue by its standing state: an issue resolved and raised again
counts as open from its first raise. An issue counts for the units owning its project (not its lead
department), and never before the month its project was planned (an issue raised or resolved
earlier counts in that month), so that a unit with an issue in P always has a project in P. Without
an issue frame (``issues=None``) every issue figure is 0 and ``resolution_rate`` null. The issue
figures are not scored by the default weights (:class:`RankingRules`): a unit with many problems
raised is not a worse unit, and the rate is unknown for most units in most months.

Every figure but ``conversion`` and ``resolution_rate`` adds up over disjoint sets of projects
(partitions, buckets: a project's issues are in its own partition and bucket), so
:func:`unit_counts` of parts can be summed (:func:`merge_counts`) and ranked once
(:func:`rank_units`) with the same result as ranking the whole.

The score (:class:`RankingRules`): for each scored figure, the unit's z-score among the units of
the same dimension in the same period, ``(x − mean) / sd`` (population sd; 0 when every unit has the
same value, and 0 for a null conversion), weighted and summed, red with a negative weight (fewer
red projects is better). Rounded to :data:`SCORE_DECIMALS` decimals; rank 1 is the highest score,
units with the same score share a rank. ``rank_change`` is the previous period's rank minus this
one (positive: moved up; null when the unit was not ranked then). The 红黑榜 (``board``): ``top``
(红榜) are the units ranked in the first ``board`` places that score above the average (> 0),
``bottom`` (黑榜) the units in the last ``board`` places that score below it (< 0), so no unit is on
both, and none is when every unit scores the same.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

import polars as pl

from streams.core.clock import CST_ZONE, day_of, period_bounds, period_label, previous_period
from streams.core.fold import reached

#: dimension column -> the unit's name in the bulletin
UNITS: dict[str, str] = {"town": "镇办", "department": "责任单位", "leader": "分包领导", "industry": "产业链"}
#: the additive figures of a unit in a period, in the order of the table
COUNTS: tuple[str, ...] = ("projects", "signings", "signed_yuan", "starts", "started_yuan", "planned_ytd",
                           "landed_ytd", "red", "issues_raised", "issues_resolved", "issues_open")
GRANULARITIES: tuple[str, ...] = ("month", "quarter", "year")
KEYS: tuple[str, ...] = ("granularity", "period", "dimension", "unit")
SCORE_DECIMALS = 4


@dataclass(frozen=True)
class RankingRules:
    """How units are scored and how many go on each board of the 红黑榜.

    ``weights``: (figure, weight) pairs; a figure is one of :data:`COUNTS` or ``conversion``, and a
    negative weight means less is better. The defaults weigh new signings and starts (counts and
    amounts) most, the year's planned→landed conversion next, and count red projects against; the issue
    figures and ``resolution_rate`` may be weighted too, but are not by default (see the module's note).
    """

    weights: tuple[tuple[str, float], ...] = (
        ("signings", 0.20), ("signed_yuan", 0.20), ("starts", 0.20), ("started_yuan", 0.15),
        ("conversion", 0.10), ("red", -0.15))
    board: int = 3
    units: tuple[str, ...] = tuple(UNITS)

    def as_dict(self) -> dict:
        return {"weights": dict(self.weights), "board": self.board, "units": list(self.units)}


DEFAULT_RULES = RankingRules()

RANKINGS_SCHEMA: dict[str, pl.DataType] = {
    "granularity": pl.Utf8, "period": pl.Utf8, "dimension": pl.Utf8, "unit": pl.Utf8,
    **{c: pl.Int64 for c in COUNTS}, "conversion": pl.Float64, "resolution_rate": pl.Float64, "score": pl.Float64, "rank": pl.Int64,
    "units": pl.Int64, "previous_rank": pl.Int64, "rank_change": pl.Int64, "board": pl.Utf8,
}
COUNTS_SCHEMA: dict[str, pl.DataType] = {k: pl.Utf8 for k in KEYS} | {c: pl.Int64 for c in COUNTS}


# ---- periods -------------------------------------------------------------------------------------

_PERIOD = re.compile(r"^(\d{4})(?:-?[Qq]([1-4])|-(\d{2}))?$")


def parse_period(text: str) -> str:
    """``2024-03`` → ``2024-03``, ``2024-Q1`` or ``2024Q1`` → ``2024Q1``, ``2024`` → ``2024`` (the labels
    of the flows table); anything else raises ValueError."""
    m = _PERIOD.match(text.strip())
    if not m or (m.group(3) and not 1 <= int(m.group(3)) <= 12):
        raise ValueError(f"{text!r} is not a period: a month 2024-03, a quarter 2024-Q1 or a year 2024")
    year, quarter, month = m.groups()
    return f"{year}Q{quarter}" if quarter else f"{year}-{month}" if month else year


def granularity_of(label: str) -> str:
    return "quarter" if "Q" in label else "month" if "-" in label else "year"


def last_month(label: str, cutoff: datetime) -> str:
    """The month whose end colours the end of a period: its last month, or the cut-off's when earlier."""
    return period_label(day_of(min(period_bounds(label)[1], cutoff)), "month")


def _month_index(at: pl.Expr) -> pl.Expr:
    """A time's CST month as months since year 0: 2024-03 → 2024 * 12 + 2."""
    local = at.dt.convert_time_zone(CST_ZONE)
    return local.dt.year().cast(pl.Int32) * 12 + local.dt.month().cast(pl.Int32) - 1


def _label_index(label: pl.Expr) -> pl.Expr:
    """A month label ``2024-03`` as months since year 0."""
    return label.str.slice(0, 4).cast(pl.Int32) * 12 + label.str.slice(5, 2).cast(pl.Int32) - 1


def _label(index: int, granularity: str) -> str:
    return period_label(date(index // 12, index % 12 + 1, 1), granularity)


STEP = {"month": 1, "quarter": 3, "year": 12}
_FLOWS = ("_planned", "signings", "signed_yuan", "starts", "started_yuan", "_landed", "issues_raised",
          "issues_resolved", "_closed")


# ---- the figures of each unit --------------------------------------------------------------------

def _issue_months(wide: pl.DataFrame, issues: pl.DataFrame | None, dims: Sequence[str]) -> pl.DataFrame:
    """Per issue of a project of ``wide``: its dimensions and the month (index) it was raised in (``_r``),
    resolved in (``_s``, if resolved at the cut-off) and stopped being open in (``_c``: resolved or its
    project dropped), none before the month its project was planned and ``_c`` none before ``_r``."""
    schema = {"project_id": pl.Utf8, "first_raised_at": pl.Datetime("us", "UTC"), "open": pl.Boolean,
              "resolved_at": pl.Datetime("us", "UTC")}
    if issues is None:
        issues = pl.DataFrame(schema=schema)
    joined = issues.select(list(schema)).join(wide, on="project_id", how="inner")
    raised = pl.max_horizontal(_month_index(pl.col("first_raised_at")), pl.col("_p"))
    resolved = pl.when(~pl.col("open")).then(pl.max_horizontal(_month_index(pl.col("resolved_at")), pl.col("_p")))
    dropped = pl.when(pl.col("_dropped")).then(pl.max_horizontal(pl.col("_d"), pl.col("_p")))
    ended = pl.min_horizontal("_s", "_x")  # the earlier of the two; null only when neither happened
    return (joined.select(*dims, _r=raised, _s=resolved, _x=dropped)
            .with_columns(_c=pl.when(ended.is_not_null()).then(pl.max_horizontal(ended, "_r"))))


def _monthly(state: pl.DataFrame, colours: pl.DataFrame | pl.LazyFrame, units: Sequence[str],
             issues: pl.DataFrame | None = None) -> pl.DataFrame:
    """Per (dimension, unit, month index): projects planned, signed (and amount), started (and investment,
    and how many of them were planned in the same year) in the month, red at the month's end, and issues
    raised, resolved and no longer open (``_closed``) in the month."""
    dims = [d for d in units if d in state.columns]
    s = state.filter(pl.col("in_pools"))
    if "project_id" not in s.columns:  # a state without ids (a replay's merged buckets): no colour to join
        s = s.with_columns(project_id=pl.lit(None, pl.Utf8))
    wide = s.select("project_id", *[pl.col(d).cast(pl.Utf8) for d in dims],
                    _p=_month_index(pl.col(reached("planned"))), _s=_month_index(pl.col(reached("signed"))),
                    _t=_month_index(pl.col(reached("started"))), signed_yuan=pl.col("signed_yuan").cast(pl.Int64),
                    started_yuan=pl.col("started_yuan").cast(pl.Int64),
                    _d=_month_index(pl.col("last_drop_at")), _dropped=pl.col("dropped"))
    wide = wide.with_columns(_same_year=(pl.col("_t") // 12) == (pl.col("_p") // 12))
    red = (colours.lazy().filter(pl.col("colour") == "red").select("project_id", _m=_label_index(pl.col("month")))
           .collect().join(wide.select("project_id", *dims), on="project_id"))
    raised = _issue_months(wide, issues, dims)
    parts = []
    for d in dims:
        def by(frame: pl.DataFrame, month: str, **aggs: pl.Expr) -> pl.DataFrame:
            return (frame.filter(pl.col(month).is_not_null() & pl.col(d).is_not_null())
                    .group_by(pl.col(d).alias("unit"), pl.col(month).alias("month")).agg(**aggs))
        pieces = [by(wide, "_p", _planned=pl.len()),
                  by(wide, "_s", signings=pl.len(), signed_yuan=pl.col("signed_yuan").sum()),
                  by(wide, "_t", starts=pl.len(), started_yuan=pl.col("started_yuan").sum(),
                     _landed=pl.col("_same_year").sum()),
                  by(red, "_m", red=pl.len()),
                  by(raised, "_r", issues_raised=pl.len()), by(raised, "_s", issues_resolved=pl.len()),
                  by(raised, "_c", _closed=pl.len())]
        merged = pl.concat(pieces, how="diagonal_relaxed").group_by("unit", "month").agg(
            [pl.col(c).sum().cast(pl.Int64) for c in (*_FLOWS, "red")])
        parts.append(merged.select(pl.lit(d).alias("dimension"), pl.all()))
    return pl.concat(parts) if parts else pl.DataFrame()


def _cumulative(column: str, within_year: bool) -> pl.Expr:
    keys = ["dimension", "unit", *(["_year"] if within_year else [])]
    return pl.col(column).cum_sum().over(keys, order_by="_start")


def unit_counts(state: pl.DataFrame, colours: pl.DataFrame | pl.LazyFrame, cutoff: datetime,
                periods: Iterable[str] | None = None, rules: RankingRules = DEFAULT_RULES,
                issues: pl.DataFrame | None = None) -> pl.DataFrame:
    """The additive figures (:data:`COUNTS`) of every unit in every period up to the cut-off.

    ``state`` is the project state as of ``cutoff``; ``colours`` has ``month``, ``project_id`` and
    ``colour`` of projects at month ends (the ``supervision_over_time`` table; a period's red are
    those of its last month, or of the cut-off's). ``periods`` (labels, see :func:`parse_period`)
    keeps only those. ``issues`` is the issue state as of ``cutoff`` (:func:`streams.core.bottlenecks.issue_state`,
    ``Result.issues``; None: no issue counted). Rows for units with no project planned by the period's end
    are left out.

    Every project is read once, into per-unit monthly figures; periods are sums and running sums
    of those small tables, so no period needs a pass over the projects.
    """
    monthly = _monthly(state, colours, rules.units, issues)
    if monthly.is_empty() or monthly["_planned"].sum() == 0:
        return pl.DataFrame(schema=COUNTS_SCHEMA)
    wanted = None if periods is None else set(periods)
    first = int(monthly.filter(pl.col("_planned") > 0)["month"].min())
    as_of = day_of(cutoff)
    last = as_of.year * 12 + as_of.month - 1  # the cut-off's month
    units = monthly.select("dimension", "unit").unique()
    out = []
    for g in GRANULARITIES:
        step = STEP[g]
        starts = list(range(first - first % step, last + 1, step))
        labels = {i: _label(i, g) for i in starts}
        if wanted is not None and not wanted.intersection(labels.values()):
            continue
        by_period = monthly.with_columns(_start=pl.col("month") - pl.col("month") % step)
        flows = by_period.group_by("dimension", "unit", "_start").agg([pl.col(c).sum() for c in _FLOWS])
        # red at a period's end: at the end of its last month, or of the cut-off's month
        end = pl.min_horizontal(pl.col("_start") + (step - 1), pl.lit(last))
        red = by_period.filter(pl.col("month") == end).select("dimension", "unit", "_start", "red")
        grid = units.join(pl.DataFrame({"_start": starts}, schema={"_start": pl.Int32}), how="cross")
        frame = (grid.join(flows, on=["dimension", "unit", "_start"], how="left")
                 .join(red, on=["dimension", "unit", "_start"], how="left")
                 .with_columns(pl.col(*_FLOWS, "red").fill_null(0), _year=pl.col("_start") // 12))
        frame = frame.with_columns(projects=_cumulative("_planned", False), planned_ytd=_cumulative("_planned", True),
                                   landed_ytd=_cumulative("_landed", True),
                                   issues_open=_cumulative("issues_raised", False) - _cumulative("_closed", False))
        frame = frame.filter(pl.col("projects") > 0).with_columns(
            period=pl.col("_start").replace_strict(labels, return_dtype=pl.Utf8))
        if wanted is not None:
            frame = frame.filter(pl.col("period").is_in(list(wanted)))
        out.append(frame.select(granularity=pl.lit(g), period="period", dimension="dimension", unit="unit",
                                **{c: pl.col(c).cast(pl.Int64) for c in COUNTS}))
    if not out:
        return pl.DataFrame(schema=COUNTS_SCHEMA)
    return _ordered(pl.concat(out))


def _ordered(frame: pl.DataFrame) -> pl.DataFrame:
    """Rows in one order whatever the order they were made in: granularity, period, dimension, unit."""
    g = pl.col("granularity").replace_strict({g: i for i, g in enumerate(GRANULARITIES)}, return_dtype=pl.Int8)
    return frame.sort([g, "period", "dimension", "unit"])


def merge_counts(parts: Iterable[pl.DataFrame]) -> pl.DataFrame:
    """The figures of disjoint sets of projects (partitions, buckets) summed: the figures of their union."""
    parts = [p for p in parts if p.height]
    if not parts:
        return pl.DataFrame(schema=COUNTS_SCHEMA)
    merged = pl.concat([p.select(list(COUNTS_SCHEMA)).cast(COUNTS_SCHEMA) for p in parts])
    return _ordered(merged.group_by(list(KEYS)).agg(pl.col(c).sum() for c in COUNTS))


# ---- ranking ---------------------------------------------------------------------------------------

def rank_units(counts: pl.DataFrame, rules: RankingRules = DEFAULT_RULES) -> pl.DataFrame:
    """Score, rank, change of rank against the previous period and the 红黑榜 board of every unit.

    ``counts`` is :func:`unit_counts` (or :func:`merge_counts` of parts). The previous period's
    rank is found in ``counts`` itself: give it both periods to get ``rank_change``.
    """
    if counts.is_empty():
        return pl.DataFrame(schema=RANKINGS_SCHEMA)
    group = ["granularity", "period", "dimension"]
    dealt_with = pl.col("issues_resolved") + pl.col("issues_open")
    frame = _ordered(counts.select(list(COUNTS_SCHEMA)).cast(COUNTS_SCHEMA)).with_columns(
        conversion=pl.when(pl.col("planned_ytd") > 0).then(pl.col("landed_ytd") / pl.col("planned_ytd")),
        resolution_rate=pl.when(dealt_with > 0).then(pl.col("issues_resolved") / dealt_with))
    score = pl.lit(0.0)
    for figure, weight in rules.weights:
        x = pl.col(figure).cast(pl.Float64)
        sd = x.std(ddof=0).over(group)
        z = pl.when(sd > 0).then((x - x.mean().over(group)) / sd).otherwise(0.0).fill_null(0.0)
        score = score + weight * z
    frame = frame.with_columns(score=score.round(SCORE_DECIMALS))
    frame = frame.with_columns(
        rank=pl.col("score").rank("min", descending=True).over(group).cast(pl.Int64),
        _from_bottom=pl.col("score").rank("min").over(group).cast(pl.Int64),
        units=pl.len().over(group).cast(pl.Int64),
    )
    before = {p: previous_period(p) for p in frame["period"].unique().to_list()}
    frame = frame.with_columns(_previous=pl.col("period").replace_strict(before, return_dtype=pl.Utf8))
    previous = frame.select("granularity", "dimension", "unit", _previous="period", previous_rank="rank")
    frame = frame.join(previous, on=["granularity", "dimension", "unit", "_previous"], how="left",
                       maintain_order="left")
    board = (pl.when((pl.col("rank") <= rules.board) & (pl.col("score") > 0)).then(pl.lit("top"))
             .when((pl.col("_from_bottom") <= rules.board) & (pl.col("score") < 0)).then(pl.lit("bottom")))
    frame = frame.with_columns(rank_change=pl.col("previous_rank") - pl.col("rank"), board=board)
    return frame.select(list(RANKINGS_SCHEMA)).cast(RANKINGS_SCHEMA).sort(
        [pl.col("granularity").replace_strict({g: i for i, g in enumerate(GRANULARITIES)}, return_dtype=pl.Int8),
         "period", "dimension", "rank", "unit"])


def rankings(state: pl.DataFrame, colours: pl.DataFrame | pl.LazyFrame, cutoff: datetime,
             rules: RankingRules = DEFAULT_RULES, issues: pl.DataFrame | None = None) -> pl.DataFrame:
    """The ``rankings`` table: every unit of every dimension in every month, quarter and year up to the cut-off,
    with the issue figures of ``issues`` (``Result.issues``; None: 0)."""
    return rank_units(unit_counts(state, colours, cutoff, rules=rules, issues=issues), rules)


def rerank(tables: pl.DataFrame) -> pl.DataFrame:
    """The rankings of the union of disjoint parts, from the parts' rankings tables concatenated:
    their counts summed (:func:`merge_counts`), then ranked once (:func:`rank_units`)."""
    return rank_units(merge_counts([tables]))


def colours_at_period_ends(events: pl.DataFrame | pl.LazyFrame, periods: Iterable[str], cutoff: datetime
                           ) -> pl.DataFrame:
    """The colour of every coloured project at the end of each period (clipped to the cut-off), by a fold
    at each end: the rows ``supervision_over_time`` has for those periods' last months, for a caller that
    wants only a few periods (the worker's ``/rankings``)."""
    from streams.core.fold import project_state

    frames = []
    for label in dict.fromkeys(periods):
        start, end = period_bounds(label)
        if start >= cutoff:
            continue
        state = project_state(events, min(end, cutoff))
        frames.append(state.filter(pl.col("colour").is_not_null())
                      .select(month=pl.lit(last_month(label, cutoff)), project_id="project_id", colour="colour"))
    schema = {"month": pl.Utf8, "project_id": pl.Utf8, "colour": pl.Utf8}
    return pl.concat(frames) if frames else pl.DataFrame(schema=schema)


def ranking_of(table: pl.DataFrame, period: str) -> pl.DataFrame:
    """One period's rows of a rankings table (``period`` as :func:`parse_period` takes it)."""
    return table.filter(pl.col("period") == parse_period(period))


def board(table: pl.DataFrame, period: str, dimension: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The 红榜 and 黑榜 of one dimension in one period: (top units best first, bottom units worst first)."""
    rows = ranking_of(table, period).filter(pl.col("dimension") == dimension)
    return (rows.filter(pl.col("board") == "top").sort("rank", "unit"),
            rows.filter(pl.col("board") == "bottom").sort("score", "unit"))


def periods_needed(period: str) -> list[str]:
    """The periods whose figures rank ``period`` and its change of rank: it and the one before."""
    label = parse_period(period)
    return [previous_period(label), label]


__all__ = ["COUNTS", "DEFAULT_RULES", "KEYS", "RANKINGS_SCHEMA", "RankingRules", "UNITS", "board", "colours_at_period_ends",
           "last_month",
           "merge_counts", "parse_period", "periods_needed", "rank_units",
           "ranking_of", "rankings", "rerank", "unit_counts"]
