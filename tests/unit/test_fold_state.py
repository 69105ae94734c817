"""project_state (vectorised: one ordering, then first/last picks) gives exactly the frame of the fold it
replaced (tests/unit/fold_reference.py: one group_by aggregation per column) on any events: column names,
order, dtypes, values and row order."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from polars.testing import assert_frame_equal

from streams.contract.events import EVENT_STAGE, MILESTONES
from streams.core import fold
from streams.core.fold import project_state
from streams.core.log import DIMENSIONS, LOG_SCHEMA
from tests.unit.fold_reference import reference_state

START = datetime(2023, 1, 1, tzinfo=timezone.utc)
TYPES = sorted(EVENT_STAGE)
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

ids = st.sampled_from(["P1", "P2", "P10", "p1", "项目-甲", "P1 ", "EQ-2023-0001", "EQ-2023-0002", ""])
maybe = lambda values: st.none() | st.sampled_from(values)  # noqa: E731


@st.composite
def event_frames(draw) -> pl.DataFrame:
    n = draw(st.integers(0, 40))
    rows = []
    for seq in draw(st.permutations(list(range(1, n + 1)))) if draw(st.booleans()) else range(1, n + 1):
        event_type = draw(st.sampled_from(TYPES))
        rows.append({
            "seq": seq, "project_id": draw(ids), "event_type": event_type, "stage": EVENT_STAGE[event_type],
            "occurred_at": START + timedelta(days=draw(st.integers(0, 60)), hours=draw(st.sampled_from([0, 12]))),
            "amount": draw(st.none() | st.integers(0, 10**12)),
            "name": draw(maybe(["甲", "乙", ""])), "industry": draw(maybe(["现代商贸", "电子信息"])),
            "lead_industry": draw(st.none() | st.booleans()), "zone": draw(maybe(["三环内"])),
            "axis": draw(maybe(["嵩山路", "大学路"])), "town": draw(maybe(["马寨镇"])),
            "source_region": draw(maybe(["长三角"])), "channel": draw(maybe(["以商招商"])),
            "department": draw(maybe(["区商务局", "区发改委"])), "leader": draw(maybe(["甲", "乙"])),
            "drop_reason": draw(maybe(["资金", "选址"])) if event_type == "project_dropped" else None,
            "milestone": draw(maybe(list(MILESTONES))) if event_type == "milestone_planned" else None,
            "due": draw(st.none() | st.dates(date(2023, 1, 1), date(2024, 1, 1))) if event_type == "milestone_planned"
            else None,
        })
    schema = {k: LOG_SCHEMA[k] for k in fold.FOLD_COLUMNS}
    frame = pl.DataFrame(rows, schema=schema) if rows else pl.DataFrame(schema=schema)
    if draw(st.booleans()):  # the fold reads what is there: e.g. the first six columns only, or no plans
        keep = draw(st.sampled_from([fold.FOLD_COLUMNS[:6], [c for c in fold.FOLD_COLUMNS if c not in ("milestone", "due")],
                                     [*fold.FOLD_COLUMNS[:6], "industry", "leader", "department"]]))
        frame = frame.select(keep)
    return frame


cutoffs = st.sampled_from([START - timedelta(days=1), START + timedelta(days=20), START + timedelta(days=61)])


@SETTINGS
@given(event_frames(), cutoffs)
def test_the_state_is_the_reference_state(events: pl.DataFrame, cutoff: datetime) -> None:
    assert_frame_equal(project_state(events, cutoff), reference_state(events, cutoff))
    assert_frame_equal(project_state(events.lazy(), cutoff), reference_state(events, cutoff))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(event_frames(), cutoffs)
def test_ids_that_share_a_hash_are_still_told_apart(events: pl.DataFrame, cutoff: datetime) -> None:
    original = fold._id_hashes
    fold._id_hashes = lambda ids: pl.Series([0] * len(ids), dtype=pl.UInt64)  # every id collides
    try:
        assert_frame_equal(project_state(events, cutoff), reference_state(events, cutoff))
    finally:
        fold._id_hashes = original


def test_a_stage_number_outside_the_stages_is_the_plain_maximum() -> None:
    events = pl.DataFrame({"project_id": ["P", "P"], "occurred_at": [START, START + timedelta(days=1)],
                           "seq": [1, 2], "stage": [2, 9], "event_type": ["project_planned", "custom"],
                           "amount": [None, 5]},
                          schema={"project_id": pl.Utf8, "occurred_at": LOG_SCHEMA["occurred_at"], "seq": pl.Int64,
                                  "stage": pl.Int8, "event_type": pl.Utf8, "amount": pl.Int64})
    cutoff = START + timedelta(days=5)
    assert_frame_equal(project_state(events, cutoff), reference_state(events, cutoff))
    assert project_state(events, cutoff)["stage"].to_list() == [9]


@pytest.mark.parametrize("dimension", DIMENSIONS)
def test_a_missing_value_on_a_later_planning_keeps_the_earlier_one(dimension) -> None:
    base = {"project_id": "P", "event_type": "project_planned", "stage": 1, "amount": None}
    events = pl.DataFrame([{**base, "seq": 1, "occurred_at": START, dimension: True if dimension == "lead_industry"
                            else "甲"},
                           {**base, "seq": 2, "occurred_at": START + timedelta(days=1), dimension: None}],
                          schema={**{k: LOG_SCHEMA[k] for k in fold.FOLD_COLUMNS[:6]}, dimension: LOG_SCHEMA[dimension]})
    cutoff = START + timedelta(days=5)
    assert_frame_equal(project_state(events, cutoff), reference_state(events, cutoff))
    assert project_state(events, cutoff)[dimension].to_list() == [True if dimension == "lead_industry" else "甲"]


# ---------------------------------------------------------------------------------------------- settle

def reference_settle(log: pl.DataFrame, known_at: datetime | None = None) -> pl.DataFrame:
    """The settle it replaced: a window over (project_id, event_id) for every record."""
    if known_at is not None:
        log = log.filter(pl.col("recorded_at") <= known_at)
    if not log["seq"].is_sorted():
        log = log.sort("seq")
    group = ["project_id", "event_id"]
    return log.with_columns(
        outcome=pl.when(pl.col("reason").is_not_null()).then(pl.col("reason").cast(pl.Utf8))
        .when(pl.struct(group).is_first_distinct()).then(pl.lit("accepted"))
        .when(pl.col("content") == pl.col("content").first().over(group)).then(pl.lit("duplicate"))
        .otherwise(pl.lit("event_id_conflict")))


@st.composite
def received_logs(draw) -> pl.DataFrame:
    rows = []
    for seq in draw(st.permutations(list(range(1, draw(st.integers(0, 40)) + 1)))):
        if draw(st.integers(0, 4)) == 0:
            rows.append({"seq": seq, "reason": draw(st.sampled_from(["malformed", "schema"])), "detail": "x",
                         "project_id": draw(st.none() | ids), "recorded_at": START})
        else:
            rows.append({"seq": seq, "project_id": draw(ids), "event_id": draw(st.sampled_from(["e1", "e2", "e3"])),
                         "content": draw(st.sampled_from([1, 2, 2**64 - 1, 2**63])),
                         "recorded_at": START + timedelta(days=draw(st.integers(0, 3)))})
    return pl.DataFrame(rows, schema=LOG_SCHEMA) if rows else pl.DataFrame(schema=LOG_SCHEMA)


@SETTINGS
@given(received_logs(), st.sampled_from([None, START + timedelta(days=1)]))
def test_settle_is_the_reference_settle(log: pl.DataFrame, known_at) -> None:
    from streams.core.log import settle

    assert_frame_equal(settle(log, known_at), reference_settle(log, known_at))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(event_frames(), st.sampled_from([START + timedelta(days=20), START + timedelta(days=61), START + timedelta(days=90)]))
def test_every_month_end_state_is_the_fold_at_that_end(events: pl.DataFrame, cutoff: datetime) -> None:
    """The month-end states (all folded at once, the others carried over) are the fold as of each month end
    (of the columns they keep: not the descriptive ones)."""
    from streams.core.aggregates import month_end_states
    from streams.core.fold import with_colour

    for _, end, state in month_end_states(events, cutoff):
        expected = with_colour(project_state(events, end), end)
        assert_frame_equal(state.sort("project_id"), expected.select(state.columns).sort("project_id"))
