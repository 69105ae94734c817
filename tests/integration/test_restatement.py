"""Restatements through the real broker (issue 26): a feed ingested, its 2024-Q3 bulletin made from the topic, late
records ingested after it; `funnel diff --bulletin` names exactly them with their topic:partition:offset and origin,
`funnel bulletin --reproduce` gives the bulletin's figures again, and the Q4 bulletin's DOCX has 数据更正."""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime, timezone

import polars as pl
import pytest
from docx import Document as read_docx

from streams import synthetic
from streams.core.log import received_log
from streams.core.summary import View, fold_log
from tests.integration.test_ingest import funnel

pytestmark = pytest.mark.integration


def _late_records(feed) -> list[dict]:
    """Two projects in the attraction pool at the end of Q3, signed on 15 September, reported in November."""
    lines = feed.read_bytes().splitlines()
    state = fold_log(received_log(enumerate(lines, 1), datetime(2025, 1, 1, tzinfo=timezone.utc)),
                     View(date(2024, 9, 30))).state
    projects = state.filter(pl.col("pool") == "attraction").sort("project_id")["project_id"].head(2).to_list()
    return [{"event_id": f"late-{uuid.uuid4().hex[:8]}", "event_type": "contract_signed", "schema_version": 2,
             "project_id": p, "occurred_at": "2024-09-15T10:00:00+08:00",
             "recorded_at": "2024-11-02T10:00:00+08:00", "investment_yuan": 300_000_000} for p in projects]


@pytest.fixture(scope="module")
def restated(bootstrap, tmp_path_factory):
    """One topic: the feed, the Q3 bulletin, then the late records (ingested from their own file)."""
    from streams.kafkaio.topics import ensure_topics, event_topics

    work = tmp_path_factory.mktemp("restatement")
    topic = f"events-{uuid.uuid4().hex[:10]}"
    ensure_topics(bootstrap, event_topics(topic))
    feed = work / "seed.jsonl"
    synthetic.generate_file(feed, projects=150, seed=7)
    funnel("ingest", str(feed), "--topic", topic, bootstrap=bootstrap)
    out = work / "bulletins"
    q3 = json.loads(funnel("bulletin", "--period", "2024-Q3", "--topic", topic, "--out", str(out), "--format",
                           "docx", "--json", bootstrap=bootstrap).stdout)
    late = _late_records(feed)
    late_file = work / "late.jsonl"
    late_file.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in late), encoding="utf-8")
    funnel("ingest", str(late_file), "--topic", topic, bootstrap=bootstrap)
    return topic, out, q3, late, late_file


def test_diff_of_the_bulletin_names_the_late_records(bootstrap, restated):
    topic, out, q3, late, late_file = restated
    done = json.loads(funnel("diff", "--bulletin", q3["files"]["docx"], "--json", bootstrap=bootstrap).stdout)
    changes = {c["figure"]: c for c in done["changes"]}
    signed = changes["bulletin.flows.signed"]
    assert signed["delta"] == 2
    assert sorted(r["event_id"] for r in signed["records"]) == sorted(e["event_id"] for e in late)
    for record in signed["records"]:
        assert record["kind"] == "late" and record["recorded_at"].startswith("2024-11-02T02:00:00")
        assert record["origin"].startswith(f"{topic}:") and f"({late_file}:" in record["origin"]
    # every figure that changed is explained by those two records and no other
    named = {r["event_id"] for c in done["changes"] for r in c["records"]}
    assert named == {e["event_id"] for e in late}
    assert any(s.startswith("2024年第三季度新签约项目数由") and "2 条迟报记录" in s for s in done["sentences"])


def test_the_bulletin_is_reproduced_from_its_offsets(bootstrap, restated):
    _, _, q3, _, _ = restated
    done = json.loads(funnel("bulletin", "--reproduce", q3["files"]["docx"], "--json", bootstrap=bootstrap).stdout)
    assert done["equal"] and done["differences"] == [] and done["figures"] > 100


def test_the_next_bulletin_has_its_corrections(bootstrap, restated):
    topic, out, _, _, _ = restated
    q4 = json.loads(funnel("bulletin", "--period", "2024-Q4", "--topic", topic, "--out", str(out), "--format",
                           "docx", "--json", bootstrap=bootstrap).stdout)
    assert q4["corrections"] > 0
    paragraphs = [p.text for p in read_docx(q4["files"]["docx"]).paragraphs]
    at = next(i for i, p in enumerate(paragraphs) if p.endswith("数据更正"))
    section = paragraphs[at + 1:]
    assert any(p.startswith("2024年第三季度新签约项目数由") and "更正为" in p and "2 条迟报记录" in p for p in section)
