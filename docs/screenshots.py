"""Retake the README's screenshots of `funnel serve` on the demo data (`make demo`'s feed and ledgers).

    .venv/bin/python docs/screenshots.py [--out docs] [--projects 600]

Starts a broker of its own (streams.kafkaio.local_broker, free ports, a temporary state directory), ingests
`funnel generate`'s feed and the 2024-12 ledgers of examples/ledgers on a topic of its own, replays it as of
2024-12-31 and serves it with `funnel serve`; then, in the system's headless Chromium: the board at 1920×1080
(docs/board-demo-1920x1080.png); a 区商务局 clerk downloads the month's ledger, edits a few cells (one project
advanced, one moved back, one stage unreadable, one row of another department's project, one row deleted),
uploads it and the preview is taken at laptop size (docs/desk-preview.png) and the desk on a phone
(docs/desk-phone.png). Nothing is confirmed: the topic is left as the demo made it.
"""

from __future__ import annotations

import argparse
import logging
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import openpyxl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.browser import CHROMIUM, Serve, signed_in  # noqa: E402
from tests.conftest import start_broker  # noqa: E402

log = logging.getLogger("screenshots")
DEPARTMENT, MONTH, AS_OF = "区商务局", "2024-12", "2024-12-31"
LAPTOP, PHONE, SCREEN = {"width": 1366, "height": 900}, {"width": 390, "height": 844}, {"width": 1920, "height": 1080}


def funnel(*args: str) -> str:
    """``funnel ARGS``; its standard output (a failure stops the script with its error)."""
    done = subprocess.run([sys.executable, "-m", "streams.cli", *args], capture_output=True, text=True, cwd=ROOT)
    if done.returncode:
        raise SystemExit(f"funnel {' '.join(args)}: {done.stderr}")
    return done.stdout


def demo_topic(bootstrap: str, work: Path, projects: int) -> tuple[str, Path]:
    """A topic holding the demo feed and the 2024-12 ledgers, and its replay as of 2024-12-31."""
    from streams.kafkaio.topics import ensure_topics, event_topics

    topic = f"demo-{uuid.uuid4().hex[:8]}"
    ensure_topics(bootstrap, event_topics(topic))
    kafka = ("--bootstrap-servers", bootstrap, "--topic", topic)
    funnel("generate", "--out", str(work / "seed.jsonl"), "--projects", str(projects))
    funnel("ingest", *kafka, str(work / "seed.jsonl"))
    for ledger in sorted((ROOT / "examples/ledgers" / MONTH).iterdir()):
        funnel("ledger", "import", *kafka, str(ledger), "--month", MONTH)
    funnel("replay", *kafka, "--as-of", AS_OF, "--out", str(work / "replay"), "--no-check")
    return topic, work / "replay"


def edit_ledger(path: Path, other: str) -> dict[str, str]:
    """A clerk's edits of the 台账 sheet, saved as Excel would: what was done to which project."""
    book = openpyxl.load_workbook(path)
    sheet = book["台账"]
    rows = list(sheet.iter_rows())
    at = next(i for i, r in enumerate(rows) if any(c.value == "项目编号" for c in r))
    header = [c.value for c in rows[at]]
    stage_at = header.index("项目阶段")
    ours = [r for r in rows[at + 1:] if r[header.index("项目编号")].value]
    by_stage = {}
    for r in ours:
        by_stage.setdefault(r[stage_at].value, []).append(r)
    done = {}
    advance = next(r for s, rs in by_stage.items() if s == "洽谈" for r in rs)
    advance[stage_at].value = "签约"
    done[advance[0].value] = "洽谈 → 签约"
    back = next(r for s, rs in by_stage.items() if s in ("开工", "签约") for r in rs if r is not advance)
    done[back[0].value] = f"{back[stage_at].value} → 洽谈"
    back[stage_at].value = "洽谈"
    unreadable = next(r for r in ours if r[0].value not in done)
    unreadable[stage_at].value = "筹备中"
    done[unreadable[0].value] = "阶段写成“筹备中”"
    gone = next(r for r in reversed(ours) if r[0].value not in done)
    done[gone[0].value] = "行被删除"
    sheet.delete_rows(gone[0].row)
    sheet.append([other if h == "项目编号" else ("开工" if h == "项目阶段" else None) for h in header])
    done[other] = "另一单位的项目"
    book.save(path)
    return done


def other_departments_project(replay: Path) -> str:
    """A project in the pools that another department is responsible for."""
    import polars as pl

    state = pl.read_parquet(replay / "project_state.parquet")
    return state.filter(pl.col("in_pools") & (pl.col("department").cast(pl.Utf8) != DEPARTMENT)
                        & (pl.col("stage") == 3)).sort("project_id")["project_id"][0]


def shoot(server: Serve, replay: Path, out: Path, work: Path) -> None:
    """The board, the desk's preview and the desk on a phone, into ``out``."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=["--no-sandbox", "--disable-dev-shm-usage"])
        context = browser.new_context(locale="zh-CN", viewport=SCREEN, accept_downloads=True)
        page = context.new_page()
        signed_in(page, server, server.make_user("viewer"), "/board")
        page.goto(f"{server.url}/board")
        page.wait_for_function("() => document.querySelector('[data-figure=\"as_of\"]').dataset.value")
        page.wait_for_timeout(1500)  # ECharts' animations
        page.screenshot(path=str(out / "board-demo-1920x1080.png"))

        context.clear_cookies()
        page.set_viewport_size(LAPTOP)
        signed_in(page, server, server.make_user("department", DEPARTMENT, display_name="张三"), "/desk")
        page.fill("#download-form input[name=month]", MONTH)
        with page.expect_download() as info:
            page.click("#download-form button[type=submit]")
        ledger = work / "ledger.xlsx"
        info.value.save_as(ledger)
        log.info("edits: %s", edit_ledger(ledger, other_departments_project(replay)))
        page.fill("#upload-form input[name=month]", MONTH)
        page.set_input_files("#upload-form input[name=file]", str(ledger))
        page.click("#upload-form button[type=submit]")
        page.wait_for_url("**/desk/upload/*")
        page.screenshot(path=str(out / "desk-preview.png"), full_page=True)
        page.set_viewport_size(PHONE)
        page.wait_for_timeout(300)
        page.screenshot(path=str(out / "desk-phone.png"), full_page=True)
        browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    parser.add_argument("--projects", type=int, default=600)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    logging.getLogger("kafka").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="screenshots-") as tmp:
        work = Path(tmp)
        broker = start_broker(work / "kafka")
        server = None
        try:
            topic, replay = demo_topic(broker.bootstrap, work, args.projects)
            server = Serve(work / "serve", replay, args=("--bootstrap-servers", broker.bootstrap, "--topic", topic)).start()
            args.out.mkdir(parents=True, exist_ok=True)
            shoot(server, replay, args.out, work)
            log.info("screenshots in %s", args.out)
        finally:
            if server:
                server.stop()
            broker.down()


if __name__ == "__main__":
    main()
