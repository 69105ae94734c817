"""Bounds on a ledger file (docs/ledgers.md), checked before calamine opens it.

A workbook is a zip of XML (.xlsx, .xlsm, .ods) or an OLE file of BIFF records (.xls). calamine lays a
sheet out densely and inflates a zip part whole, so a hostile file (a zip bomb, a cell at XFD1048576, XML
declaring entities) could take the process's memory, or abort it, before any rule is applied. Here such a
file ends in one clear error naming it and the bound it broke, in bounded time and memory.
"""

from __future__ import annotations

import logging
import re
import zipfile
from pathlib import Path

from streams.core.ledger_layout import LedgerFileError

log = logging.getLogger(__name__)

SAVE_AS = "open it in Excel or WPS and save it as .xlsx (Excel 工作簿)"

# Bounds on what a ledger file may make this process hold (docs/ledgers.md). A real ledger is far below
# every one: a district's ledger has hundreds of rows and about 20 columns.
MAX_ROWS = 100_000  #: rows of one sheet (or a CSV)
MAX_COLUMNS = 256  #: columns of one sheet (an .xls holds no more)
MAX_CELLS = 5_000_000  #: rows × columns of one sheet, as calamine holds it (dense, about 32 bytes a cell)
MAX_PART_BYTES = 128 << 20  #: one part of a zipped workbook, uncompressed (declared and as inflated)
MAX_BOOK_BYTES = 256 << 20  #: all its parts, uncompressed
MAX_RATIO = 1_000  #: uncompressed ÷ compressed, for a part above 1 MiB (XML of real sheets: 5-50)
MAX_CSV_BYTES = 128 << 20

_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP = b"PK\x03\x04"
_CELL_REF = re.compile(rb'<c\s[^>]*?\br="([A-Z]{1,3})([0-9]{1,7})"')
_CELL_TAG = re.compile(rb"<c[\s/>]")
# A formula with no saved value after it (a program that does not compute formulas wrote the file).
_UNSAVED_FORMULA = re.compile(rb"(?:</f>|<f\b[^>]*/>)(?:<v\s*/>|<v></v>)?</c>")
_ODS_WIDE = re.compile(rb'<table:table-cell\s[^>]*?number-columns-repeated="(\d+)"[^>]*?(?<!/)>')
_ODS_TALL = re.compile(rb'<table:table-row\s[^>]*?number-rows-repeated="(\d+)"[^>]*?>(.{0,4096}?)</table:table-row>',
                       re.DOTALL)


def refuse(path: Path, what: str) -> LedgerFileError:
    """The error that refuses a ledger file: it names the file and says nothing was read or sent."""
    return LedgerFileError(f"{path.name}: {what}; nothing was read or sent")


def check_workbook(path: Path, suffix: str) -> None:
    """Refuse a workbook file that is not what its name says, is encrypted, or reaches past the bounds."""
    with path.open("rb") as f:
        head = f.read(8)
    if head == _OLE:
        if _encrypted(path):
            raise refuse(path, "the workbook is password-protected (encrypted): remove the password in Excel or "
                               "WPS (文件 → 信息 → 保护工作簿 → 用密码进行加密, empty) and save it as .xlsx")
        if suffix != ".xls":
            raise refuse(path, f"an Excel 97-2003 file named {suffix}: rename it .xls, or {SAVE_AS}")
        _check_xls(path)
    elif head.startswith(_ZIP):
        if suffix == ".xls":
            raise refuse(path, "an .xlsx workbook named .xls: rename it .xlsx")
        _check_zip(path, suffix)
    else:
        kind = "a web page (HTML) named " + suffix if _html(path) else f"not an {suffix} workbook (damaged, or " \
            "another kind of file)"
        raise refuse(path, f"{kind}: {SAVE_AS}")


def _encrypted(path: Path) -> bool:
    """An OLE file holding an ``EncryptionInfo`` stream: an .xlsx saved with a password (ECMA-376 encryption)."""
    with path.open("rb") as f:
        return "EncryptionInfo".encode("utf-16-le") in f.read(1 << 20)


def _html(path: Path) -> bool:
    with path.open("rb") as f:
        start = f.read(2048).lower()
    return any(tag in start for tag in (b"<html", b"<table", b"<!doctype html"))


def _check_zip(path: Path, suffix: str) -> None:
    """Refuse a zip that would inflate past the bounds, XML declaring entities, and sheets past the bounds.

    Sizes are checked as declared, then as inflated (a zip can lie), a part at a time, 1 MiB at a time: what
    this holds at once is bounded whatever the file says. calamine's XML reader (quick-xml) does not expand
    custom entities, but a workbook never declares any, so one that does is refused here by name.
    """
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
        raise refuse(path, f"a damaged {suffix} workbook ({e}): {SAVE_AS}") from e
    with archive:
        parts = archive.infolist()
        declared = sum(p.file_size for p in parts)
        bounds = f"a ledger is read up to {MAX_PART_BYTES >> 20} MiB a part, {MAX_BOOK_BYTES >> 20} MiB in all"
        for p in parts:
            if p.file_size > MAX_PART_BYTES:
                raise refuse(path, f"part {p.filename} would inflate to {p.file_size:,} bytes; {bounds}")
            if p.file_size > 1 << 20 and p.file_size > MAX_RATIO * max(p.compress_size, 1):
                raise refuse(path, f"part {p.filename} inflates {p.file_size // max(p.compress_size, 1):,}-fold "
                                   f"(a zip bomb?); a ledger's parts are read up to {MAX_RATIO:,}-fold")
        if declared > MAX_BOOK_BYTES:
            raise refuse(path, f"its parts would inflate to {declared:,} bytes in all; {bounds}")
        inflated = 0
        for p in parts:
            inflated += _check_part(path, archive, p, suffix, MAX_BOOK_BYTES - inflated)


def _check_part(path: Path, archive: zipfile.ZipFile, part: zipfile.ZipInfo, suffix: str, room: int) -> int:
    """Inflate one part a MiB at a time, scanning a sheet's cell references; its size as inflated."""
    sheet = part.filename.startswith("xl/worksheets/") and part.filename.endswith(".xml")
    content = suffix == ".ods" and part.filename == "content.xml"
    size, carry, max_row, max_col, cells, refs, unsaved = 0, b"", 0, 0, 0, 0, 0
    try:
        with archive.open(part) as stream:
            while chunk := stream.read(1 << 20):
                size += len(chunk)
                if size > min(MAX_PART_BYTES, room):
                    raise refuse(path, f"part {part.filename} inflates past {min(MAX_PART_BYTES, room):,} bytes "
                                       "(more than it declares?); a ledger is read up to "
                                       f"{MAX_PART_BYTES >> 20} MiB a part, {MAX_BOOK_BYTES >> 20} MiB in all")
                text = carry + chunk
                if b"<!ENTITY" in text or b"<!DOCTYPE" in text:
                    raise refuse(path, f"part {part.filename} declares XML entities (<!DOCTYPE/<!ENTITY>), which no "
                                       f"workbook does (an entity-expansion or external-entity attack?): {SAVE_AS}")
                cut = text.rfind(b">") + 1
                scan, carry = text[:cut], text[cut:][-4096:]
                if sheet:
                    cells += len(_CELL_TAG.findall(scan))
                    unsaved += len(_UNSAVED_FORMULA.findall(scan))
                    for col, row in _CELL_REF.findall(scan):
                        refs += 1
                        max_row, max_col = max(max_row, int(row)), max(max_col, _column(col))
                elif content:
                    _check_ods(path, scan)
    except zipfile.BadZipFile as e:
        raise refuse(path, f"a damaged {suffix} workbook (part {part.filename}: {e}): {SAVE_AS}") from e
    if sheet and (cells != refs or max_row > MAX_ROWS or max_col > MAX_COLUMNS or max_row * max_col > MAX_CELLS):
        where = f"cells up to row {max_row:,}, column {max_col:,}" if cells == refs else \
            f"{cells - refs:,} cells without a reference"
        raise refuse(path, f"{part.filename} has {where}; a ledger sheet is read up to {MAX_ROWS:,} rows, "
                           f"{MAX_COLUMNS} columns and {MAX_CELLS:,} cells, every cell with its reference: delete the "
                           f"rows and columns past the ledger, or {SAVE_AS}")
    if unsaved:  # calamine reads them as empty cells: an empty amount changes nothing, an empty id is rejected
        log.warning("%s: %s has %d formula cell(s) without a saved value, read as empty (the file was written by "
                    "a program that does not compute formulas: open and save it in Excel or WPS)",
                    path.name, part.filename, unsaved)
    return size


def _check_ods(path: Path, xml: bytes) -> None:
    """An .ods repeats rows and cells by count: refuse filled ones repeated past the bounds (empty ones are free)."""
    wide = max((int(n) for n in _ODS_WIDE.findall(xml)), default=0)
    tall = max((int(n) for n, inner in _ODS_TALL.findall(xml) if b"<text:p" in inner or b"value-type" in inner),
               default=0)
    if wide > MAX_COLUMNS or tall > MAX_ROWS:
        raise refuse(path, f"content.xml repeats a filled cell {wide:,} times across or a filled row {tall:,} times "
                           f"down; a ledger sheet is read up to {MAX_ROWS:,} rows and {MAX_COLUMNS} columns")


#: BIFF8 cell records (row, column in their first 4 bytes): NUMBER, LABEL, LABELSST, RK, BLANK, BOOLERR,
#: FORMULA, RSTRING; and MULRK, MULBLANK (row, first column, …, last column in their last 2 bytes).
_BIFF_CELLS = frozenset((0x0203, 0x0204, 0x00FD, 0x027E, 0x0201, 0x0205, 0x0006, 0x00D6))
_BIFF_MULTI = frozenset((0x00BD, 0x00BE))


def _check_xls(path: Path) -> None:
    """Refuse an .xls whose cells reach past the bounds, before calamine lays its sheets out densely.

    Reads the OLE container's ``Workbook`` stream (following its sector chain, never more sectors than the file
    has) and walks its BIFF records; a cell at IV65536 would otherwise cost about 1 GB.
    """
    stream = _ole_stream(path, ("Workbook", "Book"))
    if stream is None:
        return  # no workbook stream (or a tiny one in the mini stream): calamine says what it is
    max_row = max_col = at = 0
    while at + 4 <= len(stream):
        kind, size = int.from_bytes(stream[at:at + 2], "little"), int.from_bytes(stream[at + 2:at + 4], "little")
        body = stream[at + 4:at + 4 + size]
        if kind in _BIFF_CELLS and len(body) >= 4:
            max_row = max(max_row, int.from_bytes(body[:2], "little") + 1)
            max_col = max(max_col, int.from_bytes(body[2:4], "little") + 1)
        elif kind in _BIFF_MULTI and len(body) >= 6:
            max_row = max(max_row, int.from_bytes(body[:2], "little") + 1)
            max_col = max(max_col, int.from_bytes(body[-2:], "little") + 1)
        at += 4 + size
    if max_row > MAX_ROWS or max_col > MAX_COLUMNS or max_row * max_col > MAX_CELLS:
        raise refuse(path, f"a sheet has cells up to row {max_row:,}, column {max_col:,}; a ledger sheet is read up "
                           f"to {MAX_ROWS:,} rows, {MAX_COLUMNS} columns and {MAX_CELLS:,} cells: delete the rows and "
                           f"columns past the ledger, or {SAVE_AS}")


def _ole_stream(path: Path, names: tuple[str, ...]) -> bytes | None:
    """A stream of an OLE (compound) file by name, read through the FAT; None when absent or in the mini stream."""
    data = path.read_bytes()
    if len(data) < 512:
        return None
    shift = int.from_bytes(data[0x1E:0x20], "little")
    if not 7 <= shift <= 16:
        raise refuse(path, f"a damaged .xls workbook (sector size 2^{shift}): {SAVE_AS}")
    sector = 1 << shift
    sectors = (len(data) - 512) // sector

    def read(n: int) -> bytes:
        return data[512 + n * sector: 512 + (n + 1) * sector]

    difat = [int.from_bytes(data[0x4C + 4 * i:0x50 + 4 * i], "little") for i in range(109)]
    following, hops = int.from_bytes(data[0x44:0x48], "little"), 0
    while following < sectors and hops <= sectors:  # the DIFAT's own chain, for a FAT past 109 sectors
        block = read(following)
        difat += [int.from_bytes(block[i:i + 4], "little") for i in range(0, sector - 4, 4)]
        following, hops = int.from_bytes(block[-4:], "little"), hops + 1
    fat = b"".join(read(n) for n in difat if n < sectors)
    entries = len(fat) // 4

    def chain(start: int) -> bytes:
        out, n, seen = [], start, 0
        while n < min(entries, sectors) and seen <= sectors:
            out.append(read(n))
            n, seen = int.from_bytes(fat[4 * n:4 * n + 4], "little"), seen + 1
        return b"".join(out)

    directory = chain(int.from_bytes(data[0x30:0x34], "little"))
    cutoff = int.from_bytes(data[0x38:0x3C], "little")
    for i in range(0, len(directory) - 127, 128):
        entry = directory[i:i + 128]
        length = min(int.from_bytes(entry[64:66], "little"), 64)
        name = entry[:length].decode("utf-16-le", "replace").rstrip("\0")
        if name in names and entry[66] == 2:
            size = int.from_bytes(entry[120:128], "little")
            return None if size < cutoff else chain(int.from_bytes(entry[116:120], "little"))[:size]
    return None


def _column(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n
