"""The board's document (督查大屏): the figures of one source, arranged for the page, whole or not at all.

Every figure comes from the source (computed by the core in a worker or a replay); here they are only picked,
labelled in Chinese, put in 亿元 and given the link to the projects behind them.
"""

from __future__ import annotations

import logging
from datetime import date

from streams import config
from streams.contract.events import YUAN_PER_YI
from streams.core.clock import now_cst, period_label
from streams.serve.figures import FigureSource, NotAvailable, ProjectFilter, Rebalancing

log = logging.getLogger(__name__)

POOLS = {"planning": "谋划项目库", "attraction": "招引项目库", "signed": "签约项目库", "landed": "落地项目库"}
COLOURS = {"red": "红", "yellow": "黄", "blue": "蓝", "green": "绿"}
STAGES_ZH = {"planned": "谋划", "negotiating": "洽谈", "signed": "签约", "started": "开工", "completed": "竣工",
             "operating": "投产"}
#: metric -> (label, unit: "个", "次", "亿元")
METRICS_ZH = {
    **{s: (f"{z}项目数", "个") for s, z in STAGES_ZH.items()},
    "signed_yuan": ("签约额", "亿元"), "signed_lead_yuan": ("主导产业签约额", "亿元"),
    "signed_projects_50yi": ("50亿元以上签约项目", "个"), "started_yuan": ("新开工项目投资", "亿元"),
    "leader_led": ("党政主要领导带队外出", "次"), "team": ("小分队外出招商", "次"),
    "team_signed_yuan": ("小分队招商签约额", "亿元"), "projects_cleared": ("解瓶颈清障碍项目", "个"),
}
CATEGORIES_ZH = {"planning": "规划", "land": "土地", "approval": "审批手续", "funding": "资金", "demolition": "征拆",
                 "utilities": "要素保障", "environment": "建设环境", "technology": "技术", "other": "其他"}
DIMENSION = "department"
RED_LIST_LIMIT = 50
REBALANCING_TEXT = "正在重新平衡，稍后刷新"


def yi(yuan: float | int | None) -> float | None:
    """Yuan in 亿元, to two decimals."""
    return None if yuan is None else round(yuan / YUAN_PER_YI, 2)


def link(**which: str) -> str:
    """The filtered project list behind a figure."""
    query = ProjectFilter(**which).query()
    return "/projects" + (f"?{query}" if query else "")


def pools_part(doc: dict) -> list[dict]:
    """The four pools: count and investment (亿元), each linked to its projects."""
    return [{"pool": pool, "label": label, "count": doc["pools"].get(pool, {}).get("count", 0),
             "investment_yi": yi(doc["pools"].get(pool, {}).get("investment_yuan", 0)), "href": link(pool=pool)}
            for pool, label in POOLS.items()]


def target_row(metric: str, target: float, actual: float | None) -> dict:
    """One metric against its target, in the units the page shows."""
    label, unit = METRICS_ZH.get(metric, (metric, ""))
    scale = yi if unit == "亿元" else (lambda v: v)
    return {"metric": metric, "label": label, "unit": unit, "target": scale(target),
            "actual": None if actual is None else scale(actual),
            "attainment": None if actual is None or not target else round(actual / target, 4)}


def targets_part(source: FigureSource, doc: dict, year: int, targets: dict) -> list[dict]:
    """The year's figures against the targets: the source's targets table (a replay's, or the workers' ``/targets``:
    the money targets and projects cleared included), else those the summary holds (stage flows, trips by kind; a
    figure the summary lacks is shown as unknown)."""
    try:
        table = [r for r in source.targets() if r["year"] == year]
        return [target_row(r["metric"], r["target"], r["actual"]) for r in table]
    except NotAvailable:
        pass
    goals = targets.get(str(year), {})
    flows = doc["flows"].get(str(year), {})
    trips = doc["trips"].get(str(year), {})
    known = {**{s: flows.get(s, 0) for s in STAGES_ZH}, "leader_led": trips.get("leader_led", 0),
             "team": trips.get("team", 0)}
    return [target_row(metric, target, known.get(metric)) for metric, target in goals.items()]


def colours_part(source: FigureSource, doc: dict) -> dict:
    """Counts by colour and the red list (leader, department, days overdue), worst first."""
    counts = [{"colour": c, "label": z, "count": doc["supervision"].get(c, 0), "href": link(colour=c)}
              for c, z in COLOURS.items()]
    try:
        reds = source.projects(ProjectFilter(colour="red"), limit=RED_LIST_LIMIT)
    except NotAvailable:
        reds = None
    red_list = None if reds is None else [
        {"project_id": r["project_id"], "name": r.get("name"), "leader": r.get("leader"),
         "department": r.get("department"), "days_late": r.get("days_late"),
         "days_since_advance": r.get("days_since_advance"), "href": f"/projects/{r['project_id']}"}
        for r in reds]
    return {"counts": counts, "red_total": doc["supervision"].get("red", 0), "red_list": red_list}


def ranking_part(source: FigureSource, period: str) -> dict:
    """The month's ranking of the departments, with the 红黑榜."""
    ranked = [r for r in source.rankings(period) if r["dimension"] == DIMENSION]
    ranked.sort(key=lambda r: (r["rank"], r["unit"]))
    shown = [{"unit": r["unit"], "rank": r["rank"], "score": r["score"], "rank_change": r["rank_change"],
              "signings": r["signings"], "signed_yi": yi(r["signed_yuan"]), "starts": r["starts"], "red": r["red"],
              "board": r["board"], "href": link(department=r["unit"])} for r in ranked]
    return {"period": period, "dimension": DIMENSION, "rows": shown,
            "red_board": [r for r in shown if r["board"] == "top"],
            "black_board": sorted((r for r in shown if r["board"] == "bottom"), key=lambda r: r["score"])}


def trips_part(doc: dict, year: int, targets: dict) -> dict:
    """The year's trips against their targets, and what the projects from trips brought in."""
    figures = doc["trips"].get(str(year), {})
    goals = targets.get(str(year), {})
    return {"year": year, "leader_led": figures.get("leader_led", 0), "team": figures.get("team", 0),
            "other": figures.get("other", 0), "leader_led_target": goals.get("leader_led"),
            "team_target": goals.get("team"), "people_days": figures.get("people_days", 0),
            "companies_visited": figures.get("companies_visited", 0), "valid_leads": figures.get("valid_leads", 0),
            "projects_planned": figures.get("projects_planned", 0),
            "projects_signed": figures.get("projects_signed", 0),
            "signed_yi": yi(figures.get("signed_yuan", 0))}


def bottlenecks_part(doc: dict, year: int, targets: dict) -> dict:
    """Bottlenecks open, overdue and cleared (the year's resolved issues and the projects cleared)."""
    b = doc["bottlenecks"]
    key = str(year)
    return {"open": b["open"], "overdue": b["overdue"], "raised": b["raised"].get(key, 0),
            "resolved": b["resolved"].get(key, 0), "projects_cleared": b["projects_cleared"].get(key, 0),
            "projects_cleared_target": targets.get(key, {}).get("projects_cleared"),
            "open_by_category": [{"category": c, "label": CATEGORIES_ZH.get(c, c), "count": n}
                                 for c, n in sorted(b["open_by_category"].items(), key=lambda kv: -kv[1])]}


def trend_part(source: FigureSource) -> dict | None:
    """The pools month by month (count and 亿元), the last 24 months; None when the source has no history."""
    try:
        history = source.pools_over_time()
    except NotAvailable:
        return None
    months = sorted({r["month"] for r in history})[-24:]
    series = {pool: {"label": label, "count": [0] * len(months), "investment_yi": [0.0] * len(months)}
              for pool, label in POOLS.items()}
    at = {m: i for i, m in enumerate(months)}
    for r in history:
        if r["month"] in at and r["pool"] in series:
            series[r["pool"]]["count"][at[r["month"]]] = r["count"]
            series[r["pool"]]["investment_yi"][at[r["month"]]] = yi(r["investment_yuan"])
    return {"months": months, "series": series}


def board(source: FigureSource, targets: dict | None = None) -> dict:
    """The whole board, or ``{"state": "rebalancing"}`` when the workers cannot answer for every partition
    (``targets``: the annual targets; by default :func:`streams.config.targets`)."""
    targets = config.targets() if targets is None else targets
    fetched = now_cst().isoformat(timespec="seconds")
    try:
        doc = source.summary()
        as_of = date.fromisoformat(doc["as_of"])
        month = period_label(as_of, "month")
        return {"state": "ok", "source": source.kind, "as_of": doc["as_of"], "known_at": doc["known_at"],
                "fetched_at": fetched, "updated_at": source.updated_at() or fetched, "year": as_of.year,
                "projects_total": doc["projects"]["total"], "href_all": link(),
                "pools": pools_part(doc), "targets": targets_part(source, doc, as_of.year, targets),
                "colours": colours_part(source, doc), "ranking": ranking_part(source, month),
                "trips": trips_part(doc, as_of.year, targets),
                "bottlenecks": bottlenecks_part(doc, as_of.year, targets),
                "trend": trend_part(source)}
    except Rebalancing as e:
        log.info("board not available: %s", e)
        return {"state": "rebalancing", "message": REBALANCING_TEXT, "fetched_at": fetched}
