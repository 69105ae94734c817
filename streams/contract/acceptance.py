"""DOMAIN.md §3: every record ends accepted, duplicate, or rejected with one reason.

Pure functions, no I/O. ``check_record`` applies the stateless reasons in the
order of the table; ``event_id_conflict`` and ``duplicate`` need the history of
accepted events and are settled by :func:`streams.core.log.settle`, which compares
what :func:`content_of` returns.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import fastjsonschema
import orjson
import polars as pl

from streams.contract.events import EVENT_TYPES, INTRODUCED_IN, SCHEMA_VERSIONS, YUAN_PER_WAN
from streams.contract.schemas import parse_timestamp, validator_for
from streams.contract.typed import certified, conforms

#: The reasons, in the order they are checked.
REASONS: tuple[str, ...] = (
    "malformed", "unsupported_version", "unknown_event_type", "schema",
    "future_occurred_at", "event_id_conflict",
)
MAX_DEPTH = 32
FUTURE_TOLERANCE = timedelta(hours=24)
#: Fields that may differ between an event and its duplicate.
NON_CONTENT_FIELDS = frozenset({"recorded_at", "source", "submitted_by"})


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why a record was not accepted: a DOMAIN reason and a message a person can act on."""

    reason: str
    detail: str


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value (RFC 8259)")


def _depth_exceeds(value: Any, limit: int) -> bool:
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values() if isinstance(v, (dict, list)))
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node if isinstance(v, (dict, list)))
    return False


def parse_json(raw: bytes) -> dict | Rejection:
    """Decode one record's bytes into a JSON object, or say why it is ``malformed``."""
    # Fast path for the usual flat object. orjson refuses a little that the standard parser
    # accepts and reads an integer beyond 64 bits as a float, so anything else (a refusal,
    # a float anywhere, nesting) takes the standard parser.
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return _parse_json_strictly(raw)
    if not isinstance(value, dict) or not _FLAT.issuperset(map(type, value.values())):
        return _parse_json_strictly(raw)
    return value


#: What orjson gives that the standard parser gives alike; a float, an object or an array takes the standard parser.
_FLAT = frozenset({str, int, bool, type(None)})


def _parse_json_strictly(raw: bytes) -> dict | Rejection:
    """The standard library's parser, with the checks and messages of §3 ``malformed``."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        return Rejection("malformed", f"not valid UTF-8 at byte {e.start}")
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        return Rejection("malformed", f"nested deeper than {MAX_DEPTH} levels")
    except ValueError as e:
        return Rejection("malformed", f"not JSON: {e}")
    if not isinstance(value, dict):
        return Rejection("malformed", f"not a JSON object but a JSON {type(value).__name__}")
    if _depth_exceeds(value, MAX_DEPTH):
        return Rejection("malformed", f"nested deeper than {MAX_DEPTH} levels")
    return value


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _schema_message(e: fastjsonschema.JsonSchemaValueException) -> str:
    field = e.name.removeprefix("data").lstrip(".") or "event"
    message = e.message.removeprefix(e.name).strip()
    return f"{field} {message}"


def format_timestamp(ts: datetime) -> str:
    return ts.isoformat(timespec="milliseconds" if ts.microsecond else "seconds")


def check_event(event: dict, received_at: datetime, *, fast: bool = True) -> dict | Rejection:
    """Apply the stateless reasons after ``malformed``, in order.

    Returns the event, with ``recorded_at`` stamped as ``received_at`` when absent,
    or the first :class:`Rejection` that applies. With ``fast`` (the default), an event that
    :func:`streams.contract.typed.conforms` certifies skips the schema validator, which would
    accept it; nothing else changes (``fast=False`` is the reference the tests compare with).
    """
    return checked_event(event, received_at, fast=fast)[0]


def checked_event(event: dict, received_at: datetime, *, fast: bool = True, certified: bool = False
                  ) -> tuple[dict | Rejection, datetime | None, datetime | None]:
    """:func:`check_event`, with the event's ``occurred_at`` and its own ``recorded_at`` as read (None when
    not read: a rejection before them, or no ``recorded_at`` of its own).

    ``certified``: the event is what :func:`streams.contract.typed.certified` made of its record's bytes,
    so it conforms to its schema.
    """
    version = event.get("schema_version")
    version_is_int = _is_int(version)
    if version_is_int and version not in SCHEMA_VERSIONS:
        return (Rejection("unsupported_version", f"schema_version {version} is not one of {list(SCHEMA_VERSIONS)}"),
                None, None)
    event_type = event.get("event_type")
    if isinstance(event_type, str):
        if event_type not in EVENT_TYPES:
            return Rejection("unknown_event_type", f"event_type {event_type!r} is not a known type"), None, None
        if version_is_int and version < INTRODUCED_IN.get(event_type, 0):
            return Rejection("unknown_event_type",
                             f"event_type {event_type!r} is not a type of schema_version {version} "
                             f"(it needs {INTRODUCED_IN[event_type]})"), None, None
    if not version_is_int:
        detail = "schema_version is missing" if version is None else "schema_version must be an integer"
        return Rejection("schema", detail), None, None
    if not (certified or (fast and conforms(event))):
        try:
            validator_for(version)(event)
        except fastjsonschema.JsonSchemaValueException as e:
            return Rejection("schema", _schema_message(e)), None, None
    if "returned" in event and "departed" in event and returns_before_departure(event["departed"], event["returned"]):
        return Rejection("schema", f"returned {event['returned']} is before departed {event['departed']}"), None, None
    occurred = parse_timestamp(event["occurred_at"])
    if "recorded_at" in event:
        recorded = own = parse_timestamp(event["recorded_at"])
    else:
        recorded, own = received_at, None
        event = {**event, "recorded_at": format_timestamp(received_at)}
    if occurred - recorded > FUTURE_TOLERANCE:
        return Rejection(
            "future_occurred_at",
            f"occurred_at {event['occurred_at']} is more than 24 h after recorded_at {event['recorded_at']}",
        ), occurred, own
    return event, occurred, own


def returns_before_departure(departed: str, returned: str) -> bool:
    """§8: a trip cannot return before it departs (two valid calendar dates; the text compares as the dates)."""
    # YYYY-MM-DD of the same width: the strings' order is the dates' (the batch path compares read dates alike)
    return returned < departed


def check_record(raw: bytes, received_at: datetime, *, fast: bool = True) -> dict | Rejection:
    """Every stateless reason of §3 for one record's bytes (``fast``: see :func:`check_event`)."""
    event = certified(raw) if fast else None
    if event is not None:
        return checked_event(event, received_at, certified=True)[0]
    parsed = parse_json(raw)
    return parsed if isinstance(parsed, Rejection) else check_event(parsed, received_at, fast=fast)


def wan_to_yuan(wan: int | float) -> int:
    """万元 → yuan, exact for decimal inputs (0.1 万 is 1,000 yuan, not 1,000.0000000000001)."""
    return int((Decimal(str(wan)) * YUAN_PER_WAN).to_integral_value(ROUND_HALF_EVEN))


def upcast(event: dict) -> dict:
    """Any accepted event → schema_version 2 (legacy 万元 amounts become integer yuan)."""
    if event.get("schema_version") != 1:
        return event
    current = {k: v for k, v in event.items() if k != "investment_wan"}
    current["schema_version"] = 2
    if "investment_wan" in event:
        current["investment_yuan"] = wan_to_yuan(event["investment_wan"])
    return current


def upcast_columns(events: pl.DataFrame) -> pl.DataFrame:
    """:func:`upcast` of a frame of events, a column per field (null: absent), with amounts as integers."""
    legacy = pl.col("schema_version") == 1
    upcast_ = {"schema_version": pl.when(legacy).then(2).otherwise(pl.col("schema_version"))}
    if "investment_wan" in events.columns:
        wan = pl.col("investment_wan")
        if not events.schema["investment_wan"].is_integer():
            raise TypeError("investment_wan by columns must be integers (the batch path certifies no other)")
        if events.select((wan.abs() > _MAX_WAN).any()).item():
            raise OverflowError("investment_wan beyond 64-bit yuan")
        yuan = wan.cast(pl.Int64) * YUAN_PER_WAN
        upcast_ |= {"investment_yuan": pl.when(legacy & wan.is_not_null()).then(yuan).otherwise("investment_yuan"),
                    "investment_wan": pl.when(~legacy).then(wan)}
    return events.with_columns(**upcast_)


_MAX_WAN = (2**63 - 1) // YUAN_PER_WAN


def content_of(event: dict, occurred: datetime | None = None) -> dict:
    """What must match for a re-send to count as a duplicate: all but recorded_at, source and submitted_by, after the
    upcast, with occurred_at as an instant. The log compares it as JSON text, so 30000 and 30000.0 differ.

    ``occurred``: the event's ``occurred_at`` already read, if it has been.
    """
    current = upcast(event)
    content = dict(current)
    for name in NON_CONTENT_FIELDS:
        content.pop(name, None)
    if occurred is None:
        occurred = parse_timestamp(current["occurred_at"])
    content["occurred_at"] = occurred.astimezone(timezone.utc)
    return content

