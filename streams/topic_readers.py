"""A topic read by several processes at once, each taking a share of its partitions.

Checking a record and making its row of the log (``LogBuilder``) costs several times what
kafka-python's fetch does, and it is Python: one process uses one core. With more cores,
replay gives each reader process a share of the partitions; every reader does exactly what a
single reader does (:func:`streams.replay.read_into`, the same ``LogBuilder``) and writes its
chunks of the log to Parquet in its own directory. The log is all their chunks: the order of
rows does not matter, arrival order is the ``seq`` column (partition, offset), and a project
lives in one partition.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import queue
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

log = logging.getLogger(__name__)

#: Below this many records, starting processes (each imports Polars and compiles the contract) costs
#: more than it saves.
MIN_RECORDS_PER_READER = 100_000
#: Beyond this the broker and the fetches, not the checks, limit a replay on one machine.
MAX_READERS = 4
#: Records a reader checks between two progress reports to the main process.
_REPORT_EVERY = 2_000


def readers_for(ends: dict[int, int], requested: int | None, cpus: int | None = None) -> int:
    """How many reader processes for a topic whose partitions end at ``ends``: ``requested`` when given,
    else one per core up to :data:`MAX_READERS` and one per :data:`MIN_RECORDS_PER_READER` records;
    never more than the partitions holding records, never fewer than one."""
    holding = sum(1 for end in ends.values() if end > 0)
    if requested is None:
        cores = cpus or os.cpu_count() or 1
        requested = min(cores, MAX_READERS, sum(ends.values()) // MIN_RECORDS_PER_READER)
    return max(1, min(requested, holding))


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


@dataclass
class ReaderResult:
    """What one reader process read: its Parquet chunks of the log, their rows, the records it read
    and those it kept (inside the time window)."""

    paths: list[Path]
    rows: int
    read: int
    kept: int


def read_in_processes(bootstrap: str, topic: str, shares: list[list[int]], from_ms: int | None, to_ms: int | None,
                      work: Path, on_record: Callable[[int], None]) -> list[ReaderResult]:
    """Each share of partitions read by its own process into ``work/reader-<i>``; the results in share order.

    A reader's failure stops the others and is raised here, as the same kind of error (a missing topic
    stays a ``LookupError``, a silent broker a ``TimeoutError``) with the reader's traceback logged.
    """
    context = multiprocessing.get_context("spawn")  # never fork a process that runs Polars' threads
    progress = context.Value("q", 0)  # records read, added to by every reader
    results = context.Queue()
    processes = [context.Process(target=_reader, name=f"replay-reader-{i}", daemon=True,
                                 args=(i, bootstrap, topic, share, from_ms, to_ms, str(work / f"reader-{i}"),
                                       progress, results, _levels()))
                 for i, share in enumerate(shares)]
    log.info("replay of topic %s in %d reader processes, partitions %s", topic, len(shares), shares)
    for p in processes:
        p.start()
    done: dict[int, ReaderResult] = {}
    shown = 0
    try:
        while len(done) < len(processes):
            try:
                message = results.get(timeout=0.2)
            except queue.Empty:
                _check_alive(processes, done)
            else:
                done[message[0]] = _result(message, shares)
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


def _check_alive(processes: list, done: dict) -> None:
    for i, p in enumerate(processes):
        if i not in done and not p.is_alive() and p.exitcode not in (None, 0):
            raise RuntimeError(f"replay reader {i} ({p.name}) died with exit code {p.exitcode} before reporting")


def _result(message: tuple, shares: list[list[int]]) -> ReaderResult:
    index, status, *rest = message
    if status == "ok":
        paths, rows, read, kept = rest
        return ReaderResult([Path(p) for p in paths], rows, read, kept)
    kind, text, trace = rest
    log.error("replay reader %d (partitions %s) failed:\n%s", index, shares[index], trace)
    error = {"LookupError": LookupError, "TimeoutError": TimeoutError}.get(kind, RuntimeError)
    raise error(f"{text} (replay reader {index}, partitions {shares[index]})")


def _reader(index: int, bootstrap: str, topic: str, partitions: list[int], from_ms: int | None, to_ms: int | None,
            work: str, progress, results, levels: dict[str, int]) -> None:
    """One reader process: its partitions into a spilled log, every chunk on disk; its result on ``results``."""
    try:
        logging.basicConfig(level=levels[""], format=f"%(asctime)s %(levelname)s reader-{index} %(name)s: %(message)s")
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
        from streams.core.log import LogBuilder
        from streams.replay import SpilledLog, read_into

        builder, spilled = LogBuilder(), SpilledLog(work)
        pending = 0

        def report(n: int) -> None:
            with progress.get_lock():  # += reads then writes: readers must not interleave
                progress.value += n

        def counted(n: int) -> None:
            nonlocal pending
            pending += n
            if pending >= _REPORT_EVERY:
                report(pending)
                pending = 0

        read, kept = read_into(builder, spilled, bootstrap, topic, from_ms, to_ms, counted, partitions)
        report(pending)
        spilled.take(builder)
        tail = builder.frame()
        if tail.height:
            spilled.write(tail)
        results.put((index, "ok", [str(p) for p in spilled.paths], spilled.rows, read, kept))
    except BaseException as e:  # reported to the main process, which raises it
        kind = "LookupError" if isinstance(e, LookupError) else "TimeoutError" if isinstance(e, TimeoutError) else ""
        results.put((index, "error", kind, f"{type(e).__name__}: {e}", traceback.format_exc()))
