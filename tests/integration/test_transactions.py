"""A topic written in transactions by a producer the project did not write (librdkafka): committed ones,
aborted ones between them that would do harm if read (phantom projects, phantom advances, and twins of
later committed records), and one left open at the end. Replay, two workers on six partitions, `funnel
status` and the ledger import all see exactly the committed records, as a file replay of those records
does (DOMAIN.md §3, Transactions); no gap is taken for a skipped record."""

from __future__ import annotations

import json
import time
import uuid

import pytest

from streams import synthetic
from streams.kafkaio.topics import ensure_topics, event_topics
from tests.integration.test_ingest import funnel
from tests.transactional import write_in_transactions
from tests.workers import workers  # noqa: F401  (fixture)

pytestmark = pytest.mark.integration
AS_OF = "2024-12-31"
FIGURES = ("accounting", "projects", "pools", "flows", "supervision")


@pytest.fixture(scope="module")
def written(bootstrap, tmp_path_factory):
    """The transactional topic (six partitions), its committed records as a file, and the open transaction."""
    work = tmp_path_factory.mktemp("transactions")
    topic = f"tx-{uuid.uuid4().hex[:8]}"
    ensure_topics(bootstrap, event_topics(topic, 6))
    feed = work / "feed.jsonl"
    synthetic.generate_file(feed, projects=300, seed=22)
    log = write_in_transactions(bootstrap, topic, feed.read_bytes().splitlines(), leave_open=12)
    committed = work / "committed.jsonl"
    log.write_committed_feed(committed)
    yield topic, committed, log, work
    log.abort_open()


def file_replay(committed, *args) -> dict:
    return json.loads(funnel("replay", "--from-file", str(committed), "--as-of", AS_OF, *args, "--json",
                             bootstrap="unused:1").stdout)


def figures(doc: dict) -> dict:
    return {k: doc[k] for k in FIGURES}


def test_replay_reads_the_committed_records_up_to_the_open_transaction(bootstrap, written):
    topic, committed, log, _ = written
    assert len(log.aborted) >= 60 and log.open_records == 12
    reference = file_replay(committed)
    for readers in ("1", "3"):
        done = funnel("replay", "--topic", topic, "--as-of", AS_OF, "--readers", readers, "--json",
                      bootstrap=bootstrap)
        doc = json.loads(done.stdout)
        assert figures(doc) == figures(reference)
        assert doc["accounting"]["received"] == len(log.committed)
        position = doc["topic"]
        # The open transaction's records and nothing else are held back (no marker after them yet).
        assert position["not_visible_yet"] == log.open_records and position["held_back"]
        assert "held back by a transaction still open" in done.stderr
    table = funnel("replay", "--topic", topic, "--as-of", AS_OF, bootstrap=bootstrap).stdout
    assert f"{log.open_records} offsets of {topic} not visible yet" in table


def test_two_workers_and_status_see_the_committed_records_and_no_gap(bootstrap, written, workers):
    topic, committed, log, work = written
    reference = file_replay(committed)
    first = workers(bootstrap, topic, "first")
    second = workers(bootstrap, topic, "second", app_id=first.app_id)
    summary = f"/summary?as_of={AS_OF}"
    for w in (first, second):
        live = w.wait_for(summary, lambda d: d["accounting"]["received"] >= len(log.committed), timeout=240)
        assert figures(live) == figures(reference)
    deadline = time.monotonic() + 60
    while True:  # the group commits every few seconds, up to the last stable offsets (markers included)
        status = json.loads(funnel("status", "--topic", topic, "--app-id", first.app_id, "--worker-url",
                                   f"http://127.0.0.1:{first.port}", "--json", bootstrap=bootstrap).stdout)
        group = status["worker_group"]
        if group["lag"] == 0 or time.monotonic() > deadline:
            break
        time.sleep(2)
    assert group["lag"] == 0 and group["end"] == status["topics"][topic]["offsets"]
    assert status["topics"][topic]["held_back"] == log.open_records
    held = status["open_transactions"]
    assert held and all(t["topic"] == topic and t["open_for_s"] >= 0 for t in held)
    assert sum(t["held_back"] for t in held) == log.open_records
    for w in (first, second):
        text = w.log_path.read_text(errors="replace")
        assert "skipped them" not in text and "read from the topic" not in text, w.log_path


def test_the_ledger_import_reads_the_committed_records(bootstrap, written):
    topic, committed, _, work = written
    ledger = work / "exported.xlsx"
    funnel("ledger", "export", "--as-of", AS_OF, "--from-file", str(committed), "--out", str(ledger),
           bootstrap=bootstrap)
    reports = {}
    for name, source in (("topic", ["--topic", topic]), ("file", ["--from-file", str(committed)])):
        out = work / f"events-{name}.jsonl"
        reports[name] = json.loads(funnel("ledger", "import", str(ledger), "--month", "2024-12", *source, "--out",
                                          str(out), "--json", bootstrap=bootstrap).stdout)
        reports[name]["events_written"] = out.read_text()
    for report in reports.values():
        report.pop("written")  # the paths it wrote to
    # Read from the topic, the aborted phantom projects and advances would be missing from the ledger or
    # ahead of it; read committed, the exported ledger means nothing new, as against the file.
    assert reports["topic"] == reports["file"]
    assert reports["topic"]["events_written"] == ""
