"""``funnel generate``: a deterministic synthetic event log calibrated on the seed articles.

Default size (600 projects, planned over 2022–2024) is tuned so the 2023 flows
clear the bureau's targets (≥200 planned, ≥160 negotiating, ≥80 signed, ≥60
landed) and 2024 clears its signing and start targets; the named projects of the
articles appear as real rows with their known figures. Real feeds' faults are
mixed in: late arrivals, exact re-sends, a legacy v1 feed, malformed lines,
event-id conflicts, orphan events and records without ``recorded_at``. The bureau's
promotion trips and the projects' bottlenecks come from :mod:`streams.synthetic.bureau`.
Projects are generated in chunks so millions of events stream in bounded memory.
"""

from __future__ import annotations

import csv
import io
import json
import random
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import IO, Iterator

from streams.contract.events import (
    AXES, CHANNELS, EVENT_STAGE, INDUSTRIES, SOURCE_REGIONS, STAGE_EVENT, STAGES, YUAN_PER_WAN, YUAN_PER_YI, ZONES,
)
from streams.core.clock import CST
from streams.synthetic.bureau import Bureau

LEAD_INDUSTRIES = frozenset({"现代商贸", "特色商业", "健康服务", "电子信息", "精密制造", "生命健康"})
DEPARTMENTS = ("区商务局", "区发改委", "区工信局", "区文广旅局", "区卫健委", "区科技局", "区投资促进中心")
TOWNS = ("马寨镇", "侯寨乡", "大学路街道", "建中街街道", "福华街街道", "人和路街道", "长江路街道", "京广路街道",
         "嵩山路街道", "解放路街道", "五里堡街道", "一马路街道", "蜜蜂张街道", "淮河路街道", "铭功路街道")
LEADERS = tuple(f"县处级领导{c}" for c in "甲乙丙丁戊己庚辛壬癸子丑寅卯辰巳")
DROP_REASONS = ("投资方战略调整", "选址未落实", "资金链紧张", "政策条件不符", "市场环境变化")
YEAR_WEIGHTS = {2022: 0.27, 2023: 0.40, 2024: 0.33}
HORIZON = datetime(2024, 12, 31, 18, 0, tzinfo=CST)
#: stage -> (probability of advancing to the next stage, days it takes: low, high)
ADVANCE = {1: (0.86, 20, 110), 2: (0.60, 45, 200), 3: (0.85, 30, 150), 4: (0.60, 150, 450), 5: (0.75, 15, 90)}
CSV_FIELDS = ("event_id", "event_type", "schema_version", "project_id", "occurred_at", "recorded_at", "source",
              "name", "industry", "lead_industry", "zone", "axis", "town", "source_region", "channel",
              "department", "leader", "investor", "reason", "investment_yuan", "investment_wan", "milestone", "due",
              "trip_id", "kind", "departed", "returned", "team", "people", "destinations", "region",
              "companies_visited", "leads", "valid_leads", "issue_id", "category", "description", "resolution")
#: How a CSV cell lists a trip's destinations (§8); the CSV reader splits them back.
CSV_LIST_SEPARATOR = "、"
#: Share of stage advances after which the bureau plans the next milestone's date (§6), and of plans revised later.
PLAN_SHARE, REPLAN_SHARE = 0.4, 0.15


@dataclass(frozen=True)
class Faults:
    """Shares of the faults real feeds have (of events unless said otherwise)."""

    late: float = 0.05
    resend: float = 0.03
    conflict: float = 0.003
    malformed: float = 0.004
    missing_recorded_at: float = 0.02
    legacy_projects: float = 0.12  #: of projects, reported by a town office's old v1 system
    orphan_projects: float = 0.01  #: of projects, whose planning record never reached the feed


@dataclass(frozen=True)
class Named:
    """A project named in the articles, with its known history (stage -> date) and amount."""

    pid: str
    name: str
    industry: str
    zone: str
    axis: str
    yi: float
    stages: dict[int, str]


NAMED: tuple[Named, ...] = (
    Named("EQ-N-001", "郑州杉杉奥特莱斯广场二七店", "现代商贸", "四环至绕城", "京广路", 20,
          {1: "2022-11-08", 2: "2023-01-10", 3: "2023-03-16", 4: "2023-06-18"}),
    Named("EQ-N-002", "仲景医药健康产业园", "生命健康", "三环至四环", "大学路", 55,
          {1: "2023-02-14", 2: "2023-05-09", 3: "2024-03-21", 4: "2024-08-28"}),
    Named("EQ-N-003", "华润万象城二期", "现代商贸", "三环内", "嵩山路", 60,
          {1: "2023-04-03", 2: "2023-07-12", 3: "2024-02-18", 4: "2024-10-15"}),
    Named("EQ-N-004", "国际汽车产业园", "装备制造", "四环至绕城", "京广路", 30,
          {1: "2023-03-06", 2: "2023-06-20", 3: "2023-11-08"}),
    Named("EQ-N-005", "金博大比亚迪品牌体验中心", "现代商贸", "三环内", "大学路", 2,
          {1: "2023-01-05", 2: "2023-02-08", 3: "2023-04-12", 4: "2023-07-20"}),
    Named("EQ-N-006", "亚细亚卓悦城", "特色商业", "三环内", "大学路", 8,
          {1: "2022-05-10", 2: "2022-07-01", 3: "2022-09-15", 4: "2022-12-01", 5: "2023-07-20", 6: "2023-08-06"}),
    Named("EQ-N-007", "任吉食品5000吨高端糕点面包生产中心", "现代食品", "四环至绕城", "京广路", 3,
          {1: "2022-03-01", 2: "2022-04-11", 3: "2022-06-20", 4: "2022-09-01", 5: "2023-09-15", 6: "2023-10-10"}),
    Named("EQ-N-008", "时事通医疗器械产业园", "生命健康", "三环至四环", "大学路", 4,
          {1: "2022-02-15", 2: "2022-04-01", 3: "2022-06-06", 4: "2022-08-18", 5: "2023-11-20", 6: "2023-12-12"}),
    Named("EQ-N-009", "中国电科芯片及汽车电子基地", "电子信息", "四环至绕城", "京广路", 45,
          {1: "2023-09-12", 2: "2023-12-05", 3: "2024-05-16"}),
    Named("EQ-N-010", "713军民融合产业园", "精密制造", "三环至四环", "京广路", 12,
          {1: "2023-05-18", 2: "2023-08-22"}),
    Named("EQ-N-011", "中实万里绿色云数据中心", "科技服务", "四环至绕城", "嵩山路", 15,
          {1: "2023-07-03", 2: "2023-10-16", 3: "2024-04-25"}),
    Named("EQ-N-012", "领航机器人末端执行器基地", "智能制造", "四环至绕城", "京广路", 6,
          {1: "2023-08-09", 2: "2024-01-17"}),
    Named("EQ-N-013", "深国际·北方区域总部智慧港", "现代商贸", "四环至绕城", "京广路", 35,
          {1: "2023-03-13", 2: "2023-05-24", 3: "2023-09-19", 4: "2024-03-12"}),
    Named("EQ-N-014", "“一河两岸”城市更新粮二库片区", "文旅文创", "三环内", "京广路", 41,
          {1: "2023-01-09", 2: "2023-03-15", 3: "2023-06-28", 4: "2023-10-26"}),
)


def _iso(ts: datetime) -> str:
    return ts.isoformat(timespec="seconds")


def _at(day: str, rng: random.Random) -> datetime:
    d = date.fromisoformat(day)
    return datetime(d.year, d.month, d.day, rng.randint(8, 17), rng.randrange(60), tzinfo=CST)


class Generator:
    """Makes the events of one project at a time, then the feed's faults around them."""

    def __init__(self, seed: int, faults: Faults = Faults()):
        self.rng = random.Random(seed)
        self.plans_rng = random.Random(seed + 1)  # its own stream: plans leave the other events as they were
        self.faults = faults

    def _uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def _amount(self) -> int:
        yi = min(self.rng.lognormvariate(1.15, 1.0), 180.0)  # median ≈ 3.2 亿
        return round(yi * YUAN_PER_YI / YUAN_PER_WAN) * YUAN_PER_WAN

    def _event(self, pid: str, event_type: str, at: datetime, source: str, **payload) -> dict:
        return {"event_id": self._uuid(), "event_type": event_type, "schema_version": 2, "project_id": pid,
                "occurred_at": _iso(at), "source": source, **payload}

    def _profile(self, name: str, industry: str, zone: str, axis: str) -> dict:
        r = self.rng
        return {"name": name, "industry": industry, "lead_industry": industry in LEAD_INDUSTRIES,
                "zone": zone, "axis": axis, "town": r.choice(TOWNS), "source_region": r.choice(SOURCE_REGIONS),
                "channel": r.choice(CHANNELS), "department": r.choice(DEPARTMENTS), "leader": r.choice(LEADERS)}

    def named_project(self, p: Named) -> list[dict]:
        source = "区投资促进中心"
        yuan = int(p.yi * YUAN_PER_YI)
        events = [self._event(p.pid, "project_planned", _at(p.stages[1], self.rng), source,
                              investment_yuan=yuan, **self._profile(p.name, p.industry, p.zone, p.axis))]
        for stage, day in sorted(p.stages.items()):
            if stage == 1:
                continue
            extra = {"investment_yuan": yuan, "investor": f"{p.name}投资方"} if stage == 3 else {}
            events.append(self._event(p.pid, STAGE_EVENT[stage], _at(day, self.rng), source, **extra))
        return events

    def _plan_time(self) -> datetime:
        r = self.rng
        year = r.choices(list(YEAR_WEIGHTS), weights=list(YEAR_WEIGHTS.values()))[0]
        day = datetime(year, 1, 1, 9, tzinfo=CST) + timedelta(days=r.randrange(365), minutes=r.randrange(540))
        return day

    def random_project(self, index: int) -> list[dict]:
        r = self.rng
        at = self._plan_time()
        pid = f"EQ-{at.year}-{index:07d}"
        industry = r.choice(list(INDUSTRIES))
        source = r.choice(DEPARTMENTS)
        planned_yuan = self._amount()
        name = f"{r.choice(TOWNS)}{industry}项目{index}"
        events = [self._event(pid, "project_planned", at, source, investment_yuan=planned_yuan,
                              **self._profile(name, industry, r.choice(list(ZONES)), r.choice(list(AXES))))]
        stage, yuan = 1, planned_yuan
        while stage < 6:
            p_next, low, high = ADVANCE[stage]
            step = timedelta(days=r.randint(low, high), hours=r.randint(-4, 4))
            if r.random() >= p_next:
                if r.random() < 0.45 and at + step * 2 < HORIZON:
                    events.append(self._event(pid, "project_dropped", at + step * 2, source,
                                              reason=r.choice(DROP_REASONS)))
                break
            at += step
            if at > HORIZON:
                break
            stage += 1
            payload: dict = {}
            if stage == 3:
                yuan = round(planned_yuan * r.uniform(0.7, 1.35) / YUAN_PER_WAN) * YUAN_PER_WAN
                payload = {"investment_yuan": yuan, "investor": f"投资方{r.randrange(10**4):04d}"}
            elif stage == 4 and r.random() < 0.5:
                payload = {"investment_yuan": round(yuan * r.uniform(0.9, 1.1) / YUAN_PER_WAN) * YUAN_PER_WAN}
            if stage == 2 and r.random() < 0.05:
                continue  # the negotiation was never reported: reaching "signed" implies it
            events.append(self._event(pid, STAGE_EVENT[stage], at, source, **payload))
        if r.random() < 0.15 and len(events) > 1:
            at_rev = datetime.fromisoformat(events[-1]["occurred_at"]) + timedelta(days=r.randint(5, 60))
            if at_rev < HORIZON:
                events.append(self._event(pid, "investment_revised", at_rev, source,
                                          investment_yuan=round(yuan * r.uniform(0.8, 1.25) / 10**4) * 10**4))
        if r.random() < 0.05:
            at_re = datetime.fromisoformat(events[0]["occurred_at"]) + timedelta(days=r.randint(30, 300))
            if at_re < HORIZON:
                events.append(self._event(pid, "project_reassigned", at_re, source,
                                          leader=r.choice(LEADERS), department=r.choice(DEPARTMENTS)))
        return events + self._plans(pid, events)

    def _plans(self, pid: str, events: list[dict]) -> list[dict]:
        """The bureau's milestone plans (§6): after an advance, a due date for the next stage, often optimistic."""
        r, plans = self.plans_rng, []
        for event in events:
            stage = EVENT_STAGE.get(event["event_type"])
            if stage is None or stage >= 6 or r.random() >= PLAN_SHARE:
                continue
            reached = datetime.fromisoformat(event["occurred_at"])
            _, low, high = ADVANCE[stage]
            due = reached + timedelta(days=round(r.uniform(low, high) * r.uniform(0.5, 1.1)))
            for _ in range(2 if r.random() < REPLAN_SHARE else 1):  # a later plan replaces the earlier one
                at = reached + timedelta(days=r.randint(1, 20), hours=r.randint(0, 8))
                if at >= HORIZON:
                    break
                plans.append({"event_id": str(uuid.UUID(int=r.getrandbits(128), version=4)),
                              "event_type": "milestone_planned", "schema_version": 2, "project_id": pid,
                              "occurred_at": _iso(at), "source": "区投资促进中心",
                              "milestone": STAGES[stage], "due": due.date().isoformat()})
                reached, due = at, due + timedelta(days=r.randint(30, 120))
        return plans

    # ---- the feed around the events -------------------------------------------------------------

    def _recorded(self, event: dict) -> datetime:
        occurred = datetime.fromisoformat(event["occurred_at"])
        if self.rng.random() < self.faults.late:
            return occurred + timedelta(days=self.rng.uniform(30, 200))
        return occurred + timedelta(hours=self.rng.expovariate(1 / 20))

    def _as_legacy(self, event: dict) -> dict:
        legacy = {k: v for k, v in event.items() if k != "investment_yuan"}
        legacy["schema_version"], legacy["source"] = 1, "town-oa-legacy"
        if "investment_yuan" in event:
            legacy["investment_wan"] = event["investment_yuan"] // YUAN_PER_WAN
        return legacy

    def _malformed(self, event: dict) -> bytes:
        kind = self.rng.randrange(10)
        text = json.dumps(event, ensure_ascii=False)
        match kind:
            case 0: return text[: len(text) // 2].encode()                       # truncated line
            case 1: return text.replace('"schema_version": 2', '"schema_version": 3').encode()
            case 2: return json.dumps({**event, "event_type": "project_paused"}, ensure_ascii=False).encode()
            case 3: return json.dumps({k: v for k, v in event.items() if k != "project_id"}).encode()
            case 4: return json.dumps({**event, "investment_yuan": -5 * 10**7}).encode()
            case 5: return json.dumps({**event, "occurred_at": event["occurred_at"][:19]}).encode()
            case 6: return text.replace('"source": "', '"source": "\x00').encode("utf-8")[:-1] + b'\xff"}'
            case 7: return json.dumps({**event, "investment_yuan": float("nan")}).encode()  # NaN
            case 8: return b"[" + text.encode() + b"]"
            case _:
                future = datetime.fromisoformat(event["recorded_at"]) + timedelta(days=40)
                return json.dumps({**event, "occurred_at": _iso(future)}, ensure_ascii=False).encode()

    def feed(self, events: list[dict], legacy: bool) -> Iterator[tuple[datetime, bytes | dict]]:
        """One project's records as (recorded_at, event or raw bytes), with the faults mixed in."""
        r, f = self.rng, self.faults
        for event in events:
            recorded = self._recorded(event)
            old = legacy and event["event_type"] != "milestone_planned"  # plans come from the bureau, in version 2
            record = {**(self._as_legacy(event) if old else event), "recorded_at": _iso(recorded)}
            if r.random() < f.malformed:
                yield recorded, self._malformed(record)
                continue
            if r.random() < f.missing_recorded_at:
                record = {k: v for k, v in record.items() if k != "recorded_at"}
            yield recorded, record
            if r.random() < f.resend:
                again = recorded + timedelta(days=r.uniform(0.5, 15))
                yield again, {**record, "recorded_at": _iso(again), "source": f"{record['source']}(重报)"}
            if r.random() < f.conflict:
                again = recorded + timedelta(days=r.uniform(1, 20))
                changed = datetime.fromisoformat(record["occurred_at"]) + timedelta(days=r.randint(1, 9))
                yield again, {**record, "recorded_at": _iso(again), "occurred_at": _iso(changed)}


def records(projects: int = 600, seed: int = 2023, faults: Faults = Faults(),
            chunk: int = 20_000, bureau: bool = True) -> Iterator[bytes | dict]:
    """The synthetic feed in arrival order: events (dicts) and malformed lines (bytes). ``bureau``: with the
    bureau's trips (§8) and the projects' issues (§9), from streams of their own (the project events are the same
    either way, but for the ``trip_id`` of projects found on a trip)."""
    gen = Generator(seed, faults)
    side = Generator(seed + 2, faults)  # the bureau's records get their ids and faults from their own stream
    office = Bureau(seed + 3, projects, HORIZON, side._uuid) if bureau else None
    trips = office.trip_events() if office else []
    chunks = max(1, -(-projects // chunk))
    named = list(NAMED[: max(0, min(len(NAMED), projects))])
    for number, start in enumerate(range(0, projects, chunk)):
        batch: list[tuple[datetime, int, bytes | dict]] = []
        extra: list[dict] = trips[number::chunks]
        for index in range(start, min(projects, start + chunk)):
            if index < len(named):
                events, legacy = gen.named_project(named[index]), False
            else:
                events, legacy = gen.random_project(index), gen.rng.random() < faults.legacy_projects
                if office and not legacy:  # a v1 feed has no trip_id
                    office.name_trip(events[0])
                if gen.rng.random() < faults.orphan_projects:
                    events = events[1:]
            if office and events:
                extra.extend(office.issues(events[0]["project_id"], events))
            batch.extend((at, len(batch), rec) for at, rec in gen.feed(events, legacy))
        batch.extend((at, len(batch), rec) for at, rec in side.feed(extra, False))
        batch.sort(key=lambda t: (t[0], t[1]))
        yield from (rec for _, _, rec in batch)


def _csv_line(rec: dict) -> bytes:
    buf = io.StringIO()
    row = ["" if rec.get(k) is None else str(rec[k]).lower() if isinstance(rec.get(k), bool)
           else CSV_LIST_SEPARATOR.join(rec[k]) if isinstance(rec.get(k), list) else str(rec[k]) for k in CSV_FIELDS]
    csv.writer(buf, lineterminator="\n").writerow(row)
    return buf.getvalue().encode()


def write(out: IO[bytes], recs: Iterator[bytes | dict], fmt: str = "jsonl") -> int:
    """Write records as JSON Lines or CSV; returns the number of lines written (header excluded)."""
    if fmt == "csv":
        out.write((",".join(CSV_FIELDS) + "\n").encode())
    n = 0
    for rec in recs:
        if isinstance(rec, bytes):
            line = rec + b"\n" if fmt == "jsonl" else b"malformed row,\n"
        elif fmt == "csv":
            line = _csv_line(rec)
        else:
            line = json.dumps(rec, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
        out.write(line)
        n += 1
    return n


def generate_file(path: Path, projects: int, seed: int, fmt: str = "jsonl", bureau: bool = True) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb", buffering=1 << 20) as out:
        return write(out, records(projects, seed, bureau=bureau), fmt)
