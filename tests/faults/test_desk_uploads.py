"""Hostile uploads at the ledger desk (issue 24), in a real Chromium against `funnel serve` and a real broker.

Each file of the hostile-workbook list (tests/faults/test_hostile_workbooks.py) uploaded through the desk's form
ends in one clear error on the page naming the file and what broke, nothing is planned or sent, and the server
keeps answering; a file over the upload limit is refused (413) before it is read.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from streams.config import dlq_topic
from streams.kafkaio.consumer import read_topic
from tests.browser import signed_in  # the fixtures serve_app, chromium, browser_page come from tests/conftest.py
from tests.faults.test_hostile_workbooks import HEADER, LAUGHS, _base, cell, sheet, with_sheet

pytestmark = [pytest.mark.integration, pytest.mark.faults]


@pytest.fixture(scope="module")
def desk_topic(bootstrap) -> str:
    from streams.kafkaio.topics import ensure_topics, event_topics

    name = f"desk-hostile-{uuid.uuid4().hex[:8]}"
    ensure_topics(bootstrap, event_topics(name))
    return name


@pytest.fixture(scope="module")
def server(serve_app, bootstrap, desk_topic):
    return serve_app(args=("--bootstrap-servers", bootstrap, "--topic", desk_topic, "--max-upload-mb", "1"))


def bomb(path: Path) -> Path:
    def spaces(stream) -> None:  # 300 MiB of spaces inside the sheet: a file of about 300 KB
        stream.write(sheet(HEADER)[:-len(b"</sheetData></worksheet>")])
        for _ in range(300):
            stream.write(b" " * (1 << 20))
        stream.write(b"</sheetData></worksheet>")

    return with_sheet(path, spaces)


def entities(path: Path, prolog: bytes, text: str) -> Path:
    row = b'<row r="2">' + cell("A2", text).replace(b"&amp;", b"&") + cell("B2", "谋划") + b"</row>"
    return with_sheet(path, sheet(HEADER + row, prolog))


def far(path: Path) -> Path:
    return with_sheet(path, sheet(HEADER + b'<row r="1048576">' + cell("XFD1048576", "x") + b"</row>"))


def raw(content: bytes):
    def make(path: Path) -> Path:
        path.write_bytes(content)
        return path

    return make


def truncated(path: Path) -> Path:
    whole = _base(path.with_name("whole.xlsx")).read_bytes()
    path.write_bytes(whole[: len(whole) // 2])
    return path


HOSTILE = [
    ("bomb.xlsx", bomb, "would inflate to"),
    ("laughs.xlsx", lambda p: entities(p, LAUGHS, "&lol9;"), "declares XML entities"),
    ("xxe.xlsx", lambda p: entities(p, b'<?xml version="1.0"?><!DOCTYPE worksheet [<!ENTITY x SYSTEM '
                                       b'"file:///etc/passwd">]>', "&x;"), "declares XML entities"),
    ("far.xlsx", far, "row 1,048,576, column 16,384"),
    ("random.xlsx", raw(os.urandom(4096)), "not an .xlsx workbook"),
    ("page.xls", raw(b"<html><body><table><tr><td>x</td></tr></table></body></html>"), "a web page (HTML)"),
    ("truncated.xlsx", truncated, "a damaged .xlsx workbook"),
    ("locked.xlsx", raw(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504 + "EncryptionInfo".encode("utf-16-le")
                        + b"\0" * 1000), "password-protected"),
    ("ledger.et", raw(b"\xd0\xcf\x11\xe0 wps"), "另存为 .xlsx"),
]


def upload(page, server, path: Path) -> None:
    page.goto(f"{server.url}/desk")
    page.fill("#upload-form input[name=month]", "2024-12")
    page.set_input_files("#upload-form input[name=file]", str(path))
    page.click("#upload-form button[type=submit]")
    page.wait_for_load_state()


def test_each_hostile_upload_ends_in_a_clear_error_on_the_page_and_nothing_is_sent(server, bootstrap, desk_topic,
                                                                                  browser_page, tmp_path):
    page = browser_page
    signed_in(page, server, server.make_user("bureau"), "/desk")
    for name, make, message in HOSTILE:
        path = make(tmp_path / name)
        assert path.stat().st_size < 1 << 20, name
        upload(page, server, path)
        assert "/desk/upload/" not in page.url, name  # no preview: nothing was planned
        error = page.inner_text("#desk-error")
        assert name in error and message in error, (name, error)
    assert list(read_topic(bootstrap, desk_topic)) == [] and list(read_topic(bootstrap, dlq_topic(desk_topic))) == []
    assert page.goto(f"{server.url}/healthz").ok  # the server is still there
    audit = server.funnel("users", "audit", "--action", "upload_refused", "--limit", "100").stdout
    assert all(name in audit for name, _, _ in HOSTILE)


def test_a_file_over_the_upload_limit_is_refused_before_it_is_read(server, browser_page, tmp_path):
    page = browser_page
    signed_in(page, server, server.make_user("department", "区商务局"), "/desk")
    big = tmp_path / "big.csv"
    big.write_bytes(b"project_id,stage\n" + b"x" * (2 << 20))
    upload(page, server, big)
    assert "上传文件过大" in page.content()
    assert "/desk/upload/" not in page.url
