"""The validator's batch path: many records certified together, their checks after the schema made by columns.

Each record's bytes are decoded into the Struct of its version and type (:func:`streams.contract.typed.decode`,
in C, as the fast path does); the decoded records are written out again and read as one Polars frame, and
what :func:`streams.contract.acceptance.checked_event` does after the schema (the formats, the type's
version, the future rule) and the upcast are then done for all of them at once. Like the fast path, this
path only ever certifies: a record it is not sure of (not decoded, a timestamp of a shape it does not read
by columns, one the future rule would reject, ...) is left to the per-record path, whose verdict stands.
``tests/unit/test_columnar.py`` holds every log row it makes to that path's.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any, Callable

import msgspec
import polars as pl

from streams.contract import typed
from streams.contract.acceptance import FUTURE_TOLERANCE, upcast_columns
from streams.contract.events import EVENT_TYPES, INTRODUCED_IN
from streams.contract.schemas import FORMATS

#: An ISO-8601 date-time of the one shape read here by columns; others take the per-record path
#: (Python's reader accepts more). Bounded fields: Polars' reader takes a 60th second or a 24th hour.
_TIMESTAMP = (r"^[1-9][0-9]{3}-[0-9]{2}-[0-9]{2}T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,6})?"
              r"(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$")
_DATE = r"^[1-9][0-9]{3}-[0-9]{2}-[0-9]{2}$"


def _timestamp(column: str) -> tuple[pl.Expr, pl.Expr]:
    """The instant a value of ``iso-datetime-with-offset`` names (UTC), and whether it is of the shape read here."""
    value = pl.col(column)
    instant = value.str.to_datetime("%Y-%m-%dT%H:%M:%S%.f%#z", strict=False, time_unit="us", time_zone="UTC")
    return instant, value.str.contains(_TIMESTAMP)


def _date(column: str) -> tuple[pl.Expr, pl.Expr]:
    """The date a value of ``calendar-date`` names, and whether it is of the shape read here."""
    value = pl.col(column)
    return value.str.to_date("%Y-%m-%d", strict=False), value.str.contains(_DATE)


#: The formats read by columns; a schema with another one has no batch path.
_COLUMNAR_FORMATS: dict[str, Callable[[str], tuple[pl.Expr, pl.Expr]]] = {
    "iso-datetime-with-offset": _timestamp, "calendar-date": _date,
}
_FORMAT_NAMES = {check: name for name, check in FORMATS.items()}


@dataclass(frozen=True)
class _Plan:
    """What the batch path reads: every field the Structs name, with its Polars type; the format of each field
    that has one (the same in every Struct)."""

    columns: dict[str, pl.DataType]
    formats: dict[str, str]


def _polars_type(info: Any) -> pl.DataType:
    import msgspec.inspect as mi

    if isinstance(info, mi.LiteralType):
        kinds = {type(v) for v in info.values}
        info = mi.StrType() if kinds == {str} else mi.IntType() if kinds == {int} else info
    if isinstance(info, mi.StrType):
        return pl.Utf8()
    if isinstance(info, mi.IntType):  # bounded to 64 bits by the schema (the compiled Struct checks it)
        return pl.Int64()
    if isinstance(info, mi.BoolType):
        return pl.Boolean()
    if isinstance(info, mi.ListType) and isinstance(info.item_type, mi.StrType):
        return pl.List(pl.Utf8())
    raise typed.Unsupported(f"no column type for {info}")


def _plan() -> _Plan | None:
    import msgspec.inspect as mi

    columns: dict[str, pl.DataType] = {typed.TAG: pl.Utf8()}
    formats: dict[str, str] = {}
    try:
        for struct, checks in typed.ROUTES.values():
            for f in mi.type_info(struct).fields:
                dtype = _polars_type(f.type)
                if columns.setdefault(f.name, dtype) != dtype:
                    raise typed.Unsupported(f"{f.name}: two types")
            for name, check in checks:
                fmt = _FORMAT_NAMES.get(check)
                if fmt not in _COLUMNAR_FORMATS or formats.setdefault(name, fmt) != fmt:
                    raise typed.Unsupported(f"{name}: a format not read by columns")
        for struct, checks in typed.ROUTES.values():  # a formatted field is formatted in every Struct that has it
            if {n for n, _ in checks} != set(formats) & set(struct.__struct_fields__):
                raise typed.Unsupported("a field formatted in one Struct only")
        if not {"occurred_at", "recorded_at"} <= {n for n, f in formats.items() if f == "iso-datetime-with-offset"}:
            raise typed.Unsupported("the future rule needs occurred_at and recorded_at read as instants")
    except typed.Unsupported:
        return None
    return _Plan(columns, formats)


#: None: the Structs use something the batch path does not read, so every record takes the per-record path.
PLAN = _plan()
_ENCODER = msgspec.json.Encoder()


@dataclass(frozen=True)
class Certified:
    """The records of a batch that the batch path certifies, and those it leaves to the per-record path.

    ``events``: one row per certified record, in the batch's order: ``_at`` its position in the batch,
    every field the schemas name (null: absent), as upcast (§2), and each formatted field as read
    (``_occurred_at``, ``_recorded_at``: UTC instants; ``_due``: a date).
    ``rest``: the positions of the others.
    """

    events: pl.DataFrame
    rest: list[int]


def certify_batch(records: list[bytes], received: pl.Series) -> Certified:
    """The records (bytes) certified by columns; ``received``: when each was received (UTC instants), which
    the future rule compares with when it has no ``recorded_at`` of its own."""
    decoded, at, rest = [], [], []
    decode = typed.decode if PLAN is not None else lambda raw: None
    for i, raw in enumerate(records):
        event = decode(raw)
        if event is None:
            rest.append(i)
        else:
            decoded.append(event)
            at.append(i)
    if not decoded:
        return Certified(pl.DataFrame(), rest)
    events = pl.read_ndjson(io.BytesIO(_ENCODER.encode_lines(decoded)), schema=PLAN.columns)
    events = events.with_columns(_at=pl.Series(at, dtype=pl.UInt32), _received=received.gather(at))
    events = events.with_columns(_read()).with_columns(_sure=_sure())
    rest += events.filter(~pl.col("_sure"))["_at"].to_list()
    rest.sort()
    shaped = [f"_{name}_shaped" for name in PLAN.formats]
    return Certified(upcast_columns(events.filter(pl.col("_sure")).drop("_sure", "_received", *shaped)), rest)


def _read() -> list[pl.Expr]:
    """Each formatted field as read (``_<name>``: null when it does not read), and whether it is of the shape
    read here (``_<name>_shaped``)."""
    read = []
    for name, fmt in PLAN.formats.items():
        value, shaped = _COLUMNAR_FORMATS[fmt](name)
        read += [value.alias(f"_{name}"), shaped.alias(f"_{name}_shaped")]
    return read


def _sure() -> pl.Expr:
    """Whether each decoded record passes the checks after the schema for sure (as
    :func:`streams.contract.acceptance.checked_event` would let it through)."""
    sure = pl.lit(True)
    for name in PLAN.formats:
        sure = sure & (pl.col(name).is_null() | (pl.col(f"_{name}_shaped") & pl.col(f"_{name}").is_not_null()))
    version, tag = pl.col("schema_version"), pl.col(typed.TAG)
    introduced = tag.replace_strict(INTRODUCED_IN, default=0, return_dtype=pl.Int64)
    sure = sure & tag.is_in(sorted(EVENT_TYPES)) & (version >= introduced)
    # a trip returning before it departs is rejected by the per-record path (returns_before_departure)
    sure = sure & ~(pl.col("_returned") < pl.col("_departed")).fill_null(False)
    recorded = pl.coalesce("_recorded_at", "_received")  # without its own, as received (the stamp)
    sure = sure & (pl.col("_occurred_at") - recorded <= FUTURE_TOLERANCE)
    return sure.fill_null(False)
