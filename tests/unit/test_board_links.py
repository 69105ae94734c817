"""The projects behind the board's trip and bottleneck figures (streams/core/trips.py ``from_trips_reaching``,
bottlenecks.py ``issue_projects``) are exactly as many as the summary counts, and the desk's Chinese wording."""

from __future__ import annotations

from datetime import date

from streams.core.bottlenecks import issue_projects
from streams.core.summary import summary
from streams.core.trips import from_trips_reaching
from streams.serve.desk.wording import detail_zh
from tests.unit.history import ev, fold
from tests.unit.test_trips_and_bottlenecks import issue, trip, withdrawn

HISTORY = [
    trip("T1", "2024-03-10", kind="team"),
    trip("T2", "2024-05-10", kind="leader_led", departed="2024-05-06", returned="2024-05-07"),
    trip("T3", "2024-05-10", kind="team"),
    withdrawn("T3", "2024-06-01"),
    ev("A", "planned", "2024-01-05", trip_id="T1"), ev("A", "signed", "2024-04-01"),
    ev("B", "planned", "2023-02-05", trip_id="T2"), ev("B", "signed", "2024-05-01"),
    ev("C", "planned", "2024-02-05", trip_id="T2"),
    ev("D", "planned", "2024-02-05", trip_id="T3"), ev("D", "signed", "2024-03-01"),  # a withdrawn trip's
    ev("E", "planned", "2024-02-05"), ev("E", "dropped", "2024-06-01"),
    issue("A", "raised", "Q1", "2024-03-01", due="2024-06-30"), issue("A", "raised", "Q2", "2024-03-01",
                                                                       due="2025-06-30"),
    issue("C", "raised", "Q3", "2024-03-01", due="2025-01-31"),
    issue("E", "raised", "Q4", "2024-03-01", due="2024-04-30"),  # a dropped project's: not open
    issue("B", "raised", "Q5", "2023-03-01", due="2023-06-30"), issue("B", "resolved", "Q5", "2024-02-01"),
    issue("C", "raised", "Q6", "2023-03-01", due="2023-06-30"), issue("C", "resolved", "Q6", "2023-05-01"),
]


def test_the_projects_from_trips_are_those_the_summary_counts():
    result = fold(HISTORY)
    counted = summary(result)["trips"]["2024"]
    signed = from_trips_reaching(result.from_trips, result.trips, None, "signed", "2024")
    planned = from_trips_reaching(result.from_trips, result.trips, None, "planned", "2024")
    assert signed.to_list() == ["A", "B"] and len(signed) == counted["projects_signed"]
    assert planned.to_list() == ["A", "C"] and len(planned) == counted["projects_planned"]
    assert from_trips_reaching(result.from_trips, result.trips, "leader_led", "planned", "2024").to_list() == ["C"]
    assert from_trips_reaching(result.from_trips, result.trips, "team", "signed", "2024").to_list() == ["A"]
    assert from_trips_reaching(None, None, "team", "signed", "2024").to_list() == []


def test_the_projects_with_open_overdue_and_cleared_issues_are_those_the_summary_counts():
    result = fold(HISTORY)
    doc = summary(result)["bottlenecks"]
    as_of = date(2024, 12, 31)
    assert issue_projects(result.issues, result.state, as_of, "open").to_list() == ["A", "C"]
    assert doc["open"] == 3  # A has two open issues: the figure counts issues, the list projects
    assert issue_projects(result.issues, result.state, as_of, "overdue").to_list() == ["A"] and doc["overdue"] == 1
    cleared = issue_projects(result.issues, result.state, as_of, "2024")
    assert cleared.to_list() == ["B"] and len(cleared) == doc["projects_cleared"]["2024"]
    assert issue_projects(result.issues, result.state, as_of, "2023").to_list() == ["C"]


def test_the_desk_says_the_readers_details_in_chinese_and_keeps_an_unknown_one():
    assert detail_zh("项目编号 X: belongs to 区科技局 as of the month's end, not to 区商务局") == \
        "项目编号 X：月末责任单位为区科技局，不是区商务局"
    assert detail_zh("in the signed pool of 区商务局, with no row in the ledger") == "区商务局的签约库项目，台账中没有这一行"
    assert detail_zh("something new") == "something new" and detail_zh(None) == ""
