"""``funnel remind`` against a real broker: a history ingested into a topic gives exactly the reminders §10 defines
for it, written to the compacted reminders topic keyed by reminder_id; the same from the file; a re-run writes the
same records again."""

from __future__ import annotations

import json
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

import pytest

from streams.kafkaio.consumer import read_topic
from streams.reminders.publish import from_files, records_of
from tests.integration.test_ingest import funnel
from tests.unit.history import ev
from tests.unit.test_trips_and_bottlenecks import issue
from tests.workers import workers  # noqa: F401 (a fixture)

pytestmark = pytest.mark.integration

D = date(2024, 5, 31)
#: What §10 says of :func:`history` for D, worked out by hand (see there).
EXPECTED = {"red_persisting:A:2024-05-31:", "milestone_due:B:2024-06-03:signed", "issue_overdue:C:2024-05-27:I1",
            "milestone_due:D:2024-05-29:started", "colour_worsened:D:2024-05-30:"}


def history() -> list[dict]:
    """A: signing due 2023-12-01, red from 2024-03-01 (over 90 days late): red at 03-31, 04-30 and 05-31.
    B: signing due 2024-06-03, within 7 days from 05-27. C: an issue due 05-27, open, overdue from 05-28.
    D: a start due 05-29 (due within 7 days from 05-22), yellow from 05-30 (blue before)."""
    return [ev("A", "planned", "2023-06-01", leader="王伟", department="区商务局"),
            ev("A", "plan", "2023-06-01", milestone="signed", due="2023-12-01"),
            ev("B", "planned", "2024-01-05", leader="李强", department="区发改委"),
            ev("B", "plan", "2024-01-05", milestone="signed", due="2024-06-03"),
            ev("C", "planned", "2024-03-01", leader="张敏", department="侯寨乡"),
            issue("C", "raised", "I1", "2024-03-02", due="2024-05-27", department="区自然资源局"),
            ev("D", "planned", "2024-01-05", leader="赵磊", department="区工信局"),
            ev("D", "plan", "2024-01-05", milestone="started", due="2024-05-29")]


def write_feed(path: Path, events: list[dict]) -> Path:
    path.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in events), encoding="utf-8")
    return path


def topic_records(bootstrap: str, topic: str) -> list[tuple[bytes, bytes]]:
    return [(r.key, r.value) for r in read_topic(bootstrap, topic)]


def test_remind_writes_the_days_reminders_keyed_by_id_and_a_rerun_the_same(bootstrap, topic, tmp_path):
    feed = write_feed(tmp_path / "history.jsonl", history())
    funnel("ingest", str(feed), "--topic", topic, bootstrap=bootstrap)
    reminders = f"reminders-{uuid.uuid4().hex[:8]}"
    done = funnel("remind", "--day", D.isoformat(), "--topic", topic, "--reminder-topic", reminders, "--json",
                  bootstrap=bootstrap)
    doc = json.loads(done.stdout)
    assert doc["written"] == 5 and doc["by_kind"] == {"colour_worsened": 1, "red_persisting": 1, "milestone_due": 2,
                                                      "issue_overdue": 1}
    written = topic_records(bootstrap, reminders)
    assert {k.decode() for k, _ in written} == EXPECTED and len(written) == 5
    values = {k.decode(): json.loads(v) for k, v in written}
    a = values["red_persisting:A:2024-05-31:"]
    assert (a["kind"], a["project_id"], a["about"], a["computed_for"], a["leader"], a["department"], a["colour"]) == (
        "red_persisting", "A", "2024-05-31", "2024-05-31", "王伟", "区商务局", "red")
    assert "连续三个月末为红色" in a["text"]
    c = values["issue_overdue:C:2024-05-27:I1"]
    assert (c["issue_id"], c["due"], c["milestone"]) == ("I1", "2024-05-27", None)
    # the file gives the same records as the topic; a re-run writes them again, byte for byte
    assert sorted(records_of(from_files([feed], D))) == sorted(written)
    funnel("remind", "--day", D.isoformat(), "--topic", topic, "--reminder-topic", reminders, bootstrap=bootstrap)
    again = topic_records(bootstrap, reminders)
    assert len(again) == 10 and set(again) == set(written)


def test_the_reminders_topic_is_compacted_and_a_dry_run_writes_nothing(bootstrap, tmp_path):
    from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient

    feed = write_feed(tmp_path / "history.jsonl", history())
    reminders = f"reminders-{uuid.uuid4().hex[:8]}"
    dry = funnel("remind", "--day", D.isoformat(), "--from-file", str(feed), "--reminder-topic", reminders,
                 "--dry-run", bootstrap=bootstrap)
    assert "red_persisting" in dry.stdout and "nothing written" in dry.stderr
    admin = KafkaAdminClient(bootstrap_servers=bootstrap.split(","))
    try:
        assert reminders not in admin.list_topics()
        funnel("remind", "--day", D.isoformat(), "--from-file", str(feed), "--reminder-topic", reminders,
               bootstrap=bootstrap)
        assert {reminders, f"{reminders}.dlq"} <= set(admin.list_topics())
        described = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, reminders)])
        (configs,) = [by_name[reminders] for by_name in described.values()]  # {type: {name: {key: data}}}
        policy = configs["cleanup.policy"]
        assert (policy.get("value") if isinstance(policy, dict) else policy) == "compact", policy
    finally:
        admin.close()
    assert {k.decode() for k, _ in topic_records(bootstrap, reminders)} == EXPECTED


def relative_history(d: date) -> tuple[list[dict], set[str]]:
    """A history about the day ``d`` (the day just ended, for a live worker) and the reminders §10 gives for it,
    worked out by hand: A red since d - 210 (a signing due d - 300), so red at the last month end and the two
    before (a red_persisting about it when it is no earlier than d - 7); B a signing due d + 3; C an open issue
    due d - 4; D a start due d - 2, yellow from d - 1."""
    def day(k: int) -> str:
        return (d + timedelta(days=k)).isoformat()

    events = [ev("A", "planned", day(-400), leader="王伟", department="区商务局"),
              ev("A", "plan", day(-400), milestone="signed", due=day(-300)),
              ev("B", "planned", day(-150), leader="李强", department="区发改委"),
              ev("B", "plan", day(-150), milestone="signed", due=day(3)),
              ev("C", "planned", day(-60), leader="张敏", department="侯寨乡"),
              issue("C", "raised", "I1", day(-59), due=day(-4), department="区自然资源局"),
              ev("D", "planned", day(-150), leader="赵磊", department="区工信局"),
              ev("D", "plan", day(-150), milestone="started", due=day(-2))]
    expected = {f"milestone_due:B:{day(3)}:signed", f"issue_overdue:C:{day(-4)}:I1",
                f"milestone_due:D:{day(-2)}:started", f"colour_worsened:D:{day(-1)}:"}
    month_end = d.replace(day=1) - timedelta(days=1) if (d + timedelta(days=1)).day != 1 else d
    if month_end >= d - timedelta(days=7):
        expected.add(f"red_persisting:A:{month_end}:")
    return events, expected


def test_the_worker_writes_after_midnight_the_reminders_funnel_remind_writes(bootstrap, topic, tmp_path, workers):
    from streams.core.clock import today_cst

    d = today_cst() - timedelta(days=1)  # the day just ended: the live worker computes it when it starts
    events, expected = relative_history(d)
    funnel("ingest", str(write_feed(tmp_path / "history.jsonl", events)), "--topic", topic, bootstrap=bootstrap)
    by_worker, by_command = (f"reminders-{uuid.uuid4().hex[:8]}" for _ in range(2))
    worker = workers(bootstrap, topic, env={"FUNNEL_REMINDER_TOPIC": by_worker})
    worker.wait_for("/summary", lambda doc: doc.get("projects", {}).get("total") == 4)
    deadline = time.monotonic() + 180
    written: dict[str, dict] = {}
    while time.monotonic() < deadline and set(written) != expected:
        time.sleep(2)
        try:
            written = {k.decode(): json.loads(v) for k, v in topic_records(bootstrap, by_worker)
                       if json.loads(v)["computed_for"] == d.isoformat()}
        except Exception:  # noqa: BLE001 (the topic is created by the worker's first computation)
            continue
    assert set(written) == expected, f"worker wrote {sorted(written)}; see {worker.log_path}"
    funnel("remind", "--day", d.isoformat(), "--topic", topic, "--reminder-topic", by_command, bootstrap=bootstrap)
    assert {k.decode(): json.loads(v) for k, v in topic_records(bootstrap, by_command)} == written
