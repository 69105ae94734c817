"""Restatements: what changed between two views of one log, and why, down to the records (issue 26).

Two folds of the same log (:func:`streams.core.summary.fold_log` at two knowledge times, or a log cut at a
bulletin's offsets and the whole log) give two sets of figures. A figure changed because some projects or trips
contribute differently at the two views; each of them changed because records became visible (or settled
otherwise) between the two. Nothing here is a second rule: each contribution is the same figure function applied
to the fold restricted to one project or trip.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import polars as pl

from streams.core.summary import Result, summary

Value = int | float | str | bool | None
Figures = dict[str, Value]
FiguresOf = Callable[[Result], Figures]

#: the columns of a responsible record, in the order people read them
RECORD_COLUMNS = ("seq", "entity", "project_id", "trip_id", "event_id", "event_type", "occurred_at", "recorded_at",
                  "outcome", "amount", "kind", "source", "origin")
#: what kind of change a record is, for the sentence officials read (see :func:`kind_of`)
KINDS = {"late": "迟报记录", "correction": "更正记录", "ledger": "台账导入记录", "withdrawal": "撤回出访记录",
         "rejected": "退回记录"}


@dataclass(frozen=True)
class Change:
    """One figure at the old and the new view; ``delta`` is None for a figure that is not a number."""

    path: str
    old: Value
    new: Value
    delta: int | float | None


@dataclass
class Restatement:
    """The changed figures; per figure, the projects and trips whose contribution changed (``project:P``,
    ``trip:T``) and the seqs of the records responsible; and every record that differs between the views."""

    changes: list[Change]
    entities: dict[str, list[str]] = field(default_factory=dict)
    seqs: dict[str, list[int]] = field(default_factory=dict)
    records: pl.DataFrame = field(default_factory=pl.DataFrame)

    def records_of(self, path: str) -> pl.DataFrame:
        """The records responsible for the change of one figure."""
        return self.records.filter(pl.col("seq").is_in(self.seqs.get(path, [])))

    def as_dict(self) -> dict:
        """For ``--json``: every changed figure with its projects and records (instants as ISO text)."""
        rows = {r["seq"]: r for r in self.records.with_columns(
            pl.col("occurred_at", "recorded_at").dt.to_string("%Y-%m-%dT%H:%M:%S%.f%:z")).iter_rows(named=True)}
        return {"changes": [{"figure": c.path, "old": c.old, "new": c.new, "delta": c.delta,
                             "entities": self.entities.get(c.path, []),
                             "records": [rows[s] for s in self.seqs.get(c.path, []) if s in rows]}
                            for c in self.changes]}


def flatten(doc: dict, prefix: str = "") -> Figures:
    """A nested document's leaves as ``a.b.c`` → value (a list's items by index)."""
    out: Figures = {}
    items = doc.items() if isinstance(doc, dict) else enumerate(doc)
    for key, value in items:
        path = f"{prefix}{key}"
        if isinstance(value, (dict, list, tuple)):
            out |= flatten(value, f"{path}.")
        else:
            out[path] = value
    return out


def summary_figures(result: Result) -> Figures:
    """The figures of the summary (DOMAIN.md §5), flat; the view itself is not a figure."""
    return {k: v for k, v in flatten(summary(result)).items() if k not in ("as_of", "known_at")}


def _is_number(value: Value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def compare(old: Figures, new: Figures) -> list[Change]:
    """The figures that differ, in path order; a number missing on one side is 0 there (a pool or year that
    counted nothing)."""
    out = []
    for path in sorted(old.keys() | new.keys()):
        a, b = old.get(path), new.get(path)
        if _is_number(a) or _is_number(b):
            a, b = (0 if a is None else a), (0 if b is None else b)
            if _is_number(a) and _is_number(b):
                if a != b and not (a != a and b != b):  # NaN twice is no change
                    out.append(Change(path, a, b, b - a))
                continue
        if a != b:
            out.append(Change(path, a, b, None))
    return out


def restricted(result: Result, projects: frozenset[str] = frozenset(), trips: frozenset[str] = frozenset()
               ) -> Result:
    """The fold of ``result`` with only some projects and trips: their records, state, trips, issues and the
    projects from trips naming them (a project from a trip belongs to both)."""
    p, t = sorted(projects), sorted(trips)
    in_p = pl.col("project_id").cast(pl.Utf8).is_in(p)
    trip_rows = pl.col("project_id").is_null() & pl.col("trip_id").cast(pl.Utf8).is_in(t)
    settled = result.settled.filter(in_p | trip_rows)
    from_trips = None if result.from_trips is None else result.from_trips.filter(
        in_p | pl.col("trip_id").cast(pl.Utf8).is_in(t))
    return Result(result.view, settled, result.state.filter(in_p),
                  None if result.trips is None else result.trips.filter(pl.col("trip_id").is_in(t)),
                  from_trips, None if result.issues is None else result.issues.filter(in_p))


def changed_records(old: Result, new: Result) -> pl.DataFrame:
    """The records of the new view that the old one did not see, or settled otherwise (a record seen earlier
    can become a duplicate when one recorded earlier arrives): with the entity they belong to."""
    before = old.settled.select("seq", _old=pl.col("outcome"))
    rows = new.settled.join(before, on="seq", how="left").filter(
        pl.col("_old").is_null() | (pl.col("_old") != pl.col("outcome"))).drop("_old")
    return rows.with_columns(entity=_entity())


def _entity() -> pl.Expr:
    return (pl.when(pl.col("project_id").is_not_null()).then(pl.lit("project:") + pl.col("project_id"))
            .when(pl.col("trip_id").is_not_null()).then(pl.lit("trip:") + pl.col("trip_id").cast(pl.Utf8)))


def _keyed(frame: pl.DataFrame | None, key: str) -> pl.DataFrame:
    """A frame's rows as (key, fingerprint of the row), categories as text so two folds compare."""
    if frame is None or not frame.height:
        return pl.DataFrame(schema={key: pl.Utf8, "_h": pl.Utf8})
    text = frame.with_columns(pl.col(pl.Categorical, pl.Enum).cast(pl.Utf8))
    return text.select(pl.col(key).cast(pl.Utf8), _h=pl.struct(pl.all()).hash()).group_by(key).agg(
        pl.col("_h").sort().cast(pl.Utf8).str.join(","))


def differing(old: pl.DataFrame | None, new: pl.DataFrame | None, key: str) -> set[str]:
    """The keys whose rows differ between two frames (or are in one only)."""
    a, b = _keyed(old, key), _keyed(new, key)
    both = a.join(b, on=key, how="full", coalesce=True, suffix="_new")
    return set(both.filter(pl.col("_h").ne_missing(pl.col("_h_new")))[key].to_list())


def candidates(old: Result, new: Result, records: pl.DataFrame) -> list[str]:
    """The projects and trips that may contribute differently: those of the changed records, and those whose
    state, trips, issues or projects-from-trips rows differ between the folds."""
    found = {e for e in records["entity"].to_list() if e is not None}
    found |= {f"project:{p}" for p in differing(old.state, new.state, "project_id")}
    found |= {f"project:{p}" for p in differing(old.issues, new.issues, "project_id")}
    found |= {f"project:{p}" for p in differing(old.from_trips, new.from_trips, "project_id")}
    found |= {f"trip:{t}" for t in differing(old.trips, new.trips, "trip_id")}
    return sorted(found)


def _of(entity: str) -> tuple[frozenset[str], frozenset[str]]:
    kind, _, key = entity.partition(":")
    return (frozenset({key}), frozenset()) if kind == "project" else (frozenset(), frozenset({key}))


def explain(old: Result, new: Result, figures_of: FiguresOf = summary_figures,
            provenance: pl.DataFrame | None = None) -> Restatement:
    """Every figure that changed from ``old`` to ``new``, the projects and trips whose contribution to it changed,
    and the records responsible (``provenance``: seq → source, origin, where the shell knows them)."""
    changes = compare(figures_of(old), figures_of(new))
    records = changed_records(old, new)
    if not changes:
        return Restatement(changes, records=_described(records, old, provenance))
    contributions = {}
    for entity in candidates(old, new, records):
        projects, trips = _of(entity)
        moved = compare(figures_of(restricted(old, projects, trips)), figures_of(restricted(new, projects, trips)))
        if moved:
            contributions[entity] = {c.path for c in moved}
    entities = {c.path: _responsible(c.path, contributions) for c in changes}
    described = _described(records, old, provenance)
    cutoff = new.view.cutoff
    seqs = {}
    for c in changes:
        mine = described.filter(pl.col("entity").is_in(entities[c.path]))
        if not c.path.startswith("accounting."):  # what occurs after T moves only the accounting
            mine = mine.filter(pl.col("occurred_at").is_null() | (pl.col("occurred_at") < cutoff))
        seqs[c.path] = mine["seq"].to_list()
    if any(c.path.startswith("accounting.") for c in changes):  # a record without a project counts there too
        for c in changes:
            if c.path.startswith("accounting."):
                seqs[c.path] = sorted(set(seqs[c.path]) | set(described.filter(pl.col("entity").is_null())["seq"]))
    return Restatement(changes, entities, seqs, described)


def _responsible(path: str, contributions: dict[str, set[str]]) -> list[str]:
    """Whose contribution to ``path`` changed; for a figure no single contribution moves (a rank, a score), whose
    contribution to the nearest enclosing group of figures changed (e.g. the unit's counts behind its rank)."""
    parts = path.split(".")
    for n in range(len(parts), 0, -1):
        prefix = ".".join(parts[:n])
        found = sorted(e for e, paths in contributions.items()
                       if any(p == prefix or p.startswith(prefix + ".") for p in paths))
        if found:
            return found
    return sorted(contributions)


def kind_of(event_type: pl.Expr | None = None) -> pl.Expr:
    """What a changed record is, for officials: a withdrawn trip, a ledger's import, a correction of something
    the old view had (a revised amount, a second report of an event already known), a record the contract
    rejected, or a record that came late."""
    return (pl.when(pl.col("event_type").cast(pl.Utf8) == "trip_withdrawn").then(pl.lit("withdrawal"))
            .when(pl.col("source").fill_null("").str.starts_with("ledger:")).then(pl.lit("ledger"))
            .when(pl.col("outcome") != "accepted").then(pl.lit("rejected"))
            .when(pl.col("event_type").cast(pl.Utf8) == "investment_revised").then(pl.lit("correction"))
            .when(pl.col("_known")).then(pl.lit("correction"))
            .otherwise(pl.lit("late")))


def _described(records: pl.DataFrame, old: Result, provenance: pl.DataFrame | None) -> pl.DataFrame:
    """The changed records with their kind, source and origin (topic:partition:offset or file:line, from the
    shell; a ledger's events name their sheet and row there)."""
    known = old.settled.filter(pl.col("outcome") == "accepted").select(
        pl.col("project_id"), pl.col("event_type").cast(pl.Utf8)).unique().with_columns(_known=pl.lit(True))
    if provenance is None:
        provenance = pl.DataFrame(schema={"seq": pl.Int64, "source": pl.Utf8, "origin": pl.Utf8})
    rows = (records.with_columns(pl.col("event_type").cast(pl.Utf8), pl.col("trip_id").cast(pl.Utf8))
            .join(known, on=["project_id", "event_type"], how="left")
            .join(provenance.select("seq", "source", "origin"), on="seq", how="left")
            .with_columns(pl.col("_known").fill_null(False)))
    return rows.with_columns(kind=kind_of()).select(RECORD_COLUMNS).sort("seq")


# ---- the sentence officials read ------------------------------------------------------------------


def reasons(kinds: list[str]) -> str:
    """``4 条迟报记录、1 条台账导入记录`` for the kinds of the records behind a change, most first."""
    counts: dict[str, int] = {}
    for k in kinds:
        counts[k] = counts.get(k, 0) + 1
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], list(KINDS).index(kv[0]) if kv[0] in KINDS else 99))
    return "、".join(f"{n} 条{KINDS.get(k, k)}" for k, n in ordered)


def sentence(label: str, old: str, new: str, unit: str, kinds: list[str], details: list[str] = ()) -> str:
    """``2024年第三季度新签约项目数由 12 个更正为 13 个：4 条迟报记录（…）。``: a changed figure and why, for an
    official. ``old``/``new``: the figures as printed; ``details``: the records briefly (a few)."""
    why = reasons(kinds) or "数据口径调整"
    shown = f"（{'；'.join(details)}）" if details else ""
    space = " " if unit else ""
    return f"{label}由 {old}{space}{unit}更正为 {new}{space}{unit}：{why}{shown}。"


# ---- a log as a bulletin saw it ---------------------------------------------------------------------


def as_issued(log: pl.DataFrame, read: dict) -> pl.DataFrame:
    """The records of ``log`` that a document made from it had read (``read``: the ``log`` of its view file):
    a topic's records below each partition's end offset, and its dead letters below theirs; a file's first
    ``records`` records."""
    if "records" in read:
        return log.filter(pl.col("seq") <= read["records"])
    topic, dlq = read.get("offsets", {}), read.get("dlq_offsets", {})
    return log.filter(_below(pl.col("seq"), topic, False) | _below(pl.col("seq"), dlq, True))


_DLQ_BIT, _PARTITION_SHIFT = 1 << 62, 40


def _below(seq: pl.Expr, ends: dict, dead_letter: bool) -> pl.Expr:
    """Whether a seq (:func:`streams.kafkaio.records.arrival_seq`) lies below its partition's end in ``ends``."""
    is_dlq = (seq >= _DLQ_BIT) if dead_letter else (seq < _DLQ_BIT)
    plain = seq - _DLQ_BIT if dead_letter else seq
    partition, offset = plain // (1 << _PARTITION_SHIFT), plain % (1 << _PARTITION_SHIFT)
    inside = pl.lit(False)
    for p, end in ends.items():
        inside = inside | ((partition == int(p)) & (offset < int(end)))
    return is_dlq & inside


def where(seq: int) -> tuple[bool, int, int]:
    """A topic record's seq as (is a dead letter, partition, offset)."""
    dead = seq >= _DLQ_BIT
    plain = seq - _DLQ_BIT if dead else seq
    return dead, plain >> _PARTITION_SHIFT, plain & ((1 << _PARTITION_SHIFT) - 1)
