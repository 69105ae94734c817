"""The ledger desk in a real headless Chromium, against `funnel serve` and a real broker: a department downloads
its month's ledger, edits it (openpyxl), uploads it, sees the preview (the accounting, a ``ledger_not_yours``
row, the events), confirms once, and the events are in `funnel replay` of the topic and carry who submitted them;
a viewer cannot reach the desk."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from tests.browser import signed_in  # the fixtures serve_app, chromium, browser_page come from tests/conftest.py
from tests.unit.history import ev

COMMERCE, REFORM = "区商务局", "区发改委"
MONTH = "2024-03"
HISTORY = [
    ev("DA", "planned", "2024-01-10", department=COMMERCE, leader="甲", investment_yuan=5_000_000),
    ev("DA", "negotiating", "2024-02-01"),
    ev("DB", "planned", "2023-06-01", department=REFORM, leader="乙", investment_yuan=9_000_000),
    ev("DB", "signed", "2023-09-01"),
]


@pytest.fixture(scope="module")
def desk_topic(bootstrap) -> str:
    """A topic of its own for this module's server, holding HISTORY (sent by `funnel ingest`)."""
    from streams.kafkaio.topics import ensure_topics, event_topics

    name = f"desk-{uuid.uuid4().hex[:10]}"
    ensure_topics(bootstrap, event_topics(name))
    return name


@pytest.fixture(scope="module")
def server(serve_app, bootstrap, desk_topic, tmp_path_factory):
    feed = tmp_path_factory.mktemp("feed") / "history.jsonl"
    feed.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in HISTORY), encoding="utf-8")
    funnel("ingest", str(feed), "--topic", desk_topic, bootstrap=bootstrap)
    return serve_app(args=("--bootstrap-servers", bootstrap, "--topic", desk_topic))


def funnel(*args: str, bootstrap: str) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "streams.cli", *args, "--bootstrap-servers", bootstrap],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done


def topic_events(bootstrap: str, topic: str) -> list[dict]:
    """Every committed record of the topic, as sent (read_committed)."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, isolation_level="read_committed",
                             enable_auto_commit=False, consumer_timeout_ms=3000)
    parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
    consumer.assign(parts)
    consumer.seek_to_beginning(*parts)
    out = [json.loads(r.value) for r in consumer]
    consumer.close()
    return out


def replayed(bootstrap: str, topic: str, out: Path) -> pl.DataFrame:
    funnel("replay", "--topic", topic, "--as-of", "2024-12-31", "--out", str(out), "--no-check", bootstrap=bootstrap)
    return pl.read_parquet(out / "project_state.parquet")


def download(page, month: str, to: Path) -> Path:
    page.fill("#download-form input[name=month]", month)
    with page.expect_download() as info:
        page.click("#download-form button[type=submit]")
    info.value.save_as(to)
    return to


def ids_and_edit(path: Path, stages: dict[str, str], rows: list[dict]) -> tuple[list[str], list[int]]:
    """The 台账 sheet's project ids; then set some 项目阶段 cells and append rows, saved as Excel would (and the
    appended rows' numbers)."""
    book = openpyxl.load_workbook(path)
    sheet = book["台账"]
    all_rows = list(sheet.iter_rows())
    at = next(i for i, r in enumerate(all_rows) if any(c.value == "项目编号" for c in r))
    header = [c.value for c in all_rows[at]]
    ids = []
    for r in all_rows[at + 1:]:
        pid = r[header.index("项目编号")].value
        if pid:
            ids.append(pid)
        if pid in stages:
            r[header.index("项目阶段")].value = stages[pid]
    appended = []
    for extra in rows:
        sheet.append([extra.get(h) for h in header])
        appended.append(sheet.max_row)
    book.save(path)
    return ids, appended


def upload(page, month: str, path: Path) -> None:
    page.goto(page.url.split("/desk")[0] + "/desk")
    page.fill("#upload-form input[name=month]", month)
    page.set_input_files("#upload-form input[name=file]", str(path))
    page.click("#upload-form button[type=submit]")
    page.wait_for_load_state()


def test_a_department_hands_in_its_ledger_and_only_its_own_rows_are_sent(server, bootstrap, desk_topic,
                                                                         browser_page, tmp_path):
    page = browser_page
    clerk = server.make_user("department", COMMERCE, display_name="张三")
    signed_in(page, server, clerk, "/desk")
    ledger = download(page, MONTH, tmp_path / "ledger.xlsx")
    ids, appended = ids_and_edit(ledger, {"DA": "签约"}, [
        {"项目编号": "DB", "项目阶段": "开工"},  # the reform commission's project
        {"项目编号": "DN", "项目名称": "新项目", "所属行业": "电子信息", "项目阶段": "谋划"}])
    assert ids == ["DA"]  # the download holds the department's own projects only
    before = {e["event_id"] for e in topic_events(bootstrap, desk_topic)}

    upload(page, MONTH, ledger)
    page.wait_for_url("**/desk/upload/*")
    projects = page.locator("#accounting tr[data-sheet=projects] td")
    assert projects.all_inner_texts()[1:6] == ["3", "0", "1", "1", "1"]  # rows, unchanged, changed, new, rejected
    refused = page.locator("#rejected tr[data-reason=ledger_not_yours]")
    assert refused.count() == 1
    assert refused.locator("td").all_inner_texts()[:3] == ["台账", str(appended[0]), "DB"]
    events = {tuple(r.locator("td").all_inner_texts()[:2]) for r in page.locator("#events tbody tr").all()}
    assert events == {("contract_signed", "DA"), ("project_planned", "DN")}
    assert {e["event_id"] for e in topic_events(bootstrap, desk_topic)} == before  # nothing sent before confirming

    preview_url = page.url
    csrf = page.locator("meta[name=csrf-token]").get_attribute("content")
    page.click("#confirm-form button[type=submit]")
    page.wait_for_selector("#desk-result")
    assert "已确认" in page.inner_text("#desk-result")
    again = page.request.post(preview_url.replace("/upload/", "/confirm/"), form={"csrf_token": csrf})
    assert again.ok  # a second confirmation answers with the same result ...
    sent = [e for e in topic_events(bootstrap, desk_topic) if e["event_id"] not in before]
    assert sorted((e["event_type"], e["project_id"]) for e in sent) == \
        [("contract_signed", "DA"), ("project_planned", "DN")]  # ... and sends nothing again
    assert {e.get("submitted_by") for e in sent} == {clerk.username}
    assert page.external_requests == []

    state = replayed(bootstrap, desk_topic, tmp_path / "replay")
    stage = dict(state.select("project_id", "stage").iter_rows())
    assert (stage["DA"], stage["DN"], stage["DB"]) == (3, 1, 3)  # DB not started: its row was refused
    assert state.filter(pl.col("project_id") == "DN")["department"].cast(str).to_list() == [COMMERCE]
    dead = pl.read_parquet(tmp_path / "replay" / "rejections.parquet")
    assert dead.filter(pl.col("outcome") == "ledger_not_yours")["project_id"].to_list() == ["DB"]

    audit = json.loads(server.funnel("users", "audit", "--json", "--user", clerk.username).stdout)
    actions = [a["action"] for a in (audit if isinstance(audit, list) else audit["entries"])]
    assert actions.count("upload") == 1 and actions.count("confirm") == 1


def test_the_other_department_is_refused_the_first_ones_rows_and_the_bureau_downloads_all(server, browser_page,
                                                                                          tmp_path):
    page = browser_page
    reform = server.make_user("department", REFORM)
    signed_in(page, server, reform, "/desk")
    ledger = download(page, MONTH, tmp_path / "reform.xlsx")
    assert ids_and_edit(ledger, {}, [{"项目编号": "DA", "项目阶段": "开工"}])[0] == ["DB"]
    upload(page, MONTH, ledger)
    page.wait_for_url("**/desk/upload/*")
    refused = page.locator("#rejected tr[data-reason=ledger_not_yours] td").all_inner_texts()
    assert refused[2] == "DA" and COMMERCE in refused[4]
    for width, height in ((390, 844), (1920, 1080)):  # a phone and the meeting room's screen: no page overflow
        page.set_viewport_size({"width": width, "height": height})
        for path in (page.url, f"{server.url}/desk"):
            page.goto(path)
            assert page.evaluate("document.documentElement.scrollWidth") <= width, (width, path)

    bureau = server.make_user("bureau")
    page.context.clear_cookies()
    signed_in(page, server, bureau, "/desk")
    everything = download(page, MONTH, tmp_path / "all.xlsx")
    assert {"DA", "DB"} <= set(ids_and_edit(everything, {}, [])[0])


def test_a_viewer_cannot_reach_the_desk(server, browser_page):
    page = browser_page
    viewer = server.make_user("viewer")
    signed_in(page, server, viewer, "/")
    response = page.goto(f"{server.url}/desk")
    assert response.status == 403
    assert page.locator("nav a", has_text="台账填报").count() == 0
    assert page.request.get(f"{server.url}/desk/ledger?month={MONTH}").status == 403
