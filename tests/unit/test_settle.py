"""Accounting, duplicates, conflicts and the bitemporal view (§3, §4)."""

import json
from datetime import datetime

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from streams.core.clock import CST
from streams.core.log import log_frame, log_row, settle
from streams.core.summary import summary
from tests.unit.history import RECEIVED, ev, fold
from tests.unit.test_acceptance import planned  # the one valid event the contract tests vary


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
    assert list(doc) == ["as_of", "known_at", "accounting", "projects", "pools", "flows", "supervision",
                         "trips", "bottlenecks"]  # §8, §9: always present
    # planned 355 days before the as-of date, no plan: yellow by the dwell rule (§4)
    assert doc["supervision"] == {"green": 0, "blue": 0, "yellow": 1, "red": 0}
    assert list(doc["pools"]) == ["planning", "attraction", "signed", "landed", "dropped"]
    assert doc["flows"] == {"2023": {"planned": 1, "negotiating": 0, "signed": 0, "started": 0, "completed": 0,
                                     "operating": 0}}


# ---- the settle rule itself, on given logs (streams.core.log.settle) -----------------------------

def given(*records: dict | bytes, seqs: list[int] | None = None) -> pl.DataFrame:
    """The log of these records, received in this order (or with these arrival numbers)."""
    seqs = seqs or list(range(1, len(records) + 1))
    return log_frame([log_row(seq, r if isinstance(r, bytes) else json.dumps(r, ensure_ascii=False).encode(),
                              RECEIVED, stamp_missing=False) for seq, r in zip(seqs, records)])


def outcomes(settled: pl.DataFrame, *expected: str) -> None:
    assert_frame_equal(settled.select("seq", "outcome"),
                       pl.DataFrame({"seq": range(1, len(expected) + 1), "outcome": list(expected)},
                                    schema={"seq": pl.Int64, "outcome": pl.Utf8}))


def test_the_first_received_wins_and_a_later_different_one_is_a_conflict():
    other = planned(name="另一个")
    outcomes(settle(given(planned(), other)), "accepted", "event_id_conflict")
    outcomes(settle(given(other, planned())), "accepted", "event_id_conflict")
    first = settle(given(planned(), other)).filter(pl.col("outcome") == "accepted")
    assert first["name"].to_list() == ["杉杉奥特莱斯"]


def test_first_means_first_by_arrival_not_by_row_position():
    log = given(planned(name="later"), planned(), seqs=[2, 1])
    settled = settle(log)
    outcomes(settled, "accepted", "event_id_conflict")
    assert settled.filter(pl.col("outcome") == "accepted")["name"].to_list() == ["杉杉奥特莱斯"]


def test_a_resend_with_other_recorded_at_and_source_is_a_duplicate():
    again = planned(recorded_at="2023-04-01T00:00:00+08:00", source="resend")
    outcomes(settle(given(planned(), again, again)), "accepted", "duplicate", "duplicate")


def test_a_resend_without_recorded_at_is_a_duplicate():
    outcomes(settle(given(planned(), planned(recorded_at=...))), "accepted", "duplicate")


def test_the_same_instant_in_another_offset_is_the_same_occurred_at():
    outcomes(settle(given(planned(), planned(occurred_at="2023-03-01T01:30:00Z"))), "accepted", "duplicate")


def test_a_v1_resend_of_the_same_amount_is_a_duplicate():
    legacy = planned(schema_version=1, investment_yuan=..., investment_wan=200_000)
    outcomes(settle(given(planned(), legacy)), "accepted", "duplicate")
    # 万元 become integer yuan before the comparison, so 3 and 3.0 万元 are the same 30,000 yuan
    v1 = planned(schema_version=1, investment_yuan=..., investment_wan=3)
    outcomes(settle(given(v1, {**v1, "investment_wan": 3.0})), "accepted", "duplicate")
    outcomes(settle(given(planned(investment_yuan=30_000), v1)), "accepted", "duplicate")


@pytest.mark.parametrize("change", [{"occurred_at": "2023-02-25T09:30:00+08:00"}, {"investment_yuan": 1},
                                    {"event_type": "negotiation_started"}, {"name": "另一个"},
                                    {"investment_yuan": ...}, {"zone": "三环内"},
                                    {"schema_version": 1, "investment_yuan": ..., "investment_wan": 1}])
def test_different_content_is_an_event_id_conflict(change):
    outcomes(settle(given(planned(), planned(**change))), "accepted", "event_id_conflict")


@pytest.mark.parametrize("first, later", [({"investment_yuan": 30_000}, {"investment_yuan": 30_000.0}),
                                          ({"floor_area_m2": 30_000}, {"floor_area_m2": 30_000.0})])
def test_values_are_compared_as_json_so_30000_and_30000_0_differ(first, later):
    outcomes(settle(given(planned(**first), planned(**later))), "accepted", "event_id_conflict")


def test_extra_fields_are_content_whatever_their_key_order():
    a = planned(custom={"b": 1, "a": [1, 2]})
    b = {"custom": {"a": [1, 2], "b": 1}, **{k: v for k, v in reversed(planned().items())}}
    outcomes(settle(given(a, b)), "accepted", "duplicate")
    outcomes(settle(given(a, planned(custom={"b": 1, "a": [2, 1]}))), "accepted", "event_id_conflict")


def test_later_records_are_compared_with_the_accepted_one():
    other = planned(name="另一个")
    outcomes(settle(given(planned(), other, planned(source="resend"), other)),
             "accepted", "event_id_conflict", "duplicate", "event_id_conflict")


def test_a_rejected_record_is_never_first():
    bad = planned(investment_yuan=-1)                                     # schema: a negative amount
    outcomes(settle(given(bad, planned(), b"not json")), "schema", "accepted", "malformed")


def test_known_at_changes_who_is_first():
    late = planned(name="first received, recorded late", recorded_at="2024-01-10T09:00:00+08:00")
    early = planned(recorded_at="2024-01-03T09:00:00+08:00")
    log = given(late, early)
    outcomes(settle(log), "accepted", "event_id_conflict")
    known = settle(log, datetime(2024, 1, 5, 23, 59, 59, tzinfo=CST))
    assert_frame_equal(known.select("seq", "outcome"),
                       pl.DataFrame({"seq": [2], "outcome": ["accepted"]}, schema={"seq": pl.Int64, "outcome": pl.Utf8}))
    assert known["name"].to_list() == ["杉杉奥特莱斯"]
    # a duplicate recorded before the first one's recorded_at is the accepted record of the earlier view
    resend = planned(recorded_at="2024-01-10T09:00:00+08:00")
    known = settle(given(resend, early), datetime(2024, 1, 5, tzinfo=CST))
    assert known.select("seq", "outcome").rows() == [(2, "accepted")]


def test_known_at_leaves_out_records_without_a_recorded_at():
    log = given(planned(recorded_at=...), planned(recorded_at="2024-01-03T09:00:00+08:00"))
    assert settle(log, datetime(2024, 1, 5, tzinfo=CST)).select("seq", "outcome").rows() == [(2, "accepted")]


def test_an_integer_beyond_64_bits_in_an_extra_field_is_content_like_any_other():
    big = planned(serial=2**70)
    outcomes(settle(given(big, planned(serial=2**70, source="resend"), planned(serial=2**70 + 1))),
             "accepted", "duplicate", "event_id_conflict")
