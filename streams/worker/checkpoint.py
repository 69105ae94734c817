"""A partition's store on local disk, with the changelog position it covers (a checkpoint).

A restarted worker loads a partition's checkpoint and reads only the changelog after it, as a
Kafka Streams instance restores a persistent store from its checkpointed changelog offset. The
changelog stays the backup and the event topic the source of truth: a checkpoint that cannot be
trusted is ignored, with a warning, and the partition is restored from the changelog as before.

One file per partition: a fixed magic, a JSON header (format, app, topics, partition, changelog
offset and the key of the chunk at that offset, body length and CRC-32) and a msgpack body of the
partition's compact records — the store's own form, so loading is one decode, no conversion — with
today's state of the partition as it was folded (its frames in Arrow IPC) and the projects and trips
it did not cover yet, so a restarted worker folds only those, not the whole partition. It is
written to a temporary file, flushed and fsynced, then renamed over the old one: a SIGKILL at any
point leaves the old checkpoint or the new one, never half of one; a torn or altered file fails its
length or CRC check.

Whether a checkpoint fits the changelog (its offset still held by the topic, the chunk at that
offset the one it names) is decided by :func:`fits_changelog`, given what the broker says.
"""

from __future__ import annotations

import io
import json
import logging
import os
import zlib
from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import msgspec
import polars as pl

from streams.worker.store import Partition, Today

log = logging.getLogger(__name__)

MAGIC = b"FUNNEL-CHECKPOINT\n"
FORMAT = 2  # 2: with today's state of the partition (1: records alone)
_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder()


@dataclass(frozen=True)
class Identity:
    """What a checkpoint belongs to: a checkpoint of another app, topic, changelog or partition is not used."""

    app_id: str
    topic: str
    changelog: str
    partition: int

    def header(self) -> dict:
        return {"app_id": self.app_id, "topic": self.topic, "changelog": self.changelog, "partition": self.partition}


@dataclass(frozen=True)
class Checkpoint:
    """A partition's store as of a changelog offset (the offset of the last chunk it holds, and that chunk's key)."""

    partition: Partition
    offset: int
    key: bytes


def path_of(slot: Path, identity: Identity) -> Path:
    return Path(slot) / f"{identity.changelog}-{identity.partition}.checkpoint"


def claim_slot(state_dir: Path, app_id: str) -> Path:
    """This process's own directory of checkpoints under ``state_dir``: the first ``<app_id>/slot-K`` no live worker
    holds, locked for the life of the process (the kernel releases the lock of a killed one, so a worker restarted
    on the same machine takes its slot back). Two workers of a machine never write the same files."""
    import fcntl

    for k in range(1024):
        slot = Path(state_dir) / app_id / f"slot-{k}"
        slot.mkdir(parents=True, exist_ok=True)
        handle = open(slot / ".lock", "a+b")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        _held_locks.append(handle)  # kept open: closing it would release the lock
        return slot
    raise RuntimeError(f"no free checkpoint slot under {state_dir / app_id}")


_held_locks: list = []


def encode(identity: Identity, part: Partition) -> bytes:
    """The checkpoint file's bytes of a partition (its ``changelog_offset`` and ``changelog_key`` are the position)."""
    body = _encoder.encode([part.projects, part.trips, part.rejections, dict(part.rejected), part.last_seq,
                            part.last_dead_letter, _today_fields(part.today), sorted(part.unfolded),
                            sorted(part.unfolded_trips)])
    header = {"format": FORMAT, **identity.header(), "offset": part.changelog_offset,
              "key": (part.changelog_key or b"").hex(), "length": len(body), "crc32": zlib.crc32(body)}
    head = json.dumps(header).encode()
    return MAGIC + len(head).to_bytes(4, "big") + head + body


_FRAMES = ("frame", "issues", "trips", "trip_tallies")


def _today_fields(today: Today | None) -> dict | None:
    """Today's state of a partition as msgpack-able fields: its frames in Arrow IPC, its summaries as they are."""
    if today is None:
        return None
    frames = {}
    for name in _FRAMES:
        out = io.BytesIO()
        getattr(today, name).write_ipc(out)
        frames[name] = out.getvalue()
    return {"day": today.day.isoformat(), "doc": today.doc, "trip_doc": today.trip_doc, **frames}


def _today_of(fields: dict | None) -> Today | None:
    if fields is None:
        return None
    frames = {name: pl.read_ipc(io.BytesIO(fields[name])) for name in _FRAMES}
    return Today(date.fromisoformat(fields["day"]), doc=fields["doc"], trip_doc=fields["trip_doc"], **frames)


class Unusable(ValueError):
    """A checkpoint file that is not used, and why."""


def decode(blob: bytes, identity: Identity) -> Checkpoint:
    """The checkpoint in a file's bytes; :class:`Unusable` when it is torn, altered, of another format or of another
    app, topic, changelog or partition."""
    if not blob.startswith(MAGIC):
        raise Unusable("not a checkpoint file (no magic)")
    at = len(MAGIC)
    size = int.from_bytes(blob[at:at + 4], "big")
    try:
        header = json.loads(blob[at + 4:at + 4 + size])
    except ValueError as exc:
        raise Unusable(f"torn header ({exc})") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise Unusable(f"format {header.get('format') if isinstance(header, dict) else '?'}, not {FORMAT}")
    for name, expected in identity.header().items():
        if header.get(name) != expected:
            raise Unusable(f"{name} is {header.get(name)!r}, not {expected!r}")
    body = blob[at + 4 + size:]
    if len(body) != header.get("length") or zlib.crc32(body) != header.get("crc32"):
        raise Unusable(f"torn or altered body ({len(body)} bytes, header says {header.get('length')}; CRC mismatch)")
    projects, trips, rejections, rejected, last_seq, last_dead_letter, today, unfolded, unfolded_trips = \
        _decoder.decode(body)
    part = Partition(projects, trips, rejections, Counter(rejected), last_seq, last_dead_letter,
                     changelog_offset=header["offset"], changelog_key=bytes.fromhex(header["key"]),
                     today=_today_of(today), unfolded=set(unfolded), unfolded_trips=set(unfolded_trips))
    return Checkpoint(part, header["offset"], part.changelog_key)


def write(state_dir: Path, identity: Identity, part: Partition) -> Path:
    """Write a partition's checkpoint atomically (temporary file, fsync, rename, fsync of the directory)."""
    path = path_of(state_dir, identity)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    with open(temporary, "wb") as out:
        out.write(encode(identity, part))
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    return path


def read(state_dir: Path, identity: Identity) -> Checkpoint | None:
    """The partition's checkpoint on disk; None (with a warning saying why) when there is none to use."""
    path = path_of(state_dir, identity)
    for leftover in path.parent.glob(f"{path.name}.*.tmp"):  # a write a kill interrupted: never renamed, never used
        log.warning("%s: an unfinished checkpoint write, removed", leftover)
        leftover.unlink(missing_ok=True)
    try:
        blob = path.read_bytes()
    except FileNotFoundError:
        log.info("%s: no checkpoint: partition %d restored from the changelog", path, identity.partition)
        return None
    try:
        return decode(blob, identity)
    except (Unusable, msgspec.DecodeError, pl.exceptions.PolarsError, ValueError, TypeError, KeyError) as exc:
        log.warning("%s: checkpoint ignored (%s): partition %d restored from the whole changelog", path, exc,
                    identity.partition)
        return None


def fits_changelog(checkpoint: Checkpoint, earliest: int, end: int, key_at_offset: bytes | None) -> str | None:
    """Why a checkpoint does not fit the changelog partition as the broker has it (None when it fits).

    ``earliest`` and ``end``: the partition's first and next offsets; ``key_at_offset``: the key of the record at the
    checkpoint's offset (None when there is none). A checkpoint past the end is of another topic (recreated); one
    whose chunk the changelog no longer holds lost it to retention; a different key is another topic's chunk.
    """
    if checkpoint.offset < 0:
        return "it covers no changelog record"
    if checkpoint.offset >= end:
        return f"its offset {checkpoint.offset} is past the changelog's end {end} (a recreated topic?)"
    if checkpoint.offset < earliest:
        return (f"the changelog no longer holds offsets {checkpoint.offset} to {earliest - 1} (retention): what "
                "followed it may be lost, and the chunk it names cannot be checked")
    if key_at_offset != checkpoint.key:
        return (f"the changelog record at offset {checkpoint.offset} is {key_at_offset!r}, not the checkpoint's "
                f"{checkpoint.key!r} (another topic)")
    return None
