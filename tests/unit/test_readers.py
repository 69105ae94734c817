"""How a topic's partitions and JSON Lines files' lines are shared among replay's reader processes."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.replay.readers import (MAX_READERS, MIN_BYTES_PER_READER, MIN_RECORDS_PER_READER, ReaderJob, read_in_processes,
                             readers_for, readers_for_bytes, share_lines, share_partitions)


def test_a_small_topic_is_read_by_one_process():
    assert readers_for({0: MIN_RECORDS_PER_READER - 1, 1: 0}, None, cpus=8) == 1


def test_a_long_topic_takes_a_reader_per_core_up_to_the_maximum():
    ends = {p: 10 * MIN_RECORDS_PER_READER for p in range(12)}
    assert readers_for(ends, None, cpus=2) == 2
    assert readers_for(ends, None, cpus=64) == MAX_READERS


def test_readers_are_never_more_than_the_partitions_holding_records():
    ends = {0: 10 * MIN_RECORDS_PER_READER, 1: 0, 2: 10 * MIN_RECORDS_PER_READER}
    assert readers_for(ends, 6) == 2 and readers_for(ends, None, cpus=8) == 2
    assert readers_for({0: 0}, 3) == 1 and readers_for({}, None) == 1


def test_shares_balance_records():
    assert share_partitions({0: 500, 1: 300, 2: 300, 3: 0, 4: 200}, 2) == [[0, 4], [1, 2]]


@given(st.dictionaries(st.integers(0, 63), st.integers(0, 10**6), max_size=24), st.integers(1, 8))
def test_every_partition_holding_records_is_in_exactly_one_share(ends, readers):
    shares = share_partitions(ends, readers)
    taken = [p for share in shares for p in share]
    assert sorted(taken) == sorted(p for p, end in ends.items() if end > 0)
    assert len(shares) <= readers and all(shares)
    if len(shares) > 1:  # largest first to the lightest share: loads differ by at most the largest partition
        loads = sorted(sum(ends[p] for p in share) for share in shares)
        assert loads[-1] - loads[0] <= max(ends.values())


def test_small_files_are_read_by_one_process_and_long_ones_by_a_reader_per_core():
    assert readers_for_bytes(MIN_BYTES_PER_READER - 1, None, cpus=8) == 1
    assert readers_for_bytes(10 * MIN_BYTES_PER_READER, None, cpus=2) == 2
    assert readers_for_bytes(10 * MIN_BYTES_PER_READER, None, cpus=64) == MAX_READERS
    assert readers_for_bytes(10, 3) == 3


lines = st.binary(max_size=12).map(lambda b: b.replace(b"\n", b"x"))
files = st.lists(st.tuples(st.lists(lines, max_size=30), st.booleans(), st.booleans()), min_size=1, max_size=4)


@settings(max_examples=150, deadline=None)
@given(files, st.integers(1, 6))
def test_every_line_is_in_one_segment_numbered_as_one_reader_numbers_it(tmp_path_factory, contents, readers):
    """Files of any lines (empty ones, CRLF, a last line without its newline, empty files), shared: reading the
    segments in order gives every file's records, with the line numbers and seqs of one reader reading them all."""
    from streams.feeds import read_feed, read_jsonl_range

    folder = tmp_path_factory.mktemp("shares")
    paths = []
    for i, (body, crlf, ends_with_newline) in enumerate(contents):
        text = (b"\r\n" if crlf else b"\n").join(body) + (b"\n" if ends_with_newline and body else b"")
        paths.append(folder / f"{i}.jsonl")
        paths[-1].write_bytes(text)
    one = [(r.origin, r.raw) for p in paths for r in read_feed(p)]
    shares = share_lines(paths, readers)
    assert len(shares) <= readers and all(shares)
    segments = [s for share in shares for s in share]
    got, seqs = [], []
    for s in segments:
        records = list(read_jsonl_range(s.path, s.start, s.end, s.first_line))
        assert len(records) == s.lines > 0
        got += [(r.origin, r.raw) for r in records]
        seqs += range(s.first_seq, s.first_seq + s.lines)
    assert got == one and seqs == list(range(1, len(one) + 1))
    sizes = [sum(s.end - s.start for s in share) for share in shares]
    assert sum(sizes) <= sum(p.stat().st_size for p in paths)


def _ends_quietly(builder, spilled, on_record):
    os._exit(0)  # as a spawned script without a __main__ guard ends: no result, no error


def _fails(builder, spilled, on_record):
    on_record(3)
    raise LookupError("no such share")


def test_a_reader_that_ends_without_reporting_fails_the_read(tmp_path):
    with pytest.raises(RuntimeError, match=r"replay reader 0 \(replay-reader-0\) ended without reporting"):
        read_in_processes([ReaderJob(_ends_quietly, "a share")], tmp_path, lambda n: None)


def test_a_reader_that_fails_fails_the_read_with_its_reason_and_its_share(tmp_path):
    with pytest.raises(LookupError, match=r"LookupError: no such share \(replay reader 0, lines 1–9 of f\)"):
        read_in_processes([ReaderJob(_fails, "lines 1–9 of f")], tmp_path, lambda n: None)
