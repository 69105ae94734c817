"""Every notebook runs top to bottom on the generated data set; the report renders its charts."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from streams import synthetic
from streams.documents.report import kernel_name, notebooks
from tests.integration.test_ingest import funnel

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def report_run(tmp_path_factory):
    """``funnel report`` on the replay of the generated data set: (its output dir, the data dir, the process)."""
    tmp = tmp_path_factory.mktemp("report")
    feed = tmp / "seed.jsonl"
    synthetic.generate_file(feed, projects=600, seed=2023)
    data = tmp / "data"
    funnel("replay", "--from-file", str(feed), "--as-of", "2024-12-31", "--out", str(data), bootstrap="unused:1")
    out = tmp / "report"
    done = funnel("report", "--out", str(out), "--source", str(data), bootstrap="unused:1", timeout=900)
    return out, data, done


@pytest.fixture(scope="module")
def report(report_run):
    out, data, done = report_run
    return out, json.loads((data / "summary.json").read_text()), done.stdout.strip()


def test_every_notebook_becomes_a_page_with_charts_and_no_error(report):
    out, _, index = report
    assert index == str(out / "index.html")
    for nb in notebooks():
        page = (out / f"{nb.stem}.html").read_text(encoding="utf-8")
        assert page.count("data:image/png;base64,") >= 1, nb.stem
        assert "Traceback" not in page and 'data-mime-type="application/vnd.jupyter.stderr"' not in page, nb.stem
    assert len(notebooks()) == 5


def test_a_report_prints_no_warnings(report_run):
    """Normal output is the index's path alone: no kernel warning ("Kernel is running over TCP without
    encryption": the kernel talks over Unix sockets), no nbconvert or GX notice below --loglevel."""
    stderr = report_run[2].stderr
    assert "without encryption" not in stderr
    assert not [line for line in stderr.splitlines() if "WARNING" in line or " INFO " in line], stderr


def test_the_report_shows_the_2023_figures(report):
    out, summary, _ = report
    index = (out / "index.html").read_text(encoding="utf-8")
    f = summary["flows"]["2023"]
    row = re.search(r"<tr><td>2023</td>(.*?)</tr>", index).group(1)
    assert re.findall(r"<td>([\d,]+)</td>", row)[:4] == [f"{f[s]:,}" for s in ("planned", "negotiating", "signed",
                                                                                "started")]
    conversion = (out / "02_conversion.html").read_text(encoding="utf-8")
    for stage, target in (("planned", 200), ("negotiating", 160), ("signed", 80), ("started", 60)):
        assert f'<td>"{stage}"</td><td>{f[stage]}</td><td>{target}</td>' in conversion


def test_the_officials_pages_hide_the_code_and_format_the_tables(report):
    import html

    import nbformat

    out, summary, _ = report
    index = (out / "index.html").read_text(encoding="utf-8")
    for nb in notebooks():
        page = (out / "official" / f"{nb.stem}.html").read_text(encoding="utf-8")
        assert f'href="official/{nb.stem}.html"' in index
        assert page.count("data:image/png;base64,") >= 1, nb.stem
        assert "hl-ipython3" not in page, nb.stem  # no highlighted code cell
        code = [line.strip() for cell in nbformat.read(nb, as_version=4).cells if cell.cell_type == "code"
                for line in cell.source.splitlines() if len(line.strip()) >= 12]
        assert code and not [line for line in code if html.escape(line, quote=False) in page], nb.stem
        assert 'class="dataframe"' not in page and "<td>&quot;" not in page and '<td>"' not in page, nb.stem
        assert "funnel-table" in page, nb.stem
    f = summary["flows"]["2023"]
    conversion = (out / "official" / "02_conversion.html").read_text(encoding="utf-8")
    for stage, label, target in (("planned", "谋划 planned", 200), ("negotiating", "洽谈 negotiating", 160),
                                 ("signed", "签约 signed", 80), ("started", "开工 started", 60)):
        row = (f'<td style="text-align:left">{label}</td><td style="text-align:right">{f[stage]:,}</td>'
               f'<td style="text-align:right">{target}</td><td style="text-align:right">'
               f'{f[stage] / target * 100:.1f} %</td>')
        assert row in conversion, row
    received = summary["accounting"]["received"]
    assert received >= 1000 and f'<td style="text-align:right">{received:,}</td>' in \
        (out / "official" / "04_data_quality.html").read_text(encoding="utf-8")


def test_the_officials_pages_show_the_bottlenecks_and_the_trip_targets(report):
    """Notebook 05's tables for officials carry the summary's issues and trips by year; notebook 03 shows the trip
    targets apart."""
    out, summary, _ = report
    page = (out / "official" / "05_bottlenecks.html").read_text(encoding="utf-8")
    for header in ("清障项目数 projects cleared", "牵头单位 lead department", "问题类别 category", "出访次数 trips",
                   "每次签约额 signed per trip 亿元"):
        assert header in page, header
    b = summary["bottlenecks"]
    for year, raised in b["raised"].items():
        row = (f'<td style="text-align:left">{year}</td><td style="text-align:right">{raised:,}</td>'
               f'<td style="text-align:right">{b["resolved"].get(year, 0):,}</td>'
               f'<td style="text-align:right">{b["projects_cleared"].get(year, 0):,}</td>')
        assert row in page, row
    for year, figures in summary["trips"].items():
        assert f'<td style="text-align:left">{year}</td><td style="text-align:right">{figures["leader_led"]:,}</td>' \
            in page, year
    targets = (out / "official" / "03_targets_2024.html").read_text(encoding="utf-8")
    assert "小分队外出招商 team trips" in targets and "党政主要领导带队外出 leader-led trips" in targets


@pytest.mark.parametrize("page", ["02_conversion.html", "official/02_conversion.html"])
def test_a_headless_chromium_screenshot_shows_the_charts(report, tmp_path, page):
    from PIL import Image

    out, _, _ = report
    shot = tmp_path / "page.png"
    subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1280,2400", "--hide-scrollbars",
                    f"--screenshot={shot}", (out / page).as_uri()],
                   check=True, capture_output=True, timeout=120)
    image = Image.open(shot).convert("RGB").resize((320, 600))
    raw = image.tobytes()
    pixels = [tuple(raw[i:i + 3]) for i in range(0, len(raw), 3)]
    coloured = sum(1 for r, g, b in pixels if max(r, g, b) - min(r, g, b) > 60)  # chart lines and bars, not text
    assert coloured > 0.01 * len(pixels), "no chart colours on the rendered page"


def test_in_jupyterlab_the_charts_are_interactive_widgets(report, monkeypatch):
    """Run as a person would in JupyterLab (no FUNNEL_REPORT): matplotlib draws ipympl widgets."""
    import nbformat
    from nbclient import NotebookClient

    out, _, _ = report
    monkeypatch.delenv("FUNNEL_REPORT", raising=False)
    monkeypatch.setenv("FUNNEL_SOURCE", str(out.parent / "data"))
    nb = nbformat.read(next(p for p in notebooks() if p.stem == "03_targets_2024"), as_version=4)
    NotebookClient(nb, timeout=300, kernel_name=kernel_name()).execute()
    mimes = {m for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) for m in o.get("data", {})}
    assert "application/vnd.jupyter.widget-view+json" in mimes


def report_of_topic(bootstrap: str, topic: str, out) -> subprocess.CompletedProcess:
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": bootstrap, "FUNNEL_TOPIC": topic}
    return subprocess.run([sys.executable, "-m", "streams.cli", "report", "--out", str(out), "--as-of", "2024-12-31"],
                          env=env, capture_output=True, text=True, timeout=300)


def test_an_empty_topic_gives_a_report_that_says_so(bootstrap, topic, tmp_path):
    out = tmp_path / "report"
    (out).mkdir()
    (out / "02_conversion.html").write_text("an earlier report's page")  # must not survive beside the new index
    done = report_of_topic(bootstrap, topic, out)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(out / "index.html")
    assert f"nothing to report: no project as of 2024-12-31 in topic {topic} (0 records received, 0 accepted)" \
        in done.stderr
    assert "Traceback" not in done.stderr and "KeyError" not in done.stderr
    index = (out / "index.html").read_text(encoding="utf-8")
    assert 'id="nothing-to-report"' in index and "0 records received, 0 accepted" in index
    assert sorted(p.name for p in out.glob("*.html")) == ["index.html"]


def test_a_topic_of_rejected_records_only_reports_their_accounting(bootstrap, topic, tmp_path):
    feed = tmp_path / "bad.jsonl"
    feed.write_text('not json\n{"event_type": "project_planned"}\n', encoding="utf-8")
    funnel("ingest", str(feed), "--topic", topic, bootstrap=bootstrap, check=False)
    out = tmp_path / "report"
    done = report_of_topic(bootstrap, topic, out)
    assert done.returncode == 0, done.stderr
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "2 records received, 0 accepted" in index
    assert "<td>rejected: malformed</td><td>1</td>" in index and "<td>rejected: schema</td><td>1</td>" in index
