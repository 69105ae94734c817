"""The contract of trips (§8) and bottlenecks (§9): acceptance on the standard, fast and batch paths, and settling
trip events in their own namespace."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from streams.contract import columnar, typed
from streams.contract.acceptance import Rejection, check_record
from streams.core.log import LogBuilder, settle

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=timezone(timedelta(hours=8)))


def trip(**over) -> dict:
    event = {"event_id": "t-e1", "event_type": "trip_reported", "schema_version": 2, "trip_id": "T-1",
             "occurred_at": "2024-03-08T10:00:00+08:00", "recorded_at": "2024-03-08T11:00:00+08:00",
             "kind": "team", "departed": "2024-03-04", "returned": "2024-03-07", "team": "智能制造组",
             "leader": "王", "department": "投资促进局", "people": 4, "destinations": ["上海", "苏州"],
             "region": "长三角", "companies_visited": 12, "leads": 5, "valid_leads": 3}
    return {k: v for k, v in {**event, **over}.items() if v is not ...}


def issue(**over) -> dict:
    event = {"event_id": "i-e1", "event_type": "issue_raised", "schema_version": 2, "project_id": "P-1",
             "occurred_at": "2023-05-08T10:00:00+08:00", "issue_id": "Q-1", "category": "land",
             "description": "用地指标", "department": "自然资源局", "due": "2023-06-30"}
    return {k: v for k, v in {**event, **over}.items() if v is not ...}


def _raw(event: dict) -> bytes:
    return json.dumps(event, ensure_ascii=False).encode()


def _verdicts(event: dict) -> tuple:
    """The verdict of the standard path, which the fast path must repeat."""
    raw = _raw(event)
    standard, fast = check_record(raw, NOW, fast=False), check_record(raw, NOW)
    assert fast == standard
    return standard.reason if isinstance(standard, Rejection) else "accepted"


@pytest.mark.parametrize("event", [
    trip(), trip(event_type="trip_withdrawn", kind=..., departed=..., returned=..., reason="重复上报"),
    trip(destinations=[]), trip(returned="2024-03-04", people=...), trip(kind="leader_led"),
    issue(), issue(event_type="issue_resolved", category=..., resolution="已供地"), issue(due=...),
    {**issue(event_type="project_planned", name="n", industry="i", category=..., issue_id=...), "trip_id": "T-1"},
])
def test_trip_and_issue_events_are_accepted_and_certified(event: dict) -> None:
    assert _verdicts(event) == "accepted"
    assert typed.certified(_raw(event)) is not None  # the common case takes the fast path
    certified = columnar.certify_batch([_raw(event)], pl.Series([NOW], dtype=pl.Datetime("us", "UTC")))
    assert certified.events.height == 1 and not certified.rest  # and the batch path


@pytest.mark.parametrize("event, reason", [
    (trip(project_id=None), "schema"), (trip(project_id="P-1"), "schema"), (trip(project_id=""), "schema"),
    (trip(trip_id=...), "schema"), (trip(trip_id=""), "schema"), (trip(kind="小分队"), "schema"),
    (trip(returned="2024-03-03"), "schema"), (trip(people=0), "schema"), (trip(valid_leads=-1), "schema"),
    (trip(destinations="上海"), "schema"), (trip(destinations=["上海", 1]), "schema"), (trip(team=None), "schema"),
    (trip(departed="2024-3-4"), "schema"), (trip(kind=...), "schema"),
    (trip(people=2**63), "schema"), (trip(leads=2**63), "schema"),  # counts fit 64 bits, as amounts do
    (trip(schema_version=1), "unknown_event_type"), (trip(schema_version=1, project_id=None), "unknown_event_type"),
    (trip(schema_version=3), "unsupported_version"),
    (issue(project_id=...), "schema"), (issue(issue_id=...), "schema"), (issue(category="土地"), "schema"),
    (issue(due="2023-02-30"), "schema"), (issue(schema_version=1), "unknown_event_type"),
    (issue(event_type="issue_resolved", schema_version=1, category=...), "unknown_event_type"),
    ({**issue(event_type="project_planned", name="n", industry="i"), "trip_id": ""}, "schema"),
])
def test_trip_and_issue_events_are_rejected_as_section_3_orders(event: dict, reason: str) -> None:
    assert _verdicts(event) == reason


def test_a_count_beyond_64_bits_is_left_to_the_per_record_path() -> None:
    """(A hypothesis find: the batch path read such a count into an Int64 column and failed.)"""
    raws = [_raw(trip(people=2**63)), _raw(trip(event_id="t-e2", people=2**63 - 1))]
    certified = columnar.certify_batch(raws, pl.Series([NOW, NOW], dtype=pl.Datetime("us", "UTC")))
    assert certified.rest == [0] and certified.events["people"].to_list() == [2**63 - 1]
    assert_frame_equal(_log([trip(people=2**63)]), _log([trip(people=2**63)], fast=False))


def test_a_trip_returning_before_it_departs_is_left_to_the_per_record_path() -> None:
    raws = [_raw(trip(returned="2024-03-03")), _raw(trip(event_id="t-e2"))]
    certified = columnar.certify_batch(raws, pl.Series([NOW, NOW], dtype=pl.Datetime("us", "UTC")))
    assert certified.rest == [0] and certified.events.height == 1


def _log(events: list[dict], fast: bool = True) -> pl.DataFrame:
    builder = LogBuilder(fast=fast)
    for seq, event in enumerate(events, 1):
        builder.add(seq, _raw(event), NOW, stamp_missing=True)
    return builder.frame()


def test_trip_and_issue_log_rows_are_the_same_on_every_path() -> None:
    events = [trip(), trip(event_id="t-e2", event_type="trip_withdrawn", kind=..., departed=..., returned=...),
              issue(), issue(event_id="i-e2", event_type="issue_resolved", category=..., due=...),
              {**issue(event_id="p", event_type="project_planned", name="n", industry="i"), "trip_id": "T-1"},
              {**issue(event_id="s", event_type="contract_signed", category=...), "trip_id": "T-9"}]
    log = _log(events)
    assert_frame_equal(log, _log(events, fast=False))
    rows = log.select("trip_id", "project_id", "kind", "departed", "returned", "people", "issue_id", "category",
                      "due", "drop_reason").rows()
    assert rows[0][:6] == ("T-1", None, "team", datetime(2024, 3, 4).date(), datetime(2024, 3, 7).date(), 4)
    assert rows[1][:3] == ("T-1", None, None)
    assert rows[2][6:9] == ("Q-1", "land", datetime(2023, 6, 30).date())
    assert rows[3][6:9] == ("Q-1", None, None)
    assert rows[4][0] == "T-1" and rows[4][6:9] == (None, None, None)  # a project's trip_id; no issue fields
    assert rows[5][0] is None and rows[5][6] is None  # on other types they name nothing (§8)


def test_trip_ids_and_project_ids_are_separate_namespaces_for_duplicates_and_conflicts() -> None:
    same_id = {"event_id": "E"}
    events = [trip(**same_id), issue(**same_id, project_id="T-1"),      # the same ids in both namespaces
              trip(**same_id, recorded_at="2024-03-09T00:00:00+08:00"),  # a re-send: duplicate
              trip(**same_id, people=5),                                  # the same trip and event id: conflict
              trip(**same_id, trip_id="T-2"),                             # another trip: its own event
              issue(**same_id, project_id="T-1", category="funding")]    # a project's conflict
    outcomes = settle(_log(events))["outcome"].to_list()
    assert outcomes == ["accepted", "accepted", "duplicate", "event_id_conflict", "accepted", "event_id_conflict"]


def test_on_kafka_a_trip_record_is_keyed_by_its_trip_id_and_a_project_event_by_its_project() -> None:
    from streams.contract.events import key_of
    from streams.feeds import FeedRecord
    from streams.feeds.ingest import _key

    assert key_of(trip()) == "T-1" and key_of(issue()) == "P-1"
    assert key_of({**issue(event_type="project_planned"), "trip_id": "T-1"}) == "P-1"  # a project names a trip
    assert key_of(trip(trip_id="")) is None and key_of({"event_type": "trip_reported", "trip_id": 5}) is None
    record = FeedRecord("feed.jsonl:1", _raw(trip()))
    assert _key(record) == b"T-1"
    assert _key(FeedRecord("feed.jsonl:2", _raw(issue()))) == b"P-1"
