"""The worker's store, given a history (a synthetic feed, then trips and issues): it folds to what a replay folds,
applies each record once, keeps today's state equal to a full fold batch after batch, and its parts add up to the
whole, projects from a trip kept in another partition included."""

from __future__ import annotations

from datetime import date, datetime, timezone

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from streams import synthetic
from streams.core.log import log_frame, log_row
from streams.core.summary import View, fold_log, merge_summaries, negated, summary
from streams.feeds import read_feed
from streams.worker import compact
from streams.worker.store import (EVENT, REJECTED, TRIP, Partition, ProjectStore, Snapshot, fold_snapshot,
                                  project_answer, project_result, refreshed, refreshed_partitions, snapshot_part,
                                  states_of, today_part, today_project, today_summary)
from streams.worker.web import key_partition
from streams.core.parts import merge_parts
from tests.trip_feed import trip_history
from tests.unit.history import lines

RECEIVED = datetime(2025, 1, 10, tzinfo=timezone.utc)
PARTITIONS = 3


@pytest.fixture(scope="module")
def rows(tmp_path_factory) -> list[dict]:
    """A synthetic feed (with its bad records) as checked log rows, in arrival order."""
    feed = tmp_path_factory.mktemp("feed") / "feed.jsonl"
    synthetic.generate_file(feed, projects=400, seed=11)
    feed.write_bytes(feed.read_bytes() + b"".join(line + b"\n" for line in lines(trip_history())))
    return [log_row(seq, record.parsed, RECEIVED, stamp_missing=True)
            for seq, record in enumerate(read_feed(feed), start=1)]


def chunk_of(rows: list[dict]) -> list:
    """Changelog entries as the intake makes them: a trip's event (§8) keyed by its trip_id."""
    return [(REJECTED, None, compact.rejection_record(r)) if r.get("reason")
            else (TRIP, r["trip_id"], compact.event_record(r)) if r["project_id"] is None
            else (EVENT, r["project_id"], compact.event_record(r)) for r in rows]


def partition_of(row: dict) -> int:
    """The partition of a record's key: its project's, a trip's trip_id (§8)."""
    key = row.get("project_id") or (None if row.get("reason") else row.get("trip_id"))
    return key_partition(key or "", PARTITIONS)


def stored(rows: list[dict], batch: int = 97) -> ProjectStore:
    """The store after the rows arrive in batches, each partition's share of a batch as one chunk."""
    store = ProjectStore()
    for start in range(0, len(rows), batch):
        by_partition: dict[int, list[dict]] = {}
        for row in rows[start:start + batch]:
            by_partition.setdefault(partition_of(row), []).append(row)
        for partition, part in by_partition.items():
            store.apply(partition, chunk_of(part))
    return store


def _frame(rows: list[dict]) -> pl.DataFrame:
    return log_frame(rows)


@pytest.mark.parametrize("view", [View(date(2023, 12, 31)), View(date(2024, 12, 31)),
                                  View(date(2024, 12, 31), known_at=date(2024, 6, 30))])
def test_the_store_folds_to_what_a_replay_folds(rows, view):
    store = stored(rows)
    assert summary(fold_snapshot(store.snapshot(), view)) == summary(fold_log(_frame(rows), view))


def test_every_record_is_applied_once_however_often_it_arrives(rows):
    once = stored(rows)
    again = stored(rows)
    for partition in range(PARTITIONS):  # a crash: the changelog is replayed, then the topic is read again
        mine = [r for r in rows if partition_of(r) == partition]
        assert again.apply(partition, chunk_of(mine[: len(mine) // 2])) == 0
        assert again.apply(partition, chunk_of(mine)) == 0
    view = View(date(2024, 12, 31))
    assert summary(fold_snapshot(again.snapshot(), view)) == summary(fold_snapshot(once.snapshot(), view))


def changed_projects(store: ProjectStore) -> list:
    changed = [(pid, n, store.partitions[n].projects[pid]) for pid, n in store.dirty.items()]
    store.dirty.clear()
    return changed


def changed_trips(store: ProjectStore, everything: bool = False) -> list:
    """The trips that changed (every trip with ``everything``), as the worker folds them."""
    trips = store.all_trips() if everything else store.changed_trips()
    store.dirty_trips.clear()
    return trips


def test_todays_state_kept_batch_by_batch_equals_a_full_fold(rows):
    view = View(date(2025, 1, 10))
    store, today = ProjectStore(), None
    for start in range(0, len(rows), 500):
        for row in rows[start:start + 500]:
            store.apply(partition_of(row), chunk_of([row]))
        today, _ = refreshed(today, view.as_of, changed_projects(store), everything=False,
                             trips=changed_trips(store, today is None))
    whole = fold_snapshot(store.snapshot(), view)
    assert today_summary(today, store.rejected()) == summary(whole)
    kept = today.frame.select("project_id", "pool", "investment_yuan")
    expected = whole.state.sort("project_id").select("project_id", "pool", "investment_yuan")
    assert_frame_equal(kept, expected)
    assert_frame_equal(today.trips, whole.trips, categorical_as_str=True)
    assert_frame_equal(today.issues, whole.issues, categorical_as_str=True)
    assert today.trips.height > 5 and today.issues.height > 3


def test_a_new_day_refolds_everything(rows):
    store = stored(rows)
    before, _ = refreshed(None, date(2023, 6, 30), changed_projects(store), everything=True,
                          trips=changed_trips(store, True))
    after, _ = refreshed(before, date(2024, 12, 31), [(pid, n, blob) for n, part in store.partitions.items()
                                                       for pid, blob in part.projects.items()], everything=True,
                         trips=store.all_trips())
    assert today_summary(after, store.rejected()) == summary(fold_snapshot(store.snapshot(),
                                                                             View(date(2024, 12, 31))))
    assert after.doc["projects"]["total"] > before.doc["projects"]["total"]


@pytest.mark.parametrize("view", [View(date(2023, 12, 31)), View(date(2024, 12, 31)),
                                  View(date(2024, 12, 31), known_at=date(2024, 6, 30))])
def test_the_parts_of_a_partitioned_log_add_up_to_the_whole(rows, view):
    store = stored(rows)
    snapshots = [Snapshot(list(part.projects.items()), part.rejections, list(part.trips.items()))
                 for part in store.partitions.values()]
    assert len(snapshots) == PARTITIONS
    whole = summary(fold_log(_frame(rows), view))
    assert merge_parts([snapshot_part(s, view) for s in snapshots]) == whole
    assert whole["trips"] and whole["bottlenecks"]["raised"]
    parts = [summary(fold_snapshot(s, view)) for s in snapshots]
    assert merge_summaries([merge_summaries(parts), negated(parts[0])]) == merge_summaries(parts[1:])
    with pytest.raises(ValueError, match="different views"):
        merge_summaries([parts[0], {**parts[1], "as_of": "2000-01-01"}])


def test_projects_from_a_trip_in_another_partition_count_only_in_the_parts_merge(rows):
    """Each partition's own fold sees only its own trips: its projects naming another's trips are lost, so adding
    those summaries up undercounts; the parts carry them by trip id."""
    view = View(date(2024, 12, 31))
    store = stored(rows)
    snapshots = [Snapshot(list(part.projects.items()), part.rejections, list(part.trips.items()))
                 for part in store.partitions.values()]
    whole = summary(fold_log(_frame(rows), view))["trips"]
    naive = merge_summaries([summary(fold_snapshot(s, view)) for s in snapshots])["trips"]
    planned = (lambda doc: sum(f["projects_planned"] for f in doc.values()))
    assert planned(naive) < planned(whole)
    assert merge_parts([snapshot_part(s, view) for s in snapshots])["trips"] == whole


def test_one_projects_state_for_any_view_needs_only_its_own_records(rows):
    store = stored(rows)
    view = View(date(2024, 12, 31))
    whole = fold_snapshot(store.snapshot(), view).state
    project_id = whole["project_id"][7]
    alone = project_result(store.project(project_id), project_id, view).state
    assert_frame_equal(alone, whole.filter(pl.col("project_id") == project_id))
    assert store.project("NO-SUCH") is None


def test_a_worker_forgets_the_partitions_it_no_longer_owns(rows):
    store = stored(rows)
    kept = {0, 2}
    store.keep_only(kept)
    assert store.owned() == sorted(kept)
    assert all(partition_of({"project_id": pid}) in kept for pid, _ in store.snapshot()[0])


def test_todays_project_answer_is_the_projects_own_fold(rows):
    view = View(date(2025, 1, 10))
    store = stored(rows)
    today, _ = refreshed(None, view.as_of, changed_projects(store), everything=True, trips=store.all_trips())
    for project_id in [*list(store.partitions[1].projects)[:5], "TRP-1", "TRP-3"]:
        alone = project_result(store.project(project_id), project_id, view)
        doc = today_project(today, project_id)
        assert doc == project_answer(store.project(project_id), project_id, view)
        assert {k: v for k, v in doc.items() if k != "issues"} == alone.state.row(0, named=True)
        assert doc["issues"] == alone.issues.drop("project_id").to_dicts()
    assert [(i["issue_id"], i["open"], i["category"]) for i in today_project(today, "TRP-1")["issues"]] == [
        ("I-1", True, "approval")]  # resolved, then raised again
    assert today_project(today, "TRP-3")["issues"][0]["resolved_at"] is not None
    assert today_project(today, "NO-SUCH") is None
    assert today_project(today, "") is None and today_project(today, "~~~") is None


@pytest.mark.parametrize("event_id", ["0f8fad5b-d9cb-469f-a165-70867728950e", "0F8FAD5B-D9CB-469F-A165-70867728950E",
                                      "0f8fad5bd9cb469fa16570867728950e", "evt-1", "{0f8fad5b-d9cb-469f-a165-70867728950e}"])
def test_an_event_id_comes_back_exactly_as_written(rows, event_id):
    row = {**next(r for r in rows if not r.get("reason")), "event_id": event_id}
    decoded = compact.decode(compact.encode([compact.event_record(row)]))
    assert compact.events_frame([(row["project_id"], decoded)])["event_id"].to_list() == [event_id]


def test_the_compact_records_give_back_the_log_of_trips_and_issues_column_for_column():
    """Every column of the log an event has (trips' and issues' fields included) comes back from its compact
    record, a trip's under its trip_id with no project."""
    from polars.testing import assert_frame_equal as equal

    from streams.core.log import received_log
    from tests.unit.history import RECEIVED as received

    log = received_log(enumerate(lines(trip_history()), start=1), received)
    events = log.filter(pl.col("reason").is_null())
    projects: dict[str, list] = {}
    trips: dict[str, list] = {}
    for row in events.to_dicts():
        kept = projects if row["project_id"] else trips
        kept.setdefault(row["project_id"] or row["trip_id"],
                        []).extend(compact.decode(compact.encode([compact.event_record(row)])))
    back = compact.events_frame(list(projects.items()), list(trips.items())).sort("seq")
    equal(back, events.sort("seq"), categorical_as_str=True)
    assert back["destinations"].drop_nulls().len() and back["description"].dtype == events["description"].dtype


def test_a_record_written_before_the_trip_and_issue_fields_still_decodes(rows):
    """The changelog keeps records of older workers: their extras stop at ``due``."""
    row = next(r for r in rows if not r.get("reason") and r["event_type"] == "project_planned" and r.get("name"))
    seq, recorded, event_id, code, occurred, amount, content, extras = compact.event_record(row)
    before = compact._EXTRAS.index("due") + 1
    old = [seq, recorded, event_id, code, occurred, amount, content, (extras + [None] * before)[:before]]
    frame = compact.events_frame([(row["project_id"], compact.decode(compact.encode([old])))])
    got = frame.row(0, named=True)
    assert got["name"] == row["name"] and got["trip_id"] is None and got["issue_id"] is None
    assert got["departed"] is None and got["destinations"] is None


def test_two_workers_todays_parts_merge_to_the_whole(rows):
    """Each worker's maintained part of today's summary (one holding partition 0, the other 1 and 2): merged, the
    whole log's summary, projects naming a trip of the other worker included."""
    view = View(date(2025, 1, 10))
    parts = []
    for owned in ({0}, {1, 2}):
        store = stored(rows)
        store.keep_only(owned)
        projects = [(pid, n, blob) for n, part in store.partitions.items() for pid, blob in part.projects.items()]
        today, _ = refreshed(None, view.as_of, projects, everything=True, trips=store.all_trips())
        parts.append(today_part(today, store.rejected()))
    whole = summary(fold_log(_frame(rows), view))
    assert merge_parts(parts) == whole and whole["trips"]
    alone = merge_summaries([part["summary"] for part in parts])["trips"]
    planned = (lambda doc: sum(f["projects_planned"] for f in doc.values()))
    assert planned(alone) < planned(whole["trips"])


def test_a_batch_is_checked_as_each_record_alone_would_be(tmp_path):
    """The worker's batch path (replay's validator in batches) makes exactly the entries and rejections of the
    per-record path, on a synthetic feed with hostile lines among its records."""
    from streams import synthetic
    from streams.worker.intake import Record, checked_event, checked_events

    feed = tmp_path / "feed.jsonl"
    synthetic.generate_file(feed, projects=300, seed=5)
    lines = feed.read_bytes().splitlines()
    lines[10:10] = [b"{bad", b"[]", b'{"event_type":"project_planned"}', b"\xff\xfe", b"", b'{"a":NaN}']
    records = [Record("t", 1, i, 1.7e12 + i, None, line, None) for i, line in enumerate(lines)]
    alone = [checked_event(r) for r in records]
    together = checked_events(records)
    assert [entry for entry, _ in together] == [tuple(entry) for entry, _ in alone]
    assert [row and (row["reason"], row["detail"]) for _, row in together] == \
        [(row["reason"], row["detail"] or "") if row.get("reason") else None for _, row in alone]
    assert sum(row is not None for _, row in together) >= 6


def refresh(store: ProjectStore, day: date):
    """What the worker's publish round does (streams.worker.timers): fold the work, keep it, combine."""
    work = store.fold_work(day)
    todays, store.today, state = refreshed_partitions(
        day, work, {n: part.today for n, part in store.partitions.items() if part.today is not None})
    store.folded(work, todays)
    return work, state


def test_todays_state_folded_partition_by_partition_equals_a_full_fold(rows):
    view = View(date(2025, 1, 10))
    store = ProjectStore()
    for start in range(0, len(rows), 700):
        for row in rows[start:start + 700]:
            store.apply(partition_of(row), chunk_of([row]))
        refresh(store, view.as_of)
    assert not store.dirty and not store.dirty_trips
    whole = fold_snapshot(store.snapshot(), view)
    assert today_summary(store.today, store.rejected()) == summary(whole)
    assert_frame_equal(store.today.frame.select("project_id", "pool", "colour"),
                       whole.state.sort("project_id").select("project_id", "pool", "colour"), categorical_as_str=True)
    assert_frame_equal(store.today.issues, whole.issues, categorical_as_str=True)


def test_a_partition_adopted_with_its_state_folds_only_what_it_lacks(rows):
    """A promoted standby or a loaded checkpoint brings today's state: the others are not folded again, and of it
    only the projects it had not folded yet."""
    day = date(2025, 1, 10)
    owner, other = stored(rows), ProjectStore()
    refresh(owner, day)
    late = [r for r in rows if partition_of(r) == 1 and r.get("project_id")][:1]
    touched = {r["project_id"] for r in late}
    owner.partitions[1].last_seq = -1  # the same record again counts as new here: its project becomes dirty
    owner.apply(1, chunk_of(late))
    assert set(owner.dirty) == touched
    other.adopt(1, owner.release(1), republish=True)
    assert not owner.dirty and set(other.dirty) == touched and other.republish == {1}
    work, state = refresh(other, day)
    assert [(f.partition, f.today is not None, {p for p, _, _ in f.projects}) for f in work] == [(1, True, touched)]
    assert set(state["project_id"]) == touched
    assert not refresh(owner, day)[0]  # what it kept is folded already: only combined again
    both = merge_parts([today_part(owner.today, owner.rejected()), today_part(other.today, other.rejected())])
    reference = stored(rows)
    reference.partitions[1].last_seq = -1
    reference.apply(1, chunk_of(late))
    assert both == summary(fold_snapshot(reference.snapshot(), View(day)))


def test_the_states_to_publish_again_are_every_folded_projects_state(rows):
    store = stored(rows)
    _, state = refresh(store, date(2025, 1, 10))
    again = pl.concat([states_of(part.today) for part in store.partitions.values()], how="vertical_relaxed")
    assert_frame_equal(again.sort("project_id"), state.sort("project_id"), categorical_as_str=True)


def test_a_checkpoint_keeps_todays_state_and_what_it_had_not_folded(rows, tmp_path):
    from streams.worker import checkpoint

    day = date(2025, 1, 10)
    store = stored(rows)
    refresh(store, day)
    part = store.partitions[2]
    part.unfolded, part.unfolded_trips = {"P-x"}, {"T-y"}
    identity = checkpoint.Identity("app", "topic", "app-checked-log-changelog", 2)
    part.changelog_offset, part.changelog_key = 9, b"2:9"
    loaded = checkpoint.read(checkpoint.write(tmp_path, identity, part).parent, identity).partition
    assert loaded.today.day == day and loaded.today.doc == part.today.doc
    assert loaded.today.trip_doc == part.today.trip_doc
    for name in ("frame", "issues", "trips", "trip_tallies"):
        assert_frame_equal(getattr(loaded.today, name), getattr(part.today, name))
    assert (loaded.unfolded, loaded.unfolded_trips) == ({"P-x"}, {"T-y"})
    assert loaded.projects == part.projects and loaded.last_seq == part.last_seq


def test_a_store_is_folded_whole_once_every_partition_has_todays_state(rows):
    day = date(2025, 1, 10)
    store = stored(rows)
    assert not store.folded_whole(day)
    refresh(store, day)
    assert store.folded_whole(day) and not store.folded_whole(date(2025, 1, 11))  # a new day folds again
    store.adopt(5, Partition())  # a copy with no state yet
    assert not store.folded_whole(day)
