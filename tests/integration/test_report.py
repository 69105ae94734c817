"""Every notebook runs top to bottom on the generated data set; the report renders its charts."""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from streams import synthetic
from streams.report import notebooks
from tests.integration.test_ingest import funnel

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report")
    feed = tmp / "seed.jsonl"
    synthetic.generate_file(feed, projects=600, seed=2023)
    data = tmp / "data"
    funnel("replay", "--from-file", str(feed), "--as-of", "2024-12-31", "--out", str(data), bootstrap="unused:1")
    out = tmp / "report"
    index = funnel("report", "--out", str(out), "--source", str(data), bootstrap="unused:1", timeout=900).stdout
    return out, json.loads((data / "summary.json").read_text()), index.strip()


def test_every_notebook_becomes_a_page_with_charts_and_no_error(report):
    out, _, index = report
    assert index == str(out / "index.html")
    for nb in notebooks():
        page = (out / f"{nb.stem}.html").read_text(encoding="utf-8")
        assert page.count("data:image/png;base64,") >= 1, nb.stem
        assert "Traceback" not in page and 'data-mime-type="application/vnd.jupyter.stderr"' not in page, nb.stem
    assert len(notebooks()) == 4


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


def test_a_headless_chromium_screenshot_shows_the_charts(report, tmp_path):
    from PIL import Image

    out, _, _ = report
    shot = tmp_path / "page.png"
    subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1280,2400", "--hide-scrollbars",
                    f"--screenshot={shot}", (out / "02_conversion.html").as_uri()],
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
    NotebookClient(nb, timeout=300, kernel_name="python3").execute()
    mimes = {m for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) for m in o.get("data", {})}
    assert "application/vnd.jupyter.widget-view+json" in mimes
