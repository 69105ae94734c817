"""Loads the JSON Schemas of ``schemas/`` (one per event version) and compiles them.

The schema files are the contract; this module only turns them into fast validators.
Cross-file ``$ref``s are inlined here so the compiled validator needs no resolver.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from functools import cache
from pathlib import Path
from typing import Any, Callable

import fastjsonschema

_PACKAGE = Path(__file__).resolve().parent.parent
SCHEMA_DIRS = (_PACKAGE.parent / "schemas", _PACKAGE / "_schemas")  # source tree, then wheel


def schema_dir() -> Path:
    for d in SCHEMA_DIRS:
        if (d / "common.schema.json").exists():
            return d
    raise FileNotFoundError(f"event schemas not found in {', '.join(map(str, SCHEMA_DIRS))}")


def parse_timestamp(value: str) -> datetime | None:
    """An ISO-8601 date-time with a UTC offset, or None if it does not parse or has no offset."""
    # One record's timestamps are read by the schema, then by the checks: the last two are remembered,
    # by identity (a slot holds its string, so no other string can take its place).
    last = _last
    if last[0] is value:
        return last[1]
    previous = _previous
    if previous[0] is value:
        return previous[1]
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        ts = datetime.fromisoformat(value)
    except ValueError:
        ts = None
    else:
        tz = ts.tzinfo
        # fromisoformat gives a fixed offset (a datetime.timezone) or none; any other tzinfo is asked
        if tz is None or (type(tz) is not timezone and ts.utcoffset() is None):
            ts = None
    _remember(value, ts)
    return ts


def _remember(value: str, ts: datetime | None) -> None:
    global _last, _previous
    _previous, _last = _last, (value, ts)


_last: tuple = (None, None)
_previous: tuple = (None, None)


def parse_calendar_date(value: str) -> date | None:
    """A calendar date written ``YYYY-MM-DD``, or None."""
    if not isinstance(value, str) or len(value) != 10 or value[4] != "-" or value[7] != "-":
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


FORMATS: dict[str, Callable[[Any], bool]] = {
    "iso-datetime-with-offset": lambda v: parse_timestamp(v) is not None,
    "calendar-date": lambda v: parse_calendar_date(v) is not None,
}


def _load(name: str) -> dict:
    return json.loads((schema_dir() / name).read_text(encoding="utf-8"))


def _resolve(node: Any, document: dict) -> Any:
    """Inline every ``$ref`` (``file.json#/pointer`` or ``#/pointer``) of ``node``."""
    if isinstance(node, list):
        return [_resolve(n, document) for n in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        file_part, _, pointer = node["$ref"].partition("#")
        target_doc = _load(file_part) if file_part else document
        target: Any = target_doc
        for part in filter(None, pointer.split("/")):
            target = target[part]
        return _resolve(target, target_doc)
    return {k: _resolve(v, document) for k, v in node.items() if k != "$id"}


def schema_for(version: int) -> dict:
    """The self-contained schema of one event version."""
    return _resolve(_load(f"project-event.v{version}.schema.json"), {})


@cache
def validator_for(version: int) -> Callable[[dict], Any]:
    """A compiled validator; raises ``fastjsonschema.JsonSchemaValueException``."""
    return fastjsonschema.compile(schema_for(version), formats=FORMATS)


def event_types_in_schema() -> list[str]:
    return _load("common.schema.json")["definitions"]["event"]["properties"]["event_type"]["enum"]
