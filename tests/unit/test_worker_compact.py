"""Appending compact records to a project's kept bytes (streams/worker/compact.py): the bytes an encode of all of
them gives, however many there are on either side of the array header's sizes."""

from __future__ import annotations

import pytest

from streams.worker import compact


def records(start: int, count: int) -> list[tuple]:
    return [(seq, 1_700_000_000_000_000 + seq, f"e-{seq}".encode(), seq % 7, None, 2.5 * seq, "内容", None)
            for seq in range(start, start + count)]


@pytest.mark.parametrize("held, more", [(0, 1), (1, 1), (3, 12), (15, 1), (14, 2), (16, 5), (65_530, 10),
                                        (65_536, 3), (2, 70_000)])
def test_appended_records_encode_as_one_array_of_all_of_them(held, more):
    kept, new = records(0, held), records(held, more)
    blob = compact.encode(kept) if held else None
    both = compact.appended(blob, new)
    assert both == compact.encode([*kept, *new])
    assert [tuple(r) for r in compact.decode(both)] == [*kept, *new]


def test_appending_again_and_again_keeps_every_record_in_order():
    blob, expected = None, []
    for start in range(0, 200, 7):
        blob = compact.appended(blob, records(start, 7))
        expected += records(start, 7)
    assert [tuple(r) for r in compact.decode(blob)] == expected
