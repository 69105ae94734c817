"""The period's bulletin (月通报 / 季度通报 / 年度通报): its figures from a replay, then its content model.

:func:`figures` computes everything the bulletin says (pure functions of the replay's tables);
:func:`content` writes it as a :class:`streams.documents.model.Document` for officials. The period
is a month, a quarter or a year (CST). Its *end* is its last day, or the replay's as-of date when
that comes first (the bulletin of a period not yet over, which the document says).

- **Headline** (总体情况): the year's figures to the end of the period against the year's targets
  (:func:`streams.core.targets.year_metrics` of the state with every stage reached after the end
  taken away), with the share of the year elapsed (时序进度).
- **Pools and flows** (四库): projects and investment in each pool at the end of the period and
  of the period before (the ``pools_over_time`` month ends); projects reaching each stage in the
  period and in the period before, and the amounts signed and started.
- **Trips** (外出招商): the year's counted trips to the end of the period by kind against the trip targets,
  a table by team (组别) of trips, people, days, companies visited, valid leads and the projects from the
  team's trips planned and signed in the year, and the teams' signed amount against its target (§8).
- **Bottlenecks** (解瓶颈清障碍): projects cleared in the year against the target (or last year's), open issues
  by category and the overdue ones, with lead department and days overdue at the end of the period (§9).
- **Rankings** (评比): the ``rankings`` rows of the period, per unit dimension, with the 红黑榜.
- **Red list** (红色项目): projects red at the end of the period (``supervision_over_time``), with
  their leader and department, most overdue first.
- **Weekly meeting** (周例会调度): projects whose colour at the end of the period differs from their
  colour at the end of the period before (both coloured), worst first; and milestones due in the
  seven days after the end, not reached by then.

Project names, leaders, departments and plans are those of the replay's state (as of its as-of
date): a replay as of the period's last day gives them exactly as they were then. So are the trips'
standing reports (a trip counts up to the end when it departed by then) and the issues' categories,
departments and due dates (an issue is open at the end when raised before it and not resolved by then).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import polars as pl

from streams.contract.events import MILESTONES, STAGES, YUAN_PER_YI
from streams.core.bottlenecks import bottlenecks_of, issues_at, overdue_issues
from streams.core.clock import day_of, period_bounds, previous_period
from streams.core.fold import DEFAULT_COLOURS, planned, reached
from streams.core.rankings import DEFAULT_RULES, UNITS, RankingRules, last_month, parse_period
from streams.core.targets import trip_and_issue_metrics, year_metrics
from streams.core.trips import TEAM_COLUMNS, departed_by, from_trip_references, trips_by_team, trips_by_year
from streams.documents import chinese as zh
from streams.documents.model import Document, Figure, Heading, Paragraph, Table
from streams.documents.sources import BulletinData

#: metric -> (what it is called, its unit); the headline's order
METRICS: dict[str, tuple[str, str]] = {
    "planned": ("新谋划项目", "个"), "negotiating": ("新洽谈项目", "个"), "signed": ("新签约项目", "个"),
    "signed_yuan": ("签约金额", "亿元"), "signed_lead_yuan": ("其中主导产业签约金额", "亿元"),
    "signed_projects_50yi": ("50亿元以上签约项目", "个"), "started": ("新开工（落地）项目", "个"),
    "started_yuan": ("新开工项目投资", "亿元"), "completed": ("竣工项目", "个"), "operating": ("投产项目", "个"),
    "leader_led": ("党政主要领导带队外出考察走访企业", "次"), "team": ("小分队外出招商", "次"),
    "team_signed_yuan": ("小分队招商签约额", "亿元"), "projects_cleared": ("解瓶颈清障碍项目", "个"),
}
#: what the headline shows for a year without targets
UNTARGETED = ("signed", "signed_yuan", "started", "started_yuan")
FIGURE_NAMES = {"signings": "新签约项目数", "signed_yuan": "签约金额", "starts": "新开工项目数",
                "started_yuan": "开工投资额", "conversion": "年内谋划项目落地转化率", "red": "期末红色项目数",
                "projects": "在库项目数", "planned_ytd": "年内谋划项目数", "landed_ytd": "年内谋划已落地项目数"}
WEEK = 7


@dataclass
class Figures:
    """Everything a bulletin says, computed; ``content`` only writes it."""

    period: str
    previous: str
    start: datetime
    end: datetime  #: exclusive: the period's end or the replay's cut-off, whichever comes first
    as_of: date
    headline: list[dict]  #: metric, name, unit, target, actual, attainment
    elapsed: float  #: share of the year elapsed at the end
    pools: pl.DataFrame  #: pool, count, investment_yuan, previous_count, previous_investment_yuan
    flows: pl.DataFrame  #: stage, count, previous
    amounts: dict  #: signed_yuan, started_yuan and previous_signed_yuan, previous_started_yuan
    rankings: pl.DataFrame  #: the rankings table's rows of the period
    red: pl.DataFrame  #: project_id, name, leader, department, days_late, months_in_colour
    changes: pl.DataFrame  #: project_id, name, leader, department, before, after
    due: pl.DataFrame  #: project_id, name, milestone, due, leader, department
    source: str
    rules: RankingRules = DEFAULT_RULES
    targets_year: bool = True  #: whether the year has targets
    meta: dict = field(default_factory=dict)
    trips: dict = field(default_factory=dict)  #: the year's trips to the end (:func:`trip_figures`)
    teams: pl.DataFrame | None = None  #: the year's trips by team to the end (``trips_by_team``)
    issues: dict = field(default_factory=dict)  #: §9's ``bottlenecks`` at the end (:func:`issue_figures`)
    overdue: pl.DataFrame | None = None  #: the overdue issues at the end (``overdue_issues``)

    @property
    def end_day(self) -> date:
        return day_of(self.end)

    @property
    def complete(self) -> bool:
        """Whether the whole period is over at the replay's as-of date."""
        return self.end == period_bounds(self.period)[1]


def _within(column: str, start: datetime, end: datetime) -> pl.Expr:
    return pl.col(column).is_not_null() & (pl.col(column) >= start) & (pl.col(column) < end)


def state_before(state: pl.DataFrame, end: datetime) -> pl.DataFrame:
    """The state with every stage reached at or after ``end`` taken away: what had been reached by then."""
    return state.with_columns([pl.when(pl.col(reached(s)) < end).then(pl.col(reached(s))).alias(reached(s))
                               for s in STAGES])


def headline(state: pl.DataFrame, targets: dict, period: str, end: datetime, **frames: pl.DataFrame | None
             ) -> tuple[list[dict], bool]:
    """The year's figures up to ``end`` against the year's targets (all untargeted ones: :data:`UNTARGETED`);
    ``frames``: the trips, projects from trips and issues as they stood at the end (:func:`frames_at`)."""
    year = int(period[:4])
    actual = year_metrics(state_before(state, end), year, **frames)
    goals = targets.get(str(year), {})
    metrics = [m for m in METRICS if m in goals] or list(UNTARGETED)
    rows = []
    for m in metrics:
        name, unit = METRICS[m]
        target = goals.get(m)
        rows.append({"metric": m, "name": name, "unit": unit, "target": target, "actual": actual[m],
                     "attainment": actual[m] / target if target else None})
    return rows, bool(goals)


def _elapsed(period: str, end: datetime) -> float:
    year_start, year_end = period_bounds(period[:4])
    return min(max((end - year_start) / (year_end - year_start), 0.0), 1.0)


def pools_at_ends(pools_over_time: pl.DataFrame, month: str | None, previous_month: str | None) -> pl.DataFrame:
    def at(m: str | None, prefix: str) -> pl.DataFrame:
        rows = pools_over_time.filter(pl.col("month") == m) if m else pools_over_time.clear()
        return rows.select("pool", pl.col("count").alias(f"{prefix}count"),
                           pl.col("investment_yuan").alias(f"{prefix}investment_yuan"))
    frame = pl.DataFrame({"pool": list(zh.POOLS)})
    return (frame.join(at(month, ""), on="pool", how="left").join(at(previous_month, "previous_"), on="pool", how="left")
            .with_columns(pl.exclude("pool").fill_null(0).cast(pl.Int64)))


def flows_between(state: pl.DataFrame, start: datetime, end: datetime) -> dict:
    """Projects reaching each stage in [start, end), and the amounts signed and started then."""
    s = state.filter(pl.col("in_pools"))
    out = {st: s.filter(_within(reached(st), start, end)).height for st in STAGES}
    out["signed_yuan"] = int(s.filter(_within(reached("signed"), start, end))["signed_yuan"].sum() or 0)
    out["started_yuan"] = int(s.filter(_within(reached("started"), start, end))["started_yuan"].sum() or 0)
    return out


def _months(period: str, cutoff: datetime) -> tuple[str | None, str | None]:
    """The month ends of the period and of the one before that the month-end tables hold."""
    previous = previous_period(period)
    before = last_month(previous, cutoff) if period_bounds(previous)[0] < cutoff else None
    return last_month(period, cutoff), before


_OWNER = ("project_id", "name", "leader", "department")


def red_list(supervision: pl.LazyFrame, state: pl.DataFrame, month: str) -> pl.DataFrame:
    """Projects red at the end of ``month``, most overdue first (those red for no plan, by dwelling, last)."""
    red = (supervision.filter((pl.col("month") == month) & (pl.col("colour") == "red"))
           .select("project_id", "days_late", "months_in_colour").collect())
    return (red.join(state.select(_OWNER), on="project_id", how="left")
            .select(*_OWNER, "days_late", "months_in_colour")
            .sort(["days_late", "months_in_colour", "project_id"], descending=[True, True, False], nulls_last=True))


def colour_changes(supervision: pl.LazyFrame, state: pl.DataFrame, month: str, before: str | None) -> pl.DataFrame:
    """Projects coloured at both ends whose colour changed, the worst now first, then the biggest change."""
    now = supervision.filter(pl.col("month") == month).select("project_id", after="colour").collect()
    if before is None:
        then = pl.DataFrame(schema={"project_id": pl.Utf8, "before": pl.Utf8})
    else:
        then = supervision.filter(pl.col("month") == before).select("project_id", before="colour").collect()
    severity = {c: float(v) for c, v in zh.SEVERITY.items()}
    changed = now.join(then, on="project_id").filter(pl.col("before") != pl.col("after")).with_columns(
        _after=pl.col("after").replace_strict(severity, return_dtype=pl.Float64),
        _before=pl.col("before").replace_strict(severity, return_dtype=pl.Float64))
    return (changed.join(state.select(_OWNER), on="project_id", how="left")
            .sort(["_after", pl.col("_after") - pl.col("_before"), "project_id"], descending=[True, True, False])
            .select(*_OWNER, "before", "after"))


def due_soon(state: pl.DataFrame, end: datetime, days: int = WEEK) -> pl.DataFrame:
    """Open milestones (planned, not reached by ``end``) of projects in the pools and not dropped, due in
    the ``days`` days after the end's day; by due date."""
    first, last = day_of(end) + timedelta(days=1), day_of(end) + timedelta(days=days)
    live = state.filter(pl.col("in_pools") & ~pl.col("dropped"))
    parts = []
    for m in MILESTONES:
        if planned(m) not in live.columns:
            continue
        open_ = pl.col(reached(m)).is_null() | (pl.col(reached(m)) >= end)
        parts.append(live.filter(open_ & pl.col(planned(m)).is_between(first, last))
                     .select(*_OWNER, milestone=pl.lit(m), due=pl.col(planned(m))))
    if not parts:
        return pl.DataFrame(schema={**{c: pl.Utf8 for c in _OWNER}, "milestone": pl.Utf8, "due": pl.Date})
    return pl.concat(parts).sort("due", "project_id", "milestone")


def frames_at(data: BulletinData, end: datetime) -> dict[str, pl.DataFrame | None]:
    """The trips departed by ``end``, the projects from trips planned by then and the issues as they stood then,
    for :func:`streams.core.targets.year_metrics`."""
    from_trips = None
    if data.trip_references is not None:
        from_trips = from_trip_references(state_before(data.state, end), data.trip_references, data.trips)
        from_trips = from_trips.filter(pl.col("reached_at_planned").is_not_null())
    return {"trips": departed_by(data.trips, end), "from_trips": from_trips, "issues": issues_at(data.issues, end)}


def trip_figures(data: BulletinData, frames: dict, label: str, start: datetime, end: datetime
                 ) -> tuple[dict, pl.DataFrame]:
    """The year's trips to ``end`` (by kind and summed, the period's, the teams' signed amount) and its table by
    team, with the year's targets of §8."""
    year = label[:4]
    year_start = period_bounds(year)[0]
    teams = trips_by_team(frames["trips"], frames["from_trips"], year_start, end)
    kinds = trips_by_year(frames["trips"], None).get(year, {})
    metrics = trip_and_issue_metrics(int(year), trips=frames["trips"], from_trips=frames["from_trips"])
    goals = data.targets.get(year, {})
    return {"leader_led": kinds.get("leader_led", 0), "team": kinds.get("team", 0), "other": kinds.get("other", 0),
            "in_period": int(trips_by_team(frames["trips"], None, start, end)["trips"].sum()),
            "team_signed_yuan": metrics["team_signed_yuan"],
            "goals": {m: goals[m] for m in ("leader_led", "team", "team_signed_yuan") if m in goals}}, teams


def issue_figures(data: BulletinData, frames: dict, label: str, end: datetime) -> tuple[dict, pl.DataFrame]:
    """§9's ``bottlenecks`` as they stood at ``end``, the year's projects cleared with its target (or the year
    before's), and the overdue issues at the end's day."""
    year, end_day = label[:4], day_of(end)
    doc = bottlenecks_of(frames["issues"], data.state, end_day)
    overdue = overdue_issues(frames["issues"], data.state, end_day)
    this, last = data.targets.get(year, {}), data.targets.get(str(int(year) - 1), {})
    goal = ({"year": year, "target": this["projects_cleared"]} if "projects_cleared" in this else
            {"year": str(int(year) - 1), "target": last["projects_cleared"]} if "projects_cleared" in last else None)
    return doc | {"cleared": doc["projects_cleared"].get(year, 0),
                  "resolved_in_year": doc["resolved"].get(year, 0),
                  "any": bool(frames["issues"] is not None and frames["issues"].height), "goal": goal}, overdue


def figures(data: BulletinData, period: str, rules: RankingRules = DEFAULT_RULES) -> Figures:
    """Everything the bulletin of ``period`` (``2024-03``, ``2024-Q1``, ``2024``) says, from a replay."""
    label = parse_period(period)
    start, end = period_bounds(label)
    cutoff = data.cutoff
    if start >= cutoff:
        raise ValueError(f"the data end on {zh.day(data.as_of)} ({data.source}), before {zh.period_name(label)} "
                         f"begins: replay a later date")
    end = min(end, cutoff)
    previous = previous_period(label)
    month, before = _months(label, cutoff)
    frames = frames_at(data, end)
    rows, has_targets = headline(data.state, data.targets, label, end, **frames)
    trips, teams = trip_figures(data, frames, label, start, end)
    issues, overdue = issue_figures(data, frames, label, end)
    now, then = flows_between(data.state, start, end), flows_between(data.state, period_bounds(previous)[0], start)
    flows = pl.DataFrame({"stage": list(STAGES), "count": [now[s] for s in STAGES],
                          "previous": [then[s] for s in STAGES]})
    ranked = data.rankings.filter(pl.col("period") == label)
    return Figures(
        period=label, previous=previous, start=start, end=end, as_of=data.as_of, headline=rows,
        elapsed=_elapsed(label, end), pools=pools_at_ends(data.pools_over_time, month, before), flows=flows,
        amounts={"signed_yuan": now["signed_yuan"], "started_yuan": now["started_yuan"],
                 "previous_signed_yuan": then["signed_yuan"], "previous_started_yuan": then["started_yuan"]},
        rankings=ranked, red=red_list(data.supervision, data.state, month),
        changes=colour_changes(data.supervision, data.state, month, before), due=due_soon(data.state, end),
        source=data.source, rules=rules, targets_year=has_targets,
        meta={"period": label, "as_of": data.as_of.isoformat(), "source": data.source},
        trips=trips, teams=teams, issues=issues, overdue=overdue)


def printed(f: Figures) -> dict[str, int | float | str | None]:
    """The figures the bulletin prints for its period, flat (``bulletin.…``): what a reproduction must give
    again and a restatement compares (issue 26)."""
    out: dict = {f"bulletin.headline.{r['metric']}": r["actual"] for r in f.headline}
    out |= {f"bulletin.pools.{r['pool']}.{k}": r[k] for r in f.pools.iter_rows(named=True)
            for k in ("count", "investment_yuan")}
    out |= {f"bulletin.flows.{s}": n for s, n in zip(f.flows["stage"], f.flows["count"])}
    out |= {f"bulletin.flows.{k}": f.amounts[k] for k in ("signed_yuan", "started_yuan")}
    out |= {f"bulletin.trips.{k}": f.trips[k] for k in ("leader_led", "team", "other", "in_period",
                                                        "team_signed_yuan") if k in f.trips}
    out |= {f"bulletin.bottlenecks.{k}": f.issues[k] for k in ("cleared", "resolved_in_year", "open", "overdue")
            if k in f.issues}
    out |= {"bulletin.lists.red": f.red.height, "bulletin.lists.colour_changes": f.changes.height,
            "bulletin.lists.due": f.due.height}
    for r in f.rankings.iter_rows(named=True):
        at = f"bulletin.rankings.{r['dimension']}.{r['unit']}"
        out |= {f"{at}.{k}": r[k] for k in ("signings", "signed_yuan", "starts", "started_yuan", "red", "rank",
                                            "board") if k in r}
        out[f"{at}.score"] = None if r["score"] is None else round(r["score"], 6)
    return out


#: what each flat figure of :func:`printed` is called in a sentence, and its unit
_PRINTED_NAMES = {"pools": ("{pool}在库项目数", "个"), "flows": ("新{stage}项目数", "个")}


def figure_name(path: str, period: str) -> tuple[str, str]:
    """How an official calls a figure of :func:`printed` (or of the summary), and its unit: ``2024年第三季度新签约
    项目数``, ``个``."""
    when = zh.period_name(period)
    parts = path.split(".")
    if parts[0] == "bulletin":
        parts = parts[1:]
    group, rest = parts[0], parts[1:]
    if group == "headline" and rest[0] in METRICS:
        name, unit = METRICS[rest[0]]
        return f"{period[:4]}年累计{name}", unit
    if group == "pools" and rest and rest[0] in zh.POOLS:
        measure = "总投资" if rest[-1] == "investment_yuan" else "项目数"
        return f"{when}末{zh.POOLS[rest[0]]}{measure}", "亿元" if measure == "总投资" else "个"
    if group == "flows":
        if rest[-1] in ("signed_yuan", "started_yuan"):
            return f"{when}{'签约金额' if rest[-1] == 'signed_yuan' else '开工投资'}", "亿元"
        return f"{when}新{zh.STAGES.get(rest[-1], rest[-1])}项目数", "个"
    if group == "trips":
        names = {**zh.TRIP_KINDS, "in_period": "本期", "team_signed_yuan": "小分队招商签约额"}
        return (f"{period[:4]}年{names.get(rest[0], rest[0])}" + ("" if rest[0] == "team_signed_yuan" else "外出招商次数"),
                "亿元" if rest[0] == "team_signed_yuan" else "次")
    if group == "bottlenecks":
        names = {"cleared": "解瓶颈清障碍项目数", "resolved_in_year": "办结问题数", "open": "未办结问题数",
                 "overdue": "逾期问题数"}
        return f"{when}{names.get(rest[0], rest[0])}", "个"
    if group == "lists":
        names = {"red": "红色项目数", "colour_changes": "督查颜色变化项目数", "due": "到期节点数"}
        return f"{when}{names.get(rest[0], rest[0])}", "个"
    if group == "rankings" and len(rest) >= 3:
        names = {**FIGURE_NAMES, "rank": "名次", "score": "综合得分", "board": "榜单"}
        return f"{when}{UNITS.get(rest[0], rest[0])}评比“{rest[1]}”{names.get(rest[2], rest[2])}", ""
    return f"{when}{path}", ""


def figure_text(path: str, value) -> str:
    """A figure as the bulletin prints it (亿元 to one decimal, counts as integers)."""
    if value is None:
        return zh.DASH
    if path.endswith("_yuan"):
        return zh.yi(value)
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


# ---- the document --------------------------------------------------------------------------------

class _Numbers:
    """表1, 表2, … and 图1, 图2, … in the order they appear."""

    def __init__(self) -> None:
        self.tables = self.figures = self.sections = 0

    def section(self) -> str:
        """一、, 二、, … for the first-level headings."""
        self.sections += 1
        return f"{_SUB[self.sections - 1]}、"

    def table(self) -> str:
        self.tables += 1
        return f"表{self.tables}"

    def figure(self) -> str:
        self.figures += 1
        return f"图{self.figures}"


def _amount(row: dict, key: str) -> str:
    value = row[key]
    if value is None:
        return zh.DASH
    return zh.yi(value) if row["unit"] == "亿元" else zh.count(int(value))


def _headline_blocks(f: Figures, n: _Numbers, charts: dict) -> list:
    year = f.period[:4]
    parts = []
    for row in f.headline:
        text = f"{row['name']}{_amount(row, 'actual')}{row['unit']}"
        if row["target"]:
            text += f"，完成年度目标（{_amount(row, 'target')}{row['unit']}）的{zh.percent(row['attainment'])}"
        parts.append(text)
    intro = (f"截至{zh.day(f.end_day)}，全区{year}年累计" + "；".join(parts) + "。")
    if f.targets_year:
        intro += f"全年时序进度为{zh.percent(f.elapsed)}。"
    rows = tuple((row["name"], row["unit"], _amount(row, "target"), _amount(row, "actual"),
                  zh.percent(row["attainment"]),
                  zh.DASH if row["attainment"] is None else ("已完成" if row["attainment"] >= 1 else
                                                            "快于时序" if row["attainment"] >= f.elapsed else "慢于时序"))
                 for row in f.headline)
    table = Table(f"{n.table()}  {year}年目标任务完成情况（截至{zh.day(f.end_day)}）",
                  ("指标", "单位", "年度目标", "累计完成", "完成率", "进度"), rows,
                  (False, False, True, True, True, False),
                  note=f"时序进度{zh.percent(f.elapsed)}：完成率不低于时序进度为“快于时序”。" if f.targets_year
                  else f"{year}年未设目标任务，仅列累计完成情况。")
    blocks = [Heading(f"{n.section()}总体情况"), Paragraph(intro), table]
    if "targets" in charts:
        blocks.append(Figure(f"{n.figure()}  {year}年目标任务完成率", charts["targets"], 14.0))
    return blocks


def _pools_blocks(f: Figures, n: _Numbers, charts: dict) -> list:
    managed = f.pools.filter(pl.col("pool") != "dropped")
    total, total_yuan = int(managed["count"].sum()), int(managed["investment_yuan"].sum())
    counts = dict(zip(f.pools["pool"], f.pools["count"]))
    flows = dict(zip(f.flows["stage"], zip(f.flows["count"], f.flows["previous"])))
    previous = zh.period_name(f.previous)
    text = (f"{zh.period_name(f.period)}末，四库在库项目{total}个、总投资{zh.yi(total_yuan)}亿元，其中谋划库"
            f"{counts['planning']}个、招引库{counts['attraction']}个、签约库{counts['signed']}个、落地库"
            f"{counts['landed']}个。本期新谋划项目{flows['planned'][0]}个，新签约项目{flows['signed'][0]}个"
            f"（上期{flows['signed'][1]}个）、签约金额{zh.yi(f.amounts['signed_yuan'])}亿元，新开工（落地）项目"
            f"{flows['started'][0]}个（上期{flows['started'][1]}个）、投资{zh.yi(f.amounts['started_yuan'])}亿元。")
    pool_rows = tuple((zh.POOLS[r["pool"]], zh.count(r["count"]), zh.count(r["previous_count"]),
                       zh.signed(r["count"] - r["previous_count"]), zh.yi(r["investment_yuan"]),
                       zh.yi(r["previous_investment_yuan"]))
                      for r in f.pools.iter_rows(named=True))
    flow_rows = tuple((f"新{zh.STAGES[s]}" if s in ("planned", "negotiating", "signed", "started") else zh.STAGES[s],
                       zh.count(n), zh.count(p), zh.signed(n - p)) for s, (n, p) in flows.items())
    flow_rows += (("签约金额（亿元）", zh.yi(f.amounts["signed_yuan"]), zh.yi(f.amounts["previous_signed_yuan"]),
                   zh.signed(f.amounts["signed_yuan"] - f.amounts["previous_signed_yuan"], zh.yi)),
                  ("开工投资（亿元）", zh.yi(f.amounts["started_yuan"]), zh.yi(f.amounts["previous_started_yuan"]),
                   zh.signed(f.amounts["started_yuan"] - f.amounts["previous_started_yuan"], zh.yi)))
    blocks = [
        Heading(f"{n.section()}四库项目情况"), Paragraph(text),
        Table(f"{n.table()}  四库项目（{zh.period_name(f.period)}末与{previous}末）",
              ("项目库", "本期末（个）", "上期末（个）", "增减", "本期末总投资（亿元）", "上期末总投资（亿元）"),
              pool_rows, (False, True, True, True, True, True)),
        Table(f"{n.table()}  本期项目流转（{zh.period_name(f.period)}与{previous}）", ("事项", "本期", "上期", "增减"),
              flow_rows, (False, True, True, True), note="项目数为本期达到该阶段的项目个数（个）。"),
    ]
    if "pools" in charts:
        blocks.append(Figure(f"{n.figure()}  四库项目数（{zh.period_name(f.period)}末与{previous}末）",
                             charts["pools"], 14.0))
    return blocks


def _against(actual: float, goals: dict, metric: str, unit: str, fmt=zh.count) -> str:
    """``，完成年度目标（50次）的40.0%`` when the year has a target for ``metric``."""
    if not goals.get(metric):
        return ""
    return f"，完成年度目标（{fmt(goals[metric])}{unit}）的{zh.percent(actual / goals[metric])}"


#: short enough for nine columns on one line of each header on A4 (units in the table's note)
_TEAM_HEADERS = ("组别", "次数", "人次", "天数", "拜访企业", "有效线索", "谋划项目", "签约项目", "签约额（亿元）")


#: the attachment's headers of the counts, with their units
_TEAM_FILE_HEADERS = ("外出次数", "外出人次", "外出天数", "拜访企业（家）", "有效线索（条）", "谋划项目（个）", "签约项目（个）")


def _team_row(name: str, r: dict) -> tuple[str, ...]:
    return (name, *(zh.count(r[c]) for c in ("trips", "people", "days", "companies_visited", "valid_leads",
                                             "projects_planned", "projects_signed")), zh.yi(r["signed_yuan"]))


def _trip_blocks(f: Figures, n: _Numbers) -> list:
    year, t = f.period[:4], f.trips
    blocks: list = [Heading(f"{n.section()}外出招商")]
    teams = f.teams if f.teams is not None else pl.DataFrame()
    total = {c: int(teams[c].sum()) if teams.height else 0 for c in teams.columns if c != "team"}
    if not teams.height:
        return [*blocks, Paragraph(f"{year}年1月1日至{zh.day(f.end_day)}，无外出招商记录。")]
    goals = t.get("goals", {})
    text = (f"{year}年1月1日至{zh.day(f.end_day)}，全区外出招商{zh.count(total['trips'])}次（其中本期"
            f"{zh.count(t['in_period'])}次）。其中党政主要领导带队外出考察走访企业{zh.count(t['leader_led'])}次"
            f"{_against(t['leader_led'], goals, 'leader_led', '次')}；小分队外出招商{zh.count(t['team'])}次"
            f"{_against(t['team'], goals, 'team', '次')}；其他{zh.count(t['other'])}次。"
            f"共外出{zh.count(total['people'])}人次、{zh.count(total['days'])}天，拜访企业{zh.count(total['companies_visited'])}"
            f"家，收集有效线索{zh.count(total['valid_leads'])}条；外出招商带来谋划项目{zh.count(total['projects_planned'])}"
            f"个、签约项目{zh.count(total['projects_signed'])}个，签约额{zh.yi(total['signed_yuan'])}亿元，其中小分队"
            f"招商签约额{zh.yi(t['team_signed_yuan'])}亿元"
            f"{_against(t['team_signed_yuan'], goals, 'team_signed_yuan', '亿元', zh.yi)}。")
    rows = tuple(_team_row(r["team"] or zh.NO_TEAM, r) for r in teams.iter_rows(named=True))
    rows += (_team_row("合计", total),)
    blocks += [Paragraph(text),
               Table(f"{n.table()}  {year}年外出招商情况（按组别，截至{zh.day(f.end_day)}）", _TEAM_HEADERS, rows,
                     (False, *([True] * 8)),
                     note="次数、人次、天数、拜访企业（家）、有效线索（条）按出发日期计入本年；谋划、签约项目（个）为由该组"
                          "外出招商带来、本年谋划或签约的项目，签约额为其签约金额；天数为返回日期减出发日期加1。")]
    return blocks


def _issue_blocks(f: Figures, n: _Numbers, limit: int) -> list:
    year, b = f.period[:4], f.issues
    blocks: list = [Heading(f"{n.section()}解瓶颈清障碍")]
    if not b.get("any"):
        return [*blocks, Paragraph(f"截至{zh.day(f.end_day)}，无项目问题清单记录。")]
    goal = b["goal"]
    if goal is None:
        against = ""
    elif goal["year"] == year:
        against = f"，完成年度目标（{goal['target']:.0f}个以上）的{zh.percent(b['cleared'] / goal['target'])}"
    else:
        against = f"（{goal['year']}年目标为{goal['target']:.0f}个以上）"
    text = (f"{year}年1月1日至{zh.day(f.end_day)}，累计为{zh.count(b['cleared'])}个项目解瓶颈清障碍{against}，"
            f"办结问题{zh.count(b['resolved_in_year'])}个。")
    overdue = f.overdue if f.overdue is not None else pl.DataFrame()
    if b["open"]:
        text += f"截至{zh.day(f.end_day)}，尚未办结的问题{zh.count(b['open'])}个，其中逾期{zh.count(b['overdue'])}个。"
    else:
        text += f"截至{zh.day(f.end_day)}，无尚未办结的问题。"
    blocks.append(Paragraph(text))
    if b["open"]:
        late = dict(overdue.group_by("category").len().iter_rows()) if overdue.height else {}
        rows = tuple((zh.ISSUE_CATEGORIES.get(c, c), zh.count(b["open_by_category"][c]), zh.count(late.get(c, 0)))
                     for c in zh.ISSUE_CATEGORIES if c in b["open_by_category"])
        rows += (("合计", zh.count(b["open"]), zh.count(b["overdue"])),)
        blocks.append(Table(f"{n.table()}  未办结问题（按类别，截至{zh.day(f.end_day)}）",
                            ("问题类别", "未办结（个）", "其中逾期（个）"), rows, (False, True, True)))
    if overdue.height:
        shown = "" if overdue.height <= limit else f"下表列出逾期时间最长的{limit}个，完整清单见附件。"
        blocks.append(Paragraph(f"逾期问题{overdue.height}个，请牵头单位加快办理。{shown}"))
        rows = tuple((str(i), r["name"] or r["project_id"], zh.ISSUE_CATEGORIES.get(r["category"], zh.DASH),
                      r["department"] or zh.DASH, zh.day(r["due"]), zh.count(r["days_overdue"]))
                     for i, r in enumerate(overdue.head(limit).iter_rows(named=True), start=1))
        blocks.append(Table(f"{n.table()}  逾期问题清单", ("序号", "项目名称", "问题类别", "牵头单位", "办结时限",
                                                            "逾期天数"), rows, (True, False, False, False, False, True),
                            wrap=(1,), note=f"逾期天数为办结时限至{zh.day(f.end_day)}的天数。"))
    return blocks


def _method(rules: RankingRules) -> str:
    weights = [(FIGURE_NAMES.get(name, name), w) for name, w in rules.weights]
    plus = "、".join(f"{n}（{abs(w) * 100:.0f}%）" for n, w in weights if w > 0)
    minus = "、".join(f"{n}（{abs(w) * 100:.0f}%）" for n, w in weights if w < 0)
    text = (f"评比以{plus}为加分项" + (f"，{minus}为扣分项" if minus else "") +
            "：各项指标先换算为同类单位中的标准分（高于或低于平均水平几个标准差），再按权重加总为综合得分，"
            "得分为正即高于平均水平。年内谋划项目落地转化率为本年谋划的项目中截至期末已开工（落地）的比例。"
            f"红榜为得分前{rules.board}名且高于平均水平的单位，黑榜为得分后{rules.board}名且低于平均水平的单位；"
            "得分相同的单位名次相同。")
    return text


_SUB = "一二三四五六七八九十"


def _ranking_blocks(f: Figures, n: _Numbers, charts: dict) -> list:
    word = zh.period_word(f.period)
    blocks: list = [Heading(f"{n.section()}{word}评比"), Paragraph(_method(f.rules))]
    board = {"top": "红榜", "bottom": "黑榜"}
    for i, dimension in enumerate(f.rules.units):
        name = UNITS[dimension]
        rows = f.rankings.filter(pl.col("dimension") == dimension).sort("rank", "unit")
        blocks.append(Heading(f"（{_SUB[i]}）{name}评比", 2))
        if rows.is_empty():
            blocks.append(Paragraph(f"本期无可评比的{name}。"))
            continue
        top = rows.filter(pl.col("board") == "top")["unit"].to_list()
        bottom = rows.filter(pl.col("board") == "bottom").sort("score", "unit")["unit"].to_list()
        blocks.append(Paragraph(f"参评{name}{rows.height}个。红榜：{'、'.join(top) or '无'}；"
                                f"黑榜：{'、'.join(bottom) or '无'}。"))
        table_rows = tuple((str(r["rank"]), r["unit"], zh.count(r["signings"]), zh.yi(r["signed_yuan"]),
                            zh.count(r["starts"]), zh.yi(r["started_yuan"]), zh.percent(r["conversion"]),
                            zh.count(r["red"]), f"{r['score']:.2f}", zh.rank_change(r["rank_change"]),
                            board.get(r["board"], ""))
                           for r in rows.iter_rows(named=True))
        blocks.append(Table(f"{n.table()}  {zh.period_name(f.period)}{name}评比",
                            ("名次", name, "新签约（个）", "签约额（亿元）", "新开工（个）", "开工投资（亿元）",
                             "落地转化率", "红色项目（个）", "得分", "较上期", "榜单"),
                            table_rows, (True, False, True, True, True, True, True, True, True, False, False)))
        if f"scores:{dimension}" in charts:
            blocks.append(Figure(f"{n.figure()}  {zh.period_name(f.period)}{name}综合得分",
                                 charts[f"scores:{dimension}"], 15.0))
    return blocks


def _owner(row: dict) -> tuple[str, str]:
    return row["leader"] or zh.DASH, row["department"] or zh.DASH


def _lists_blocks(f: Figures, n: _Numbers, limit: int) -> list:
    dwell = DEFAULT_COLOURS.dwell[-1][1]
    red_rows = tuple((str(i), r["name"] or r["project_id"], *_owner(r),
                      zh.DASH if r["days_late"] is None else zh.count(r["days_late"]), zh.count(r["months_in_colour"]))
                     for i, r in enumerate(f.red.head(limit).iter_rows(named=True), start=1))
    shown = "" if f.red.height <= limit else f"下表列出逾期时间最长的{limit}个，完整名单见附件。"
    blocks: list = [
        Heading(f"{n.section()}红色督办项目"),
        Paragraph(f"截至{zh.day(f.end_day)}，亮红灯项目{f.red.height}个。{shown}" if f.red.height else
                  f"截至{zh.day(f.end_day)}，无亮红灯项目。"),
    ]
    if f.red.height:
        blocks.append(Table(f"{n.table()}  红色督办项目清单", ("序号", "项目名称", "分包领导", "责任单位", "逾期天数",
                                                               "连续红灯月数"),
                            red_rows, (True, False, False, False, True, True), wrap=(1,),
                            note=f"逾期天数为最早未完成节点的计划日期至{zh.day(f.end_day)}的天数；为“—”的项目未设"
                                 f"节点计划，因超过{dwell}天无阶段进展亮红灯。"))
    blocks.append(Heading(f"{n.section()}周例会调度事项"))
    blocks.append(Heading("（一）督查颜色变化的项目", 2))
    if f.changes.height:
        worse = f.changes.filter(pl.col("after").replace_strict(zh.SEVERITY, return_dtype=pl.Int64) >
                                 pl.col("before").replace_strict(zh.SEVERITY, return_dtype=pl.Int64)).height
        more = "" if f.changes.height <= limit else f"下表列出{limit}个（先列转红、转黄的项目），完整名单见附件。"
        blocks.append(Paragraph(f"与{zh.period_name(f.previous)}末相比，{f.changes.height}个项目督查颜色发生变化，"
                                f"其中{worse}个转差、{f.changes.height - worse}个好转。{more}"))
        rows = tuple((str(i), r["name"] or r["project_id"], *_owner(r), f"{zh.COLOURS[r['before']]}灯",
                      f"{zh.COLOURS[r['after']]}灯") for i, r in enumerate(f.changes.head(limit).iter_rows(named=True), 1))
        blocks.append(Table(f"{n.table()}  督查颜色变化的项目", ("序号", "项目名称", "分包领导", "责任单位", "上期末",
                                                                 "本期末"), rows, (True,), wrap=(1,)))
    else:
        blocks.append(Paragraph(f"与{zh.period_name(f.previous)}末相比，无督查颜色变化的项目。"))
    first, last = f.end_day + timedelta(days=1), f.end_day + timedelta(days=WEEK)
    blocks.append(Heading(f"（二）未来{WEEK}日到期的节点（{first.month}月{first.day}日至{last.month}月{last.day}日）", 2))
    if f.due.height:
        blocks.append(Paragraph(f"{f.due.height}个项目节点将于未来{WEEK}日内到期，请分包领导和责任单位提前调度。"))
        rows = tuple((str(i), r["name"] or r["project_id"], zh.STAGES[r["milestone"]], zh.day(r["due"]), *_owner(r))
                     for i, r in enumerate(f.due.head(limit).iter_rows(named=True), 1))
        blocks.append(Table(f"{n.table()}  未来{WEEK}日到期的节点", ("序号", "项目名称", "节点", "计划完成日期",
                                                                     "分包领导", "责任单位"), rows, (True,),
                            wrap=(1,)))
    else:
        blocks.append(Paragraph(f"未来{WEEK}日内无到期的项目节点。"))
    return blocks


def _correction_blocks(f: Figures, n: _Numbers, corrections: tuple[str, ...]) -> list:
    """数据更正: the figures of the previous bulletin that changed since it was issued, each with its reasons."""
    if not corrections:
        return []
    intro = (f"{zh.period_name(f.previous)}通报印发后，因迟报、更正、台账导入等记录，部分数据发生变化，"
             "现更正如下：")
    return [Heading(f"{n.section()}数据更正"), Paragraph(intro), *(Paragraph(text) for text in corrections)]


def content(f: Figures, limit: int = 50, charts: dict[str, bytes] | None = None,
            corrections: tuple[str, ...] = ()) -> Document:
    """The bulletin as a content model: no code, no column names; lists cut at ``limit`` rows
    (the full lists go to the attachments). ``charts``: PNGs from :func:`streams.documents.charts.charts`;
    ``corrections``: the sentences of its 数据更正 section (none: no section)."""
    charts = charts or {}
    name = zh.period_name(f.period)
    n = _Numbers()
    blocks = [*_headline_blocks(f, n, charts), *_pools_blocks(f, n, charts), *_trip_blocks(f, n),
              *_issue_blocks(f, n, limit), *_ranking_blocks(f, n, charts), *_lists_blocks(f, n, limit),
              *_correction_blocks(f, n, tuple(corrections))]
    status = "" if f.complete else f"（{name}尚未结束，数据截至{zh.day(f.end_day)}）"
    return Document(
        title=f"二七区招商引资项目{name}通报",
        subtitle=f"（数据截至{zh.day(f.end_day)}）{status}",
        blocks=tuple(blocks),
        meta=f.meta | {"end": f.end_day.isoformat()})


def attachments(f: Figures) -> dict[str, pl.DataFrame]:
    """The full lists, with Chinese headers, for CSV attachments (a document shows at most ``limit`` rows)."""
    teams = f.teams if f.teams is not None else pl.DataFrame(schema={c: pl.Int64 for c in TEAM_COLUMNS} | {
        "team": pl.Utf8})
    overdue = f.overdue if f.overdue is not None else overdue_issues(None, pl.DataFrame(), f.end_day)
    return {
        "外出招商分组": teams.select(pl.col("team").fill_null(zh.NO_TEAM).alias("组别"),
                               *(pl.col(c).alias(h) for c, h in zip(TEAM_COLUMNS[1:8], _TEAM_FILE_HEADERS)),
                               (pl.col("signed_yuan") / YUAN_PER_YI).round(2).alias("签约额（亿元）")),
        "逾期问题": overdue.select(pl.col("project_id").alias("项目编号"), pl.col("name").alias("项目名称"),
                               pl.col("issue_id").alias("问题编号"),
                               pl.col("category").replace_strict(zh.ISSUE_CATEGORIES, default=None).alias("问题类别"),
                               pl.col("department").alias("牵头单位"), pl.col("due").alias("办结时限"),
                               pl.col("days_overdue").alias("逾期天数")),
        "红色督办项目": f.red.select(pl.col("project_id").alias("项目编号"), pl.col("name").alias("项目名称"),
                                 pl.col("leader").alias("分包领导"), pl.col("department").alias("责任单位"),
                                 pl.col("days_late").alias("逾期天数"), pl.col("months_in_colour").alias("连续红灯月数")),
        "督查颜色变化": f.changes.select(pl.col("project_id").alias("项目编号"), pl.col("name").alias("项目名称"),
                                   pl.col("leader").alias("分包领导"), pl.col("department").alias("责任单位"),
                                   pl.col("before").replace_strict(zh.COLOURS).alias("上期末"),
                                   pl.col("after").replace_strict(zh.COLOURS).alias("本期末")),
        "到期节点": f.due.select(pl.col("project_id").alias("项目编号"), pl.col("name").alias("项目名称"),
                              pl.col("milestone").replace_strict(zh.STAGES).alias("节点"),
                              pl.col("due").alias("计划完成日期"), pl.col("leader").alias("分包领导"),
                              pl.col("department").alias("责任单位")),
    }
