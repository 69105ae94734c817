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

    from streams.kafkaio.offsets import end_offsets, group_lag

    from streams.kafkaio.security import from_environment

    doc: dict = {"bootstrap": bootstrap, "client": from_environment().describe(), "topic": topic}
    try:
        offsets = {name: end_offsets(bootstrap, name) for name in (topic, dlq_topic(topic), state_topic)}
    except KafkaError as e:
        log.error("status: the broker at %s did not answer for the end offsets of %s: %s: %s",
                  bootstrap, topic, type(e).__name__, e)
        return doc | {"broker_reachable": False, "error": f"{type(e).__name__}: {e}"}
    lag = group_lag(bootstrap, group, topic)
    return doc | {
        "broker_reachable": True,
        "topics": {name: {"exists": bool(ends), "records": sum(ends.values()), "partitions": len(ends)}
                   for name, ends in offsets.items()},
        "worker_group": {"group": group, "committed": lag.committed, "end": lag.end, "lag": lag.lag},
        "dead_letters": dead_letters_by_reason(bootstrap, topic) if offsets[dlq_topic(topic)] else {},
        "quality": worker_quality(worker_url),
    }
