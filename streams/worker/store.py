"""The worker's state store: for each partition it owns, each project's checked records in compact form.

Like a Kafka Streams state store, it is local, per key (project), and rebuilt from a
changelog: the worker writes each batch's checked records of a partition as one chunk
to the changelog, and a restarted or newly assigned worker applies the same chunks
with :meth:`ProjectStore.apply`. Records are applied once: a partition remembers the
highest position it holds, so a record seen again after a crash is skipped.

The store also maintains the state of *today* (the fold of every project as of the
current CST day, only the columns the summary needs), refolding only the projects that
changed. Other views are folded from the whole store on demand. Nothing here talks to
Kafka or Faust: :mod:`streams.worker.app` feeds it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime

import polars as pl

from streams.core import rankings
from streams.core.fold import project_state
from streams.core.log import accepted_events, settle
from streams.core.clock import day_end
from streams.core.summary import Result, View, fold_log, merge_summaries, negated, summary, summary_of, with_outcomes
from streams.kafkaio.records import DLQ_SEQ
from streams.worker import compact

#: Kinds of record in a changelog chunk.
EVENT, REJECTED = 0, 1
_TALLIES = ("accepted", "duplicate", "event_id_conflict")


@dataclass
class Partition:
    """One partition's share of the store."""

    projects: dict[str, bytes] = field(default_factory=dict)  # project_id → its compact event records
    rejections: list[list] = field(default_factory=list)  # compact rejection records
    rejected: Counter = field(default_factory=Counter)  # reason → records
    last_seq: int = -1  # the highest position of the event topic applied
    last_dead_letter: int = -1  # the highest position of the dead-letter topic applied


@dataclass(frozen=True)
class Today:
    """The maintained state of one CST day: one row per project (with its partition and outcome
    tallies), sorted by project, and the summary of those rows (rejections are counted apart)."""

    day: date
    frame: pl.DataFrame
    doc: dict


class ProjectStore:
    """Per-project compact logs of the partitions this worker owns, and today's state kept up to date."""

    def __init__(self) -> None:
        self.partitions: dict[int, Partition] = {}
        self.dirty: dict[str, int] = {}  # project → partition: changed since today's state was folded
        self.version = 0  # bumped by every change; caches of other views are keyed by it
        self.generation = 0  # bumped when partitions are taken away: a fold begun before is stale
        self.ready = False  # False until the first recovery has completed
        self.assigned: set[int] = set()  # the partitions the group gave this worker
        self.today: Today | None = None

    # ---- writing ---------------------------------------------------------------------------------

    def _partition(self, number: int) -> Partition:
        return self.partitions.setdefault(number, Partition())

    def fresh(self, partition: int, seq: int) -> bool:
        """Whether a record at this position is not in the store yet."""
        part = self.partitions.get(partition)
        if part is None:
            return True
        return seq > (part.last_dead_letter if seq & DLQ_SEQ else part.last_seq)

    def apply(self, partition: int, chunk: list) -> int:
        """Apply a chunk of ``(kind, project_id, record)`` in position order; returns how many were new."""
        part = self._partition(partition)
        appended: dict[str, list] = {}
        new = 0
        for kind, project_id, record in chunk:
            seq = record[0]
            if not self.fresh(partition, seq):
                continue  # applied before: a chunk replayed from the changelog, or a record read again
            new += 1
            if seq & DLQ_SEQ:
                part.last_dead_letter = seq
            else:
                part.last_seq = seq
            if kind == REJECTED:
                part.rejections.append(list(record))
                part.rejected[record[1]] += 1
            else:
                appended.setdefault(project_id, []).append(record)
        for project_id, records in appended.items():
            old = part.projects.get(project_id)
            part.projects[project_id] = compact.encode([*compact.decode(old), *records] if old else records)
            self.dirty[project_id] = partition
        if new:
            self.version += 1
        return new

    def keep_only(self, partitions: set[int]) -> None:
        """Forget the partitions this worker no longer owns (after a rebalance)."""
        for number in set(self.partitions) - partitions:
            del self.partitions[number]
        self.dirty = {p: n for p, n in self.dirty.items() if n in partitions}
        self.today = None  # refolded whole at the next refresh, from what is left
        self.generation += 1
        self.version += 1

    # ---- reading ---------------------------------------------------------------------------------

    def owned(self) -> list[int]:
        return sorted(self.partitions)

    def project(self, project_id: str) -> list | None:
        """A project's decoded records, or None when no partition here holds it."""
        for part in self.partitions.values():
            blob = part.projects.get(project_id)
            if blob is not None:
                return compact.decode(blob)
        return None

    def snapshot(self) -> tuple[list[tuple[str, bytes]], list[list]]:
        """Every project's records and every rejection, as immutable values a thread may fold."""
        projects = [item for part in self.partitions.values() for item in part.projects.items()]
        rejections = [r for part in self.partitions.values() for r in part.rejections]
        return projects, rejections

    def rejected(self) -> Counter:
        total: Counter = Counter()
        for part in self.partitions.values():
            total.update(part.rejected)
        return total


def full_log(projects: list[tuple[str, bytes]], rejections: list[list]) -> pl.DataFrame:
    """The log of a snapshot (:meth:`ProjectStore.snapshot`), as ``funnel replay`` would read it."""
    events = compact.events_frame([(pid, compact.decode(blob)) for pid, blob in projects])
    return compact.log_frame(events, compact.rejections_frame(rejections))


def fold_snapshot(projects: list[tuple[str, bytes]], rejections: list[list], view: View) -> Result:
    """The whole pipeline over a snapshot of the store, for any view."""
    return fold_log(full_log(projects, rejections), view)


def ranking_part(projects: list[tuple[str, bytes]], rejections: list[list], view: View, period: str
                 ) -> pl.DataFrame:
    """This store's part of the rankings of ``period`` and the period before (:func:`rankings.unit_counts`:
    counts that add up across partitions, so the asking worker sums every part and ranks once). Pure:
    run it in a thread."""
    result = fold_snapshot(projects, rejections, view)
    periods = rankings.periods_needed(period)
    colours = rankings.colours_at_period_ends(accepted_events(result.settled), periods, view.cutoff)
    return rankings.unit_counts(result.state, colours, view.cutoff, periods)


def project_result(records: list, project_id: str, view: View) -> Result:
    """The fold of one project's records for a view."""
    return fold_log(compact.log_frame(compact.events_frame([(project_id, records)]),
                                      compact.rejections_frame([])), view)


def fold_changed(projects: list[tuple[str, int, bytes]], cutoff: datetime) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Today's rows of the projects that changed: (their rows of :class:`Today`, their project state).

    ``projects`` are (project_id, partition, compact records). Pure: run it in a thread.
    """
    events = compact.events_frame([(pid, compact.decode(blob)) for pid, _, blob in projects])
    settled = settle(events)
    tallies = (settled.group_by("project_id")
               .agg([(pl.col("outcome") == t).sum().cast(pl.Int64).alias(t) for t in _TALLIES]))
    state = project_state(accepted_events(settled), cutoff)
    partitions = pl.DataFrame({"project_id": [p for p, _, _ in projects], "partition": [n for _, n, _ in projects]},
                              schema={"project_id": pl.Utf8, "partition": pl.Int32})
    rows = (partitions.join(tallies, on="project_id", how="left")
            .join(state, on="project_id", how="left")
            .with_columns(pl.col("in_pools", "orphan").fill_null(False)))
    return rows, state


def _tallies(frame: pl.DataFrame) -> dict[str, int]:
    return {t: int(frame[t].sum() or 0) for t in _TALLIES} if frame.height else {}


def refreshed(today: Today | None, day: date, projects: list[tuple[str, int, bytes]], everything: bool
              ) -> tuple[Today, pl.DataFrame]:
    """Today's state with the projects that changed folded again, and their project state (to publish).

    The summary is kept up to date by taking the changed projects' old rows away and adding
    their new ones (:func:`merge_summaries` of disjoint parts), so it never sums the whole
    frame; a new day (or ``everything``) folds and sums it all. Pure: run it in a thread.
    """
    rows, state = fold_changed(projects, day_end(day))
    view = View(day)
    if today is None or everything or today.day != day:
        frame = rows.sort("project_id")
        return Today(day, frame, summary_of(view, _tallies(frame), frame)), state
    changed = pl.col("project_id").is_in(rows["project_id"].implode())
    old = today.frame.filter(changed)
    frame = pl.concat([today.frame.filter(~changed), rows], how="vertical_relaxed").sort("project_id")
    doc = merge_summaries([today.doc, summary_of(view, _tallies(rows), rows),
                           negated(summary_of(view, _tallies(old), old))])
    return Today(day, frame, doc), state


def today_project(today: Today, project_id: str) -> dict | None:
    """One project's state from today's maintained state (None when it has none): a binary search."""
    ids = today.frame["project_id"]
    at = ids.search_sorted(project_id)
    if at >= len(ids) or ids[at] != project_id:
        return None
    row = today.frame.row(at, named=True)
    if row["events"] is None:  # tallies only: every event of it occurs after today
        return None
    return {k: v for k, v in row.items() if k not in ("partition", *_TALLIES)}


def today_summary(today: Today, rejected: Counter) -> dict:
    """Today's summary: the maintained one, with the rejections counted as they came."""
    return with_outcomes(today.doc, rejected)


__all__ = ["EVENT", "REJECTED", "Partition", "ProjectStore", "Today", "fold_changed", "fold_snapshot", "full_log",
           "project_result", "ranking_part", "refreshed", "summary", "today_project", "today_summary"]
