"""Data Docs render offline (the bureau's intranet): every script, stylesheet and image comes from the site."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from streams import synthetic
from tests.integration.test_ingest import funnel

pytestmark = pytest.mark.integration

REPO_GX = Path(__file__).resolve().parents[2] / "expectations" / "gx"
SUITES = ["aggregates.totals", "aggregates.project_state", "aggregates.flows", "aggregates.cohorts",
          "aggregates.conversions", "aggregates.trips", "aggregates.trip_references", "aggregates.issues",
          "aggregates.resolutions", "aggregates.reconciliation"]


@pytest.fixture(scope="module")
def replay_out(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("docs")
    synthetic.generate_file(tmp / "seed.jsonl", projects=100, seed=1)
    funnel("replay", "--from-file", str(tmp / "seed.jsonl"), "--as-of", "2024-12-31", "--out", str(tmp / "out"),
           bootstrap="unused:1")
    return tmp / "out"


def assert_offline(site: Path) -> None:
    """No page loads anything from the network, and everything it loads is in the site."""
    pages = sorted(site.rglob("*.html"))
    assert len(pages) >= 1 + len(SUITES) * 2, pages  # the index, each suite, each validation
    for page in pages:
        for tag in re.findall(r"<(?:script|link|img)\b[^>]*>", page.read_text(encoding="utf-8")):
            for url in re.findall(r"""\b(?:src|href)\s*=\s*["']([^"']*)["']""", tag):
                assert not re.match(r"(https?:)?//", url), f"{page.relative_to(site)} loads {url}"
                assert (page.parent / url).resolve().is_file(), f"{page.relative_to(site)}: {url} is missing"
                assert (page.parent / url).resolve().is_relative_to(site.resolve())


def rendered_index(site: Path, tmp_path: Path) -> str:
    """The index's DOM after its scripts ran in headless Chromium with every network request refused."""
    done = subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                           "--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
                           "--disable-background-networking", "--disable-component-update", "--disable-sync",
                           f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=5000", "--dump-dom",
                           (site / "index.html").as_uri()], capture_output=True, text=True, timeout=120, check=True)
    return done.stdout


def assert_lists_every_suite(dom: str) -> None:
    rows = re.findall(r"<tr[^>]*data-index=\"\d+\"[^>]*>(.*?)</tr>", dom, re.DOTALL)
    assert len(rows) >= 2 * len(SUITES), "the suite and validation tables are empty: their scripts did not run"
    # each aggregate suite: a row of the validations table and one of the suites table
    for suite in SUITES:
        assert sum(bool(re.search(rf">\s*{re.escape(suite)}\s*<", row)) for row in rows) >= 2, suite


def test_funnel_check_docs_renders_offline(replay_out, tmp_path):
    """Any project, here a new one: `funnel check --docs` makes the site it built offline."""
    index = Path(funnel("check", "--docs", str(replay_out), "--project-dir", str(tmp_path / "gxp"),
                        bootstrap="unused:1").stdout.strip())
    assert index.name == "index.html"
    assert_offline(index.parent)
    assert_lists_every_suite(rendered_index(index.parent, tmp_path))


def test_the_repository_projects_site_builder_renders_offline(replay_out, tmp_path):
    """The repository's GX configuration alone (its site builder), when GX builds the docs itself."""
    project = tmp_path / "gxp"
    (project / "gx").mkdir(parents=True)
    shutil.copy(REPO_GX / "great_expectations.yml", project / "gx")
    shutil.copytree(REPO_GX / "plugins", project / "gx" / "plugins",
                    ignore=shutil.ignore_patterns("__pycache__"))
    code = ("import sys; from pathlib import Path; from streams.quality import gate; "
            "print(gate.build_docs([Path(sys.argv[1])], Path(sys.argv[2])))")
    done = subprocess.run([sys.executable, "-c", code, str(replay_out), str(project)], capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    index = Path(done.stdout.strip().splitlines()[-1])
    assert_offline(index.parent)
    assert_lists_every_suite(rendered_index(index.parent, tmp_path))
