"""expectations/gx/plugins/offline_data_docs.py: the vendored assets are intact and pages are rewritten to them."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

PLUGIN = Path(__file__).resolve().parents[2] / "expectations" / "gx" / "plugins" / "offline_data_docs.py"


@pytest.fixture(scope="module")
def offline():
    spec = importlib.util.spec_from_file_location("offline_data_docs_under_test", PLUGIN)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_vendored_files_are_committed_and_match_their_checksums(offline):
    assert offline.check() == []
    assert len(offline.vendored_files()) == len(offline.SUMS.read_text().splitlines())


def test_every_cdn_url_of_the_installed_gx_templates_is_vendored(offline):
    """A GX upgrade that loads a new script or stylesheet from a CDN fails here first."""
    import re

    package = importlib.util.find_spec("great_expectations").submodule_search_locations[0]  # without importing GX
    templates = Path(package) / "render" / "view" / "templates"
    loaded = set()
    for template in templates.glob("*.j2"):
        for tag in re.findall(r"<(?:script|link)\b[^>]*>", template.read_text(encoding="utf-8")):
            if "<link" in tag and "stylesheet" not in tag:
                continue
            loaded.update(re.findall(r"""(?:src|href)=["'](https?://[^"']+)""", tag))
    assert loaded and loaded <= set(offline.ASSETS), sorted(loaded - set(offline.ASSETS))


def test_a_page_is_rewritten_to_the_site_relative_to_its_depth(offline, tmp_path):
    site = tmp_path / "site"
    page = site / "validations" / "a" / "b" / "page.html"
    text = ('<link rel="stylesheet" href="https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css"/>\n'
            '<script src="https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js" '
            'integrity="sha384-x" crossorigin="anonymous"></script>\n'
            '<img class="NO-CACHE" src="https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/'
            'logo-long.png?d=1&dataContextId=2" alt="Great Expectations"/>\n'
            '<link rel="shortcut icon" href="../../static/images/favicon.ico" type="image/x-icon"/>\n'
            '<a href="https://greatexpectations.io">a link, not a load</a>\n'
            '<script src="https://cdn.example.org/new.js"></script>')
    new, remaining = offline.rewrite_page(text, page, site)
    assert '<link rel="stylesheet" href="../../../static/vendor/bootstrap@4.3.1/dist/css/bootstrap.min.css"/>' in new
    assert '<script src="../../../static/vendor/popper.js@1.12.9/dist/umd/popper.min.js"></script>' in new
    assert 'src="../../../static/images/logo-long.png" alt="Great Expectations"' in new
    assert 'href="../../../static/images/favicon.ico"' in new  # GX wrote it one level short
    assert '<a href="https://greatexpectations.io">' in new
    assert remaining == ["https://cdn.example.org/new.js"]
    assert offline.rewrite_page(new, page, site) == (new, remaining)  # idempotent
