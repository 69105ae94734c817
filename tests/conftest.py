"""Shared fixtures. Integration tests get a real Kafka broker started once per test session."""

from __future__ import annotations

import os
import random
import socket
import uuid

import pytest



def _free_port_pair() -> int:
    """A port p with p and p+1 free (PLAINTEXT and CONTROLLER listeners), below the kernel's ephemeral range
    (32768 and up), where a client's outgoing connection could take it between this pick and the bind."""
    rng = random.Random()
    for _ in range(200):
        port = rng.randrange(20_000, 32_000)
        try:
            with socket.socket() as a, socket.socket() as b:
                a.bind(("127.0.0.1", port))
                b.bind(("127.0.0.1", port + 1))
        except OSError:
            continue
        return port
    raise RuntimeError("no free pair of ports")


def start_broker(state_dir):
    """A fresh local broker in ``state_dir`` on free ports; the caller stops it. A port taken between the pick
    and the broker's bind (another program on this machine) is tried again on other ports."""
    from streams import config
    from streams.kafkaio.local_broker import BrokerError, LocalBroker

    for attempt in range(3):
        state = state_dir if not attempt else state_dir / f"retry-{attempt}"  # (formatted for other ports)
        broker = LocalBroker(state=state, cache=config.cache_dir(), port=_free_port_pair(), heap="512m")
        try:
            broker.up()
            return broker
        except BrokerError as e:
            taken = "Address already in use" in str(e) or "is taken by another process" in str(e)
            if not taken or attempt == 2:
                raise
    raise AssertionError("unreachable")


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

# The browser fixtures, defined once for every test module (last: tests.browser imports from this module): a
# module importing them got its own copy, and two Playwrights alive at once fail with "Playwright Sync API inside
# the asyncio loop". Chromium is module-scoped: a live Playwright keeps an event loop running for later tests.
from tests.browser import browser_page, chromium, serve_app  # noqa: F401,E402  (fixtures)
