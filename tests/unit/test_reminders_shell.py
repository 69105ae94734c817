"""The reminders' shells without a broker: ``funnel remind --dry-run`` over a file, the record's JSON, and the
worker's midnight hook (once per CST day, a failed day tried again)."""

from __future__ import annotations

import asyncio
import json
from datetime import date

import pytest
from click.testing import CliRunner

from streams.cli import main
from streams.reminders import worker as hook
from streams.reminders.publish import records_of
from tests.integration.test_remind import D, EXPECTED, history, write_feed
from tests.unit.history import RECEIVED


def test_remind_dry_run_prints_the_days_reminders_by_kind_and_as_json(tmp_path):
    feed = write_feed(tmp_path / "history.jsonl", history())
    runner = CliRunner()
    done = runner.invoke(main, ["remind", "--day", D.isoformat(), "--from-file", str(feed), "--dry-run", "--json"])
    assert done.exit_code == 0, done.output
    doc = json.loads(done.stdout)
    assert doc["written"] == 0 and doc["topic"] is None
    assert {r["reminder_id"] for r in doc["reminders"]} == EXPECTED
    assert doc["by_kind"] == {"colour_worsened": 1, "red_persisting": 1, "milestone_due": 2, "issue_overdue": 1}
    table = runner.invoke(main, ["remind", "--day", D.isoformat(), "--from-file", str(feed), "--dry-run"])
    assert table.exit_code == 0 and "red_persisting" in table.stdout and "nothing written" in table.stderr


def test_remind_refuses_a_day_that_has_not_ended(tmp_path):
    from streams.core.clock import today_cst

    feed = write_feed(tmp_path / "history.jsonl", history())
    done = CliRunner().invoke(main, ["remind", "--day", today_cst().isoformat(), "--from-file", str(feed),
                                     "--dry-run"])
    assert done.exit_code == 2 and "has not ended yet" in done.output


def test_a_record_is_the_contracts_json_keyed_by_its_id(tmp_path):
    from streams.reminders.publish import from_files

    rows = from_files([write_feed(tmp_path / "history.jsonl", history())], D)
    key, value = next((k, v) for k, v in records_of(rows) if k.startswith(b"issue_overdue"))
    doc = json.loads(value)
    assert key == b"issue_overdue:C:2024-05-27:I1" and doc["reminder_id"] == key.decode()
    assert set(doc) == {"reminder_id", "kind", "project_id", "project_name", "about", "milestone", "issue_id",
                        "computed_for", "leader", "department", "colour", "due", "text"}
    assert (doc["about"], doc["due"], doc["computed_for"], doc["milestone"]) == ("2024-05-27", "2024-05-27",
                                                                                 "2024-05-31", None)


class _Producer:
    """Records what is sent; fails the first ``failures`` sends."""

    def __init__(self, failures: int = 0):
        self.sent: list[tuple[str, bytes, bytes]] = []
        self.failures = failures

    async def send(self, topic, key, value, partition, timestamp, headers):
        if self.failures:
            self.failures -= 1
            raise ConnectionError("broker away")
        self.sent.append((topic, key, value))
        done = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


def test_the_midnight_hook_writes_each_day_once_and_tries_a_failed_day_again(monkeypatch):
    from streams.core.log import received_log

    records = [json.dumps(e, ensure_ascii=False).encode() for e in history()]
    log = received_log(enumerate(records, start=1), RECEIVED)
    monkeypatch.setattr(hook, "of_snapshot", lambda snapshot, day: hook.compute(snapshot, day))  # a log, not a store
    today = {"value": date(2024, 6, 1)}  # D = 2024-05-31
    monkeypatch.setattr(hook, "today_cst", lambda: today["value"])
    reminders = hook.MidnightReminders("unused:9092", "reminders")
    reminders.topics_ready = True  # no broker: the topics are there
    failing = _Producer(failures=1)
    with pytest.raises(ConnectionError):
        asyncio.run(reminders.tick(failing, lambda: log))
    assert reminders.due() == D  # not done: the next tick tries again
    producer = _Producer()
    assert asyncio.run(reminders.tick(producer, lambda: log)) == len(EXPECTED)
    assert {k.decode() for _, k, _ in producer.sent} == EXPECTED and {t for t, _, _ in producer.sent} == {"reminders"}
    assert asyncio.run(reminders.tick(producer, lambda: log)) is None and len(producer.sent) == len(EXPECTED)
    today["value"] = date(2024, 6, 2)  # after the next midnight: the next day, once
    assert asyncio.run(reminders.tick(producer, lambda: log)) is not None and reminders.done == date(2024, 6, 1)
