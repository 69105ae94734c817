"""DOMAIN.md §7: a ledger row's cells read into typed values (a :class:`LedgerRow`), or the reason they cannot be.

Pure: where each known column is (:func:`columns_of`, its headers compared as §7a says) and one row's
cells read as text, dates, exact amounts and the 是/否 of 主导产业 (:func:`read_row`). What the rows
mean against the log's state, the diff, is :mod:`streams.core.ledger`'s.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from streams.contract.events import YUAN_PER_WAN, YUAN_PER_YI
from streams.core.ledger_layout import LedgerFileError, normalise_header

#: Column -> its Chinese header and its English name.
HEADERS: dict[str, tuple[str, str]] = {
    "project_id": ("项目编号", "project_id"), "name": ("项目名称", "name"), "industry": ("所属行业", "industry"),
    "lead_industry": ("主导产业", "lead_industry"), "town": ("所属镇办", "town"),
    "department": ("责任单位", "department"), "leader": ("分包领导", "leader"), "stage": ("项目阶段", "stage"),
    "drop_reason": ("终止原因", "drop_reason"),
}
#: Reached-date columns: header -> the stage whose reached_at it reports.
REACHED_DATES: dict[str, str] = {"入库日期": "planned", "签约日期": "signed", "开工日期": "started",
                                 "竣工日期": "completed", "投产日期": "operating"}
#: Plan columns (§6): header -> the milestone it plans.
PLAN_DATES: dict[str, str] = {"计划签约日期": "signed", "计划开工日期": "started", "计划竣工日期": "completed",
                              "计划投产日期": "operating"}
#: Stage cell -> stage number; 终止 (dropped) is 0.
STAGE_NAMES: dict[str, int] = {"谋划": 1, "洽谈": 2, "签约": 3, "开工": 4, "竣工": 5, "投产": 6, "运营": 6, "终止": 0}
STAGE_LABELS: dict[int, str] = {1: "谋划", 2: "洽谈", 3: "签约", 4: "开工", 5: "竣工", 6: "投产", 0: "终止"}
DROPPED = 0
#: The unit an amount header names -> yuan per unit.
AMOUNT_UNITS: dict[str, int] = {"亿元": YUAN_PER_YI, "万元": YUAN_PER_WAN, "元": 1}
_AMOUNT_HEADER = re.compile(r"^总投资[（(](亿元|万元|元)[)）]$")


@dataclass(frozen=True)
class Columns:
    """Where each known column of a ledger is: header position by field; unknown columns are ignored."""

    at: dict[str, int]
    amount_unit: int | None  #: yuan per unit of the amount column, if there is one


def columns_of(header: list, unit_line: str | None = None, pool: str | None = None) -> Columns:
    """Find the known columns by their headers (Chinese, or English in brackets in §7), compared as §7a says.

    ``unit_line`` (亿元, 万元, 元) is the unit of a 总投资 header that names none (else yuan); on a
    pool sheet (``pool``) the 项目阶段 column may be missing.
    """
    names = {cn: f for f, (cn, _) in HEADERS.items()} | {en: f for f, (_, en) in HEADERS.items()}
    names |= {h: f"reached:{s}" for h, s in REACHED_DATES.items()} | {h: f"plan:{m}" for h, m in PLAN_DATES.items()}
    at: dict[str, int] = {}
    unit = None
    for i, cell in enumerate(header):
        text = normalise_header(cell) or ""
        found = names.get(text)
        match = _AMOUNT_HEADER.match(text)
        if match or text == "investment":
            found, unit = "amount", AMOUNT_UNITS[match.group(1)] if match else 1
        elif text == "总投资":
            found, unit = "amount", AMOUNT_UNITS[unit_line] if unit_line else 1
        if found is None:
            continue
        if found in at:
            raise LedgerFileError(f"two columns mean {found!r}: {header[at[found]]!r} and {text!r}")
        at[found] = i
    missing = [HEADERS[f][0] for f in ("project_id", "stage") if f not in at and not (f == "stage" and pool)]
    if missing:
        raise LedgerFileError(f"required column(s) missing: {', '.join(missing)} (headers found: "
                              f"{', '.join(str(h) for h in header if h not in (None, ''))})")
    return Columns(at, unit)


@dataclass(frozen=True)
class LedgerRow:
    """A ledger row whose cells all read: what it says about one project."""

    sheet: str
    row: int
    project_id: str
    stage: int | None  #: 1-6, or 0 for 终止; None on a pool sheet: the pool's (``ledger_layout.implied_stage``)
    pool: str | None = None  #: the pool of the sheet the row is on
    name: str | None = None
    industry: str | None = None
    lead_industry: bool | None = None
    town: str | None = None
    department: str | None = None
    leader: str | None = None
    amount_yuan: int | None = None
    reached: dict[str, date] = field(default_factory=dict)  #: stage -> reached date
    plans: dict[str, date] = field(default_factory=dict)  #: milestone -> due date
    drop_reason: str | None = None


class _Bad(ValueError):
    pass


def _text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a spreadsheet keeps 1001 as 1001.0
    text = str(value).strip()
    return text or None


def _date(value, header: str) -> date | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    raise _Bad(f"{header} {value!r} is not a date (an Excel date or YYYY-MM-DD)")


def _number(value, header: str) -> Decimal | None:
    """A number cell (or its text, thousands separators allowed), exact; None when empty."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise _Bad(f"{header} {value!r} is not a number")
    try:
        number = Decimal(str(value).strip().replace(",", ""))
    except InvalidOperation:
        raise _Bad(f"{header} {value!r} is not a number") from None
    if not number.is_finite():
        raise _Bad(f"{header} {value!r} is not a number")
    if number < 0:
        raise _Bad(f"{header} {value!r} is negative")
    return number


def _amount(value, unit: int, header: str) -> int | None:
    number = _number(value, header)
    return None if number is None else int((number * unit).to_integral_value(ROUND_HALF_EVEN))


def _lead(value) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip()
    if not text:
        return None
    if text in ("是", "否"):
        return text == "是"
    raise _Bad(f"主导产业 {value!r} is not 是 or 否")


def read_row(sheet: str, number: int, cells: list, columns: Columns, header: list, month_end: date,
             pool: str | None = None) -> LedgerRow:
    """One row's cells → a :class:`LedgerRow`; raises ``_Bad`` with the reason a person can act on."""
    def cell(name: str):
        i = columns.at.get(name)
        return cells[i] if i is not None and i < len(cells) else None

    project_id = _text(cell("project_id"))
    if project_id is None:
        raise _Bad("项目编号 is empty")
    stage_text = _text(cell("stage"))
    if stage_text is None and pool:
        pass  # the sheet's pool says it (§7a), compared once the project's state is known
    elif stage_text not in STAGE_NAMES:
        raise _Bad(f"项目阶段 {stage_text!r} is not one of {', '.join(STAGE_NAMES)}")
    reached_on = {}
    for head, stage in REACHED_DATES.items():
        day = _date(cell(f"reached:{stage}"), head)
        if day is not None and day > month_end:
            raise _Bad(f"{head} {day.isoformat()} falls after the ledger's month (a ledger reports what has happened)")
        if day is not None:
            reached_on[stage] = day
    plans = {m: d for head, m in PLAN_DATES.items() if (d := _date(cell(f"plan:{m}"), head)) is not None}
    amount_header = header[columns.at["amount"]] if "amount" in columns.at else ""
    return LedgerRow(
        sheet=sheet, row=number, project_id=project_id, stage=STAGE_NAMES.get(stage_text), pool=pool,
        name=_text(cell("name")), industry=_text(cell("industry")), lead_industry=_lead(cell("lead_industry")),
        town=_text(cell("town")), department=_text(cell("department")), leader=_text(cell("leader")),
        amount_yuan=_amount(cell("amount"), columns.amount_unit or 1, str(amount_header)),
        reached=reached_on, plans=plans, drop_reason=_text(cell("drop_reason")),
    )
