"""A replay folded bucket by bucket of project ids gives the in-memory replay's summary and tables."""

from __future__ import annotations

import io
from datetime import date, datetime, timezone

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from streams import config, synthetic
from streams.core import buckets as bk
from streams.core.log import received_log
from streams.core.summary import View
from streams.replay import SpilledLog, fold_and_aggregate, write_outputs

RECEIVED = datetime(2025, 1, 10, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def log() -> pl.DataFrame:
    """The synthetic feed (every kind of fault: duplicates, conflicts, malformed lines, orphans, late
    arrivals, milestone plans), as a checked log."""
    out = io.BytesIO()
    synthetic.write(out, synthetic.records(projects=400, seed=7))
    lines = out.getvalue().splitlines()
    return received_log(enumerate(lines, 1), RECEIVED)


def collected(tables: dict) -> dict[str, pl.DataFrame]:
    return {name: t.collect() if isinstance(t, pl.LazyFrame) else t for name, t in tables.items()}


VIEWS = [View(date(2024, 12, 31)), View(date(2023, 12, 31), date(2024, 1, 5)), View(date(2022, 6, 30))]


@pytest.mark.parametrize("view", VIEWS, ids=str)
@pytest.mark.parametrize("buckets", [7, 2])
def test_buckets_give_the_in_memory_summary_and_tables(log, tmp_path, view, buckets):
    targets = config.targets()
    whole = fold_and_aggregate(log, view, targets)
    assert whole.buckets == 1
    parts = fold_and_aggregate(log, view, targets, buckets=buckets, work=tmp_path)
    assert parts.buckets == buckets
    assert parts.doc == whole.doc
    assert list(parts.tables) == list(whole.tables)
    got = collected(parts.tables)
    # floats to their last bits (polars' default tolerance): a month's median lag is computed apart
    for name, table in whole.tables.items():
        assert_frame_equal(got[name], table), name
    # and what is written is the same too (lazy tables are streamed to their files)
    write_outputs(parts.doc, parts.tables, tmp_path / "out")
    for name, table in whole.tables.items():
        assert_frame_equal(pl.read_parquet(tmp_path / "out" / f"{name}.parquet"), table)


def test_buckets_from_a_spilled_log_and_summary_only(log, tmp_path):
    view = VIEWS[0]
    spilled = SpilledLog.of(log, tmp_path / "spill")
    assert spilled.rows == log.height
    parts = fold_and_aggregate(spilled, view, None, buckets=5, work=tmp_path)
    assert parts.tables == {}
    assert parts.doc == fold_and_aggregate(log, view).doc


def test_every_project_is_in_one_bucket_in_project_order():
    ids = pl.Series(["b", "a", "c", "a", None, "d", "b", "e", "e", "e"])
    counts = pl.DataFrame({"project_id": ids.fill_null("")}).group_by("project_id").agg(rows=pl.len())
    bounds = bk.bucket_bounds(counts, 3)
    index = bk.bucket_index(ids, bounds)
    buckets = pl.DataFrame({"id": ids, "b": index})
    assert buckets.group_by("id").agg(pl.col("b").n_unique())["b"].max() == 1
    # ranges in sort order: sorting by bucket keeps the ids sorted
    assert buckets.sort("b", "id")["id"].fill_null("").is_sorted()
    assert index.n_unique() == 3


def test_a_flood_of_one_project_is_never_split():
    counts = pl.DataFrame({"project_id": ["a", "b", "c"], "rows": [1, 100, 1]})
    bounds = bk.bucket_bounds(counts, 4)
    # b's 100 records are most of the log: fewer buckets than asked for, b whole in one of them
    assert bk.bucket_index(pl.Series(["a", "b", "c"]), bounds).to_list() == [0, 0, 1]


def test_in_memory_up_to_the_threshold():
    assert bk.buckets_for(bk.IN_MEMORY_ROWS) == 1
    assert bk.buckets_for(bk.IN_MEMORY_ROWS + 1) > 1
    assert bk.buckets_for(10, forced=3) == 3
    with pytest.raises(ValueError):
        bk.buckets_for(10, forced=0)


def test_a_table_without_a_rule_is_computed_from_the_merged_state(log, tmp_path, monkeypatch, caplog):
    view, targets = VIEWS[0], config.targets()
    whole = fold_and_aggregate(log, view, targets)
    monkeypatch.setattr(bk, "TABLE_RULES", {k: v for k, v in bk.TABLE_RULES.items() if k != "time_in_stage"})
    parts = fold_and_aggregate(log, view, targets, buckets=3, work=tmp_path)
    assert "no bucket rule for time_in_stage" in caplog.text
    assert_frame_equal(parts.tables["time_in_stage"], whole.tables["time_in_stage"])
