"""``funnel status``: what an operator checks first — is the broker up, how far is the worker behind,
what is in the dead-letter topic and why, and did the last quality check pass."""

from __future__ import annotations

import json
import logging
import os
import urllib.request
from collections import Counter

from streams.config import dlq_topic
from streams.kafkaio.records import dead_letter_reason, header_value

log = logging.getLogger(__name__)


def dead_letters_by_reason(bootstrap: str, topic: str) -> dict[str, int]:
    """Every record of ``<topic>.dlq``, counted by its reason (as replay reads it) and who rejected it."""
    from streams.kafkaio.consumer import read_topic

    counts: Counter[str] = Counter()
    for record in read_topic(bootstrap, dlq_topic(topic)):
        by = header_value(record, "rejected_by") or "ingest"
        reason, _ = dead_letter_reason(record)
        counts[f"{reason} ({by})"] += 1
    return dict(sorted(counts.items()))


def held_back_by_open_transactions(bootstrap: str, offsets: dict) -> list[dict]:
    """Every partition an open transaction holds back, with how many offsets and since when."""
    from streams.core.clock import cst_at, now_cst
    from streams.kafkaio.offsets import open_transactions

    found = []
    for name, ends in offsets.items():
        for t in open_transactions(bootstrap, name, ends):
            since = None if t.since_ms is None else cst_at(t.since_ms / 1000)
            found.append({"topic": t.topic, "partition": t.partition, "from_offset": t.first_offset,
                          "held_back": t.held_back, "open_since": since and since.isoformat(timespec="seconds"),
                          "open_for_s": since and round((now_cst() - since).total_seconds(), 1)})
            log.info("%s:%d is held back from offset %d by a transaction open since %s: %d offsets not visible "
                        "to readers yet", t.topic, t.partition, t.first_offset, found[-1]["open_since"], t.held_back)
    return found


def worker_quality(url: str, timeout_s: float = 5.0) -> dict:
    """The worker's last aggregate check (``/quality``), or why it could not be read."""
    request = urllib.request.Request(f"{url.rstrip('/')}/quality")
    token = os.environ.get("FUNNEL_WEB_TOKEN")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return json.loads(response.read())
    except OSError as e:
        log.warning("the worker's /quality at %s could not be read: %s", url, e)
        return {"success": None, "error": f"worker web server not reachable at {url}: {e}"}


def status(bootstrap: str, topic: str, group: str, state_topic: str, worker_url: str) -> dict:
    """Broker reachability, topic end offsets, the worker group's lag, dead letters, last quality check."""
    from kafka.errors import KafkaError

    from streams.kafkaio.offsets import group_lag, partition_ends

    from streams.kafkaio.security import from_environment

    doc: dict = {"bootstrap": bootstrap, "client": from_environment().describe(), "topic": topic}
    try:
        offsets = {name: partition_ends(bootstrap, name) for name in (topic, dlq_topic(topic), state_topic)}
    except KafkaError as e:
        log.error("status: the broker at %s did not answer for the end offsets of %s: %s: %s",
                  bootstrap, topic, type(e).__name__, e)
        return doc | {"broker_reachable": False, "error": f"{type(e).__name__}: {e}"}
    lag = group_lag(bootstrap, group, topic, offsets[topic])
    return doc | {
        "broker_reachable": True,
        # Offsets, not records: transaction markers take offsets too (the dead letters below are counted).
        "topics": {name: {"exists": bool(ends), "offsets": sum(e.stable for e in ends.values()),
                          "partitions": len(ends), "held_back": sum(e.held_back for e in ends.values())}
                   for name, ends in offsets.items()},
        "worker_group": {"group": group, "committed": lag.committed, "end": lag.end, "lag": lag.lag},
        "open_transactions": held_back_by_open_transactions(bootstrap, offsets),
        "dead_letters": dead_letters_by_reason(bootstrap, topic) if offsets[dlq_topic(topic)] else {},
        "quality": worker_quality(worker_url),
    }
