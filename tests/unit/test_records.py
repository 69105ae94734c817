"""The Kafka record rules shared by replay, the worker, status and ingest (streams.kafkaio.records)."""

from __future__ import annotations

import logging
from collections import namedtuple
from datetime import datetime, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streams.contract.acceptance import Rejection
from streams.feeds import FeedRecord
from streams.feeds.ingest import Ingest
from streams.kafkaio.records import (DLQ_SEQ, arrival_seq, counts_as_received, dead_letter_headers,
                                     dead_letter_reason, dead_letter_seq, header_value, key_text, received_at,
                                     recorded_at_in)

# The two shapes a record arrives in: kafka-python's ConsumerRecord and a Faust/aiokafka message.
Record = namedtuple("Record", "partition offset timestamp key value headers")

partitions = st.integers(0, 1023)
offsets = st.integers(0, (1 << 40) - 1)


def record(headers=None, key=None, value=b"{}") -> Record:
    return Record(0, 0, 0, key, value, headers)


@given(partitions, offsets, partitions, offsets)
def test_arrival_order_is_by_partition_then_offset(p1, o1, p2, o2):
    assert (arrival_seq(p1, o1) < arrival_seq(p2, o2)) == ((p1, o1) < (p2, o2))
    assert (arrival_seq(p1, o1) == arrival_seq(p2, o2)) == ((p1, o1) == (p2, o2))


@given(partitions, offsets, partitions, offsets)
def test_a_dead_letter_sorts_after_every_topic_record(p1, o1, p2, o2):
    assert dead_letter_seq(p1, o1) > arrival_seq(p2, o2)
    assert dead_letter_seq(p1, o1) == DLQ_SEQ | arrival_seq(p1, o1)
    assert dead_letter_seq(p1, o1) != dead_letter_seq(p2, o2) or (p1, o1) == (p2, o2)


def test_the_arrival_sequence_is_the_one_the_worker_and_replay_always_used():
    assert arrival_seq(2, 5) == (2 << 40) | 5
    assert dead_letter_seq(2, 5) == (1 << 62) | (2 << 40) | 5
    assert DLQ_SEQ == 1 << 62


@pytest.mark.parametrize("headers", [None, [], (), {}])
def test_no_headers_at_all(headers):
    assert header_value(record(headers), "reason") is None


def test_headers_are_decoded_and_the_first_of_a_name_wins():
    headers = [("origin", b"feed.jsonl:3"), ("reason", "schéma".encode()), ("reason", b"second"), ("bad", b"\xff")]
    r = record(headers)
    assert header_value(r, "reason") == "schéma"
    assert header_value(r, "origin") == "feed.jsonl:3"
    assert header_value(r, "bad") == "\ufffd"  # replaced, never an exception
    assert header_value(r, "missing") is None
    assert header_value(record([("reason", None)]), "reason") is None  # a header with a null value
    assert header_value(record({"reason": b"schema"}), "reason") == "schema"  # Faust allows a mapping


def test_received_at_is_the_kafka_timestamp_in_utc():
    assert received_at(1_700_000_000_123) == datetime(2023, 11, 14, 22, 13, 20, 123000, tzinfo=timezone.utc)
    assert received_at(None) == datetime(1970, 1, 1, tzinfo=timezone.utc)
    assert received_at(0).tzinfo is timezone.utc


def test_recorded_at_in_the_bytes():
    assert recorded_at_in(b'{"recorded_at": "2024-01-05T08:00:00+08:00"}') == \
        datetime(2024, 1, 5, 0, 0, tzinfo=timezone.utc)
    for raw in (b"not json", b"[1]", b'{"recorded_at": "2024-01-05"}', b"{}", b"\xff", b"[" * 100_000):
        assert recorded_at_in(raw) is None


def test_only_dead_letters_not_written_by_the_worker_count_as_received():
    assert counts_as_received(record(dead_letter_headers("schema", "x", "f:1", "ingest")))
    assert counts_as_received(record(None))  # a dead letter of unknown provenance is counted
    assert counts_as_received(record([("rejected_by", b"someone")]))
    assert not counts_as_received(record(dead_letter_headers("schema", "x", "events:0:7", "worker")))


def test_dead_letter_reason_and_its_defaults():
    assert dead_letter_reason(record(dead_letter_headers("schema", "amount < 0", "f:1", "ingest"))) == \
        ("schema", "amount < 0")
    assert dead_letter_reason(record(None)) == ("malformed", "")
    assert dead_letter_reason(record([("reason", b"")])) == ("malformed", "")


def test_dead_letter_headers_are_the_ones_ingest_and_the_worker_always_wrote():
    assert dead_letter_headers("unsupported_version", "schema_version 9", "events:1:42", "worker") == [
        ("reason", b"unsupported_version"), ("detail", b"schema_version 9"), ("origin", b"events:1:42"),
        ("rejected_by", b"worker")]
    assert dead_letter_headers("schema", "总投资", "feed.jsonl:3", "ingest")[1] == ("detail", "总投资".encode())


def test_key_text():
    assert key_text(b"P-0001") == "P-0001"
    assert key_text("项目".encode()) == "项目"
    assert key_text(b"\xffP") == "\ufffdP"
    assert key_text(None) is None and key_text(b"") is None


class _Future:
    def add_callback(self, f):
        f(None)  # delivered at once
        return self

    def add_errback(self, f):
        return self


class _Producer:
    def __init__(self):
        self.sent = []

    def send(self, topic, key, value, headers):
        self.sent.append((topic, value, headers))
        return _Future()

    def flush(self, timeout):
        pass


def test_ingest_logs_every_dead_letter_with_its_origin_and_reason(caplog):
    producer = _Producer()
    feed = [FeedRecord("feeds/bureau.jsonl:1", b"{oops", Rejection("malformed", "not JSON: Expecting property")),
            FeedRecord("feeds/bureau.jsonl:2", b"[]", Rejection("malformed", "not a JSON object but a JSON list"))]
    with caplog.at_level(logging.WARNING, logger="streams.feeds.ingest"):
        report = Ingest(producer, "events", quality="off").run(feed)
    assert report.ok and report.dead_lettered == 2
    warnings = [r for r in caplog.records if r.name == "streams.feeds.ingest" and r.levelno == logging.WARNING]
    assert len(warnings) == 2
    for line, text in ((1, "not JSON: Expecting property"), (2, "not a JSON object but a JSON list")):
        message = warnings[line - 1].getMessage()
        assert f"feeds/bureau.jsonl:{line}" in message and "malformed" in message and text in message
    assert [h for _, _, h in producer.sent][0] == dead_letter_headers(
        "malformed", "not JSON: Expecting property", "feeds/bureau.jsonl:1", "ingest")


@pytest.mark.parametrize("raw", [b'{"recorded_at": "2023-12-11T20:41:02+08:00", "investment_yuan": NaN}',
                                 b'{"recorded_at": "2023-12-11T20:41:02+08:00", "amount": Infinity}',
                                 b'[{"recorded_at": "2023-12-11T20:41:02+08:00"}]',
                                 b'{"recorded_at": "2023-12-11T20:41:02+08:00"'])
def test_a_malformed_dead_letter_has_no_readable_recorded_at(raw):
    """A topic's dead letter and the same line in a file agree in a known-at view: a record the contract finds
    malformed (NaN, which Python's json module would read) has no recorded_at for either (a fresh-clone CI find)."""
    from streams.contract.acceptance import check_record
    from streams.kafkaio.records import recorded_at_in

    assert check_record(raw, datetime.now(timezone.utc)).reason == "malformed"
    assert recorded_at_in(raw) is None


def test_a_dead_letter_that_is_json_keeps_its_recorded_at():
    from streams.kafkaio.records import recorded_at_in

    assert recorded_at_in(b'{"recorded_at": "2023-12-11T20:41:02+08:00", "schema_version": 9}') == \
        datetime(2023, 12, 11, 12, 41, 2, tzinfo=timezone.utc)
