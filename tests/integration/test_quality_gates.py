"""Quality gates through the real broker and the CLI: ingest policies, `funnel check`, Data Docs."""

from __future__ import annotations

import json

import pytest

from streams import synthetic
from streams.config import dlq_topic
from streams.kafkaio.consumer import read_topic
from tests.integration.test_ingest import funnel, headers

pytestmark = pytest.mark.integration

GOOD = {"event_type": "project_planned", "schema_version": 2, "occurred_at": "2023-01-01T00:00:00+08:00",
        "recorded_at": "2023-01-02T00:00:00+08:00", "name": "n", "industry": "现代商贸"}


def feed(tmp_path, implausible_at: int, n: int = 4):
    lines = [{**GOOD, "event_id": f"e{i}", "project_id": f"P{i}"} for i in range(n)]
    lines[implausible_at]["investment_yuan"] = 2 * 10**12  # valid contract, implausible amount (> 1 万亿)
    path = tmp_path / "feed.jsonl"
    path.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines))
    return path


def test_quarantine_sends_only_the_failing_rows_to_the_dlq(bootstrap, topic, tmp_path):
    result = json.loads(funnel("ingest", str(feed(tmp_path, 2)), "--topic", topic, "--quality", "quarantine",
                               "--json", bootstrap=bootstrap).stdout)
    assert result["rejected"] == {"quality:expect_column_values_to_be_between": 1} and result["produced"] == 3
    [dead] = list(read_topic(bootstrap, dlq_topic(topic)))
    assert headers(dead)["origin"].endswith(":3") and "amount_yuan" in headers(dead)["detail"]
    assert sorted(json.loads(r.value)["event_id"] for r in read_topic(bootstrap, topic)) == ["e0", "e1", "e3"]


def test_reject_sends_the_whole_failing_batch_to_the_dlq(bootstrap, topic, tmp_path):
    result = json.loads(funnel("ingest", str(feed(tmp_path, 3)), "--topic", topic, "--quality", "reject",
                               "--batch-size", "2", "--json", bootstrap=bootstrap).stdout)
    assert result["rejected"] == {"quality:batch_rejected": 2} and result["produced"] == 2
    assert {headers(r)["origin"].rsplit(":", 1)[1] for r in read_topic(bootstrap, dlq_topic(topic))} == {"3", "4"}


def test_warn_lets_everything_through_and_reports(bootstrap, topic, tmp_path):
    result = json.loads(funnel("ingest", str(feed(tmp_path, 0)), "--topic", topic, "--json",
                               bootstrap=bootstrap).stdout)
    assert result["produced"] == 4 and not result["rejected"]
    assert not result["quality"]["success"]
    assert any(f["column"] == "amount_yuan" for f in result["quality"]["failures"])


def test_funnel_check_on_replay_outputs_and_feeds(bootstrap, topic, tmp_path):
    seed = tmp_path / "seed.jsonl"
    synthetic.generate_file(seed, projects=600, seed=2023)
    funnel("ingest", str(seed), "--topic", topic, "--quality", "off", bootstrap=bootstrap)
    out = tmp_path / "out"
    funnel("replay", "--topic", topic, "--as-of", "2023-12-31", "--out", str(out), bootstrap=bootstrap)
    assert json.loads((out / "quality.json").read_text())["success"] is True
    assert funnel("check", str(out), bootstrap=bootstrap).returncode == 0

    summary = json.loads((out / "summary.json").read_text())
    summary["pools"]["landed"]["count"] += 3
    (out / "summary.json").write_text(json.dumps(summary))
    tampered = funnel("check", str(out), "--json", bootstrap=bootstrap, check=False)
    assert tampered.returncode == 1
    failures = json.loads(tampered.stdout)["failures"]
    # the seed's bureau records may also warn (a project naming a trip that does not count): not a failure
    assert [(f["suite"], f["column"]) for f in failures if f["severity"] == "critical"] == \
        [("aggregates.totals", "pools_balance")]
    assert {f["suite"] for f in failures if f["severity"] == "warning"} <= {"aggregates.trip_references",
                                                                          "aggregates.resolutions"}

    bad_feed = funnel("check", "--feed", str(seed), "--json", bootstrap=bootstrap, check=False)
    assert bad_feed.returncode == 1
    malformed = next(f for f in json.loads(bad_feed.stdout)["failures"] if f["column"] == "well_formed")
    assert malformed["severity"] == "critical" and malformed["examples"][0]["origin"].startswith(str(seed) + ":")


def test_data_docs(bootstrap, topic, tmp_path):
    seed = tmp_path / "seed.jsonl"
    synthetic.generate_file(seed, projects=100, seed=1)
    out = tmp_path / "out"
    funnel("replay", "--from-file", str(seed), "--as-of", "2024-12-31", "--out", str(out), bootstrap=bootstrap)
    index = funnel("check", "--docs", str(out), "--project-dir", str(tmp_path / "gxp"),
                   bootstrap=bootstrap).stdout.strip()
    html = open(index, encoding="utf-8").read()
    assert "aggregates.totals" in html and (tmp_path / "gxp" / "gx" / "expectations").is_dir()
    for suite in ("aggregates.trips", "aggregates.issues", "aggregates.reconciliation"):  # issue 23
        assert suite in html and (tmp_path / "gxp" / "gx" / "expectations" / "aggregates" /
                                  f"{suite.split('.')[1]}.json").is_file()


def test_funnel_check_on_a_replay_of_trips_and_issues(bootstrap, topic, tmp_path):
    """Issue 23 end to end: trip and issue records pass ingest's quality gate (quarantine), a replay of the topic
    checks the trips and issues tables, reports a project naming a trip that does not count and a resolution
    without a raise by their ids (warnings: the check passes), and reconciles the summary's trips and bottlenecks
    with the tables; `funnel check` fails, naming the figure, once summary.json disagrees with them."""
    from tests.unit.history import lines
    from tests.unit.test_quality_trips_issues import FLAWED, GOOD

    feed_path = tmp_path / "bureau.jsonl"
    feed_path.write_bytes(b"\n".join(lines([*GOOD, *FLAWED])) + b"\n")
    ingested = json.loads(funnel("ingest", str(feed_path), "--topic", topic, "--quality", "quarantine", "--json",
                                 bootstrap=bootstrap).stdout)
    assert ingested["produced"] == len(GOOD) + len(FLAWED) and not ingested["rejected"], ingested
    out = tmp_path / "out"
    funnel("replay", "--topic", topic, "--as-of", "2024-12-31", "--out", str(out), bootstrap=bootstrap)
    for table in ("trips", "issues", "trip_references", "resolutions"):
        assert (out / f"{table}.parquet").is_file(), table
    written = json.loads((out / "quality.json").read_text(encoding="utf-8"))
    checked = json.loads(funnel("check", str(out), "--json", bootstrap=bootstrap).stdout)
    for report in (written, checked):
        assert report["success"] is True
        warned = {f["suite"]: f for f in report["failures"]}
        assert set(warned) == {"aggregates.trip_references", "aggregates.resolutions"}
        assert all(f["severity"] == "warning" for f in warned.values())
        assert sorted((e["project_id"], e["trip_id"]) for e in warned["aggregates.trip_references"]["examples"]) \
            == [("D", "T4"), ("E", "T-NONE")]
        assert sorted((e["project_id"], e["issue_id"]) for e in warned["aggregates.resolutions"]["examples"]) \
            == [("D", "Q7"), ("Z", "Q8")]
    table = funnel("check", str(out), bootstrap=bootstrap).stdout
    assert "PASS" in table and "T-NONE" in table

    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["trips"]["2024"]["team"] == 1 and summary["bottlenecks"]["open"] == 2
    summary["trips"]["2024"]["team"] += 1
    summary["bottlenecks"]["open_by_category"]["planning"] = 1
    (out / "summary.json").write_text(json.dumps(summary, ensure_ascii=False), encoding="utf-8")
    tampered = funnel("check", str(out), "--json", bootstrap=bootstrap, check=False)
    assert tampered.returncode == 1
    [failed] = [f for f in json.loads(tampered.stdout)["failures"] if f["severity"] == "critical"]
    assert (failed["suite"], failed["column"], failed["unexpected"]) == ("aggregates.reconciliation", "difference", 2)
    assert sorted((e["key"], e["figure"], e["entry"], e["summary"], e["tables"]) for e in failed["examples"]) == [
        ("bottlenecks", "open_by_category", "planning", 1, 0), ("trips", "team", "2024", 2, 1)]
