"""The board's vendored front-end files: checksums as recorded, and no page or static file naming an external URL."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

SERVE = Path(__file__).resolve().parents[2] / "streams" / "serve"
STATIC = SERVE / "static"
VENDOR = STATIC / "vendor"
URL = re.compile(r"https?://[^\s\"'()<>]+")
#: URLs a file may name without anything being fetched: XML namespaces (SVG rendering) and licence references
NOT_FETCHED = {
    "http://www.w3.org/1999/xlink", "http://www.w3.org/2000/svg", "http://www.w3.org/2000/xmlns/",
    "http://www.w3.org/XML/1998/namespace", "http://www.apache.org/licenses/LICENSE-2.0",
    "https://github.com/ecomfe/zrender/blob/master/LICENSE",
}
LICENCE_TEXTS = {"LICENSE", "NOTICE"}


def recorded_sums() -> dict[str, str]:
    """vendor.sha256: ``<sha256>  <path under vendor/>`` per line."""
    lines = (STATIC / "vendor.sha256").read_text().splitlines()
    return {path: digest for digest, path in (line.split(maxsplit=1) for line in lines if line.strip())}


def test_every_vendored_file_matches_its_recorded_checksum():
    sums = recorded_sums()
    assert "echarts@6.1.0/dist/echarts.min.js" in sums
    for path, digest in sums.items():
        assert hashlib.sha256((VENDOR / path).read_bytes()).hexdigest() == digest, path
    on_disk = {p.relative_to(VENDOR).as_posix() for p in VENDOR.rglob("*") if p.is_file()}
    assert on_disk == set(sums), "every vendored file has a checksum line, and every line a file"


def test_echarts_is_the_npm_release_with_its_licence():
    head = (VENDOR / "echarts@6.1.0" / "dist" / "echarts.min.js").read_text(encoding="utf-8")[:2000]
    assert "Apache" in head
    assert "Apache License" in (VENDOR / "echarts@6.1.0" / "LICENSE").read_text()
    assert "Apache ECharts" in (VENDOR / "echarts@6.1.0" / "NOTICE").read_text()


def external_urls(path: Path) -> set[str]:
    """The http(s) URLs a file names, but those that fetch nothing."""
    text = path.read_text(encoding="utf-8", errors="replace")
    return {u.rstrip(".,;") for u in URL.findall(text)} - NOT_FETCHED


def test_no_template_or_static_file_names_an_external_url():
    files = [p for p in (*STATIC.rglob("*"), *(SERVE / "templates").rglob("*"))
             if p.is_file() and p.name not in LICENCE_TEXTS and p.suffix in {".html", ".js", ".css", ".json", ""}]
    assert any(p.name == "echarts.min.js" for p in files)
    offenders = {p.relative_to(SERVE).as_posix(): sorted(external_urls(p)) for p in files if external_urls(p)}
    assert offenders == {}


def test_the_url_check_finds_an_external_url(tmp_path):
    page = tmp_path / "page.html"
    page.write_text('<script src="https://cdn.jsdelivr.net/npm/echarts@6.1.0"></script>'
                    '<svg xmlns="http://www.w3.org/2000/svg"></svg>')
    assert external_urls(page) == {"https://cdn.jsdelivr.net/npm/echarts@6.1.0"}
