"""Reading the received log for a command (a bulletin, a diff): from feed files or a topic, with what was read."""

from __future__ import annotations

from pathlib import Path

from streams import config
from streams.cli.app import topic_read_errors
from streams.cli.render import progress


def read_log(files, bootstrap_servers, topic, work, received_at=None):
    """The received log of the feed files, or of the topic, spilled to ``work`` as it is read; its name; and
    what was read, for a view file (the files and their records, or the partitions' end offsets)."""
    from streams import replay as shell

    if files:
        size = sum(Path(f).stat().st_size for f in files)
        at = received_at or shell.files_received_at(files)
        with progress("read", size, "bytes") as advance:
            received = shell.log_from_files(files, at, on_record=advance, spill=work)
        return received, ", ".join(map(str, files)), {
            "files": [str(Path(f).resolve()) for f in files], "received_at": at.isoformat(),
            "records": _records(received)}
    from streams.config import dlq_topic
    from streams.kafkaio.offsets import partition_ends

    bootstrap = bootstrap_servers or config.bootstrap_servers()
    with topic_read_errors(topic, bootstrap):
        ends = shell.topic_ends(bootstrap, topic)
        # read before the topic: a dead letter written after this is left out of the view, not counted twice
        dlq = {str(p): end.stable for p, end in sorted(partition_ends(bootstrap, dlq_topic(topic)).items())}
        with progress("read", 0, "records") as advance:
            received = shell.log_from_topic(bootstrap, topic, on_record=advance, spill=work, ends=ends)
    return received, f"topic {topic}", {"topic": topic, "dlq_offsets": dlq,
                                        "offsets": {str(p): end.stable for p, end in sorted(ends.items())}}


def _records(received) -> int:
    """How many records a file replay read: its last seq (a file's records are numbered 1, 2, …)."""
    import polars as pl

    frame = received.scan() if hasattr(received, "scan") else received.lazy()
    return int(frame.select(pl.col("seq").max()).collect().item() or 0)
