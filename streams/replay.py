"""``funnel replay``: rebuild every figure from the event log (a file or a topic), with no worker.

The imperative shell around :mod:`streams.core`: it reads records, hands them to
the core, and writes ``summary.json`` and Parquet tables. It commits no offsets.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable

import polars as pl

from streams.config import dlq_topic
from streams.contract.schemas import parse_timestamp
from streams.core.log import LogBuilder
from streams.feeds import read_feed

DLQ_SEQ = 1 << 62  # dead letters sort after every topic record; their order does not matter


def log_from_files(paths: Iterable[str | Path], received_at: datetime,
                   on_record: Callable[[int], None] = lambda n: None) -> pl.DataFrame:
    """The received log of feed files, in file order; records are judged as received at ``received_at``."""
    builder = LogBuilder()
    seq = 0
    for path in paths:
        for record in read_feed(path):
            seq += 1
            builder.add(seq, record.parsed, received_at, stamp_missing=False)
            on_record(len(record.raw) + 1)
    return builder.frame()


def header_value(record, name: str) -> str | None:
    for key, value in record.headers or ():
        if key == name:
            return value.decode("utf-8", errors="replace")
    return None


def recorded_at_in(raw: bytes) -> datetime | None:
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    return parse_timestamp(value.get("recorded_at")) if isinstance(value, dict) else None


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

    builder = LogBuilder()
    for record in read_topic(bootstrap, topic):
        on_record(1)
        if _in_window(record, from_ms, to_ms):
            received = datetime.fromtimestamp(record.timestamp / 1000, timezone.utc)
            builder.add((record.partition << 40) | record.offset, record.value or b"", received, stamp_missing=True)
    for record in read_topic(bootstrap, dlq_topic(topic)):
        on_record(1)
        if _in_window(record, from_ms, to_ms) and header_value(record, "rejected_by") != "worker":
            builder.add_rejected(DLQ_SEQ | (record.partition << 40) | record.offset,
                                 header_value(record, "reason") or "malformed", header_value(record, "detail") or "",
                                 recorded_at_in(record.value or b""),
                                 record.key.decode("utf-8", "replace") if record.key else None)
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
