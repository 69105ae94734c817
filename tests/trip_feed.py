"""A history of trips (§8) and issues (§9) for the worker's tests: withdrawn trips, projects naming trips (kept in
other partitions than theirs), a resolved and reopened issue, an overdue one, a duplicate and a conflict."""

from __future__ import annotations

import json
from pathlib import Path

from tests.unit.history import ev
from tests.unit.test_trips_and_bottlenecks import issue, trip, withdrawn

#: The trips the history's projects name (TR-X names no trip at all).
TRIPS = ("TR-A", "TR-B", "TR-C", "TR-D", "TR-E")
#: The history's projects, each naming a trip; SPREAD more name TR-A, their keys in every partition of 3 or 6.
PROJECTS = ("TRP-1", "TRP-2", "TRP-3", "TRP-4", "TRP-5", "TRP-6")
SPREAD = tuple(f"TRQ-{i}" for i in range(14))


def trip_history(prefix: str = "") -> list[dict]:
    """The events of the history; ``prefix`` makes its ids (event, trip, project) unique to one topic."""
    t = {name: f"{prefix}{name}" for name in (*TRIPS, "TR-X")}
    p = {name: f"{prefix}{name}" for name in (*PROJECTS, *SPREAD)}
    e = iter(f"{prefix}ev-{n}" for n in range(1, 1000))
    reported = trip(t["TR-A"], "2024-03-08", people=4, companies_visited=10, valid_leads=3, leads=9,
                    team="先进制造组", region="长三角", leader="区长", department="区商务局",
                    destinations=["上海", "苏州"], event_id=next(e))
    return [
        reported,
        {**reported},  # the same record again: a duplicate
        {**reported, "people": 9},  # its event_id again with other content: a conflict
        trip(t["TR-B"], "2023-11-02", "leader_led", "2023-10-30", "2023-11-01", people=2, event_id=next(e)),
        withdrawn(t["TR-B"], "2024-02-01", reason="并入其他行程", event_id=next(e)),  # counts in 2023 only
        trip(t["TR-C"], "2024-04-10", event_id=next(e)),
        withdrawn(t["TR-C"], "2024-04-12", event_id=next(e)),
        trip(t["TR-C"], "2024-05-01", "other", "2024-04-28", "2024-04-30", companies_visited=3, event_id=next(e)),
        trip(t["TR-D"], "2024-06-01T09:00:00+08:00", event_id=next(e)),
        withdrawn(t["TR-D"], "2024-06-01T09:00:00+08:00", event_id=next(e)),  # the same instant: withdrawn
        trip(t["TR-E"], "2024-07-01", "leader_led", "2024-06-20", "2024-06-21", valid_leads=1, event_id=next(e)),
        ev(p["TRP-1"], "planned", "2024-03-20", trip_id=t["TR-A"], investment_yuan=500_000_000, event_id=next(e)),
        ev(p["TRP-1"], "signed", "2024-06-01", investment_yuan=600_000_000, event_id=next(e)),
        ev(p["TRP-2"], "planned", "2023-12-01", trip_id=t["TR-B"], investment_yuan=80_000_000, event_id=next(e)),
        ev(p["TRP-2"], "signed", "2024-03-01", event_id=next(e)),
        ev(p["TRP-3"], "planned", "2024-04-11", trip_id=t["TR-C"], event_id=next(e)),
        ev(p["TRP-4"], "planned", "2024-06-02", trip_id=t["TR-D"], event_id=next(e)),
        ev(p["TRP-5"], "planned", "2024-02-02", trip_id=t["TR-X"], event_id=next(e)),  # names no trip
        ev(p["TRP-6"], "planned", "2024-07-05", trip_id=t["TR-E"], investment_yuan=30_000_000, event_id=next(e)),
        ev(p["TRP-6"], "dropped", "2024-09-01", event_id=next(e)),  # dropped: still from a trip
        *(ev(p[name], "planned", f"2024-08-{i + 1:02d}", trip_id=t["TR-A"], investment_yuan=(i + 1) * 10**6,
             event_id=next(e)) for i, name in enumerate(SPREAD)),
        issue(p["TRP-1"], "raised", "I-1", "2024-04-01", due="2024-05-01", department="区自然资源局",
              event_id=next(e)),
        issue(p["TRP-1"], "resolved", "I-1", "2024-05-10", resolution="已协调", event_id=next(e)),
        issue(p["TRP-1"], "raised", "I-1", "2024-07-01", category="approval", due="2024-08-01",
              event_id=next(e)),  # reopened, overdue at the year's end
        issue(p["TRP-2"], "raised", "I-2", "2024-03-05", category="planning", due="2025-06-30", event_id=next(e)),
        issue(p["TRP-3"], "raised", "I-3", "2023-12-20", category="utilities", event_id=next(e)),
        issue(p["TRP-3"], "resolved", "I-3", "2024-02-20", event_id=next(e)),
        issue(p["TRP-6"], "raised", "I-4", "2024-08-01", category="funding", due="2024-08-15", event_id=next(e)),
        issue(p["TRP-5"], "resolved", "I-9", "2024-08-01", event_id=next(e)),  # never raised: no issue
    ]


def write_trip_feed(path: Path, prefix: str = "") -> Path:
    """The history as a JSON Lines feed."""
    path.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in trip_history(prefix)),
                    encoding="utf-8")
    return path
