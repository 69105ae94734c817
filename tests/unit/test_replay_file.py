"""A file replay is a pure function of the file: records without recorded_at are judged as received
at the files' modification time (or --received-at), never at the clock of the replay."""

from __future__ import annotations

import json
import os
from datetime import datetime

import pytest
from click.testing import CliRunner

from streams import cli
from streams.core import clock
from streams.core.clock import CST
from tests.unit.history import ev, lines

WRITTEN = datetime(2024, 1, 5, 10, 0, tzinfo=CST)  # the feed's modification time


def unstamped(event: dict) -> dict:
    return {k: v for k, v in event.items() if k != "recorded_at"}


@pytest.fixture
def feed(tmp_path):
    path = tmp_path / "feed.jsonl"
    path.write_bytes(b"\n".join(lines([
        ev("P", "planned", "2023-12-01", recorded_at="2023-12-02T09:00:00+08:00", investment_yuan=100),
        unstamped(ev("P", "signed", "2024-01-04")),
        unstamped(ev("P", "started", "2024-01-07T12:00:00+08:00")),  # 2 days after the file was written
    ])) + b"\n")
    os.utime(path, (WRITTEN.timestamp(), WRITTEN.timestamp() + 0.75))
    return path


def replay(*args: str) -> str:
    done = CliRunner().invoke(cli.main, ["replay", *args], catch_exceptions=False)
    assert done.exit_code == 0, done.output
    return done.output


def replay_on(day: datetime, monkeypatch, *args: str) -> str:
    monkeypatch.setattr(clock, "now_cst", lambda: day)
    return replay(*args)


def test_two_replays_days_apart_write_the_same_summary(feed, tmp_path, monkeypatch):
    view = ["--from-file", str(feed), "--as-of", "2024-12-31", "--no-check"]
    replay_on(datetime(2024, 1, 6, 9, 0, tzinfo=CST), monkeypatch, *view, "--out", str(tmp_path / "first"))
    replay_on(datetime(2024, 3, 1, 9, 0, tzinfo=CST), monkeypatch, *view, "--out", str(tmp_path / "later"))
    first = (tmp_path / "first" / "summary.json").read_bytes()
    assert first == (tmp_path / "later" / "summary.json").read_bytes()
    doc = json.loads(first)
    assert doc["received_at"] == "2024-01-05T10:00:00+08:00"           # the mtime, in CST, to the second
    assert doc["accounting"] == {"received": 3, "accepted": 2, "duplicates": 0,
                                 "rejected": {"future_occurred_at": 1}}
    assert doc["pools"]["signed"] == {"count": 1, "investment_yuan": 100}
    assert list(doc)[:4] == ["as_of", "known_at", "received_at", "accounting"]


def test_a_record_two_days_after_the_file_is_in_the_future_on_every_run(feed, monkeypatch):
    for today in (datetime(2024, 1, 5, 11, 0, tzinfo=CST), datetime(2026, 11, 25, tzinfo=CST)):
        doc = json.loads(replay_on(today, monkeypatch, "--from-file", str(feed), "--as-of", "2024-12-31", "--json"))
        assert doc["accounting"]["rejected"] == {"future_occurred_at": 1}
        assert doc["received_at"] == "2024-01-05T10:00:00+08:00"


def test_received_at_can_be_set(feed):
    doc = json.loads(replay("--from-file", str(feed), "--as-of", "2024-12-31", "--json",
                            "--received-at", "2024-01-07T00:00:00Z"))
    assert doc["received_at"] == "2024-01-07T00:00:00+00:00"
    assert doc["accounting"]["rejected"] == {} and doc["pools"]["landed"]["count"] == 1


def test_the_table_shows_received_at(feed):
    assert "received at 2024-01-05T10:00:00+08:00" in replay("--from-file", str(feed), "--as-of", "2024-12-31")


def test_the_newest_of_several_files_counts(feed, tmp_path):
    older = tmp_path / "older.jsonl"
    older.write_bytes(b"\n".join(lines([ev("Q", "planned", "2023-06-01")])) + b"\n")
    os.utime(older, (WRITTEN.timestamp() - 86_400 * 30,) * 2)
    doc = json.loads(replay("--from-file", str(older), "--from-file", str(feed), "--as-of", "2024-12-31", "--json"))
    assert doc["received_at"] == "2024-01-05T10:00:00+08:00"


def test_the_stamp_gives_no_recorded_at_to_a_known_at_view(feed):
    # DOMAIN.md §4: a record without a readable recorded_at is left out of a known_at view
    doc = json.loads(replay("--from-file", str(feed), "--as-of", "2024-12-31", "--known-at", "2024-12-31",
                            "--received-at", "2024-01-07T00:00:00+08:00", "--json"))
    assert doc["accounting"] == {"received": 1, "accepted": 1, "duplicates": 0, "rejected": {}}
    assert doc["pools"]["planning"]["count"] == 1


@pytest.mark.parametrize("args, message", [
    (["--received-at", "2024-01-07T00:00:00"], "offset"),
    (["--received-at", "yesterday"], "offset"),
])
def test_received_at_needs_an_offset(feed, args, message):
    done = CliRunner().invoke(cli.main, ["replay", "--from-file", str(feed), *args])
    assert done.exit_code == 2 and message in done.output


def test_received_at_is_only_for_files():
    done = CliRunner().invoke(cli.main, ["replay", "--topic", "t", "--received-at", "2024-01-07T00:00:00+08:00"])
    assert done.exit_code == 2 and "--from-file" in done.output
