"""When the publish timer folds (streams/worker/pacing.py): every tick once caught up; while the intake is behind,
with the fold's share of the time bounded."""

from __future__ import annotations

from streams.worker.pacing import FoldPacing, behind


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_caught_up_intake_folds_every_tick():
    clock = Clock()
    pacing = FoldPacing(share=0.25, clock=clock)
    pacing.folded(100.0, 103.0)
    assert pacing.due(behind=False)


def test_the_first_fold_is_due_even_while_behind():
    assert FoldPacing().due(behind=True)


def test_while_behind_a_fold_waits_until_its_share_of_the_time_is_down_to_the_bound():
    clock = Clock()
    pacing = FoldPacing(share=0.25, longest_wait_s=60, clock=clock)
    pacing.folded(100.0, 102.0)  # 2 s: then 6 s without one, 25 % of the 8 s
    clock.now = 107.9
    assert not pacing.due(behind=True)
    clock.now = 108.0
    assert pacing.due(behind=True)


def test_a_long_fold_waits_no_longer_than_the_longest_wait():
    clock = Clock()
    pacing = FoldPacing(share=0.25, longest_wait_s=10, clock=clock)
    pacing.folded(100.0, 120.0)
    clock.now = 129.0
    assert not pacing.due(behind=True)
    clock.now = 130.0
    assert pacing.due(behind=True)


def test_behind_means_more_than_the_slack_short_of_a_partitions_end():
    ends = {("t", 0): 5000, ("t", 1): 100}
    end_offset = lambda topic, n: ends.get((topic, n))  # noqa: E731
    taken = {("t", 0): 4000, ("t", 1): 100}
    assert not behind(taken, "t", [0, 1], end_offset, slack=2000)
    assert behind(taken, "t", [0, 1], end_offset, slack=500)
    assert not behind(taken, "t", [2], end_offset, slack=0)  # not taken yet, its end unknown: nothing to wait for
    assert not behind({}, "t", [0], end_offset, slack=0)


def test_the_timer_folds_when_due_and_the_fold_it_ran_paces_the_next():
    import asyncio

    clock, runs, lag = Clock(), [], {"behind": True}

    async def refresh():
        runs.append(clock.now)
        clock.now += 2.0  # a fold of 2 s

    pacing = FoldPacing(lambda: lag["behind"], share=0.5, clock=clock)
    asyncio.run(pacing.fold(refresh))
    clock.now += 1.0
    asyncio.run(pacing.fold(refresh))  # 1 s after a 2 s fold: not yet
    lag["behind"] = False
    asyncio.run(pacing.fold(refresh))  # caught up: at once
    assert runs == [100.0, 103.0]
