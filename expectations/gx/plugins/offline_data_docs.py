"""Data Docs that render offline: GX's pages load Bootstrap, jQuery, bootstrap-table, Font Awesome and
Vega from CDNs (and the logo from GX's S3 bucket), so on the bureau's offline intranet they render
unstyled, with empty suite lists. Here those files are vendored (``custom_data_docs/vendor/``, from
the npm registry, checked by SHA-256) and every built page is rewritten to load them from the site.

- ``OfflineSiteBuilder``: GX's ``SiteBuilder`` that does this after each build; ``gx/great_expectations.yml``
  names it (the plugins directory is on GX's import path).
- ``make_offline(site)``: the same on any built site (``funnel check --docs`` applies it to whatever
  project it built).
- ``python expectations/gx/plugins/offline_data_docs.py --fetch``: fetch the vendored files again with
  ``npm pack`` (after a GX upgrade changes the URLs: update ``ASSETS``, fetch, commit).
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from urllib.parse import unquote, urlparse

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent / "custom_data_docs"
VENDOR = HERE / "vendor"  #: the vendored files, as ``<package>@<version>/<path in the package>``
SUMS = HERE / "vendor.sha256"
SITE_VENDOR = Path("static") / "vendor"  #: where they go in a built site

#: Each URL GX 1.x's templates load, and the file of an npm package that serves it
#: (unpkg and jsDelivr serve npm packages; ``vega@5`` resolved to the newest 5.x when vendored).
ASSETS: dict[str, tuple[str, str]] = {
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css":
        ("bootstrap-table@1.19.1", "dist/bootstrap-table.min.css"),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js":
        ("bootstrap-table@1.19.1", "dist/bootstrap-table.min.js"),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.js":
        ("bootstrap-table@1.19.1", "dist/extensions/filter-control/bootstrap-table-filter-control.min.js"),
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.css":
        ("bootstrap-table@1.19.0", "dist/extensions/filter-control/bootstrap-table-filter-control.css"),
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.min.css":
        ("bootstrap-table@1.19.0", "dist/extensions/filter-control/bootstrap-table-filter-control.min.css"),
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css": ("bootstrap@4.3.1", "dist/css/bootstrap.min.css"),
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js": ("bootstrap@4.3.1", "dist/js/bootstrap.min.js"),
    "https://code.jquery.com/jquery-3.7.1.min.js": ("jquery@3.7.1", "dist/jquery.min.js"),
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js": ("popper.js@1.12.9", "dist/umd/popper.min.js"),
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/bootstrap-datepicker.min.css":
        ("bootstrap-datepicker@1.9.0", "dist/css/bootstrap-datepicker.min.css"),
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/bootstrap-datepicker.min.js":
        ("bootstrap-datepicker@1.9.0", "dist/js/bootstrap-datepicker.min.js"),
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css":
        ("@fortawesome/fontawesome-free@6.6.0", "css/all.min.css"),
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/bootstrap-prefers-dark.css":
        ("@forevolve/bootstrap-dark@1.1.0", "dist/css/bootstrap-prefers-dark.min.css"),
    "https://cdn.jsdelivr.net/npm/vega@5": ("vega@5.33.1", "build/vega.min.js"),
    "https://cdn.jsdelivr.net/npm/vega-lite@5": ("vega-lite@5.23.0", "build/vega-lite.min.js"),
    "https://cdn.jsdelivr.net/npm/vega-embed@6": ("vega-embed@6.29.0", "build/vega-embed.min.js"),
}
#: Files the vendored ones load in turn (Font Awesome's fonts: woff2, which every current browser reads first).
EXTRA = [("@fortawesome/fontawesome-free@6.6.0", f"webfonts/{name}.woff2")
         for name in ("fa-brands-400", "fa-regular-400", "fa-solid-900", "fa-v4compatibility")]
#: GX's logo from its S3 bucket (with the data context's id in the query): GX ships the same image.
LOGO = re.compile(r"https://great-expectations-web-assets\.s3\.[a-z0-9-]+\.amazonaws\.com/logo-long\.png[^\"']*")
SITE_LOGO = Path("static") / "images" / "logo-long.png"

_STATIC = re.compile(r"(?:\./)?(?:\.\./)*static/(.+)")
_TAG = re.compile(r"<(script|link|img)\b[^>]*>", re.IGNORECASE)
_URL_ATTR = re.compile(r"""\b(src|href)\s*=\s*(["'])(.*?)\2""", re.IGNORECASE | re.DOTALL)
#: GX's index tables (validations, suites) show 10 rows a page: every aggregate suite on the first page instead.
_PAGINATION = re.compile(r"'pagination': 'true'(?!, 'pageSize')")
PAGE_SIZE = 50
_CORS_ATTRS = re.compile(r"""\s+(integrity|crossorigin)\s*=\s*(["']).*?\2""", re.IGNORECASE | re.DOTALL)


def vendored_files() -> list[str]:
    """Every vendored file, as its path under ``vendor/``."""
    return sorted({f"{spec}/{file}" for spec, file in [*ASSETS.values(), *EXTRA]})


def rewrite_page(text: str, page: Path, site: Path) -> tuple[str, list[str]]:
    """The page with every known CDN asset loaded from the site (integrity and crossorigin removed:
    a file: page cannot make CORS requests) and GX's own static files at the page's depth, its tables
    :data:`PAGE_SIZE` rows a page; returns it and the external URLs of scripts, stylesheets and images that
    remain."""
    up = os.path.relpath(site, page.parent)
    remaining: list[str] = []

    def local(url: str) -> str | None:
        if url in ASSETS:
            spec, file = ASSETS[url]
            return Path(up, SITE_VENDOR, spec, file).as_posix()
        if LOGO.fullmatch(url):
            return Path(up, SITE_LOGO).as_posix()
        if static := _STATIC.fullmatch(url):  # GX's own files, some pages at the wrong depth (the favicon)
            return Path(up, "static", static.group(1)).as_posix()
        return None

    def tag(match: re.Match) -> str:
        text = match.group(0)
        attr = _URL_ATTR.search(text)
        if not attr:
            return text
        url = attr.group(3)
        path = local(url)
        if path is None:
            loads = match.group(1).lower() != "link" or "stylesheet" in text.lower()  # not a link to a page
            if loads and re.match(r"(https?:)?//", url):
                remaining.append(url)
            return text
        text = text[:attr.start(3)] + path + text[attr.end(3):]
        return _CORS_ATTRS.sub("", text)

    text = _PAGINATION.sub(f"'pagination': 'true', 'pageSize': {PAGE_SIZE}", text)
    return _TAG.sub(tag, text), remaining


def make_offline(site: Path) -> list[str]:
    """Copy the vendored files into ``site/static/vendor`` and rewrite every page of the built site.

    Idempotent. Returns the external scripts, stylesheets and images still referenced (a GX upgrade
    that loads a new one: add it to ``ASSETS`` and fetch); each is also logged as a warning.
    """
    site = Path(site)
    for name in vendored_files():
        target = site / SITE_VENDOR / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(VENDOR / name, target)
    remaining: set[str] = set()
    for page in site.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        new, left = rewrite_page(text, page, site)
        remaining.update(left)
        if new != text:
            page.write_text(new, encoding="utf-8")
    for url in sorted(remaining):
        log.warning("Data Docs in %s still load %s from the network: vendor it in %s", site, url, __file__)
    return sorted(remaining)


@functools.cache
def _site_builder():
    from great_expectations.render.renderer.site_builder import SiteBuilder

    class OfflineSiteBuilder(SiteBuilder):
        """GX's site builder, whose site loads everything from itself (see the module's docstring)."""

        def build(self, resource_identifiers=None, build_index: bool = True):
            result = super().build(resource_identifiers=resource_identifiers, build_index=build_index)
            url = self.get_resource_url(only_if_exists=False)
            if url and url.startswith("file://"):
                make_offline(Path(unquote(urlparse(url).path)).parent)
            return result

    OfflineSiteBuilder.__module__ = __name__
    return OfflineSiteBuilder


def __getattr__(name: str):
    """``OfflineSiteBuilder`` is made on first use, so that this module imports without GX (5 s)."""
    if name == "OfflineSiteBuilder":
        return _site_builder()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# ---- fetching the vendored files ----------------------------------------------------------------

def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def check() -> list[str]:
    """Vendored files missing or not matching ``vendor.sha256``."""
    expected = dict(line.split()[::-1] for line in SUMS.read_text().splitlines() if line.strip())
    return [n for n in vendored_files() if not (VENDOR / n).is_file() or expected.get(n) != _sha256(VENDOR / n)]


def fetch() -> None:
    """Fetch every vendored file from the npm registry (``npm pack``), with its package's licence,
    and record their SHA-256."""
    packages = sorted({spec for spec, _ in [*ASSETS.values(), *EXTRA]})
    with tempfile.TemporaryDirectory() as tmp:
        for spec in packages:
            done = subprocess.run(["npm", "pack", "--json", spec], cwd=tmp, capture_output=True, text=True)
            if done.returncode != 0:
                raise SystemExit(f"npm pack {spec} failed:\n{done.stderr}")
            tarball = Path(tmp) / json.loads(done.stdout)[0]["filename"]
            with tarfile.open(tarball) as tar:
                licenses = [m.name.removeprefix("package/") for m in tar.getmembers()
                            if re.fullmatch(r"package/(LICEN[CS]E|COPYING)[^/]*", m.name, re.IGNORECASE)]
                for file in sorted({f for s, f in [*ASSETS.values(), *EXTRA] if s == spec} | set(licenses)):
                    source = tar.extractfile(f"package/{file}")
                    target = VENDOR / spec / file
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(source.read())
    SUMS.write_text("".join(f"{_sha256(VENDOR / n)}  {n}\n" for n in vendored_files()))


if __name__ == "__main__":
    if sys.argv[1:] == ["--fetch"]:
        fetch()
    bad = check()
    print("\n".join(f"missing or changed: {n}" for n in bad) or f"{len(vendored_files())} files match {SUMS.name}")
    sys.exit(1 if bad else 0)
