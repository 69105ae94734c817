"""Received records → the log: one row per record, checked (§3) and settled (duplicates, conflicts).

Arrival order is the ``seq`` column. For a file it is the line number; for a topic
it is ordered by offset within each partition, and a project lives in one partition.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from hashlib import blake2b

import orjson
import polars as pl

from streams.contract import columnar
from streams.contract.acceptance import (
    NON_CONTENT_FIELDS, REASONS, Rejection, checked_event, content_of, parse_json, upcast,
)
from streams.contract.events import EVENT_STAGE
from streams.contract.schemas import parse_calendar_date, parse_timestamp
from streams.contract.typed import certified

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
    # trips (§8) and issues (§9): few distinct ids and values, so categorical; counts may be any JSON integer
    "trip_id": _CAT, "kind": _CAT, "departed": pl.Date, "returned": pl.Date, "team": _CAT, "region": _CAT,
    "people": pl.Int64, "companies_visited": pl.Int64, "leads": pl.Int64, "valid_leads": pl.Int64,
    "issue_id": _CAT, "category": _CAT,
    # what a ledger's 外出招商 and 问题清单 sheets compare and carry (§11): a trip's places, an issue's description
    "destinations": pl.List(pl.Utf8), "description": _CAT,
}
#: Which event types carry each field of §8 and §9 into the log (on any other type it names nothing).
CARRIED: dict[str, frozenset[str]] = {
    "trip_id": frozenset({"trip_reported", "trip_withdrawn", "project_planned"}),
    **{f: frozenset({"trip_reported"}) for f in ("kind", "departed", "returned", "team", "region", "people",
                                                  "companies_visited", "leads", "valid_leads")},
    "issue_id": frozenset({"issue_raised", "issue_resolved"}),
    "category": frozenset({"issue_raised"}),
    "destinations": frozenset({"trip_reported"}),
    "description": frozenset({"issue_raised"}),
}
#: Calendar dates written YYYY-MM-DD, read into Date columns: a milestone's or an issue's due date, a trip's days.
_DATES = ("due", "departed", "returned")
#: The event types whose ``due`` the log keeps (§6 plans, §9 issues).
_DUE = frozenset({"milestone_planned", "issue_raised"})
_TIMES = ("recorded_at", "occurred_at")
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)
_EVENT_FIELDS = ("project_id", "event_id", "event_type", "name", *DIMENSIONS, "investor")


def _content_hash(event: dict, occurred: datetime | None = None) -> int:
    """A fingerprint of what must match for a duplicate (:func:`content_of`), to compare in Polars."""
    return _fingerprint(content_of(event, occurred))


def _fingerprint(content: dict) -> int:
    try:
        text = orjson.dumps(content, option=orjson.OPT_SORT_KEYS, default=str)  # a JSON object's keys are text
    except TypeError:  # an integer beyond 64 bits in an extra field, or a lone surrogate (JSON's "\ud800"):
        # orjson refuses them, the standard library does not
        text = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                          default=lambda v: v.isoformat() if isinstance(v, datetime) else str(v)
                          ).encode("utf-8", "surrogatepass")
    fingerprint = _BLAKE2B_8.copy()  # as blake2b(text, digest_size=8), without parsing its arguments each time
    fingerprint.update(text)
    return int.from_bytes(fingerprint.digest(), "big")


_BLAKE2B_8 = blake2b(digest_size=8)


def _ts(value) -> datetime | None:
    return parse_timestamp(value) if isinstance(value, str) else None


_PLAN = "milestone_planned"


def log_row(seq: int, record: bytes | dict | Rejection, received_at: datetime, *, stamp_missing: bool,
            fast: bool = True) -> dict:
    """One received record, checked (§3): a row of the log.

    A record without a ``recorded_at`` of its own is judged as received at ``received_at``;
    ``stamp_missing`` says whether that stamp counts for ``--known-at`` views. ``fast``: see
    :func:`streams.contract.acceptance.check_event` (the same row either way).
    """
    return _log_row(seq, record, received_at, stamp_missing, fast, False)


def _log_row(seq: int, record: bytes | dict | Rejection, received_at: datetime, stamp_missing: bool, fast: bool,
             micros: bool) -> dict:
    """:func:`log_row`, with its timestamps as microseconds since 1970 when ``micros`` (for :class:`LogBuilder`)."""
    parsed = certified(record) if fast and isinstance(record, bytes) else None
    if parsed is not None:
        verdict, occurred, recorded = checked_event(parsed, received_at, certified=True)
    else:
        parsed = parse_json(record) if isinstance(record, bytes) else record
        if isinstance(parsed, Rejection):
            return {"seq": seq, "reason": parsed.reason, "detail": parsed.detail}
        verdict, occurred, recorded = checked_event(parsed, received_at, fast=fast)
    if isinstance(verdict, Rejection):
        project_id, recorded = parsed.get("project_id"), _ts(parsed.get("recorded_at"))
        return {"seq": seq, "reason": verdict.reason, "detail": verdict.detail,
                "recorded_at": _micros(recorded) if micros and recorded is not None else recorded,
                "project_id": project_id if isinstance(project_id, str) else None}
    event = upcast(verdict)
    content = content_of(event, occurred)
    get = event.get
    if micros:  # a builder's row is the event itself, whose fields are named as their columns (others are ignored)
        row = event if isinstance(record, bytes) else dict(event)  # (a dict of ours: parsed here)
        row["seq"] = seq
        row["detail"] = None  # a rejection's, as "reason" below
    else:
        row = {"seq": seq, **{name: get(name) for name in _EVENT_FIELDS}}
    # a stamp made here (no recorded_at of its own) counts for --known-at only with stamp_missing
    if recorded is None and stamp_missing:
        recorded = parse_timestamp(event["recorded_at"])
    event_type = event["event_type"]
    plan = (event["milestone"], parse_calendar_date(event["due"])) if event_type == _PLAN else (None, None)
    if event_type in _DUE and event_type != _PLAN:  # an issue's due date is optional (§9)
        plan = (None, parse_calendar_date(get("due")) if "due" in event else None)
    for name, types in CARRIED.items():
        row[name] = (parse_calendar_date(get(name)) if name in _DATES else get(name)) \
            if event_type in types and name in event else None
    row["drop_reason"], row["amount"] = get("reason"), get("investment_yuan")
    row["stage"] = EVENT_STAGE[event_type]
    row["content"] = _fingerprint(content)
    if micros:
        row["recorded_at"] = None if recorded is None else (recorded - _EPOCH) // _MICROSECOND
        row["occurred_at"] = (content["occurred_at"] - _EPOCH) // _MICROSECOND  # (in UTC there: quicker)
        row["reason"] = None
        row["milestone"], row["due"] = plan
    else:
        row["recorded_at"], row["occurred_at"] = recorded, occurred
        if event_type in _DUE:  # §6, §9: only a plan (and its milestone) or an issue carries a due date
            row["milestone"], row["due"] = plan
    return row


def rejected_row(seq: int, reason: str, detail: str, recorded_at: datetime | None,
                 project_id: str | None = None) -> dict:
    """A record rejected before it reached the log (e.g. by ingest, read back from the DLQ)."""
    return {"seq": seq, "reason": reason, "detail": detail, "recorded_at": recorded_at, "project_id": project_id}


def log_frame(rows) -> pl.DataFrame:
    """The log frame of rows made by :func:`log_row` / :func:`rejected_row`."""
    rows = list(rows)
    if not rows:
        return pl.DataFrame(schema=LOG_SCHEMA)
    return _frame_of(rows, LOG_SCHEMA)


def _frame_of(rows: list[dict], schema: dict) -> pl.DataFrame:
    """Log rows as a frame of ``schema``: a lone surrogate as U+FFFD (:func:`_storable`), a value its column
    cannot hold as null."""
    try:
        return _rows_as_columns(rows, schema)
    except UnicodeEncodeError:
        return _rows_as_columns([_storable(row) for row in rows], schema)


def _rows_as_columns(rows: list[dict], schema: dict) -> pl.DataFrame:
    try:
        return pl.from_dicts(rows, schema=schema, strict=False)
    except UnicodeEncodeError:
        raise  # a ValueError too, but one that no column can hold (_storable)
    except (TypeError, ValueError, OverflowError, pl.exceptions.PolarsError):
        # A value of another type than its column's: only a legacy event's extra investment_yuan, which the
        # upcast keeps as the amount. Column by column, as the log always did: what does not fit is null.
        return pl.DataFrame({name: [row.get(name) for row in rows] for name in schema}, schema=schema, strict=False)


class LogBuilder:
    """Collects received records and turns them into Polars chunks of :attr:`CHUNK` rows as it goes,
    so a long log holds few Python objects at a time (rows wait in parts of at most :attr:`PART`)."""

    CHUNK = 100_000
    PART = 8_192
    #: Records checked together (the batch path) wait in parts of at most this many: larger parts, fewer
    #: Polars calls per record (8,192: 9.9 µs a record, 25,000: 8.4, 50,000: 8.2; 140k records, medians of 4).
    BATCH_PART = 25_000

    def __init__(self, *, fast: bool = True, batch: bool = True) -> None:
        self.fast = fast  # the validator's fast path (the same rows either way)
        self.batch = fast and batch and columnar.PLAN is not None  # and its batch path (the same rows too)
        self.rows: list[dict] = []
        self.parts: list[pl.DataFrame] = []
        self.part_rows = 0
        self.chunks: list[pl.DataFrame] = []

    def _append(self, row: dict) -> None:
        rows = self.rows
        rows.append(row)
        if len(rows) >= self.PART or self.part_rows + len(rows) >= self.CHUNK:
            self._part()

    def _part(self) -> None:
        """The waiting rows as one frame; a chunk once there are :attr:`CHUNK` rows."""
        if self.rows:
            self.parts.append(_part_frame(self.rows))
            self.part_rows += len(self.rows)
            self.rows = []
        if self.part_rows >= self.CHUNK:
            self._flush()

    def _flush(self) -> None:
        self._part() if self.rows else None
        parts = self.parts or [pl.DataFrame(schema=LOG_SCHEMA)]
        self.chunks.append(parts[0] if len(parts) == 1 else pl.concat(parts, rechunk=True))
        self.parts, self.part_rows = [], 0

    def add(self, seq: int, record: bytes | dict | Rejection, received_at: datetime, *, stamp_missing: bool) -> None:
        if self.batch and type(record) is bytes:  # checked with the rest of its part (_part_frame)
            rows = self.rows
            rows.append((seq, record, received_at, stamp_missing))
            if len(rows) >= self.BATCH_PART or self.part_rows + len(rows) >= self.CHUNK:
                self._part()
        else:
            self._append(_log_row(seq, record, received_at, stamp_missing, self.fast, True))

    def add_row(self, row: dict) -> None:
        """A row already made by :func:`log_row` or :func:`rejected_row`."""
        self._append(_in_micros(dict(row)))

    def add_rejected(self, seq: int, reason: str, detail: str, recorded_at: datetime | None,
                     project_id: str | None = None) -> None:
        self._append(_in_micros(rejected_row(seq, reason, detail, recorded_at, project_id)))

    def frame(self) -> pl.DataFrame:
        """Everything so far, as one frame; the builder can go on collecting after it."""
        if self.rows or self.parts or not self.chunks:
            self._flush()
        if len(self.chunks) > 1:
            self.chunks = [pl.concat(self.chunks, rechunk=True)]  # so a live log does not pile up small chunks
        return self.chunks[0]


def _micros(at: datetime) -> int:
    return (at - _EPOCH) // _MICROSECOND


def _in_micros(row: dict) -> dict:
    for name in _TIMES:
        at = row.get(name)
        if at is not None:
            row[name] = _micros(at)
    return row


def _part_frame(items: list[dict | tuple]) -> pl.DataFrame:
    """The log rows of a builder's part: rows already made (dicts) and records to check together
    ((seq, bytes, received_at, stamp_missing)), in their order. The batch path
    (:mod:`streams.contract.columnar`) makes the rows of the records it certifies; the others
    take the per-record path (:func:`_log_row`)."""
    pending = [i for i, item in enumerate(items) if type(item) is tuple]
    if not pending:
        return _rows_frame(items)
    records = [items[i] for i in pending]
    received = pl.Series(_micros_each(r[2] for r in records), dtype=pl.Int64).cast(UTC_TIME)
    batch = columnar.certify_batch([r[1] for r in records], received)
    certified = _certified_rows(batch.events, records, received)
    if len(pending) == len(items) and not batch.rest:
        return certified
    for j in batch.rest:
        seq, raw, received_at, stamp_missing = records[j]
        items[pending[j]] = _log_row(seq, raw, received_at, stamp_missing, True, True)
    made = [i for i, item in enumerate(items) if type(item) is not tuple]
    where = pl.Series(pending, dtype=pl.UInt32)
    where = where.gather(batch.events["_at"]) if batch.events.height else where.clear()
    return pl.concat([certified.with_columns(_pos=where),
                      _rows_frame([items[i] for i in made]).with_columns(_pos=pl.Series(made, dtype=pl.UInt32))]
                     ).sort("_pos").drop("_pos")


def _micros_each(times) -> list[int]:
    """Instants as microseconds since 1970, each run of one instant (a file's records) converted once."""
    out, last, us = [], None, 0
    for at in times:
        if at is not last:
            last, us = at, _micros(at)
        out.append(us)
    return out


def _certified_rows(events: pl.DataFrame, records: list[tuple], received: pl.Series) -> pl.DataFrame:
    """The log rows of the records the batch path certified (:class:`streams.contract.columnar.Certified`),
    as :func:`_log_row` makes them: the event's columns, its stage, the instants, the content fingerprint."""
    if not events.height:
        return pl.DataFrame(schema=LOG_SCHEMA)
    at = events["_at"]
    seqs = pl.Series([r[0] for r in records], dtype=pl.Int64).gather(at)
    stamp = pl.Series([r[3] for r in records], dtype=pl.Boolean).gather(at)
    # a stamp made here is the receive time as written in the event (to the millisecond, format_timestamp)
    stamped = (received.gather(at).cast(pl.Int64) // 1000 * 1000).cast(UTC_TIME)
    is_plan = pl.col("event_type") == _PLAN
    carried = {name: pl.when(pl.col("event_type").is_in(sorted(types)))
               .then(pl.col(f"_{name}" if name in _DATES else name)) for name, types in CARRIED.items()}
    rows = events.with_columns(**carried).with_columns(
        seq=seqs, reason=pl.lit(None, pl.Utf8), detail=pl.lit(None, pl.Utf8),
        recorded_at=pl.coalesce(pl.col("_recorded_at"), pl.when(stamp).then(stamped)),
        stage=pl.col("event_type").replace_strict(EVENT_STAGE, return_dtype=pl.Int8),
        occurred_at=pl.col("_occurred_at"), amount=pl.col("investment_yuan"),
        content=_fingerprints(events), drop_reason=pl.col("reason"),
        milestone=pl.when(is_plan).then(pl.col("milestone")),
        due=pl.when(pl.col("event_type").is_in(sorted(_DUE))).then(pl.col("_due")),
    )
    return rows.select(pl.col(name).cast(dtype) for name, dtype in LOG_SCHEMA.items())


def _fingerprints(events: pl.DataFrame) -> pl.Series:
    """:func:`_fingerprint` of each certified event's content (:func:`content_of`): the same JSON text (sorted
    keys, no absent field, occurred_at as orjson writes a UTC instant), made by columns, and its BLAKE2b."""
    fields = sorted(c for c in columnar.PLAN.columns if c not in NON_CONTENT_FIELDS)
    occurred = pl.col("_occurred_at")
    as_orjson = pl.when(occurred.dt.microsecond() == 0).then(occurred.dt.strftime("%Y-%m-%dT%H:%M:%S+00:00")) \
        .otherwise(occurred.dt.strftime("%Y-%m-%dT%H:%M:%S%.6f+00:00"))
    value = {f: as_orjson.alias(f) if f == "occurred_at" else pl.col(f) for f in fields}
    # Events with the same fields present (null: absent, so left out) are written together: a few kinds per batch.
    present = pl.sum_horizontal(pl.col(f).is_not_null().cast(pl.UInt64) * (1 << i) for i, f in enumerate(fields))
    texts = []
    for kind in events.select(*value.values(), _row=pl.int_range(pl.len(), dtype=pl.UInt32), _present=present) \
            .partition_by("_present"):
        mask = kind["_present"][0]
        texts.append(kind.select("_row", text=pl.struct(f for i, f in enumerate(fields) if mask >> i & 1)
                                 .struct.json_encode()))
    blake = _BLAKE2B_8.copy
    digests = []
    for text in pl.concat(texts).sort("_row")["text"].cast(pl.Binary).to_list():
        fingerprint = blake()
        fingerprint.update(text)
        digests.append(int.from_bytes(fingerprint.digest(), "big"))
    return pl.Series(digests, dtype=pl.UInt64)


#: The rows of a builder hold timestamps as microseconds (Polars reads an aware datetime object
#: several times slower) and categories as text, cast once per part.
_ROWS_SCHEMA = {name: (pl.Int64 if name in _TIMES else pl.Utf8 if dtype == _CAT else dtype)
                for name, dtype in LOG_SCHEMA.items()}


def _rows_frame(rows: list[dict]) -> pl.DataFrame:
    return _frame_of(rows, _ROWS_SCHEMA).cast(LOG_SCHEMA)


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _storable(row: dict) -> dict:
    """The row with every lone surrogate in its text (JSON's ``"\ud800"``, which the parser accepts) as U+FFFD:
    Polars keeps UTF-8 text only. The record's verdict and content fingerprint are those of the original."""
    return {k: _LONE_SURROGATE.sub("\ufffd", v) if isinstance(v, str)
            else [_LONE_SURROGATE.sub("\ufffd", x) if isinstance(x, str) else x for x in v] if isinstance(v, list)
            else v for k, v in row.items()}


def received_log(records, received_at: datetime, *, stamp_missing: bool = False) -> pl.DataFrame:
    """The log of ``(seq, record)`` pairs, all judged at one ``received_at`` (e.g. replay of a file)."""
    builder = LogBuilder()
    for seq, record in records:
        builder.add(seq, record, received_at, stamp_missing=stamp_missing)
    return builder.frame()


def settle(log: pl.DataFrame, known_at: datetime | None = None) -> pl.DataFrame:
    """Adds ``outcome``: accepted, duplicate, or the rejection reason (§3).

    With ``known_at``, only records whose ``recorded_at`` is readable and ≤ ``known_at`` count.
    The first record of a (project_id, event_id) wins, of a trip's (trip_id, event_id) (§8: a namespace of
    its own); a later one is a duplicate when its content matches, else an ``event_id_conflict``.
    """
    if known_at is not None:
        log = log.filter(pl.col("recorded_at") <= known_at)
    if not log["seq"].is_sorted():
        log = log.sort("seq")
    # Rejected rows carry no event_id, so they never share a group with a checked event. A trip event has no
    # project_id: its trip_id keys it, a namespace apart from the projects' (§8).
    group = [pl.col("project_id"), pl.when(pl.col("project_id").is_null()).then(pl.col("trip_id")).alias("_trip"),
             pl.col("event_id")]
    # Most records are the only one of their (project_id, event_id). A hash of the pair finds the few that may
    # not be (same hash); the first of a group and its content are worked out, exactly, among those alone.
    key = log.select(pl.struct(group).hash()).to_series()
    in_order = key.sort()
    shared = key.is_in(in_order.filter(in_order == in_order.shift(1)).unique().implode())
    first, first_content = pl.repeat(True, log.height, dtype=pl.Boolean, eager=True), log["content"]
    if shared.any():
        rows = shared.arg_true()
        few = log.select(*group, "content").filter(shared).select(
            first=pl.struct("project_id", "_trip", "event_id").is_first_distinct(),
            content=pl.col("content").first().over("project_id", "_trip", "event_id"))
        first, first_content = first.scatter(rows, few["first"]), first_content.clone().scatter(rows, few["content"])
    return log.with_columns(
        outcome=pl.when(pl.col("reason").is_not_null()).then(pl.col("reason").cast(pl.Utf8))
        .when(first).then(pl.lit("accepted"))
        .when(pl.col("content") == first_content).then(pl.lit("duplicate"))
        .otherwise(pl.lit("event_id_conflict"))
    )


def accepted_events(settled: pl.DataFrame) -> pl.LazyFrame:
    """The accepted events of projects, lazily: the fold reads only the columns it needs. A trip's (§8) are not
    a project's (:func:`trip_events`)."""
    return settled.lazy().filter((pl.col("outcome") == "accepted") & pl.col("project_id").is_not_null())


def trip_events(settled: pl.DataFrame) -> pl.LazyFrame:
    """The accepted events of trips (§8), lazily."""
    return settled.lazy().filter((pl.col("outcome") == "accepted") & pl.col("project_id").is_null())


def outcome_counts(settled: pl.DataFrame) -> dict[str, int]:
    """How many records of a settled log ended in each outcome (accepted, duplicate, a reason)."""
    # Nearly every record is accepted: the others are few, and counted apart (grouping all the text is slower).
    others = settled.select("outcome").filter(pl.col("outcome") != "accepted")
    accepted = settled.height - others.height
    return ({"accepted": accepted} if accepted else {}) | dict(others.group_by("outcome").len().iter_rows())


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
