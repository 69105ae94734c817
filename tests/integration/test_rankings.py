"""月评比 through the real broker: two workers' /rankings equal the rankings table of a replay of the topic, issue
figures (§9) included."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import polars as pl
import pytest

from streams import synthetic
from tests.integration.test_ingest import funnel
from tests.integration.test_worker import replayed
from tests.workers import workers  # noqa: F401  (fixture)

pytestmark = pytest.mark.integration
AS_OF = "2024-12-31"


def status_of(worker, path: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{worker.port}{path}", timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


@pytest.mark.timeout(900)
def test_the_workers_rankings_equal_the_replays(bootstrap, topic, tmp_path, workers):
    feed = tmp_path / "seed.jsonl"
    synthetic.generate_file(feed, projects=600, seed=2023)
    funnel("ingest", str(feed), "--topic", topic, bootstrap=bootstrap)
    out = tmp_path / "replay"
    funnel("replay", "--topic", topic, "--as-of", AS_OF, "--out", str(out), "--no-check", bootstrap=bootstrap)
    table = pl.read_parquet(out / "rankings.parquet")
    expected = replayed(bootstrap, topic, AS_OF)

    first = workers(bootstrap, topic, "first")
    first.wait_for(f"/summary?as_of={AS_OF}", lambda d: d == expected)
    second = workers(bootstrap, topic, "second", app_id=first.app_id)  # the partitions shared: parts gathered
    for w in (first, second):
        w.wait_for(f"/summary?as_of={AS_OF}", lambda d: d == expected, timeout=180)

    for asked, label in (("2024-Q4", "2024Q4"), ("2024-03", "2024-03"), ("2024", "2024"), ("2023Q2", "2023Q2")):
        rows = table.filter(pl.col("period") == label)
        assert rows.height > 0 and rows["red"].sum() > 0 and rows["signings"].sum() > 0
        # the issue figures (§9) are compared too, and are there to compare
        assert rows["issues_raised"].sum() > 0 and rows["issues_open"].sum() > 0
        assert rows["resolution_rate"].drop_nulls().len() > 0
        assert set(rows["board"].drop_nulls()) == {"top", "bottom"}
        for w in (first, second):
            doc = w.wait_for(f"/rankings?period={asked}&as_of={AS_OF}", lambda d: d["rankings"], timeout=180)
            assert doc["period"] == label and doc["as_of"] == AS_OF
            assert doc["rankings"] == rows.to_dicts(), (w.port, label)
    # the other worker's part alone is not the whole: the two parts' counts differ from the total
    part = first.get(f"/parts/rankings?period=2024-Q4&as_of={AS_OF}")
    whole = table.filter(pl.col("period") == "2024Q4")["projects"].sum()
    assert 0 < sum(r["projects"] for r in part["counts"] if r["period"] == "2024Q4") < whole
    status, body = status_of(first, "/rankings?period=2024-13")
    assert status == 400 and "not a period" in body["error"]
