"""The example ledgers `make demo` imports still mean what examples/make_ledgers.py says they mean."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from streams import synthetic
from streams.ledgers import plan_import, state_as_of
from streams.replay import files_received_at, log_from_files
from streams.core.ledger import month_end_of

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "ledgers" / "2024-12"


@pytest.fixture(scope="module")
def state(tmp_path_factory):
    seed = tmp_path_factory.mktemp("demo") / "seed.jsonl"
    synthetic.generate_file(seed, projects=600, seed=2023)  # what `make demo` generates
    return state_as_of(log_from_files([seed], files_received_at([seed])), month_end_of("2024-12")[0])


@pytest.mark.parametrize(("name", "events", "new", "rejected"), [
    ("区商务局.xlsx", {"contract_signed": 1, "construction_started": 1, "milestone_planned": 3,
                     "project_reassigned": 1, "project_planned": 1}, 1, {"ledger_schema": 1}),
    ("区工信局.xlsx", {"investment_revised": 1, "milestone_planned": 1, "project_dropped": 1}, 0, {}),
    ("区发改委.csv", {}, 0, {}),
])
def test_an_example_ledger_makes_the_months_updates_and_nothing_else(state, name, events, new, rejected):
    _, result = plan_import(EXAMPLES / name, "2024-12", state, datetime(2025, 1, 2, tzinfo=timezone.utc))
    doc = result.as_dict()
    assert (doc["events"], doc["new"], doc["rejected"], doc["warnings"]) == (events, new, rejected, {})
    assert doc["rows"] == doc["unchanged"] + doc["changed"] + doc["new"] + sum(doc["rejected"].values())
