"""Received records → the log: one row per record, checked (§3) and settled (duplicates, conflicts).

Arrival order is the ``seq`` column. For a file it is the line number; for a topic
it is ordered by offset within each partition, and a project lives in one partition.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

import orjson
import polars as pl

from streams.contract.acceptance import REASONS, Rejection, check_event, content_of, parse_json, upcast
from streams.contract.events import EVENT_STAGE
from streams.contract.schemas import parse_calendar_date, parse_timestamp

UTC_TIME = pl.Datetime("us", "UTC")
DIMENSIONS: tuple[str, ...] = ("industry", "lead_industry", "zone", "axis", "town", "source_region", "channel",
                               "department", "leader")
# Few distinct values: categorical keeps a 10M-event log in a few GB.
_CAT = pl.Categorical()
LOG_SCHEMA: dict[str, pl.DataType] = {
    "seq": pl.Int64, "reason": _CAT, "detail": pl.Utf8, "recorded_at": UTC_TIME,
    "project_id": pl.Utf8, "event_id": pl.Utf8, "event_type": _CAT, "stage": pl.Int8,
    "occurred_at": UTC_TIME, "amount": pl.Int64, "content": pl.UInt64, "name": pl.Utf8,
    **{d: (pl.Boolean if d == "lead_industry" else _CAT) for d in DIMENSIONS},
    "investor": pl.Utf8, "drop_reason": _CAT, "milestone": _CAT, "due": pl.Date,
}
_EVENT_FIELDS = ("project_id", "event_id", "event_type", "name", *DIMENSIONS, "investor")


def _content_hash(event: dict) -> int:
    """A fingerprint of what must match for a duplicate (:func:`content_of`), to compare in Polars."""
    content = content_of(event)
    try:
        text = orjson.dumps(content, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS, default=str)
    except TypeError:  # an integer beyond 64 bits in an extra field: orjson refuses it, the standard library does not
        text = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                          default=lambda v: v.isoformat() if isinstance(v, datetime) else str(v)).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big")


def _ts(value) -> datetime | None:
    return parse_timestamp(value) if isinstance(value, str) else None


def _plan(event: dict) -> dict:
    """The milestone and due date of a plan (§6); other events carry none, whatever extra fields they have."""
    if event["event_type"] != "milestone_planned":
        return {}
    return {"milestone": event["milestone"], "due": parse_calendar_date(event["due"])}


def log_row(seq: int, record: bytes | dict | Rejection, received_at: datetime, *, stamp_missing: bool) -> dict:
    """One received record, checked (§3): a row of the log.

    A record without a ``recorded_at`` of its own is judged as received at ``received_at``;
    ``stamp_missing`` says whether that stamp counts for ``--known-at`` views.
    """
    parsed = parse_json(record) if isinstance(record, bytes) else record
    had_stamp = isinstance(parsed, dict) and "recorded_at" in parsed
    verdict = parsed if isinstance(parsed, Rejection) else check_event(parsed, received_at)
    row: dict = {"seq": seq}
    if isinstance(verdict, Rejection):
        row |= {"reason": verdict.reason, "detail": verdict.detail}
        if isinstance(parsed, dict):
            row["recorded_at"] = _ts(parsed.get("recorded_at"))
            row["project_id"] = parsed["project_id"] if isinstance(parsed.get("project_id"), str) else None
        return row
    event = upcast(verdict)
    row |= {f: event.get(f) for f in _EVENT_FIELDS}
    row |= {
        "recorded_at": _ts(event["recorded_at"]) if had_stamp or stamp_missing else None,
        "occurred_at": _ts(event["occurred_at"]),
        "stage": EVENT_STAGE[event["event_type"]],
        "amount": event.get("investment_yuan"),
        "content": _content_hash(event),
        "drop_reason": event.get("reason"),
        **_plan(event),
    }
    return row


def rejected_row(seq: int, reason: str, detail: str, recorded_at: datetime | None,
                 project_id: str | None = None) -> dict:
    """A record rejected before it reached the log (e.g. by ingest, read back from the DLQ)."""
    return {"seq": seq, "reason": reason, "detail": detail, "recorded_at": recorded_at, "project_id": project_id}


def log_frame(rows) -> pl.DataFrame:
    """The log frame of rows made by :func:`log_row` / :func:`rejected_row`."""
    return pl.DataFrame(list(rows), schema=LOG_SCHEMA, strict=False) if rows else pl.DataFrame(schema=LOG_SCHEMA)


class LogBuilder:
    """Collects received records column by column and turns them into Polars chunks as it goes,
    so a long log holds few Python objects at a time."""

    CHUNK = 100_000

    def __init__(self) -> None:
        self.columns: dict[str, list] = {name: [] for name in LOG_SCHEMA}
        self.chunks: list[pl.DataFrame] = []

    def _append(self, row: dict) -> None:
        for name, values in self.columns.items():
            values.append(row.get(name))
        if len(self.columns["seq"]) >= self.CHUNK:
            self._flush()

    def _flush(self) -> None:
        self.chunks.append(pl.DataFrame(self.columns, schema=LOG_SCHEMA, strict=False))
        self.columns = {name: [] for name in LOG_SCHEMA}

    def add(self, seq: int, record: bytes | dict | Rejection, received_at: datetime, *, stamp_missing: bool) -> None:
        self._append(log_row(seq, record, received_at, stamp_missing=stamp_missing))

    def add_row(self, row: dict) -> None:
        """A row already made by :func:`log_row` or :func:`rejected_row`."""
        self._append(row)

    def add_rejected(self, seq: int, reason: str, detail: str, recorded_at: datetime | None,
                     project_id: str | None = None) -> None:
        self._append(rejected_row(seq, reason, detail, recorded_at, project_id))

    def frame(self) -> pl.DataFrame:
        """Everything so far, as one frame; the builder can go on collecting after it."""
        if self.columns["seq"] or not self.chunks:
            self._flush()
        if len(self.chunks) > 1:
            self.chunks = [pl.concat(self.chunks, rechunk=True)]  # so a live log does not pile up small chunks
        return self.chunks[0]


def received_log(records, received_at: datetime, *, stamp_missing: bool = False) -> pl.DataFrame:
    """The log of ``(seq, record)`` pairs, all judged at one ``received_at`` (e.g. replay of a file)."""
    builder = LogBuilder()
    for seq, record in records:
        builder.add(seq, record, received_at, stamp_missing=stamp_missing)
    return builder.frame()


def settle(log: pl.DataFrame, known_at: datetime | None = None) -> pl.DataFrame:
    """Adds ``outcome``: accepted, duplicate, or the rejection reason (§3).

    With ``known_at``, only records whose ``recorded_at`` is readable and ≤ ``known_at`` count.
    The first record of a (project_id, event_id) wins; a later one is a duplicate when its
    content matches, else an ``event_id_conflict``.
    """
    if known_at is not None:
        log = log.filter(pl.col("recorded_at") <= known_at)
    if not log["seq"].is_sorted():
        log = log.sort("seq")
    # Rejected rows carry no event_id, so they never share a group with a checked event.
    group = ["project_id", "event_id"]
    return log.with_columns(
        outcome=pl.when(pl.col("reason").is_not_null()).then(pl.col("reason").cast(pl.Utf8))
        .when(pl.struct(group).is_first_distinct()).then(pl.lit("accepted"))
        .when(pl.col("content") == pl.col("content").first().over(group)).then(pl.lit("duplicate"))
        .otherwise(pl.lit("event_id_conflict"))
    )


def accepted_events(settled: pl.DataFrame) -> pl.LazyFrame:
    """The accepted events, lazily: the fold reads only the columns it needs."""
    return settled.lazy().filter(pl.col("outcome") == "accepted")


def outcome_counts(settled: pl.DataFrame) -> dict[str, int]:
    """How many records of a settled log ended in each outcome (accepted, duplicate, a reason)."""
    return dict(settled.group_by("outcome").len().iter_rows())


def accounting(settled: pl.DataFrame) -> dict:
    """received = accepted + duplicates + sum(rejected), with only the reasons that occurred."""
    return accounting_of(outcome_counts(settled))


def accounting_of(outcomes: dict[str, int]) -> dict:
    """The accounting document of outcome counts (e.g. summed over several parts of a log)."""
    counts = {outcome: n for outcome, n in outcomes.items() if n}
    received = sum(counts.values())
    accepted, duplicates = counts.pop("accepted", 0), counts.pop("duplicate", 0)
    rejected = {r: counts[r] for r in REASONS if r in counts}
    rejected |= {r: n for r, n in sorted(counts.items()) if r not in rejected}  # e.g. quality:* reasons
    return {"received": received, "accepted": accepted, "duplicates": duplicates, "rejected": rejected}
