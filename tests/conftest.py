"""Shared fixtures. Integration tests get a real Kafka broker started once per test session."""

from __future__ import annotations

import os
import socket
import uuid

import pytest


def _free_port_pair() -> int:
    """A port p with p and p+1 free (PLAINTEXT and CONTROLLER listeners)."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port < 65535:
            with socket.socket() as s2:
                if s2.connect_ex(("127.0.0.1", port + 1)) != 0:
                    return port
    raise RuntimeError("no free pair of ports")


def start_broker(state_dir):
    """A fresh local broker in ``state_dir`` on free ports; the caller stops it."""
    from streams import config
    from streams.kafkaio.local_broker import LocalBroker

    broker = LocalBroker(state=state_dir, cache=config.cache_dir(), port=_free_port_pair(), heap="512m")
    broker.up()
    return broker


@pytest.fixture(scope="session")
def bootstrap(tmp_path_factory):
    """KAFKA_BOOTSTRAP_SERVERS if set, else a broker this session starts and stops. Never skips."""
    configured = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if configured:
        yield configured
        return
    broker = start_broker(tmp_path_factory.mktemp("kafka"))
    try:
        yield broker.bootstrap
    finally:
        broker.down()


@pytest.fixture
def topic(bootstrap) -> str:
    """A new event topic (and its DLQ) for one test, so tests never see each other's records."""
    from streams.kafkaio.topics import ensure_topics, event_topics

    name = f"events-{uuid.uuid4().hex[:10]}"
    ensure_topics(bootstrap, event_topics(name))
    return name
