"""The one place the web application reads figures: the live workers, or a replay directory for an archived view.

A :class:`FigureSource` answers whole or not at all: a worker's 503 (a rebalance, a restoring peer) raises
:class:`Rebalancing`, which the pages show as "正在重新平衡，稍后刷新", never as partial figures. Nothing is
computed here: the workers and the replay computed every figure with the core (streams/core/*).
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import polars as pl

from streams.core.clock import cst_at

log = logging.getLogger(__name__)

#: The columns of a project's row the pages show (the state table's names).
PROJECT_COLUMNS = ("project_id", "name", "industry", "lead_industry", "town", "department", "leader", "pool",
                   "stage", "dropped", "investment_yuan", "signed_yuan", "colour", "days_late", "next_due",
                   "days_since_advance", "plan_negotiating", "plan_signed", "plan_started", "plan_completed",
                   "plan_operating", "drop_reason")


class Rebalancing(Exception):
    """The workers cannot answer for every partition right now: show nothing but that, and retry."""


class NotAvailable(Exception):
    """This source does not hold that figure (e.g. a table only a replay writes)."""


def jsonable(value: Any) -> Any:
    """Dates and times as ISO 8601, recursively."""
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    return value.isoformat() if isinstance(value, (date, datetime)) else value


def rows(frame: pl.DataFrame) -> list[dict]:
    """A frame's rows as JSON values."""
    return jsonable(frame.to_dicts())


@dataclass(frozen=True)
class ProjectFilter:
    """Which projects a list shows: by pool, colour, department or leader (any left out matches all)."""

    pool: str | None = None
    colour: str | None = None
    department: str | None = None
    leader: str | None = None

    def expr(self) -> pl.Expr:
        """The filter on the project state table (only projects in the pools)."""
        out = pl.col("in_pools")
        for column in ("pool", "colour", "department", "leader"):
            value = getattr(self, column)
            if value:
                out = out & (pl.col(column).cast(pl.Utf8) == value)
        return out

    def query(self) -> str:
        """The filter as a query string (``pool=signed&colour=red``)."""
        return urllib.parse.urlencode({k: v for k, v in vars(self).items() if v})


def worst_first(project: dict) -> tuple:
    """Order of a project list: the most days overdue first, those without a due date last, then by id."""
    late = project.get("days_late")
    return (late is None, -(late or 0), project["project_id"])


class FigureSource:
    """Figures for the pages: :meth:`from_workers` (live) or :meth:`from_replay` (archived)."""

    kind = "abstract"

    @staticmethod
    def from_workers(url: str, token: str | None = None, timeout_s: float = 10.0) -> "WorkerFigures":
        """The live figures of any worker (its pages scatter-gather across every worker)."""
        return WorkerFigures(url.rstrip("/"), token, timeout_s)

    @staticmethod
    def from_replay(directory: str | Path) -> "ReplayFigures":
        """The figures of a replay directory (``summary.json`` and its Parquet tables)."""
        return ReplayFigures(Path(directory))

    def summary(self) -> dict:
        raise NotImplementedError

    def rankings(self, period: str) -> list[dict]:
        raise NotImplementedError

    def trips(self) -> list[dict]:
        raise NotImplementedError

    def project(self, project_id: str) -> dict | None:
        raise NotImplementedError

    def targets(self) -> list[dict]:
        raise NotAvailable("targets")

    def projects(self, which: ProjectFilter, limit: int | None = None) -> list[dict]:
        """The projects in the pools that ``which`` selects, worst first (:func:`worst_first`), at most ``limit``."""
        raise NotAvailable("the list of projects")

    def count_projects(self, which: ProjectFilter) -> int:
        """How many projects ``which`` selects."""
        return len(self.projects(which))

    def pools_over_time(self) -> list[dict]:
        raise NotAvailable("the pools over time")

    def updated_at(self) -> str | None:
        """When the figures were last made (ISO 8601), if the source knows."""
        return None


@dataclass
class WorkerFigures(FigureSource):
    """A worker's JSON pages; a 503 is :class:`Rebalancing`."""

    url: str
    token: str | None = None
    timeout_s: float = 10.0
    kind = "workers"

    def _get(self, path: str) -> Any:
        request = urllib.request.Request(f"{self.url}{path}", headers={"Accept": "application/json"})
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as e:
            if e.code == 503:
                raise Rebalancing(e.read().decode("utf-8", "replace")) from e
            if e.code == 404:
                return None
            raise
        except (urllib.error.URLError, TimeoutError, ConnectionError) as e:
            log.warning("worker %s did not answer %s: %s", self.url, path, e)
            raise Rebalancing(f"worker {self.url} did not answer") from e

    def summary(self) -> dict:
        return self._get("/summary")

    def rankings(self, period: str) -> list[dict]:
        return self._get(f"/rankings?period={urllib.parse.quote(period)}")["rankings"]

    def trips(self) -> list[dict]:
        return self._get("/trips")

    def project(self, project_id: str) -> dict | None:
        return self._get(f"/projects/{urllib.parse.quote(project_id, safe='')}")

    def targets(self) -> list[dict]:
        """Every metric of every year of the workers' targets file, of every partition (the workers' ``/targets``:
        the rows of a replay's targets table)."""
        found = self._get("/targets")
        if found is None:  # a worker older than /targets
            raise NotAvailable("targets: the workers have no /targets")
        return found

    def projects(self, which: ProjectFilter, limit: int | None = None) -> list[dict]:
        """Today's projects in the pools of every partition (the workers' ``/project-list``), worst first."""
        query = which.query()
        found = self._get("/project-list" + (f"?{query}" if query else ""))
        return sorted(found, key=worst_first)[:limit]

    def pools_over_time(self) -> list[dict]:
        """The pools at every month end, of every partition (the workers' ``/pools-over-time``)."""
        return self._get("/pools-over-time")


@dataclass
class ReplayFigures(FigureSource):
    """A replay directory, read again whenever its ``summary.json`` changes (a replay written over it)."""

    directory: Path
    kind = "replay"
    _cache: dict = field(default_factory=dict, repr=False)
    _stamp: float | None = field(default=None, repr=False)

    def _fresh(self) -> None:
        stamp = (self.directory / "summary.json").stat().st_mtime
        if stamp != self._stamp:
            self._cache.clear()
            self._stamp = stamp

    def table(self, name: str) -> pl.DataFrame:
        """A Parquet table of the replay (read once per replay)."""
        self._fresh()
        if name not in self._cache:
            path = self.directory / f"{name}.parquet"
            if not path.exists():
                raise NotAvailable(f"{name}: not in {self.directory}")
            self._cache[name] = pl.read_parquet(path)
        return self._cache[name]

    def summary(self) -> dict:
        self._fresh()
        if "summary" not in self._cache:
            self._cache["summary"] = json.loads((self.directory / "summary.json").read_text(encoding="utf-8"))
        return self._cache["summary"]

    def rankings(self, period: str) -> list[dict]:
        table = self.table("rankings")
        return rows(table.filter(pl.col("period") == period).sort("dimension", "rank", "unit"))

    def trips(self) -> list[dict]:
        return rows(self.table("trips").sort("trip_id"))

    def project(self, project_id: str) -> dict | None:
        state = self.table("project_state").filter(pl.col("project_id") == project_id)
        if not state.height:
            return None
        issues = self.table("issues").filter(pl.col("project_id") == project_id).drop("project_id")
        return jsonable({**state.to_dicts()[0], "issues": issues.to_dicts()})

    def targets(self) -> list[dict]:
        return rows(self.table("targets"))

    def projects(self, which: ProjectFilter, limit: int | None = None) -> list[dict]:
        state = self.table("project_state").filter(which.expr())
        shown = [c for c in PROJECT_COLUMNS if c in state.columns]
        ordered = state.select(shown).sort("days_late", "project_id", descending=[True, False], nulls_last=True)
        return rows(ordered if limit is None else ordered.head(limit))  # the order of worst_first

    def count_projects(self, which: ProjectFilter) -> int:
        return self.table("project_state").filter(which.expr()).height

    def pools_over_time(self) -> list[dict]:
        return rows(self.table("pools_over_time"))

    def updated_at(self) -> str | None:
        self._fresh()
        return cst_at(self._stamp).isoformat()


def figures_of(request) -> FigureSource:
    """The application's figure source (a FastAPI dependency): ``app.state.figures`` if set, else made once from
    its settings (``source``: a replay directory; else the workers at ``worker_url``)."""
    state = request.app.state
    figures = getattr(state, "figures", None)
    if figures is None:
        settings = state.settings
        if getattr(settings, "source", None):
            figures = FigureSource.from_replay(settings.source)
        else:
            figures = FigureSource.from_workers(settings.worker_url, getattr(settings, "worker_token", None))
        state.figures = figures
    return figures
