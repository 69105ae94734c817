"""A log read by several processes at once: a topic's partitions, or a JSON Lines file's lines, shared.

Checking a record and making its row of the log (``LogBuilder``) costs several times what
kafka-python's fetch or reading a line does, and it is Python: one process uses one core. With
more cores, replay gives each reader process a share: of a topic, some of its partitions; of
JSON Lines files, a run of their lines, cut at line starts into shares of about as many bytes.
Every reader does exactly what a single reader does (:func:`streams.replay.reading.read_into` for a
topic, :func:`streams.replay.reading.read_segments_into` for files, the same ``LogBuilder``) and writes
its chunks of the log to Parquet in its own directory. The log is all their chunks: the order of
rows does not matter, since arrival order is the ``seq`` column (partition and offset; a file's
line number, counted across the files before the readers start).
"""

from __future__ import annotations

import functools
import logging
import multiprocessing
import os
import queue
import traceback
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable

log = logging.getLogger(__name__)

#: Below this many records, starting processes (each imports Polars and compiles the contract) costs
#: more than it saves.
MIN_RECORDS_PER_READER = 100_000
#: The same for files, in bytes: about 100,000 records of a generated feed.
MIN_BYTES_PER_READER = 32 << 20
#: Beyond this the broker and the fetches, not the checks, limit a replay on one machine.
MAX_READERS = 4
#: Records a reader checks between two progress reports to the main process.
_REPORT_EVERY = 2_000


def readers_for(ends: dict[int, int], requested: int | None, cpus: int | None = None) -> int:
    """How many reader processes for a topic whose partitions end at ``ends``: ``requested`` when given,
    else one per core up to :data:`MAX_READERS` and one per :data:`MIN_RECORDS_PER_READER` records;
    never more than the partitions holding records, never fewer than one."""
    holding = sum(1 for end in ends.values() if end > 0)
    return max(1, min(_wanted(sum(ends.values()) // MIN_RECORDS_PER_READER, requested, cpus), holding))


def readers_for_bytes(size: int, requested: int | None, cpus: int | None = None) -> int:
    """How many reader processes for JSON Lines files of ``size`` bytes in all: as :func:`readers_for`, one
    per :data:`MIN_BYTES_PER_READER` bytes (a share is at least a line: :func:`share_lines` may make fewer)."""
    return max(1, _wanted(size // MIN_BYTES_PER_READER, requested, cpus))


def _wanted(enough_for: int, requested: int | None, cpus: int | None) -> int:
    if requested is not None:
        return requested
    return min(cpus or os.cpu_count() or 1, MAX_READERS, enough_for)


def share_partitions(ends: dict[int, int], readers: int) -> list[list[int]]:
    """The partitions split into ``readers`` shares of about as many records each (largest first,
    each to the share holding the fewest records so far)."""
    shares: list[list[int]] = [[] for _ in range(readers)]
    loads = [0] * readers
    for partition, end in sorted(ends.items(), key=lambda item: (-item[1], item[0])):
        if end <= 0:
            continue
        least = loads.index(min(loads))
        shares[least].append(partition)
        loads[least] += end
    return [sorted(share) for share in shares if share]


@dataclass(frozen=True)
class Segment:
    """A run of whole lines of a JSON Lines file: bytes [``start``, ``end``), the number of its first line in
    the file and across the files (its ``seq``, as one reader numbers it), and how many lines it holds."""

    path: str
    start: int
    end: int
    first_line: int
    first_seq: int
    lines: int

    def __str__(self) -> str:
        return f"{self.path} lines {self.first_line}–{self.first_line + self.lines - 1}"


def share_lines(paths: list[str | Path], readers: int) -> list[list[Segment]]:
    """The files' lines, in order, in up to ``readers`` shares of about as many bytes each, cut at line starts:
    every line in exactly one segment. The lines are counted here (one pass over the files, in C), so each
    reader numbers its records as a single reader would."""
    sizes = [Path(p).stat().st_size for p in paths]
    total = sum(sizes)
    cuts = [total * k // readers for k in range(1, readers)]  # offsets across the files
    shares: list[list[Segment]] = [[] for _ in range(readers)]
    base, seq = 0, 1
    for path, size in zip(paths, sizes):
        with open(path, "rb") as f:
            inner = {_line_start(f, c - base, size) for c in cuts if base < c < base + size}
            bounds = [0, *sorted(b for b in inner if 0 < b < size), size]
            line = 1
            for start, end in zip(bounds, bounds[1:]):
                lines = _count_lines(f, start, end)
                if lines:
                    share = sum(1 for c in cuts if c <= base + start)
                    shares[share].append(Segment(str(path), start, end, line, seq, lines))
                line, seq = line + lines, seq + lines
        base += size
    return [share for share in shares if share]


def _line_start(f, offset: int, size: int) -> int:
    """The first line start at or after ``offset`` (``size``: none)."""
    if offset <= 0:
        return 0
    f.seek(offset - 1)
    at = offset - 1
    while chunk := f.read(1 << 16):
        newline = chunk.find(b"\n")
        if newline >= 0:
            return at + newline + 1
        at += len(chunk)
    return size


def _count_lines(f, start: int, end: int) -> int:
    """Lines in bytes [start, end) of a file, as iterating over it counts them (a last line may lack its newline)."""
    f.seek(start)
    left, lines, last = end - start, 0, b""
    while left > 0 and (chunk := f.read(min(left, 1 << 24))):
        lines += chunk.count(b"\n")
        left -= len(chunk)
        last = chunk[-1:]
    return lines + (1 if last not in (b"", b"\n") else 0)


def read_files_in_processes(shares: list[list[Segment]], received_at: datetime, work: Path,
                            on_record: Callable[[int], None]) -> list[ReaderResult]:
    """Each share of lines read by its own process (:func:`read_in_processes`); ``on_record`` gets bytes."""
    from streams.replay.reading import read_segments_into

    log.info("replay of files in %d reader processes: %s", len(shares),
             "; ".join(", ".join(map(str, share)) for share in shares))
    return read_in_processes([ReaderJob(functools.partial(read_segments_into, segments=share, received_at=received_at),
                                        ", ".join(map(str, share))) for share in shares], work, on_record)


@dataclass(frozen=True)
class ReaderJob:
    """What one reader process reads: ``read(builder, spilled, on_record=...)`` returns (records read, records
    kept); a module-level function or a partial of one, since it is sent to a new process. ``what`` names
    the share in messages (e.g. ``partitions [0, 3]``)."""

    read: Callable[..., tuple[int, int]]
    what: str


@dataclass
class ReaderResult:
    """What one reader process read: its Parquet chunks of the log, their rows, the records it read
    and those it kept (inside the time window)."""

    paths: list[Path]
    rows: int
    read: int
    kept: int


def read_topic_in_processes(bootstrap: str, topic: str, shares: list[list[int]], from_ms: int | None,
                            to_ms: int | None, work: Path, on_record: Callable[[int], None],
                            stops: dict[int, int] | None = None) -> list[ReaderResult]:
    """Each share of partitions read by its own process (:func:`read_in_processes`), up to ``stops``."""
    from streams.replay.reading import read_into

    log.info("replay of topic %s in %d reader processes, partitions %s", topic, len(shares), shares)
    return read_in_processes([ReaderJob(functools.partial(read_into, bootstrap=bootstrap, topic=topic, from_ms=from_ms,
                                                          to_ms=to_ms, partitions=share, stops=stops),
                                        f"partitions {share}")
                              for share in shares], work, on_record)


def read_in_processes(jobs: list[ReaderJob], work: Path, on_record: Callable[[int], None]) -> list[ReaderResult]:
    """Each job run by its own process into ``work/reader-<i>``; the results in job order. ``on_record`` is
    called in this process with what the readers report (records, or bytes of a file), as they go.

    A reader's failure stops the others and is raised here, as the same kind of error (a missing topic
    stays a ``LookupError``, a silent broker a ``TimeoutError``) with the reader's traceback logged.
    """
    context = multiprocessing.get_context("spawn")  # never fork a process that runs Polars' threads
    progress = context.Value("q", 0)  # what the readers read so far, added to by every reader
    results = context.Queue()
    processes = [context.Process(target=_reader, name=f"replay-reader-{i}", daemon=True,
                                 args=(i, job.read, str(work / f"reader-{i}"), progress, results, _levels()))
                 for i, job in enumerate(jobs)]
    for p in processes:
        p.start()
    done: dict[int, ReaderResult] = {}
    ended_quietly: dict[int, int] = {}  # reader -> polls since it ended without a result
    shown = 0
    try:
        while len(done) < len(processes):
            try:
                message = results.get(timeout=0.2)
            except queue.Empty:
                _check_alive(processes, done, ended_quietly)
            else:
                done[message[0]] = _result(message, jobs)
            shown = _advance(progress, shown, on_record)
        _advance(progress, shown, on_record)
    finally:
        for p in processes:
            if p.is_alive():
                p.terminate()
            p.join()
    return [done[i] for i in range(len(processes))]


#: Loggers whose levels a reader takes from the main process (``funnel --loglevel`` quiets
#: kafka-python's timing notices).
_LOGGERS = ("", "kafka.net.selector")


def _levels() -> dict[str, int]:
    return {name: logging.getLogger(name).getEffectiveLevel() for name in _LOGGERS}


def _advance(progress, shown: int, on_record: Callable[[int], None]) -> int:
    now = progress.value
    if now > shown:
        on_record(now - shown)
    return max(now, shown)


#: Polls of 0.2 s a reader that ended with exit code 0 gets for its result to arrive (it puts its result on
#: the queue before it ends, so the result is at most in flight): then it ended without one.
_GRACE_POLLS = 10


def _check_alive(processes: list, done: dict, ended_quietly: dict[int, int]) -> None:
    for i, p in enumerate(processes):
        if i in done or p.is_alive():
            continue
        if p.exitcode not in (None, 0):
            raise RuntimeError(f"replay reader {i} ({p.name}) died with exit code {p.exitcode} before reporting")
        ended_quietly[i] = ended_quietly.get(i, 0) + 1
        if ended_quietly[i] > _GRACE_POLLS:  # e.g. a script without `if __name__ == "__main__":` that spawns it
            raise RuntimeError(f"replay reader {i} ({p.name}) ended without reporting what it read")


def _result(message: tuple, jobs: list[ReaderJob]) -> ReaderResult:
    index, status, *rest = message
    if status == "ok":
        paths, rows, read, kept = rest
        return ReaderResult([Path(p) for p in paths], rows, read, kept)
    kind, text, trace = rest
    log.error("replay reader %d (%s) failed:\n%s", index, jobs[index].what, trace)
    error = {"LookupError": LookupError, "TimeoutError": TimeoutError}.get(kind, RuntimeError)
    raise error(f"{text} (replay reader {index}, {jobs[index].what})")


def _reader(index: int, read: Callable[..., tuple[int, int]], work: str, progress, results,
            levels: dict[str, int]) -> None:
    """One reader process: its share into a spilled log, every chunk on disk; its result on ``results``."""
    try:
        logging.basicConfig(level=levels[""], format=f"%(asctime)s %(levelname)s reader-{index} %(name)s: %(message)s")
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
        from streams.core.log import LogBuilder
        from streams.replay.reading import SpilledLog

        builder, spilled = LogBuilder(), SpilledLog(work)
        pending = calls = 0

        def report(n: int) -> None:
            with progress.get_lock():  # += reads then writes: readers must not interleave
                progress.value += n

        def counted(n: int) -> None:  # n: a record, or a line's bytes
            nonlocal pending, calls
            pending += n
            calls += 1
            if calls >= _REPORT_EVERY:
                report(pending)
                pending = calls = 0

        got, kept = read(builder, spilled, on_record=counted)
        report(pending)
        spilled.take(builder)
        tail = builder.frame()
        if tail.height:
            spilled.write(tail)
        results.put((index, "ok", [str(p) for p in spilled.paths], spilled.rows, got, kept))
    except BaseException as e:  # reported to the main process, which raises it
        kind = "LookupError" if isinstance(e, LookupError) else "TimeoutError" if isinstance(e, TimeoutError) else ""
        results.put((index, "error", kind, f"{type(e).__name__}: {e}", traceback.format_exc()))
