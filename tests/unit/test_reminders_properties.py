"""Properties of the reminders (§10) over random histories: the same reminders as a reference that folds the whole
log at the end of every day since the first event and reads §10 word by word; computing for D then D + 1 gives no
identity two values; the order in which the records arrive changes nothing."""

from __future__ import annotations

import json
import random
from datetime import date, datetime, time, timedelta

import polars as pl
from hypothesis import HealthCheck, given, settings, strategies as st

from streams.contract.events import MILESTONES
from streams.core.bottlenecks import issue_state
from streams.core.clock import CST, day_end
from streams.core.fold import ColourRules, planned, project_state, reached
from streams.core.log import accepted_events, received_log, settle
from streams.core.reminders import reminders_for

#: Short thresholds, so that a few weeks see every colour: green ≤ 3 days since an advance, blue ≤ 6, yellow ≤ 10;
#: red 5 days past a due date, blue from 3 days before it.
RULES = ColourRules(dwell=(("green", 3), ("blue", 6), ("yellow", 10)), red_late=5, blue_ahead=3)
START = date(2024, 1, 10)
SPAN = 85  # days of events: three month ends (01-31, 02-29, 03-31)
#: D for which a red_persisting about 2024-03-31 is in the window (D − 7 … D), as offsets from START.
RED_WINDOW = st.integers((date(2024, 3, 31) - START).days, (date(2024, 3, 31) - START).days + 8)
RANK = {"red": 2, "yellow": 1}

_kinds = st.sampled_from(["planned", "negotiating", "signed", "started", "operating", "dropped", "plan", "plan",
                          "raised", "raised", "resolved", "reassigned"])
_event = st.tuples(st.sampled_from("ABCD"), _kinds, st.integers(0, SPAN), st.integers(0, 23),
                   st.sampled_from(MILESTONES), st.integers(-10, SPAN + 10), st.sampled_from(["I1", "I2"]))
TYPES = {"planned": "project_planned", "negotiating": "negotiation_started", "signed": "contract_signed",
         "started": "construction_started", "operating": "operation_started", "dropped": "project_dropped",
         "plan": "milestone_planned", "raised": "issue_raised", "resolved": "issue_resolved",
         "reassigned": "project_reassigned"}


def _events(draws: list[tuple], planned_on: tuple[int | None, ...] = ()) -> list[dict]:
    """Events of the draws, after each project's planning on the day ``planned_on`` gives it (None: not planned
    there); each occurs at its own instant (a minute apart), so that arrival never breaks a tie."""
    out = []
    draws = [(p, "planned", day, 9, "signed", 0, "I1") for p, day in zip("ABCD", planned_on) if day is not None
             ] + list(draws)
    for n, (project, kind, day, hour, milestone, due, issue_id) in enumerate(draws):
        at = datetime.combine(START + timedelta(days=day), time(hour, n % 60, n // 60 % 60), CST)
        e = {"event_id": f"e{n}", "event_type": TYPES[kind], "schema_version": 2, "project_id": project,
             "occurred_at": at.isoformat(), "recorded_at": at.isoformat()}
        due_day = (START + timedelta(days=due)).isoformat()
        e |= {"planned": {"name": f"项目{project}", "industry": "现代商贸", "leader": f"领导{n}", "department": "区商务局"},
              "dropped": {"reason": "x"}, "plan": {"milestone": milestone, "due": due_day},
              "raised": {"issue_id": issue_id, "category": "land", "due": due_day},
              "resolved": {"issue_id": issue_id}, "reassigned": {"leader": f"领导{n}", "department": "侯寨乡"}
              }.get(kind, {})
        out.append(e)
    return out


def _settled(events: list[dict]) -> pl.DataFrame:
    records = [json.dumps(e, ensure_ascii=False).encode() for e in events]
    return settle(received_log(enumerate(records, start=1), datetime(2025, 1, 1, tzinfo=CST)))


def reference(settled: pl.DataFrame, day: date) -> set[str]:
    """§10 word by word: every day's end from the first event to D judged on a whole fold as of that day."""
    events = accepted_events(settled).collect()
    if not events.height:
        return set()
    found: set[str] = set()
    colour: dict[date, dict[str, str | None]] = {}
    d = START - timedelta(days=1)
    while d <= day:
        state = project_state(events, day_end(d), RULES)
        colour[d] = dict(zip(state["project_id"], state["colour"]))
        before = colour.get(d - timedelta(days=1), {})
        for p, c in colour[d].items():
            if RANK.get(c, 0) > RANK.get(before.get(p), 0):
                found.add(f"colour_worsened:{p}:{d}:")
        if (d + timedelta(days=1)).day == 1:
            m1 = d.replace(day=1) - timedelta(days=1)
            m2 = m1.replace(day=1) - timedelta(days=1)
            ends = [d, m1, m2]
            for p in state["project_id"]:
                if all(m in colour and colour[m].get(p) == "red" for m in ends):
                    found.add(f"red_persisting:{p}:{d}:")
        for row in state.filter(pl.col("colour").is_not_null()).iter_rows(named=True):
            for m in MILESTONES:
                due = row.get(planned(m))
                if due is not None and row[reached(m)] is None and d <= due <= d + timedelta(days=7):
                    found.add(f"milestone_due:{row['project_id']}:{due}:{m}")
        active = set(state.filter(pl.col("in_pools") & ~pl.col("dropped"))["project_id"])
        for row in issue_state(events, day_end(d)).iter_rows(named=True):
            if row["open"] and row["due"] is not None and row["due"] < d and row["project_id"] in active:
                found.add(f"issue_overdue:{row['project_id']}:{row['due']}:{row['issue_id']}")
        d += timedelta(days=1)
    window = day - timedelta(days=7)
    return {r for r in found if date.fromisoformat(r.split(":")[2]) >= window}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(draws=st.lists(_event, min_size=1, max_size=24), offset=st.one_of(st.integers(0, SPAN + 12), RED_WINDOW),
       seed=st.integers(0, 2**16), planned_on=st.tuples(*[st.one_of(st.none(), st.integers(0, 20))] * 4))
def test_the_reminders_of_a_day_are_the_references_and_do_not_depend_on_the_day_or_arrival(draws, offset, seed,
                                                                                          planned_on):
    events = _events(draws, planned_on)
    day = START + timedelta(days=offset)
    settled = _settled(events)
    got = reminders_for(settled, day, RULES)
    assert set(got["reminder_id"]) == reference(settled, day)
    assert got["reminder_id"].is_unique().all()
    following = reminders_for(settled, day + timedelta(days=1), RULES)
    both = got.drop("computed_for").join(following.drop("computed_for"), on="reminder_id", suffix="_next")
    for column in got.drop("computed_for", "reminder_id").columns:  # one identity, one value (but computed_for)
        assert both[column].equals(both[f"{column}_next"]), column
    shuffled = events[:]
    random.Random(seed).shuffle(shuffled)
    assert reminders_for(_settled(shuffled), day, RULES).equals(got)
