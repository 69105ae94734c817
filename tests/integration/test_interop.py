"""An independent client (kcat) reads what the project wrote, and the project reads what kcat wrote."""

from __future__ import annotations

import json
import subprocess
from datetime import datetime

import pytest

from streams.contract.acceptance import check_record
from streams.kafkaio.consumer import read_topic
from tests.integration.test_ingest import funnel

pytestmark = pytest.mark.integration

EVENT = {"event_id": "kcat-1", "event_type": "project_planned", "schema_version": 2, "project_id": "KC-1",
         "occurred_at": "2023-05-01T10:00:00+08:00", "recorded_at": "2023-05-01T11:00:00+08:00",
         "name": "kcat 测试项目", "industry": "新材料"}


def test_kcat_reads_what_ingest_wrote(bootstrap, topic, tmp_path):
    feed = tmp_path / "feed.jsonl"
    feed.write_text(json.dumps(EVENT, ensure_ascii=False) + "\n" + json.dumps({**EVENT, "event_id": "kcat-2"}) + "\n")
    funnel("ingest", str(feed), "--topic", topic, bootstrap=bootstrap)
    out = subprocess.run(["kcat", "-C", "-b", bootstrap, "-t", topic, "-e", "-q", "-f", "%k\t%h\t%s\n"],
                         capture_output=True, text=True, check=True, timeout=60).stdout
    rows = [line.split("\t") for line in out.splitlines()]
    assert sorted(json.loads(value)["event_id"] for _, _, value in rows) == ["kcat-1", "kcat-2"]
    assert all(key == "KC-1" and "origin=" in hdrs for key, hdrs, _ in rows)


def test_the_project_reads_what_kcat_wrote(bootstrap, topic):
    line = f"KC-1\t{json.dumps(EVENT, ensure_ascii=False)}\n"
    subprocess.run(["kcat", "-P", "-b", bootstrap, "-t", topic, "-K", "\t"], input=line.encode(), check=True,
                   timeout=60)
    [record] = list(read_topic(bootstrap, topic))
    assert record.key == b"KC-1"
    assert check_record(record.value, datetime.now().astimezone()) == EVENT
