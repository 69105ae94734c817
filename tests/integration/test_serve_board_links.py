"""Every trip and bottleneck figure of the board links to the projects behind it (real Chromium, the board's
feed ingested on a real broker, served from `funnel replay` of it): click the figure, the list names the
projects the hand-made feed put behind it, and as many as the figure counts where it counts projects."""

from __future__ import annotations

import pytest

from tests.browser import signed_in  # the fixtures serve_app, chromium, browser_page come from tests/conftest.py
from tests.integration.test_serve_board import YEAR, fed, figure, wait_drawn  # noqa: F401  (fixture)
from tests.workers import workers  # noqa: F401  (fixture)

#: figure → (the link's query, the projects of the feed behind it, whether the figure counts those projects)
LINKS = {
    "trips.team": (f"from_trip=team&planned={YEAR}", {"BD-001", "BD-002"}, False),  # TRIP-B1 found both
    "trips.leader_led": (f"from_trip=leader_led&planned={YEAR}", set(), False),  # TRIP-B2 found none
    "trips.projects_signed": (f"from_trip=any&signed={YEAR}", {"BD-001", "BD-002"}, True),
    "bottlenecks.open": ("issues=open", {"BD-001", "BD-003"}, True),  # one open issue each
    "bottlenecks.overdue": ("issues=overdue", {"BD-003"}, True),  # Q1 due mid-year; Q3 due next year
    "bottlenecks.projects_cleared": (f"cleared={YEAR}", {"BD-002"}, True),  # Q2 resolved in July
}


def listed(page) -> tuple[int, set[str]]:
    rows = page.locator("#projects tbody tr")
    return int(page.locator("#project-count").inner_text()), {
        rows.nth(i).get_attribute("data-project-id") for i in range(rows.count())}


@pytest.mark.parametrize("key", list(LINKS))
def test_a_trip_or_bottleneck_figure_links_to_its_projects(fed, serve_app, browser_page, key):
    page = browser_page
    server = serve_app(source=fed["replay"], args=fed["args"])
    signed_in(page, server, server.make_user("viewer"), "/board")
    page.goto(f"{server.url}/board")
    wait_drawn(page)
    query, expected, counts_projects = LINKS[key]
    shown = int(figure(page, key))
    page.locator(f'a.figure-link:has([data-figure="{key}"])').click()
    page.wait_for_url(f"**/projects?{query}")
    count, ids = listed(page)
    assert ids == expected and count == len(expected)
    if counts_projects:
        assert count == shown, f"{key}: the board shows {shown}, the list has {count}"
    assert page.external_requests == []


def test_from_live_workers_every_trip_and_bottleneck_figure_links_to_its_projects(fed, serve_app, browser_page, workers):
    received = fed["summary"]["accounting"]["received"]
    worker = workers(fed["bootstrap"], fed["topic"], env={"FUNNEL_TARGETS": str(fed["targets"])})
    worker.wait_for("/summary", lambda d: d["accounting"]["received"] == received)
    page = browser_page
    server = serve_app(worker_url=f"http://127.0.0.1:{worker.port}", args=fed["args"])
    signed_in(page, server, server.make_user("viewer"), "/board")
    for key, (query, expected, counts_projects) in LINKS.items():
        page.goto(f"{server.url}/board")
        wait_drawn(page)
        shown = int(figure(page, key))
        page.locator(f'a.figure-link:has([data-figure="{key}"])').click()
        page.wait_for_url(f"**/projects?{query}")
        count, ids = listed(page)
        assert ids == expected and count == len(expected), key
        assert count == shown or not counts_projects, key


def test_an_unknown_filter_is_refused(fed, serve_app, browser_page):
    page = browser_page
    server = serve_app(source=fed["replay"], args=fed["args"])
    signed_in(page, server, server.make_user("viewer"), "/projects?issues=late")
    assert "筛选条件无效" in page.content()
