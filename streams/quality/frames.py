"""The frames the quality suites check, built from feeds and from replay outputs (pure Polars)."""

from __future__ import annotations

import polars as pl

from streams.contract.acceptance import Rejection, upcast
from streams.contract.events import STAGES, key_of
from streams.contract.schemas import parse_timestamp
from streams.core.fold import reached

FEED_TEXT = ("origin", "contract_reason", "event_id", "project_id", "key", "event_type", "industry", "zone", "axis",
             "source_region", "channel")
UTC = pl.Datetime("us", "UTC")
FEED_SCHEMA = {"row": pl.Int64, **{c: pl.Utf8 for c in FEED_TEXT}, "well_formed": pl.Boolean,
               "schema_version": pl.Int64, "occurred_at": UTC, "recorded_at": UTC, "amount_yuan": pl.Float64,
               "lag_hours": pl.Float64, "occurred_year": pl.Int64, "formula_like_text": pl.Boolean}
#: What a spreadsheet would run as a formula if a cell began with it (CSV injection, OWASP).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _text(value) -> str | None:
    return value if isinstance(value, str) else None if value is None else str(value)


def feed_row(row: int, origin: str, parsed: dict | Rejection, verdict: dict | Rejection) -> dict:
    """One record of a feed batch, as the feed suite sees it."""
    out: dict = {"row": row, "origin": origin, "well_formed": isinstance(parsed, dict),
                 "contract_reason": verdict.reason if isinstance(verdict, Rejection) else None}
    if not isinstance(parsed, dict):
        return out
    event = upcast(parsed) if not isinstance(verdict, Rejection) else parsed
    for field in ("event_id", "project_id", "event_type", "industry", "zone", "axis", "source_region", "channel"):
        out[field] = _text(event.get(field))
    out["key"] = key_of(event)  # what the record is keyed by: its project, a trip's record its trip (§8)
    version = event.get("schema_version")
    out["schema_version"] = version if isinstance(version, int) and not isinstance(version, bool) else None
    amount = event.get("investment_yuan")
    out["amount_yuan"] = float(amount) if isinstance(amount, (int, float)) and not isinstance(amount, bool) else None
    occurred = parse_timestamp(event.get("occurred_at"))
    recorded = parse_timestamp(verdict.get("recorded_at")) if isinstance(verdict, dict) else \
        parse_timestamp(event.get("recorded_at"))
    out["occurred_at"], out["recorded_at"] = occurred, recorded
    out["occurred_year"] = occurred.year if occurred else None
    out["formula_like_text"] = any(isinstance(v, str) and v.startswith(FORMULA_PREFIXES) for v in event.values())
    if occurred and recorded:
        out["lag_hours"] = (recorded - occurred).total_seconds() / 3600
    return out


def feed_frame(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=FEED_SCHEMA, strict=False)


def totals_frame(summary: dict, state: pl.DataFrame, pools: dict[str, dict]) -> pl.DataFrame:
    """One row of reconciliations between the summary, the pools and the project state."""
    acc = summary["accounting"]
    in_pools = state.filter(pl.col("in_pools")) if state.height else state
    by_pool = dict(in_pools.group_by("pool").agg(pl.col("investment_yuan").sum()).iter_rows()) if state.height else {}
    funnel = {f"reached_{s}": in_pools.filter(pl.col(reached(s)).is_not_null()).height if state.height else 0
              for s in STAGES}
    total = summary["projects"]["total"]
    return pl.DataFrame([{
        "received": acc["received"],
        "accounting_balance": acc["received"] - acc["accepted"] - acc["duplicates"] - sum(acc["rejected"].values()),
        "pools_balance": sum(p["count"] for p in pools.values()) - total,
        "investment_balance": sum(abs((by_pool.get(name) or 0) - p["investment_yuan"]) for name, p in pools.items()),
        "orphan_share": summary["projects"]["orphans"] / max(total + summary["projects"]["orphans"], 1),
        # the summary's colour counts are the coloured projects of the state (§6)
        "supervision_balance": sum(summary.get("supervision", {}).values())
        - (state.filter(pl.col("colour").is_not_null()).height if "colour" in state.columns else 0),
        **funnel,
    }])



#: The columns of the trips table (§8) the trips suite reads.
TRIP_FRAME = ("trip_id", "counts", "kind", "departed", "returned", "people", "companies_visited", "leads",
              "valid_leads", "days", "people_days")


def trips_frame(trips: pl.DataFrame) -> pl.DataFrame:
    """The trips table as the trips suite sees it (its list and free-text columns left out)."""
    return trips.select(pl.col(c).cast(pl.Utf8) if c == "kind" else pl.col(c) for c in TRIP_FRAME if c in trips.columns)


def trip_references_frame(references: pl.DataFrame, trips: pl.DataFrame) -> pl.DataFrame:
    """Each project naming a trip, whether the replay found the trip counted, and whether that agrees with the
    trips table."""
    counted = trips.filter(pl.col("counts"))["trip_id"].cast(pl.Utf8).implode()
    return references.with_columns(agrees_with_trips=pl.col("counted") == pl.col("trip_id").is_in(counted))


def _figures(key: str, doc: dict) -> dict[tuple[str, str, str], int]:
    """A summary key flattened to (key, figure, entry) -> value; entry: a year or a category, "" for a scalar."""
    if key == "trips":
        return {(key, figure, year): n for year, figures in doc.items() for figure, n in figures.items()}
    out: dict[tuple[str, str, str], int] = {}
    for figure, value in doc.items():
        if isinstance(value, dict):
            out |= {(key, figure, entry): n for entry, n in value.items()}
        else:
            out[(key, figure, "")] = value
    return out


def recomputed(summary: dict, tables: dict[str, pl.DataFrame]) -> dict[str, dict]:
    """The summary's ``trips`` and ``bottlenecks`` recomputed by the core's rules from the written tables alone
    (trips, trip_references, issues, project_state); a key whose tables are missing is left out."""
    from datetime import date

    from streams.core.bottlenecks import bottlenecks_of
    from streams.core.trips import from_trip_references, trips_by_year

    state, out = tables["project_state"], {}
    if "trips" in tables and "trip_references" in tables:
        trips = tables["trips"]
        out["trips"] = trips_by_year(trips, from_trip_references(state, tables["trip_references"], trips))
    if "issues" in tables:
        out["bottlenecks"] = bottlenecks_of(tables["issues"], state, date.fromisoformat(summary["as_of"]))
    return out


def reconciliation_frame(summary: dict, tables: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """One row per figure of the summary's ``trips`` and ``bottlenecks`` (key, figure, entry) with its value in the
    summary, as recomputed from the tables, and the difference (a figure missing on one side is 0 there)."""
    rows = []
    for key, doc in recomputed(summary, tables).items():
        written, computed = _figures(key, summary.get(key, {})), _figures(key, doc)
        for k in sorted(written.keys() | computed.keys()):
            a, b = written.get(k, 0), computed.get(k, 0)
            rows.append({"key": k[0], "figure": k[1], "entry": k[2], "summary": a, "tables": b, "difference": a - b})
    return pl.DataFrame(rows, schema={"key": pl.Utf8, "figure": pl.Utf8, "entry": pl.Utf8, "summary": pl.Int64,
                                      "tables": pl.Int64, "difference": pl.Int64})
