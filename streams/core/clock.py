"""The one owner of time: China Standard Time, "today" there, and where a day ends."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

#: China Standard Time, UTC+08:00 all year since 1991: periods, days and "today" are all CST.
CST = timezone(timedelta(hours=8))


def now_cst() -> datetime:
    return datetime.now(CST)


def today_cst() -> date:
    """Today's date in China Standard Time (not the machine's zone, not UTC)."""
    return now_cst().date()


def day_end(day: date) -> datetime:
    """``--as-of 2023-12-31`` means before 2024-01-01T00:00:00+08:00: the exclusive cut-off."""
    return datetime.combine(day + timedelta(days=1), time(), CST)
