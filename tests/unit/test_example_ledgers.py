"""The example ledgers `make demo` imports, laid out as offices lay them out (§7a), still mean what
examples/make_ledgers.py says they mean: the same events as their clean rows, their other rows skipped."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from streams import synthetic
from streams.feeds.ledger_import import fold_as_of, plan_import
from streams.replay import files_received_at, log_from_files
from streams.core.ledger import month_end_of

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "ledgers" / "2024-12"


@pytest.fixture(scope="module")
def as_of_e(tmp_path_factory):
    """The projects, trips and issues of the demo's feed as of December 2024's end."""
    seed = tmp_path_factory.mktemp("demo") / "seed.jsonl"
    synthetic.generate_file(seed, projects=600, seed=2023)  # what `make demo` generates
    return fold_as_of(log_from_files([seed], files_received_at([seed])), month_end_of("2024-12")[0])


@pytest.fixture(scope="module")
def state(as_of_e):
    return as_of_e.state


@pytest.mark.parametrize(("name", "events", "new", "rejected"), [
    ("区商务局.xlsx", {"contract_signed": 1, "construction_started": 1, "milestone_planned": 3,
                     "project_reassigned": 1, "project_planned": 1}, 1, {"ledger_schema": 1}),
    ("区工信局.xls", {"investment_revised": 1, "milestone_planned": 1, "project_dropped": 1}, 0, {}),
    ("区发改委.csv", {}, 0, {}),
])
def test_an_example_ledger_makes_the_months_updates_and_nothing_else(state, name, events, new, rejected):
    _, result = plan_import(EXAMPLES / name, "2024-12", state, datetime(2025, 1, 2, tzinfo=timezone.utc))
    doc = result.as_dict()
    assert (doc["events"], doc["new"], doc["rejected"], doc["warnings"]) == (events, new, rejected, {})
    assert doc["rows"] == doc["unchanged"] + doc["changed"] + doc["new"] + sum(doc["rejected"].values())


def test_the_office_layouts_are_read_as_such_and_every_row_is_accounted_for(state):
    now = datetime(2025, 1, 2, tzinfo=timezone.utc)
    dressed, result = plan_import(EXAMPLES / "区商务局.xlsx", "2024-12", state, now)
    (layout,) = dressed.layouts
    assert layout.header_row == 5  # title, 填报单位 line, blank row, group headers above it
    kinds = result.as_dict()["skipped"]
    assert kinds["note"] == 2 and kinds["total"] == kinds["heading"] + 1  # a 小计 per section, and the 合计
    assert result.warnings == []  # every 小计 and the 合计 add up
    planned = next(e.event for e in result.events if e.event["event_type"] == "project_planned")
    assert planned["department"] == "区商务局"  # from 责任单位 merged down its section, not on its own row
    assert 4 + 1 + result.rows + sum(kinds.values()) == layout.skipped[-1].row  # every row of the sheet

    pools, result = plan_import(EXAMPLES / "区工信局.xls", "2024-12", state, now)
    assert [s.sheet for s in pools.layouts] == ["谋划项目库", "招引项目库", "签约项目库", "落地项目库", "终止项目"]
    assert [(s.sheet, s.kind) for s in pools.skipped_sheets] == [("封面", "not_a_ledger")]
    assert result.as_dict()["skipped"] == {"total": 5}

    gbk, result = plan_import(EXAMPLES / "区发改委.csv", "2024-12", state, now)
    assert (gbk.encoding, gbk.layouts[0].header_row, result.rows) == ("gb18030", 2, result.unchanged)


def test_the_commerce_bureaus_problem_list_and_trip_register_make_their_months_events(as_of_e):
    """§11: 区商务局.xlsx's 问题清单 raises three problems of its projects (one resolved), rejects a 状态 typed
    wrong, and its 外出招商 reports two trips; their titles, totals and notes are skipped."""
    _, result = plan_import(EXAMPLES / "区商务局.xlsx", "2024-12", as_of_e.state, datetime(2025, 1, 2, tzinfo=timezone.utc),
                            trips=as_of_e.trips, issues=as_of_e.issues)
    issues, trips = (o.as_dict() for o in result.others)
    assert (issues["sheet"], issues["header_row"], issues["rows"], issues["new"], issues["rejected"]) == (
        "问题清单", 2, 4, 3, {"ledger_schema": 1})
    assert issues["events"] == {"issue_raised": 3, "issue_resolved": 1}
    assert issues["rejected_rows"][0]["row"] == 6 and "状态 '办理中'" in issues["rejected_rows"][0]["detail"]
    assert (trips["sheet"], trips["rows"], trips["new"], trips["events"]) == ("外出招商", 2, 2, {"trip_reported": 2})
    assert issues["skipped"] == trips["skipped"] == {"total": 1, "note": 1}
