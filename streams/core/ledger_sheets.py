"""DOMAIN.md §11: what the 问题清单 and 外出招商 sheets of a ledger workbook share: their accounting, how their
columns are found, how a count, a date and an id cell read, and how a row's events are made.

Pure. Cells read as §7 reads them (:mod:`streams.core.ledger_cells`' helpers); the sheets' own rules are in
:mod:`streams.core.ledger_issues` and :mod:`streams.core.ledger_trips`.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal

from streams.contract.acceptance import format_timestamp
from streams.core.clock import CST
from streams.core.ledger import LedgerEvent, RowRejection, _event_id
from streams.core.ledger_cells import _Bad, _date, _text
from streams.core.ledger_layout import LedgerFileError, SheetLayout, Skipped

Bad = _Bad
text = _text


@dataclass
class SheetImport:
    """One §11 sheet's import: its events and its accounting (rows = unchanged + changed + new + rejected)."""

    sheet: str
    header_row: int
    rows: int = 0
    unchanged: int = 0
    changed: int = 0
    new: int = 0
    events: list[LedgerEvent] = field(default_factory=list)
    rejected: list[RowRejection] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)  #: rows that are not data (§7a), not in ``rows``

    def count(self, events: list[dict], new: bool, row: int) -> None:
        """Account one row that was read, with the events it made (``new``: its issue or trip was not there)."""
        self.rows += 1
        self.events += [LedgerEvent(self.sheet, row, e) for e in events]
        if new:
            self.new += 1
        elif events:
            self.changed += 1
        else:
            self.unchanged += 1

    def reject(self, rejection: RowRejection) -> None:
        self.rows += 1
        self.rejected.append(rejection)

    def as_dict(self) -> dict:
        return {"sheet": self.sheet, "header_row": self.header_row, "rows": self.rows, "unchanged": self.unchanged,
                "changed": self.changed, "new": self.new,
                "rejected": dict(Counter(r.reason for r in self.rejected)),
                "events": dict(Counter(e.event["event_type"] for e in self.events)),
                "skipped": dict(Counter(s.kind for s in self.skipped)),
                "rejected_rows": [r.as_dict() for r in self.rejected],
                "skipped_rows": [s.as_dict() for s in self.skipped]}


@dataclass(frozen=True)
class SheetRow:
    """A data row of a §11 sheet: its number, its cells by field, and its filled cells by header (for a dead letter)."""

    row: int
    cells: dict[str, object]
    kept: dict[str, object]

    def get(self, name: str):
        return self.cells.get(name)


def rows_of(layout: SheetLayout, headers: dict[str, str]) -> list[SheetRow]:
    """The layout's data rows, each cell under the field its header names (``headers``: Chinese header → field;
    unknown columns ignored). Raises :class:`LedgerFileError` when two columns mean one field."""
    at: dict[str, int] = {}
    for i, cell in enumerate(layout.header):
        name = headers.get(cell or "")
        if name is None:
            continue
        if name in at:
            raise LedgerFileError(f"sheet {layout.sheet}, header row {layout.header_row}: two columns mean {cell}")
        at[name] = i
    out = []
    for number, cells in layout.rows:
        kept = {str(layout.header[i]): c for i, c in enumerate(cells)
                if i < len(layout.header) and layout.header[i] and c not in (None, "")}
        out.append(SheetRow(number, {f: cells[i] if i < len(cells) else None for f, i in at.items()}, kept))
    return out


def reported_date(value, header: str, last_day: date) -> date | None:
    """A date (§7) that may not fall after the ledger's month."""
    day = _date(value, header)
    if day is not None and day > last_day:
        raise _Bad(f"{header} {day.isoformat()} falls after the ledger's month")
    return day


def any_date(value, header: str) -> date | None:
    """A date (§7), anywhere in time (a due date)."""
    return _date(value, header)


_DIGITS = re.compile(r"^\d+$")


def count(value, header: str, least: int = 0) -> int | None:
    """A count: a whole number, from a number cell or digits; at least ``least``. None when empty."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise _Bad(f"{header} {value!r} is not a whole number")
    if isinstance(value, (int, float, Decimal)):
        if value != value or value in (float("inf"), float("-inf")) or int(value) != value:
            raise _Bad(f"{header} {value!r} is not a whole number")
        number = int(value)
    elif _DIGITS.match(str(value).strip()):
        number = int(str(value).strip())
    else:
        raise _Bad(f"{header} {value!r} is not a whole number")
    if number < least:
        raise _Bad(f"{header} {value!r} is {'negative' if number < 0 else f'below {least}'}")
    return number


def midnight(day: date) -> datetime:
    """00:00 CST of a day."""
    return datetime.combine(day, time(), CST)


def timestamp(at: datetime) -> str:
    """An instant as an event's occurred_at, in CST, to the microsecond when it has one (so that an event placed
    at an instant of the log is at that instant, not before it)."""
    at = at.astimezone(CST)
    return at.isoformat(timespec="microseconds") if at.microsecond % 1000 else format_timestamp(at)


def event(event_type: str, key: dict, occurred_at: str, recorded_at: str, source: str, **payload) -> dict:
    """An event of a §11 row (schema version 2), its id derived from its content as the project rows' are."""
    made = {"event_type": event_type, "schema_version": 2, **key, "occurred_at": occurred_at,
            **{k: v for k, v in payload.items() if v is not None}}
    return {"event_id": _event_id(made), **made, "recorded_at": recorded_at, "source": source}


def rejection(sheet: str, row: SheetRow, reason: str, detail: str, project_id: str | None) -> RowRejection:
    return RowRejection(sheet, row.row, reason, detail, project_id, row.kept)
