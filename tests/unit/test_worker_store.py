"""The worker's store, given a history: it folds to what a replay folds, applies each record once,
keeps today's state equal to a full fold batch after batch, and its parts add up to the whole."""

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
from streams.worker.store import (EVENT, REJECTED, ProjectStore, fold_snapshot, project_result, refreshed,
                                  today_project, today_summary)
from streams.worker.web import key_partition

RECEIVED = datetime(2025, 1, 10, tzinfo=timezone.utc)
PARTITIONS = 3


@pytest.fixture(scope="module")
def rows(tmp_path_factory) -> list[dict]:
    """A synthetic feed (with its bad records) as checked log rows, in arrival order."""
    feed = tmp_path_factory.mktemp("feed") / "feed.jsonl"
    synthetic.generate_file(feed, projects=400, seed=11)
    return [log_row(seq, record.parsed, RECEIVED, stamp_missing=True)
            for seq, record in enumerate(read_feed(feed), start=1)]


def chunk_of(rows: list[dict]) -> list:
    return [(REJECTED, None, compact.rejection_record(r)) if r.get("reason")
            else (EVENT, r["project_id"], compact.event_record(r)) for r in rows]


def partition_of(row: dict) -> int:
    return key_partition(row.get("project_id") or "", PARTITIONS)


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
    assert summary(fold_snapshot(*store.snapshot(), view)) == summary(fold_log(_frame(rows), view))


def test_every_record_is_applied_once_however_often_it_arrives(rows):
    once = stored(rows)
    again = stored(rows)
    for partition in range(PARTITIONS):  # a crash: the changelog is replayed, then the topic is read again
        mine = [r for r in rows if partition_of(r) == partition]
        assert again.apply(partition, chunk_of(mine[: len(mine) // 2])) == 0
        assert again.apply(partition, chunk_of(mine)) == 0
    view = View(date(2024, 12, 31))
    assert summary(fold_snapshot(*again.snapshot(), view)) == summary(fold_snapshot(*once.snapshot(), view))


def changed_projects(store: ProjectStore) -> list:
    changed = [(pid, n, store.partitions[n].projects[pid]) for pid, n in store.dirty.items()]
    store.dirty.clear()
    return changed


def test_todays_state_kept_batch_by_batch_equals_a_full_fold(rows):
    view = View(date(2025, 1, 10))
    store, today = ProjectStore(), None
    for start in range(0, len(rows), 500):
        for row in rows[start:start + 500]:
            store.apply(partition_of(row), chunk_of([row]))
        today, _ = refreshed(today, view.as_of, changed_projects(store), everything=False)
    whole = fold_snapshot(*store.snapshot(), view)
    assert today_summary(today, store.rejected()) == summary(whole)
    kept = today.frame.select("project_id", "pool", "investment_yuan")
    expected = whole.state.sort("project_id").select("project_id", "pool", "investment_yuan")
    assert_frame_equal(kept, expected)


def test_a_new_day_refolds_everything(rows):
    store = stored(rows)
    before, _ = refreshed(None, date(2023, 6, 30), changed_projects(store), everything=True)
    after, _ = refreshed(before, date(2024, 12, 31), [(pid, n, blob) for n, part in store.partitions.items()
                                                       for pid, blob in part.projects.items()], everything=True)
    assert today_summary(after, store.rejected()) == summary(fold_snapshot(*store.snapshot(),
                                                                              View(date(2024, 12, 31))))
    assert after.doc["projects"]["total"] > before.doc["projects"]["total"]


def test_the_parts_of_a_partitioned_log_add_up_to_the_whole(rows):
    view = View(date(2024, 12, 31))
    store = stored(rows)
    parts = []
    for partition, part in store.partitions.items():
        projects = list(part.projects.items())
        parts.append(summary(fold_snapshot(projects, part.rejections, view)))
    assert len(parts) == PARTITIONS
    assert merge_summaries(parts) == summary(fold_log(_frame(rows), view))
    assert merge_summaries([merge_summaries(parts), negated(parts[0])]) == merge_summaries(parts[1:])
    with pytest.raises(ValueError, match="different views"):
        merge_summaries([parts[0], {**parts[1], "as_of": "2023-12-31"}])


def test_one_projects_state_for_any_view_needs_only_its_own_records(rows):
    store = stored(rows)
    view = View(date(2024, 12, 31))
    whole = fold_snapshot(*store.snapshot(), view).state
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
    today, _ = refreshed(None, view.as_of, changed_projects(store), everything=True)
    for project_id in list(store.partitions[1].projects)[:5]:
        alone = project_result(store.project(project_id), project_id, view).state.row(0, named=True)
        assert today_project(today, project_id) == alone
    assert today_project(today, "NO-SUCH") is None
    assert today_project(today, "") is None and today_project(today, "~~~") is None


@pytest.mark.parametrize("event_id", ["0f8fad5b-d9cb-469f-a165-70867728950e", "0F8FAD5B-D9CB-469F-A165-70867728950E",
                                      "0f8fad5bd9cb469fa16570867728950e", "evt-1", "{0f8fad5b-d9cb-469f-a165-70867728950e}"])
def test_an_event_id_comes_back_exactly_as_written(rows, event_id):
    row = {**next(r for r in rows if not r.get("reason")), "event_id": event_id}
    decoded = compact.decode(compact.encode([compact.event_record(row)]))
    assert compact.events_frame([(row["project_id"], decoded)])["event_id"].to_list() == [event_id]
