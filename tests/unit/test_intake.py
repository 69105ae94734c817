"""The worker's intake: every record of a partition reaches the store once, in offset order, whatever its
consumer skipped or delivered twice (streams/worker/intake.py). The reader is the topic as a list here; the
fault tests run it against Faust and a real broker."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timezone

from faust.types import TP
from faust.types.tuples import Message

from streams.kafkaio.records import arrival_seq, dead_letter_headers
from streams.worker import compact
from streams.worker.intake import Intake, PassedOver, Record, checked_event, from_faust
from streams.worker.store import ProjectStore

EVENTS, DLQ = "events", "events.dlq"


def event(n: int, **over) -> bytes:
    doc = {"event_id": f"e-{n}", "event_type": "project_planned", "schema_version": 2, "project_id": f"P-{n % 3}",
           "occurred_at": "2024-05-01T10:00:00+08:00", "recorded_at": "2024-05-02T10:00:00+08:00", "name": "甲",
           "industry": "先进制造", "zone": "马寨", "axis": "嵩山路", "town": "马寨镇", "source_region": "长三角",
           "channel": "以商招商", "department": "区商务局", "leader": "甲"} | over
    return json.dumps(doc, ensure_ascii=False).encode()


def topic_of(count: int, partition: int = 0, topic: str = EVENTS) -> list[Record]:
    return [Record(topic, partition, offset, 1.7e12, f"P-{offset % 3}".encode(), event(offset), ())
            for offset in range(count)]


class Harness:
    """An intake over a store, with the topics as lists; what was read and dead-lettered is kept."""

    def __init__(self, topics: dict[str, list[Record]]):
        self.topics, self.store, self.reads, self.dead = topics, ProjectStore(), [], []
        self.intake = Intake(self.store, EVENTS, self.read, self.write, self.dead_letter)

    async def read(self, topic: str, partition: int, start: int, end: int) -> list[Record]:
        self.reads.append((topic, partition, start, end))
        return [r for r in self.topics[topic] if r.partition == partition and start <= r.offset < end]

    async def write(self, partition: int, chunk: list) -> asyncio.Future:
        self.store.apply(partition, chunk)
        done = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done

    async def dead_letter(self, record: Record, row: dict) -> asyncio.Future:
        self.dead.append((record.offset, row["reason"]))
        return await self.write(record.partition, [])  # a finished future

    def seqs(self, partition: int = 0) -> list[int]:
        part = self.store.partitions[partition]
        records = [r for blob in part.projects.values() for r in compact.decode(blob)]
        return sorted(r[0] for r in records) + sorted(r[0] for r in part.rejections)


def run(coro):
    return asyncio.run(coro)


def test_records_the_consumer_skipped_are_read_from_the_topic_before_the_next_one() -> None:
    topic = topic_of(8)
    h = Harness({EVENTS: topic})

    async def scenario():
        h.intake.start_at(EVENTS, 0, 0)
        await h.intake.take(EVENTS, topic[:3])
        await h.intake.take(EVENTS, [topic[6], topic[7]])  # 3, 4 and 5 never delivered
    run(scenario())
    assert h.reads == [(EVENTS, 0, 3, 6)]
    assert h.seqs() == [arrival_seq(0, o) for o in range(8)]
    assert h.intake.next_offset[(EVENTS, 0)] == 8


def test_a_record_delivered_twice_or_already_held_is_taken_once() -> None:
    topic = topic_of(6)
    topic[4] = topic[4]._replace(value=b"{not json")  # rejected: dead-lettered once, counted once
    h = Harness({EVENTS: topic})

    async def scenario():
        h.intake.start_at(EVENTS, 0, 0)
        await h.intake.take(EVENTS, [topic[0], topic[1], topic[1], topic[0], topic[2]])
        await h.intake.take(EVENTS, topic)  # a seek back to 0: everything again
    run(scenario())
    assert h.reads == []
    assert h.seqs() == [arrival_seq(0, o) for o in (0, 1, 2, 3, 5, 4)]  # events, then the rejection
    assert h.dead == [(4, "malformed")]


def test_a_skip_at_a_partitions_end_is_read_once_the_partition_has_stalled() -> None:
    topic = topic_of(5, partition=2)
    h = Harness({EVENTS: topic})
    ends = {(EVENTS, 2): 5}

    async def scenario():
        h.intake.start_at(EVENTS, 2, 0)
        await h.intake.take(EVENTS, topic[:3])
        await h.intake.sweep(lambda t, p: ends.get((t, p)))  # behind the end: noted, not read yet
        assert h.reads == []
        await h.intake.sweep(lambda t, p: ends.get((t, p)))  # no progress since: read
        await h.intake.sweep(lambda t, p: ends.get((t, p)))  # nothing left behind
    run(scenario())
    assert h.reads == [(EVENTS, 2, 3, 5)]
    assert h.seqs(2) == [arrival_seq(2, o) for o in range(5)]


def test_a_long_tail_is_read_back_a_slice_at_a_time() -> None:
    topic = topic_of(7)
    h = Harness({EVENTS: topic})
    h.intake.READ_SLICE = 2

    async def scenario():
        h.intake.start_at(EVENTS, 0, 0)
        await h.intake.take(EVENTS, topic[:1])
        for _ in range(2):
            await h.intake.sweep(lambda t, p: 7)
    run(scenario())
    assert h.reads == [(EVENTS, 0, 1, 3), (EVENTS, 0, 3, 5), (EVENTS, 0, 5, 7)]
    assert h.seqs() == [arrival_seq(0, o) for o in range(7)]


def test_a_partition_on_its_way_is_not_read_by_the_sweep() -> None:
    topic = topic_of(6)
    h = Harness({EVENTS: topic})

    async def scenario():
        h.intake.start_at(EVENTS, 0, 0)
        for n in range(1, 6):
            await h.intake.take(EVENTS, [topic[n - 1]])
            await h.intake.sweep(lambda t, p: 6)
    run(scenario())
    assert h.reads == []


def test_dead_letters_of_the_worker_move_the_position_and_count_nowhere() -> None:
    counted = Record(DLQ, 1, 0, 1.7e12, b"P-1", b"{bad", dead_letter_headers("malformed", "x", "file:1", "ingest"))
    own = Record(DLQ, 1, 1, 1.7e12, b"P-1", b"{}", dead_letter_headers("schema", "x", "events:0:3", "worker"))
    later = counted._replace(offset=3)
    skipped = counted._replace(offset=2)
    h = Harness({DLQ: [counted, own, skipped, later]})

    async def scenario():
        h.intake.start_at(DLQ, 1, 0)
        await h.intake.take(DLQ, [counted, own, later])
    run(scenario())
    assert h.reads == [(DLQ, 1, 2, 3)]
    assert len(h.store.partitions[1].rejections) == 3  # counted, skipped, later; not the worker's own


def test_a_faust_message_is_received_at_its_kafka_time() -> None:
    """Faust gives a message's timestamp in seconds: a record without recorded_at is stamped with it."""
    at = datetime(2024, 6, 1, 12, 0, 0, 250_000, tzinfo=timezone.utc)
    raw = event(1, recorded_at=None)
    raw = json.dumps({k: v for k, v in json.loads(raw).items() if v is not None}).encode()
    message = Message(EVENTS, 0, 7, at.timestamp(), 0, (), b"P-1", raw, None, tp=TP(EVENTS, 0))
    entry, row = checked_event(from_faust(message))
    assert row.get("reason") is None
    assert row["recorded_at"] == at.replace(microsecond=250_000)


def test_records_whose_write_failed_are_taken_again() -> None:
    topic = topic_of(4)
    h = Harness({EVENTS: topic})
    writes = h.write
    failing = [True]

    async def flaky_write(partition: int, chunk: list) -> asyncio.Future:
        if failing.pop() if failing else False:
            raise ConnectionError("the broker went away")
        return await writes(partition, chunk)
    h.intake.write = flaky_write

    async def scenario():
        h.intake.start_at(EVENTS, 0, 0)
        try:
            await h.intake.take(EVENTS, topic[:2])
        except ConnectionError:
            pass
        await h.intake.take(EVENTS, topic[2:])  # 0 and 1 were never written: read from the topic first
    run(scenario())
    assert h.reads == [(EVENTS, 0, 0, 2)]
    assert h.seqs() == [arrival_seq(0, o) for o in range(4)]


def test_a_long_read_back_is_written_in_pieces_in_order() -> None:
    topic = topic_of(10)
    h = Harness({EVENTS: topic})
    h.intake.PIECE = 3
    pieces = []
    writes = h.write

    async def counting_write(partition: int, chunk: list) -> asyncio.Future:
        pieces.append([entry[2][0] for entry in chunk])
        return await writes(partition, chunk)
    h.intake.write = counting_write

    async def scenario():
        h.intake.start_at(EVENTS, 0, 0)
        await h.intake.take(EVENTS, [topic[9]])  # 0 to 8 skipped: read back, then 9
    run(scenario())
    assert pieces == [[arrival_seq(0, o) for o in range(s, min(s + 3, 10))] for s in range(0, 10, 3)]
    assert h.seqs() == [arrival_seq(0, o) for o in range(10)]


def transactional_topic() -> tuple[list[Record], list[tuple[int, int]]]:
    """Records at offsets with the holes a transactional producer leaves: a commit marker after every three
    records, and after the second transaction an aborted one (three records and its marker)."""
    offsets = [0, 1, 2, 4, 5, 6, 12, 13, 14]  # 3 and 7: commit markers; 8-10 aborted, 11 its marker; 15: marker
    return ([Record(EVENTS, 0, o, 1.7e12, f"P-{o % 3}".encode(), event(o), ()) for o in offsets],
            [(3, 4), (7, 12), (15, 16)])


def test_gaps_the_consumer_passed_over_are_no_skips_and_a_real_skip_is_still_read() -> None:
    """Markers and aborted records (passed over by the consumer, which says so) make no read and no warning;
    a record the consumer really skipped, between them, is read from the topic."""
    topic, passed = transactional_topic()
    h = Harness({EVENTS: topic})
    over = PassedOver()
    for start, end in passed:
        over.note(EVENTS, 0, start, end)
    h.intake = Intake(h.store, EVENTS, h.read, h.write, h.dead_letter, over)

    async def scenario():
        h.intake.start_at(EVENTS, 0, 0)
        await h.intake.take(EVENTS, topic[:4])  # 0, 1, 2, then 4 after the marker at 3
        await h.intake.take(EVENTS, [topic[4], topic[6], topic[7], topic[8]])  # 6 skipped by the consumer
        await h.intake.sweep(lambda t, p: 16)  # the last marker: nothing to read
        await h.intake.sweep(lambda t, p: 16)
    run(scenario())
    assert h.reads == [(EVENTS, 0, 6, 12)]  # only the real skip: 6, then the aborted range (empty for a reader)
    assert h.seqs() == [arrival_seq(0, r.offset) for r in topic]
    assert h.intake.next_offset[(EVENTS, 0)] == 16


def test_without_word_from_the_consumer_every_gap_is_read() -> None:
    topic, _ = transactional_topic()
    h = Harness({EVENTS: topic})

    async def scenario():
        h.intake.start_at(EVENTS, 0, 0)
        await h.intake.take(EVENTS, topic)
    run(scenario())
    assert h.reads == [(EVENTS, 0, 3, 4), (EVENTS, 0, 7, 12)]
    assert h.seqs() == [arrival_seq(0, r.offset) for r in topic]


def test_passed_over_ranges_join_and_are_forgotten_by_the_commit_only() -> None:
    over = PassedOver()
    over.note("t", 0, 7, 12)
    over.note("t", 0, 3, 4)
    over.note("t", 0, 12, 13)
    assert over.through("t", 0, 2) == 2  # 2 is a record
    assert over.through("t", 0, 3) == 4
    assert over.through("t", 0, 7) == 13  # two ranges that touch
    assert over.through("t", 0, 7) == 13  # the intake's question forgets nothing
    assert over.through("t", 0, 4, forget=True) == 4
    assert over.through("t", 0, 7, forget=True) == 13
    assert over.through("t", 0, 3) == 3 and over.through("t", 0, 7) == 7  # forgotten behind 13
    over.note("t", 1, 0, 5)
    over.forget({0})
    assert over.through("t", 1, 0) == 0


def test_a_trip_record_is_kept_under_its_trip_id_apart_from_the_projects(caplog) -> None:
    """A trip's event (§8, keyed by trip_id) is kept in its partition under its trip_id, in the trips' own key space
    (a project of the same id is another thing), with the fields the trip fold reads; the records after it are
    taken."""
    trip = json.dumps({"event_id": "t-1", "event_type": "trip_reported", "schema_version": 2, "trip_id": "P-0",
                       "occurred_at": "2024-05-01T10:00:00+08:00", "recorded_at": "2024-05-02T10:00:00+08:00",
                       "kind": "team", "departed": "2024-04-01", "returned": "2024-04-03", "people": 3,
                       "team": "先进制造组", "destinations": ["上海"]}).encode()
    topic = [*topic_of(2), Record(EVENTS, 0, 2, 1.7e12, b"P-0", trip, ()),
             Record(EVENTS, 0, 3, 1.7e12, b"P-0", event(3), ())]
    h = Harness({EVENTS: topic})

    async def scenario():
        h.intake.start_at(EVENTS, 0, 0)
        await h.intake.take(EVENTS, topic)
    with caplog.at_level("WARNING", logger="streams.worker.intake"):
        run(scenario())
    part = h.store.partitions[0]
    assert h.seqs() == [arrival_seq(0, o) for o in (0, 1, 3)] and not h.dead and not caplog.text
    assert list(part.trips) == ["P-0"] and h.store.dirty_trips == {"P-0": 0}
    assert [r[0] for r in compact.decode(part.trips["P-0"])] == [arrival_seq(0, 2)]
    assert [r[0] for r in compact.decode(part.projects["P-0"])] == [arrival_seq(0, o) for o in (0, 3)]
    kept = compact.events_frame([], [("P-0", compact.decode(part.trips["P-0"]))]).row(0, named=True)
    assert kept["project_id"] is None and kept["trip_id"] == "P-0" and kept["people"] == 3
    assert (kept["team"], kept["departed"].isoformat(), kept["destinations"]) == ("先进制造组", "2024-04-01", ["上海"])
    assert h.intake.next_offset[(EVENTS, 0)] == 4


def test_a_batch_keeps_each_event_id_as_the_record_alone_would() -> None:
    """A canonical UUID is kept as its 16 bytes, any other id (upper case, braces, no dashes, not a UUID) as
    written, in the batch path as in the one-record path; the trailing fields an event lacks are left off."""
    from streams.worker.intake import checked_events

    ids = ["0e1f2a3b-4c5d-4e6f-8091-a2b3c4d5e6f7", "0E1F2A3B-4C5D-4E6F-8091-A2B3C4D5E6F7",
           "{0e1f2a3b-4c5d-4e6f-8091-a2b3c4d5e6f7}", "0e1f2a3b4c5d4e6f8091a2b3c4d5e6f7", "e-1", "P-zz-9"]
    records = [Record(EVENTS, 0, n, 1.7e12, None, event(n, event_id=i), ()) for n, i in enumerate(ids)]
    records.append(Record(EVENTS, 0, len(ids), 1.7e12, None, event(9, event_id="e-9", leader=None), ()))
    together = [entry for entry, _ in checked_events(records)]
    assert together == [checked_event(r)[0] for r in records]
    assert isinstance(together[0][2][2], bytes) and [e[2][2] for e in together[1:-1]] == ids[1:]
