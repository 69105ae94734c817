"""The board and the project pages in a real headless Chromium, on a topic of a real broker.

A small hand-made feed (tests/unit/test_serve_board_feed.py: projects in every pool and colour, trips, issues and
one rejected record) is ingested; the board served from `funnel replay` of that topic, and the board served from a
live worker, must show in the page the very figures of that replay's summary.json and tables; the live one must
change when one more signed project is ingested; the project page lists every record of its project with where it
came from, the rejected one included; nothing is fetched from outside the server.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest

from streams.core.clock import today_cst
from streams.serve.board.service import METRICS_ZH, POOLS
from streams.serve.figures import worst_first
from tests.browser import signed_in  # the fixtures serve_app, chromium, browser_page come from tests/conftest.py
from tests.unit.test_serve_board_feed import write_feed
from tests.unit.history import ev
from tests.workers import workers  # noqa: F401  (fixture)

YEAR = today_cst().year
#: Where the browser tests leave their screenshots: the README's are retaken with FUNNEL_SCREENSHOTS=docs (a test
#: run must not change the clone it runs in), else a temporary directory.
DOCS = Path(os.environ.get("FUNNEL_SCREENSHOTS") or tempfile.mkdtemp(prefix="board-screenshots-"))


def funnel(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "streams.cli", *args], capture_output=True, text=True, timeout=300,
                          env=env)
    assert done.returncode == 0, f"funnel {' '.join(args)}: {done.stderr}"
    return done


def this_years_targets(path: Path) -> Path:
    """The bureau's targets for this year: the 2024 ones (DOMAIN.md §1, §8) and 2023's flows, set for ``YEAR``."""
    from streams import config

    shipped = config.targets()
    path.write_text(json.dumps({str(YEAR): {**shipped["2023"], **shipped["2024"]}}), encoding="utf-8")
    return path


def replay(bootstrap: str, topic: str, out: Path, targets: Path) -> dict:
    """`funnel replay --topic` as of today into ``out`` with those targets; its summary.json."""
    funnel("replay", "--bootstrap-servers", bootstrap, "--topic", topic, "--out", str(out), "--no-check",
           env={**os.environ, "FUNNEL_TARGETS": str(targets)})
    return json.loads((out / "summary.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def fed(bootstrap, tmp_path_factory) -> dict:
    """A topic with the board's feed ingested (its 2024 moved to this year), and a replay of it."""
    import uuid

    from streams.kafkaio.topics import ensure_topics, event_topics

    topic = f"board-{uuid.uuid4().hex[:10]}"
    ensure_topics(bootstrap, event_topics(topic))
    work = tmp_path_factory.mktemp("board-feed")
    feed = write_feed(work / "board-feed.jsonl", year=YEAR)
    report = json.loads(funnel("ingest", "--bootstrap-servers", bootstrap, "--topic", topic, str(feed),
                               "--json").stdout)
    assert report["rejected"] == {"schema": 1}, report
    out, targets = work / "replay", this_years_targets(work / "targets.json")
    return {"topic": topic, "feed": feed, "replay": out, "summary": replay(bootstrap, topic, out, targets),
            "bootstrap": bootstrap, "work": work, "targets": targets,
            "args": ("--bootstrap-servers", bootstrap, "--topic", topic, "--targets", str(targets))}


def figure(page, key: str) -> str:
    """The raw value board.js put on a figure (``data-value``)."""
    return page.locator(f'[data-figure="{key}"]').first.get_attribute("data-value")


def wait_drawn(page) -> None:
    page.wait_for_function("() => document.querySelector('[data-figure=\"as_of\"]').dataset.value !== undefined")


def assert_board_shows(page, doc: dict) -> None:
    """Every headline figure in the DOM equals the summary's."""
    year = str(YEAR)
    assert figure(page, "as_of") == doc["as_of"]
    assert int(figure(page, "projects_total")) == doc["projects"]["total"]
    for pool in POOLS:
        assert int(figure(page, f"pools.{pool}.count")) == doc["pools"][pool]["count"], pool
        yuan = doc["pools"][pool]["investment_yuan"]
        assert float(figure(page, f"pools.{pool}.investment_yi")) == round(yuan / 1e8, 2), pool
    for colour in ("red", "yellow", "blue", "green"):
        assert int(figure(page, f"colours.{colour}")) == doc["supervision"][colour], colour
    trips = doc["trips"].get(year, {})
    for key in ("leader_led", "team", "projects_signed", "valid_leads", "companies_visited"):
        assert int(figure(page, f"trips.{key}")) == trips.get(key, 0), key
    b = doc["bottlenecks"]
    assert int(figure(page, "bottlenecks.open")) == b["open"]
    assert int(figure(page, "bottlenecks.overdue")) == b["overdue"]
    assert int(figure(page, "bottlenecks.resolved")) == b["resolved"].get(year, 0)
    assert int(figure(page, "bottlenecks.projects_cleared")) == b["projects_cleared"].get(year, 0)


def assert_targets_shown(page, targets: pl.DataFrame) -> None:
    """The targets table shows every metric of the replay's targets table of this year, each with its actual (in
    亿元 for the money targets: 签约额, 主导产业签约额, 新开工投资, 小分队签约额), none unknown."""
    mine = targets.filter(pl.col("year") == YEAR)
    rows = page.locator("#targets-table tbody tr")
    assert rows.count() == mine.height > 0
    money = set()
    for i, expected in enumerate(mine.iter_rows(named=True)):
        label, unit = METRICS_ZH[expected["metric"]]
        cells = rows.nth(i).locator("td").all_inner_texts()
        assert cells[0] == label and cells[1] != "—", cells
        value = float(cells[1].split()[0].replace(",", ""))
        assert value == (round(expected["actual"] / 1e8, 2) if unit == "亿元" else expected["actual"]), cells
        money |= {expected["metric"]} if unit == "亿元" else set()
    assert {"signed_yuan", "signed_lead_yuan", "started_yuan", "team_signed_yuan"} <= money


def offline(page) -> list[str]:
    """Abort every request that would leave the server (the network is cut); the list of those attempted."""
    attempted: list[str] = []

    def route(r):
        if r.request.url.startswith("http://127.0.0.1"):
            r.continue_()
        else:
            attempted.append(r.request.url)
            r.abort()

    page.context.route("**/*", route)
    return attempted


def test_the_archived_board_equals_the_replay_offline(fed, serve_app, browser_page):
    page = browser_page
    attempted = offline(page)
    server = serve_app(source=fed["replay"], args=fed["args"])
    signed_in(page, server, server.make_user("viewer"), "/board")
    page.goto(f"{server.url}/board")
    wait_drawn(page)
    doc = fed["summary"]
    assert_board_shows(page, doc)
    assert page.locator("#chart-targets canvas").count() >= 1, "ECharts drew the targets"
    assert page.locator("#chart-trend canvas").count() >= 1

    # the red list: each red project of the replay's state table, with leader and department
    state = pl.read_parquet(fed["replay"] / "project_state.parquet")
    reds = state.filter(pl.col("colour") == "red")
    rows = page.locator("#red-list tbody tr")
    assert {rows.nth(i).get_attribute("data-project-id") for i in range(rows.count())} == set(reds["project_id"])
    bd3 = page.locator('#red-list tr[data-project-id="BD-003"] td')
    assert [bd3.nth(i).inner_text() for i in (1, 2)] == ["县处级领导丙", "区文广旅局"]

    # the month's ranking with its 红黑榜: the replay's rankings table
    month = f"{doc['as_of'][:7]}"
    ranked = pl.read_parquet(fed["replay"] / "rankings.parquet").filter(
        (pl.col("period") == month) & (pl.col("dimension") == "department"))
    units = page.locator("#ranking-table tbody tr")
    assert sorted(units.nth(i).get_attribute("data-unit") for i in range(units.count())) == \
        sorted(ranked["unit"].to_list())
    assert page.locator("#red-board li a").all_inner_texts() == \
        ranked.filter(pl.col("board") == "top").sort("rank", "unit")["unit"].to_list()

    # the targets table: the replay's targets of this year
    targets = pl.read_parquet(fed["replay"] / "targets.parquet").filter(pl.col("year") == YEAR)
    assert page.locator("#targets-table tbody tr").count() == targets.height > 0
    shown = page.locator("#targets-table tbody tr").first.locator("td").all_inner_texts()
    first = targets.row(0, named=True)
    assert shown[1].split()[0].replace(",", "") == f"{first['actual']:.0f}"

    DOCS.mkdir(exist_ok=True)
    page.set_viewport_size({"width": 1920, "height": 1080})
    page.wait_for_timeout(500)
    page.screenshot(path=str(DOCS / "board-1920x1080.png"))
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_timeout(500)
    page.screenshot(path=str(DOCS / "board-phone.png"), full_page=True)

    # every figure links to the projects behind it
    page.set_viewport_size({"width": 1366, "height": 900})
    page.click('a[data-pool="signed"]')
    page.wait_for_url("**/projects?pool=signed")
    listed = page.locator("#projects tbody tr")
    assert int(page.locator("#project-count").inner_text()) == doc["pools"]["signed"]["count"] == listed.count()
    assert {listed.nth(i).get_attribute("data-project-id") for i in range(listed.count())} == \
        set(state.filter(pl.col("pool") == "signed")["project_id"])
    assert attempted == [] and page.external_requests == []


def test_the_project_page_lists_every_record_with_its_origin_the_rejected_one_included(fed, serve_app,
                                                                                        browser_page):
    page = browser_page
    attempted = offline(page)
    server = serve_app(source=fed["replay"], args=fed["args"])
    signed_in(page, server, server.make_user("bureau"), "/board")
    page.goto(f"{server.url}/board")
    wait_drawn(page)
    page.click('#red-list tr[data-project-id="BD-003"] a')
    page.wait_for_url("**/projects/BD-003")
    assert page.locator("#project-colour").inner_text() == "红"
    assert "Q1" in page.locator("#project-issues").inner_text()  # its open issue

    lines = fed["feed"].read_text(encoding="utf-8").splitlines()
    mine = [n for n, line in enumerate(lines, start=1) if '"BD-003"' in line]
    rows = page.locator("#history tbody tr")
    assert rows.count() == len(mine) == 4  # planned, plan, issue raised and the rejected one
    origins = sorted(rows.nth(i).locator("td.origin").inner_text() for i in range(rows.count()))
    assert origins == sorted(f"{fed['feed']}:{n}" for n in mine)
    rejected = page.locator('#history tr[data-outcome="schema"]')
    assert rejected.count() == 1
    assert rejected.locator("td.origin").inner_text() == f"{fed['feed']}:{len(lines)}"
    assert rejected.locator("td.position").inner_text().startswith(f"{fed['topic']}.dlq:")
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(DOCS / "board-project-phone.png"), full_page=True)
    accepted = page.locator('#history tr[data-outcome="accepted"] td.position').all_inner_texts()
    assert len(accepted) == 3 and all(p.startswith(f"{fed['topic']}:") for p in accepted)
    assert attempted == [] and page.external_requests == []


def test_the_live_board_equals_the_replay_and_changes_when_events_arrive(fed, serve_app, browser_page, workers,
                                                                          tmp_path):
    bootstrap, topic = fed["bootstrap"], fed["topic"]
    received = fed["summary"]["accounting"]["received"]
    worker = workers(bootstrap, topic, env={"FUNNEL_TARGETS": str(fed["targets"])})  # the replay's targets
    worker.wait_for("/summary", lambda d: d["accounting"]["received"] == received)
    page = browser_page
    attempted = offline(page)
    server = serve_app(worker_url=f"http://127.0.0.1:{worker.port}",
                       args=fed["args"])
    signed_in(page, server, server.make_user("viewer"), "/board?poll=2")
    page.goto(f"{server.url}/board?poll=2")
    wait_drawn(page)
    assert_board_shows(page, replay(bootstrap, topic, tmp_path / "before", fed["targets"]))
    assert_targets_shown(page, pl.read_parquet(tmp_path / "before" / "targets.parquet"))
    reds = pl.read_parquet(tmp_path / "before" / "project_state.parquet").filter(pl.col("colour") == "red")
    rows = page.locator("#red-list tbody tr")  # the workers' /project-list, worst first
    expected = sorted(reds.select("project_id", "days_late").to_dicts(), key=worst_first)
    assert [rows.nth(i).get_attribute("data-project-id") for i in range(rows.count())] == \
        [r["project_id"] for r in expected]
    assert "BD-003" in set(reds["project_id"])  # overdue by more than 90 days all year
    trend = pl.read_parquet(tmp_path / "before" / "pools_over_time.parquet")  # the workers' /pools-over-time
    live = page.evaluate("() => echarts.getInstanceByDom(document.getElementById('chart-trend')).getOption()")
    months = sorted(trend["month"].unique())[-24:]
    assert live["xAxis"][0]["data"] == months
    for series in live["series"]:
        pool = next(p for p, label in POOLS.items() if label == series["name"])
        by_month = dict(trend.filter(pl.col("pool") == pool).select("month", "count").iter_rows())
        assert series["data"] == [by_month.get(m, 0) for m in months], pool
    signed_before = int(figure(page, "pools.signed.count"))
    page.click('#red-list tr[data-project-id="BD-003"] a')  # the project as the workers hold it, and its log
    page.wait_for_url("**/projects/BD-003")
    assert page.locator("#project-colour").inner_text() == "红"
    assert "Q1" in page.locator("#project-issues").inner_text()
    assert page.locator("#history tbody tr").count() == 4
    page.goto(f"{server.url}/board?poll=2")
    wait_drawn(page)

    more = tmp_path / "more.jsonl"
    day = (today_cst() - timedelta(days=1)).isoformat()
    events = [ev("BD-100", "planned", day, name="新签约项目", department="区商务局", leader="县处级领导甲",
                 investment_yuan=700_000_000),
              ev("BD-100", "signed", day, investment_yuan=900_000_000)]
    more.write_text("\n".join(json.dumps(e, ensure_ascii=False) for e in events) + "\n", encoding="utf-8")
    funnel("ingest", "--bootstrap-servers", bootstrap, "--topic", topic, str(more))
    page.wait_for_function(
        f"() => document.querySelector('[data-figure=\"pools.signed.count\"]').dataset.value === '{signed_before + 1}'",
        timeout=60_000)
    after = replay(bootstrap, topic, tmp_path / "after", fed["targets"])
    assert_board_shows(page, after)
    assert_targets_shown(page, pl.read_parquet(tmp_path / "after" / "targets.parquet"))
    page.click('a[data-pool="signed"]')  # the live list behind the figure: the new project is in it
    page.wait_for_url("**/projects?pool=signed")
    listed = page.locator("#projects tbody tr")
    assert listed.count() == after["pools"]["signed"]["count"] == signed_before + 1
    assert page.locator('#projects tr[data-project-id="BD-100"]').count() == 1
    assert attempted == [] and page.external_requests == []


def test_no_board_project_or_figure_without_a_session(fed, serve_app):
    import urllib.error
    import urllib.request

    server = serve_app(source=fed["replay"], args=fed["args"])

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    for path, status in (("/api/board", 401), ("/board", 303), ("/projects?pool=signed", 303),
                         ("/projects/BD-003", 303)):
        with pytest.raises(urllib.error.HTTPError) as refused:
            opener.open(server.url + path, timeout=10)
        assert refused.value.code == status, path
        if status == 303:
            assert refused.value.headers["Location"].startswith("/login?next="), path
        assert "BD-003" not in refused.value.read().decode("utf-8", "replace")


def test_while_the_workers_rebalance_the_board_says_so_and_shows_no_figure(serve_app, browser_page):
    import threading
    from http.server import HTTPServer

    from tests.unit.test_serve_board import Answers503

    worker = HTTPServer(("127.0.0.1", 0), Answers503)
    threading.Thread(target=worker.serve_forever, daemon=True).start()
    try:
        server = serve_app(worker_url=f"http://127.0.0.1:{worker.server_port}")
        page = browser_page
        signed_in(page, server, server.make_user("viewer"), "/board")
        page.goto(f"{server.url}/board")
        status = page.locator("#board-status")
        status.wait_for(state="visible")
        assert status.inner_text() == "正在重新平衡，稍后刷新"
        assert figure(page, "pools.signed.count") is None  # nothing drawn: no partial figure
        assert page.locator('[data-figure="pools.signed.count"]').inner_text() == "—"
    finally:
        worker.shutdown()
