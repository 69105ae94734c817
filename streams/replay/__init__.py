"""Replay: every figure rebuilt from the event log (a file or a topic), with no worker (``funnel replay``).

- :mod:`streams.replay.shell`    the log read, handed to :mod:`streams.core`, ``summary.json`` and Parquet written
- :mod:`streams.replay.reading`  what one reader does: records into a ``LogBuilder``, spilled to Parquet
- :mod:`streams.replay.readers`  a long log read by several processes, each a share of it

The shell's public names are re-exported here (``from streams.replay import log_from_files``).
"""

from streams.replay.reading import SpilledLog, read_into, read_segments_into
from streams.replay.shell import (
    Replayed, Table, _Collected, files_received_at, fold_and_aggregate, held_back, log_from_files, log_from_topic,
    topic_ends, write_outputs, write_quality,
)

__all__ = ["Replayed", "SpilledLog", "Table", "_Collected", "files_received_at", "fold_and_aggregate", "held_back",
           "log_from_files", "log_from_topic", "read_into", "read_segments_into", "topic_ends", "write_outputs",
           "write_quality"]
