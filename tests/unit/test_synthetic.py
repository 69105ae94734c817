"""The synthetic feed: deterministic, scaled by --projects, with the faults real feeds have."""

import io
from collections import Counter

from streams import synthetic
from streams.contract.acceptance import Rejection, check_record
from tests.unit.test_acceptance import NOW


def feed(projects=600, seed=2023, fmt="jsonl", bureau=True) -> bytes:
    out = io.BytesIO()
    synthetic.write(out, synthetic.records(projects, seed, bureau=bureau), fmt)
    return out.getvalue()


def test_same_seed_same_bytes_other_seed_other_bytes():
    assert feed(seed=7) == feed(seed=7)
    assert feed(seed=7) != feed(seed=8)


def test_scales_with_projects():
    small, large = feed(100).count(b"\n"), feed(2000).count(b"\n")
    assert 5 * 2000 <= large <= 7.5 * 2000 and large > 15 * small
    projects_only = feed(2000, bureau=False).count(b"\n")
    assert 3.5 * 2000 <= projects_only <= 5 * 2000


def test_named_projects_are_real_rows():
    lines = [v for v in map(lambda line: check_record(line, NOW), feed().splitlines()) if isinstance(v, dict)]
    names = {e.get("name") for e in lines if e["event_type"] == "project_planned"}
    assert {"郑州杉杉奥特莱斯广场二七店", "华润万象城二期", "亚细亚卓悦城", "金博大比亚迪品牌体验中心"} <= names
    grain = [e for e in lines if e.get("project_id") == "EQ-N-014" and e["event_type"] == "project_planned"]
    assert grain[0]["investment_yuan"] == 41 * 10**8


def test_the_feed_has_every_fault_of_real_feeds():
    raw_lines = feed().splitlines()
    verdicts = [check_record(line, NOW) for line in raw_lines]
    reasons = Counter(v.reason for v in verdicts if isinstance(v, Rejection))
    assert reasons["malformed"] and reasons["schema"]
    events = [v for v in verdicts if not isinstance(v, Rejection)]
    assert any(e["schema_version"] == 1 and "investment_wan" in e for e in events)          # legacy v1 feed
    ids = Counter((e.get("project_id"), e["event_id"]) for e in events)
    assert sum(1 for n in ids.values() if n > 1) >= 10                                      # re-sends / conflicts
    assert sum(1 for line in raw_lines if b'"recorded_at"' not in line) >= 10             # stamped on ingest
    lags = [(_ts(e["recorded_at"]) - _ts(e["occurred_at"])).days for e in events]
    assert sum(1 for d in lags if d >= 30) >= 30                                             # late arrivals


def _ts(s):
    from datetime import datetime
    return datetime.fromisoformat(s)


def test_csv_feed_passes_the_contract_like_the_jsonl_feed():
    from streams.feeds.files import read_csv
    from streams.contract.acceptance import check_event

    records = list(read_csv(io.BytesIO(feed(50, fmt="csv")), "f.csv"))
    accepted = [r for r in records if not isinstance(r.parsed, Rejection)
                and not isinstance(check_event(r.parsed, NOW), Rejection)]
    assert len(accepted) >= 0.95 * len(records)
