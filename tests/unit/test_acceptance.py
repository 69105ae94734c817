"""DOMAIN.md §3: every stateless reason, their precedence and the upcast (duplicates: test_settle.py)."""

import json
from datetime import datetime, timedelta, timezone

import pytest

from streams.contract.acceptance import (
    MAX_DEPTH, REASONS, Rejection, check_record, upcast, wan_to_yuan,
)
from streams.contract.events import EVENT_TYPES
from streams.contract.schemas import event_types_in_schema

CST = timezone(timedelta(hours=8))
NOW = datetime(2024, 1, 5, 12, 0, tzinfo=CST)


def planned(**over) -> dict:
    event = {"event_id": "e-1", "event_type": "project_planned", "schema_version": 2, "project_id": "P-1",
             "occurred_at": "2023-03-01T09:30:00+08:00", "recorded_at": "2023-03-02T10:00:00+08:00",
             "name": "杉杉奥特莱斯", "industry": "现代商贸", "lead_industry": True, "investment_yuan": 2_000_000_000}
    event.update(over)
    return {k: v for k, v in event.items() if v is not ...}


def verdict(obj_or_bytes) -> dict | Rejection:
    raw = obj_or_bytes if isinstance(obj_or_bytes, bytes) else json.dumps(obj_or_bytes, ensure_ascii=False).encode()
    return check_record(raw, NOW)


def reason(obj_or_bytes) -> str | None:
    v = verdict(obj_or_bytes)
    return v.reason if isinstance(v, Rejection) else None


def test_a_valid_event_is_accepted_unchanged():
    assert verdict(planned()) == planned()


def test_unknown_extra_fields_are_kept():
    assert verdict(planned(custom_field={"a": 1}))["custom_field"] == {"a": 1}


def test_recorded_at_is_stamped_when_absent():
    accepted = verdict(planned(recorded_at=...))
    assert datetime.fromisoformat(accepted["recorded_at"]) == NOW


@pytest.mark.parametrize("raw", [
    b"\xff\xfe{}",                                            # not UTF-8
    b'{"event_id": "e-1",',                                   # truncated
    b'{"investment_yuan": NaN}',                              # NaN is not JSON
    b'{"investment_yuan": Infinity}',
    b'{"investment_yuan": -Infinity}',
    b"[1, 2]",                                                # not an object
    b'"just a string"',
    b"",
    b"\xef\xbb\xbf{}",                                        # a byte-order mark is not JSON text
    b"{'single': 'quotes'}",
])
def test_malformed(raw):
    assert reason(raw) == "malformed"


def nested(depth: int) -> dict:
    obj: dict = {}
    for _ in range(depth - 1):
        obj = {"x": obj}
    return obj


def test_nesting_limit_is_32_levels():
    assert reason(planned(extra=nested(MAX_DEPTH - 1))) is None        # the event itself is level 1
    assert reason(planned(extra=nested(MAX_DEPTH))) == "malformed"
    assert reason(b"[" * 100_000 + b"]" * 100_000) == "malformed"      # far past the recursion limit


def test_malformed_names_the_problem():
    assert "UTF-8" in verdict(b"\xff").detail
    assert "object" in verdict(b"[]").detail


@pytest.mark.parametrize("version", [0, 3, -1, 99])
def test_unsupported_version(version):
    assert reason(planned(schema_version=version)) == "unsupported_version"


def test_unknown_event_type():
    assert reason(planned(event_type="project_paused")) == "unknown_event_type"


@pytest.mark.parametrize("change", [
    {"event_id": ...}, {"project_id": ...}, {"occurred_at": ...}, {"event_type": ...}, {"schema_version": ...},
    {"name": ...}, {"industry": ...},                                      # required by project_planned
    {"project_id": ""}, {"project_id": 7}, {"event_id": None},
    {"schema_version": "2"}, {"schema_version": 2.0}, {"schema_version": True},
    {"event_type": 5},
    {"occurred_at": "2023-03-01T09:30:00"},                                # no offset
    {"occurred_at": "yesterday"}, {"recorded_at": "2023-13-01T00:00:00+08:00"},
    {"lead_industry": "yes"}, {"name": 5}, {"source": 1},
    {"investment_yuan": -1}, {"investment_yuan": 1.5}, {"investment_yuan": "100"},
    {"investment_yuan": 2**63},                                            # beyond a signed 64-bit integer
])
def test_schema(change):
    assert reason(planned(**change)) == "schema"


def test_schema_detail_names_the_field():
    assert "occurred_at" in verdict(planned(occurred_at="2023-03-01")).detail
    assert "name" in verdict(planned(name=...)).detail


def test_payload_requirements_depend_on_the_type():
    revised = {"event_id": "e-2", "event_type": "investment_revised", "schema_version": 2, "project_id": "P-1",
               "occurred_at": "2023-05-01T00:00:00+08:00"}
    assert reason(revised) == "schema"
    assert reason({**revised, "investment_yuan": 5}) is None
    assert reason({**revised, "schema_version": 1, "investment_wan": 5}) is None
    assert reason({**revised, "schema_version": 1, "investment_yuan": 5}) == "schema"  # v1 carries 万元


def test_negative_legacy_amount_is_schema():
    assert reason(planned(schema_version=1, investment_yuan=..., investment_wan=-0.5)) == "schema"


def test_future_occurred_at_is_more_than_24_hours_after_recorded_at():
    recorded = datetime.fromisoformat("2023-03-02T10:00:00+08:00")
    just_inside = (recorded + timedelta(hours=24)).isoformat()
    just_outside = (recorded + timedelta(hours=24, seconds=1)).isoformat()
    assert reason(planned(occurred_at=just_inside)) is None
    assert reason(planned(occurred_at=just_outside)) == "future_occurred_at"


def test_future_is_judged_against_the_stamp_when_recorded_at_is_absent():
    assert reason(planned(recorded_at=..., occurred_at=(NOW + timedelta(days=2)).isoformat())) == "future_occurred_at"


def test_offsets_are_compared_as_instants():
    # 09:00Z is 17:00+08:00: the same instant, so not in the future.
    assert reason(planned(occurred_at="2023-03-02T09:00:00Z", recorded_at="2023-03-01T17:00:00+08:00")) is None


@pytest.mark.parametrize("record, expected", [
    (planned(schema_version=3, event_type="nope"), "unsupported_version"),   # version before type
    (planned(schema_version=3, name=...), "unsupported_version"),            # version before schema
    (planned(event_type="nope", project_id=...), "unknown_event_type"),      # type before schema
    (planned(schema_version=..., event_type="nope"), "unknown_event_type"),  # no version: type still applies
    (planned(name=..., occurred_at="2099-01-01T00:00:00+08:00"), "schema"),  # schema before future
])
def test_precedence_follows_the_table(record, expected):
    assert reason(record) == expected


def test_reasons_are_listed_in_domain_order():
    assert REASONS == ("malformed", "unsupported_version", "unknown_event_type", "schema",
                       "future_occurred_at", "event_id_conflict")


def test_the_schema_and_the_vocabulary_name_the_same_event_types():
    assert set(event_types_in_schema()) == EVENT_TYPES


# ---- upcast -------------------------------------------------------------------------------------

@pytest.mark.parametrize("wan, yuan", [(0, 0), (1, 10_000), (0.1, 1_000), (12345.6789, 123_456_789),
                                       (200_000, 2_000_000_000), (0.00005, 0)])
def test_wan_to_yuan_is_exact(wan, yuan):
    assert wan_to_yuan(wan) == yuan


def test_upcast_v1_to_v2():
    legacy = planned(schema_version=1, investment_yuan=..., investment_wan=20_000.5)
    current = upcast(legacy)
    assert current["schema_version"] == 2
    assert current["investment_yuan"] == 200_005_000
    assert "investment_wan" not in current
    assert {k: v for k, v in current.items() if k not in ("schema_version", "investment_yuan")} == {
        k: v for k, v in legacy.items() if k not in ("schema_version", "investment_wan")}


def test_upcast_leaves_v2_and_amountless_v1_alone():
    assert upcast(planned()) == planned()
    assert upcast(planned(schema_version=1, investment_yuan=...)) == planned(schema_version=2, investment_yuan=...)

