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

from streams.core.fold import project_state
from streams.core.log import accepted_events, settle
from streams.core.summary import Result, View, fold_log, summary, summary_of
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


@dataclass
class Today:
    """The maintained state of one CST day: one row per project, its partition and its outcome tallies."""

    day: date
    frame: pl.DataFrame


class ProjectStore:
    """Per-project compact logs of the partitions this worker owns, and today's state kept up to date."""

    def __init__(self) -> None:
        self.partitions: dict[int, Partition] = {}
        self.dirty: dict[str, int] = {}  # project → partition: changed since today's state was folded
        self.version = 0  # bumped by every change; caches of other views are keyed by it
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
        if self.today is not None:
            self.today.frame = self.today.frame.filter(pl.col("partition").is_in(list(partitions)))
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


def today_project(today: Today, project_id: str) -> dict | None:
    """One project's state from today's maintained state (None when it has none)."""
    rows = today.frame.filter((pl.col("project_id") == project_id) & pl.col("events").is_not_null())
    if not rows.height:
        return None
    return rows.drop("partition", *_TALLIES).row(0, named=True)


def today_summary(today: Today, rejected: Counter, view: View) -> dict:
    """The summary of today's maintained state: tallies summed, rejections counted as they came."""
    frame = today.frame
    outcomes = {t: int(frame[t].sum() or 0) for t in _TALLIES} if frame.height else {}
    return summary_of(view, {**outcomes, **rejected}, frame)


def replace_rows(today: Today | None, day: date, rows: pl.DataFrame, everything: bool) -> Today:
    """Today's state with the rows of the projects that changed replaced (all of it on a new day)."""
    if today is None or everything:
        return Today(day, rows)
    kept = today.frame.filter(~pl.col("project_id").is_in(rows["project_id"].implode()))
    return Today(day, pl.concat([kept, rows], how="vertical_relaxed"))


__all__ = ["EVENT", "REJECTED", "Partition", "ProjectStore", "Today", "fold_changed", "fold_snapshot", "full_log",
           "project_result", "replace_rows", "summary", "today_project", "today_summary"]
