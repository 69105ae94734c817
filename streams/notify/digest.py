"""Digests: what is due for one recipient on one channel, grouped into as few Chinese markdown messages as
the channel's size limit allows (both robots accept 20 messages a minute, so one message per reminder won't do)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

#: WeCom's markdown content is at most 4096 bytes (UTF-8); DingTalk's limit is larger, both get this one
ROBOT_LIMIT_BYTES = 4000
EMAIL_LIMIT_BYTES = 200_000

KIND_LABELS = {"colour_worsened": "颜色变差", "red_persisting": "连续红灯", "milestone_due": "节点临期",
               "issue_overdue": "问题超期"}
KIND_ORDER = {kind: i for i, kind in enumerate(KIND_LABELS)}
COLOUR_LABELS = {"red": "红", "yellow": "黄", "green": "绿", "blue": "蓝"}
ELLIPSIS = "…"


@dataclass(frozen=True)
class Digest:
    """One message: its title, its markdown text, and the reminders it carries."""

    title: str
    text: str
    reminder_ids: tuple[str, ...]


def describe(reminder: Mapping[str, Any]) -> str:
    """A reminder's sentence: its own ``text``, else one made from its fields."""
    text = str(reminder.get("text") or "").strip()
    if text:
        return text
    name = reminder.get("project_name") or reminder.get("project_id")
    what = reminder.get("milestone") or reminder.get("issue_id") or ""
    colour = COLOUR_LABELS.get(str(reminder.get("colour")), "")
    parts = [f"项目“{name}”", KIND_LABELS.get(str(reminder.get("kind")), str(reminder.get("kind"))),
             f"（{what}）" if what else "", f"，当前{colour}灯" if colour else "",
             f"，到期日 {reminder['due']}" if reminder.get("due") else "", f"（{reminder.get('about')}）"]
    return "".join(parts)


def item_line(reminder: Mapping[str, Any], link_base: str | None) -> str:
    """The markdown list item of one reminder, with a link to its project page when a base URL is known."""
    line = f"- {describe(reminder)}"
    if link_base and reminder.get("project_id"):
        line += f" [查看]({link_base.rstrip('/')}/projects/{reminder['project_id']})"
    return line


def _order(reminder: Mapping[str, Any]) -> tuple:
    return (KIND_ORDER.get(str(reminder.get("kind")), 99), str(reminder.get("about")),
            str(reminder.get("project_id")), str(reminder.get("reminder_id")))


def _truncate(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` UTF-8 bytes, ending in an ellipsis when cut."""
    if len(text.encode()) <= limit:
        return text
    room = limit - len(ELLIPSIS.encode())
    return text.encode()[:room].decode("utf-8", "ignore") + ELLIPSIS


def _header(name: str, count: int, part: int, parts: int) -> str:
    suffix = f"（{part}/{parts}）" if parts > 1 else ""
    return f"#### 督办提醒 · {name}{suffix}\n共 {count} 条，请及时处理。\n"


def build_digests(recipient: str, reminders: Iterable[Mapping[str, Any]], limit_bytes: int = ROBOT_LIMIT_BYTES,
                  link_base: str | None = None) -> list[Digest]:
    """The messages carrying ``reminders`` for ``recipient``: grouped by kind, each at most ``limit_bytes``."""
    ordered = sorted(reminders, key=_order)
    if not ordered:
        return []
    room = limit_bytes - len(_header(recipient, 9999, 999, 999).encode()) - 64  # the widest header and a heading
    chunks: list[list[tuple[Mapping[str, Any], str]]] = [[]]
    used = 0
    for reminder in ordered:
        line = _truncate(item_line(reminder, link_base), room) + "\n"
        heading = len(_section(reminder).encode())
        new_kind = not chunks[-1] or chunks[-1][-1][0].get("kind") != reminder.get("kind")
        size = len(line.encode()) + (heading if new_kind else 0)
        if chunks[-1] and used + size > room:
            chunks.append([])
            used, size = 0, len(line.encode()) + heading
        chunks[-1].append((reminder, line))
        used += size
    return [_digest(recipient, chunk, i, len(chunks)) for i, chunk in enumerate(chunks, 1)]


def _section(reminder: Mapping[str, Any]) -> str:
    return f"\n**{KIND_LABELS.get(str(reminder.get('kind')), str(reminder.get('kind')))}**\n"


def _digest(recipient: str, chunk: list[tuple[Mapping[str, Any], str]], part: int, parts: int) -> Digest:
    text, kind = _header(recipient, len(chunk), part, parts), None
    for reminder, line in chunk:
        if reminder.get("kind") != kind:
            kind = reminder.get("kind")
            text += _section(reminder)
        text += line
    title = f"督办提醒 {len(chunk)} 条" + (f"（{part}/{parts}）" if parts > 1 else "")
    return Digest(title, text.rstrip("\n"), tuple(str(r.get("reminder_id")) for r, _ in chunk))
