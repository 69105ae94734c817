"""The worker's settings: one object, from the CLI's flags or (for ``faust -A streams.app``) the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from streams import config


@dataclass(frozen=True)
class WorkerSettings:
    """Everything the worker's factory needs; nothing else reads the environment."""

    bootstrap: str
    topic: str = config.DEFAULT_TOPIC
    app_id: str = "funnel-worker"
    partitions: int = 3  # of the event topic: the table's changelog gets as many
    state_topic: str = config.STATE_TOPIC
    web_host: str = "127.0.0.1"
    web_port: int = 6066
    web_token: str | None = field(default=None, repr=False)
    session_timeout_s: float = 10.0
    quality_interval_s: float = 60.0
    batch_size: int = 2000  # records taken from the stream at a time
    batch_within_s: float = 0.2  # at most this long to fill a batch
    publish_interval_s: float = 1.0
    sweep_interval_s: float = 5.0  # how often records a consumer skipped at a partition's end are looked for
    peer_timeout_s: float = 10.0  # a peer's part of a global answer
    reminder_topic: str = "project-reminders"  # where the day just ended's reminders go after each CST midnight
    reminder_check_s: float = 30.0  # how often the worker looks whether a day has ended
    state_dir: Path | None = None  # where partition checkpoints are kept (None: no checkpoints)
    checkpoint_interval_s: float = 30.0  # how often a changed partition's checkpoint is written
    standby_replicas: int = 1  # warm copies of each partition on other workers (Faust's table_standby_replicas)

    @property
    def dead_letter_topic(self) -> str:
        return config.dlq_topic(self.topic)

    @property
    def web_enabled(self) -> bool:
        return self.web_port != 0

    @classmethod
    def from_environment(cls, environ: dict | None = None) -> "WorkerSettings":
        """The settings ``funnel worker`` documents, read from environment variables of the same names."""
        env = os.environ if environ is None else environ
        return cls(
            bootstrap=env.get("KAFKA_BOOTSTRAP_SERVERS") or config.bootstrap_servers(),
            topic=env.get("FUNNEL_TOPIC", config.DEFAULT_TOPIC),
            app_id=env.get("FUNNEL_APP_ID", "funnel-worker"),
            partitions=int(env.get("FUNNEL_PARTITIONS", "3")),
            state_topic=env.get("FUNNEL_STATE_TOPIC", config.STATE_TOPIC),
            web_host=env.get("FUNNEL_WEB_HOST", "127.0.0.1"),
            web_port=int(env.get("FUNNEL_WEB_PORT", "6066")),
            web_token=env.get("FUNNEL_WEB_TOKEN") or None,
            session_timeout_s=float(env.get("FUNNEL_SESSION_TIMEOUT", "10")),
            quality_interval_s=float(env.get("FUNNEL_QUALITY_INTERVAL", "60")),
            batch_size=int(env.get("FUNNEL_BATCH_SIZE", "2000")),
            reminder_topic=env.get("FUNNEL_REMINDER_TOPIC", "project-reminders"),
            state_dir=state_dir_of(env.get("FUNNEL_WORKER_STATE_DIR")),
            checkpoint_interval_s=float(env.get("FUNNEL_CHECKPOINT_INTERVAL", "30")),
            standby_replicas=int(env.get("FUNNEL_STANDBY_REPLICAS", "1")),
        )


def state_dir_of(value: str | None) -> Path | None:
    """``FUNNEL_WORKER_STATE_DIR``: a directory, ``none`` for no checkpoints, unset for ``<FUNNEL_STATE_DIR>/worker``."""
    if value is not None and value.strip().lower() in ("none", "off"):
        return None
    return Path(value).resolve() if value else config.state_dir() / "worker"
