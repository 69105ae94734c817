"""DOMAIN.md §4: accepted events → per-project state as of T. Arrival order never changes the result."""

from __future__ import annotations

import functools
import operator
from dataclasses import dataclass
from datetime import datetime

import polars as pl

from streams.contract.events import MILESTONES, STAGE_POOL, STAGES
from streams.core.clock import day_of
from streams.core.log import DIMENSIONS


@dataclass(frozen=True)
class ColourRules:
    """The thresholds of the supervision colours (红黄蓝绿), DOMAIN.md §4 and §6.

    ``dwell``: without an open milestone, (colour, at most this many days since the latest
    stage advance), else red. With one, by ``late`` = days from its due date to the as-of date:
    red above ``red_late``, yellow above 0, blue from ``-blue_ahead`` to 0, else green.
    """

    dwell: tuple[tuple[str, int], ...] = (("green", 90), ("blue", 180), ("yellow", 365))
    red_late: int = 90
    blue_ahead: int = 30


DEFAULT_COLOURS = ColourRules()

_is = pl.col("event_type").__eq__
#: What the fold reads; a frame with only the first six columns folds too (no dimensions).
FOLD_COLUMNS = ("project_id", "occurred_at", "seq", "stage", "event_type", "amount", "name", *DIMENSIONS,
                "drop_reason", "milestone", "due")


def planned(milestone: str) -> str:
    """The column holding the due date of the latest plan for ``milestone`` (§6)."""
    return f"plan_{milestone}"


def reached(stage: str) -> str:
    """The column holding ``reached_at[stage]``."""
    return f"reached_at_{stage}"


def _carries(column: str) -> pl.Expr:
    """Which events set a descriptive field: planning sets them all, reassignment the owner, a drop its reason."""
    if column == "drop_reason":
        return _is("project_dropped")
    if column in ("leader", "department"):
        return _is("project_planned") | _is("project_reassigned")
    return _is("project_planned")


@dataclass(frozen=True, eq=False)
class _Pick:
    """One column of the state: from the first (or last) of a project's events, in order of occurred_at then
    arrival, that meet ``when``; its ``value`` there (``None``: whether there is one). Picks of one ``shared``
    name have the same condition, so are found once."""

    name: str
    when: pl.Expr
    value: str | None
    last: bool = True
    shared: str | None = None

    @property
    def at(self) -> str:
        return f"_at_{'last' if self.last else 'first'}_{self.shared or self.name}"


def _carrier(column: str) -> str:
    """The name shared by the picks whose condition is :func:`_carries` ``(column)``."""
    return {"drop_reason": "drop", "leader": "owner", "department": "owner"}.get(column, "planned")


def _picks(names: list[str], complete: frozenset[str] = frozenset()) -> list[_Pick]:
    """Every column of the state that is a first or last event's value (§4, §6). A descriptive column in
    ``complete`` has a value on every event that carries it: its latest carrying event is the one."""
    stage, amount = pl.col("stage"), pl.col("amount")
    picks = []
    for n, s in enumerate(STAGES, start=1):
        picks += [_Pick(reached(s), stage >= n, "occurred_at", last=False),  # the earliest at or beyond the stage
                  _Pick(f"_has{n}", stage == n, None)]
    picks += [
        _Pick("last_stage_at", stage.is_not_null(), "occurred_at"),
        _Pick("last_drop_at", _is("project_dropped"), "occurred_at", shared="drop"),
        _Pick("has_planned", _is("project_planned"), None, shared="planned"),
        _Pick("investment_yuan", amount.is_not_null(), "amount"),  # the latest amount
        _Pick("signed_yuan", _is("contract_signed") & amount.is_not_null(), "amount", last=False),
    ]
    picks += [_Pick(c, _carries(c), c, shared=_carrier(c)) if c in complete
              else _Pick(c, _carries(c) & pl.col(c).is_not_null(), c)
              for c in ("name", *DIMENSIONS, "drop_reason") if c in names]
    if "due" in names:  # a later plan for the same milestone replaces the earlier one
        picks += [_Pick(planned(m), _is("milestone_planned") & (pl.col("milestone") == m) & pl.col("due").is_not_null(),
                        "due") for m in MILESTONES]
    return picks


def _descriptive(present: list[str]) -> list[str]:
    return [c for c in ("name", *DIMENSIONS, "drop_reason") if c in present]


def project_state(events: pl.DataFrame | pl.LazyFrame, cutoff: datetime, colours: ColourRules = DEFAULT_COLOURS
                  ) -> pl.DataFrame:
    """One row per project with accepted events occurring before ``cutoff`` (the exclusive end of T).

    The events are put in order once (project, occurred_at, arrival), so that each project is a run of
    rows; every column of its state is then the value at the first or the last row of its run meeting a
    condition (:func:`_picks`), found for all projects at once by carrying row numbers forward or backward
    through the rows: no aggregation per project.
    """
    events = events.lazy()
    names = events.collect_schema().names()
    present = [c for c in FOLD_COLUMNS if c in names]
    ev = events.select(present).filter(pl.col("occurred_at") < cutoff).collect()
    gaps = ev.select((_carries(c) & pl.col(c).is_null()).any().alias(c) for c in _descriptive(present))
    complete = frozenset(c for c in gaps.columns if not gaps[c][0])
    return _derive(_state(ev, _picks(present, complete)), cutoff, colours)


#: Values read in the order of the events (the others are read where they are picked, from the events as they came).
_ORDERED = ("occurred_at", "amount")


def _order(ev: pl.DataFrame) -> tuple[pl.Series, pl.Series]:
    """The events' row numbers by project, then occurred_at, then arrival; and the number of each row's run
    of one project in that order.

    A run is found by a hash of the id, and checked: since the ids are in order, a run holding two ids
    (two ids with one hash, next to each other) starts and ends with different ids, and then the runs
    are found by the ids themselves.
    """
    order = ev.select(pl.arg_sort_by("project_id", "occurred_at", "seq")).to_series()
    ids = ev["project_id"]
    run = _id_hashes(ids).gather(order).rle_id()
    if len(run):
        first = (run != run.shift(1)).fill_null(True).arg_true()
        last = (run != run.shift(-1)).fill_null(True).arg_true()
        if (ids.gather(order.gather(first)) != ids.gather(order.gather(last))).any():  # a run holds two ids
            run = ids.gather(order).rle_id()
    return order, run


def _id_hashes(ids: pl.Series) -> pl.Series:
    return ids.hash()


@dataclass
class _Runs:
    """The events in order, each project a run of rows (``run``: its number, per row), with per pick the row
    picked so far (``_at_...``: the latest meeting its condition, or for a first the next one, possibly another
    project's); the ``first`` and ``last`` row of each run. Only what the picking needs is reordered (the
    conditions, judged on the events as they came, travel as bits); ``_src`` is where a row came from."""

    rows: pl.DataFrame
    run: pl.Series
    first: pl.Series
    last: pl.Series


def _runs(ev: pl.DataFrame, picks: list[_Pick]) -> _Runs:
    conditions = {p.at: p for p in reversed(picks)}  # one per condition (and direction)
    bits = {at: (f"_when{k // 64}", 1 << (k % 64)) for k, at in enumerate(conditions)}
    words = [functools.reduce(operator.or_, [
        pl.when(conditions[at].when.fill_null(False)).then(pl.lit(bit, pl.UInt64)).otherwise(pl.lit(0, pl.UInt64))
        for at, (w, bit) in bits.items() if w == word]).alias(word) for word in dict.fromkeys(w for w, _ in bits.values())]
    order, run = _order(ev)
    rows = ev.select(*_ORDERED, *words)[order].with_columns(_src=order.cast(pl.UInt32))  # a row's source: its order
    ever = rows.select(pl.col(w).bitwise_or() for w in dict.fromkeys(w for w, _ in bits.values())).row(0, named=True)
    first = (run != run.shift(1)).fill_null(True).arg_true()
    last = (run != run.shift(-1)).fill_null(True).arg_true()
    row = pl.int_range(pl.len(), dtype=pl.UInt32)

    def carried(pick: _Pick, word: str, bit: int) -> pl.Expr:
        if not (ever[word] or 0) & bit:  # no event meets the condition
            return pl.lit(None, pl.UInt32).alias(pick.at)
        at = pl.when((pl.col(word) & bit) != 0).then(row)
        return (at.forward_fill() if pick.last else at.backward_fill()).alias(pick.at)

    rows = rows.with_columns(carried(conditions[at], word, bit) for at, (word, bit) in bits.items())
    return _Runs(rows, run, first, last)


def _picked(runs: _Runs, picks: list[_Pick]) -> pl.DataFrame:
    """Per run, the row each pick is at (null: none of the project's rows meets its condition)."""
    lasts = list(dict.fromkeys(p.at for p in picks if p.last))
    firsts = list(dict.fromkeys(p.at for p in picks if not p.last))
    ats = pl.concat([runs.rows.select(lasts).gather(runs.last), runs.rows.select(firsts).gather(runs.first)],
                    how="horizontal")
    first, last = pl.lit(runs.first), pl.lit(runs.last)
    return ats.select(pl.when((pl.col(p.at) >= first) if p.last else (pl.col(p.at) <= last)).then(pl.col(p.at))
                      .alias(p.name) for p in picks)


def _state(ev: pl.DataFrame, picks: list[_Pick]) -> pl.DataFrame:
    """The columns of the state, one row per project in the order of their ids (before :func:`_derive`)."""
    runs = _runs(ev, picks)
    rows = runs.rows
    at = _picked(runs, picks)
    source = rows["_src"]

    got_ = {p.name: at[p.name].is_not_null() for p in picks if p.value is None}
    got_ |= {p.name: rows[p.value].gather(at[p.name]).alias(p.name) for p in picks if p.value in _ORDERED}
    read = [p for p in picks if p.value is not None and p.value not in _ORDERED]  # from the events as they came
    rows_of = {at_: source.gather(at[p.name]) for at_, p in {p.at: p for p in read}.items()}  # once per condition
    values = ev.select(pl.col(p.value).gather(rows_of[p.at]).alias(p.name) for p in read)  # in one pass
    got_ |= {p.name: values[p.name] for p in read}
    has = pl.DataFrame([got_[f"_has{n}"].alias(str(n)) for n in range(1, len(STAGES) + 1)])
    columns = [ev["project_id"].gather(source.gather(runs.first))]
    for n, s in enumerate(STAGES, start=1):
        columns += [got_[reached(s)], (got_[reached(s)].is_not_null() & ~has[str(n)]).alias(f"implied_{s}")]
    columns += [_highest_stage(ev, runs, has), got_["last_stage_at"], got_["last_drop_at"], got_["has_planned"],
                got_["investment_yuan"], got_["signed_yuan"],
                _started_yuan(runs, at, next(p for p in picks if p.name == "investment_yuan"))]
    columns += [got_[c] for c in ("name", *DIMENSIONS, "drop_reason") if c in got_]
    columns += [got_[planned(m)] for m in MILESTONES if planned(m) in got_]
    columns.append((runs.last - runs.first + 1).cast(pl.UInt32).alias("events"))
    return pl.DataFrame(columns)


def _started_yuan(runs: _Runs, at: pl.DataFrame, amounts: _Pick) -> pl.Series:
    """Per run, the investment as of construction start: the latest amount occurring no later than the start."""
    rows, first = runs.rows, pl.lit(runs.first)
    start = rows["occurred_at"].gather(at[reached("started")]).gather(runs.run)  # per row, its project's start
    upto = rows.select(pl.when(pl.col("occurred_at") <= start).then(pl.int_range(pl.len(), dtype=pl.UInt32))
                       .forward_fill()).to_series().gather(runs.last)  # the last row no later than the start
    amount_at = pl.select(pl.when(pl.lit(upto) >= first).then(pl.lit(upto))).to_series()
    amount_at = rows[amounts.at].gather(amount_at)  # the latest amount up to that row
    amount_at = pl.select(pl.when(pl.lit(amount_at) >= first).then(pl.lit(amount_at))).to_series()
    return rows["amount"].gather(amount_at).alias("started_yuan")


def _highest_stage(ev: pl.DataFrame, runs: _Runs, has: pl.DataFrame) -> pl.Series:
    """The highest stage among a project's stage events: the highest stage number it has an event of."""
    stage, numbers = ev["stage"], range(1, len(STAGES) + 1)
    if (stage.is_not_null() & ~stage.is_in(list(numbers))).any():  # not a stage number: the plain maximum
        return (pl.DataFrame({"run": runs.run, "stage": stage.gather(runs.rows["_src"])})
                .group_by("run", maintain_order=True).agg(pl.col("stage").max())["stage"])
    highest = pl.lit(None, stage.dtype)
    for n in numbers:
        highest = pl.when(pl.col(str(n))).then(pl.lit(n, stage.dtype)).otherwise(highest)
    return has.select(highest.alias("stage")).to_series()


def _derive(state: pl.DataFrame, cutoff: datetime, colours: ColourRules) -> pl.DataFrame:
    last_advance = pl.coalesce([pl.when(pl.col("stage") == n).then(pl.col(reached(s)))
                                for n, s in enumerate(STAGES, start=1)])
    dropped = pl.col("last_drop_at").is_not_null() & (
        pl.col("last_stage_at").is_null() | (pl.col("last_drop_at") >= pl.col("last_stage_at")))
    pool = pl.col("stage").replace_strict(STAGE_POOL, default=None, return_dtype=pl.Utf8)
    state = state.with_columns(
        orphan=~pl.col("has_planned"),
        dropped=dropped.fill_null(False),
        last_advance_at=last_advance,
        signed_yuan=pl.coalesce("signed_yuan", pl.when(pl.col("stage") >= 3).then(pl.col("investment_yuan"))),
        started_yuan=pl.coalesce("started_yuan", pl.when(pl.col("stage") >= 4).then(pl.col("investment_yuan"))),
    ).with_columns(
        in_pools=~pl.col("orphan") & pl.col(reached("planned")).is_not_null(),
    ).with_columns(
        pool=pl.when(~pl.col("in_pools")).then(None).when(pl.col("dropped")).then(pl.lit("dropped")).otherwise(pool),
    )
    return with_colour(state.drop("has_planned"), cutoff, colours)


def open_plans(state: pl.DataFrame) -> dict[str, pl.Expr]:
    """Per milestone, its due date while it is planned and not yet reached (an open milestone, §6); none when the
    state has no plans."""
    if planned(MILESTONES[0]) not in state.columns:
        return {}
    return {m: pl.when(pl.col(reached(m)).is_null()).then(pl.col(planned(m))) for m in MILESTONES}


def with_colour(state: pl.DataFrame, cutoff: datetime, colours: ColourRules = DEFAULT_COLOURS) -> pl.DataFrame:
    """Each project's supervision colour at the cut-off (§4, §6), with what it was judged on.

    Depends on the cut-off as well as the state, so a state carried over from an earlier
    month (as :func:`streams.core.aggregates.month_end_states` does) is coloured again.
    """
    as_of_day = day_of(cutoff)
    plans = list(open_plans(state).values())
    next_due = pl.min_horizontal(plans) if plans else pl.lit(None, pl.Date)
    state = state.with_columns(
        days_since_advance=(pl.lit(cutoff) - pl.col("last_advance_at")).dt.total_days(),
        next_due=next_due,
    ).with_columns(days_late=(pl.lit(as_of_day) - pl.col("next_due")).dt.total_days())
    by_dwell = pl.lit("red")
    for name, days in reversed(colours.dwell):
        by_dwell = pl.when(pl.col("days_since_advance") <= days).then(pl.lit(name)).otherwise(by_dwell)
    late = pl.col("days_late")
    by_plan = (pl.when(late > colours.red_late).then(pl.lit("red")).when(late > 0).then(pl.lit("yellow"))
               .when(late >= -colours.blue_ahead).then(pl.lit("blue")).otherwise(pl.lit("green")))
    colour = pl.when(pl.col("next_due").is_not_null()).then(by_plan).otherwise(by_dwell)
    supervised = pl.col("in_pools") & ~pl.col("dropped") & (pl.col("stage") < 6)
    return state.with_columns(colour=pl.when(supervised).then(colour))
