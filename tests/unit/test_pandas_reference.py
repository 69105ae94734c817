"""The pandas reference of `fold_vs_pandas_speedup` (bench/pandas_fold.py) writes the same summary.json as the
product on the synthetic feed, every kind of fault and milestone plans included: the speedup compares the same
work. Its narrower first version agrees on the pools and yearly flows."""

from __future__ import annotations

import io
from datetime import date, datetime, timezone

import polars as pl
import pytest

from bench import pandas_fold
from streams import synthetic
from streams.core.log import received_log
from streams.core.summary import View, fold_log, summary

RECEIVED = datetime(2025, 1, 10, tzinfo=timezone.utc)


@pytest.fixture(scope="module", params=[7, 11])
def log(request) -> pl.DataFrame:
    out = io.BytesIO()
    synthetic.write(out, synthetic.records(projects=500, seed=request.param, bureau=False))
    return received_log(enumerate(out.getvalue().splitlines(), 1), RECEIVED)


@pytest.mark.parametrize("as_of", [date(2022, 6, 30), date(2023, 9, 30), date(2024, 12, 31)])
def test_the_pandas_reference_writes_the_same_summary(log: pl.DataFrame, as_of: date) -> None:
    view = View(as_of)
    ours = summary(fold_log(log, view))
    frame = log.with_columns(pl.col(pl.Categorical).cast(pl.Utf8)).to_pandas()
    reference = pandas_fold.summary(frame, view.cutoff)
    # the reference folds projects only; this feed has no trip or issue (§8, §9), so those keys count nothing
    assert ours["trips"] == {} and not ours["bottlenecks"]["raised"]
    assert reference == {k: v for k, v in ours.items() if k not in ("trips", "bottlenecks")}
    assert sum(ours["supervision"].values()) > 0 and ours["accounting"]["rejected"]  # the comparison covers them
    narrow = pandas_fold.pools_and_flows(frame, view.cutoff)
    assert narrow == {"pools": {p: f for p, f in ours["pools"].items() if f["count"]}, "flows": ours["flows"]}
