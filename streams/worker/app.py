"""The live worker (faust-streaming): the same contract and fold as ``funnel replay``, kept up to date.

``create_app(settings)`` builds it from four parts; nothing connects until it runs:

- the table (:mod:`streams.worker.table`): the :class:`ProjectStore` of the partitions this worker owns,
  backed by the ``checked-log`` changelog, restored from a local checkpoint and the changelog's tail,
  with warm standby copies of other workers' partitions;
- the intake (:mod:`streams.worker.agents`): two agents check the event topic and the dead-letter topic
  in batches and hand each partition's checked records to the store as one changelog chunk;
- the clock (:mod:`streams.worker.timers`): publish the projects that changed, check quality, send the
  day's reminders, write checkpoints;
- the pages (:mod:`streams.worker.web`).

The event topic stays the source of truth; the store holds only what the fold needs.
"""

from __future__ import annotations

import logging
import re
import socket
from pathlib import Path

import faust
from faust.worker import Worker

from streams.kafkaio import security
from streams.worker import checkpoint
from streams.worker.agents import add_intake
from streams.worker.settings import WorkerSettings
from streams.worker.store import ProjectStore
from streams.worker.table import CheckedLogTable
from streams.worker.timers import (Checkpoints, add_checkpoints, add_quality_checks, add_reminders,
                                   add_state_publishing, after_restore, tune_collector)
from streams.worker.transport import CommittedApp

log = logging.getLogger(__name__)


def _advertised_host(host: str) -> str:
    """The host name peers use to reach this worker (a wildcard bind is not an address)."""
    return socket.gethostname() if host in ("0.0.0.0", "::", "") else host


def static_member_id(settings: WorkerSettings, slot: Path) -> str:
    """The group member id a worker keeps when restarted as it was: the same machine, checkpoint slot and web port.

    The port is part of it because the group keeps each member's URL (Faust's assignor), and a
    member that comes back under the old id answers no rebalance: on another port it is another member.
    """
    url = f"{_advertised_host(settings.web_host)}.{settings.web_port or 6066}"
    return re.sub(r"[^a-zA-Z0-9._-]", "_", f"{settings.app_id}.{url}.{slot.name}")[:249]


def faust_options(settings: WorkerSettings, instance_id: str | None = None) -> dict:
    """The Faust configuration of the worker (the benchmark's do-nothing agent runs with the same); with an
    ``instance_id``, a static member of its group (:func:`static_member_id`)."""
    host = _advertised_host(settings.web_host)
    return dict(
        broker=[f"kafka://{b}" for b in settings.bootstrap.split(",")],
        broker_credentials=security.from_environment().faust_credentials(),  # TLS / SASL
        store="memory://",
        topic_partitions=settings.partitions,
        # Standby copies go to a store of their own (streams.worker.table), never counted as owned.
        table_standby_replicas=settings.standby_replicas,
        web_enabled=settings.web_enabled,
        # Faust wants a valid port even with the web server off (--web-port 0).
        web_bind=settings.web_host, web_host=host, web_port=settings.web_port or 6066,
        canonical_url=f"http://{host}:{settings.web_port or 6066}",
        consumer_auto_offset_reset="earliest",
        # A worker killed mid-stream leaves the group after this long, so its successor starts soon.
        broker_session_timeout=settings.session_timeout_s,
        # A static member restarted within the session timeout takes its partitions back at once, with no
        # rebalance and no wait for the broker to expire the killed one (KIP-345); it leaves on a clean stop.
        consumer_group_instance_id=instance_id,
        broker_heartbeat_interval=2.0,
        producer_max_request_size=16 * 1024 * 1024,
        consumer_max_fetch_size=16 * 1024 * 1024,
    )


def create_app(settings: WorkerSettings) -> faust.App:
    """The Faust app of the live worker, configured from ``settings``."""
    slot = checkpoint.claim_slot(settings.state_dir, settings.app_id) if settings.state_dir else None
    instance_id = static_member_id(settings, slot) if slot is not None else None
    app = CommittedApp(settings.app_id, **faust_options(settings, instance_id))
    app.worker_settings = settings
    store = ProjectStore()
    table = app.tables.add(CheckedLogTable(app, name="checked-log", default=None, beacon=app.tables.beacon,
                                           key_type=bytes, value_type=bytes,  # raw: chunks are msgpack
                                           # a standby applies each chunk as it comes, not 1,000 at a time
                                           standby_buffer_size=1,
                                           help="Chunks of checked records, one per partition per batch."))
    table.attach(store, settings.bootstrap, slot, settings.topic, settings.app_id)
    table.on_ready = after_restore  # no lasting recovery peak
    intake, deliveries = add_intake(app, settings, store, table)
    add_state_publishing(app, settings, store, table.standby)
    add_quality_checks(app, settings, store)
    add_reminders(app, settings, store, intake)
    if slot is not None:
        add_checkpoints(app, settings, store, Checkpoints(settings, table, intake, deliveries,
                                                                 app.pending_states))

    from streams.worker import web

    web.add_pages(app, settings, store)
    return app


def run(app: faust.App, loglevel: str = "info") -> None:
    """Run the worker until it is stopped (SIGTERM, Ctrl-C); ``loglevel``: debug, info, warning or error."""
    worker = Worker(app, loglevel={"warning": "warn"}.get(loglevel.lower(), loglevel.lower()))
    # At warn and above Faust's start-up spinner sets the root logger to DEBUG so that it spins on
    # every record: aiokafka's and Faust's debug records for every message would be built.
    worker.spinner = None
    tune_collector()  # (the benchmark's do-nothing agent runs here too: the comparison stays like for like)
    try:
        worker.execute_from_commandline()
    finally:
        if app.conf.consumer_group_instance_id:
            leave_group(app.worker_settings.bootstrap, app.conf.id, app.conf.consumer_group_instance_id)


def leave_group(bootstrap: str, group: str, instance_id: str) -> None:
    """A static member stopped cleanly leaves its group, so the others take its partitions now, not after the session
    timeout (a static member's consumer never leaves by itself)."""
    from kafka.admin import KafkaAdminClient, MemberToRemove

    from streams.kafkaio.security import client_config

    try:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap.split(","), request_timeout_ms=5000, **client_config())
        try:
            errors = admin.remove_group_members(group, [MemberToRemove(group_instance_id=instance_id)])
        finally:
            admin.close()
        log.info("left group %s as %s: %s", group, instance_id, {k: v.__name__ for k, v in errors.items()})
    except Exception:  # the others take its partitions after the session timeout instead
        log.exception("could not leave group %s as %s; its partitions move after the session timeout", group,
                      instance_id)
