"""Ingest's transactions without a broker: what goes in which transaction, what counts when, and the
transactional.id. (The same against a real broker: tests/integration/test_ingest.py, tests/faults.)"""

from __future__ import annotations

import logging
from types import SimpleNamespace

from kafka.errors import ProducerFencedError

from streams.feeds import ledger_import as ledgers
from streams.feeds import FeedRecord
from streams.feeds.ingest import Ingest
from streams.kafkaio.producer import is_transactional, transactional_id


class _Future:
    def __init__(self, producer):
        self.producer = producer

    def add_callback(self, f):
        self.producer.acks.append(f)  # acknowledged at the next flush, as a broker would
        return self

    def add_errback(self, f):
        return self


class _TransactionalProducer:
    """Records what happens in order: ("begin",), ("send", topic, origin), ("commit",), ("abort",)."""

    def __init__(self, fail_commit: BaseException | None = None):
        self.config = {"transactional_id": "funnel-test"}
        self.calls, self.acks, self.fail_commit = [], [], fail_commit

    def begin_transaction(self):
        self.calls.append(("begin",))

    def send(self, topic, key, value, headers):
        self.calls.append(("send", topic, dict(headers).get("origin", b"").decode()))
        return _Future(self)

    def flush(self, timeout=None):
        for ack in self.acks:
            ack(None)
        self.acks.clear()

    def commit_transaction(self):
        if self.fail_commit:
            raise self.fail_commit
        self.calls.append(("commit",))

    def abort_transaction(self):
        self.calls.append(("abort",))


def feed(n: int) -> list[FeedRecord]:
    return [FeedRecord(f"feed.jsonl:{i}", b"[]") for i in range(1, n + 1)]  # each one malformed: dead letters


def transactions(calls: list[tuple]) -> list[list[tuple]]:
    """The calls between each begin and its commit or abort."""
    out: list[list[tuple]] = []
    for call in calls:
        if call == ("begin",):
            out.append([])
        elif call[0] == "send":
            out[-1].append(call)
    return out


def test_each_batch_is_one_transaction_and_counts_on_commit():
    producer = _TransactionalProducer()
    report = Ingest(producer, "events", quality="off", batch_size=4).run(feed(10))
    assert [len(t) for t in transactions(producer.calls)] == [4, 4, 2]
    assert producer.calls.count(("commit",)) == 3 and ("abort",) not in producer.calls
    assert report.ok and report.dead_lettered == 10


def test_a_ledgers_rejected_rows_and_events_go_in_one_transaction():
    producer = _TransactionalProducer()
    events = [SimpleNamespace(event={"event_id": f"e{i}", "project_id": "P-1"}, sheet="台账", row=i + 2)
              for i in range(3)]
    rejected = [SimpleNamespace(sheet="台账", row=9, project_id="P-9", cells={"项目阶段": "暂停"},
                                reason="ledger_schema", detail="unknown stage")]
    report = ledgers.send(producer, "events", "dept.xlsx", SimpleNamespace(events=events, rejected=rejected))
    [only] = transactions(producer.calls)
    assert only[0] == ("send", "events.dlq", "dept.xlsx:台账:9")  # the rejected row, then the three events
    assert [origin for _, _, origin in only[1:]] == [f"dept.xlsx:台账:{r}" for r in (2, 3, 4)]
    assert producer.calls[-1] == ("commit",) and report.received == 4


def test_a_commit_that_fails_aborts_and_counts_the_whole_batch_undelivered(caplog):
    producer = _TransactionalProducer(fail_commit=ProducerFencedError())
    with caplog.at_level(logging.ERROR, logger="streams.feeds.ingest"):
        report = Ingest(producer, "events", quality="off", batch_size=4).run(feed(10))
    assert len(transactions(producer.calls)) == 1  # ingest stops after the failed batch
    assert report.delivered + report.dead_lettered == 0 and not report.ok
    assert report.received == 4 and report.as_dict()["undelivered"] == 4  # what it had read: none committed
    first = report.first_undelivered()
    assert first.origin == "feed.jsonl:1" and "ProducerFencedError" in first.error
    assert any("batch from feed.jsonl:1 not committed" in r.getMessage() for r in caplog.records)


def test_the_transactional_id_is_stable_per_topic_and_file_names():
    one = transactional_id("ingest", "events", ["/data/in/feed-2024-07.jsonl"])
    assert one == transactional_id("ingest", "events", ["feed-2024-07.jsonl"])  # another directory: the same run
    assert one != transactional_id("ingest", "other", ["feed-2024-07.jsonl"])
    assert one != transactional_id("ingest", "events", ["feed-2024-08.jsonl"])
    assert one != transactional_id("ledger", "events", ["feed-2024-07.jsonl"])


def test_only_a_producer_with_a_transactional_id_is_transactional():
    assert is_transactional(_TransactionalProducer())
    assert not is_transactional(SimpleNamespace(config={"transactional_id": None}))
    assert not is_transactional(object())
