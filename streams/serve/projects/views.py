"""Projects: the filtered list behind every figure of the board (``/projects?pool=&colour=&department=&leader=``,
and ``&from_trip=&planned=&signed=&issues=&cleared=`` behind the trips and bottlenecks: projects/links.py)
and a project's page with its state, plans, open issues and whole history (``/projects/{id}``)."""

from __future__ import annotations

import logging

from fastapi import APIRouter, HTTPException, Request

from streams.serve.board.service import CATEGORIES_ZH, COLOURS, POOLS, REBALANCING_TEXT, yi
from streams.serve.figures import FigureSource, NotAvailable, ProjectFilter, Rebalancing, figures_of
from streams.serve.projects import service
from streams.serve.projects.links import BadFilter, Linked, linked_projects
from streams.serve.templating import render

log = logging.getLogger(__name__)
router = APIRouter()

STAGE_ZH = {1: "谋划", 2: "洽谈", 3: "签约", 4: "开工", 5: "竣工", 6: "投产"}
MILESTONES = (("plan_negotiating", "洽谈"), ("plan_signed", "签约"), ("plan_started", "开工"),
              ("plan_completed", "竣工"), ("plan_operating", "投产"))
LIST_LIMIT = 1000


def _filter(request: Request) -> ProjectFilter:
    q = request.query_params
    return ProjectFilter(pool=q.get("pool") or None, colour=q.get("colour") or None,
                         department=q.get("department") or None, leader=q.get("leader") or None)


def describe(which: ProjectFilter, linked: Linked | None = None) -> str:
    """The filter in words: 签约项目库 · 红色 · 区商务局."""
    parts = [POOLS.get(which.pool, which.pool) if which.pool else None,
             f"{COLOURS.get(which.colour, which.colour)}色" if which.colour else None, which.department,
             which.leader, *(linked.describe() if linked else ())]
    return " · ".join(p for p in parts if p) or "全部在库项目"


@router.get("/projects")
def project_list(request: Request):
    """The projects behind a figure of the board."""
    which = _filter(request)
    try:
        linked = Linked.of(request.query_params)
    except BadFilter as e:
        raise HTTPException(400, f"筛选条件无效：{e}") from e
    figures: FigureSource = figures_of(request)
    message = projects = total = None
    try:
        if linked:
            projects, total = linked_projects(figures, which, linked, LIST_LIMIT)
        else:
            projects = figures.projects(which, limit=LIST_LIMIT)
            total = len(projects) if len(projects) < LIST_LIMIT else figures.count_projects(which)
    except NotAvailable:
        message = "实时数据源暂不提供项目清单，请用回放目录（--source）查看归档清单，或按项目编号查询。"
    except Rebalancing:
        message = REBALANCING_TEXT
    shown = None if projects is None else [
        {**p, "investment_yi": yi(p.get("investment_yuan")), "stage_zh": STAGE_ZH.get(p.get("stage"), "—")}
        for p in projects]
    return render(request, "project_list.html", which=which, linked=linked, title=describe(which, linked),
                  projects=shown,
                  total=total, limit=LIST_LIMIT, message=message,
                  pools=POOLS, colours=COLOURS)


@router.get("/projects/{project_id}")
def project_page(request: Request, project_id: str):
    """One project: its state, plans and issues (from the figures) and every record of it (from the log)."""
    figures = figures_of(request)
    try:
        state = figures.project(project_id)
    except Rebalancing:
        return render(request, "project.html", project_id=project_id, state=None, message=REBALANCING_TEXT,
                      history=None, history_message=None, milestones=MILESTONES, stage_zh=STAGE_ZH)
    settings = request.app.state.settings
    history, history_message = None, None
    if settings.bootstrap_servers:
        try:
            history = service.history(settings.bootstrap_servers, settings.topic, project_id)
        except Exception as e:  # the broker is away: the page still shows the state
            log.warning("history of %s not read from %s: %s", project_id, settings.bootstrap_servers, e)
            history_message = f"暂时无法读取事件日志（{type(e).__name__}），请稍后刷新。"
    else:
        history_message = "未配置 Kafka 集群（--bootstrap-servers），无法显示事件记录。"
    if state is None and not history:
        raise HTTPException(404, f"没有项目 {project_id}")
    if state is not None:
        state = {**state, "investment_yi": yi(state.get("investment_yuan")), "signed_yi": yi(state.get("signed_yuan")),
                 "stage_zh": STAGE_ZH.get(state.get("stage"), "—"),
                 "open_issues": [i for i in state.get("issues", []) if i.get("open")]}
    return render(request, "project.html", project_id=project_id, state=state, message=None, history=history,
                  history_message=history_message, milestones=MILESTONES, stage_zh=STAGE_ZH,
                  colours=COLOURS, pools=POOLS, categories=CATEGORIES_ZH)
