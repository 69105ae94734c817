"""Tables for people who read reports, not code: a Polars frame as an HTML table with thousands
separators, amounts in 亿元 to one decimal, shares as percentages, contract values with their
Chinese names, and no quoted strings, dtype rows or shapes.

Formatting only: every figure was computed before (``streams.core``, ``streams.analysis.stats``);
a column's name says how to show it (``*_yuan`` → 亿元, ``conversion`` → %, …), so every value of a
column is shown alike. A period comparison (``streams.core.analysis.period_comparison``: one row per
measure, counts, conversions and days in the same ``previous`` / ``current`` columns) becomes one
table per kind of quantity: counts, rates in percent with changes in percentage points, days. A year's
targets (``streams.core.analysis.target_table``: counts and amounts in 亿元 in the same columns) become a
table of the targets in projects and one of the targets in 亿元. The failed data checks are named in words
(:mod:`streams.analysis.checks`), not by their suite, expectation type and column.

``funnel report`` loads this module as an IPython extension in the notebooks' kernel: every frame a
cell shows then also carries this table under ``OFFICIAL_HTML``, which the official variant of the
report shows in place of Polars' own HTML (the analyst variant keeps Polars').
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from datetime import date, datetime

from streams.analysis import checks
from streams.analysis.charts import DIMENSION_NAMES, bilingual, category_label, dimension_label, trip_kind_label
from streams.contract.events import YUAN_PER_YI
from streams.core.analysis import TARGET_LABELS

OFFICIAL_HTML = "application/vnd.erqi-funnel.official+html"  #: the MIME type of the formatted table
MAX_ROWS = 60

#: Column names shown with their Chinese name first.
HEADERS = {
    "stage": "阶段 stage", "pool": "所在库 pool", "from": "从 from", "to": "到 to",
    "from_count": "起始项目数 from", "to_count": "转入项目数 to", "not_converted": "未转化 not converted",
    "actual": "实际 actual", "target": "目标 target", "attainment": "完成率 attainment",
    "conversion": "转化率 conversion", "target_conversion": "目标转化率 target conversion",
    "project_id": "项目编号 project", "name": "项目名称 name",
    **{d: dimension_label(d) for d in DIMENSION_NAMES},
    "measure": "指标 measure", "what": "项目 item", "previous": "上期 previous", "current": "本期 current",
    "change": "变化 change", "change_pct": "变化率 change", "p_value": "p 值 p-value", "cause": "结局 outcome",
    "days": "天数 days", "incidence": "累计概率 cumulative incidence", "low": "下限 low", "high": "上限 high",
    "at_risk": "在观察项目 at risk", "cohort": "批次 cohort", "step": "环节 step", "projects": "项目数 projects",
    "median_days": "中位天数 median days", "p90_days": "90% 分位天数 90th pct days", "n": "项目数 n",
    "reached": "已落地 landed", "dropped": "已终止 dropped", "rate": "比率 rate", "records": "记录 records",
    "count": "数量 count", "reason": "原因 reason", "months_red": "红色月数 months red",
    "days_late": "逾期天数 days late", "on_track": "进度 on track", "investment_yuan": "投资额 investment 亿元",
    "year": "年度 year", "month": "月份 month", "period": "期间 period", "quarter": "季度 quarter",
    "median_low": "中位天数下限 median low", "median_high": "中位天数上限 median high",
    "p90_low": "90% 分位下限 90th pct low", "p90_high": "90% 分位上限 90th pct high",
    "target 目标": "目标 target", "target (亿 / count)": "目标值 target (亿元 / 个)",
    "attainment %": "完成率 attainment %", "projected %": "预计年末完成率 projected %",
    "year elapsed %": "时间进度 year elapsed %", "failures": "未通过的校验 failed checks",
    "unexpected": "不符合的行数 rows failing", "observed_value": "实际值 observed", "error": "错误 error",
    "row": "行号 row", "origin": "来源 origin", "granularity": "周期 granularity", "dimension": "维度 dimension",
    "unit": "单位 unit", "k": "月数 k", "pair": "环节 step",
    # bottlenecks (§9) and trips (§8)
    "category": "问题类别 category", "lead_department": "牵头单位 lead department", "issues": "问题数 issues",
    "resolved": "已办结 resolved", "open": "未办结 open", "overdue": "逾期 overdue", "raised": "提出 raised",
    "projects_cleared": "清障项目数 projects cleared", "survival": "尚未办结比例 share still open",
    "events": "当日办结 resolved that day", "resolved_30d": "30 天内办结 resolved within 30 days",
    "resolved_90d": "90 天内办结 resolved within 90 days", "trips": "出访次数 trips", "kind": "类型 kind",
    "region": "地区 region", "team": "小分队 team", "leader_led": "领导带队 leader-led",
    "other": "其他 other", "people_days": "人天 people-days", "companies_visited": "拜访企业 companies visited",
    "leads": "线索 leads", "valid_leads": "有效线索 valid leads", "projects_planned": "谋划项目 projects planned",
    "projects_signed": "签约项目 projects signed", "signed_yuan": "签约额 signed 亿元",
    "per_trip_companies": "每次拜访企业 companies per trip", "per_trip_valid_leads": "每次有效线索 valid leads per trip",
    "per_trip_projects_signed": "每次签约项目 signings per trip", "per_trip_signed_yuan": "每次签约额 signed per trip 亿元",
}
#: Fractions shown as percentages.
PERCENT = {"attainment", "conversion", "target_conversion", "incidence", "low", "high", "rate", "change_pct",
           "share", "survival", "resolved_30d", "resolved_90d"}
#: Days, always to one decimal (so that 273 and 320.9 in one column read as 273.0 and 320.9).
DAYS = {"median_low", "median_high", "p90_low", "p90_high"}
#: Integers that are names, not quantities (no thousands separator: 2023, not 2,023).
LABELS = {"year", "cohort", "month", "quarter", "period"}
#: Columns of contract values (stages, pools, industries, zones, axes) and of the analyses' own codes,
#: shown with their Chinese names.
CONTRACT_VALUES = {"stage", "pool", "from", "to", "what", "industry", "zone", "axis", "cause", "step", "measure",
                   "reason"}
VALUES = {"flow": "流量 flow", "conversion": "转化率 conversion", "median_days": "中位天数 median days",
          "p90_days": "90% 分位天数 90th pct days", "reached": "落地 landed", "dropped": "终止 dropped"}
#: The rows of the accounting (``streams.core.analysis.accounting``); ``rejected: <reason>`` names a reason.
RECORDS = {"received": "收到 received", "accepted": "接受 accepted", "duplicates": "重复 duplicates",
           "rejected": "退回合计 rejected in all"}


def header(column: str) -> str:
    if column in HEADERS:
        return HEADERS[column]
    if column.endswith("_yuan"):
        return f"{column.removesuffix('_yuan')} 亿元"
    return column


def cell(column: str, value) -> tuple[str, str]:
    """The text of one value of ``column`` and its alignment (numbers right, text left, none centred)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—", "center"
    if isinstance(value, bool):
        return ("是 yes" if value else "否 no"), "left"
    if isinstance(value, int):
        if column.endswith("_yuan"):
            return f"{value / YUAN_PER_YI:,.1f}", "right"
        return (str(value) if column in LABELS else f"{value:,}"), "right"
    if isinstance(value, float):
        return _float(column, value), "right"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M"), "left"
    if isinstance(value, date):
        return value.isoformat(), "left"
    if isinstance(value, (list, tuple)):
        return "、".join(cell(column, v)[0] for v in value), "left"
    text = str(value)
    if column == "records":
        kind, _, reason = text.partition(": ")
        if kind == "rejected" and reason:
            return f"退回 rejected：{bilingual(reason)}", "left"
        return RECORDS.get(text, text), "left"
    if column == "dimension":
        return dimension_label(text), "left"
    if column == "category":
        return category_label(text), "left"
    if column == "kind":
        return trip_kind_label(text), "left"
    if column in CONTRACT_VALUES:
        text = "→".join(VALUES.get(part) or bilingual(part) for part in text.split("→"))
    return text, "left"


def _float(column: str, value: float) -> str:
    if column.endswith("_yuan"):
        return f"{value / YUAN_PER_YI:,.1f}"
    if "亿" in column or "%" in column or column in DAYS or column.endswith("_days"):
        return f"{value:,.1f}"
    if column in PERCENT or column.endswith(("_rate", "_share")):
        return f"{value * 100:,.1f} %"
    if column == "p_value" or column.endswith("p_value"):
        return "<0.001" if value < 0.001 else f"{value:.3f}"
    if value.is_integer():
        return f"{value:,.0f}"
    return f"{value:,.3f}" if abs(value) < 1 else f"{value:,.1f}"


def frame_html(frame, max_rows: int = MAX_ROWS) -> str:
    """A Polars frame as a formatted HTML table (its first ``max_rows`` rows, and how many more there are);
    a period comparison as :func:`comparison_html`, a year's targets as :func:`targets_html`, the failed data
    checks as :func:`failures_html`."""
    if is_comparison(frame):
        return comparison_html(frame)
    if is_target_table(frame):
        return targets_html(frame)
    if is_failures(frame):
        return failures_html(frame)
    columns = frame.columns
    body = [[cell(column, value) for column, value in zip(columns, row)] for row in frame.head(max_rows).iter_rows()]
    return _table([header(c) for c in columns], body, frame.height - max_rows)


def _table(headers: list[str], body: list[list[tuple[str, str]]], more: int = 0, caption: str = "") -> str:
    """An HTML table of texts with their alignment; a column's header is aligned as its values."""
    aligns = [next((a for row in body if (a := row[i][1]) != "center"), "left") for i in range(len(headers))]
    head = "".join(f'<th style="text-align:{a}">{html.escape(h)}</th>' for h, a in zip(headers, aligns))
    rows = ["<tr>" + "".join(f'<td style="text-align:{a}">{html.escape(t)}</td>' for t, a in row) + "</tr>"
            for row in body]
    if not rows:
        rows.append(f'<tr><td colspan="{max(len(headers), 1)}" style="text-align:left">无 none</td></tr>')
    title = f'<p class="funnel-table-caption">{html.escape(caption)}</p>' if caption else ""
    note = f'<p class="funnel-table-note">另有 {more:,} 行 {more:,} more rows</p>' if more > 0 else ""
    return (f'{title}<table class="funnel-table"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody>'
            f'</table>{note}')


# --- a period against the one before ------------------------------------------------------------------------

#: The comparison's columns: ``measure`` (see ``COMPARED``), ``what``, ``previous``, ``current``, ``change``,
#: and ``change_pct`` and ``p_value`` when there.
COMPARISON_COLUMNS = {"measure", "what", "previous", "current", "change"}
#: Each measure's kind of quantity: one table per kind, in the order of ``KINDS``.
COMPARED = {"flow": "count", "dropped": "count", "conversion": "rate", "median_days": "days", "p90_days": "days"}


@dataclass(frozen=True)
class Kind:
    """How a kind of quantity is shown: its table's caption and headers, and whether its rows name their
    measure (days: median or 90th percentile) and carry the relative change and the p-value."""

    caption: str
    what: str
    previous: str
    current: str
    change: str
    named: bool = False
    tested: bool = True


KINDS = {
    "count": Kind("进入各阶段及终止的项目数（个）Projects reaching each stage, and dropped (count)", "阶段 stage",
                  "上期 previous", "本期 current", "变化 change"),
    "rate": Kind("阶段转化率（%）Conversion between stages (percent)", "环节 step", "上期 previous", "本期 current",
                 "变化（百分点）change (points)", tested=False),
    "days": Kind("各环节用时（天）Days each step took", "环节 step", "上期（天）previous (days)",
                 "本期（天）current (days)", "变化（天）change (days)", named=True),
}


def is_comparison(frame) -> bool:
    return COMPARISON_COLUMNS <= set(frame.columns)


def quantity(kind: str, value, signed: bool = False) -> tuple[str, str]:
    """A value of one kind of quantity and its alignment: a count with thousands separators, a rate as
    a percentage (a change of a rate in percentage points), days to one decimal; ``signed``: with + or −."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—", "center"
    sign = "+" if signed and value else ""  # no change: 0, not +0
    if kind == "count":
        return f"{round(value):{sign},}", "right"
    if kind == "rate":
        return (f"{value * 100:{sign},.1f}" if signed else f"{value * 100:,.1f} %"), "right"
    return f"{value:{sign},.1f}", "right"


def comparison_html(frame) -> str:
    """A period comparison as one table per kind of quantity (``KINDS``), so that no column mixes counts,
    rates and days. Rates get no relative change (a change of a rate is in percentage points) and no
    p-value (a conversion is not tested). Rows of a measure not in ``COMPARED`` follow in a table of
    their own, formatted by column as any frame."""
    rows = list(frame.iter_rows(named=True))
    tables = []
    for name, kind in KINDS.items():
        part = [r for r in rows if COMPARED.get(r["measure"]) == name]
        if not part:
            continue
        extra = [c for c in ("change_pct", "p_value") if c in frame.columns and kind.tested]
        headers = ([header("measure")] if kind.named else []) + [kind.what, kind.previous, kind.current, kind.change] \
            + [header(c) for c in extra]
        body = [([cell("measure", r["measure"])] if kind.named else []) + [cell("what", r["what"])]
                + [quantity(name, r["previous"]), quantity(name, r["current"]), quantity(name, r["change"], True)]
                + [cell(c, r[c]) for c in extra] for r in part]
        tables.append(_table(headers, body, caption=kind.caption))
    others = [r for r in rows if r["measure"] not in COMPARED]
    if others or not tables:
        tables.append(_table([header(c) for c in frame.columns],
                             [[cell(c, v) for c, v in r.items()] for r in others],
                             caption="其他 other" if tables else ""))
    return "".join(tables)


# --- a year's targets ----------------------------------------------------------------------------------------

#: The columns of ``streams.core.analysis.target_table``: a target's name, its value and the actual value in the
#: target's own unit (a count, or 亿元), and percentages.
TARGET_NAME, TARGET_VALUE = "target 目标", "target (亿 / count)"
#: The name of each target as the target table shows it -> its metric (an amount when it ends in ``_yuan``).
TARGET_METRICS = {label: metric for metric, label in TARGET_LABELS.items()}
#: Each unit of a target: its table's caption and the headers of the target's value and of the actual value.
TARGET_KINDS = {
    "count": ("项目数目标（个）Targets counted in projects", "目标值（个）target (count)", "实际（个）actual (count)"),
    "amount": ("金额目标（亿元）Targets in amounts (亿元)", "目标值（亿元）target (亿元)", "实际（亿元）actual (亿元)"),
}


def is_target_table(frame) -> bool:
    return {TARGET_NAME, TARGET_VALUE, "actual"} <= set(frame.columns)


def target_kind(name: str) -> str:
    """'amount' for a target in 亿元 (its metric ends in ``_yuan``, as ``target_table`` converts it), else 'count'."""
    return "amount" if TARGET_METRICS.get(name, name).endswith("_yuan") else "count"


def targets_html(frame) -> str:
    """A year's targets (``streams.core.analysis.target_table``) as one table of the targets in projects and
    one of the targets in 亿元, so that no column mixes counts (60) and amounts (500.0); the percentages
    and whether a target is on track as any frame's."""
    rows = list(frame.iter_rows(named=True))
    rest = [c for c in frame.columns if c not in (TARGET_NAME, TARGET_VALUE, "actual")]
    tables = []
    for kind, (caption, target, actual) in TARGET_KINDS.items():
        part = [r for r in rows if target_kind(r[TARGET_NAME]) == kind]
        if not part:
            continue
        body = [[cell(TARGET_NAME, r[TARGET_NAME]), _target_value(kind, r[TARGET_VALUE]),
                 _target_value(kind, r["actual"])] + [cell(c, r[c]) for c in rest] for r in part]
        tables.append(_table([header(TARGET_NAME), target, actual] + [header(c) for c in rest], body,
                             caption=caption))
    return "".join(tables) or _table([header(c) for c in frame.columns], [])


def _target_value(kind: str, value) -> tuple[str, str]:
    """A target or an actual value: a count with thousands separators, an amount (already in 亿元) to one decimal."""
    if kind == "count" or value is None or (isinstance(value, float) and math.isnan(value)):
        return quantity("count", value)
    return f"{value:,.1f}", "right"


# --- failed data checks -------------------------------------------------------------------------------------

#: The columns of a failed check (``streams.quality.gate.Failure``, ``streams.core.analysis.quality_failures``).
FAILURE_COLUMNS = {"suite", "expectation", "column"}
FAILURE_HEADERS = ["校验对象 checked", "校验内容 what is checked", "级别 severity", "不符合的行数 rows failing",
                   "示例 examples"]


def is_failures(frame) -> bool:
    return FAILURE_COLUMNS <= set(frame.columns)


def failures_html(frame) -> str:
    """The failed data checks, each named for people (:mod:`streams.analysis.checks`), not by its suite,
    expectation type and column."""
    body = [[(checks.suite_name(r["suite"]), "left"),
             (checks.describe(r["suite"], r["expectation"], r["column"] or ""), "left"),
             (checks.severity_name(r.get("severity") or "critical"), "left"),
             cell("unexpected", r.get("unexpected")),
             (_examples(r.get("examples")), "left")] for r in frame.iter_rows(named=True)]
    return _table(FAILURE_HEADERS, body, caption="未通过的校验 failed checks")


def _examples(examples) -> str:
    """A failure's first offending rows, each by its identifying values ('项目编号 project EQ-1, 月份 month 2024-03')."""
    texts = []
    for example in examples or []:
        if isinstance(example, dict):
            texts.append("，".join(f"{header(k)} {cell(k, v)[0]}" for k, v in example.items() if v is not None))
        elif example is not None:
            texts.append(cell("example", example)[0])
    return "；".join(t for t in texts if t) or "—"


def load_ipython_extension(ipython) -> None:
    """``%load_ext streams.analysis.formatting``: every Polars frame shown also carries ``OFFICIAL_HTML``."""
    from IPython.core.formatters import BaseFormatter
    from traitlets import ObjectName, Unicode

    class OfficialHTMLFormatter(BaseFormatter):
        format_type = Unicode(OFFICIAL_HTML)
        print_method = ObjectName("_repr_official_html_")

    formatter = OfficialHTMLFormatter(parent=ipython.display_formatter)
    ipython.display_formatter.formatters[OFFICIAL_HTML] = formatter
    formatter.for_type_by_name("polars.dataframe.frame", "DataFrame", frame_html)
