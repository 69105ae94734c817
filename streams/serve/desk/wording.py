"""The ledger reader's explanations (English in the dead letters and the CLI) in Chinese for the desk's pages."""

from __future__ import annotations

import re

#: (pattern of the reader's detail, its Chinese); the first that matches the whole detail is used.
PHRASES = (
    (r"(?P<h>\S+) (?P<v>.+) is not one of (?P<vs>.+)", "{h} {v} 不是以下之一：{vs}"),
    (r"(?P<h>\S+) (?P<v>.+) is not a date \(an Excel date or YYYY-MM-DD\)", "{h} {v} 不是日期（Excel 日期或 YYYY-MM-DD）"),
    (r"(?P<h>\S+) (?P<v>.+) is not a whole number", "{h} {v} 不是整数"),
    (r"(?P<h>\S+) (?P<v>.+) is not a number", "{h} {v} 不是数字"),
    (r"(?P<h>\S+) (?P<v>.+) is negative", "{h} {v} 为负数"),
    (r"(?P<h>\S+) (?P<v>.+) is below (?P<n>\S+)", "{h} {v} 小于 {n}"),
    (r"主导产业 (?P<v>.+) is not 是 or 否", "主导产业 {v} 应为“是”或“否”"),
    (r"项目编号 is empty", "项目编号为空"),
    (r"(?P<h>\S+) (?P<d>\S+) falls after the ledger's month.*", "{h} {d} 晚于台账所属月份（台账只报已发生的情况）"),
    (r"项目编号 (?P<p>\S+): belongs to (?P<a>.+) as of the month's end, not to (?P<b>.+)",
     "项目编号 {p}：月末责任单位为{a}，不是{b}"),
    (r"the ledger says (?P<a>.+), the log has reached (?P<b>.+); no event made",
     "台账填报为“{a}”，记录已到“{b}”；不生成事件"),
    (r"in the (?P<pool>\S+) pool of (?P<dep>.+), with no row in the ledger", "{dep}的{pool}项目，台账中没有这一行"),
)
POOLS_ZH = {"planning": "谋划库", "attraction": "招引库", "signed": "签约库", "landed": "落地库"}


def detail_zh(detail: str | None) -> str:
    """A detail in Chinese when the reader's wording is known, else as it is."""
    if not detail:
        return ""
    for pattern, zh in PHRASES:
        found = re.fullmatch(pattern, detail)
        if found:
            words = {k: POOLS_ZH.get(v, v) for k, v in found.groupdict().items()}
            return zh.format(**words)
    return detail
