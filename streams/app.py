"""The live worker (faust-streaming): the same contract and fold as ``funnel replay``, kept up to date.

Run it with ``funnel worker`` (or ``faust -A streams.app worker``). Agents only decode
and call the core: each record of the event topic is checked by the one validator;
a bad record goes to ``<topic>.dlq`` with its reason; a good one joins its project's
log in a changelog-backed table, keyed by its position in the topic so that a record
processed twice after a crash is stored once. Every second the projects that changed
are folded with :mod:`streams.core` and published to the compacted ``project-state``.
The web server answers ``/summary``, ``/projects/{id}``, ``/pools`` and ``/quality`` (the
aggregate quality suites, run every ``FUNNEL_QUALITY_INTERVAL`` seconds on the live aggregates).

Settings come from the environment (``funnel worker`` sets them from its flags):
``KAFKA_BOOTSTRAP_SERVERS``, ``FUNNEL_TOPIC``, ``FUNNEL_APP_ID``, ``FUNNEL_PARTITIONS``,
``FUNNEL_STATE_TOPIC``, ``FUNNEL_WEB_HOST`` (127.0.0.1 unless set), ``FUNNEL_WEB_PORT``, ``FUNNEL_WEB_TOKEN``
(when set, every page requires ``Authorization: Bearer <token>``), ``FUNNEL_SESSION_TIMEOUT``.
Creating the app connects to nothing.
"""

from __future__ import annotations

import functools
import hmac
import json
import os
from datetime import date, datetime, timedelta, timezone

import faust
import polars as pl

from streams import config
from streams.kafkaio import security
from streams.core.aggregates import pools_at
from streams.core.fold import project_state
from streams.core.log import LogBuilder, accepted_events, log_row, rejected_row, settle
from streams.core.summary import View, fold_log, summary
from streams.replay import DLQ_SEQ, header_value, recorded_at_in

CST = timezone(timedelta(hours=8))


def _jsonable(value):
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def _received_at(timestamp_ms: float | None) -> datetime:
    return datetime.fromtimestamp((timestamp_ms or 0) / 1000, timezone.utc)


def _bearer_matches(header: str, token: str) -> bool:
    scheme, _, given = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


def _seq(partition: int, offset: int) -> int:
    return (partition << 40) | offset  # the same arrival order as `funnel replay --topic`


class LiveLog:
    """The log as the worker knows it: rows derived from the changelog-backed tables, once per seq.

    The tables hold one entry per record (keyed by its topic position), so a flood of one
    project's events costs one small changelog record each. The rows are kept as Polars
    chunks, not Python dicts: a few hundred bytes per event.
    """

    def __init__(self, events, rejections):
        self.events, self.rejections = events, rejections
        self.log = LogBuilder()
        self.seen: set[int] = set()  # a record reprocessed after a crash is kept once
        self.dirty: set[str] = set()

    def add(self, seq: int, row: dict) -> None:
        if seq not in self.seen:
            self.seen.add(seq)
            self.log.add_row(row)

    def _refresh(self) -> None:
        # After a restart the tables come back from their changelogs; rows are derived lazily here.
        if len(self.seen) == len(self.events) + len(self.rejections):
            return
        for seq_text, rec in self.events.items():
            seq = int(seq_text)
            if seq not in self.seen:
                self.add(seq, log_row(seq, rec["v"].encode(), _received_at(rec["ts"]), stamp_missing=True))
        for seq_text, rej in self.rejections.items():
            seq = int(seq_text)
            if seq not in self.seen:
                recorded = rej.get("recorded_at")
                self.add(seq, rejected_row(seq, rej["reason"], rej["detail"],
                                           recorded and datetime.fromisoformat(recorded), rej.get("project_id")))

    def frame(self) -> pl.DataFrame:
        self._refresh()
        return self.log.frame()

    def project_frame(self, pids: set[str]) -> pl.DataFrame:
        return self.frame().filter(pl.col("project_id").is_in(list(pids)) & pl.col("reason").is_null())


def create_app() -> faust.App:
    topic_name = os.environ.get("FUNNEL_TOPIC", config.DEFAULT_TOPIC)
    bootstrap = config.bootstrap_servers()
    partitions = int(os.environ.get("FUNNEL_PARTITIONS", "3"))
    host = os.environ.get("FUNNEL_WEB_HOST", "127.0.0.1")
    app = faust.App(
        os.environ.get("FUNNEL_APP_ID", "funnel-worker"),
        broker=[f"kafka://{b}" for b in bootstrap.split(",")],
        broker_credentials=security.from_environment().faust_credentials(),  # TLS / SASL from the environment
        store="memory://",  # tables are rebuilt from their changelog topics on start
        topic_partitions=partitions,
        web_bind=host, web_host=host, web_port=int(os.environ.get("FUNNEL_WEB_PORT", "6066")),
        consumer_auto_offset_reset="earliest",
        # A worker killed mid-stream leaves the group after this long, so its successor starts soon.
        broker_session_timeout=float(os.environ.get("FUNNEL_SESSION_TIMEOUT", "10")),
        broker_heartbeat_interval=2.0,
        producer_max_request_size=16 * 1024 * 1024,
        consumer_max_fetch_size=16 * 1024 * 1024,
    )
    raw = {"key_type": bytes, "value_type": bytes, "key_serializer": "raw", "value_serializer": "raw"}
    events = app.topic(topic_name, **raw)
    dead_letters = app.topic(config.dlq_topic(topic_name), **raw)
    states = app.topic(os.environ.get("FUNNEL_STATE_TOPIC", config.STATE_TOPIC), **raw)
    kept = app.Table("event-log", default=dict)  # str(seq) → {"v": record text, "ts": Kafka timestamp}
    rejections = app.Table("rejections", default=dict)
    live = LiveLog(kept, rejections)
    app.live_log = live

    @app.agent(events)
    async def keep(stream):
        """Check each record with the one validator; keep it in its project's log, or dead-letter it."""
        async for event in stream.events():
            msg = event.message
            seq = _seq(msg.partition, msg.offset)
            # Checked once, by the one validator; the row is cached so /summary never re-checks it.
            row = log_row(seq, event.value or b"", _received_at(msg.timestamp), stamp_missing=True)
            live.add(seq, row)
            if row.get("reason"):
                rejections[str(seq)] = {"reason": row["reason"], "detail": row["detail"],
                                        "recorded_at": _jsonable(row.get("recorded_at")),
                                        "project_id": event.key.decode("utf-8", "replace") if event.key else None}
                await dead_letters.send(key=event.key, value=event.value, headers=[
                    ("reason", row["reason"].encode()), ("detail", row["detail"].encode()),
                    ("origin", f"{topic_name}:{msg.partition}:{msg.offset}".encode()), ("rejected_by", b"worker")])
                continue
            kept[str(seq)] = {"v": event.value.decode("utf-8"), "ts": msg.timestamp}
            live.dirty.add(row["project_id"])

    @app.agent(dead_letters)
    async def count_dead_letters(stream):
        """Records ingest rejected never reach the topic: count them as received, like replay does."""
        async for event in stream.events():
            msg = event.message
            if header_value(msg, "rejected_by") == "worker":
                continue  # the topic's own record, counted by `keep`
            rejections[str(DLQ_SEQ | _seq(msg.partition, msg.offset))] = {
                "reason": header_value(msg, "reason") or "malformed", "detail": header_value(msg, "detail") or "",
                "recorded_at": _jsonable(recorded_at_in(event.value or b"")),
                "project_id": event.key.decode("utf-8", "replace") if event.key else None}

    @app.timer(interval=1.0)
    async def publish_states():
        """Fold the projects that changed and publish their state to the compacted state topic."""
        if not live.dirty:
            return
        pids, live.dirty = live.dirty, set()
        cutoff = datetime.now(CST) + timedelta(days=1)
        state = project_state(accepted_events(settle(live.project_frame(pids))), cutoff)
        for row in state.iter_rows(named=True):
            doc = {k: _jsonable(v) for k, v in row.items()}
            await states.send(key=row["project_id"].encode(), value=json.dumps(doc, ensure_ascii=False).encode())

    def _view(request) -> View:
        q = request.query
        as_of = date.fromisoformat(q["as_of"]) if q.get("as_of") else datetime.now(CST).date()
        return View(as_of, date.fromisoformat(q["known_at"]) if q.get("known_at") else None)

    token = os.environ.get("FUNNEL_WEB_TOKEN") or None

    def guarded(page):
        """With FUNNEL_WEB_TOKEN set, a page answers only ``Authorization: Bearer <token>``."""
        @functools.wraps(page)
        async def check(self, request, *args, **kwargs):
            if token is not None and not _bearer_matches(request.headers.get("Authorization", ""), token):
                return self.json({"error": "unauthorised: send Authorization: Bearer <FUNNEL_WEB_TOKEN>"},
                                 status=401, headers={"WWW-Authenticate": "Bearer"})
            return await page(self, request, *args, **kwargs)
        return check

    @app.page("/summary")
    @guarded
    async def summary_page(self, request):
        """The summary.json document; ``?as_of=YYYY-MM-DD&known_at=YYYY-MM-DD``."""
        return self.json(summary(fold_log(live.frame(), _view(request))))

    app.quality = {"success": None, "checked_at": None, "failures": []}

    @app.timer(interval=float(os.environ.get("FUNNEL_QUALITY_INTERVAL", "60")))
    async def check_quality():
        """Run the aggregate suites on the live aggregates (in a thread: GX is slow to import and run)."""
        if not kept:
            return
        import asyncio

        from streams.core.tables import aggregate_tables
        from streams.quality.gate import check_aggregates

        # The log is copied here, on the event loop, where no agent changes the tables meanwhile;
        # the thread then works on its own immutable frame.
        log = live.frame()

        def run() -> dict:
            result = fold_log(log, View(datetime.now(CST).date()))
            tables = aggregate_tables(result, config.targets())
            return check_aggregates(summary(result), tables).as_dict()

        report = await asyncio.get_running_loop().run_in_executor(None, run)
        app.quality = {**report, "checked_at": datetime.now(CST).isoformat(timespec="seconds")}

    @app.page("/quality")
    @guarded
    async def quality_page(self, request):
        """The last aggregate quality check of the live aggregates."""
        return self.json(app.quality)

    @app.page("/pools")
    @guarded
    async def pools_page(self, request):
        result = fold_log(live.frame(), _view(request))
        return self.json(pools_at(result.state).to_dicts())

    @app.page("/projects/{project_id}")
    @guarded
    async def project_page(self, request, project_id):
        result = fold_log(live.frame(), _view(request))
        rows = result.state.filter(pl.col("project_id") == project_id).to_dicts()
        if not rows:
            return self.json({"error": f"no project {project_id!r}"}, status=404)
        return self.json({k: _jsonable(v) for k, v in rows[0].items()})

    return app


app = create_app()
