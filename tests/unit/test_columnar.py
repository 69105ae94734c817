"""The validator's batch path (streams.contract.columnar) never changes a log row.

A builder part's records are certified together, by columns, and their rows made by columns
(``streams.core.log._part_frame``); whatever it is not sure of takes the per-record path. Every
log it builds must be the standard path's (``fast=False``), row for row, on any records, any
receive times and any mix of stamped and unstamped records.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import polars as pl
import pytest
from hypothesis import HealthCheck, example, given, settings, strategies as st
from polars.testing import assert_frame_equal

from streams import synthetic
from streams.contract import columnar
from streams.contract.acceptance import upcast, upcast_columns
from streams.contract.schemas import parse_calendar_date, parse_timestamp
from streams.core.log import UTC_TIME, LogBuilder
from tests.unit.test_fast_path import _dumps, calendar_dates, records, timestamps, valid_events

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NOW = datetime(2024, 6, 1, 12, 0, tzinfo=timezone(timedelta(hours=8)))
received_times = st.sampled_from([NOW, NOW + timedelta(microseconds=123_456), datetime(1969, 12, 31, 23, 59, 59, 999_999,
                                                                                       tzinfo=timezone.utc)]) \
    | st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(timezone.utc))


def _log(items, *, fast: bool, batch: bool = True, part: int = 8_192) -> pl.DataFrame:
    builder = LogBuilder(fast=fast, batch=batch)
    builder.PART = builder.BATCH_PART = part
    for seq, (raw, received_at, stamp_missing) in enumerate(items, 1):
        if raw is None:  # a row made elsewhere (a dead letter read back), between records
            builder.add_rejected(seq, "malformed", "from the DLQ", received_at, "P-9")
        else:
            builder.add(seq, raw, received_at, stamp_missing=stamp_missing)
    return builder.frame()


record_items = st.lists(st.tuples(records() | st.builds(_dumps, valid_events(), st.booleans(), st.booleans())
                                  | st.none(), received_times, st.booleans()), max_size=60)


@SETTINGS
@given(record_items, st.sampled_from([3, 8_192]))
@example([(b'{"event_id":"e","event_type":"negotiation_started","schema_version":2,"project_id":"P",'
           b'"occurred_at":"2024-06-02T11:59:59.999999+08:00"}', NOW - timedelta(microseconds=1), True)], 8_192)
@example([(b'{"event_id":"e","event_type":"negotiation_started","schema_version":2,"project_id":"P",'
           b'"occurred_at":"2024-06-03T10:00:00+08:00"}', NOW, False),  # 46 h after it was received: the future
          (b'{"event_id":"f","event_type":"negotiation_started","schema_version":2,"project_id":"P",'
           b'"occurred_at":"2024-06-03T10:00:00+08:00","recorded_at":"2024-06-02T04:00:00+08:00"}', NOW, True)],
         8_192)
def test_the_batch_path_makes_the_standard_log(items, part: int) -> None:
    standard = _log(items, fast=False)
    assert_frame_equal(_log(items, fast=True, part=part), standard)
    assert_frame_equal(_log(items, fast=True, batch=False), standard)


def test_the_batch_path_makes_the_standard_log_of_a_generated_feed(tmp_path) -> None:
    feed = tmp_path / "feed.jsonl"
    synthetic.generate_file(feed, projects=400, seed=5)
    lines = [line.rstrip(b"\n") for line in feed.read_bytes().splitlines()]
    items = [(line, NOW + timedelta(microseconds=i), i % 2 == 0) for i, line in enumerate(lines)]
    assert_frame_equal(_log(items, fast=True), _log(items, fast=False))


def test_the_common_record_is_certified_by_columns(tmp_path) -> None:
    """The generated feed's records, legacy ones included, take the batch path: only those the standard path
    rejects, or nearly, are left to the per-record path."""
    feed = tmp_path / "feed.jsonl"
    synthetic.generate_file(feed, projects=400, seed=5)
    lines = [line.rstrip(b"\n") for line in feed.read_bytes().splitlines()]
    received = pl.Series([NOW] * len(lines), dtype=UTC_TIME)
    certified = columnar.certify_batch(lines, received)
    log = _log([(line, NOW, True) for line in lines], fast=False)
    rejected = int(log["reason"].is_not_null().sum())
    assert certified.events.height + len(certified.rest) == len(lines)
    assert (certified.events["schema_version"] == 2).all()  # upcast
    assert len(certified.rest) <= rejected + len(lines) // 200, (len(certified.rest), rejected)
    assert not certified.events.filter(pl.col("investment_wan").is_not_null()).height


def test_a_part_of_only_rows_made_elsewhere_and_an_empty_builder() -> None:
    assert_frame_equal(_log([(None, NOW, True)] * 3, fast=True), _log([(None, NOW, True)] * 3, fast=False))
    assert_frame_equal(_log([], fast=True), _log([], fast=False))


# ------------------------------------------------------------------------------ the formats read by columns

def _read_by_columns(values: list[str], name: str) -> list:
    frame = pl.DataFrame({name: values}, schema={name: pl.Utf8})
    fmt = columnar.PLAN.formats[name]
    value, shaped = columnar._COLUMNAR_FORMATS[fmt](name)
    read = frame.select(pl.when(shaped).then(value)).to_series().to_list()
    return read


@settings(max_examples=400, deadline=None)
@given(st.lists(timestamps | st.text(max_size=40), min_size=1, max_size=20))
@example(["2024-05-01T10:00:60+08:00", "2024-05-01T24:00:00+08:00", "0999-01-01T00:00:00Z",
          "2024-05-01T10:00:00.5Z", "2024-05-01T10:00:00.1234567+08:00", "2024-02-29T23:00:00-23:59"])
def test_a_timestamp_read_by_columns_is_the_instant_python_reads(values: list[str]) -> None:
    for value, read in zip(values, _read_by_columns(values, "occurred_at")):
        if read is not None:  # what the columns read, the per-record reader reads alike
            assert parse_timestamp(value) == read, value


@settings(max_examples=300, deadline=None)
@given(st.lists(calendar_dates | st.text(max_size=12), min_size=1, max_size=20))
def test_a_date_read_by_columns_is_the_date_python_reads(values: list[str]) -> None:
    for value, read in zip(values, _read_by_columns(values, "due")):
        if read is not None:
            assert parse_calendar_date(value) == read, value


def test_the_common_shapes_are_read_by_columns() -> None:
    values = ["2024-05-01T10:00:00+08:00", "2024-05-31T23:59:59Z", "2024-05-01T10:00:00.123-05:30"]
    assert _read_by_columns(values, "recorded_at") == [parse_timestamp(v) for v in values]
    assert _read_by_columns(["2024-02-29"], "due") == [date(2024, 2, 29)]


# ------------------------------------------------------------------------------ the upcast by columns

@settings(max_examples=200, deadline=None)
@given(st.lists(st.fixed_dictionaries(
    {"schema_version": st.sampled_from([1, 2])},
    optional={"investment_wan": st.integers(0, 922337203685477), "investment_yuan": st.integers(0, 2**63 - 1),
              "name": st.text(max_size=3)}), min_size=1, max_size=10))
def test_the_upcast_by_columns_is_the_upcast(events: list[dict]) -> None:
    columns = {"schema_version": pl.Int64, "investment_wan": pl.Int64, "investment_yuan": pl.Int64, "name": pl.Utf8}
    frame = pl.DataFrame([{c: e.get(c) for c in columns} for e in events], schema=columns)
    expected = pl.DataFrame([{c: upcast(e).get(c) for c in columns} for e in events], schema=columns)
    assert_frame_equal(upcast_columns(frame), expected)


def test_the_upcast_by_columns_refuses_what_it_cannot_make_exact() -> None:
    with pytest.raises(TypeError):
        upcast_columns(pl.DataFrame({"schema_version": [1], "investment_wan": [1.5], "investment_yuan": [None]}))
    with pytest.raises(OverflowError):
        upcast_columns(pl.DataFrame({"schema_version": [1], "investment_wan": [2**62], "investment_yuan": [None]}))
