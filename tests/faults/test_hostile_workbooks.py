"""Hostile workbooks through `funnel ledger import` against the real broker (issue 22, item 5).

A workbook is a zip of XML (or an OLE file). Each hostile one below ends in one clear error naming the
file and the bound it broke (or, for a formula without a saved value, in a bounded import), with nothing
sent, and the importing process's peak memory stays far below what the file asks for. Bounds: docs/ledgers.md.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook

from streams import synthetic
from streams.config import dlq_topic
from streams.kafkaio.consumer import read_topic

pytestmark = [pytest.mark.integration, pytest.mark.faults]

#: Peak RSS allowed to an import of a hostile file: the CLI (Python and its imports; the file is read before
#: the log) takes about a quarter of it, 75 MB; each file asks for gigabytes (a cell at XFD1048576: 512 GiB).
PEAK_MB = 300
#: A whole import that reads, folds and sends (the feed quality suite included) takes more, whatever the file.
IMPORT_PEAK_MB = 800
# Runs the CLI and prints its own peak RSS last, whatever way it exits. VmHWM is this program's own peak:
# getrusage's ru_maxrss keeps the parent's, inherited at fork (a pytest process of 424 MB in a full run).
RUN = ("import sys\n"
       "from streams.cli import main\n"
       "try:\n    main(sys.argv[1:], prog_name='funnel')\n"
       "finally:\n"
       "    peak = next(line.split()[1] for line in open('/proc/self/status') if line.startswith('VmHWM:'))\n"
       "    print('PEAK_KB', peak, file=sys.stderr)\n")


@pytest.fixture(scope="module")
def feed(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("feed") / "seed.jsonl"
    synthetic.generate_file(path, projects=50, seed=7)
    return path


def imported(path: Path, feed: Path, bootstrap: str, topic: str) -> tuple[subprocess.CompletedProcess, float]:
    """`funnel ledger import` of a file, compared with ``feed``, sending to ``topic``; and its peak RSS in MB."""
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": bootstrap}
    done = subprocess.run([sys.executable, "-c", RUN, "ledger", "import", str(path), "--month", "2024-12",
                           "--from-file", str(feed), "--topic", topic, "--json"],
                          env=env, capture_output=True, text=True, timeout=300)  # a hang guard, not a measure
    peak = [line for line in done.stderr.splitlines() if line.startswith("PEAK_KB")]
    return done, int(peak[-1].split()[1]) / 1024


def refused(path: Path, feed: Path, bootstrap: str, topic: str, *messages: str) -> None:
    done, peak = imported(path, feed, bootstrap, topic)
    assert done.returncode == 1, done.stderr[-2000:]
    error = [line for line in done.stderr.splitlines() if line.startswith("Error:")]
    assert len(error) == 1 and path.name in error[0] and "nothing was read or sent" in error[0], done.stderr[-2000:]
    for message in messages:
        assert message in error[0], error[0]
    print(f"{path.name}: peak {peak:.0f} MB")  # shown with -s (docs/ledgers.md quotes them)
    assert peak < PEAK_MB, f"{path.name}: peak {peak:.0f} MB"
    assert list(read_topic(bootstrap, topic)) == [] and list(read_topic(bootstrap, dlq_topic(topic))) == []


def _base(path: Path) -> Path:
    book = Workbook()
    sheet = book.active
    sheet.title = "台账"
    sheet.append(["项目编号", "项目阶段"])
    sheet.append(["EQ-H-1", "谋划"])
    book.save(path)
    return path


def with_sheet(path: Path, sheet_xml) -> Path:
    """An .xlsx made by openpyxl whose sheet part is replaced (``sheet_xml``: bytes, or a writer of a stream)."""
    base = _base(path.with_suffix(".base.xlsx"))
    with zipfile.ZipFile(base) as zin, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for part in zin.infolist():
            if part.filename != "xl/worksheets/sheet1.xml":
                zout.writestr(part, zin.read(part.filename))
            elif callable(sheet_xml):
                with zout.open(part.filename, "w", force_zip64=True) as stream:
                    sheet_xml(stream)
            else:
                zout.writestr(part.filename, sheet_xml)
    return path


def sheet(rows_xml: bytes, prolog: bytes = b"") -> bytes:
    return (prolog + b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
            + rows_xml + b"</sheetData></worksheet>")


def cell(ref: str, text: str) -> bytes:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'.encode()


HEADER = b'<row r="1">' + cell("A1", "项目编号") + cell("B1", "项目阶段") + b"</row>"


def test_a_zip_bomb_is_refused_by_its_declared_size_before_it_is_inflated(bootstrap, topic, tmp_path, feed):
    def bomb(stream) -> None:  # 300 MiB of spaces inside the sheet: a file of about 300 KB
        stream.write(sheet(HEADER)[:-len(b"</sheetData></worksheet>")])
        for _ in range(300):
            stream.write(b" " * (1 << 20))
        stream.write(b"</sheetData></worksheet>")

    path = with_sheet(tmp_path / "bomb.xlsx", bomb)
    assert path.stat().st_size < 1 << 20
    refused(path, feed, bootstrap, topic, "xl/worksheets/sheet1.xml would inflate to 314,", "128 MiB a part")


def test_a_compression_ratio_past_a_thousandfold_is_refused(bootstrap, topic, tmp_path, feed):
    def dense(stream) -> None:  # 100 MiB: within the size bound, but no real sheet compresses 1,000-fold
        stream.write(sheet(HEADER)[:-len(b"</sheetData></worksheet>")])
        for _ in range(100):
            stream.write(b" " * (1 << 20))
        stream.write(b"</sheetData></worksheet>")

    refused(with_sheet(tmp_path / "dense.xlsx", dense), feed, bootstrap, topic, "-fold (a zip bomb?)")


LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE worksheet [<!ENTITY lol "lol">'
          + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%s;" % (str(i - 1).encode() if i > 2 else b"")) * 10)
                     for i in range(2, 10)) + b"]>")


@pytest.mark.parametrize(("name", "prolog", "text"), [
    ("laughs.xlsx", LAUGHS, "&lol9;"),  # a billion laughs: 10^9 "lol"s if expanded
    ("xxe.xlsx", b'<?xml version="1.0"?><!DOCTYPE worksheet [<!ENTITY x SYSTEM "file:///etc/passwd">]>', "&x;"),
])
def test_xml_declaring_entities_is_refused_and_never_expanded(bootstrap, topic, tmp_path, feed, name, prolog, text):
    row = b'<row r="2">' + cell("A2", text).replace(b"&amp;", b"&") + cell("B2", "谋划") + b"</row>"
    path = with_sheet(tmp_path / name, sheet(HEADER + row, prolog))
    refused(path, feed, bootstrap, topic, "declares XML entities")


@pytest.mark.parametrize(("name", "ref", "bound"), [
    ("far.xlsx", "XFD1048576", "row 1,048,576, column 16,384"),  # calamine alone would ask for 512 GiB and abort
    ("tall.xlsx", "A1048576", "row 1,048,576, column 2"),
    ("wide.xlsx", "XFD3", "row 3, column 16,384"),
])
def test_a_sheet_reaching_past_the_bounds_is_refused_before_calamine_lays_it_out(bootstrap, topic, tmp_path, feed,
                                                                                  name, ref, bound):
    row_number = "".join(ch for ch in ref if ch.isdigit())
    path = with_sheet(tmp_path / name, sheet(HEADER + f'<row r="{row_number}">'.encode() + cell(ref, "x") + b"</row>"))
    refused(path, feed, bootstrap, topic, bound, "100,000 rows, 256 columns")


def test_a_sheet_really_holding_too_many_cells_is_refused(bootstrap, topic, tmp_path, feed):
    def many(stream) -> None:  # 150,000 real rows of 20 cells: 3,000,000 cells, 60 MiB of XML
        stream.write(sheet(HEADER)[:-len(b"</sheetData></worksheet>")])
        for r in range(2, 150_002):
            stream.write(f'<row r="{r}">'.encode() + b"".join(
                f'<c r="{col}{r}"><v>{r}</v></c>'.encode() for col in "ABCDEFGHIJKLMNOPQRST") + b"</row>")
        stream.write(b"</sheetData></worksheet>")

    refused(with_sheet(tmp_path / "many.xlsx", many), feed, bootstrap, topic, "cells up to row 150,001")


def test_cells_without_a_reference_are_refused(bootstrap, topic, tmp_path, feed):
    row = b'<row r="2">' + b"<c><v>1</v></c>" * 20_000 + b"</row>"  # calamine would place them left to right
    refused(with_sheet(tmp_path / "noref.xlsx", sheet(HEADER + row)), feed, bootstrap, topic,
            "20,000 cells without a reference")


@pytest.mark.parametrize(("name", "content", "message"), [
    ("random.xlsx", os.urandom(4096), "not an .xlsx workbook (damaged, or another kind of file)"),
    ("page.xls", b"<html><body><table><tr><td>\xe9\xa1\xb9\xe7\x9b\xae</td></tr></table></body></html>",
     "a web page (HTML) named .xls"),
    ("truncated.xlsx", None, "a damaged .xlsx workbook"),
    ("locked.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504 + "EncryptionInfo".encode("utf-16-le")
     + b"\0" * 1000, "password-protected"),
])
def test_a_file_that_is_no_readable_workbook_is_refused_saying_what_to_do(bootstrap, topic, tmp_path, feed, name,
                                                                          content, message):
    path = tmp_path / name
    if content is None:
        whole = _base(tmp_path / "whole.xlsx").read_bytes()
        content = whole[: len(whole) // 2]
    path.write_bytes(content)
    refused(path, feed, bootstrap, topic, message)


def test_an_ods_repeating_a_filled_cell_past_the_bounds_is_refused(bootstrap, topic, tmp_path, feed):
    import pandas as pd

    ods = tmp_path / "base.ods"
    pd.DataFrame({"项目编号": ["EQ-H-1"], "项目阶段": ["谋划"]}).to_excel(ods, sheet_name="台账", index=False,
                                                                  engine="odf")
    bomb = (b'<table:table-row table:number-rows-repeated="1000000"><table:table-cell office:value-type="string">'
            b"<text:p>x</text:p></table:table-cell></table:table-row>")
    path = tmp_path / "repeat.ods"
    with zipfile.ZipFile(ods) as zin, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for part in zin.infolist():
            data = zin.read(part.filename)
            if part.filename == "content.xml":
                data = data.replace(b"</table:table>", bomb + b"</table:table>", 1)
            zout.writestr(part, data)
    refused(path, feed, bootstrap, topic, "a filled row 1,000,000 times down")


def test_a_formula_without_a_saved_value_reads_as_an_empty_cell_in_a_bounded_import(bootstrap, topic, tmp_path,
                                                                                     feed):
    book = Workbook()  # openpyxl saves formulas without computing them: no cached value
    ledger = book.active
    ledger.title = "台账"
    ledger.append(["项目编号", "项目名称", "所属行业", "项目阶段", "总投资（万元）"])
    ledger.append(["EQ-F-1", "公式项目", "新材料", "谋划", "=1000*2"])
    ledger.append(["合计", None, None, None, "=SUM(E2:E2)"])
    book.save(tmp_path / "formula.xlsx")
    done, peak = imported(tmp_path / "formula.xlsx", feed, bootstrap, topic)
    assert done.returncode == 0, done.stderr[-2000:]
    doc = json.loads(done.stdout)
    # the amount is not guessed (no investment on the planning), the empty total is not checked
    assert (doc["new"], doc["events"], doc["warnings"], doc["skipped"]) == (
        1, {"project_planned": 1}, {}, {"total": 1})
    assert "xl/worksheets/sheet1.xml has 2 formula cell(s) without a saved value, read as empty" in done.stderr
    sent = [json.loads(r.value) for r in read_topic(bootstrap, topic)]
    assert [e["project_id"] for e in sent] == ["EQ-F-1"] and "investment_yuan" not in sent[0]
    assert peak < IMPORT_PEAK_MB


def test_an_xls_with_a_cell_at_its_last_row_and_column_is_refused_from_its_records(bootstrap, topic, tmp_path, feed):
    import xlwt

    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("台账")
    sheet.write(0, 0, "项目编号")
    sheet.write(0, 1, "项目阶段")
    sheet.write(65535, 255, "x")  # calamine alone lays out 16.7M cells: about 1 GB
    book.save(str(tmp_path / "far.xls"))
    refused(tmp_path / "far.xls", feed, bootstrap, topic, "row 65,536, column 256")
