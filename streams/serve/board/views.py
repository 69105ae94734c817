"""督查大屏: the page at ``/board`` (where ``/`` leads), its figures at ``/api/board`` (polled by static/board.js)."""

from __future__ import annotations

import logging
import threading
import time

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from streams import config
from streams.serve.accounts.models import User
from streams.serve.accounts.service import current_user
from streams.serve.board.service import COLOURS, POOLS, board
from streams.serve.figures import figures_of
from streams.serve.templating import render

log = logging.getLogger(__name__)
router = APIRouter()

#: A board document is reused for this long (seconds): twenty screens polling make one read of the figures.
CACHE_SECONDS = 2.0
POLL_SECONDS = 10


class BoardCache:
    """The last board document and when it was made; one maker at a time."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.doc: dict | None = None
        self.made = 0.0

    def get(self, request: Request) -> dict:
        with self.lock:
            if self.doc is None or time.monotonic() - self.made > CACHE_SECONDS:
                settings = request.app.state.settings
                targets = config.targets(getattr(settings, "targets_file", None))
                self.doc, self.made = board(figures_of(request), targets), time.monotonic()
            return self.doc


def cache_of(request: Request) -> BoardCache:
    state = request.app.state
    if getattr(state, "board_cache", None) is None:
        state.board_cache = BoardCache()
    return state.board_cache


def poll_seconds(request: Request) -> int:
    """``?poll=N`` (2–60 s) for a screen that should refresh faster or slower; 10 s by default."""
    try:
        return min(max(int(request.query_params.get("poll", POLL_SECONDS)), 2), 60)
    except ValueError:
        return POLL_SECONDS


@router.get("/board")
def board_page(request: Request, user: User = Depends(current_user)):
    """The board, drawn at once from the current figures, then kept up to date by polling."""
    return render(request, "board.html", initial=cache_of(request).get(request), pools=POOLS, colours=COLOURS,
                  poll_seconds=poll_seconds(request))


@router.get("/api/board")
def board_api(request: Request, user: User = Depends(current_user)) -> JSONResponse:
    """The board's figures (``state``: ``ok``, or ``rebalancing`` with nothing else)."""
    doc = cache_of(request).get(request)
    return JSONResponse(doc, headers={"Cache-Control": "no-store"})
