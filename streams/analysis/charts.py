"""Chart styling: a CJK font so Chinese labels never render as boxes, and bilingual labels."""

from __future__ import annotations

from streams.contract.events import AXES, INDUSTRIES, ZONES
from streams.core.rankings import UNITS

POOL_LABELS = {"planning": "谋划 planning", "attraction": "招引 attraction", "signed": "签约 signed",
               "landed": "落地 landed", "dropped": "终止 dropped"}
STAGE_LABELS = {"planned": "谋划 planned", "negotiating": "洽谈 negotiating", "signed": "签约 signed",
                "started": "开工 started", "completed": "竣工 completed", "operating": "投产 operating"}
#: Why a record was sent back (DOMAIN.md §3 and the ledgers' rejections), for people.
REASON_LABELS = {"malformed": "无法解析 unreadable", "unsupported_version": "版本不支持 unsupported version",
                 "unknown_event_type": "未知事件类型 unknown event type", "schema": "字段不合规 invalid fields",
                 "future_occurred_at": "发生时间晚于上报时间 dated after its report",
                 "event_id_conflict": "事件编号冲突 conflicting event id",
                 "ledger_schema": "台账格式错误 invalid ledger row", "ledger_duplicate_row": "台账重复行 duplicate ledger row",
                 "ledger_not_yours": "非本单位项目 another department's project"}
#: Problem categories (DOMAIN.md §9) and kinds of trip (§8) for people; "planning" here is 规划, not the pool.
ISSUE_CATEGORY_LABELS = {"planning": "规划 planning", "land": "土地 land", "approval": "审批手续 approval",
                         "funding": "资金 funding", "demolition": "征拆 demolition", "utilities": "要素保障 utilities",
                         "environment": "建设环境 environment", "technology": "技术 technology", "other": "其他 other"}
TRIP_KIND_LABELS = {"leader_led": "党政主要领导带队 leader-led", "team": "小分队 team", "other": "其他 other"}
#: The dimensions a project is broken down by, in Chinese: the rankings' units (镇办, 产业链 …, as the
#: bulletin names them), and the zones (the rings) and development axes.
DIMENSION_NAMES = {**UNITS, "zone": "区域", "axis": "发展轴"}
CJK_FONTS = ["WenQuanYi Micro Hei", "Noto Sans CJK SC", "Noto Sans SC", "SimHei", "Microsoft YaHei"]


def bilingual(value: str) -> str:
    """现代商贸 → '现代商贸 modern commerce' for any dimension value the contract names (and a stage, a pool,
    a rejection reason); a step between stages, 'planned→negotiating', as '谋划 planned→洽谈 negotiating'."""
    if "→" in value:
        return "→".join(bilingual(part) for part in value.split("→"))
    for names in (INDUSTRIES, ZONES, AXES):
        if value in names:
            return f"{value} {names[value]}"
    return STAGE_LABELS.get(value) or POOL_LABELS.get(value) or REASON_LABELS.get(value) or value


def category_label(category: str) -> str:
    """A problem category as people read it: 'land' → '土地 land' (the value itself if unknown)."""
    return ISSUE_CATEGORY_LABELS.get(category) or {"total": "合计 total"}.get(category, category)


def trip_kind_label(kind: str) -> str:
    """A kind of trip as people read it: 'team' → '小分队 team'."""
    return TRIP_KIND_LABELS.get(kind, kind)


def dimension_name(dimension: str) -> str:
    """The Chinese name of a dimension: 'industry' → '产业链' (the dimension itself if it has none)."""
    return DIMENSION_NAMES.get(dimension, dimension)


def dimension_label(dimension: str) -> str:
    """A dimension as a chart or a table labels it, Chinese first: 'town' → '镇办 town'."""
    return f"{DIMENSION_NAMES[dimension]} {dimension}" if dimension in DIMENSION_NAMES else dimension


def interactive() -> bool:
    """In JupyterLab charts are widgets (zoom, pan); the headless report (FUNNEL_REPORT=1) keeps static PNGs."""
    import os

    try:
        from IPython import get_ipython
    except ImportError:
        return False
    return get_ipython() is not None and not os.environ.get("FUNNEL_REPORT")


def setup() -> str:
    """Use the first installed CJK font (returns its name; raises if none: labels would be boxes),
    and the interactive ipympl backend when a person runs the notebook in JupyterLab."""
    import matplotlib
    from matplotlib import font_manager

    if interactive():
        from IPython import get_ipython

        get_ipython().run_line_magic("matplotlib", "widget")

    installed = {f.name for f in font_manager.fontManager.ttflist}
    for name in CJK_FONTS:
        if name in installed:
            matplotlib.rcParams["font.sans-serif"] = [name, "DejaVu Sans"]
            matplotlib.rcParams["font.family"] = "sans-serif"
            matplotlib.rcParams["axes.unicode_minus"] = False
            matplotlib.rcParams["figure.dpi"] = 110
            return name
    raise RuntimeError("no CJK font installed: run `make setup` (Debian package fonts-wqy-microhei)")


def funnel_chart(ax, funnel) -> None:
    """A year's stage funnel (:func:`streams.core.analysis.stage_funnel`) as a funnel: one centred bar per
    stage, as wide as its flow, labelled with the count (and the target), and between two bars the
    conversion from the one above (and the conversion the targets imply). Drawing only: every figure
    comes from the frame."""
    rows = funnel.to_dicts() if hasattr(funnel, "to_dicts") else list(funnel)
    widest = max((r["actual"] or 0 for r in rows), default=0)
    if not rows or not widest:
        ax.text(0.5, 0.5, "无流量 no flows", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return
    colours = ["#1f4e79", "#2e75b6", "#5b9bd5", "#9dc3e6", "#bdd7ee", "#deebf7"]
    y = list(range(len(rows)))[::-1]
    for i, (row, yi) in enumerate(zip(rows, y)):
        actual = row["actual"] or 0
        ax.barh(yi, actual, left=(widest - actual) / 2, height=0.62, color=colours[i % len(colours)])
        target = row.get("target")
        label = f"{actual:,}" + (f"  /  目标 {target:,}" if target else "")
        dark = i < 3 and actual > widest * 0.35
        ax.text(widest / 2, yi, label, ha="center", va="center", fontsize=11,
                color="white" if dark else "#1a1a1a")
        if i and row.get("conversion") is not None:
            goal = row.get("target_conversion")
            text = f"↓ 转化率 {row['conversion']:.1%}" + (f"（目标 {goal:.0%}）" if goal is not None else "")
            ax.text(widest * 1.02, yi + 0.5, text, ha="left", va="center", fontsize=10, color="#404040")
    ax.set_yticks(y, [STAGE_LABELS.get(r["stage"], r["stage"]) for r in rows], fontsize=11)
    ax.set_xlim(0, widest * 1.45)
    ax.set_ylim(min(y) - 0.5, max(y) + 0.5)
    ax.set_xticks([])
    for side in ("top", "right", "bottom", "left"):
        ax.spines[side].set_visible(False)
    ax.tick_params(axis="y", length=0)
