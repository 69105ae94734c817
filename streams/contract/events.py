"""The domain's vocabulary: event types, lifecycle stages, pools and dimensions."""

from __future__ import annotations

SCHEMA_VERSIONS: tuple[int, ...] = (1, 2)
CURRENT_VERSION = 2

#: Lifecycle stages in order; the stage number is the position + 1.
STAGES: tuple[str, ...] = ("planned", "negotiating", "signed", "started", "completed", "operating")

#: event_type -> the stage it reaches (None for events that carry no stage).
EVENT_STAGE: dict[str, int | None] = {
    "project_planned": 1,
    "negotiation_started": 2,
    "contract_signed": 3,
    "construction_started": 4,
    "construction_completed": 5,
    "operation_started": 6,
    "project_dropped": None,
    "investment_revised": None,
    "project_reassigned": None,
    "milestone_planned": None,
    # a project's bottlenecks (§9): no stage, no pool, no flow
    "issue_raised": None,
    "issue_resolved": None,
    # promotion trips (§8): events of a trip (keyed by trip_id), not of a project
    "trip_reported": None,
    "trip_withdrawn": None,
}
EVENT_TYPES: frozenset[str] = frozenset(EVENT_STAGE)
#: Event types newer than schema version 1: a v1 record of such a type is ``unknown_event_type`` (§6, §8, §9).
INTRODUCED_IN: dict[str, int] = {"milestone_planned": 2, "issue_raised": 2, "issue_resolved": 2,
                                 "trip_reported": 2, "trip_withdrawn": 2}
#: The events of a trip (§8): their key is ``trip_id``, a namespace apart from ``project_id``.
TRIP_EVENTS: frozenset[str] = frozenset({"trip_reported", "trip_withdrawn"})
ISSUE_EVENTS: frozenset[str] = frozenset({"issue_raised", "issue_resolved"})


def key_of(event: dict) -> str | None:
    """An event's key on Kafka: its ``project_id`` (§2), a trip event's ``trip_id`` (§8); None without one."""
    key = event.get("trip_id" if event.get("event_type") in TRIP_EVENTS else "project_id")
    return key if isinstance(key, str) and key else None
TRIP_KINDS: tuple[str, ...] = ("leader_led", "team", "other")
ISSUE_CATEGORIES: tuple[str, ...] = ("planning", "land", "approval", "funding", "demolition", "utilities",
                                     "environment", "technology", "other")
#: The stages a ``milestone_planned`` event may plan (§6): every stage after planning.
MILESTONES: tuple[str, ...] = STAGES[1:]
STAGE_EVENT: dict[int, str] = {s: t for t, s in EVENT_STAGE.items() if s is not None}

#: The four managed pools plus dropped; stage number -> pool.
POOLS: tuple[str, ...] = ("planning", "attraction", "signed", "landed", "dropped")
STAGE_POOL: dict[int, str] = {1: "planning", 2: "attraction", 3: "signed", 4: "landed", 5: "landed", 6: "landed"}

#: Envelope fields; anything else on an event is payload.
ENVELOPE: tuple[str, ...] = (
    "event_id", "event_type", "schema_version", "project_id", "occurred_at", "recorded_at", "source", "submitted_by",
)

YUAN_PER_WAN = 10_000
YUAN_PER_YI = 100_000_000

# Dimension values named in DOMAIN.md §1 (Chinese as the bureau writes them).
INDUSTRIES: dict[str, str] = {
    # high-growth services
    "现代商贸": "modern commerce", "特色商业": "specialty commerce", "健康服务": "health services",
    "文旅文创": "culture & tourism", "科技服务": "tech services",
    # low-carbon tech industry
    "精密制造": "precision manufacturing", "智能制造": "intelligent manufacturing",
    "现代食品": "modern food", "装备制造": "equipment manufacturing",
    # emerging
    "电子信息": "electronic information", "生命健康": "life & health", "新材料": "new materials",
}
ZONES: dict[str, str] = {
    "三环内": "inside the 3rd ring",
    "三环至四环": "between the 3rd and 4th ring",
    "四环至绕城": "outside the 4th ring up to the ring expressway",
}
AXES: dict[str, str] = {"嵩山路": "Songshan Road", "大学路": "Daxue Road", "京广路": "Jingguang Road"}
SOURCE_REGIONS: tuple[str, ...] = ("长三角", "珠三角", "粤港澳大湾区", "京津冀", "成渝", "省内", "境外")
CHANNELS: tuple[str, ...] = (
    "以商招商", "资本招商", "市场招商", "存量资源招商", "推介会", "云招商", "第三方机构",
)
SUPERVISION_COLOURS: tuple[str, ...] = ("green", "blue", "yellow", "red")
