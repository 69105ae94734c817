"""The expectation suites. Severity ``critical`` fails a check; ``warning`` is reported and passes."""

from __future__ import annotations

from streams.contract.events import (
    AXES, CHANNELS, EVENT_TYPES, INDUSTRIES, ISSUE_CATEGORIES, SOURCE_REGIONS, STAGES, SUPERVISION_COLOURS,
    TRIP_KINDS, ZONES,
)
from streams.core.fold import reached
from streams.core.rankings import COUNTS, KEYS as RANKING_KEYS
from streams.quality import import_gx

ONE_TRILLION_YUAN = 10**12  # 1 万亿元: no single project in a district plausibly exceeds it
LATE_HOURS = 24 * 30
MAX_ORPHAN_SHARE = 0.05


def _gxe():
    return import_gx().expectations


def feed_suite():
    """Raw event batches: well-formed, contract-valid, complete, plausible, known dimensions."""
    gx = import_gx()
    e = _gxe()
    suite = gx.ExpectationSuite(name="feed")
    critical = [
        e.ExpectColumnValuesToBeInSet(column="well_formed", value_set=[True]),
        e.ExpectColumnValuesToBeNull(column="contract_reason"),
        *[e.ExpectColumnValuesToNotBeNull(column=c) for c in
          ("event_id", "event_type", "schema_version", "key", "occurred_at")],  # key: project_id, a trip's trip_id
        e.ExpectColumnValuesToBeInSet(column="event_type", value_set=sorted(EVENT_TYPES)),
        e.ExpectColumnValuesToBeBetween(column="amount_yuan", min_value=0, max_value=ONE_TRILLION_YUAN),
        e.ExpectColumnValuesToBeBetween(column="occurred_year", min_value=2000),
        e.ExpectColumnValuesToBeBetween(column="lag_hours", min_value=-24),
    ]
    warnings = [
        e.ExpectColumnValuesToBeUnique(column="event_id"),
        e.ExpectColumnValuesToBeInSet(column="industry", value_set=sorted(INDUSTRIES)),
        e.ExpectColumnValuesToBeInSet(column="zone", value_set=sorted(ZONES)),
        e.ExpectColumnValuesToBeInSet(column="axis", value_set=sorted(AXES)),
        e.ExpectColumnValuesToBeInSet(column="source_region", value_set=sorted(SOURCE_REGIONS)),
        e.ExpectColumnValuesToBeInSet(column="channel", value_set=sorted(CHANNELS)),
        e.ExpectColumnValuesToBeBetween(column="lag_hours", max_value=LATE_HOURS, mostly=0.9),
        # kept verbatim (an official record), but an analyst opening an export in a spreadsheet should know
        e.ExpectColumnValuesToBeInSet(column="formula_like_text", value_set=[False]),
    ]
    for exp in critical:
        exp.severity = "critical"
        suite.add_expectation(exp)
    for exp in warnings:
        exp.severity = "warning"
        suite.add_expectation(exp)
    return suite


def _critical(suite, *expectations):
    return _add(suite, "critical", *expectations)


def _add(suite, severity: str, *expectations):
    for exp in expectations:
        exp.severity = severity
        suite.add_expectation(exp)
    return suite


def _when(column: str, value) -> dict:
    """The arguments that apply an expectation only to the rows where ``column`` equals ``value``."""
    from great_expectations.expectations.row_conditions import Column

    return {"row_condition": Column(column) == value}


def trip_suites() -> list:
    """§8: the trips table (a counted trip has its kind and dates, returns on or after it departs, counts are
    not negative); the projects naming a trip (a trip that does not count is reported, not fatal)."""
    gx = import_gx()
    e = _gxe()
    trips = _critical(
        gx.ExpectationSuite(name="aggregates.trips"),
        e.ExpectColumnValuesToNotBeNull(column="trip_id"),
        e.ExpectColumnValuesToBeUnique(column="trip_id"),
        e.ExpectColumnValuesToNotBeNull(column="counts"),
        *[e.ExpectColumnValuesToNotBeNull(column=c, **_when("counts", True))
          for c in ("kind", "departed", "returned")],
        e.ExpectColumnValuesToBeInSet(column="kind", value_set=list(TRIP_KINDS)),
        e.ExpectColumnPairValuesAToBeGreaterThanB(column_A="returned", column_B="departed", or_equal=True,
                                                  ignore_row_if="either_value_is_missing"),
        e.ExpectColumnValuesToBeBetween(column="people", min_value=1),
        *[e.ExpectColumnValuesToBeBetween(column=c, min_value=0)
          for c in ("companies_visited", "leads", "valid_leads")],
        e.ExpectColumnValuesToBeBetween(column="days", min_value=1),
        e.ExpectColumnValuesToBeBetween(column="people_days", min_value=1),
    )
    # valid leads are among the leads by their meaning, but DOMAIN.md does not require it: an entry to look at
    _add(trips, "warning", e.ExpectColumnPairValuesAToBeGreaterThanB(
        column_A="leads", column_B="valid_leads", or_equal=True, ignore_row_if="either_value_is_missing"))
    references = _critical(
        gx.ExpectationSuite(name="aggregates.trip_references"),
        e.ExpectColumnValuesToBeUnique(column="project_id"),
        e.ExpectColumnValuesToNotBeNull(column="trip_id"),
        # the flag the replay wrote agrees with the trips table
        e.ExpectColumnValuesToBeInSet(column="agrees_with_trips", value_set=[True]),
    )
    _add(references, "warning", e.ExpectColumnValuesToBeInSet(column="counted", value_set=[True]))
    return [trips, references]


def issue_suites() -> list:
    """§9: the issues table (one row per issue, a known category, resolved on or after its latest raise, a
    resolution time exactly when resolved); the resolutions (one of an issue never raised is reported, not fatal)."""
    gx = import_gx()
    e = _gxe()
    issues = _critical(
        gx.ExpectationSuite(name="aggregates.issues"),
        *[e.ExpectColumnValuesToNotBeNull(column=c) for c in
          ("project_id", "issue_id", "open", "category", "first_raised_at", "raised_at")],
        e.ExpectCompoundColumnsToBeUnique(column_list=["project_id", "issue_id"]),
        e.ExpectColumnValuesToBeInSet(column="category", value_set=list(ISSUE_CATEGORIES)),
        e.ExpectColumnPairValuesAToBeGreaterThanB(column_A="raised_at", column_B="first_raised_at", or_equal=True,
                                                  ignore_row_if="either_value_is_missing"),
        e.ExpectColumnPairValuesAToBeGreaterThanB(column_A="resolved_at", column_B="raised_at", or_equal=True,
                                                  ignore_row_if="either_value_is_missing"),
        e.ExpectColumnValuesToNotBeNull(column="resolved_at", **_when("open", False)),
        e.ExpectColumnValuesToBeNull(column="resolved_at", **_when("open", True)),
    )
    resolutions = _add(gx.ExpectationSuite(name="aggregates.resolutions"), "warning",
                       e.ExpectColumnValuesToBeInSet(column="raised", value_set=[True]))
    return [issues, resolutions]


def aggregate_suites() -> dict:
    """Suite name -> suite, one per aggregate frame (see :mod:`streams.quality.frames`)."""
    gx = import_gx()
    e = _gxe()
    zero = {"min_value": 0, "max_value": 0}
    totals = _critical(
        gx.ExpectationSuite(name="aggregates.totals"),
        e.ExpectColumnValuesToBeBetween(column="accounting_balance", **zero),
        e.ExpectColumnValuesToBeBetween(column="pools_balance", **zero),
        e.ExpectColumnValuesToBeBetween(column="investment_balance", **zero),
        e.ExpectColumnValuesToBeBetween(column="supervision_balance", **zero),
        e.ExpectColumnValuesToBeBetween(column="orphan_share", min_value=0, max_value=MAX_ORPHAN_SHARE),
        *[e.ExpectColumnPairValuesAToBeGreaterThanB(column_A=f"reached_{a}", column_B=f"reached_{b}", or_equal=True)
          for a, b in zip(STAGES, STAGES[1:])],
    )
    state = _critical(
        gx.ExpectationSuite(name="aggregates.project_state"),
        e.ExpectColumnValuesToBeUnique(column="project_id"),
        e.ExpectColumnValuesToBeBetween(column="investment_yuan", min_value=0),
        *[e.ExpectColumnPairValuesAToBeGreaterThanB(column_A=reached(b), column_B=reached(a), or_equal=True,
                                                    ignore_row_if="either_value_is_missing")
          for a, b in zip(STAGES, STAGES[1:])],
    )
    flows = _critical(gx.ExpectationSuite(name="aggregates.flows"),
                      e.ExpectColumnValuesToBeBetween(column="count", min_value=0))
    cohorts = _critical(gx.ExpectationSuite(name="aggregates.cohorts"),
                        e.ExpectColumnValuesToBeBetween(column="rate", min_value=0, max_value=1))
    conversions = _critical(gx.ExpectationSuite(name="aggregates.conversions"),
                            e.ExpectColumnValuesToBeBetween(column="rate", min_value=0))
    colours = _critical(gx.ExpectationSuite(name="aggregates.supervision_over_time"),
                        e.ExpectColumnValuesToBeInSet(column="colour", value_set=list(SUPERVISION_COLOURS)),
                        e.ExpectColumnValuesToBeBetween(column="months_in_colour", min_value=1),
                        e.ExpectCompoundColumnsToBeUnique(column_list=["month", "project_id"]))
    ranks = _critical(
        gx.ExpectationSuite(name="aggregates.rankings"),
        e.ExpectCompoundColumnsToBeUnique(column_list=list(RANKING_KEYS)),
        e.ExpectColumnValuesToBeBetween(column="rank", min_value=1),
        e.ExpectColumnPairValuesAToBeGreaterThanB(column_A="units", column_B="rank", or_equal=True),
        # a landed project counted in a unit's year was planned in that year, in that unit
        e.ExpectColumnValuesToBeBetween(column="conversion", min_value=0, max_value=1),
        e.ExpectColumnValuesToBeBetween(column="resolution_rate", min_value=0, max_value=1),  # 办结率 (§9)
        e.ExpectColumnValuesToBeInSet(column="board", value_set=["top", "bottom"]),
        *[e.ExpectColumnValuesToBeBetween(column=c, min_value=0) for c in COUNTS],
    )
    # the summary's trips and bottlenecks, figure by figure, against the tables (streams.quality.frames)
    reconciled = _critical(gx.ExpectationSuite(name="aggregates.reconciliation"),
                           e.ExpectColumnValuesToBeBetween(column="difference", **zero))
    return {s.name: s for s in (totals, state, flows, cohorts, conversions, colours, ranks, *trip_suites(),
                                *issue_suites(), reconciled)}
