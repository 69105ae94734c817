"""Arrival order never changes a result; re-sending never changes anything but the duplicate count."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings, strategies as st

from streams.core.summary import summary
from tests.unit.history import TYPES, fold

CST = timezone(timedelta(hours=8))
START = datetime(2022, 6, 1, tzinfo=CST)


@st.composite
def logs(draw) -> list[dict]:
    """A log of a few projects, with their issues (§9), and of a few trips (§8); occurred_at distinct within a
    project and within a trip so no tie depends on arrival (a tie between a report and a withdrawal does not)."""
    events = []
    for t in range(draw(st.integers(0, 3))):
        tid = f"T{t}"
        minutes = draw(st.lists(st.integers(0, 60 * 24 * 900), min_size=1, max_size=4, unique=True))
        for i, minute in enumerate(minutes):
            at = (START + timedelta(minutes=minute)).isoformat()
            event = {"event_id": f"{tid}-{i}", "event_type": "trip_withdrawn", "schema_version": 2, "trip_id": tid,
                     "occurred_at": at, "recorded_at": at}
            if draw(st.integers(0, 3)):
                departed, returned = draw(st.sampled_from([("2022-12-30", "2023-01-02"), ("2023-05-04", "2023-05-04"),
                                                           ("2024-02-01", "2024-02-05")]))
                event |= {"event_type": "trip_reported", "kind": draw(st.sampled_from(["leader_led", "team", "other"])),
                          "departed": departed, "returned": returned,
                          "people": draw(st.integers(1, 9)), "valid_leads": draw(st.integers(0, 5))}
            events.append(event)
        if draw(st.booleans()):  # a withdrawal at the instant of a report wins, whatever the arrival
            events.append({**events[-1], "event_id": f"{tid}-w", "event_type": "trip_withdrawn"})
    for p in range(draw(st.integers(1, 5))):
        pid = f"P{p}"
        kinds = draw(st.lists(st.sampled_from([*TYPES, "raise", "resolve"]), min_size=1, max_size=8))
        minutes = draw(st.lists(st.integers(0, 60 * 24 * 900), min_size=len(kinds), max_size=len(kinds), unique=True))
        for i, (kind, minute) in enumerate(zip(kinds, minutes)):
            at = (START + timedelta(minutes=minute)).isoformat()
            if kind in ("raise", "resolve"):
                event = {"event_id": f"{pid}-{i}", "event_type": "issue_raised" if kind == "raise" else "issue_resolved",
                         "schema_version": 2, "project_id": pid, "occurred_at": at, "recorded_at": at,
                         "issue_id": draw(st.sampled_from(["Q1", "Q2"]))}
                if kind == "raise":
                    event |= {"category": draw(st.sampled_from(["land", "funding"])),
                              "due": draw(st.sampled_from(["2022-09-01", "2023-03-31"]))}
                events.append(event)
                continue
            event = {"event_id": f"{pid}-{i}", "event_type": TYPES[kind], "schema_version": draw(st.sampled_from([1, 2])),
                     "project_id": pid, "occurred_at": at, "recorded_at": at}
            if kind == "planned":
                event |= {"name": pid, "industry": draw(st.sampled_from(["现代商贸", "电子信息"]))}
                trip_id = draw(st.sampled_from([None, "T0", "T1", "T9"]))
                if trip_id is not None:
                    event["trip_id"] = trip_id
            if kind in ("planned", "signed", "revised", "started") and draw(st.booleans()):
                amount_key = "investment_wan" if event["schema_version"] == 1 else "investment_yuan"
                event[amount_key] = draw(st.integers(0, 10**6))
            if kind == "plan":  # plans are version 2 only (a v1 plan is rejected: see test_supervision)
                event |= {"schema_version": 2, "milestone": draw(st.sampled_from(["signed", "started", "operating"])),
                          "due": draw(st.sampled_from(["2022-09-01", "2023-03-31", "2024-12-01"]))}
            if kind == "revised" and not any(k.startswith("investment_") for k in event):
                event["investment_wan" if event["schema_version"] == 1 else "investment_yuan"] = 1
            events.append(event)
    return events


AS_OF = st.sampled_from(["2022-12-31", "2023-06-30", "2024-12-31"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(log=logs(), data=st.data(), as_of=AS_OF)
def test_any_permutation_gives_the_same_summary(log, data, as_of):
    shuffled = data.draw(st.permutations(log))
    assert summary(fold(shuffled, as_of)) == summary(fold(log, as_of))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(log=logs(), data=st.data(), as_of=AS_OF)
def test_resending_any_subset_only_adds_duplicates(log, data, as_of):
    resent = data.draw(st.lists(st.sampled_from(log), max_size=len(log))) if log else []
    resent = [{**e, "recorded_at": (datetime.fromisoformat(e["recorded_at"]) + timedelta(days=3)).isoformat(),
               "source": "resend"} for e in resent]
    mixed = data.draw(st.permutations(log + resent))
    before, after = summary(fold(log, as_of)), summary(fold(mixed, as_of))
    assert after["accounting"]["duplicates"] == before["accounting"]["duplicates"] + len(resent)
    assert after["accounting"]["received"] == before["accounting"]["received"] + len(resent)
    assert {k: v for k, v in after.items() if k != "accounting"} == {k: v for k, v in before.items() if k != "accounting"}


def test_the_generated_log_is_order_independent_too():
    """Shuffle the synthetic feed, keeping only the order among re-sends of one event (first received wins)."""
    import random

    from streams import synthetic

    records = [r if isinstance(r, bytes) else json.dumps(r, ensure_ascii=False).encode()
               for r in synthetic.records(300, seed=3)]
    rng = random.Random(1)
    keys = [rng.random() for _ in records]
    groups: dict = {}
    for i, raw in enumerate(records):
        try:
            event = json.loads(raw)
            groups.setdefault((event.get("project_id"), event.get("event_id")), []).append(i)
        except ValueError:
            pass
    for members in groups.values():  # within a group, hand the smallest keys out in arrival order
        for i, key in zip(members, sorted(keys[i] for i in members)):
            keys[i] = key
    shuffled = [r for _, r in sorted(zip(keys, records))]
    assert shuffled != records
    assert summary(fold(shuffled)) == summary(fold(records))
