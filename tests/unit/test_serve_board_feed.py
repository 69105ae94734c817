"""A small hand-made feed for the board's tests: projects in every pool and colour, a trip that found two of
them, bottlenecks open, overdue and cleared, and one record the contract rejects."""

from __future__ import annotations

import json
from pathlib import Path

from tests.unit.history import ev
from tests.unit.test_trips_and_bottlenecks import issue, trip

AS_OF = "2024-12-31"


def planned(project: str, day: str, name: str, department: str, leader: str, yuan: int, **payload) -> dict:
    """A project_planned with its name, owner and amount."""
    return ev(project, "planned", day, name=name, department=department, leader=leader, investment_yuan=yuan,
              **payload)


def board_events() -> list[dict]:
    """The feed's events, in the order they are sent."""
    return [
        trip("TRIP-B1", "2024-03-10", kind="team", departed="2024-03-04", returned="2024-03-06", people=4,
             companies_visited=6, valid_leads=2, department="区商务局"),
        trip("TRIP-B2", "2024-05-10", kind="leader_led", departed="2024-05-06", returned="2024-05-07", people=8),
        planned("BD-001", "2024-01-05", "嵩山路数字产业园", "区商务局", "县处级领导甲", 1_200_000_000, trip_id="TRIP-B1"),
        ev("BD-001", "negotiating", "2024-02-01"),
        ev("BD-001", "signed", "2024-04-01", investment_yuan=1_500_000_000),
        planned("BD-002", "2024-02-05", "京广路智能制造基地", "区工信局", "县处级领导乙", 3_000_000_000, trip_id="TRIP-B1"),
        ev("BD-002", "negotiating", "2024-03-01"),
        ev("BD-002", "signed", "2024-05-01"),
        ev("BD-002", "started", "2024-08-01"),
        planned("BD-003", "2023-01-10", "大学路文旅街区", "区文广旅局", "县处级领导丙", 800_000_000),
        ev("BD-003", "plan", "2023-01-10", milestone="negotiating", due="2023-06-30"),
        planned("BD-004", "2024-11-01", "二七商圈更新", "区商务局", "县处级领导甲", 450_000_000),
        ev("BD-004", "negotiating", "2024-11-20"),
        planned("BD-005", "2022-06-01", "马寨装备制造园", "区发改委", "县处级领导丁", 2_000_000_000),
        ev("BD-005", "negotiating", "2022-07-01"),
        ev("BD-005", "plan", "2022-07-01", milestone="signed", due="2024-10-15"),
        planned("BD-006", "2024-03-01", "樱桃沟康养项目", "区卫健委", "县处级领导戊", 600_000_000),
        ev("BD-006", "dropped", "2024-06-01", reason="投资方撤回"),
        planned("BD-007", "2023-03-01", "航海路仓储物流", "区工信局", "县处级领导乙", 300_000_000),
        issue("BD-003", "raised", "Q1", "2024-03-01", category="land", department="区自然资源分局", due="2024-06-30"),
        issue("BD-002", "raised", "Q2", "2024-04-01", category="utilities", department="区城建局", due="2024-07-31"),
        issue("BD-002", "resolved", "Q2", "2024-07-20", resolution="电力接入完成"),
        issue("BD-001", "raised", "Q3", "2024-12-01", category="approval", department="区发改委", due="2025-03-31"),
    ]


REJECTED_LINE = '{"event_id": "bad-1", "event_type": "contract_signed", "schema_version": 2, ' \
                '"project_id": "BD-003", "occurred_at": "not a time"}'


def in_year(line: str, year: int) -> str:
    """A line of the feed moved by whole years so that its 2024 is ``year`` (for a live worker's today)."""
    for old in (2025, 2024, 2023, 2022):
        line = line.replace(f"{old}-", f"{old + year - 2024}-@")
    return line.replace("-@", "-")


def write_feed(path: Path, *, rejected: bool = True, year: int = 2024) -> Path:
    """The feed as JSON Lines (the rejected line last), its 2024 moved to ``year``."""
    lines = [in_year(json.dumps(e, ensure_ascii=False), year) for e in board_events()]
    path.write_text("\n".join(lines + ([REJECTED_LINE] if rejected else [])) + "\n", encoding="utf-8")
    return path
