"""Runs the suites with Great Expectations (imported here, lazily, once per process).

Validation uses an in-memory context and writes nothing; ``build_docs`` writes the
file project under ``expectations/`` and its Data Docs.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path

import polars as pl

from streams.quality import frames, import_gx, suites

PROJECT_DIR = Path(__file__).resolve().parents[2] / "expectations"
#: Columns that name an offending row in each suite's results.
ROW_IDS = {"feed": ["row", "origin"], "aggregates.project_state": ["project_id"],
           "aggregates.flows": ["period", "stage", "granularity"], "aggregates.cohorts": ["cohort", "k", "stage"],
           "aggregates.conversions": ["period", "pair", "granularity"], "aggregates.totals": [],
           "aggregates.supervision_over_time": ["month", "project_id"],
           "aggregates.rankings": ["granularity", "period", "dimension", "unit"],
           "aggregates.trips": ["trip_id"], "aggregates.trip_references": ["project_id", "trip_id"],
           "aggregates.issues": ["project_id", "issue_id"], "aggregates.resolutions": ["project_id", "issue_id", "seq"],
           "aggregates.reconciliation": ["key", "figure", "entry", "summary", "tables"]}  # both values shown


@dataclass
class Failure:
    suite: str
    expectation: str
    column: str
    severity: str
    unexpected: int | None
    examples: list = field(default_factory=list)
    rows: list = field(default_factory=list, repr=False)  #: every offending row id (feed suite: ``row``)


@dataclass
class QualityReport:
    """Failures of one check; it passes when no ``critical`` expectation failed."""

    failures: list[Failure] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def success(self) -> bool:
        return not any(f.severity == "critical" for f in self.failures)

    def extend(self, other: "QualityReport") -> "QualityReport":
        self.failures += other.failures
        self.seconds += other.seconds
        return self

    def as_dict(self) -> dict:
        return {"success": self.success, "seconds": round(self.seconds, 3),
                "failures": [{k: v for k, v in asdict(f).items() if k != "rows"} for f in self.failures]}

    def merged(self) -> "QualityReport":
        """One failure per (suite, expectation, column), counts added up, first examples kept."""
        out: dict[tuple, Failure] = {}
        for f in self.failures:
            key = (f.suite, f.expectation, f.column)
            if key not in out:
                out[key] = Failure(f.suite, f.expectation, f.column, f.severity, f.unexpected, list(f.examples))
            else:
                g = out[key]
                g.unexpected = (g.unexpected or 0) + (f.unexpected or 0)
                g.examples = (g.examples + f.examples)[:5]
        return QualityReport(list(out.values()), self.seconds)


@cache
def _context():
    gx = import_gx()
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


@cache
def _suite(name: str):
    suite = suites.feed_suite() if name == "feed" else suites.aggregate_suites()[name]
    return _context().suites.add(suite)


def _batch_definition(name: str):
    context = _context()
    try:
        source = context.data_sources.get("frames")
    except (KeyError, ValueError):
        source = context.data_sources.add_pandas("frames")
    try:
        asset = source.get_asset(name)
    except LookupError:
        asset = source.add_dataframe_asset(name)
    try:
        return asset.get_batch_definition("whole")
    except (KeyError, ValueError, LookupError):
        return asset.add_batch_definition_whole_dataframe("whole")


def _jsonable(value):
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and value != value:  # NaN: pandas' missing value
        return None
    return value if isinstance(value, (str, int, float, bool, type(None))) else str(value)


def _result_format(name: str, frame: pl.DataFrame) -> dict:
    """Every offending row named by the suite's id columns (:data:`ROW_IDS`), else a summary."""
    ids = [c for c in ROW_IDS.get(name, []) if c in frame.columns]
    return {"result_format": "COMPLETE", "unexpected_index_column_names": ids} if ids else \
        {"result_format": "SUMMARY"}


def validate(name: str, frame: pl.DataFrame) -> QualityReport:
    """Validate one frame against one suite; failures name the expectation, column and a few rows."""
    import time

    started = time.perf_counter()
    batch = _batch_definition(name).get_batch(batch_parameters={"dataframe": frame.to_pandas()})
    result = batch.validate(_suite(name), result_format=_result_format(name, frame))
    report = QualityReport(seconds=time.perf_counter() - started)
    for r in result.results:
        if r.success:
            continue
        config = r.expectation_config
        kwargs = config.kwargs
        column = (kwargs.get("column") or ", ".join(kwargs.get("column_list") or ())
                  or f"{kwargs.get('column_A')} ≥ {kwargs.get('column_B')}")
        index_list = r.result.get("unexpected_index_list") or []
        examples = (index_list or r.result.get("partial_unexpected_list") or [])[:5]
        if not examples and r.result.get("observed_value") is not None:
            examples = [{"observed_value": r.result["observed_value"]}]
        if r.exception_info and r.exception_info.get("raised_exception"):
            examples = [{"error": r.exception_info.get("exception_message")}]
        report.failures.append(Failure(name, config.type, column, str(config.severity.value
                                                                    if hasattr(config.severity, "value")
                                                                    else config.severity or "critical"),
                                       r.result.get("unexpected_count"),
                                       [{k: _jsonable(v) for k, v in e.items()} if isinstance(e, dict)
                                        else _jsonable(e) for e in examples],
                                       [int(e["row"]) for e in index_list if isinstance(e, dict) and "row" in e]))
    return report


def check_feed_rows(rows: list[dict]) -> QualityReport:
    return validate("feed", frames.feed_frame(rows))


def aggregate_frames(summary: dict, tables: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """Suite name -> frame to check, from a summary and the aggregate tables."""
    state = tables["project_state"]
    out = {"aggregates.totals": frames.totals_frame(summary, state, summary["pools"]),
           "aggregates.project_state": state.select(
               "project_id", "investment_yuan", *[c for c in state.columns if c.startswith("reached_at_")])}
    for name in ("flows", "cohorts", "conversions", "supervision_over_time", "rankings", "issues", "resolutions"):
        if name in tables:
            out[f"aggregates.{name}"] = tables[name]
    return out | trip_and_issue_frames(summary, tables)


def trip_and_issue_frames(summary: dict, tables: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """The frames of the trips (§8) and of the reconciliation of ``trips`` and ``bottlenecks`` with the tables
    (none from a replay output older than these tables)."""
    out = {}
    if "trips" in tables:
        out["aggregates.trips"] = frames.trips_frame(tables["trips"])
        if "trip_references" in tables:
            out["aggregates.trip_references"] = frames.trip_references_frame(tables["trip_references"],
                                                                             tables["trips"])
    reconciliation = frames.reconciliation_frame(summary, tables)
    if reconciliation.height:
        out["aggregates.reconciliation"] = reconciliation
    return out


def check_aggregates(summary: dict, tables: dict[str, pl.DataFrame]) -> QualityReport:
    report = QualityReport()
    for name, frame in aggregate_frames(summary, tables).items():
        report.extend(validate(name, frame))
    return report


def check_output_dir(out: Path) -> QualityReport:
    """Check what ``funnel replay --out DIR`` wrote."""
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    tables = {p.stem: pl.read_parquet(p) for p in out.glob("*.parquet")}
    if "project_state" not in tables:
        raise FileNotFoundError(f"{out} has no project_state.parquet: not a replay output")
    return check_aggregates(summary, tables)


def check_feed_files(paths, batch_size: int = 10_000) -> QualityReport:
    """The feed suite over feed files, batch by batch (each record is also checked against the contract)."""
    from streams.contract.acceptance import Rejection, check_event
    from streams.core.clock import now_cst
    from streams.feeds import feed_records

    now = now_cst()  # judged as ingest would judge them if sent now
    report, rows = QualityReport(), []
    for record in feed_records(paths):
        parsed = record.parsed
        verdict = parsed if isinstance(parsed, Rejection) else check_event(parsed, now)
        rows.append(frames.feed_row(len(rows), record.origin, parsed, verdict))
        if len(rows) >= batch_size:
            report.extend(check_feed_rows(rows))
            rows = []
    if rows:
        report.extend(check_feed_rows(rows))
    return report.merged()


def build_docs(outputs: list[Path], project_dir: Path = PROJECT_DIR) -> Path:
    """Write the GX file project (suites, validation definitions, checkpoint) and build Data Docs.

    Each replay output in ``outputs`` is validated through the file project, so its results show.
    """
    gx = import_gx()
    context = gx.get_context(mode="file", project_root_dir=str(project_dir))
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    context.variables.save()
    source = context.data_sources.add_or_update_pandas("frames")
    all_suites = {"feed": suites.feed_suite(), **suites.aggregate_suites()}
    for suite in all_suites.values():
        try:
            context.suites.delete(suite.name)
        except Exception:  # not there yet
            pass
        context.suites.add(suite)
    for out in outputs:
        summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
        tables = {p.stem: pl.read_parquet(p) for p in out.glob("*.parquet")}
        for name, frame in aggregate_frames(summary, tables).items():
            asset = source.add_dataframe_asset(name) if name not in [a.name for a in source.assets] \
                else source.get_asset(name)
            batch_def = (asset.add_batch_definition_whole_dataframe("whole")
                         if "whole" not in [b.name for b in asset.batch_definitions]
                         else asset.get_batch_definition("whole"))
            definition = context.validation_definitions.add_or_update(
                gx.ValidationDefinition(name=f"{name}", data=batch_def, suite=context.suites.get(name)))
            # the offending rows' ids show in the docs (a project naming a trip that does not count, …)
            definition.run(batch_parameters={"dataframe": frame.to_pandas()},
                           result_format=_result_format(name, frame))
    context.build_data_docs()
    return project_dir / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"
