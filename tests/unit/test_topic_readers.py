"""How a topic's partitions are shared among replay's reader processes (pure: no broker)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from streams.topic_readers import MAX_READERS, MIN_RECORDS_PER_READER, readers_for, share_partitions


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
