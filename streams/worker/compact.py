"""Checked log rows in a compact binary form (msgpack arrays), and back to a log frame.

The worker keeps each project's checked records this way instead of their JSON text:
the fold needs only a few fields of each, and timestamps as integers. A row is the
:func:`streams.core.log.log_row` dict; a decoded batch is a frame of ``LOG_SCHEMA``, so
the one settle and fold of :mod:`streams.core` read it exactly as they read a replay.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone

import msgspec
import polars as pl

from streams.contract.events import EVENT_STAGE
from streams.core.log import DIMENSIONS, LOG_SCHEMA

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_US = timedelta(microseconds=1)
_TYPES: tuple[str, ...] = tuple(EVENT_STAGE)
_TYPE_CODE = {t: i for i, t in enumerate(_TYPES)}
#: Fields only some events carry (planning, reassignment, signing, dropping, plans, trips §8, issues §9): stored
#: together, without the trailing ones an event lacks, or not at all. A date (a due date, a trip's days) is kept as
#: its days since 1970-01-01. Records written before a field existed are shorter: the fields they lack are null.
_EXTRAS: tuple[str, ...] = ("name", *DIMENSIONS, "investor", "drop_reason", "milestone", "due",
                            "trip_id", "kind", "departed", "returned", "team", "region", "people", "companies_visited",
                            "leads", "valid_leads", "issue_id", "category", "destinations", "description")
_DATES = frozenset(i for i, name in enumerate(_EXTRAS) if name in ("due", "departed", "returned"))
_EPOCH_DAY = date(1970, 1, 1)
#: A UUID as ``str(uuid.UUID(...))`` writes it: the ids :func:`_compact_id` keeps as their 16 bytes.
_CANONICAL_UUID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder()


def _us(at: datetime | None) -> int | None:
    return None if at is None else (at - _EPOCH) // _US


def _compact_id(event_id: str) -> str | bytes:
    """A canonical UUID as its 16 bytes (msgpack keeps bytes and text apart); anything else as written."""
    try:
        as_uuid = uuid.UUID(event_id)
    except (ValueError, TypeError, AttributeError):
        return event_id
    return as_uuid.bytes if str(as_uuid) == event_id else event_id


def _event_id(stored: str | bytes) -> str:
    return str(uuid.UUID(bytes=stored)) if isinstance(stored, bytes) else stored


def event_record(row: dict) -> tuple:
    """A checked event's row (no ``reason``) as a compact tuple; its project (a trip's: its trip) is the key it is
    kept under."""
    extras = [(value - _EPOCH_DAY).days if i in _DATES and value is not None else value
              for i, value in enumerate(row.get(f) for f in _EXTRAS)]
    while extras and extras[-1] is None:
        extras.pop()
    return (row["seq"], _us(row.get("recorded_at")), _compact_id(row["event_id"]), _TYPE_CODE[row["event_type"]],
            _us(row["occurred_at"]), row.get("amount"), row["content"], extras or None)


def rejection_record(row: dict) -> tuple:
    """A rejected record's row as a compact tuple."""
    return (row["seq"], row["reason"], row.get("detail") or "", _us(row.get("recorded_at")), row.get("project_id"))


def log_records(frame: pl.DataFrame) -> list[tuple[bool, tuple]]:
    """Each row of a log frame (``LOG_SCHEMA``, as the batch path of :class:`streams.core.log.LogBuilder` makes it)
    as its compact record, columnar: (rejected, :func:`rejection_record` or :func:`event_record` of the row)."""
    at = (pl.col("recorded_at").dt.epoch("us"), pl.col("occurred_at").dt.epoch("us"))
    extras = [pl.col(f).cast(pl.Int32) if i in _DATES else pl.col(f) for i, f in enumerate(_EXTRAS)]
    # Per row in Polars, not per record in Python (they were half of this function's time): the id's 16 bytes
    # when :func:`_compact_id` keeps them, and how many extras :func:`event_record` keeps (up to the last set).
    event_id = pl.col("event_id")
    as_bytes = pl.when(event_id.str.contains(_CANONICAL_UUID)).then(
        event_id.str.replace_all("-", "", literal=True).str.decode("hex", strict=False))
    kept = pl.max_horizontal([pl.when(pl.col(f).is_not_null()).then(i + 1) for i, f in enumerate(_EXTRAS)])
    columns = frame.select(pl.col("reason").is_not_null().alias("_rejected"), "seq", at[0], as_bytes.alias("_id"),
                           "event_id", pl.col("event_type").cast(pl.Utf8).replace_strict(
                               _TYPE_CODE, default=None, return_dtype=pl.Int64),
                           at[1], "amount", "content", pl.col("reason").cast(pl.Utf8), "detail", "project_id",
                           kept.fill_null(0).alias("_kept"), *extras)
    out = []
    for rejected, seq, recorded, id_bytes, event_id, code, occurred, amount, content, reason, detail, project, kept, \
            *more in columns.iter_rows():
        if rejected:
            out.append((True, (seq, reason, detail or "", recorded, project)))
            continue
        out.append((False, (seq, recorded, event_id if id_bytes is None else id_bytes, code, occurred, amount, content,
                            more[:kept] or None)))
    return out


def encode(records: list[tuple]) -> bytes:
    return _encoder.encode(records)


def decode(blob: bytes) -> list[list]:
    return _decoder.decode(blob) if blob else []


def _array_header(count: int) -> bytes:
    """The msgpack array header of ``count`` items, in its shortest form (as msgspec writes it)."""
    if count < 16:
        return bytes((0x90 | count,))
    if count < 1 << 16:
        return b"\xdc" + count.to_bytes(2, "big")
    return b"\xdd" + count.to_bytes(4, "big")


def _items(blob: bytes) -> tuple[int, memoryview]:
    """An encoded array's item count and its items' bytes (everything after its header)."""
    first = blob[0]
    if first & 0xF0 == 0x90:
        return first & 0x0F, memoryview(blob)[1:]
    if first == 0xDC:
        return int.from_bytes(blob[1:3], "big"), memoryview(blob)[3:]
    if first == 0xDD:
        return int.from_bytes(blob[1:5], "big"), memoryview(blob)[5:]
    raise ValueError(f"not a msgpack array (first byte {first:#x})")


def appended(blob: bytes | None, records: list[tuple]) -> bytes:
    """``blob``'s records followed by ``records``: the bytes :func:`encode` of them all gives. A msgpack array is
    its header then its items one after another, so only the header is written anew: appending to a big project
    costs a copy, not a decode and an encode of everything it holds."""
    if not blob:
        return encode(records)
    held, old = _items(blob)
    count, new = _items(encode(records))
    return b"".join((_array_header(held + count), old, new))


def _times(values: list) -> pl.Series:
    return pl.Series(values, dtype=pl.Int64).cast(pl.Datetime("us")).dt.replace_time_zone("UTC")


def events_frame(projects: list[tuple[str, list[list]]], trips: list[tuple[str, list[list]]] = ()) -> pl.DataFrame:
    """The log frame (``LOG_SCHEMA``) of decoded event records, project by project, then trip by trip (§8: a trip's
    events have no project; their key is their ``trip_id``)."""
    columns: dict[str, list] = {name: [] for name in ("project_id", "seq", "recorded_at", "event_id", "event_type",
                                                      "occurred_at", "amount", "content", *_EXTRAS)}
    keyed = [*((pid, None, records) for pid, records in projects), *((None, tid, records) for tid, records in trips)]
    for project_id, trip_id, records in keyed:
        for seq, recorded, event_id, code, occurred, amount, content, extras in records:
            columns["project_id"].append(project_id)
            columns["seq"].append(seq)
            columns["recorded_at"].append(recorded)
            columns["event_id"].append(_event_id(event_id))
            columns["event_type"].append(_TYPES[code])
            columns["occurred_at"].append(occurred)
            columns["amount"].append(amount)
            columns["content"].append(content)
            extras = extras or ()
            for i, name in enumerate(_EXTRAS):
                columns[name].append(extras[i] if i < len(extras) else None)
            if trip_id is not None:
                columns["trip_id"][-1] = trip_id
    dates = tuple(_EXTRAS[i] for i in _DATES)
    special = ("recorded_at", "occurred_at", *dates)
    frame = pl.DataFrame({k: v for k, v in columns.items() if k not in special},
                         schema={k: LOG_SCHEMA[k] for k in columns if k not in special}, strict=False)
    frame = frame.with_columns(recorded_at=_times(columns["recorded_at"]), occurred_at=_times(columns["occurred_at"]),
                               **{d: pl.Series(columns[d], dtype=pl.Int32).cast(pl.Date) for d in dates},
                               stage=pl.col("event_type").cast(pl.Utf8).replace_strict(
                                   EVENT_STAGE, return_dtype=pl.Int8))
    return _complete(frame)


def _complete(frame: pl.DataFrame) -> pl.DataFrame:
    """Every ``LOG_SCHEMA`` column, in its order (nulls where a kind of row has none)."""
    return frame.select([pl.col(c) if c in frame.columns else pl.lit(None, t).alias(c) for c, t in LOG_SCHEMA.items()])


def rejections_frame(records: list) -> pl.DataFrame:
    """The log frame (``LOG_SCHEMA``) of decoded rejection records."""
    seq, reason, detail, recorded, project = (list(c) for c in zip(*records)) if records else ([],) * 5
    frame = pl.DataFrame({"seq": seq, "reason": reason, "detail": detail, "project_id": project},
                         schema={k: LOG_SCHEMA[k] for k in ("seq", "reason", "detail", "project_id")})
    return _complete(frame.with_columns(recorded_at=_times(recorded)))


def log_frame(events: pl.DataFrame, rejections: pl.DataFrame) -> pl.DataFrame:
    """Events and rejections as one log in arrival order."""
    return pl.concat([events, rejections]).sort("seq")
