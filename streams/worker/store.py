"""The worker's state store: for each partition it owns, each project's and each trip's checked records in compact
form.

Like a Kafka Streams state store, it is local, per key (project), and rebuilt from a
changelog: the worker writes each batch's checked records of a partition as one chunk
to the changelog, and a restarted or newly assigned worker applies the same chunks
with :meth:`ProjectStore.apply`. Records are applied once: a partition remembers the
highest position it holds, so a record seen again after a crash is skipped.

Trip records (§8) are keyed by their ``trip_id`` and land in the partition of that key; trip ids
and project ids are separate namespaces, so a partition keeps its trips apart from its projects.

The store also maintains the state of *today* (the fold of every project as of the
current CST day, only the columns the summary needs, with their issues; and the fold of
its trips, few, refolded whole when one changed), refolding only the projects that
changed. Other views are folded from the whole store on demand. A worker's summary is a
part of the whole (:mod:`streams.core.parts`): its projects may name trips of another's.
Nothing here talks to Kafka or Faust: :mod:`streams.worker.app` feeds it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import NamedTuple

import polars as pl

from streams.core import rankings
from streams.core.bottlenecks import issue_state
from streams.core.fold import project_state
from streams.core.log import accepted_events, settle
from streams.core.clock import day_end
from streams.core.parts import merge_parts, part_of, result_targets_part, summary_part, targets_part
from streams.core.summary import Result, View, fold_log, merge_summaries, negated, summary, summary_of, with_outcomes
from streams.core.trips import project_trip_ids
from streams.kafkaio.records import DLQ_SEQ
from streams.worker import compact

#: Kinds of record in a changelog chunk: a project's event (keyed by project_id), a rejection, a trip's event (§8,
#: keyed by trip_id).
EVENT, REJECTED, TRIP = 0, 1, 2
_TALLIES = ("accepted", "duplicate", "event_id_conflict")


class Fold(NamedTuple):
    """A partition's share of a refresh: its state to fold onto (None: fold it whole), and the projects and trips
    to fold, as (key, partition, compact records)."""

    partition: int
    today: "Today | None"
    projects: list[tuple[str, int, bytes]]
    trips: list[tuple[str, int, bytes]]


@dataclass(frozen=True)
class Today:
    """The maintained state of one CST day: one row per project (with its partition, outcome tallies and the
    trip it names), sorted by project, the issues of those projects, and the summary of those rows; one row per
    trip (its :func:`streams.core.trips.trip_state`), sorted by trip, their outcome tallies, and the summary of
    those. Rejections are counted apart."""

    day: date
    frame: pl.DataFrame
    doc: dict
    issues: pl.DataFrame
    trips: pl.DataFrame
    trip_tallies: pl.DataFrame
    trip_doc: dict


@dataclass
class Partition:
    """One partition's share of the store."""

    projects: dict[str, bytes] = field(default_factory=dict)  # project_id → its compact event records
    trips: dict[str, bytes] = field(default_factory=dict)  # trip_id → its compact event records (§8)
    rejections: list[list] = field(default_factory=list)  # compact rejection records
    rejected: Counter = field(default_factory=Counter)  # reason → records
    last_seq: int = -1  # the highest position of the event topic applied
    last_dead_letter: int = -1  # the highest position of the dead-letter topic applied
    changelog_offset: int = -1  # the changelog offset of the last chunk held (delivered or restored)
    changelog_key: bytes | None = None  # that chunk's key: a checkpoint names it (streams.worker.checkpoint)
    today: Today | None = None  # today's state of its projects and trips, folded but for the store's dirty ones
    # Projects and trips changed since ``today`` was folded, while the partition is between stores (released,
    # checkpointed, loaded): a store keeps its own ``dirty`` and takes these in when it adopts the partition.
    unfolded: set[str] = field(default_factory=set)
    unfolded_trips: set[str] = field(default_factory=set)


class Snapshot(NamedTuple):
    """Every project's records, every rejection and every trip's records of a store, as immutable values a thread
    may fold."""

    projects: list[tuple[str, bytes]]
    rejections: list[list]
    trips: list[tuple[str, bytes]] = []


class ProjectStore:
    """Per-project compact logs of the partitions this worker owns, and today's state kept up to date."""

    def __init__(self) -> None:
        self.partitions: dict[int, Partition] = {}
        self.dirty: dict[str, int] = {}  # project → partition: changed since today's state was folded
        self.dirty_trips: dict[str, int] = {}  # trip → partition: changed since today's state was folded
        self.version = 0  # bumped by every change; caches of other views are keyed by it
        self.generation = 0  # bumped when partitions are taken away: a fold begun before is stale
        self.ready = False  # False until the first recovery has completed
        self.assigned: set[int] = set()  # the partitions the group gave this worker
        self.today: Today | None = None  # every partition's today's state combined (:func:`combined`)
        self.republish: set[int] = set()  # partitions whose project states are to be published again, all of them

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
        """Apply a chunk of ``(kind, key, record)`` in position order (the key: a project's id, a trip's id, none
        for a rejection); returns how many were new."""
        part = self._partition(partition)
        appended: dict[str, list] = {}
        trips: dict[str, list] = {}
        new = 0
        for kind, key, record in chunk:
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
                (trips if kind == TRIP else appended).setdefault(key, []).append(record)
        _append(part.projects, appended, self.dirty, partition)
        _append(part.trips, trips, self.dirty_trips, partition)
        if new:
            self.version += 1
        return new

    def adopt(self, number: int, part: Partition, republish: bool = False) -> None:
        """Take a partition's store whole (a warm standby promoted, a checkpoint loaded), with today's state it
        carries and what of it is still to fold; ``republish``: its project states may never have been published
        (another worker held it), so publish them all again."""
        self.partitions[number] = part
        self.dirty.update(dict.fromkeys(part.unfolded, number))
        self.dirty_trips.update(dict.fromkeys(part.unfolded_trips, number))
        part.unfolded, part.unfolded_trips = set(), set()
        if republish:
            self.republish.add(number)
        self._changed_whole()

    def release(self, number: int) -> Partition | None:
        """Give a partition's store away whole (to the standbys, when this worker is no longer its owner), with what
        of it is still to fold."""
        part = self.partitions.pop(number, None)
        if part is not None:
            part.unfolded = {p for p, n in self.dirty.items() if n == number}
            part.unfolded_trips = {t for t, n in self.dirty_trips.items() if n == number}
            self.dirty = {p: n for p, n in self.dirty.items() if n != number}
            self.dirty_trips = {t: n for t, n in self.dirty_trips.items() if n != number}
            self.republish.discard(number)
            self._changed_whole()
        return part

    def _changed_whole(self) -> None:
        self.today = None  # combined again from the partitions' states at the next refresh
        self.generation += 1
        self.version += 1

    def keep_only(self, partitions: set[int]) -> None:
        """Forget the partitions this worker no longer owns (after a rebalance)."""
        for number in set(self.partitions) - partitions:
            del self.partitions[number]
        self.dirty = {p: n for p, n in self.dirty.items() if n in partitions}
        self.dirty_trips = {t: n for t, n in self.dirty_trips.items() if n in partitions}
        self.republish &= partitions
        self._changed_whole()  # combined again from what is left

    def fold_work(self, day: date) -> list[Fold]:
        """What a refresh of today's state must fold: for each partition, its projects and trips changed since its
        state was folded, or all of them when it has no state of ``day`` (a new day, a partition restored whole)."""
        by_partition: dict[int, tuple[list, list]] = {}
        for key, n in self.dirty.items():
            by_partition.setdefault(n, ([], []))[0].append(key)
        for key, n in self.dirty_trips.items():
            by_partition.setdefault(n, ([], []))[1].append(key)
        work = []
        for n, part in sorted(self.partitions.items()):
            whole = part.today is None or part.today.day != day
            projects, trips = (part.projects, part.trips) if whole else by_partition.get(n, ((), ()))
            if whole or projects or trips:
                work.append(Fold(n, None if whole else part.today,
                                 [(p, n, part.projects[p]) for p in projects if p in part.projects],
                                 [(t, n, part.trips[t]) for t in trips if t in part.trips]))
        return work

    def folded_whole(self, day: date) -> bool:
        """Whether every partition has a state of ``day`` (what changed since may still be to fold)."""
        return all(part.today is not None and part.today.day == day for part in self.partitions.values())

    def folded(self, work: list[Fold], todays: list[Today]) -> None:
        """Keep the partitions' states a refresh folded from ``work``: what changed meanwhile stays dirty."""
        for fold, today in zip(work, todays):
            part = self.partitions.get(fold.partition)
            if part is None:
                continue
            part.today = today
            for pid, _, blob in fold.projects:
                if part.projects.get(pid) is blob and self.dirty.get(pid) == fold.partition:
                    del self.dirty[pid]  # unchanged while it was folded
            for tid, _, blob in fold.trips:
                if part.trips.get(tid) is blob and self.dirty_trips.get(tid) == fold.partition:
                    del self.dirty_trips[tid]

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

    def snapshot(self) -> Snapshot:
        """Every project's records, every rejection and every trip's records, as immutable values a thread may
        fold."""
        projects = [item for part in self.partitions.values() for item in part.projects.items()]
        rejections = [r for part in self.partitions.values() for r in part.rejections]
        trips = [item for part in self.partitions.values() for item in part.trips.items()]
        return Snapshot(projects, rejections, trips)

    def all_trips(self) -> list[tuple[str, int, bytes]]:
        """Every trip's records, with its partition: (trip_id, partition, compact records)."""
        return [(tid, n, blob) for n, part in self.partitions.items() for tid, blob in part.trips.items()]

    def changed_trips(self) -> list[tuple[str, int, bytes]]:
        """The records of the trips changed since today's state was folded: (trip_id, partition, compact records)."""
        return [(tid, n, self.partitions[n].trips[tid]) for tid, n in self.dirty_trips.items()
                if n in self.partitions and tid in self.partitions[n].trips]

    def rejected(self) -> Counter:
        total: Counter = Counter()
        for part in self.partitions.values():
            total.update(part.rejected)
        return total


def _append(kept: dict[str, bytes], appended: dict[str, list], dirty: dict[str, int], partition: int) -> None:
    for key, records in appended.items():
        kept[key] = compact.appended(kept.get(key), records)  # not a decode and encode of all it held
        dirty[key] = partition


def _decoded(items) -> list[tuple[str, list]]:
    return [(item[0], compact.decode(item[-1])) for item in items]


def full_log(snapshot: Snapshot) -> pl.DataFrame:
    """The log of a snapshot (:meth:`ProjectStore.snapshot`), as ``funnel replay`` would read it."""
    events = compact.events_frame(_decoded(snapshot.projects), _decoded(snapshot.trips))
    return compact.log_frame(events, compact.rejections_frame(snapshot.rejections))


def fold_snapshot(snapshot: Snapshot, view: View) -> Result:
    """The whole pipeline over a snapshot of the store, for any view (its projects from a trip: of its own trips)."""
    return fold_log(full_log(snapshot), view)


def snapshot_part(snapshot: Snapshot, view: View) -> dict:
    """This store's part of the summary of a view (:func:`streams.core.parts.summary_part`), which merges exactly
    with the other workers' parts. Pure: run it in a thread."""
    return summary_part(fold_snapshot(snapshot, view))


def snapshot_targets_part(snapshot: Snapshot, view: View, years: list[str]) -> dict:
    """This store's part of the targets of ``years`` as of a view (:func:`streams.core.parts.targets_part`). Pure:
    run it in a thread."""
    return result_targets_part(fold_snapshot(snapshot, view), years)


def today_targets_part(today: Today, years: list[str]) -> dict:
    """This store's part of today's targets of ``years``, from the maintained state. Pure: run it in a thread."""
    return targets_part(years, today.frame, today.trips, today.issues,
                        today.frame.select("project_id", "trip_id").drop_nulls())


def ranking_part(snapshot: Snapshot, view: View, period: str) -> pl.DataFrame:
    """This store's part of the rankings of ``period`` and the period before (:func:`rankings.unit_counts`:
    counts that add up across partitions, so the asking worker sums every part and ranks once). Pure:
    run it in a thread."""
    result = fold_snapshot(snapshot, view)
    periods = rankings.periods_needed(period)
    colours = rankings.colours_at_period_ends(accepted_events(result.settled), periods, view.cutoff)
    return rankings.unit_counts(result.state, colours, view.cutoff, periods, issues=result.issues)


def project_result(records: list, project_id: str, view: View) -> Result:
    """The fold of one project's records for a view."""
    return fold_log(compact.log_frame(compact.events_frame([(project_id, records)]),
                                      compact.rejections_frame([])), view)


def project_doc(state_row: dict, issues: pl.DataFrame) -> dict:
    """A project's page: its state and its issues (§9: open or resolved, category, lead department, due date, when
    first raised, last raised and resolved), in issue order."""
    return {**state_row, "issues": issues.drop("project_id").to_dicts()}


def project_answer(records: list, project_id: str, view: View) -> dict | None:
    """A project's page for a view, from its own records (None when it has no state as of the view)."""
    result = project_result(records, project_id, view)
    rows = result.state.to_dicts()
    return project_doc(rows[0], result.issues) if rows else None


def fold_changed(projects: list[tuple[str, int, bytes]], cutoff: datetime
                 ) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Today's rows of the projects that changed: (their rows of :class:`Today`, their project state, their
    issues).

    ``projects`` are (project_id, partition, compact records). Pure: run it in a thread.
    """
    events = compact.events_frame(_decoded(projects))
    settled = settle(events)
    tallies = (settled.group_by("project_id")
               .agg([(pl.col("outcome") == t).sum().cast(pl.Int64).alias(t) for t in _TALLIES]))
    accepted = accepted_events(settled)
    state = project_state(accepted, cutoff)
    partitions = pl.DataFrame({"project_id": [p for p, _, _ in projects], "partition": [n for _, n, _ in projects]},
                              schema={"project_id": pl.Utf8, "partition": pl.Int32})
    rows = (partitions.join(tallies, on="project_id", how="left")
            .join(state, on="project_id", how="left")
            .join(project_trip_ids(accepted, cutoff), on="project_id", how="left")
            .with_columns(pl.col("in_pools", "orphan").fill_null(False)))
    return rows, state, issue_state(accepted, cutoff)


def fold_changed_trips(trips: list[tuple[str, int, bytes]], view: View
                       ) -> tuple[pl.DataFrame, pl.DataFrame, dict, pl.DataFrame]:
    """The trips that changed, folded as of the view: their rows of :class:`Today` (:func:`trip_state`), their
    outcome tallies, the summary of their records, and the (empty) project state of a log of trips alone. Pure."""
    result = fold_log(compact.log_frame(compact.events_frame([], _decoded(trips)), compact.rejections_frame([])),
                      view)
    tallies = (pl.DataFrame({"trip_id": [t for t, _, _ in trips]}, schema={"trip_id": pl.Utf8})
               .join(result.settled.group_by(pl.col("trip_id").cast(pl.Utf8)).agg(
                   [(pl.col("outcome") == t).sum().cast(pl.Int64).alias(t) for t in _TALLIES]),
                   on="trip_id", how="left").fill_null(0))
    return result.trips, tallies, summary(result), result.state


def _tallies(frame: pl.DataFrame) -> dict[str, int]:
    return {t: int(frame[t].sum() or 0) for t in _TALLIES} if frame.height else {}


def refreshed(today: Today | None, day: date, projects: list[tuple[str, int, bytes]], everything: bool,
              trips: list[tuple[str, int, bytes]] = ()) -> tuple[Today, pl.DataFrame]:
    """Today's state with the projects and ``trips`` that changed folded again, and their project state (to
    publish).

    The summaries are kept up to date by taking the changed projects' (trips') old rows away and
    adding their new ones (:func:`merge_summaries` of disjoint parts), so they never sum the
    whole frame; a new day (or ``everything``) folds and sums it all (then ``projects`` and
    ``trips`` are every project and trip of the store). Pure: run it in a thread.
    """
    view = View(day)
    anew = today is None or everything or today.day != day
    rows, state, issues = fold_changed(projects, day_end(day))
    trip_rows, tallies, trip_doc, no_state = fold_changed_trips(list(trips), view)
    if anew:
        return Today(day, rows.sort("project_id"), summary_of(view, _tallies(rows), rows, issues=issues),
                     issues.sort("project_id", "issue_id"), trip_rows.sort("trip_id"), tallies, trip_doc), state
    changed = pl.col("project_id").is_in(rows["project_id"].implode())
    old, old_issues = today.frame.filter(changed), today.issues.filter(changed)
    frame = pl.concat([today.frame.filter(~changed), rows], how="vertical_relaxed").sort("project_id")
    kept = pl.concat([today.issues.filter(~changed), issues], how="vertical_relaxed").sort("project_id", "issue_id")
    doc = merge_summaries([today.doc, summary_of(view, _tallies(rows), rows, issues=issues),
                           negated(summary_of(view, _tallies(old), old, issues=old_issues))])
    if trips:
        changed = pl.col("trip_id").is_in(tallies["trip_id"].implode())
        old_trips, old_tallies = today.trips.filter(changed), today.trip_tallies.filter(changed)
        trip_doc = merge_summaries([today.trip_doc, trip_doc,
                                    negated(summary_of(view, _tallies(old_tallies), no_state, trips=old_trips))])
        trip_rows = pl.concat([today.trips.filter(~changed), trip_rows], how="vertical_relaxed").sort("trip_id")
        tallies = pl.concat([today.trip_tallies.filter(~changed), tallies], how="vertical_relaxed")
    else:
        trip_rows, tallies, trip_doc = today.trips, today.trip_tallies, today.trip_doc
    return Today(day, frame, doc, kept, trip_rows, tallies, trip_doc), state


def refreshed_partitions(day: date, work: list[Fold], kept: dict[int, Today]
                         ) -> tuple[list[Today], Today, pl.DataFrame]:
    """Each partition's state refreshed (:func:`refreshed`) from ``work``, every partition's state combined (those
    of ``kept`` that had nothing to fold as they were), and the project state of what was folded (to publish).

    A partition is folded alone, so a partition restored whole (from a checkpoint, or a warm standby
    promoted) never makes the others fold again. Pure: run it in a thread.
    """
    results = refreshed_folds(day, work)
    todays = {**kept, **{fold.partition: today for fold, (today, _) in zip(work, results)}}
    states = [state for _, state in results if state.height]
    state = pl.concat(states, how="vertical_relaxed") if states else pl.DataFrame()
    return [today for today, _ in results], combined(day, [todays[n] for n in sorted(todays)]), state


def refreshed_folds(day: date, work: list[Fold]) -> list[tuple[Today, pl.DataFrame]]:
    """Each partition's state refreshed from ``work`` (:func:`refreshed`), with the project state of what was
    folded. Pure: run it in a thread."""
    return [refreshed(fold.today, day, fold.projects, fold.today is None, fold.trips) for fold in work]


def combined(day: date, todays: list[Today]) -> Today:
    """The state of a store from its partitions' states (of ``day``): rows side by side, summaries merged (they
    share no project and no trip). Pure."""
    if not todays:
        return refreshed(None, day, [], True, [])[0]
    if len(todays) == 1:
        return todays[0]

    def stacked(frames: list[pl.DataFrame], *by: str) -> pl.DataFrame:
        frame = pl.concat([f for f in frames if f.width] or frames[:1], how="vertical_relaxed")
        return frame.sort(*by) if by else frame

    return Today(day, stacked([t.frame for t in todays], "project_id"), merge_summaries([t.doc for t in todays]),
                 stacked([t.issues for t in todays], "project_id", "issue_id"),
                 stacked([t.trips for t in todays], "trip_id"), stacked([t.trip_tallies for t in todays]),
                 merge_summaries([t.trip_doc for t in todays]))


def states_of(today: Today) -> pl.DataFrame:
    """The project state of every project of a state that has one (the rows :func:`refreshed` published)."""
    frame = today.frame.filter(pl.col("events").is_not_null()) if "events" in today.frame.columns else today.frame
    return frame.drop([c for c in ("partition", "trip_id", *_TALLIES) if c in frame.columns])


def today_project(today: Today, project_id: str) -> dict | None:
    """One project's page from today's maintained state (None when it has none): a binary search."""
    ids = today.frame["project_id"]
    at = ids.search_sorted(project_id)
    if at >= len(ids) or ids[at] != project_id:
        return None
    row = today.frame.row(at, named=True)
    if row["events"] is None:  # tallies only: every event of it occurs after today
        return None
    state = {k: v for k, v in row.items() if k not in ("partition", "trip_id", *_TALLIES)}
    return project_doc(state, today.issues.filter(pl.col("project_id") == project_id))


def today_links(today: Today) -> dict:
    """Today's ``counted_trips`` and ``from_trips`` of this store's part (:mod:`streams.core.parts`)."""
    part = part_of({}, today.trips, today.frame, today.frame.select("project_id", "trip_id").drop_nulls())
    return {k: part[k] for k in ("counted_trips", "from_trips")}


def today_part(today: Today, rejected: Counter, links: dict | None = None) -> dict:
    """This store's part of today's summary: the maintained summaries of its projects and its trips, with the
    rejections counted as they came (``links``: :func:`today_links`, if already worked out)."""
    doc = with_outcomes(merge_summaries([today.doc, today.trip_doc]), rejected)
    return {"summary": doc, **(links if links is not None else today_links(today))}


def today_summary(today: Today, rejected: Counter) -> dict:
    """Today's summary of this store alone (its projects from a trip: of its own trips)."""
    return merge_parts([today_part(today, rejected)])


__all__ = ["EVENT", "REJECTED", "TRIP", "Fold", "Partition", "ProjectStore", "Snapshot", "Today", "combined",
           "fold_changed", "fold_changed_trips", "fold_snapshot", "full_log", "project_answer", "project_result",
           "ranking_part", "refreshed", "refreshed_folds", "refreshed_partitions", "snapshot_part",
           "snapshot_targets_part", "states_of", "summary", "today_links", "today_part", "today_project",
           "today_summary", "today_targets_part"]
