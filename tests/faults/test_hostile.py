"""Hostile input, through ingest and through a foreign producer writing straight to the topic.

Every hostile record ends in the dead-letter topic with a reason (or, for text a spreadsheet would
run, is kept verbatim and flagged by the feed suite); the processes keep running; memory stays bounded."""

from __future__ import annotations

import json

import psutil
import pytest

from streams.config import dlq_topic
from streams.kafkaio.consumer import read_topic
from tests.faults.test_worker_faults import AS_OF, SUMMARY, balanced
from tests.integration.test_ingest import funnel, headers
from tests.integration.test_worker import replayed
from tests.workers import workers  # noqa: F401  (fixture)

pytestmark = [pytest.mark.integration, pytest.mark.faults]

PLANNED = {"event_id": "h-1", "event_type": "project_planned", "schema_version": 2, "project_id": "H-1",
           "occurred_at": "2023-03-01T09:00:00+08:00", "recorded_at": "2023-03-01T10:00:00+08:00",
           "name": "恶意输入测试项目", "industry": "电子信息"}
SIGNED = {**PLANNED, "event_id": "h-2", "event_type": "contract_signed", "occurred_at": "2023-05-01T09:00:00+08:00",
          "recorded_at": "2023-05-01T10:00:00+08:00"}


def _json(event: dict) -> bytes:
    return json.dumps(event, ensure_ascii=False).encode()


#: name → (bytes, the reason they must be dead-lettered with)
HOSTILE: dict[str, tuple[bytes, str]] = {
    "invalid UTF-8": (b'{"event_id": "\xff\xfe", "project_id": "H-1"}', "malformed"),
    "10 MB line": (b'{"event_id": "h-big", "name": "' + b"x" * 10_000_000, "malformed"),
    "deep nesting": (b'{"a":' * 100_000 + b"1" + b"}" * 100_000, "malformed"),
    "huge number": (_json({**SIGNED, "event_id": "h-3", "investment_yuan": 10**40}), "schema"),
    "NaN": (_json(SIGNED)[:-1] + b', "investment_yuan": NaN}', "malformed"),
    "Infinity": (_json(SIGNED)[:-1] + b', "investment_yuan": -Infinity}', "malformed"),
    "control character": (_json({**SIGNED, "event_id": "h-4"}).replace(b"h-4", b"h\x01-4"), "malformed"),
    "NUL bytes": (b"\x00" * 64, "malformed"),
    "not an object": (b"[" + _json(SIGNED) + b"]", "malformed"),
}
FORMULA = "=cmd|' /C calc'!A0"


def test_hostile_lines_through_ingest(bootstrap, topic, tmp_path):
    feed = tmp_path / "hostile.jsonl"
    valid = [_json(PLANNED), _json(SIGNED)]
    feed.write_bytes(b"\n".join(valid + [raw for raw, _ in HOSTILE.values()]) + b"\n")
    result = json.loads(funnel("ingest", str(feed), "--topic", topic, "--json", bootstrap=bootstrap).stdout)
    assert result["received"] == len(valid) + len(HOSTILE) == result["delivered"] + result["dead_lettered"]

    dead = {int(headers(r)["origin"].rsplit(":", 1)[1]): r for r in read_topic(bootstrap, dlq_topic(topic))}
    for line, (name, (raw, reason)) in enumerate(HOSTILE.items(), start=len(valid) + 1):
        assert headers(dead[line])["reason"] == reason, name
        assert dead[line].value == raw, f"{name}: the DLQ must hold the bytes untouched"
    assert len(list(read_topic(bootstrap, topic))) == len(valid)


def test_formula_cells_and_broken_rows_of_a_csv_feed(bootstrap, topic, tmp_path):
    feed = tmp_path / "hostile.csv"
    header = "event_id,event_type,schema_version,project_id,occurred_at,recorded_at,name,industry,investment_yuan"
    rows = [
        f'h-1,project_planned,2,H-1,2023-03-01T09:00:00+08:00,2023-03-01T10:00:00+08:00,"{FORMULA}",电子信息,',
        "h-2,contract_signed,2,H-1,2023-05-01T09:00:00+08:00,2023-05-01T10:00:00+08:00,,,=1+1",
        "h-3,contract_signed,2,H-1,2023-05-01T09:00:00+08:00",
        'h-4,"unterminated,2,H-1,2023-05-01T09:00:00+08:00,,,,',
    ]
    feed.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    result = json.loads(funnel("ingest", str(feed), "--topic", topic, "--json", bootstrap=bootstrap).stdout)
    assert result["received"] == 4 and result["delivered"] == 1 and result["dead_lettered"] == 3
    reasons = {int(headers(r)["origin"].rsplit(":", 1)[1]): headers(r)["reason"]
               for r in read_topic(bootstrap, dlq_topic(topic))}
    assert reasons == {3: "schema", 4: "malformed", 5: "malformed"}
    warned = [f for f in result["quality"]["failures"] if f["column"] == "formula_like_text"]
    assert warned and warned[0]["severity"] == "warning"

    out = tmp_path / "out"
    funnel("replay", "--topic", topic, "--as-of", AS_OF, "--out", str(out), "--no-check", bootstrap=bootstrap)
    import polars as pl

    kept = pl.read_parquet(out / "project_state.parquet").filter(pl.col("project_id") == "H-1")
    assert kept["name"].to_list() == [FORMULA]  # kept verbatim, as text: nothing here evaluates it


@pytest.mark.timeout(600)
def test_a_foreign_producer_floods_and_attacks_the_worker(bootstrap, topic, tmp_path, workers):
    from kafka import KafkaProducer

    # The worker checks its aggregates every second, in a thread, while the agents keep changing
    # the tables: the check must never see them change under it.
    worker = workers(bootstrap, topic, "attacked", env={"FUNNEL_QUALITY_INTERVAL": "1"})
    at = [f"2023-0{1 + i % 9}-0{1 + i % 9}T00:00:00+08:00" for i in range(20_000)]
    flood = [{**PLANNED, "event_id": f"f-{i}", "project_id": "FLOOD", "event_type": "investment_revised",
              "investment_yuan": 10_000 + i, "occurred_at": at[i], "recorded_at": at[i]} for i in range(20_000)]
    producer = KafkaProducer(bootstrap_servers=[bootstrap], acks="all", max_request_size=16 * 1024 * 1024)
    try:
        producer.send(topic, key=b"FLOOD", value=_json({**PLANNED, "project_id": "FLOOD"})).get(timeout=60)
        worker.wait_for("/quality", lambda q: q["success"] is not None, timeout=180)  # checking from now on
        for event in flood:
            producer.send(topic, key=b"FLOOD", value=_json(event))
        for raw, _ in HOSTILE.values():
            producer.send(topic, key=b"H-1", value=raw)
        producer.send(topic, key=b"H-1", value=None)  # a tombstone: no value at all
        producer.flush(timeout=120)
    finally:
        producer.close()

    expected = replayed(bootstrap, topic, AS_OF)
    total = expected["accounting"]["received"]
    assert total == 1 + len(flood) + len(HOSTILE) + 1 and balanced(expected)
    assert expected["accounting"]["accepted"] == 1 + len(flood)
    live = worker.wait_for(SUMMARY, lambda d: d["accounting"]["received"] >= total, timeout=400)
    assert live == expected and worker.proc.poll() is None, "the worker must keep running"
    assert live["accounting"]["rejected"]["malformed"] == sum(r == "malformed" for _, r in HOSTILE.values()) + 1

    rss_mb = psutil.Process(worker.proc.pid).memory_info().rss / 2**20
    assert rss_mb < 1_000, f"worker holds {rss_mb:.0f} MB after a 10 MB record and a 20,000-event flood"
    by_worker = [headers(r)["reason"] for r in read_topic(bootstrap, dlq_topic(topic))
                 if headers(r).get("rejected_by") == "worker"]
    assert sorted(by_worker) == sorted([r for _, r in HOSTILE.values()] + ["malformed"])
    assert "Crashed" not in worker.log_path.read_text(errors="replace")
