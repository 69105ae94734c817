"""The worker's pages: answers from the store, never a fold of the whole log on the event loop,
and one global view across workers.

Kafka Streams' interactive queries are the model: a key lookup (``/projects/{id}``) is
answered by the instance that owns the key's partition, found from the group's assignment
and asked through ``/parts/projects/{id}`` (then every other peer, for a producer that
partitioned by another rule); a global query (``/summary``, ``/pools``) gathers every instance's
part (``/parts/summary``) and adds them up (:func:`streams.core.parts.merge_parts`: a project
lives in one partition, so every figure is additive but the projects from a trip, which may be
kept in another partition than their trip's: each part carries its projects naming a trip and
the trips it counts); ``/targets`` likewise (``/parts/targets``: each part's additive year metrics, its
counted team trips and its projects naming a trip, merged by
:func:`streams.core.parts.merge_target_parts` into the replay's targets table). ``/trips``
gathers every instance's trips (``/parts/trips``), each kept in the partition of its ``trip_id``.
Rankings (``/rankings``) are not additive: each worker gives the units' counts of its partitions
(``/parts/rankings``), and the asking worker sums them and ranks once (:mod:`streams.core.rankings`).
An answer is whole or it is not given: when the parts do not cover every partition exactly once (a rebalance, a
restoring peer), the page answers 503 with ``Retry-After``.

Today's summary and projects come from the maintained state as last folded (every
second, in a thread; a page never waits for a fold once there is one); any other view is
folded from a snapshot of the store in a thread and cached per store version.
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import logging
from datetime import date, datetime
from urllib.parse import quote

import polars as pl
from kafka.partitioner.default import murmur2

from streams import config
from streams.core.aggregates import over_time
from streams.core.bottlenecks import issue_projects
from streams.core.clock import now_cst, today_cst
from streams.core.log import accepted_events
from streams.core.parts import merge_parts, merge_target_parts, summary_part
from streams.core.summary import View, summary
from streams.worker.settings import WorkerSettings
from streams.core import rankings
from streams.worker.store import (ProjectStore, Snapshot, Today, fold_snapshot, project_answer, ranking_part,
                                  snapshot_targets_part, today_links, today_part, today_project, today_targets_part)

log = logging.getLogger(__name__)
RETRY_AFTER_S = 1


#: The columns of a project in ``/project-list``.
LIST_COLUMNS = ("project_id", "name", "industry", "lead_industry", "town", "department", "leader", "pool", "stage",
                "dropped", "investment_yuan", "signed_yuan", "colour", "days_late", "next_due", "days_since_advance",
                "plan_negotiating", "plan_signed", "plan_started", "plan_completed", "plan_operating", "drop_reason")
#: How long a worker's pools over time are reused (seconds).
TREND_SECONDS = 60
#: The filters ``/project-list`` takes: a state column's value, or (``issues``: open|overdue, ``cleared``: a year)
#: the projects behind a bottleneck figure (:func:`streams.core.bottlenecks.issue_projects`).
LIST_FILTERS = ("pool", "colour", "department", "leader", "issues", "cleared", "names_trip")
ISSUE_FILTERS = ("issues", "cleared")
#: ``?names_trip=1``: only the projects naming a trip, with it and when they reached planned and signed (which of
#: them are from a counted trip is decided over every worker's trips, :func:`streams.core.trips.projects_from_trips`).
TRIP_COLUMNS = ("trip_id", "reached_at_planned", "reached_at_signed")


class NotWhole(Exception):
    """The answer would miss partitions or count some twice: the caller should retry shortly."""


def key_partition(project_id: str, partitions: int) -> int:
    """The partition a project's events go to: Kafka's default partitioner for keyed records (murmur2)."""
    return (murmur2(project_id.encode()) & 0x7FFFFFFF) % partitions


def _bearer_matches(header: str, token: str) -> bool:
    scheme, _, given = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


def _jsonable(value):
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value.isoformat() if isinstance(value, (date, datetime)) else value


def rows_of(frame: pl.DataFrame) -> list[dict]:
    """A frame's rows as JSON values (dates and times in ISO 8601)."""
    return _jsonable(frame.to_dicts())


def folded_view(snapshot: Snapshot, view: View) -> tuple[dict, list[dict]]:
    """This store's part of a view's summary and its trips as of the view, from one fold. Pure: run it in a
    thread."""
    result = fold_snapshot(snapshot, view)
    return summary_part(result), rows_of(result.trips)


def pools_over_time_of(snapshot: Snapshot, view: View) -> list[dict]:
    """A store's pools (count, investment) at every month end up to the view, as the replay's ``pools_over_time``
    table. Pure: run it in a thread."""
    result = fold_snapshot(snapshot, view)
    return rows_of(over_time(accepted_events(result.settled), view.cutoff)[0])


def _is_today(view: View) -> bool:
    return view.known_at is None and view.as_of == today_cst()


def _same_state(kept, state) -> bool:
    """Whether a cached answer was worked out from ``state``: the same :class:`Today` or store version."""
    return kept is state or (isinstance(kept, int) and isinstance(state, int) and kept == state)


def view_of(query) -> View:
    """``?as_of=YYYY-MM-DD&known_at=YYYY-MM-DD``; as of today (CST) by default."""
    as_of = date.fromisoformat(query["as_of"]) if query.get("as_of") else today_cst()
    return View(as_of, date.fromisoformat(query["known_at"]) if query.get("known_at") else None)


class Views:
    """This worker's answers from its own store: today's from the maintained state, others cached per version."""

    def __init__(self, app, store: ProjectStore) -> None:
        self.app, self.store = app, store
        self.cache: dict[View, tuple[int, asyncio.Future]] = {}
        self.ranking_cache: dict[tuple[View, str], tuple[int, asyncio.Future]] = {}
        self.links: tuple[Today, asyncio.Future] | None = None  # today's counted trips and from_trips
        self.trend: dict[View, tuple[float, asyncio.Future]] = {}  # pools over time, folded at most once a minute
        self.target_cache: dict[View, tuple[object, asyncio.Future]] = {}  # per view: (today's state or version, …)

    def _ensure_ready(self) -> None:
        if not self.store.ready or self.app.rebalancing:
            raise NotWhole("this worker is rebalancing or restoring its store")

    async def _today(self):
        """Today's maintained state as last folded: never waits for a fold unless there is none yet.

        The publish timer folds what changed every second once the intake has caught up, so an
        answer is then at most about a second behind what was consumed; while it catches up, folds
        are paced (:mod:`streams.worker.pacing`) and an answer may lag by up to 10 s plus a fold.
        (Pages starting folds of their own made a loaded worker fold back to back and starve
        consumption.)
        """
        if self.store.today is None:
            await self.app.refresh()
        if self.store.today is None:  # partitions changed hands during that fold
            raise NotWhole("today's state is being folded again after a rebalance")
        return self.store.today

    async def _folded(self, view: View) -> tuple[dict, list[dict]]:
        """A view other than today's: :func:`folded_view` of the store, one fold per view and version, however
        many requests wait for it."""
        version = self.store.version
        cached = self.cache.get(view)
        if cached is None or cached[0] != version:
            snapshot = self.store.snapshot()
            future = asyncio.get_running_loop().run_in_executor(None, folded_view, snapshot, view)
            self.cache = {v: c for v, c in self.cache.items() if c[0] == version}  # drop stale versions
            self.cache[view] = cached = (version, future)
        return await asyncio.shield(cached[1])

    async def part(self, view: View) -> dict:
        """This worker's part of the summary (:mod:`streams.core.parts`)."""
        self._ensure_ready()
        if _is_today(view):
            today = await self._today()
            if self.links is None or self.links[0] is not today:  # worked out once per fold of today's state
                self.links = (today, asyncio.get_running_loop().run_in_executor(None, today_links, today))
            links = await asyncio.shield(self.links[1])
            return today_part(today, self.store.rejected(), links)
        return (await self._folded(view))[0]

    async def trips(self, view: View) -> list[dict]:
        """This worker's trips as of the view (:func:`streams.core.trips.trip_state`'s rows)."""
        self._ensure_ready()
        if _is_today(view):
            return rows_of((await self._today()).trips)
        return (await self._folded(view))[1]

    async def project_list(self, view: View, which: dict[str, str]) -> list[dict]:
        """This worker's projects in the pools as of today, those whose ``pool``, ``colour``, ``department`` and
        ``leader`` equal ``which``'s (the board's red list and filtered lists); today's view only."""
        self._ensure_ready()
        if not _is_today(view):
            raise ValueError("the list of projects is kept for today's view only")
        today = await self._today()
        frame = today.frame
        wanted = pl.col("in_pools")
        for column, value in which.items():
            if column == "names_trip":
                wanted = wanted & pl.col("trip_id").is_not_null()
            elif column in ISSUE_FILTERS:
                ids = issue_projects(today.issues, frame, today.day, value)
                wanted = wanted & pl.col("project_id").cast(pl.Utf8).is_in(ids.implode())
            else:
                wanted = wanted & (pl.col(column).cast(pl.Utf8) == value)
        shown = [c for c in (*LIST_COLUMNS, *(TRIP_COLUMNS if "names_trip" in which else ())) if c in frame.columns]
        return rows_of(frame.filter(wanted).select(shown))

    async def pools_over_time(self, view: View) -> list[dict]:
        """This worker's pools at every month end (:func:`streams.core.aggregates.over_time`), folded in a thread
        at most once every :data:`TREND_SECONDS` per view (a monthly trend: it may be a minute behind)."""
        self._ensure_ready()
        loop = asyncio.get_running_loop()
        cached = self.trend.get(view)
        if cached is None or loop.time() - cached[0] > TREND_SECONDS:
            future = loop.run_in_executor(None, pools_over_time_of, self.store.snapshot(), view)
            self.trend = {v: c for v, c in self.trend.items() if loop.time() - c[0] <= TREND_SECONDS}
            self.trend[view] = cached = (loop.time(), future)
        return await asyncio.shield(cached[1])

    async def targets(self, view: View, years: list[str]) -> dict:
        """This worker's part of the targets of ``years`` (:func:`streams.core.parts.targets_part`): today's from the
        maintained state, others folded from the store; worked out in a thread once per view and state."""
        self._ensure_ready()
        if _is_today(view):
            today = await self._today()
            state, work = today, functools.partial(today_targets_part, today, years)
        else:
            state = self.store.version
            work = functools.partial(snapshot_targets_part, self.store.snapshot(), view, years)
        cached = self.target_cache.get(view)
        if cached is None or not _same_state(cached[0], state):
            self.target_cache = {v: c for v, c in self.target_cache.items()  # drop stale ones of the same kind
                                 if _same_state(c[0], state) or _is_today(v) != _is_today(view)}
            future = asyncio.get_running_loop().run_in_executor(None, work)
            self.target_cache[view] = cached = (state, future)
        return await asyncio.shield(cached[1])

    async def ranking_counts(self, view: View, period: str):
        """This worker's part of a period's rankings (:func:`streams.worker.store.ranking_part`), folded in a
        thread and cached per view, period and store version."""
        self._ensure_ready()
        version = self.store.version
        key = (view, period)
        cached = self.ranking_cache.get(key)
        if cached is None or cached[0] != version:
            snapshot = self.store.snapshot()
            future = asyncio.get_running_loop().run_in_executor(None, ranking_part, snapshot, view, period)
            self.ranking_cache = {k: c for k, c in self.ranking_cache.items() if c[0] == version}
            self.ranking_cache[key] = cached = (version, future)
        return await asyncio.shield(cached[1])

    async def project(self, project_id: str, view: View) -> dict | None:
        self._ensure_ready()
        loop = asyncio.get_running_loop()
        if _is_today(view):  # from the maintained state
            doc = today_project(await self._today(), project_id)
        else:
            records = self.store.project(project_id)
            if records is None:
                return None
            doc = await loop.run_in_executor(None, project_answer, records, project_id, view)
        return None if doc is None else _jsonable(doc)


async def check_store_quality(store: ProjectStore) -> dict:
    """The aggregate suites on this worker's aggregates as of today, folded in a thread."""
    from streams import config
    from streams.core.tables import aggregate_tables
    from streams.quality.gate import check_aggregates

    snapshot = store.snapshot()  # taken on the event loop, where no agent changes the store meanwhile

    def run() -> dict:
        result = fold_snapshot(snapshot, View(today_cst()))
        return check_aggregates(summary(result), aggregate_tables(result, config.targets())).as_dict()

    report = await asyncio.get_running_loop().run_in_executor(None, run)
    return {**report, "checked_at": now_cst().isoformat(timespec="seconds")}


def add_pages(app, settings: WorkerSettings, store: ProjectStore) -> None:
    """``/summary``, ``/pools``, ``/trips``, ``/rankings``, ``/projects/{id}``, ``/quality`` and the peers'
    ``/parts/...``."""
    views = Views(app, store)
    token = settings.web_token
    own_url = str(app.conf.canonical_url).rstrip("/")

    def guarded(page):
        """With a web token set, a page answers only ``Authorization: Bearer <token>``."""
        @functools.wraps(page)
        async def check(self, request, *args, **kwargs):
            if token is not None and not _bearer_matches(request.headers.get("Authorization", ""), token):
                return self.json({"error": "unauthorised: send Authorization: Bearer <FUNNEL_WEB_TOKEN>"},
                                 status=401, headers={"WWW-Authenticate": "Bearer"})
            try:
                return await page(self, request, *args, **kwargs)
            except NotWhole as e:
                return self.json({"error": f"not available right now: {e}", "retry_after_s": RETRY_AFTER_S},
                                 status=503, headers={"Retry-After": str(RETRY_AFTER_S)})
            except ValueError as e:
                return self.json({"error": f"bad request: {e}"}, status=400)
        return check

    def owners() -> dict[str, list[int]]:
        """Each member's URL and the event-topic partitions the group gave it."""
        distribution = app.assignor.external_topics_metadata()
        return {str(url).rstrip("/"): sorted(topics.get(settings.topic, ())) for url, topics in distribution.items()}

    async def peer(url: str, path: str, request) -> tuple[int, dict]:
        headers = {"Authorization": request.headers["Authorization"]} if "Authorization" in request.headers else {}
        try:
            async with app.http_client.get(f"{url}{path}", headers=headers,
                                           timeout=settings.peer_timeout_s) as response:
                return response.status, await response.json()
        except Exception as e:  # a peer that is gone or slow: the answer would not be whole
            log.warning("peer %s did not answer %s: %s", url, path, e)
            raise NotWhole(f"peer {url} did not answer") from e

    async def local_part(view: View) -> dict:
        partitions = sorted(store.assigned)
        return {"partitions": partitions, **await views.part(view)}

    async def local_trips(view: View) -> dict:
        partitions = sorted(store.assigned)
        return {"partitions": partitions, "trips": await views.trips(view)}

    async def local_targets_part(view: View) -> dict:
        partitions = sorted(store.assigned)
        return {"partitions": partitions, **await views.targets(view, list(config.targets()))}

    async def local_ranking_part(view: View, period: str) -> dict:
        partitions = sorted(store.assigned)
        return {"partitions": partitions, "counts": (await views.ranking_counts(view, period)).to_dicts()}

    async def local_project_list(view: View, which: dict[str, str]) -> dict:
        partitions = sorted(store.assigned)
        return {"partitions": partitions, "projects": await views.project_list(view, which)}

    async def local_pools_over_time(view: View) -> dict:
        partitions = sorted(store.assigned)
        return {"partitions": partitions, "pools_over_time": await views.pools_over_time(view)}

    def view_query(view: View) -> str:
        return f"as_of={view.as_of.isoformat()}" + (f"&known_at={view.known_at.isoformat()}" if view.known_at else "")

    async def gather(path: str, query: str, local, request) -> list[dict]:
        """Every member's part (``local()`` for this worker's, ``path?query`` of each peer), covering every
        partition exactly once, or NotWhole."""
        members = owners()
        if not members:
            raise NotWhole("no partition assignment yet")

        async def part_of(url: str) -> dict:
            if url == own_url:
                return await local()
            status, body = await peer(url, f"{path}?{query}", request)
            if status != 200:
                raise NotWhole(f"peer {url}: {body.get('error', status)}")
            return body

        parts = await asyncio.gather(*(part_of(url) for url in members))
        covered = sorted(p for part in parts for p in part["partitions"])
        if covered != list(range(settings.partitions)):
            raise NotWhole(f"the workers' parts cover partitions {covered} of {settings.partitions}")
        return parts

    async def global_summary(view: View, request) -> dict:
        parts = await gather("/parts/summary", view_query(view), lambda: local_part(view), request)
        return merge_parts(parts)

    async def global_targets(view: View, request) -> pl.DataFrame:
        """The targets table of every partition: the parts' additive metrics added up, 小分队签约额 from every
        part's projects naming a counted team trip (:func:`streams.core.parts.merge_target_parts`)."""
        parts = await gather("/parts/targets", view_query(view), lambda: local_targets_part(view), request)
        return merge_target_parts(parts, config.targets(), view.cutoff)

    async def global_rankings(view: View, period: str, request) -> dict:
        """Rankings are not additive: every member's unit counts of the period and the one before are
        summed, then ranked once here, by the functions a replay's rankings table is made with."""
        parts = await gather("/parts/rankings", f"period={period}&{view_query(view)}",
                             lambda: local_ranking_part(view, period), request)
        counts = rankings.merge_counts([pl.DataFrame(p["counts"], schema=rankings.COUNTS_SCHEMA, orient="row")
                                        if p["counts"] else pl.DataFrame(schema=rankings.COUNTS_SCHEMA)
                                        for p in parts])
        ranked = rankings.rank_units(counts).filter(pl.col("period") == period)
        return {"period": period, "as_of": view.as_of.isoformat(),
                "known_at": view.known_at and view.known_at.isoformat(),
                "rules": rankings.DEFAULT_RULES.as_dict(), "rankings": ranked.to_dicts()}

    @app.page("/summary")
    @guarded
    async def summary_page(self, request):
        """The summary.json document of every partition; ``?as_of=YYYY-MM-DD&known_at=YYYY-MM-DD``."""
        return self.json(await global_summary(view_of(request.query), request))

    @app.page("/pools")
    @guarded
    async def pools_page(self, request):
        """Count and investment of every pool, across every partition."""
        doc = await global_summary(view_of(request.query), request)
        return self.json([{"pool": pool, **figures} for pool, figures in doc["pools"].items()])

    @app.page("/parts/summary")
    @guarded
    async def part_page(self, request):
        """This worker's part of the summary, with the partitions it covers (for its peers)."""
        return self.json(await local_part(view_of(request.query)))

    @app.page("/targets")
    @guarded
    async def targets_page(self, request):
        """Every metric of every year of the annual targets against its target, of every partition: the rows of
        the replay's targets table; ``?as_of=YYYY-MM-DD&known_at=YYYY-MM-DD``."""
        return self.json(rows_of(await global_targets(view_of(request.query), request)))

    @app.page("/parts/targets")
    @guarded
    async def targets_part_page(self, request):
        """This worker's part of the targets, with the partitions it covers (for its peers)."""
        return self.json(await local_targets_part(view_of(request.query)))

    @app.page("/trips")
    @guarded
    async def trips_page(self, request):
        """Every trip reported or withdrawn as of the view (§8), of every partition, by ``trip_id``: the rows of the
        replay's trips table; ``?as_of=YYYY-MM-DD&known_at=YYYY-MM-DD``."""
        parts = await gather("/parts/trips", view_query(view_of(request.query)),
                             lambda: local_trips(view_of(request.query)), request)
        return self.json(sorted((t for part in parts for t in part["trips"]), key=lambda t: t["trip_id"]))

    @app.page("/parts/trips")
    @guarded
    async def trips_part_page(self, request):
        """This worker's trips as of the view, with the partitions they cover (for its peers)."""
        return self.json(await local_trips(view_of(request.query)))

    @app.page("/project-list")
    @guarded
    async def project_list_page(self, request):
        """Today's projects in the pools of every partition, by ``project_id``: ``?pool=&colour=&department=&leader=``
        (the board's red list and the lists behind its figures)."""
        view = view_of(request.query)
        which = {k: request.query[k] for k in LIST_FILTERS if request.query.get(k)}
        query = "&".join(f"{k}={quote(v)}" for k, v in which.items())
        parts = await gather("/parts/project-list", "&".join(q for q in (query, view_query(view)) if q),
                             lambda: local_project_list(view, which), request)
        return self.json(sorted((p for part in parts for p in part["projects"]), key=lambda p: p["project_id"]))

    @app.page("/parts/project-list")
    @guarded
    async def project_list_part_page(self, request):
        """This worker's part of ``/project-list``, with the partitions it covers (for its peers)."""
        which = {k: request.query[k] for k in LIST_FILTERS if request.query.get(k)}
        return self.json(await local_project_list(view_of(request.query), which))

    @app.page("/pools-over-time")
    @guarded
    async def pools_over_time_page(self, request):
        """Every pool's count and investment at every month end, of every partition (the rows of the replay's
        ``pools_over_time`` table; a project lives in one partition, so the parts add up)."""
        view = view_of(request.query)
        parts = await gather("/parts/pools-over-time", view_query(view), lambda: local_pools_over_time(view),
                             request)
        rows = [r for part in parts for r in part["pools_over_time"]]
        if not rows:
            return self.json([])
        summed = (pl.DataFrame(rows).group_by("month", "pool").agg(pl.col("count", "investment_yuan").sum())
                  .sort("month", "pool"))
        return self.json(summed.to_dicts())

    @app.page("/parts/pools-over-time")
    @guarded
    async def pools_over_time_part_page(self, request):
        """This worker's pools over time, with the partitions they cover (for its peers)."""
        return self.json(await local_pools_over_time(view_of(request.query)))

    @app.page("/rankings")
    @guarded
    async def rankings_page(self, request):
        """月评比 of every partition: ``?period=2024-03|2024-Q1|2024`` (and ``as_of``, ``known_at``); the rows of
        the replay's rankings table for that period."""
        period = rankings.parse_period(request.query.get("period", ""))
        return self.json(await global_rankings(view_of(request.query), period, request))

    @app.page("/parts/rankings")
    @guarded
    async def ranking_part_page(self, request):
        """This worker's unit counts of a period and the one before, with the partitions they cover (for peers)."""
        period = rankings.parse_period(request.query.get("period", ""))
        return self.json(await local_ranking_part(view_of(request.query), period))

    @app.page("/projects/{project_id}")
    @guarded
    async def project_page(self, request, project_id):
        """One project's state, answered by the worker that owns its partition."""
        view = view_of(request.query)
        doc = await views.project(project_id, view)
        if doc is not None:
            return self.json(doc)
        members = owners()
        partition = key_partition(project_id, settings.partitions)
        owner = next((url for url, parts in members.items() if partition in parts), None)
        if owner is None:
            raise NotWhole(f"partition {partition} has no owner right now")
        # The owner of the key's partition first; then the others, for a producer that partitioned
        # by another rule than Kafka's default (kcat's librdkafka, say).
        others = [url for url in sorted(members) if url not in (owner, own_url)]
        for url in ([owner] if owner != own_url else []) + others:
            status, body = await peer(url, f"/parts/projects/{project_id}?{request.query_string}", request)
            if status != 404:
                return self.json(body, status=status)
        return self.json({"error": f"no project {project_id!r}"}, status=404)

    @app.page("/parts/projects/{project_id}")
    @guarded
    async def project_part_page(self, request, project_id):
        """One project's state if this worker holds it (for its peers; never forwarded)."""
        doc = await views.project(project_id, view_of(request.query))
        return self.json(doc if doc is not None else {"error": f"no project {project_id!r} here"},
                         status=200 if doc is not None else 404)

    @app.page("/quality")
    @guarded
    async def quality_page(self, request):
        """The last aggregate quality check of this worker's aggregates."""
        return self.json(app.quality)
