"""The one owner of time: China Standard Time, "today" there, and where a day ends."""

from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta, timezone

#: China Standard Time, UTC+08:00 all year since 1991: periods, days and "today" are all CST.
CST = timezone(timedelta(hours=8))


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
