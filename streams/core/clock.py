"""The one owner of time: China Standard Time, "today" there, and where a day ends."""

from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta, timezone

#: China Standard Time, UTC+08:00 all year since 1991: periods, days and "today" are all CST.
CST = timezone(timedelta(hours=8))
#: The same zone by name, for Polars (``dt.convert_time_zone``), which takes IANA names.
CST_ZONE = "Asia/Shanghai"


def now_cst() -> datetime:
    return datetime.now(CST)


def cst_at(posix_seconds: float) -> datetime:
    """A POSIX time (e.g. a file's modification time) in CST, to the whole second, so it prints as it is."""
    return datetime.fromtimestamp(math.floor(posix_seconds), CST)


def today_cst() -> date:
    """Today's date in China Standard Time (not the machine's zone, not UTC)."""
    return now_cst().date()


def day_end(day: date) -> datetime:
    """``--as-of 2023-12-31`` means before 2024-01-01T00:00:00+08:00: the exclusive cut-off."""
    return datetime.combine(day + timedelta(days=1), time(), CST)


def day_of(cutoff: datetime) -> date:
    """The CST day an exclusive cut-off ends: ``day_of(day_end(d)) == d``."""
    return (cutoff - timedelta(microseconds=1)).astimezone(CST).date()


def period_label(day: date, granularity: str) -> str:
    """The CST period a day falls in, labelled as the aggregates label it: ``2024``, ``2024Q3``, ``2024-07``."""
    if granularity == "year":
        return f"{day.year}"
    if granularity == "quarter":
        return f"{day.year}Q{(day.month - 1) // 3 + 1}"
    if granularity == "month":
        return f"{day.year}-{day.month:02d}"
    raise ValueError(f"unknown granularity {granularity!r}: year, quarter or month")


def period_bounds(label: str) -> tuple[datetime, datetime]:
    """A period label → its start and exclusive end, both at midnight CST."""
    if "Q" in label:
        year, quarter = label.split("Q")
        start, months = date(int(year), 3 * int(quarter) - 2, 1), 3
    elif "-" in label:
        year, month = label.split("-")
        start, months = date(int(year), int(month), 1), 1
    else:
        start, months = date(int(label), 1, 1), 12
    index = start.year * 12 + start.month - 1 + months
    end = date(index // 12, index % 12 + 1, 1)
    return datetime.combine(start, time(), CST), datetime.combine(end, time(), CST)


def previous_period(label: str) -> str:
    """The period before ``label``, of the same length: 2024 → 2023, 2024Q1 → 2023Q4, 2024-01 → 2023-12."""
    start, _ = period_bounds(label)
    granularity = "quarter" if "Q" in label else "month" if "-" in label else "year"
    return period_label((start - timedelta(days=1)).date(), granularity)


def last_complete_period(cutoff: datetime, granularity: str) -> str:
    """The latest period that is over at the cut-off (as of 2024-12-31: 2024; as of 2024-12-30: 2023)."""
    label = period_label(day_of(cutoff), granularity)
    return label if period_bounds(label)[1] <= cutoff else previous_period(label)
