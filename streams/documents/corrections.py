"""A bulletin's view (what it was made from, to reproduce it), its figures as a function of a fold, and the
sentences of the next bulletin's 数据更正 section (issue 26; docs/restatements.md)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import polars as pl

from streams.core import restatement as rs
from streams.core.summary import Result, View, summary
from streams.documents import bulletin, chinese as zh

#: what a changed record did, in the sentence's details
_EVENTS = {"project_planned": "谋划", "negotiation_started": "洽谈", "contract_signed": "签约",
           "construction_started": "开工", "construction_completed": "竣工", "operation_started": "投产",
           "project_dropped": "终止", "investment_revised": "调整投资额", "trip_reported": "外出招商",
           "trip_withdrawn": "撤回外出招商", "issue_raised": "提出问题", "issue_resolved": "办结问题",
           "milestone_planned": "计划节点", "project_reassigned": "调整分包"}
#: the figures a 数据更正 section reports (the rankings' every score would drown it; `funnel diff` shows them)
REPORTED = ("bulletin.headline.", "bulletin.pools.", "bulletin.flows.", "bulletin.trips.", "bulletin.bottlenecks.",
            "bulletin.lists.")


def view_file(path: str | Path) -> Path:
    """The view file beside a bulletin: ``bulletin-2024Q3.docx`` → ``bulletin-2024Q3.view.json``."""
    path = Path(path)
    return path if path.name.endswith(".view.json") else path.with_suffix("").with_suffix(".view.json")


def read_view(path: str | Path) -> dict:
    """A bulletin's view: from its ``.view.json``, or from the DOCX's properties when the JSON is not beside it."""
    path = Path(path)
    beside = view_file(path)
    if beside.exists():
        return json.loads(beside.read_text(encoding="utf-8"))
    if path.suffix == ".docx":
        from docx import Document as read_docx

        props = read_docx(path).core_properties
        if props.keywords == "funnel-view" and props.comments:
            return json.loads(props.comments)
    raise FileNotFoundError(f"{path}: no view recorded (neither {beside.name} nor the DOCX's properties)")


def figures_of(period: str, targets: dict) -> rs.FiguresOf:
    """A fold's figures: the summary's and those the bulletin of ``period`` prints (none when the fold has no
    project, as the bulletin then has nothing to print)."""
    from streams.core.tables import aggregate_tables
    from streams.documents.sources import from_tables

    def of(result: Result) -> rs.Figures:
        flat = rs.summary_figures(result)
        try:
            data = from_tables(summary(result), aggregate_tables(result, targets), targets, "fold")
            return flat | bulletin.printed(bulletin.figures(data, period))
        except (LookupError, ValueError):
            return flat

    return of


def view_of(read_view_doc: dict) -> View:
    """The :class:`View` a view file names."""
    known = read_view_doc.get("known_at")
    return View(date.fromisoformat(read_view_doc["as_of"]), known and date.fromisoformat(known))


def _detail(row: dict) -> str:
    who = row["project_id"] or row["trip_id"] or "—"
    what = _EVENTS.get(row["event_type"] or "", row["event_type"] or "记录")
    occurred = zh.day(row["occurred_at"].date()) if row["occurred_at"] is not None else "—"
    recorded = zh.day(row["recorded_at"].date()) if row["recorded_at"] is not None else "—"
    where = f"，来源{row['origin']}" if row.get("origin") else ""
    return f"{who}于{occurred}{what}，{recorded}报送{where}"


def sentences(r: rs.Restatement, period: str, details: int = 3) -> list[str]:
    """One sentence per reported figure that changed: old and new as printed, and the records behind it."""
    out = []
    for c in r.changes:
        if not c.path.startswith(REPORTED):
            continue
        label, unit = bulletin.figure_name(c.path, period)
        records = r.records_of(c.path)
        shown = [_detail(row) for row in records.head(details).iter_rows(named=True)]
        if records.height > details:
            shown.append(f"等{records.height}条")
        out.append(rs.sentence(label, bulletin.figure_text(c.path, c.old), bulletin.figure_text(c.path, c.new), unit,
                               records["kind"].to_list(), shown))
    return out


def explain_since(log: pl.DataFrame, view_doc: dict, targets: dict,
                  provenance: pl.DataFrame | None = None) -> rs.Restatement:
    """What changed in a bulletin's figures from the log it read (cut at its offsets) to the whole ``log``."""
    from streams.core.summary import fold_log

    view = view_of(view_doc)
    old = fold_log(rs.as_issued(log, view_doc["log"]), view)
    new = fold_log(log, view)
    return rs.explain(old, new, figures_of(view_doc["period"], targets), provenance)
