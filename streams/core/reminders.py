"""DOMAIN.md §10: the reminders (督办提醒) of a day D, once it has ended. Pure functions over the settled log.

Every condition is judged at the end of a CST day d on the state as of d, from the log as it stands (every
accepted record, no known-at view). A reminder exists once its condition has held at the end of some day, and
the day D's reminders are those whose condition held at the end of some day up to D and whose date is no
earlier than D − 7 (a ``milestone_due`` up to D + 7). Which days can make one in that window:

- ``colour_worsened`` about d compares the ends of d and d − 1: the days D − 8 … D.
- ``red_persisting`` about a month end m in [D − 7, D] (at most one): m and the two month ends before it, whose
  colours are needed only for the projects red at m.
- ``milestone_due`` about a due date in [D − 7, D + 7], held at the end of a day d with d ≤ due ≤ d + 7 and
  d ≤ D: the days D − 14 … D (a day before D − 14 sees only dues before D − 7).
- ``issue_overdue`` about a due date ≥ D − 7, held at the end of a day d > due, d ≤ D: the days D − 6 … D.

So the state is folded at the ends of the days D − 14 … D only: one fold of the log up to the first of them, then
for each later day only the projects that had events that day; and at the two month ends before a month end in
the window, for the projects red at it.

A record's value depends on the log and its identity, not on D (but ``computed_for``): the day it is about,
the colour and the issue's fields where the condition first held, and the project's name, leader and department
as of the latest event of the log (the responsible people as of the time of sending).
"""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from streams.contract.events import MILESTONES
from streams.core.bottlenecks import ISSUE_COLUMNS, issue_state
from streams.core.clock import day_end
from streams.core.fold import DEFAULT_COLOURS, ColourRules, open_plans, project_state, with_colour
from streams.core.log import accepted_events

KINDS = ("colour_worsened", "red_persisting", "milestone_due", "issue_overdue")
#: A reminder about a date more than this many days before D is never sent (§10).
BEHIND_DAYS = 7
#: How many days after d an open milestone's due date makes a ``milestone_due`` at the end of d (§10).
AHEAD_DAYS = 7
AHEAD_DAYS_DELTA = timedelta(days=AHEAD_DAYS)
#: The record of a reminder (the contract between ``funnel remind`` and ``funnel notify``), in order.
RECORD_SCHEMA: dict[str, pl.DataType] = {
    "reminder_id": pl.Utf8, "kind": pl.Utf8, "project_id": pl.Utf8, "project_name": pl.Utf8, "about": pl.Date,
    "milestone": pl.Utf8, "issue_id": pl.Utf8, "computed_for": pl.Date, "leader": pl.Utf8, "department": pl.Utf8,
    "colour": pl.Utf8, "due": pl.Date, "text": pl.Utf8,
}
#: How bad a colour is for ``colour_worsened``: red worse than yellow, yellow worse than anything else.
_RANK = {"red": 2, "yellow": 1}
_COLOUR_ZH = {"red": "红色", "yellow": "黄色", "blue": "蓝色", "green": "绿色"}
_MILESTONE_ZH = {"negotiating": "开始洽谈", "signed": "签约", "started": "开工", "completed": "竣工",
                 "operating": "投产运营"}
_CATEGORY_ZH = {"planning": "规划", "land": "土地", "approval": "审批手续", "funding": "资金", "demolition": "征拆",
                "utilities": "要素保障", "environment": "建设环境", "technology": "技术", "other": "其他"}
#: What a day's coloured state keeps: the colour, whether the project is in the pools and not dropped, and the
#: due date of each open milestone.
_DAY_SCHEMA = {"day": pl.Date, "project_id": pl.Utf8, "colour": pl.Utf8, "active": pl.Boolean,
               **{f"open_{m}": pl.Date for m in MILESTONES}}
_FOLDED = ("project_id", "occurred_at", "seq", "stage", "event_type", "amount", "milestone", "due")


def reminders_for(settled: pl.DataFrame, day: date, colours: ColourRules = DEFAULT_COLOURS) -> pl.DataFrame:
    """Every reminder of the day ``day`` (D): its condition held at the end of some day up to D, its date no
    earlier than D − 7 (§10); one row per reminder, :data:`RECORD_SCHEMA`, sorted by kind, date, project, name."""
    events = accepted_events(settled)
    days = coloured_days(events, judged_days(day), colours)
    found = pl.concat([worsened(days, day), persisting(events, days, day, colours), milestones_due(days, day),
                       issues_overdue(events, days, day)], how="diagonal_relaxed")
    if not found.height:
        return pl.DataFrame(schema=RECORD_SCHEMA)
    return records(found, _people(events, found["project_id"].unique()), day)


def judged_days(day: date) -> list[date]:
    """The days whose ends can make a reminder of D (module docstring) for every project: D − 14 … D. (A
    ``red_persisting`` also looks at two earlier month ends, for the projects red at the one in the window.)"""
    return [day - timedelta(days=k) for k in range(BEHIND_DAYS + AHEAD_DAYS, -1, -1)]


def month_ends_in(first: date, last: date) -> list[date]:
    """The last calendar days of a month from ``first`` to ``last``, both included."""
    return [first + timedelta(days=k) for k in range((last - first).days + 1)
            if (first + timedelta(days=k + 1)).day == 1]


def _three_month_ends(m: date) -> tuple[date, date, date]:
    """A month end and the two before it."""
    m1 = m.replace(day=1) - timedelta(days=1)
    return m, m1, m1.replace(day=1) - timedelta(days=1)


def coloured_days(events: pl.LazyFrame, days: list[date], colours: ColourRules = DEFAULT_COLOURS) -> pl.DataFrame:
    """Per day (in order) and project with a state then, the project's colour at the day's end, whether it is in
    the pools and not dropped (``active``), and per milestone the due date of its open plan (``open_<m>``).

    One fold up to the first day's end; then for each later day only the projects that had events since the day
    before are folded again (a project's state changes only with its own events; its colour, which also changes
    with the calendar, is judged again at every day's end)."""
    names = events.collect_schema().names()
    ends = [day_end(d) for d in days]
    ev = events.select(c for c in _FOLDED if c in names).filter(pl.col("occurred_at") < ends[-1]).collect()
    if not ev.height:
        return pl.DataFrame(schema=_DAY_SCHEMA)
    after = pl.Series(ends, dtype=ev.schema["occurred_at"]).search_sorted(ev["occurred_at"], side="right")
    ev = ev.with_columns(_k=after)  # the first day whose end comes after the event
    first = ev.filter(pl.col("_k") == 0)
    later = ev.filter(pl.col("project_id").is_in(ev.filter(pl.col("_k") > 0)["project_id"].unique().implode()))
    current = project_state(first, ends[0], colours) if first.height else None
    frames = []
    for k, (d, end) in enumerate(zip(days, ends)):
        changed = later.filter(pl.col("_k") == k)["project_id"].unique() if k else pl.Series([], dtype=pl.Utf8)
        if changed.len():
            refolded = project_state(later.filter(pl.col("project_id").is_in(changed.implode())), end, colours)
            current = refolded if current is None else pl.concat([
                current.join(refolded.select("project_id"), on="project_id", how="anti"),
                refolded.select(current.columns)], how="vertical_relaxed")
        if current is not None:
            frames.append(_day_frame(with_colour(current, end, colours), d))
    return pl.concat(frames) if frames else pl.DataFrame(schema=_DAY_SCHEMA)


def _day_frame(state: pl.DataFrame, d: date) -> pl.DataFrame:
    plans = open_plans(state)

    def open_plan(m: str) -> pl.Expr:
        return plans.get(m, pl.lit(None, pl.Date)).alias(f"open_{m}")

    active = pl.col("in_pools") & ~pl.col("dropped")
    return (state.filter(active | pl.col("colour").is_not_null())
            .select(pl.lit(d).alias("day"), pl.col("project_id").cast(pl.Utf8), pl.col("colour").cast(pl.Utf8),
                    active.alias("active"), *(open_plan(m) for m in MILESTONES)))


def _rank(colour: str) -> pl.Expr:
    return pl.col(colour).replace_strict(_RANK, default=0, return_dtype=pl.Int8)


def worsened(days: pl.DataFrame, day: date) -> pl.DataFrame:
    """``colour_worsened`` about each day d in [D − 7, D]: yellow or red at the end of d, worse than at d − 1."""
    first = day - timedelta(days=BEHIND_DAYS)
    window = days.filter(pl.col("day").is_between(first, day) & pl.col("colour").is_in(list(_RANK)))
    before = (days.filter(pl.col("day").is_between(first - timedelta(days=1), day - timedelta(days=1))
                          & pl.col("colour").is_not_null())
              .select(pl.col("day") + timedelta(days=1), "project_id", pl.col("colour").alias("before")))
    return (window.join(before, on=["day", "project_id"], how="left")
            .filter(_rank("colour") > _rank("before").fill_null(0))
            .select(kind=pl.lit("colour_worsened"), project_id="project_id", about="day", colour="colour",
                    before="before"))


def persisting(events: pl.LazyFrame, days: pl.DataFrame, day: date, colours: ColourRules = DEFAULT_COLOURS
               ) -> pl.DataFrame:
    """``red_persisting`` about a month end m in [D − 7, D]: red at m and at the two month ends before it (whose
    colours are folded for the projects red at m alone)."""
    found = []
    for m in month_ends_in(day - timedelta(days=BEHIND_DAYS), day):
        red = days.filter((pl.col("day") == m) & (pl.col("colour") == "red"))["project_id"].unique()
        if not red.len():
            continue
        _, m1, m2 = _three_month_ends(m)
        before = coloured_days(events.filter(pl.col("project_id").is_in(red.implode())), [m2, m1], colours)
        reds = [set(before.filter((pl.col("day") == e) & (pl.col("colour") == "red"))["project_id"]) for e in (m1, m2)]
        found += [(p, m) for p in sorted(set(red).intersection(*reds))]
    return pl.DataFrame(found, schema={"project_id": pl.Utf8, "about": pl.Date}, orient="row").select(
        kind=pl.lit("red_persisting"), project_id="project_id", about="about", colour=pl.lit("red"))


def milestones_due(days: pl.DataFrame, day: date) -> pl.DataFrame:
    """``milestone_due`` about each due date in [D − 7, D + 7]: at the end of some day d ≤ D, a project with a
    colour has an open milestone due on d … d + 7; with the colour of the first such day."""
    opens = [f"open_{m}" for m in MILESTONES]
    long = (days.filter(pl.col("colour").is_not_null() & (pl.col("day") <= day)
                        & pl.any_horizontal(pl.col(o).is_between(pl.col("day"), pl.col("day") + AHEAD_DAYS_DELTA)
                                            for o in opens))
            .unpivot(index=["day", "project_id", "colour"], on=opens,
                     variable_name="milestone", value_name="due")
            .filter(pl.col("due").is_not_null())
            .filter((pl.col("due") >= pl.col("day")) & (pl.col("due") <= pl.col("day") + timedelta(days=AHEAD_DAYS))
                    & (pl.col("due") >= day - timedelta(days=BEHIND_DAYS))))
    return (long.sort("day").group_by("project_id", "milestone", "due", maintain_order=True).first()
            .select(kind=pl.lit("milestone_due"), project_id="project_id", about="due",
                    milestone=pl.col("milestone").str.strip_prefix("open_"), colour="colour", due="due"))


def issues_overdue(events: pl.LazyFrame, days: pl.DataFrame, day: date) -> pl.DataFrame:
    """``issue_overdue`` about each due date in [D − 7, D): at the end of some day d ≤ D, an open issue of a
    project in the pools and not dropped is due before d; with the issue's fields of the first such day."""
    names = events.collect_schema().names()
    if "issue_id" not in names:
        return pl.DataFrame()
    first = day - timedelta(days=BEHIND_DAYS)
    issues = events.filter(pl.col("issue_id").is_not_null()).select(c for c in ISSUE_COLUMNS if c in names)
    # an issue's due date as of a day is that of one of its raises: only issues with one in the window can be overdue
    candidates = issues.filter((pl.col("event_type") == "issue_raised") & pl.col("due").is_between(first, day)
                               ).select("project_id", "issue_id").unique()
    issues = issues.join(candidates, on=["project_id", "issue_id"], how="semi").collect()
    found = []
    for d in (first + timedelta(days=k) for k in range(1, BEHIND_DAYS + 1)):
        active = days.filter((pl.col("day") == d) & pl.col("active")).select("project_id", "colour")
        found.append(issue_state(issues, day_end(d))
                     .filter(pl.col("open") & (pl.col("due") < d) & (pl.col("due") >= first))
                     .join(active, on="project_id", how="inner").with_columns(day=pl.lit(d)))
    long = pl.concat(found)
    return (long.sort("day").group_by("project_id", "issue_id", "due", maintain_order=True).first()
            .select(kind=pl.lit("issue_overdue"), project_id="project_id", about="due", issue_id="issue_id",
                    colour="colour", due="due", category="category", issue_department="department"))


def _people(events: pl.LazyFrame, projects: pl.Series) -> pl.DataFrame:
    """Each project's name, leader and department as of the latest event of the log."""
    ev = events.filter(pl.col("project_id").is_in(projects.implode()))
    latest = ev.select(pl.col("occurred_at").max()).collect().item()
    state = project_state(ev, latest + timedelta(microseconds=1))
    return state.select(pl.col("project_id").cast(pl.Utf8),
                        *(pl.col(c).cast(pl.Utf8) if c in state.columns else pl.lit(None, pl.Utf8).alias(c)
                          for c in ("name", "leader", "department")))


def records(found: pl.DataFrame, people: pl.DataFrame, day: date) -> pl.DataFrame:
    """The reminder records (:data:`RECORD_SCHEMA`) of what was found, with their text in Chinese."""
    for column in ("milestone", "issue_id", "due", "before", "category", "issue_department"):
        if column not in found.columns:
            found = found.with_columns(pl.lit(None).alias(column))
    rows = []
    for r in found.join(people, on="project_id", how="left").iter_rows(named=True):
        names = r["milestone"] or r["issue_id"] or ""
        rows.append({
            "reminder_id": f"{r['kind']}:{r['project_id']}:{r['about'].isoformat()}:{names}",
            "kind": r["kind"], "project_id": r["project_id"], "project_name": r["name"], "about": r["about"],
            "milestone": r["milestone"], "issue_id": r["issue_id"], "computed_for": day, "leader": r["leader"],
            "department": r["department"], "colour": r["colour"], "due": r["due"], "text": text_of(r),
        })
    order = {k: i for i, k in enumerate(KINDS)}
    rows.sort(key=lambda r: (order[r["kind"]], r["about"], r["project_id"], r["milestone"] or r["issue_id"] or ""))
    return pl.DataFrame(rows, schema=RECORD_SCHEMA, orient="row")


def _to_whom(r: dict) -> str:
    leader = r.get("leader") or ""
    leader = leader if not leader or "领导" in leader else f"分包领导{leader}"  # 县处级领导丁 is titled already
    who = "、".join(x for x in (leader, r.get("department") or "") if x)
    return f"请{who}" if who else "请责任单位"


def text_of(r: dict) -> str:
    """The one Chinese sentence a reminder tells its recipient."""
    name, about, kind = r.get("name") or r["project_id"], r["about"], r["kind"]
    if kind == "colour_worsened":
        change = (f"由{_COLOUR_ZH[r['before']]}转为{_COLOUR_ZH[r['colour']]}" if r.get("before")
                  else f"转为{_COLOUR_ZH[r['colour']]}")
        return f"【督办提醒】项目“{name}”督查颜色于{about:%Y年%-m月%-d日}{change}，{_to_whom(r)}及时研究推进。"
    if kind == "red_persisting":
        return (f"【督办提醒】项目“{name}”截至{about:%Y年%-m月%-d日}已连续三个月末为红色，"
                f"{_to_whom(r)}重点督办。")
    if kind == "milestone_due":
        return (f"【临期提醒】项目“{name}”计划于{about:%Y年%-m月%-d日}{_MILESTONE_ZH[r['milestone']]}，"
                f"{_to_whom(r)}抓紧推进。")
    category = _CATEGORY_ZH.get(r.get("category") or "", "")
    lead = f"，牵头单位{r['issue_department']}" if r.get("issue_department") else ""
    detail = f"（{category}类{lead}）" if category else (f"（{lead[1:]}）" if lead else "")
    return (f"【超期提醒】项目“{name}”的问题“{r['issue_id']}”{detail}办结时限为{about:%Y年%-m月%-d日}，"
            f"已超期未办结，{_to_whom(r)}督促办结。")
