"""Given this history: the reminders of DOMAIN.md §10 (streams/core/reminders.py), kind by kind, with the window's
edges, ties, late records, and a reference that judges every day's end by a whole fold."""

from __future__ import annotations

import json
from datetime import date, timedelta

import polars as pl

from streams.core.fold import DEFAULT_COLOURS, ColourRules
from streams.core.log import received_log, settle
from streams.core.reminders import RECORD_SCHEMA, judged_days, month_ends_in, reminders_for
from tests.unit.history import RECEIVED, ev
from tests.unit.test_trips_and_bottlenecks import issue

X = date(2024, 3, 10)  # a due date in the tests below


def _day(d: date, k: int = 0) -> str:
    return (d + timedelta(days=k)).isoformat()


def remind(events: list[dict], day: date | str, colours: ColourRules = DEFAULT_COLOURS) -> pl.DataFrame:
    records = [json.dumps(e, ensure_ascii=False).encode() for e in events]
    log = received_log(enumerate(records, start=1), RECEIVED)
    return reminders_for(settle(log), date.fromisoformat(day) if isinstance(day, str) else day, colours)


def ids(events: list[dict], day: date | str, colours: ColourRules = DEFAULT_COLOURS) -> set[str]:
    return set(remind(events, day, colours)["reminder_id"])


def planned_with(project: str = "A", due: date = X, milestone: str = "signed", day: str = "2024-01-05",
                 **owner) -> list[dict]:
    """A project planned on ``day`` with one plan: ``milestone`` due on ``due`` (blue from due − 30, yellow after
    the due date, red after due + 90)."""
    return [ev(project, "planned", day, leader=owner.get("leader", "王伟"),
               department=owner.get("department", "区商务局")),
            ev(project, "plan", day, milestone=milestone, due=due.isoformat())]


# ------------------------------------------------------------------------------------------------ the window

def test_the_days_judged_are_d_minus_14_to_d_and_the_month_ends_in_a_window():
    assert judged_days(date(2024, 3, 20)) == [date(2024, 3, 6) + timedelta(days=k) for k in range(15)]
    assert month_ends_in(date(2024, 2, 25), date(2024, 3, 3)) == [date(2024, 2, 29)]
    assert month_ends_in(date(2024, 3, 1), date(2024, 3, 30)) == []


def test_an_empty_log_and_a_log_without_projects_have_no_reminders():
    assert remind([], "2024-03-10").schema == pl.Schema(RECORD_SCHEMA)
    assert remind([ev("A", "planned", "2024-03-20")], "2024-03-10").is_empty()


# ------------------------------------------------------------------------------------------------ colour_worsened

def test_colour_worsened_on_the_day_after_the_due_date_and_when_it_turns_red():
    history = planned_with()
    assert ids(history, _day(X, 1)) >= {f"colour_worsened:A:{_day(X, 1)}:"}  # blue → yellow
    assert ids(history, _day(X, 91)) == {f"colour_worsened:A:{_day(X, 91)}:"}  # yellow → red (late > 90)
    assert not {i for i in ids(history, _day(X, 90)) if i.startswith("colour_worsened")}  # still yellow
    row = remind(history, _day(X, 91)).row(0, named=True)
    assert row["colour"] == "red" and row["about"] == X + timedelta(days=91) and row["leader"] == "王伟"
    assert "由黄色转为红色" in row["text"] and "王伟" in row["text"] and "区商务局" in row["text"]


def test_colour_worsened_stays_in_the_window_of_seven_days_then_is_never_sent():
    history = planned_with()
    worsened = f"colour_worsened:A:{_day(X, 1)}:"
    assert worsened not in ids(history, X)
    assert all(worsened in ids(history, _day(X, k)) for k in (1, 4, 8))  # about X+1, D up to X+1+7
    assert worsened not in ids(history, _day(X, 9))


def test_no_reminder_when_the_colour_improves_or_stays_or_only_becomes_blue():
    history = planned_with(due=X)
    blue_from = X - timedelta(days=30)
    assert not ids(history, blue_from)  # green → blue: nothing
    stays = [*planned_with(due=X), ev("A", "plan", _day(X, 2), milestone="signed", due=_day(X, 60))]
    # yellow at X+1, blue from X+2 (a later plan), yellow again after X+60: two days of worsening, two reminders
    got = {i for i in ids(stays, _day(X, 61)) if i.startswith("colour_worsened")}
    assert got == {f"colour_worsened:A:{_day(X, 61)}:"}
    assert f"colour_worsened:A:{_day(X, 1)}:" in ids(stays, _day(X, 8))


def test_from_no_colour_to_yellow_is_a_worsening():
    history = [ev("A", "planned", _day(X, 5)), ev("A", "plan", _day(X, 5), milestone="signed", due=X.isoformat())]
    got = remind(history, _day(X, 5))
    row = got.filter(pl.col("kind") == "colour_worsened").row(0, named=True)
    assert row["about"] == X + timedelta(days=5) and row["colour"] == "yellow" and "转为黄色" in row["text"]
    assert "由" not in row["text"].split("督查颜色")[1].split("，")[0]


def test_a_reminder_stays_once_held_even_when_a_later_event_ends_the_condition():
    history = [*planned_with(), ev("A", "signed", _day(X, 2))]  # signed after it turned yellow: no colour worse
    assert f"colour_worsened:A:{_day(X, 1)}:" in ids(history, _day(X, 5))


def test_a_late_record_makes_a_reminder_about_a_past_day_or_takes_one_away():
    history = planned_with(due=X)
    late_plan = ev("A", "plan", _day(X, -20), milestone="started", due=_day(X, -25),
                   recorded_at="2024-06-01T09:00:00+08:00")
    # the plan recorded late says the project was yellow from X-20 on (the earliest open due X-25 was past)
    assert f"colour_worsened:A:{_day(X, -20)}:" in ids([*history, late_plan], _day(X, -15))
    assert not ids(history, _day(X, -15))
    late_signing = ev("A", "signed", _day(X, -1), recorded_at="2024-06-01T09:00:00+08:00")
    assert f"colour_worsened:A:{_day(X, 1)}:" not in ids([*history, late_signing], _day(X, 3))


def test_orphans_dropped_and_operating_projects_have_no_colour_to_worsen():
    orphan = [ev("A", "plan", "2024-01-05", milestone="signed", due=X.isoformat())]
    dropped = [*planned_with(), ev("A", "dropped", _day(X, -1), reason="x")]
    operating = [*planned_with(), ev("A", "operating", _day(X, -1))]
    assert not ids(orphan, _day(X, 1))
    for history in (dropped, operating):  # the milestone was due while it had a colour, never worse after
        assert ids(history, _day(X, 1)) == {f"milestone_due:A:{X}:signed"}


# ------------------------------------------------------------------------------------------------ red_persisting

def test_red_persisting_about_the_third_red_month_end():
    history = planned_with(due=date(2023, 12, 1), day="2023-06-01")  # red from 2024-03-01 (late > 90)
    about = "red_persisting:A:2024-05-31:"
    assert about not in ids(history, "2024-05-30")
    assert all(about in ids(history, d) for d in ("2024-05-31", "2024-06-04", "2024-06-07"))
    assert about not in ids(history, "2024-06-08")
    assert "red_persisting:A:2024-04-30:" not in ids(history, "2024-04-30")  # red at 03-31 and 04-30 only
    assert "red_persisting:A:2024-06-30:" in ids(history, "2024-06-30")  # one about each such month end
    row = remind(history, "2024-05-31").filter(pl.col("kind") == "red_persisting").row(0, named=True)
    assert row["colour"] == "red" and "连续三个月末为红色" in row["text"]


def test_red_persisting_needs_every_one_of_the_three_month_ends():
    history = [*planned_with(due=date(2023, 12, 1), day="2023-06-01"),
               ev("A", "signed", "2024-04-15"), ev("A", "plan", "2024-04-15", milestone="started", due="2024-01-01")]
    # signed mid-April, with a start due 2024-01-01 already 120 days late: red at 03-31, 04-30 and 05-31
    got = ids(history, "2024-05-31")
    assert "red_persisting:A:2024-05-31:" in got
    history = [*planned_with(due=date(2023, 12, 1), day="2023-06-01"), ev("A", "signed", "2024-04-15")]
    assert "red_persisting:A:2024-05-31:" not in ids(history, "2024-05-31")  # green at 04-30 after the signing


# ------------------------------------------------------------------------------------------------ milestone_due

def test_milestone_due_from_seven_days_before_to_seven_days_after_its_due_date():
    history = planned_with()
    due = f"milestone_due:A:{X}:signed"
    assert due not in ids(history, _day(X, -8))
    assert all(due in ids(history, _day(X, k)) for k in (-7, 0, 7))
    assert due not in ids(history, _day(X, 8))
    row = remind(history, _day(X, -7)).row(0, named=True)
    assert (row["milestone"], row["due"], row["colour"]) == ("signed", X, "blue")
    assert "签约" in row["text"] and "2024年3月10日" in row["text"]


def test_two_milestones_due_the_same_day_are_two_reminders():
    history = [*planned_with(), ev("A", "plan", "2024-01-05", milestone="started", due=X.isoformat())]
    assert {f"milestone_due:A:{X}:signed", f"milestone_due:A:{X}:started"} <= ids(history, X)


def test_a_plan_moved_keeps_the_reminder_about_the_old_date_and_makes_one_about_the_new():
    history = [*planned_with(), ev("A", "plan", _day(X, -3), milestone="signed", due=_day(X, 30))]
    got = ids(history, _day(X, -3))
    assert f"milestone_due:A:{X}:signed" in got and f"milestone_due:A:{_day(X, 30)}:signed" not in got
    assert f"milestone_due:A:{_day(X, 30)}:signed" in ids(history, _day(X, 23))


def test_a_milestone_reached_or_planned_after_its_due_date_is_not_due():
    reached = [*planned_with(), ev("A", "signed", _day(X, -20))]
    assert not ids(reached, X)
    late = [ev("A", "planned", "2024-01-05"), ev("A", "plan", _day(X, 2), milestone="signed", due=X.isoformat())]
    got = ids(late, _day(X, 2))
    assert f"milestone_due:A:{X}:signed" not in got and f"colour_worsened:A:{_day(X, 2)}:" in got


def test_a_project_without_a_colour_has_no_milestone_due():
    orphan = [ev("A", "plan", "2024-01-05", milestone="signed", due=X.isoformat())]
    assert not ids(orphan, X)


# ------------------------------------------------------------------------------------------------ issue_overdue

def _with_issue(due: date = X, **extra) -> list[dict]:
    return [ev("A", "planned", "2024-03-01", leader="王伟", department="区商务局"),
            issue("A", "raised", "I1", "2024-03-02", due=due.isoformat(), department="区自然资源局", **extra)]


def test_issue_overdue_from_the_day_after_its_due_date_for_seven_days():
    overdue = f"issue_overdue:A:{X}:I1"
    assert overdue not in ids(_with_issue(), X)  # due on the day judged: not overdue
    assert all(overdue in ids(_with_issue(), _day(X, k)) for k in (1, 7))
    assert overdue not in ids(_with_issue(), _day(X, 8))
    row = remind(_with_issue(), _day(X, 1)).filter(pl.col("kind") == "issue_overdue").row(0, named=True)
    assert (row["issue_id"], row["due"], row["department"]) == ("I1", X, "区商务局")
    assert "区自然资源局" in row["text"] and "土地" in row["text"] and "超期" in row["text"]


def test_an_issue_resolved_in_time_is_not_overdue_one_resolved_late_stays():
    assert not ids([*_with_issue(), issue("A", "resolved", "I1", X.isoformat())], _day(X, 3))
    assert f"issue_overdue:A:{X}:I1" in ids([*_with_issue(), issue("A", "resolved", "I1", _day(X, 2))], _day(X, 3))


def test_an_issue_of_a_dropped_or_orphan_project_is_not_overdue_and_a_late_raise_is():
    dropped = [*_with_issue(), ev("A", "dropped", _day(X, -1), reason="x")]
    orphan = [issue("A", "raised", "I1", "2024-03-02", due=X.isoformat())]
    assert not ids(dropped, _day(X, 2)) and not ids(orphan, _day(X, 2))
    late = [ev("A", "planned", "2024-03-01"), issue("A", "raised", "I1", _day(X, 4), due=X.isoformat())]
    assert f"issue_overdue:A:{X}:I1" in ids(late, _day(X, 4)) and not ids(late, _day(X, 3))


def test_the_responsible_people_are_those_of_the_latest_event_and_do_not_depend_on_the_day():
    history = [*_with_issue(), ev("A", "reassigned", _day(X, 20), leader="李强", department="侯寨乡")]
    early, late = remind(history, _day(X, 1)), remind(history, _day(X, 2))
    assert early["leader"].to_list() == ["李强"] and early["department"].to_list() == ["侯寨乡"]
    assert early.drop("computed_for").equals(late.drop("computed_for"))
