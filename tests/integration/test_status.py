"""`funnel status`: what an operator sees — offsets, the worker's lag, dead letters by reason, the last check."""

from __future__ import annotations

import json
import time

import pytest

from streams import synthetic
from tests.integration.test_ingest import funnel
from tests.workers import workers  # noqa: F401  (fixture)

pytestmark = pytest.mark.integration


def status(bootstrap: str, *args: str, check: bool = True) -> dict:
    return json.loads(funnel("status", *args, "--json", bootstrap=bootstrap, check=check, timeout=120).stdout)


def test_status_shows_offsets_lag_dead_letters_and_the_last_check(bootstrap, topic, tmp_path, workers, monkeypatch):
    feed = tmp_path / "seed.jsonl"
    synthetic.generate_file(feed, projects=300, seed=12)
    sent = json.loads(funnel("ingest", str(feed), "--topic", topic, "--quality", "off", "--json",
                             bootstrap=bootstrap).stdout)
    monkeypatch.setenv("FUNNEL_QUALITY_INTERVAL", "2")
    worker = workers(bootstrap, topic, "watched")
    worker.wait_for("/quality", lambda q: q["success"] is not None, timeout=180)

    args = ("--topic", topic, "--app-id", worker.app_id, "--worker-url", f"http://127.0.0.1:{worker.port}",
            "--state-topic", f"{topic}.state")
    deadline = time.monotonic() + 120
    while (doc := status(bootstrap, *args))["worker_group"]["lag"] > 0:
        assert time.monotonic() < deadline, f"the worker's lag never reached 0: {doc['worker_group']}"
        time.sleep(2)

    assert doc["broker_reachable"] and doc["client"] == "PLAINTEXT"
    # Ingest wrote in transactions: each partition's offsets hold its records and a marker per transaction.
    offsets = doc["topics"][topic]["offsets"]
    assert offsets == doc["worker_group"]["end"] and sent["delivered"] < offsets <= sent["delivered"] + 3
    assert doc["topics"][topic]["held_back"] == 0 and doc["open_transactions"] == []
    assert {reason.removesuffix(" (ingest)"): n for reason, n in doc["dead_letters"].items()} == sent["rejected"]
    assert sum(doc["dead_letters"].values()) == sent["dead_lettered"]
    assert doc["quality"]["success"] is True and doc["quality"]["checked_at"]


def test_an_unreachable_broker_is_reported_and_fails(tmp_path):
    done = funnel("status", "--json", "--worker-url", "http://127.0.0.1:1", bootstrap="127.0.0.1:1", check=False,
                  timeout=120)
    doc = json.loads(done.stdout)
    assert done.returncode == 1 and doc["broker_reachable"] is False and doc["error"]
