"""A 10,000-row ledger imported against a 1M-event log: seconds and peak memory, against its floors.

    python -m bench.ledger --events 1000000 --rows 10000 [--repeat 3]

Measured in fresh child processes, interleaved and repeated (median, min, max):

- ``import``: `funnel ledger import LEDGER --month 2024-12 --from-file FEED --out …`, end to end
  (read and check the log, fold it as of the month's end, read the workbook, compare, write events);
- ``fold_floor``: reading, checking and folding the same log alone, what any import must do first;
- ``ledger_only``: reading the workbook and comparing it with a state folded beforehand;
- ``xlsx_floor``: calamine reading the workbook's cells and nothing else.

The ledger is the log's own export of 2024-12-31 cut to ``--rows`` rows, with one row in ten
edited (a stage advanced, an amount, a leader, a plan date) and 1 % new projects.

    python -m bench.ledger --office --events 300000 --rows 10000 [--repeat 3]

compares, on the same edited rows, an office-made Excel 97-2003 ledger (``.xls`` by xlwt: a cover, a sheet
per pool under a title and a unit line, stages left to the pool, a 合计 per sheet; DOMAIN.md §7a) with the
clean ``.xlsx`` (one sheet 台账, one header row): ``office_xls`` and ``clean_xlsx`` read the file and compare
it with a state folded beforehand (as ``ledger_only``), ``read_xls`` and ``read_xlsx`` only read it
(:func:`streams.feeds.workbooks.read_ledger`: bounds, cells, layout).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from datetime import date
from pathlib import Path

from bench.common import record
from bench.scale import DATA, _child, feed_of

MONTH, MONTH_END = "2024-12", date(2024, 12, 31)
NEXT_STAGE = {"谋划": "洽谈", "洽谈": "签约", "签约": "开工", "开工": "竣工", "竣工": "投产"}


def make_ledger(feed: Path, rows: int, out: Path, state_out: Path) -> None:
    """The edited export (see the module's docstring), and the state it was cut from (Parquet)."""
    from streams.core.ledger import EXPORT_AMOUNT, EXPORT_COLUMNS, ledger_rows
    from streams.feeds.workbooks import write_ledger
    from streams.feeds.ledger_import import state_as_of
    from streams.replay import files_received_at, log_from_files

    state = state_as_of(log_from_files([feed], files_received_at([feed])), MONTH_END)
    state.write_parquet(state_out)
    ledger = ledger_rows(state.head(rows * 3))[: rows - rows // 100]
    for i, row in enumerate(ledger):
        if i % 10 == 0 and row["项目阶段"] in NEXT_STAGE:
            row["项目阶段"] = NEXT_STAGE[row["项目阶段"]]
        elif i % 10 == 3:
            row[EXPORT_AMOUNT] = 1234.5
        elif i % 10 == 6:
            row["分包领导"] = "县处级领导新"
        elif i % 10 == 9:
            row["计划开工日期"] = date(2025, 6, 30)
    for n in range(rows // 100):
        ledger.append(dict.fromkeys(EXPORT_COLUMNS) | {"项目编号": f"EQ-LEDGER-{n:05d}", "项目名称": f"新项目{n}",
                                                       "所属行业": "新材料", "项目阶段": "谋划",
                                                       "入库日期": date(2024, 12, 3)})
    write_ledger(out, ledger, [None] * len(ledger), {}, [])


def make_office_pair(feed: Path, rows: int, xls: Path, xlsx: Path, state_out: Path) -> None:
    """The edited rows of :func:`make_ledger` as an office's .xls (a sheet per pool) and as a clean .xlsx."""
    import polars as pl

    from examples.make_ledgers import write_pool_xls
    from streams.core.ledger import EXPORT_COLUMNS

    make_ledger(feed, rows, xlsx, state_out)
    state = pl.read_parquet(state_out)
    pools = dict(state.select("project_id", "pool").iter_rows())
    clean = _rows_of(xlsx)
    cn = {1: "谋划", 2: "洽谈", 3: "签约", 4: "开工", 5: "竣工", 6: "投产"}
    stage_of = {p: "终止" if d else cn.get(s) for p, s, d in state.select("project_id", "stage", "dropped").iter_rows()}
    office = [dict.fromkeys(EXPORT_COLUMNS) | r | {"_stage_before": stage_of.get(r["项目编号"])} for r in clean]
    # a new project goes on 谋划项目库, as an office enters one
    write_pool_xls(xls, office, "区商务局", {r["项目编号"]: pools.get(r["项目编号"], "planning") for r in clean})


def _rows_of(xlsx: Path) -> list[dict]:
    from streams.feeds.workbooks import read_ledger

    (layout,) = read_ledger(xlsx).layouts
    return [{h: (v.date() if hasattr(v, "date") and callable(v.date) else v) for h, v in zip(layout.header, cells)}
            for _, cells in layout.rows]


def _read_only(ledger: str) -> None:
    from streams.feeds.workbooks import read_ledger

    print(sum(len(layout.rows) for layout in read_ledger(ledger).layouts))


def _ledger_only(ledger: str, state_path: str) -> None:
    from datetime import datetime, timezone

    import polars as pl

    from streams.feeds.ledger_import import plan_import

    _, result = plan_import(ledger, MONTH, pl.read_parquet(state_path), datetime(2025, 1, 2, tzinfo=timezone.utc))
    print(sum(result.as_dict()["events"].values()))


def _xlsx_floor(ledger: str) -> None:
    from python_calamine import CalamineWorkbook

    print(len(CalamineWorkbook.from_path(ledger).get_sheet_by_name("台账").to_python()))


def _fold_floor(feed: str) -> None:
    from streams.feeds.ledger_import import state_as_of
    from streams.replay import files_received_at, log_from_files

    print(state_as_of(log_from_files([feed], files_received_at([feed])), MONTH_END).height)


def _stats(values: list[float]) -> dict:
    return {"median": round(statistics.median(values), 3), "min": round(min(values), 3),
            "max": round(max(values), 3), "runs": [round(v, 3) for v in values]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--office", action="store_true", help="office-made .xls against the clean .xlsx")
    args = parser.parse_args()
    if args.office:
        office(args)
        return
    feed = feed_of(args.events)
    ledger, state = DATA / f"ledger-{args.rows}-{args.events}.xlsx", DATA / f"ledger-state-{args.events}.parquet"
    if not ledger.exists() or not state.exists():
        make_ledger(feed, args.rows, ledger, state)
    with tempfile.TemporaryDirectory() as work:
        runs = {
            "import": ["-m", "streams.cli", "ledger", "import", str(ledger), "--month", MONTH, "--from-file",
                       str(feed), "--out", f"{work}/events.jsonl", "--json"],
            "fold_floor": ["-c", f"from bench.ledger import _fold_floor; _fold_floor({str(feed)!r})"],
            "ledger_only": ["-c", f"from bench.ledger import _ledger_only; _ledger_only({str(ledger)!r}, "
                                  f"{str(state)!r})"],
            "xlsx_floor": ["-c", f"from bench.ledger import _xlsx_floor; _xlsx_floor({str(ledger)!r})"],
        }
        seconds: dict[str, list[float]] = {k: [] for k in runs}
        peaks: dict[str, list[float]] = {k: [] for k in runs}
        for i in range(args.repeat):  # interleaved: a slow moment of the machine hits every figure alike
            for name, child in runs.items():
                took, peak, _ = _child(child)
                seconds[name].append(took)
                peaks[name].append(peak)
                print(f"run {i + 1}: {name} {took:.2f} s, peak {peak:,.0f} MB", file=sys.stderr)
    ratio = [a / b for a, b in zip(seconds["import"], seconds["fold_floor"])]
    own = [a / b for a, b in zip(seconds["ledger_only"], seconds["xlsx_floor"])]
    record(f"ledger-{args.rows}-{args.events}", {
        "events": args.events, "rows": args.rows, "repeat": args.repeat,
        "seconds": {k: _stats(v) for k, v in seconds.items()},
        "peak_rss_mb": {k: _stats(v) for k, v in peaks.items()},
        "import_vs_fold_floor": _stats(ratio), "ledger_only_vs_xlsx_floor": _stats(own),
        "command": f"python -m bench.ledger --events {args.events} --rows {args.rows} --repeat {args.repeat}",
    })


def office(args) -> None:
    """The office-made .xls against the clean .xlsx of the same rows (the module's docstring)."""
    feed = feed_of(args.events)
    xls, xlsx = DATA / f"office-{args.rows}-{args.events}.xls", DATA / f"clean-{args.rows}-{args.events}.xlsx"
    state = DATA / f"office-state-{args.events}.parquet"
    if not (xls.exists() and xlsx.exists() and state.exists()):
        make_office_pair(feed, args.rows, xls, xlsx, state)
    runs = {
        "office_xls": ["-c", f"from bench.ledger import _ledger_only; _ledger_only({str(xls)!r}, {str(state)!r})"],
        "clean_xlsx": ["-c", f"from bench.ledger import _ledger_only; _ledger_only({str(xlsx)!r}, {str(state)!r})"],
        "read_xls": ["-c", f"from bench.ledger import _read_only; _read_only({str(xls)!r})"],
        "read_xlsx": ["-c", f"from bench.ledger import _read_only; _read_only({str(xlsx)!r})"],
    }
    seconds: dict[str, list[float]] = {k: [] for k in runs}
    peaks: dict[str, list[float]] = {k: [] for k in runs}
    outputs: dict[str, str] = {}
    for i in range(args.repeat):  # interleaved, as above
        for name, child in runs.items():
            took, peak, out = _child(child)
            seconds[name].append(took)
            peaks[name].append(peak)
            outputs[name] = out.strip()
            print(f"run {i + 1}: {name} {took:.2f} s, peak {peak:,.0f} MB", file=sys.stderr)
    assert outputs["office_xls"] == outputs["clean_xlsx"], outputs  # the same events, or the comparison is void
    record(f"ledger-office-{args.rows}-{args.events}", {
        "events": args.events, "rows": args.rows, "repeat": args.repeat,
        "files": {"office_xls": xls.stat().st_size, "clean_xlsx": xlsx.stat().st_size},
        "events_made": int(outputs["clean_xlsx"]),
        "seconds": {k: _stats(v) for k, v in seconds.items()},
        "peak_rss_mb": {k: _stats(v) for k, v in peaks.items()},
        "office_vs_clean": _stats([a / b for a, b in zip(seconds["office_xls"], seconds["clean_xlsx"])]),
        "command": f"python -m bench.ledger --office --events {args.events} --rows {args.rows} "
                   f"--repeat {args.repeat}",
    })


if __name__ == "__main__":
    main()
