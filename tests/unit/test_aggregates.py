"""Flows, conversions (period, rolling, cohort with censoring), time in stage, targets — given histories."""

from datetime import datetime, timezone

import polars as pl
from hypothesis import given, settings, strategies as st
from polars.testing import assert_frame_equal

from streams.core import aggregates as agg
from streams.core.targets import target_attainment
from tests.unit.history import ev, fold


def history():
    return [
        ev("A", "planned", "2023-01-05"), ev("A", "negotiating", "2023-02-10"), ev("A", "signed", "2023-03-20"),
        ev("B", "planned", "2023-01-20"), ev("B", "started", "2023-04-02", investment_yuan=60 * 10**8),
        ev("C", "planned", "2023-02-01"), ev("C", "negotiating", "2023-02-25"),
        ev("D", "planned", "2023-03-10"),
    ]


def test_flows_by_month_count_each_stage_reached_in_the_month():
    r = fold(history(), as_of="2023-04-30")
    wide = agg.flows_wide(agg.flows(r.state, "month"))
    expected = pl.DataFrame({"period": ["2023-01", "2023-02", "2023-03", "2023-04"],
                             "planned": [2, 1, 1, 0], "negotiating": [0, 2, 0, 1], "signed": [0, 0, 1, 1],
                             "started": [0, 0, 0, 1], "completed": [0] * 4, "operating": [0] * 4})
    assert_frame_equal(wide, expected, check_dtypes=False)


def test_period_conversion_and_rolling_conversion():
    r = fold(history(), as_of="2023-04-30")
    yearly = agg.conversion(agg.flows(r.state, "year"), "planned", "negotiating")
    assert yearly.row(0, named=True) == {"period": "2023", "from": 4, "to": 3, "rate": 0.75}
    rolling = agg.conversion_rolling(r.state, "planned", "negotiating", window=2)
    assert rolling["from"].to_list() == [2, 3, 2, 1] and rolling["to"].to_list() == [0, 2, 2, 1]
    assert rolling["rate"].to_list() == [0.0, 2 / 3, 1.0, 1.0]


def test_cohort_conversion_censors_cohorts_younger_than_k():
    r = fold(history(), as_of="2023-03-31")
    c = agg.cohort_conversion(r.state, "negotiating", r.view.cutoff, max_k=3)
    jan = c.filter(pl.col("cohort") == "2023-01")
    assert jan["size"].to_list() == [2] * 4
    assert jan["reached"].to_list() == [0, 1, 1, None]            # A in Feb (k=1); B's start in April: later
    assert jan["censored"].to_list() == [False, False, False, True]  # month c+3 = April is not over
    mar = c.filter(pl.col("cohort") == "2023-03")
    assert mar["reached"].to_list() == [0, None, None, None] and mar["rate"].to_list()[1:] == [None] * 3


def test_time_in_stage():
    r = fold(history(), as_of="2023-12-31")
    t = agg.time_in_stage(r.state).filter(pl.col("stage") == "planned").row(0, named=True)
    assert t["projects"] == 3  # A, B (implied negotiating at start), C


def test_target_attainment_and_run_rate():
    r = fold(history(), as_of="2023-04-02")
    t = target_attainment(r.state, {"2023": {"planned": 8, "started_yuan": 100 * 10**8}}, r.view.cutoff)
    planned = t.filter(pl.col("metric") == "planned").row(0, named=True)
    assert planned["actual"] == 4 and planned["attainment"] == 0.5
    assert abs(planned["projected"] - 4 / (92 / 365)) < 1e-9      # 92 days of 2023 elapsed
    started = t.filter(pl.col("metric") == "started_yuan").row(0, named=True)
    assert started["actual"] == 60 * 10**8


def test_breakdown_by_a_dimension_adds_up_to_the_total():
    events = history() + [ev("E", "planned", "2023-03-11", industry="电子信息")]
    r = fold(events, as_of="2023-12-31")
    by = agg.pools_at(r.state, by="industry")
    assert by.group_by("pool").agg(pl.col("count").sum()).sort("pool").equals(
        agg.pools_at(r.state).select("pool", "count").sort("pool"))


def test_pools_over_time_equals_the_pools_of_a_fold_at_every_month_end():
    from datetime import timedelta

    from streams import synthetic
    from streams.core.fold import project_state
    from streams.core.log import accepted_events

    r = fold(list(synthetic.records(150, seed=4)), as_of="2024-06-15")
    events = accepted_events(r.settled).collect()
    expected = []
    for end in agg.month_ends(events["occurred_at"].min(), r.view.cutoff):
        label = (end - timedelta(microseconds=1)).astimezone(agg.CST).strftime("%Y-%m")
        expected.append(agg.pools_at(project_state(events, end)).select(pl.lit(label).alias("month"), pl.all()))
    assert_frame_equal(agg.pools_over_time(events, r.view.cutoff), pl.concat(expected))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.datetimes(datetime(1, 1, 2), datetime(9999, 12, 30), timezones=st.just(timezone.utc)), min_size=1,
                max_size=20),
       st.sampled_from(["year", "quarter", "month"]))
def test_flows_count_by_a_period_number_labelled_as_every_period_label(instants, period):
    """Flows group on a number per period and label it once counted: the labels are those Polars writes for the
    instants in CST (a year before 1000, the old rules of Asia/Shanghai), whatever the instants."""
    at = pl.DataFrame({"at": instants}, schema={"at": pl.Datetime("us", "UTC")})
    local = pl.col("at").dt.convert_time_zone(agg.TZ)
    written = {"year": local.dt.year().cast(pl.Utf8), "month": local.dt.strftime("%Y-%m"),
               "quarter": pl.format("{}Q{}", local.dt.year(), local.dt.quarter())}[period]
    assert at.select(agg._label(pl.col("at"), period)).to_series().to_list() == at.select(written).to_series().to_list()


def reference_streaks(colours: pl.DataFrame) -> pl.DataFrame:
    """months_in_colour as it was first written: a window per project (seconds on millions of rows)."""
    index = pl.col("month").str.slice(0, 4).cast(pl.Int32) * 12 + pl.col("month").str.slice(5, 2).cast(pl.Int32)
    frame = colours.sort("project_id", "month").with_columns(_i=index)
    starts = ((pl.col("colour") != pl.col("colour").shift()) | (pl.col("_i") - pl.col("_i").shift() != 1)
              ).fill_null(True).over("project_id")
    frame = frame.with_columns(_run=starts.cum_sum().over("project_id"))
    return (frame.with_columns(months_in_colour=pl.int_range(1, pl.len() + 1).over("project_id", "_run").cast(pl.UInt32))
            .drop("_i", "_run").sort("month", "project_id"))


@st.composite
def month_end_colours(draw) -> pl.DataFrame:
    """Coloured projects at month ends, as the month-end states give them: one row per (month, project), months
    in order, a project missing from some (dropped, then revived)."""
    months = [f"{y:04d}-{m:02d}" for y in (999, 2023, 2024) for m in range(1, 13)]
    rows = []
    for month in months[draw(st.integers(0, 30)):][:draw(st.integers(0, 8))]:
        for project in draw(st.lists(st.sampled_from(["P1", "P2", "P10", "项目", ""]), unique=True, max_size=5)):
            rows.append({"month": month, "project_id": project, "colour": draw(st.sampled_from(["red", "green", "blue"])),
                         "days_late": draw(st.none() | st.integers(-40, 400))})
    return pl.DataFrame(rows, schema={"month": pl.Utf8, "project_id": pl.Utf8, "colour": pl.Utf8, "days_late": pl.Int64})


@settings(max_examples=200, deadline=None)
@given(month_end_colours())
def test_months_in_colour_are_those_of_a_window_per_project(colours):
    assert_frame_equal(agg._with_streaks(colours), reference_streaks(colours))
