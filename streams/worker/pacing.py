"""When the publish timer folds today's state: every tick once the intake has caught up; while it is behind, with
the fold's share of the time bounded.

During a catch-up every project is dirty every second, and a fold begun each second ran back to
back (2–3.5 s each at 250k events), its thread holding the GIL for its Python parts (decoding,
building frames) while the intake waited for it. Folding less often while behind folds each project
once where it folded it several times, and leaves the intake most of the process. The answer lags
the intake a little more during a catch-up (at most :attr:`FoldPacing.longest_wait_s` plus a fold);
once caught up every tick folds, so it is exact again within a tick.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable


class FoldPacing:
    """Whether a fold is due: always when caught up; while behind (``is_behind``: the intake says), once the last
    fold's share of the time since it began has fallen to ``share`` (or ``longest_wait_s`` has passed since it
    ended)."""

    def __init__(self, is_behind: Callable[[], bool] = lambda: False, share: float = 0.1,
                 longest_wait_s: float = 10.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.is_behind, self.share, self.longest_wait_s, self.clock = is_behind, share, longest_wait_s, clock
        self.last: tuple[float, float] | None = None  # the last fold's start and end

    async def fold(self, refresh: Callable[[], Awaitable[None]]) -> None:
        """Run ``refresh`` (the publish timer's fold) if a fold is due now, and note how long it took."""
        if self.due(self.is_behind()):
            started = self.clock()
            await refresh()
            self.folded(started, self.clock())

    def due(self, behind: bool) -> bool:
        """Whether to fold now."""
        if not behind or self.last is None:
            return True
        started, ended = self.last
        wait = min(self.longest_wait_s, (ended - started) * (1 / self.share - 1))
        return self.clock() >= ended + wait

    def folded(self, started: float, ended: float) -> None:
        """A fold ran from ``started`` to ``ended`` (by :attr:`clock`)."""
        self.last = (started, ended)


def behind(taken: dict[tuple[str, int], int], topic: str, partitions: Iterable[int],
           end_offset: Callable[[str, int], int | None], slack: int) -> bool:
    """Whether the intake is more than ``slack`` records behind the end of any of ``partitions`` of ``topic``
    (``taken``: (topic, partition) → the next offset to take; an end not known yet counts as caught up)."""
    for n in partitions:
        end, next_offset = end_offset(topic, n), taken.get((topic, n))
        if end is not None and next_offset is not None and end - next_offset > slack:
            return True
    return False
