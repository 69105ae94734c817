"""``funnel replay``: rebuild every figure from the event log (a file or a topic), with no worker.

The imperative shell around :mod:`streams.core`: it reads records, hands them to
the core, and writes ``summary.json`` and Parquet tables. It commits no offsets.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from pathlib import Path
from typing import Callable, Iterable

import polars as pl

from streams.config import dlq_topic
from streams.core.clock import cst_at
from streams.core.log import LogBuilder
from streams.feeds import read_feed
from streams.kafkaio import records

log = logging.getLogger(__name__)


def files_received_at(paths: Iterable[str | Path]) -> datetime:
    """When a file replay takes the files' records to have been received: the newest modification time
    of the files, in CST, to the second. It depends on the files alone, not on when the replay runs."""
    return cst_at(max(Path(p).stat().st_mtime for p in paths))


def log_from_files(paths: Iterable[str | Path], received_at: datetime,
                   on_record: Callable[[int], None] = lambda n: None) -> pl.DataFrame:
    """The received log of feed files, in file order.

    A record without ``recorded_at`` is judged (``future_occurred_at``) as received at ``received_at``
    (e.g. :func:`files_received_at`); it still has no ``recorded_at`` for a ``known_at`` view.
    """
    paths = list(paths)
    log.info("replay of %d file(s) started: %s", len(paths), ", ".join(map(str, paths)))
    builder = LogBuilder()
    seq = 0
    for path in paths:
        for record in read_feed(path):
            seq += 1
            builder.add(seq, record.parsed, received_at, stamp_missing=False)
            on_record(len(record.raw) + 1)
    log.info("replay of %d file(s) read %d records", len(paths), seq)
    return builder.frame()


def _in_window(record, from_ms: int | None, to_ms: int | None) -> bool:
    return (from_ms is None or record.timestamp >= from_ms) and (to_ms is None or record.timestamp < to_ms)


def log_from_topic(bootstrap: str, topic: str, from_ms: int | None = None, to_ms: int | None = None,
                   on_record: Callable[[int], None] = lambda n: None) -> pl.DataFrame:
    """The received log of a topic and of the records its ingest dead-lettered.

    A topic record without ``recorded_at`` is stamped with its Kafka timestamp: when the
    platform received it. Dead letters written by the worker are the topic's own records,
    which are checked again here, so only those rejected before the topic (by ingest) count.
    """
    from streams.kafkaio.consumer import read_topic

    window = f" (produced in [{from_ms}, {to_ms}) ms)" if from_ms is not None or to_ms is not None else ""
    log.info("replay of topic %s at %s started%s", topic, bootstrap, window)
    builder = LogBuilder()
    topic_read = topic_kept = dlq_read = dlq_kept = 0
    for record in read_topic(bootstrap, topic):
        on_record(1)
        topic_read += 1
        if _in_window(record, from_ms, to_ms):
            topic_kept += 1
            builder.add(records.arrival_seq(record.partition, record.offset), record.value or b"",
                        records.received_at(record.timestamp), stamp_missing=True)
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
    return builder.frame()


def write_outputs(doc: dict, tables: dict[str, pl.DataFrame], out: Path) -> None:
    """``summary.json`` and one Parquet file per table in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(json.dumps(doc, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    for name, table in tables.items():
        table.write_parquet(out / f"{name}.parquet")


def write_quality(doc: dict, tables: dict[str, pl.DataFrame], out: Path):
    """Run the aggregate suites on what was written and record the result in ``quality.json``."""
    from streams.quality.gate import check_aggregates

    report = check_aggregates(doc, tables)
    (out / "quality.json").write_text(json.dumps(report.as_dict(), ensure_ascii=False, indent=2, default=str)
                                      + "\n", encoding="utf-8")
    return report
