"""Settings that come from the environment: every CLI flag takes its default from here."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_TOPIC = "project-events"
STATE_TOPIC = "project-state"


def dlq_topic(topic: str) -> str:
    """The dead-letter topic of an event topic is always ``<topic>.dlq``."""
    return f"{topic}.dlq"


def state_dir() -> Path:
    """Where the local broker keeps its config, data, logs and pid (``FUNNEL_STATE_DIR``)."""
    return Path(os.environ.get("FUNNEL_STATE_DIR", ".funnel")).resolve()


def cache_dir() -> Path:
    """Where Kafka's jars are cached, outside the work tree (``FUNNEL_CACHE_DIR``)."""
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "funnel"
    return Path(os.environ.get("FUNNEL_CACHE_DIR", default)).resolve()


def bootstrap_servers() -> str:
    """``KAFKA_BOOTSTRAP_SERVERS`` if set, else the local broker started by ``funnel kafka up``."""
    configured = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if configured:
        return configured
    recorded = state_dir() / "bootstrap"
    return recorded.read_text().strip() if recorded.exists() else "127.0.0.1:9092"


def targets(path: str | Path | None = None) -> dict[str, dict[str, float]]:
    """Annual targets: ``--targets FILE`` (or ``FUNNEL_TARGETS``), else the 2023/2024 defaults shipped here."""
    import json

    path = path or os.environ.get("FUNNEL_TARGETS") or Path(__file__).with_name("targets.default.json")
    raw = json.loads(Path(path).read_text(encoding="utf-8"))
    return {year: goals for year, goals in raw.items() if not year.startswith("_")}
