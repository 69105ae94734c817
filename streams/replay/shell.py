"""``funnel replay``: rebuild every figure from the event log (a file or a topic), with no worker.

The imperative shell around :mod:`streams.core`: it reads records, hands them to
the core, and writes ``summary.json`` and Parquet tables. It commits no offsets.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable, Iterable, Iterator

import polars as pl

from streams.config import dlq_topic
from streams.core import buckets as bk
from streams.core.clock import cst_at
from streams.core.log import accepted_events, settle
from streams.feeds import is_json_lines, read_feed
from streams.kafkaio import records
from streams.kafkaio.offsets import PartitionEnd
from streams.replay.reading import SpilledLog, _builder, _feed_into, _in_window, read_into

log = logging.getLogger(__name__)

Table = pl.DataFrame | pl.LazyFrame


def files_received_at(paths: Iterable[str | Path]) -> datetime:
    """When a file replay takes the files' records to have been received: the newest modification time
    of the files, in CST, to the second. It depends on the files alone, not on when the replay runs."""
    return cst_at(max(Path(p).stat().st_mtime for p in paths))


def log_from_files(paths: Iterable[str | Path], received_at: datetime,
                   on_record: Callable[[int], None] = lambda n: None,
                   spill: str | Path | None = None, readers: int | None = None) -> pl.DataFrame | SpilledLog:
    """The received log of feed files, in file order: a frame, or with ``spill`` (a work directory)
    a :class:`SpilledLog` written there as it is read (still a frame if shorter than one chunk).

    A record without ``recorded_at`` is judged (``future_occurred_at``) as received at ``received_at``
    (e.g. :func:`files_received_at`); it still has no ``recorded_at`` for a ``known_at`` view.

    With ``spill``, long JSON Lines files are read by several processes, each a run of their lines
    (:mod:`streams.replay.readers`; ``readers``: how many, default one per core up to 4, one per 32 MiB); the log
    is the same, its rows in another order. ``on_record`` is given the bytes of each line read.
    """
    paths = list(paths)
    log.info("replay of %d file(s) started: %s", len(paths), ", ".join(map(str, paths)))
    builder, spilled = _builder(spill)
    shares = _line_shares(paths, readers) if spilled is not None else []
    if len(shares) > 1:
        from streams.replay.readers import read_files_in_processes

        results = read_files_in_processes(shares, received_at, Path(spill), on_record)
        for result in results:
            spilled.adopt(result.paths, result.rows)
        seq = sum(r.read for r in results)
    else:
        seq = 0
        for path in paths:
            seq = _feed_into(builder, spilled, read_feed(path), seq, received_at, on_record)
    log.info("replay of %d file(s) read %d records", len(paths), seq)
    return builder.frame() if spilled is None else spilled.close(builder)


def _line_shares(paths: list, readers: int | None) -> list:
    """The lines of ``paths`` shared among reader processes (one share: read here); JSON Lines files only."""
    from streams.replay.readers import readers_for_bytes, share_lines

    if readers == 1 or any(str(p) == "-" or not is_json_lines(p) for p in paths):  # a stream is read once
        return []
    n = readers_for_bytes(sum(Path(p).stat().st_size for p in paths), readers)
    return share_lines(paths, n) if n > 1 else []


def log_from_topic(bootstrap: str, topic: str, from_ms: int | None = None, to_ms: int | None = None,
                   on_record: Callable[[int], None] = lambda n: None,
                   spill: str | Path | None = None, readers: int | None = None,
                   ends: dict[int, PartitionEnd] | None = None) -> pl.DataFrame | SpilledLog:
    """The received log of a topic and of the records its ingest dead-lettered (with ``spill``, a
    :class:`SpilledLog` in that work directory, as :func:`log_from_files`).

    Only committed records are received (DOMAIN.md §3): the topic is read up to ``ends`` (default: its
    partitions' ends now, :func:`topic_ends`), each partition to its last stable offset; what an open
    transaction holds back is left for a later replay, and logged.

    A topic record without ``recorded_at`` is stamped with its Kafka timestamp: when the
    platform received it. Dead letters written by the worker are the topic's own records,
    which are checked again here, so only those rejected before the topic (by ingest) count.

    With ``spill``, a long topic is read by several processes, each a share of the partitions
    (:mod:`streams.replay.readers`; ``readers``: how many, default one per core up to 4 on a
    topic of 100,000 records or more); the log is the same, its rows in another order.
    """
    from streams.kafkaio.consumer import read_topic

    window = f" (produced in [{from_ms}, {to_ms}) ms)" if from_ms is not None or to_ms is not None else ""
    log.info("replay of topic %s at %s started%s", topic, bootstrap, window)
    ends = topic_ends(bootstrap, topic) if ends is None else ends
    stops = {p: end.stable for p, end in ends.items()}
    builder, spilled = _builder(spill)
    shares = _shares(stops, readers) if spilled is not None else []
    if len(shares) > 1:
        from streams.replay.readers import read_topic_in_processes

        results = read_topic_in_processes(bootstrap, topic, shares, from_ms, to_ms, Path(spill), on_record, stops)
        for result in results:
            spilled.adopt(result.paths, result.rows)
        topic_read, topic_kept = sum(r.read for r in results), sum(r.kept for r in results)
    else:
        topic_read, topic_kept = read_into(builder, spilled, bootstrap, topic, from_ms, to_ms, on_record,
                                           stops=stops)
    dlq_read = dlq_kept = 0
    for record in read_topic(bootstrap, dlq_topic(topic)):
        on_record(1)
        dlq_read += 1
        if _in_window(record, from_ms, to_ms) and records.counts_as_received(record):
            dlq_kept += 1
            builder.add_rejected(records.dead_letter_seq(record.partition, record.offset),
                                 *records.dead_letter_reason(record), records.recorded_at_in(record.value or b""),
                                 records.key_text(record.key))
    log.info("replay of topic %s ended: %d of %d topic records and %d of %d dead letters counted as received "
             "(the others fall outside the time window or are the worker's own rejections)",
             topic, topic_kept, topic_read, dlq_kept, dlq_read)
    return builder.frame() if spilled is None else spilled.close(builder)


def topic_ends(bootstrap: str, topic: str) -> dict[int, PartitionEnd]:
    """Where a replay of ``topic`` begun now ends: each partition's last stable offset, and what a transaction
    still open holds back behind it (logged). A missing topic is a ``LookupError``."""
    from streams.kafkaio.offsets import partition_ends

    ends = partition_ends(bootstrap, topic)
    if not ends:
        raise LookupError(f"topic {topic!r} does not exist, or this account may not describe it")
    for partition, end in sorted(ends.items()):
        if end.held_back:
            log.warning("%s:%d: offsets %d to %d are held back by a transaction still open: this replay reads up "
                        "to offset %d (the last stable offset) and leaves them for a later one", topic, partition,
                        end.stable, end.high - 1, end.stable - 1)
    return ends


def held_back(ends: dict[int, PartitionEnd]) -> dict:
    """A replay's position in its topic, for ``summary.json``: where each partition was read up to and the
    offsets an open transaction held back (DOMAIN.md §5 allows the added key)."""
    return {"read_up_to": {str(p): end.stable for p, end in sorted(ends.items())},
            "not_visible_yet": sum(end.held_back for end in ends.values()),
            "held_back": {str(p): end.held_back for p, end in sorted(ends.items()) if end.held_back}}


def _shares(stops: dict[int, int], readers: int | None) -> list[list[int]]:
    """The partitions shared among reader processes by what each holds (one share: read here)."""
    from streams.replay.readers import readers_for, share_partitions

    if readers == 1 or not stops:
        return []
    return share_partitions(stops, readers_for(stops, readers))


@dataclass
class Replayed:
    """What a replay computed: the summary document, the tables (a lazy table reads parts in the work
    directory, so write the outputs before that directory goes), and how many buckets it folded in."""

    doc: dict
    tables: dict[str, Table]
    buckets: int


def fold_and_aggregate(received: pl.DataFrame | SpilledLog, view, targets: dict | None = None, *,
                       buckets: int | None = None, work: str | Path | None = None) -> Replayed:
    """Settle, fold, summarise and (with ``targets``) compute every aggregate table of a received log.

    A log of at most :data:`streams.core.buckets.IN_MEMORY_ROWS` records is folded in memory;
    a longer one, or any with ``buckets`` > 1, bucket by bucket of project ids in ``work``
    (:mod:`streams.core.buckets`), with the same summary and tables.
    """
    from streams.core.summary import fold_log, summary
    from streams.core.tables import aggregate_tables

    rows = received.height if isinstance(received, pl.DataFrame) else received.rows
    n = bk.buckets_for(rows, buckets)
    if n == 1:
        result = fold_log(received if isinstance(received, pl.DataFrame) else received.frame(), view)
        return Replayed(summary(result), {} if targets is None else aggregate_tables(result, targets), 1)
    if work is None:
        raise ValueError("a replay in buckets needs a work directory")
    spilled = received if isinstance(received, SpilledLog) else SpilledLog.of(received, Path(work) / "in-memory")
    return _in_buckets(spilled, view, targets, n, Path(work))


def _bucket_logs(spilled: SpilledLog, n: int, work: Path) -> Iterator[pl.DataFrame]:
    """The log split into about ``n`` buckets of project ids (one pass over the chunks), bucket by bucket."""
    key = bk.project_key().alias("project_id")
    counts = spilled.scan().select(key).group_by("project_id").agg(rows=pl.len()).collect()
    bounds = bk.bucket_bounds(counts, n)
    del counts
    parts: dict[int, list[Path]] = {}
    for i, path in enumerate(spilled.paths):
        chunk = pl.read_parquet(path)
        index = bk.bucket_index(chunk.select(key).to_series(), bounds).alias("_bucket")
        for (b,), piece in chunk.with_columns(index).partition_by("_bucket", as_dict=True,
                                                                   include_key=False).items():
            target = work / "buckets" / f"{b:05d}" / f"{i:06d}.parquet"
            target.parent.mkdir(parents=True, exist_ok=True)
            piece.write_parquet(target, compression="lz4", statistics=False)
            parts.setdefault(b, []).append(target)
        del chunk
    log.info("replay folds %d records in %d buckets of project ids", spilled.rows, len(parts))
    for b in sorted(parts):
        yield pl.read_parquet(parts[b])


def _in_buckets(spilled: SpilledLog, view, targets: dict | None, n: int, work: Path) -> Replayed:
    from streams.core.fold import project_state
    from streams.core.log import outcome_counts, trip_events
    from streams.core.summary import Result, merge_summaries, summary_of, with_trips_and_issues
    from streams.core.tables import aggregate_tables
    from streams.core.trips import trip_state

    out = work / "parts"
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, dict[tuple, Path]] = {}  # table -> (split key, bucket) -> Parquet part

    def part(name: str, frame: pl.DataFrame, key, b: int) -> None:
        path = out / name / f"{len(files.get(name, ()))}.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.write_parquet(path, compression="lz4")
        files.setdefault(name, {})[(key, b)] = path

    summaries, names = [], None
    additive: dict[str, list[pl.DataFrame]] = {}
    # The trips that count at T, over the whole log (few records): a bucket's projects may name a trip of another.
    trip_log = spilled.scan().filter(pl.col("project_id").is_null() & pl.col("trip_id").is_not_null()).collect()
    counted = trip_state(trip_events(settle(trip_log, view.known_cutoff)), view.cutoff) \
        .filter(pl.col("counts"))["trip_id"]
    del trip_log
    b = -1
    for b, bucket_log in enumerate(_bucket_logs(spilled, n, work)):
        settled = settle(bucket_log, view.known_cutoff)
        del bucket_log
        result = with_trips_and_issues(settled, project_state(accepted_events(settled), view.cutoff), view, counted)
        state = result.state
        summaries.append(summary_of(view, outcome_counts(settled), state, trips=result.trips,
                                    from_trips=result.from_trips, issues=result.issues))
        if targets is None:
            continue
        part("_state", bk.narrow_state(state), None, b)
        part("_not_accepted", bk.not_accepted(settled), None, b)
        for name, rule in bk.TABLE_RULES.items():
            if isinstance(rule, bk.FromLog):
                rows = settled if rule.rows is None else settled.filter(rule.rows)
                if rule.split is None:
                    part(name, rows.select(rule.columns), None, b)
                else:
                    keyed = rows.select(*rule.columns, _key=rule.split)
                    for (key,), piece in keyed.partition_by("_key", as_dict=True, include_key=False).items():
                        part(name, piece, key, b)
            elif isinstance(rule, bk.FromState):
                part(name, state.select(rule.columns), None, b)
        tables = aggregate_tables(result, targets)
        if not state.is_empty() and names is None:
            names = list(tables)
        for name, table in tables.items():
            rule = bk.TABLE_RULES.get(name)
            if isinstance(rule, bk.ByProject):
                for key, piece in bk.split_by_interleave(table, rule).items():
                    part(name, piece, key, b)
            elif isinstance(rule, bk.Additive):
                additive.setdefault(name, []).append(table)
        del settled, state, tables, result
    log.info("replay folded %d buckets; merging", b + 1)
    doc = merge_summaries(summaries)
    if targets is None:
        return Replayed(doc, {}, b + 1)
    if names is None:  # no project in the view: the in-memory path writes the (empty) state, the trips and issues
        return Replayed(doc, {name: bk.merge_by_project({k: pl.scan_parquet(p) for k, p in files[name].items()})
                              for name in ("project_state", *bk.TRIP_AND_ISSUE_TABLES)}, b + 1)
    tables: dict[str, Table] = {}
    for name in names:
        rule = bk.TABLE_RULES.get(name)
        if isinstance(rule, bk.ByProject):
            tables[name] = bk.merge_by_project({k: pl.scan_parquet(p) for k, p in files[name].items()})
        elif isinstance(rule, bk.Additive):
            tables[name] = bk.merge_additive(additive[name], rule)
        elif isinstance(rule, bk.FromLog):
            keys = sorted({k for k, _ in files[name]}, key=lambda k: (k is not None, k or ""))
            tables[name] = pl.concat([rule.compute(pl.read_parquet([p for (k, _), p in files[name].items() if k == key]))
                                      for key in keys])
        elif isinstance(rule, bk.FromState):
            merged = {t: pl.read_parquet(list(files[t].values())) for t in rule.tables}
            tables[name] = rule.compute(pl.read_parquet(list(files[name].values())), view, targets, **merged)
    for name in names:
        rule = bk.TABLE_RULES.get(name)
        if isinstance(rule, bk.FromTable):
            tables[name] = rule.compute(tables[rule.table])
    unruled = [name for name in names if name not in bk.TABLE_RULES]
    if unruled:  # correct, but memory grows with the projects: give the table a rule in streams.core.buckets
        log.warning("no bucket rule for %s: computed from the whole merged project state", ", ".join(unruled))
        whole = aggregate_tables(Result(view, pl.read_parquet(list(files["_not_accepted"].values())).sort("seq"),
                                        pl.read_parquet(list(files["_state"].values()))), targets)
        tables |= {name: whole[name] for name in unruled}
    return Replayed(doc, {name: tables[name] for name in names}, b + 1)


def write_outputs(doc: dict, tables: Mapping[str, Table], out: Path) -> None:
    """``summary.json`` and one Parquet file per table in ``out`` (a lazy table is streamed to its file)."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(json.dumps(doc, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    for name, table in tables.items():
        if isinstance(table, pl.LazyFrame):
            table.sink_parquet(out / f"{name}.parquet")
        else:
            table.write_parquet(out / f"{name}.parquet")


class _Collected(Mapping):
    """Tables whose lazy ones are collected only when read (the quality suites read a few)."""

    def __init__(self, tables: Mapping[str, Table]) -> None:
        self.tables = tables

    def __getitem__(self, name: str) -> pl.DataFrame:
        table = self.tables[name]
        return table.collect() if isinstance(table, pl.LazyFrame) else table

    def __iter__(self):
        return iter(self.tables)

    def __len__(self) -> int:
        return len(self.tables)


def write_quality(doc: dict, tables: Mapping[str, Table], out: Path):
    """Run the aggregate suites on what was written and record the result in ``quality.json``."""
    from streams.quality.gate import check_aggregates

    report = check_aggregates(doc, _Collected(tables))
    (out / "quality.json").write_text(json.dumps(report.as_dict(), ensure_ascii=False, indent=2, default=str)
                                      + "\n", encoding="utf-8")
    return report
