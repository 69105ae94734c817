"""Fuzzing the validator: any bytes end in a verdict (never an exception), and the fast JSON path judges
exactly as the standard parser does."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from hypothesis import HealthCheck, given, settings, strategies as st

from streams.contract.acceptance import Rejection, _parse_json_strictly, check_record, parse_json
from streams.core.log import log_row

NOW = datetime(2024, 6, 1, tzinfo=timezone.utc)
SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.integers(min_value=-(10**40), max_value=10**40)
    | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=40,
)
EVENT = {"event_id": "E1", "event_type": "contract_signed", "schema_version": 2, "project_id": "P1",
         "occurred_at": "2024-05-01T10:00:00+08:00", "recorded_at": "2024-05-02T10:00:00+08:00"}


def _same(a, b) -> bool:
    """Equal and of the same types all the way down (1 is not 1.0 here)."""
    if isinstance(a, Rejection) or isinstance(b, Rejection):
        return a == b
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


@SETTINGS
@given(st.binary(max_size=300))
def test_any_bytes_get_a_verdict(raw: bytes) -> None:
    verdict = check_record(raw, NOW)
    assert isinstance(verdict, (dict, Rejection))
    row = log_row(1, raw, NOW, stamp_missing=True)
    assert (row.get("reason") is None) == isinstance(verdict, dict)


@SETTINGS
@given(json_values)
def test_fast_parse_matches_the_standard_parser(value) -> None:
    raw = json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")
    assert _same(parse_json(raw), _parse_json_strictly(raw))


@SETTINGS
@given(st.dictionaries(st.sampled_from(sorted(EVENT) + ["investment_yuan", "name", "reason", "source"]),
                       json_values, max_size=6))
def test_mutated_events_get_a_verdict(changes: dict) -> None:
    raw = json.dumps(EVENT | changes, ensure_ascii=False).encode("utf-8", "surrogatepass")
    verdict = check_record(raw, NOW)
    assert isinstance(verdict, (dict, Rejection))
    if isinstance(verdict, Rejection):
        assert verdict.reason in ("malformed", "unsupported_version", "unknown_event_type", "schema",
                                  "future_occurred_at") and verdict.detail
