"""The bureau's own records in the synthetic feed: promotion trips (DOMAIN.md §8) and bottlenecks (§9).

Calibrated on the seed articles: about 20–25 visits led by the top leaders and 50–60 team trips a year
(2024 targets: ≥ 20 and ≥ 50), teams formed by industry and by region, many projects found on a trip (the
teams' 2024 headline: 签约额将超500亿元), and bottlenecks cleared for 70+ projects in 2023. Everything here
draws from its own random stream, so adding trips and issues leaves every project event as it was.
Counts scale with the number of projects (the default 600 gives the figures above).
"""

from __future__ import annotations

import bisect
import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from streams.contract.events import EVENT_STAGE, ISSUE_CATEGORIES, YUAN_PER_YI
from streams.core.clock import CST

#: Projects the default feed has: the trip counts per year below are for that many.
BASE_PROJECTS = 600
#: kind -> (trips a year at BASE_PROJECTS: low, high), (people: low, high), (days: low, high), (companies: low, high)
TRIP_SHAPE = {"leader_led": ((21, 25), (6, 12), (1, 3), (3, 8)),
              "team": ((52, 60), (3, 6), (2, 6), (4, 15)),
              "other": ((5, 10), (2, 5), (1, 3), (2, 6))}
YEARS = (2022, 2023, 2024)
#: The promotion teams (小分队), formed by industry and by region; a region team travels to its own region.
TEAMS = {"现代商贸小分队": None, "生命健康小分队": None, "电子信息小分队": None, "精密制造小分队": None,
         "文旅文创小分队": None, "长三角小分队": "长三角", "粤港澳大湾区小分队": "粤港澳大湾区", "京津冀小分队": "京津冀"}
CITIES = {"长三角": ("上海", "杭州", "苏州", "南京", "宁波", "合肥"), "珠三角": ("广州", "佛山", "东莞"),
          "粤港澳大湾区": ("深圳", "香港", "珠海", "澳门"), "京津冀": ("北京", "天津", "石家庄"),
          "成渝": ("成都", "重庆"), "省内": ("洛阳", "许昌", "新乡"), "境外": ("新加坡", "东京", "首尔")}
TOP_LEADERS = ("区委书记", "区长")
ORGANISERS = ("区商务局", "区投资促进中心")
#: Share of projects planned after a trip that name one: larger projects come from promotion more often.
FROM_TRIP_SMALL, FROM_TRIP_LARGE, LARGE_YUAN = 0.7, 0.95, 5 * YUAN_PER_YI
#: Which kind of trip a project names, and how long after the trip's return it may be planned.
NAMED_KIND = {"team": 0.9, "leader_led": 0.08, "other": 0.02}
NAMING_WINDOW = timedelta(days=240)
#: Trips whose report is later corrected (a second report), or withdrawn (a duplicate report).
CORRECTED, WITHDRAWN = 0.08, 0.02
#: Share of projects that reach negotiation and then meet a bottleneck; issues per such project (1–3).
WITH_ISSUES = 0.5
#: category -> (weight, lead department 牵头单位, days given to resolve it, median days it takes)
CATEGORY = {"land": (22, "区自然资源局", 90, 80), "approval": (20, "区政务服务中心", 30, 25),
            "utilities": (15, "区住建局", 60, 45), "planning": (12, "区自然资源局", 60, 50),
            "demolition": (10, "区征收办", 120, 120), "funding": (8, "区财政局", 90, 70),
            "environment": (6, "区城管局", 30, 30), "technology": (3, "区科技局", 60, 40), "other": (4, "区商务局", 30, 30)}
DESCRIPTION = {"land": "用地指标未落实", "approval": "施工许可手续待办", "utilities": "水电气暖配套未接入",
               "planning": "规划条件待调整", "demolition": "地块征拆未完成", "funding": "配套资金未到位",
               "environment": "周边施工环境受阻", "technology": "技术方案待论证", "other": "其他需协调事项"}
assert set(CATEGORY) == set(ISSUE_CATEGORIES)
RESOLVED_SHARE, REOPENED_SHARE = 0.88, 0.06
BUREAU = "区投资促进中心"


def _iso(at: datetime) -> str:
    return at.isoformat(timespec="seconds")


def _evening(day: date, rng: random.Random) -> datetime:
    return datetime.combine(day, time(rng.randint(15, 19), rng.randrange(60)), CST)


@dataclass
class Trip:
    """One trip as first reported, and where it can be named from."""

    trip_id: str
    kind: str
    returned: date
    events: list[dict] = field(default_factory=list)


class Bureau:
    """Makes the trips of every year up front, then names trips on planned projects and raises their issues."""

    def __init__(self, seed: int, projects: int, horizon: datetime, new_id):
        self.rng = random.Random(seed)
        self.issue_rng = random.Random(seed + 1)  # its own stream: naming trips leaves the issues as they were
        self.horizon = horizon
        self.new_id = new_id  # the event id maker of the feed stream the records go through
        self.trips = self._all_trips(projects / BASE_PROJECTS)
        by_kind: dict[str, list[Trip]] = {k: [] for k in TRIP_SHAPE}
        for trip in sorted(self.trips, key=lambda t: (t.returned, t.trip_id)):
            if trip.events[-1]["event_type"] == "trip_reported":
                by_kind[trip.kind].append(trip)
        self._named = by_kind
        self._returned = {k: [t.returned for t in ts] for k, ts in by_kind.items()}

    # ---- trips ---------------------------------------------------------------------------------

    def _all_trips(self, scale: float) -> list[Trip]:
        trips = []
        for year in YEARS:
            for kind, ((low, high), *_rest) in TRIP_SHAPE.items():
                for _ in range(max(1, round(self.rng.randint(low, high) * scale))):
                    trip = self._trip(f"TRIP-{year}-{len(trips) + 1:06d}", kind, year)
                    if trip.events:
                        trips.append(trip)
        return trips

    def _trip(self, trip_id: str, kind: str, year: int) -> Trip:
        r = self.rng
        _, people, days, companies = TRIP_SHAPE[kind]
        departed = date(year, 1, 1) + timedelta(days=r.randrange(365))
        returned = departed + timedelta(days=r.randint(*days) - 1)
        team = r.choice(list(TEAMS)) if kind == "team" else None
        region = (team and TEAMS[team]) or r.choice(list(CITIES))
        visited = r.randint(*companies)
        leads = round(visited * r.uniform(0.3, 0.9))
        report = {"kind": kind, "departed": departed.isoformat(), "returned": returned.isoformat(),
                  "leader": r.choice(TOP_LEADERS) if kind == "leader_led" else f"{r.choice(ORGANISERS)}负责人",
                  "department": r.choice(ORGANISERS), "people": r.randint(*people),
                  "destinations": r.sample(CITIES[region], k=r.randint(1, min(3, len(CITIES[region])))),
                  "region": region, "companies_visited": visited, "leads": leads,
                  "valid_leads": round(leads * r.uniform(0.2, 0.6))}
        if team:
            report["team"] = team
        trip = Trip(trip_id, kind, returned)
        at = _evening(returned + timedelta(days=r.randint(1, 6)), r)
        if at >= self.horizon:
            return trip
        trip.events.append(self._trip_event(trip_id, "trip_reported", at, **report))
        if r.random() < CORRECTED:  # a second report: the leads checked again
            at += timedelta(days=r.randint(3, 30))
            if at < self.horizon:
                report["valid_leads"] = min(leads, report["valid_leads"] + r.randint(0, 3))
                trip.events.append(self._trip_event(trip_id, "trip_reported", at, **report))
        if r.random() < WITHDRAWN and at + timedelta(days=2) < self.horizon:
            trip.events.append(self._trip_event(trip_id, "trip_withdrawn", at + timedelta(days=2), reason="重复上报"))
        return trip

    def _trip_event(self, trip_id: str, event_type: str, at: datetime, **payload) -> dict:
        return {"event_id": self.new_id(), "event_type": event_type, "schema_version": 2, "trip_id": trip_id,
                "occurred_at": _iso(at), "source": BUREAU, **payload}

    def trip_events(self) -> list[dict]:
        return [e for trip in self.trips for e in trip.events]

    def name_trip(self, planned: dict) -> None:
        """Maybe mark a ``project_planned`` event as found on a trip that returned before it (adds ``trip_id``)."""
        r = self.rng
        share = FROM_TRIP_LARGE if planned.get("investment_yuan", 0) >= LARGE_YUAN else FROM_TRIP_SMALL
        if r.random() >= share:
            return
        kind = r.choices(list(NAMED_KIND), weights=list(NAMED_KIND.values()))[0]
        day = datetime.fromisoformat(planned["occurred_at"]).date()
        returned = self._returned[kind]
        lo, hi = bisect.bisect_left(returned, day - NAMING_WINDOW), bisect.bisect_left(returned, day)
        if hi > lo:
            planned["trip_id"] = self._named[kind][r.randrange(lo, hi)].trip_id

    # ---- bottlenecks ---------------------------------------------------------------------------

    def issues(self, project_id: str, events: list[dict]) -> list[dict]:
        """The issues raised on a project once it negotiates, most resolved, some overdue, a few reopened."""
        r = self.issue_rng
        reached = [datetime.fromisoformat(e["occurred_at"]) for e in events
                   if (EVENT_STAGE.get(e["event_type"]) or 0) >= 2]
        if not reached or r.random() >= WITH_ISSUES:
            return []
        out: list[dict] = []
        start, end = min(reached), max(reached) + timedelta(days=180)
        for n in range(1, r.randint(1, 3) + 1):
            raised = start + (end - start) * r.random()
            if raised >= self.horizon:
                continue
            out.extend(self._issue(project_id, f"WT{n:02d}", raised))
        return out

    def _issue(self, project_id: str, issue_id: str, raised: datetime) -> list[dict]:
        r = self.issue_rng
        category = r.choices(list(CATEGORY), weights=[c[0] for c in CATEGORY.values()])[0]
        _, department, given, median = CATEGORY[category]
        due = (raised + timedelta(days=given)).date()
        raise_ = {"category": category, "description": DESCRIPTION[category], "department": department,
                  "due": due.isoformat()}
        made = [self._issue_event(project_id, "issue_raised", raised, issue_id, **raise_)]
        if r.random() >= RESOLVED_SHARE:
            return made
        resolved = raised + timedelta(days=max(1.0, r.lognormvariate(0, 0.7) * median))
        if resolved >= self.horizon:
            return made
        made.append(self._issue_event(project_id, "issue_resolved", resolved, issue_id, resolution="已协调解决"))
        if r.random() < REOPENED_SHARE:  # the problem came back: raised again, resolved later or still open
            again = resolved + timedelta(days=r.randint(10, 60))
            if again < self.horizon:
                made.append(self._issue_event(project_id, "issue_raised", again, issue_id, **raise_))
                finally_ = again + timedelta(days=r.randint(10, 90))
                if finally_ < self.horizon and r.random() < 0.6:
                    made.append(self._issue_event(project_id, "issue_resolved", finally_, issue_id,
                                                  resolution="再次协调，已解决"))
        return made

    def _issue_event(self, project_id: str, event_type: str, at: datetime, issue_id: str, **payload) -> dict:
        return {"event_id": self.new_id(), "event_type": event_type, "schema_version": 2, "project_id": project_id,
                "occurred_at": _iso(at), "source": BUREAU, "issue_id": issue_id, **payload}
