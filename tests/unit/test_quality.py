"""The GX suites: every expectation fails on a crafted bad input and passes on the generated data set."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import polars as pl
import pytest

from streams import synthetic
from streams.contract.acceptance import Rejection, check_event, parse_json
from streams.core.tables import aggregate_tables
from streams.quality import frames, gate
from streams.quality.suites import aggregate_suites, feed_suite
from tests.unit.history import fold

NOW = datetime(2025, 1, 1, tzinfo=timezone.utc)


def feed_rows(raw_lines: list[bytes]) -> list[dict]:
    rows = []
    for i, raw in enumerate(raw_lines):
        parsed = parse_json(raw)
        verdict = parsed if isinstance(parsed, Rejection) else check_event(parsed, NOW)
        rows.append(frames.feed_row(i, f"f:{i + 1}", parsed, verdict))
    return rows


def generated_lines(projects=200) -> list[bytes]:
    return [r if isinstance(r, bytes) else json.dumps(r, ensure_ascii=False).encode()
            for r in synthetic.records(projects, seed=8)]


def failing(report: gate.QualityReport, severity="critical") -> set[tuple[str, str]]:
    return {(f.expectation, f.column) for f in report.failures if f.severity == severity}


# ---- the feed suite -----------------------------------------------------------------------------

def test_trip_and_issue_records_pass_the_feed_suite():
    """A trip's record has no project_id: it is keyed by its trip_id (§8)."""
    trip = {"event_id": "t1", "event_type": "trip_reported", "schema_version": 2, "trip_id": "T-1",
            "occurred_at": "2023-01-01T00:00:00+08:00", "recorded_at": "2023-01-02T00:00:00+08:00", "kind": "team",
            "departed": "2022-12-20", "returned": "2022-12-22"}
    issue = {"event_id": "i1", "event_type": "issue_raised", "schema_version": 2, "project_id": "P", "issue_id": "Q",
             "category": "land", "occurred_at": "2023-01-01T00:00:00+08:00", "recorded_at": "2023-01-02T00:00:00+08:00"}
    gone = {"event_id": "t2", "event_type": "trip_withdrawn", "schema_version": 2, "trip_id": "T-1",
            "occurred_at": "2023-01-03T00:00:00+08:00", "recorded_at": "2023-01-04T00:00:00+08:00", "reason": "重复"}
    solved = {**issue, "event_id": "i2", "event_type": "issue_resolved", "resolution": "办结"}
    del solved["category"]
    records = (GOOD, trip, issue, gone, solved)
    rows = feed_rows([json.dumps(e, ensure_ascii=False).encode() for e in records])
    assert [r["key"] for r in rows] == ["P", "T-1", "P", "T-1", "P"]
    assert [r["project_id"] for r in rows] == ["P", None, "P", None, "P"]
    report = gate.check_feed_rows(rows)
    assert not failing(report) and not report.failures, report.as_dict()
    # a trip's record that has a project_id (null included) breaks the contract (§8), and the suite says so
    for project_id in ("P", None):
        rows = feed_rows([json.dumps({**trip, "project_id": project_id}, ensure_ascii=False).encode()])
        assert rows[0]["contract_reason"] == "schema"
        assert ("expect_column_values_to_be_null", "contract_reason") in failing(gate.check_feed_rows(rows))


def test_the_generated_feed_passes_once_the_contract_rejections_are_out():
    rows = [r for r in feed_rows(generated_lines()) if r["contract_reason"] is None]
    report = gate.check_feed_rows(rows)
    assert report.success, report.as_dict()
    # re-sends repeat event ids: a warning, not a failure
    assert ("expect_column_values_to_be_unique", "event_id") in failing(report, "warning")


GOOD = {"event_id": "e1", "event_type": "project_planned", "schema_version": 2, "project_id": "P",
        "occurred_at": "2023-01-01T00:00:00+08:00", "recorded_at": "2023-01-02T00:00:00+08:00", "name": "n",
        "industry": "现代商贸", "zone": "三环内", "axis": "京广路", "source_region": "长三角", "channel": "以商招商"}


@pytest.mark.parametrize("bad, expected", [
    (b"{not json", ("expect_column_values_to_be_in_set", "well_formed")),
    (json.dumps({**GOOD, "schema_version": 7}).encode(), ("expect_column_values_to_be_null", "contract_reason")),
    (json.dumps({k: v for k, v in GOOD.items() if k != "event_id"}).encode(),
     ("expect_column_values_to_not_be_null", "event_id")),
    (json.dumps({k: v for k, v in GOOD.items() if k != "event_type"}).encode(),
     ("expect_column_values_to_not_be_null", "event_type")),
    (json.dumps({k: v for k, v in GOOD.items() if k != "schema_version"}).encode(),
     ("expect_column_values_to_not_be_null", "schema_version")),
    (json.dumps({k: v for k, v in GOOD.items() if k != "project_id"}).encode(),
     ("expect_column_values_to_not_be_null", "key")),
    (json.dumps({**GOOD, "event_type": "trip_withdrawn", "project_id": None}).encode(),  # a trip without trip_id
     ("expect_column_values_to_not_be_null", "key")),
    (json.dumps({k: v for k, v in GOOD.items() if k != "occurred_at"}).encode(),
     ("expect_column_values_to_not_be_null", "occurred_at")),
    (json.dumps({**GOOD, "event_type": "project_paused"}).encode(), ("expect_column_values_to_be_in_set", "event_type")),
    (json.dumps({**GOOD, "investment_yuan": 2 * 10**12}).encode(), ("expect_column_values_to_be_between", "amount_yuan")),
    (json.dumps({**GOOD, "occurred_at": "1999-12-31T00:00:00+08:00"}).encode(),
     ("expect_column_values_to_be_between", "occurred_year")),
    (json.dumps({**GOOD, "occurred_at": "2023-01-05T00:00:00+08:00"}).encode(),
     ("expect_column_values_to_be_between", "lag_hours")),
])
def test_each_critical_feed_expectation_fails_on_a_crafted_record(bad, expected):
    report = gate.check_feed_rows(feed_rows([json.dumps(GOOD).encode(), bad]))
    assert expected in failing(report)
    failure = next(f for f in report.failures if (f.expectation, f.column) == expected)
    assert failure.rows == [1] and failure.examples[0]["origin"] == "f:2"


@pytest.mark.parametrize("change, column", [
    ({"industry": "外星科技"}, "industry"), ({"zone": "月球"}, "zone"), ({"axis": "银河路"}, "axis"),
    ({"source_region": "火星"}, "source_region"), ({"channel": "飞鸽"}, "channel"),
])
def test_unknown_dimension_values_are_warnings(change, column):
    report = gate.check_feed_rows(feed_rows([json.dumps(GOOD, ensure_ascii=False).encode(),
                                             json.dumps({**GOOD, "event_id": "e2", **change}).encode()]))
    assert report.success and ("expect_column_values_to_be_in_set", column) in failing(report, "warning")


def test_duplicate_ids_and_late_arrivals_are_warnings():
    late = {**GOOD, "event_id": "e1", "recorded_at": "2023-06-01T00:00:00+08:00"}
    report = gate.check_feed_rows(feed_rows([json.dumps(GOOD).encode(), json.dumps(late).encode()]))
    assert report.success
    assert {("expect_column_values_to_be_unique", "event_id"),
            ("expect_column_values_to_be_between", "lag_hours")} <= failing(report, "warning")


@pytest.mark.parametrize("formula", ["=cmd|' /C calc'!A0", "+1+1", "@SUM(A1:A9)", "-2+3"])
def test_formula_like_text_is_kept_but_warned_about(formula):
    planned = {**GOOD, "event_type": "project_planned", "name": formula, "industry": "电子信息"}
    rows = feed_rows([json.dumps(GOOD).encode(), json.dumps(planned, ensure_ascii=False).encode()])
    report = gate.check_feed_rows(rows)
    assert report.success  # a warning: the record itself is valid and is kept verbatim
    failure = next(f for f in report.failures if f.column == "formula_like_text")
    assert failure.severity == "warning" and failure.rows == [1]


def test_every_feed_expectation_is_exercised_above():
    names = {(e.expectation_type if hasattr(e, "expectation_type") else e.type, e.column) for e in
             feed_suite().expectations}
    assert len(names) == 18


# ---- the aggregate suites -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def replayed():
    from streams.core.summary import summary

    result = fold(generated_lines(300), as_of="2024-12-31")
    tables = aggregate_tables(result, {"2023": {"planned": 200}})
    return summary(result), tables


def test_the_generated_aggregates_pass(replayed):
    doc, tables = replayed
    report = gate.check_aggregates(doc, tables)
    assert report.success and not report.failures, report.as_dict()


def _tampered(replayed, *, doc=None, **tables):
    base_doc, base_tables = replayed
    return gate.check_aggregates(doc or base_doc, {**base_tables, **tables})


def test_accounting_identity(replayed):
    doc = json.loads(json.dumps(replayed[0]))
    doc["accounting"]["duplicates"] += 1
    assert ("expect_column_values_to_be_between", "accounting_balance") in failing(_tampered(replayed, doc=doc))


def test_pools_add_up_to_the_total(replayed):
    doc = json.loads(json.dumps(replayed[0]))
    doc["projects"]["total"] -= 1
    assert ("expect_column_values_to_be_between", "pools_balance") in failing(_tampered(replayed, doc=doc))


def test_investment_reconciles_between_state_and_pools(replayed):
    doc = json.loads(json.dumps(replayed[0]))
    doc["pools"]["landed"]["investment_yuan"] += 10**8
    assert ("expect_column_values_to_be_between", "investment_balance") in failing(_tampered(replayed, doc=doc))


def test_orphans_under_a_threshold(replayed):
    doc = json.loads(json.dumps(replayed[0]))
    doc["projects"]["orphans"] = doc["projects"]["total"]
    assert ("expect_column_values_to_be_between", "orphan_share") in failing(_tampered(replayed, doc=doc))


def test_the_cumulative_funnel_never_increases(replayed):
    state = replayed[1]["project_state"]
    # a project that started construction without ever having reached "signed"
    broken = state.with_columns(reached_at_signed=pl.when(pl.col("reached_at_started").is_not_null())
                                .then(None).otherwise(pl.col("reached_at_signed")))
    report = _tampered(replayed, project_state=broken)
    assert ("expect_column_pair_values_a_to_be_greater_than_b", "reached_signed ≥ reached_started") in failing(report)


def test_reached_at_is_ordered_within_each_project(replayed):
    state = replayed[1]["project_state"]
    broken = state.with_columns(reached_at_negotiating=pl.col("reached_at_planned") - pl.duration(days=1))
    report = _tampered(replayed, project_state=broken)
    assert ("expect_column_pair_values_a_to_be_greater_than_b",
            "reached_at_negotiating ≥ reached_at_planned") in failing(report)


def test_project_ids_unique_and_investment_not_negative(replayed):
    state = replayed[1]["project_state"]
    report = _tampered(replayed, project_state=pl.concat([state, state.head(1).with_columns(investment_yuan=pl.lit(-1, pl.Int64))]))
    assert {("expect_column_values_to_be_unique", "project_id"),
            ("expect_column_values_to_be_between", "investment_yuan")} <= failing(report)


def test_no_negative_flows_and_rates_in_range(replayed):
    tables = replayed[1]
    report = _tampered(replayed, flows=tables["flows"].with_columns(count=pl.col("count") - 10**6),
                       cohorts=tables["cohorts"].with_columns(rate=pl.col("rate") + 2),
                       conversions=tables["conversions"].with_columns(rate=pl.col("rate") - 5))
    assert {("expect_column_values_to_be_between", "count"), ("expect_column_values_to_be_between", "rate")} <= \
        failing(report)
    assert {f.suite for f in report.failures} >= {"aggregates.flows", "aggregates.cohorts", "aggregates.conversions"}


def test_rankings_are_whole_unique_and_within_their_units(replayed):
    ranks = replayed[1]["rankings"]
    assert ranks.height > 0 and ranks["board"].is_not_null().any()
    broken = pl.concat([
        ranks.head(1),
        ranks.slice(1, 1).with_columns(rank=pl.col("units") + 1),  # below the last place
        ranks.slice(2, 1).with_columns(rank=pl.lit(0, pl.Int64), board=pl.lit("middle")),
        ranks.slice(3, 1).with_columns(conversion=pl.lit(1.5), red=pl.lit(-1, pl.Int64)),
        ranks.slice(4),
        ranks.head(1),  # a unit ranked twice in one period
    ])
    report = _tampered(replayed, rankings=broken)
    assert failing(report) == {("expect_compound_columns_to_be_unique", "granularity, period, dimension, unit"),
                               ("expect_column_values_to_be_between", "rank"),
                               ("expect_column_pair_values_a_to_be_greater_than_b", "units ≥ rank"),
                               ("expect_column_values_to_be_in_set", "board"),
                               ("expect_column_values_to_be_between", "conversion"),
                               ("expect_column_values_to_be_between", "red")}
    assert {f.suite for f in report.failures} == {"aggregates.rankings"}


def test_every_aggregate_suite_is_covered():
    assert set(aggregate_suites()) == set(gate.ROW_IDS) - {"feed"}


def test_the_committed_gx_project_holds_the_suites_of_the_code():
    """expectations/gx is written by `funnel check --docs`; it must not drift from streams/quality/suites.py."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "expectations" / "gx" / "expectations"
    gate._context()  # GX wants an active context to render an expectation's configuration

    def shape(expectations):
        return sorted(json.dumps([e["type"], e["kwargs"], e.get("severity")], sort_keys=True) for e in expectations)

    for suite in [feed_suite(), *aggregate_suites().values()]:
        committed = json.loads((root / (suite.name.replace(".", "/") + ".json")).read_text(encoding="utf-8"))
        code = [e.configuration.to_json_dict() | {"severity": str(getattr(e.severity, "value", e.severity))} for e in suite.expectations]
        assert shape(committed["expectations"]) == shape(code), suite.name


def test_importing_gx_logs_nothing_at_info_but_what_concerns_the_run():
    """GX's registry of its own API logs ~200 INFO lines as it is imported; a worker at --loglevel info
    must not show them. A fresh process, since GX is imported once per process."""
    import subprocess
    import sys

    code = ("import logging; logging.basicConfig(level=logging.INFO)\n"
            "from streams.quality import gate\n"
            "gate._context()\n"
            "logging.getLogger('streams').info('context ready')\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    assert "context ready" in done.stderr  # INFO records still show
    assert "Skipping registering function" not in done.stderr
