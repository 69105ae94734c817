"""Feed files → records. A record keeps its bytes as received, for the dead-letter topic."""

from __future__ import annotations

import csv
import re
import sys
from pathlib import Path
from typing import BinaryIO, Iterable, Iterator

from streams.contract.acceptance import Rejection, parse_json

_INT = re.compile(r"[+-]?\d+")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_BOOLS = {"true": True, "false": False, "1": True, "0": False}
#: The integer fields of the contract (§2, §8): a CSV cell of digits is read as a number.
_INTEGERS = frozenset({"schema_version", "investment_yuan", "people", "companies_visited", "leads", "valid_leads"})
#: How a CSV cell lists a trip's destinations: 、 , ， ; or ； as a ledger's 目的地 (§11).
_LIST_SEPARATORS = re.compile(r"[、,，;；]")


class FeedRecord:
    """One record of a feed file: where it is, its bytes as received (line ending removed), and ``parsed``:
    the JSON object, or why the record is malformed (a JSON line is parsed when first asked for, so a
    replay that hands the bytes on parses nothing here). ``is_json``: ``raw`` is the JSON text of
    ``parsed`` (False for a CSV row)."""

    __slots__ = ("origin", "raw", "is_json", "_parsed")

    def __init__(self, origin: str, raw: bytes, parsed: dict | Rejection | None = None, is_json: bool = True) -> None:
        if parsed is None and not is_json:
            raise ValueError("a record that is not JSON needs its parsed value")
        self.origin, self.raw, self.is_json, self._parsed = origin, raw, is_json, parsed

    @property
    def parsed(self) -> dict | Rejection:
        if self._parsed is None:
            self._parsed = parse_json(self.raw)
        return self._parsed

    @property
    def line(self) -> int:
        return int(self.origin.rsplit(":", 1)[1])

    def __repr__(self) -> str:
        return f"FeedRecord({self.origin!r}, {self.raw!r})"


def _lines(stream: Iterable[bytes], first: int = 1) -> Iterator[tuple[int, bytes]]:
    for number, line in enumerate(stream, start=first):
        yield number, line.rstrip(b"\r\n") if line.endswith(b"\n") else line


def read_jsonl(stream: Iterable[bytes], name: str, first_line: int = 1) -> Iterator[FeedRecord]:
    for number, raw in _lines(stream, first_line):
        yield FeedRecord(f"{name}:{number}", raw)


def read_jsonl_range(path: str | Path, start: int, end: int, first_line: int) -> Iterator[FeedRecord]:
    """The records of a JSON Lines file in bytes [``start``, ``end``), which begin at a line start; the first is
    line ``first_line`` of the file (a share of a file read by one of several processes)."""
    with Path(path).open("rb") as stream:
        stream.seek(start)
        yield from read_jsonl(_upto(stream, end - start), str(path), first_line)


def _upto(stream: BinaryIO, size: int) -> Iterator[bytes]:
    """The stream's lines until ``size`` bytes have been given."""
    for line in stream:
        if size <= 0:
            return
        size -= len(line)
        yield line


def _typed(field: str, cell: str) -> object:
    """CSV cells are text; give the typed fields of the contract their JSON type when they look right."""
    if field in _INTEGERS and _INT.fullmatch(cell):
        return int(cell)
    if field == "destinations":  # a trip's cities (§8), listed in one cell
        return [city.strip() for city in _LIST_SEPARATORS.split(cell) if city.strip()]
    if field == "investment_wan" and _NUMBER.fullmatch(cell):
        return float(cell) if any(c in cell for c in ".eE") else int(cell)
    if field == "lead_industry" and cell.lower() in _BOOLS:
        return _BOOLS[cell.lower()]
    return cell  # a wrong type stays text, so the schema check names it


def _csv_row(raw: bytes, header: list[str]) -> dict | Rejection:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        return Rejection("malformed", f"not valid UTF-8 at byte {e.start}")
    try:
        rows = list(csv.reader([text], strict=True))
    except csv.Error as e:
        return Rejection("malformed", f"not a CSV row: {e}")
    cells = rows[0] if rows else []
    if len(cells) != len(header):
        return Rejection("malformed", f"{len(cells)} cells where the header has {len(header)} columns")
    return {f: _typed(f, c) for f, c in zip(header, cells) if c != ""}


def read_csv(stream: BinaryIO, name: str) -> Iterator[FeedRecord]:
    """A CSV feed: a header naming the event fields, then one event per line (empty cell = absent)."""
    lines = _lines(stream)
    first = next(lines, None)
    if first is None:
        return
    header = next(csv.reader([first[1].decode("utf-8-sig", errors="replace")]))
    for number, raw in lines:
        yield FeedRecord(f"{name}:{number}", raw, _csv_row(raw, header), is_json=False)


def is_json_lines(path: str | Path) -> bool:
    """A feed file read as JSON Lines: any but ``*.csv`` (and ``-``, standard input, which is JSON Lines too)."""
    return Path(path).suffix.lower() != ".csv"


def read_feed(path: str | Path) -> Iterator[FeedRecord]:
    """Records of a JSON Lines file (``-`` is standard input) or, for ``*.csv``, a CSV file."""
    if str(path) == "-":
        yield from read_jsonl(sys.stdin.buffer, "<stdin>")
        return
    path = Path(path)
    reader = read_jsonl if is_json_lines(path) else read_csv
    with path.open("rb") as stream:
        yield from reader(stream, str(path))


def feed_records(paths: Iterable[str | Path], start_line: int = 1) -> Iterator[FeedRecord]:
    """The records of several feeds in order; ``start_line`` skips the first lines of the first feed."""
    for i, path in enumerate(paths):
        for record in read_feed(path):
            if i == 0 and record.line < start_line:
                continue
            yield record

