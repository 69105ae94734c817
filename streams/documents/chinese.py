"""How figures are written in a document for officials: 亿元 to one decimal, 2024年3月31日, 2024年第一季度."""

from __future__ import annotations

from datetime import date

from streams.contract.events import YUAN_PER_YI

QUARTERS = "一二三四"
COLOURS = {"green": "绿", "blue": "蓝", "yellow": "黄", "red": "红"}
#: colour -> how serious it is (the weekly meeting looks at the worst first)
SEVERITY = {"green": 0, "blue": 1, "yellow": 2, "red": 3}
STAGES = {"planned": "谋划", "negotiating": "洽谈", "signed": "签约", "started": "开工", "completed": "竣工",
          "operating": "投产"}
POOLS = {"planning": "谋划库", "attraction": "招引库", "signed": "签约库", "landed": "落地库", "dropped": "已终止"}
DASH = "—"
#: §8's kinds of trip and §9's categories of issue, as the bureau names them
TRIP_KINDS = {"leader_led": "党政主要领导带队", "team": "小分队", "other": "其他"}
ISSUE_CATEGORIES = {"planning": "规划", "land": "土地", "approval": "审批手续", "funding": "资金", "demolition": "征拆",
                    "utilities": "要素保障", "environment": "建设环境", "technology": "技术", "other": "其他"}
#: a trip without a team (组别)
NO_TEAM = "未分组"


def yi(yuan: float | int | None) -> str:
    """An amount in yuan as 亿元 to one decimal, without the unit: 88030000000 → ``880.3``."""
    if yuan is None:
        return DASH
    return f"{yuan / YUAN_PER_YI:.1f}"


def count(n: int | None) -> str:
    return DASH if n is None else f"{n:d}"


def percent(share: float | None) -> str:
    """0.5 → ``50.0%``."""
    return DASH if share is None else f"{share * 100:.1f}%"


def signed(n: int | float | None, fmt=count) -> str:
    """A change: ``+3``, ``-2``, ``0``."""
    if n is None:
        return DASH
    text = fmt(n)
    return f"+{text}" if n > 0 else text


def day(d: date) -> str:
    """2024-03-31 → ``2024年3月31日``."""
    return f"{d.year}年{d.month}月{d.day}日"


def period_name(label: str) -> str:
    """``2024-03`` → 2024年3月, ``2024Q1`` → 2024年第一季度, ``2024`` → 2024年."""
    if "Q" in label:
        return f"{label[:4]}年第{QUARTERS[int(label[5]) - 1]}季度"
    if "-" in label:
        return f"{label[:4]}年{int(label[5:7])}月"
    return f"{label}年"


def period_word(label: str) -> str:
    """What the bulletin of such a period is called: 月 / 季度 / 年度."""
    return "季度" if "Q" in label else "月" if "-" in label else "年度"


def rank_change(change: int | None) -> str:
    """A change of rank: ↑3, ↓2, 持平, 新进 (not ranked the period before)."""
    if change is None:
        return "新进"
    if change == 0:
        return "持平"
    return f"↑{change}" if change > 0 else f"↓{-change}"
