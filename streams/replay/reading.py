"""What one reader does: a topic's records, or runs of a JSON Lines file's lines, into a ``LogBuilder``,
its finished chunks spilled to Parquet (:class:`SpilledLog`) as they come.

Both the replay shell (:mod:`streams.replay.shell`, one reader) and the reader processes
(:mod:`streams.replay.readers`, several) call these; this module imports neither.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Callable, Iterable

import polars as pl

from streams.core.log import LogBuilder
from streams.feeds import read_jsonl_range
from streams.kafkaio import records


class SpilledLog:
    """A received log written to Parquet chunks in a work directory as it is read, so reading holds
    one chunk (:attr:`LogBuilder.CHUNK` records) at a time."""

    def __init__(self, work: str | Path) -> None:
        self.dir = Path(work) / "log"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.paths: list[Path] = []
        self.rows = 0

    def write(self, chunk: pl.DataFrame) -> None:
        path = self.dir / f"{len(self.paths):06d}.parquet"
        chunk.write_parquet(path, compression="lz4", statistics=False)
        self.paths.append(path)
        self.rows += chunk.height

    def adopt(self, paths: list[Path], rows: int) -> None:
        """Chunks written elsewhere (by a reader process) become part of this log."""
        self.paths += paths
        self.rows += rows

    def take(self, builder: LogBuilder) -> None:
        """Moves the builder's finished chunks to disk."""
        while builder.chunks:
            self.write(builder.chunks.pop(0))

    def close(self, builder: LogBuilder) -> SpilledLog | pl.DataFrame:
        """Writes what the builder still holds: the log is complete. A log shorter than one chunk
        was never written, and stays in memory as a frame."""
        self.take(builder)
        tail = builder.frame()
        builder.chunks.clear()
        if not self.paths:
            return tail
        if tail.height:
            self.write(tail)
        return self

    @classmethod
    def of(cls, frame: pl.DataFrame, work: str | Path) -> SpilledLog:
        """A log already in memory, spilled (e.g. to fold it in buckets)."""
        spilled = cls(work)
        for start in range(0, max(frame.height, 1), LogBuilder.CHUNK):
            spilled.write(frame.slice(start, LogBuilder.CHUNK))
        return spilled

    def frame(self) -> pl.DataFrame:
        """The whole log in memory."""
        return pl.read_parquet(self.paths)

    def scan(self) -> pl.LazyFrame:
        return pl.scan_parquet(self.paths)


def _builder(spill: str | Path | None) -> tuple[LogBuilder, SpilledLog | None]:
    return LogBuilder(), (None if spill is None else SpilledLog(spill))


def _feed_into(builder: LogBuilder, spilled: SpilledLog | None, feed: Iterable, seq: int, received_at: datetime,
               on_record: Callable[[int], None]) -> int:
    """A feed's records into ``builder``, numbered on from ``seq`` (arrival order); the last number given."""
    for record in feed:
        seq += 1
        # a JSON line goes as its bytes, so the builder checks it with its part (the batch path)
        builder.add(seq, record.raw if record.is_json else record.parsed, received_at, stamp_missing=False)
        on_record(len(record.raw) + 1)
        if spilled is not None and builder.chunks:
            spilled.take(builder)
    return seq


def read_segments_into(builder: LogBuilder, spilled: SpilledLog | None, *, segments: list, received_at: datetime,
                       on_record: Callable[[int], None]) -> tuple[int, int]:
    """Runs of lines of JSON Lines files (:class:`streams.replay.readers.Segment`) into ``builder``, as
    :func:`streams.replay.shell.log_from_files` reads them: (records read, records kept), the same number."""
    read = 0
    for s in segments:
        lines = _feed_into(builder, spilled, read_jsonl_range(s.path, s.start, s.end, s.first_line), s.first_seq - 1,
                           received_at, on_record) - s.first_seq + 1
        if lines != s.lines:  # the numbering of every later line would be wrong
            raise RuntimeError(f"{s.path} changed while it was replayed: {lines} lines in bytes {s.start}–{s.end}, "
                               f"where {s.lines} were counted")
        read += lines
    return read, read


def _in_window(record, from_ms: int | None, to_ms: int | None) -> bool:
    return (from_ms is None or record.timestamp >= from_ms) and (to_ms is None or record.timestamp < to_ms)


def read_into(builder: LogBuilder, spilled: SpilledLog | None, bootstrap: str, topic: str, from_ms: int | None,
              to_ms: int | None, on_record: Callable[[int], None], partitions: list[int] | None = None,
              stops: dict[int, int] | None = None) -> tuple[int, int]:
    """A topic's committed records (those of ``partitions``, default all, up to ``stops``, default their last
    stable offsets) into ``builder``, its finished chunks moved to ``spilled`` as they come: (records read,
    records kept inside the time window)."""
    from streams.kafkaio.consumer import read_topic

    read = kept = 0
    for record in read_topic(bootstrap, topic, partitions=partitions, stops=stops):
        on_record(1)
        read += 1
        if _in_window(record, from_ms, to_ms):
            kept += 1
            builder.add(records.arrival_seq(record.partition, record.offset), record.value or b"",
                        records.received_at(record.timestamp), stamp_missing=True)
            if spilled is not None and builder.chunks:
                spilled.take(builder)
    return read, kept
