"""Accounting, duplicates, conflicts and the bitemporal view (§3, §4)."""

from streams.core.summary import summary
from tests.unit.history import ev, fold


def test_accounting_identity_and_first_received_wins():
    first = ev("P", "planned", "2023-01-10", event_id="x")
    again = {**first, "recorded_at": "2023-02-01T00:00:00+08:00", "source": "resend"}
    conflict = {**first, "occurred_at": "2023-01-11T12:00:00+08:00"}
    doc = summary(fold([first, again, conflict, b"not json", b'{"schema_version": 7}']))
    acc = doc["accounting"]
    assert acc == {"received": 5, "accepted": 1, "duplicates": 1,
                   "rejected": {"malformed": 1, "unsupported_version": 1, "event_id_conflict": 1}}
    assert acc["received"] == acc["accepted"] + acc["duplicates"] + sum(acc["rejected"].values())


def test_the_same_event_id_in_another_project_is_another_event():
    doc = summary(fold([ev("P", "planned", "2023-01-10", event_id="x"), ev("Q", "planned", "2023-01-10", event_id="x")]))
    assert doc["accounting"]["accepted"] == 2


def test_known_at_sees_only_what_was_recorded_by_then():
    events = [ev("P", "planned", "2023-12-01", recorded_at="2023-12-02T09:00:00+08:00"),
              ev("P", "signed", "2023-12-20", recorded_at="2024-01-05T23:59:59+08:00"),
              ev("P", "started", "2023-12-28", recorded_at="2024-01-06T00:00:00+08:00"),
              b"not json"]
    doc = summary(fold(events, as_of="2023-12-31", known_at="2024-01-05"))
    assert doc["known_at"] == "2024-01-05"
    assert doc["accounting"] == {"received": 2, "accepted": 2, "duplicates": 0, "rejected": {}}
    assert doc["pools"]["signed"]["count"] == 1
    assert summary(fold(events, as_of="2023-12-31"))["pools"]["landed"]["count"] == 1


def test_summary_has_the_domain_shape():
    doc = summary(fold([ev("P", "planned", "2023-01-10", investment_yuan=5)], as_of="2023-12-31"))
    assert list(doc) == ["as_of", "known_at", "accounting", "projects", "pools", "flows"]
    assert list(doc["pools"]) == ["planning", "attraction", "signed", "landed", "dropped"]
    assert doc["flows"] == {"2023": {"planned": 1, "negotiating": 0, "signed": 0, "started": 0, "completed": 0,
                                     "operating": 0}}
