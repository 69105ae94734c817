"""Helpers to write a small event history for "given this history" tests."""

from __future__ import annotations

import itertools
import json
from datetime import date, datetime, timezone

from streams.core.log import received_log
from streams.core.summary import Result, View, fold_log

_ids = itertools.count(1)
RECEIVED = datetime(2025, 1, 1, tzinfo=timezone.utc)

TYPES = {"planned": "project_planned", "negotiating": "negotiation_started", "signed": "contract_signed",
         "started": "construction_started", "completed": "construction_completed", "operating": "operation_started",
         "dropped": "project_dropped", "revised": "investment_revised", "reassigned": "project_reassigned",
         "plan": "milestone_planned"}


def ev(project: str, kind: str, day: str, **payload) -> dict:
    """One event; ``day`` is a CST date (noon) or a full ISO timestamp."""
    occurred = day if "T" in day else f"{day}T12:00:00+08:00"
    event = {"event_id": payload.pop("event_id", f"e{next(_ids)}"), "event_type": TYPES[kind], "schema_version": 2,
             "project_id": project, "occurred_at": occurred,
             "recorded_at": payload.pop("recorded_at", occurred)}
    if kind == "planned":
        event |= {"name": f"project {project}", "industry": payload.pop("industry", "现代商贸")}
    return event | payload


def lines(events: list[dict]) -> list[bytes]:
    return [json.dumps(e, ensure_ascii=False).encode() for e in events]


def fold(events: list[dict | bytes], as_of: str = "2024-12-31", known_at: str | None = None) -> Result:
    records = [e if isinstance(e, bytes) else json.dumps(e, ensure_ascii=False).encode() for e in events]
    log = received_log(enumerate(records, start=1), RECEIVED)
    return fold_log(log, View(date.fromisoformat(as_of), known_at and date.fromisoformat(known_at)))
