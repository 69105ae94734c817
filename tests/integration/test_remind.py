"""``funnel remind`` against a real broker: a history ingested into a topic gives exactly the reminders §10 defines
for it, written to the compacted reminders topic keyed by reminder_id; the same from the file; a re-run writes the
same records again."""

from __future__ import annotations

import json
import uuid
from datetime import date
from pathlib import Path

import pytest

from streams.kafkaio.consumer import read_topic
from streams.reminders.publish import from_files, records_of
from tests.integration.test_ingest import funnel
from tests.unit.history import ev
from tests.unit.test_trips_and_bottlenecks import issue

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
