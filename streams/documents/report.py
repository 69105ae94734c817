"""``funnel report``: execute every notebook headless on one data set and write HTML pages and an index.

Each notebook runs once and becomes two pages: the analyst's (``out/<notebook>.html``: code, prompts,
Polars' tables) and the officials' (``out/official/<notebook>.html``: no code, tables with thousands
separators, 亿元 and percentages from :mod:`streams.analysis.formatting`).

A cell tagged ``analyst`` (cell metadata ``tags``) is left out of the officials' page, and one tagged
``official`` appears only there: the analysts' narrative names modules and columns, the officials'
says in plain Chinese and English what a figure means. Untagged cells are on both pages.
"""

from __future__ import annotations

import copy
import html
import json
import logging
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from streams.core.clock import now_cst

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
OFFICIAL = "official"  #: the officials' pages: ``out/official/<notebook>.html``
ANALYST_ONLY = "analyst"  #: the tag of a cell left out of the officials' page
OFFICIAL_ONLY = "official"  #: the tag of a cell shown on the officials' page alone
KERNEL = "funnel"  #: the project's kernel, which ``make setup`` installs into the virtualenv
FALLBACK_KERNEL = "python3"

log = logging.getLogger(__name__)


def notebooks() -> list[Path]:
    return sorted(NOTEBOOKS.glob("*.ipynb"))


def prepare_data(out: Path, source: str | None, as_of: str | None) -> Path:
    """A replay output directory for the notebooks: ``source`` itself if it is one, else a fresh replay."""
    if source and Path(source).is_dir():
        return Path(source)
    from streams.analysis.load import load
    from streams.replay import write_outputs, write_quality

    data = load(source, as_of)
    target = out / "data"
    write_outputs(data.summary, data.tables, target)
    write_quality(data.summary, data.tables, target)
    return target


def kernel_name() -> str:
    """The project's kernel when installed, else ``python3`` (a machine where ``make setup`` has not run)."""
    from jupyter_client.kernelspec import KernelSpecManager

    if KERNEL in KernelSpecManager().find_kernel_specs():
        return KERNEL
    log.info("kernel %r not installed (make setup installs it); running the notebooks with %r",
             KERNEL, FALLBACK_KERNEL)
    return FALLBACK_KERNEL


def run_notebook(path: Path, data_dir: Path, timeout: int = 600):
    """Execute a notebook top to bottom (raises on the first failing cell); returns it with outputs."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    os.environ["FUNNEL_SOURCE"] = str(data_dir)  # the kernel inherits it: load() reads this data set
    os.environ["FUNNEL_REPORT"] = "1"  # static charts for HTML, not widgets
    with tempfile.TemporaryDirectory(prefix="funnel-kernel-") as sockets:
        NotebookClient(nb, timeout=timeout, kernel_name=kernel_name(), resources={"metadata": {"path": str(NOTEBOOKS)}},
                       config=kernel_config(Path(sockets)), extra_arguments=KERNEL_EXTENSIONS).execute()
    return nb


#: Loaded in the kernel: every frame a cell shows also carries the officials' table (``OFFICIAL_HTML``).
KERNEL_EXTENSIONS = ["--IPKernelApp.extensions=streams.analysis.formatting"]


def kernel_config(sockets: Path):
    """The kernel talks to us over Unix sockets in ``sockets`` (a private directory), not TCP: nothing
    listens on the network, and ipykernel has no reason to warn that its TCP traffic is unencrypted.
    The path is absolute because the kernel runs in ``notebooks/``."""
    from traitlets.config import Config

    return Config({"KernelManager": {"transport": "ipc", "ip": str(sockets.resolve() / "kernel")}})


class _NoAltTextNotice(logging.Filter):
    """nbconvert gives every chart without alternative text a generic one and says so at WARNING on
    each page: noise in ``funnel report``'s output, not a fault. Its other messages pass."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Alternative text is missing")


_exporter_log = logging.getLogger("streams.documents.report.nbconvert")
_exporter_log.addFilter(_NoAltTextNotice())


def analyst(nb):
    """The notebook as the analyst reads it: code, prompts and Polars' tables (without the cells tagged
    ``official`` and the officials' tables)."""
    from streams.analysis.formatting import OFFICIAL_HTML

    nb = _without(nb, OFFICIAL_ONLY)
    for output in _outputs(nb):
        output.get("data", {}).pop(OFFICIAL_HTML, None)
    return nb


def official(nb):
    """The notebook for officials: no cell tagged ``analyst``, no code, no stderr, and the formatted
    tables in place of Polars'."""
    from streams.analysis.formatting import OFFICIAL_HTML

    nb = _without(nb, ANALYST_ONLY)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.get("outputs", []) if o.get("name") != "stderr"]
    for output in _outputs(nb):
        data = output.get("data", {})
        if OFFICIAL_HTML in data:
            data["text/html"] = data.pop(OFFICIAL_HTML)
    return nb


def tags(cell) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def _without(nb, tag: str):
    """A copy of the notebook without the cells tagged ``tag``."""
    nb = copy.deepcopy(nb)
    nb.cells = [c for c in nb.cells if tag not in tags(c)]
    return nb


def _outputs(nb):
    return [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]


_OFFICIAL_STYLE = """<style>
body, .jp-RenderedHTMLCommon { font-family: "WenQuanYi Micro Hei", "Noto Sans CJK SC", sans-serif; }
.jp-Notebook { max-width: 1100px; margin: 0 auto; }
table.funnel-table { border-collapse: collapse; margin: 0.5em 0 1em; font-size: 14px; }
table.funnel-table th { background: #1f4e79; color: white; padding: 6px 12px; }
table.funnel-table td { border-bottom: 1px solid #d9d9d9; padding: 5px 12px; }
table.funnel-table tbody tr:nth-child(even) { background: #f2f6fb; }
.funnel-table-note { color: #595959; font-size: 13px; }
.funnel-table-caption { font-weight: bold; margin: 1.2em 0 0.2em; }
</style>"""


def to_html(nb, title: str = "", *, for_officials: bool = False) -> str:
    """One page: the analyst's (code and all), or for officials the code hidden (nbconvert's
    ``exclude_input``) and the formatted tables."""
    from nbconvert import HTMLExporter

    settings = dict(exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True) \
        if for_officials else {}
    exporter = HTMLExporter(template_name="lab", log=_exporter_log, **settings)
    body, _ = exporter.from_notebook_node(official(nb) if for_officials else analyst(nb),
                                          resources={"metadata": {"name": title}} if title else None)
    if for_officials:
        body = body.replace("</head>", _OFFICIAL_STYLE + "\n</head>", 1)
    return body


def nothing_to_report(summary: dict) -> bool:
    """No project in the data set (an empty log, only rejected records, or none yet at the as-of date)."""
    return summary["projects"]["total"] == 0


@dataclass
class Built:
    index: Path  #: ``out/index.html``
    summary: dict  #: the data set's summary
    pages: list[Path] = field(default_factory=list)  #: one HTML page per notebook (none when nothing to report)
    official: list[Path] = field(default_factory=list)  #: the same for officials: no code, formatted tables

    @property
    def empty(self) -> bool:
        return nothing_to_report(self.summary)


def build(out: Path, source: str | None = None, as_of: str | None = None) -> Built:
    """Execute all notebooks on one data set; write ``out/<notebook>.html`` and ``out/index.html``.

    With no project to report (see ``nothing_to_report``) no notebook runs (they would fail on
    missing tables): ``index.html`` says the log is empty, with its accounting.
    """
    out.mkdir(parents=True, exist_ok=True)
    data_dir = prepare_data(out, source, as_of).resolve()
    summary = json.loads((data_dir / "summary.json").read_text(encoding="utf-8"))
    if nothing_to_report(summary):
        for path in notebooks():  # pages of an earlier report would not describe this data set
            (out / f"{path.stem}.html").unlink(missing_ok=True)
            (out / OFFICIAL / f"{path.stem}.html").unlink(missing_ok=True)
        (out / "index.html").write_text(_empty_index(summary, str(data_dir)), encoding="utf-8")
        return Built(out / "index.html", summary)
    pages = []
    (out / OFFICIAL).mkdir(exist_ok=True)
    for path in notebooks():
        nb = run_notebook(path, data_dir)
        title = next((c.source.splitlines()[0].lstrip("# ") for c in nb.cells if c.cell_type == "markdown"), path.stem)
        (out / f"{path.stem}.html").write_text(to_html(nb, title), encoding="utf-8")
        (out / OFFICIAL / f"{path.stem}.html").write_text(to_html(nb, title, for_officials=True), encoding="utf-8")
        pages.append((f"{path.stem}.html", title))
    (out / "index.html").write_text(_index(pages, summary, str(data_dir)), encoding="utf-8")
    return Built(out / "index.html", summary, [out / href for href, _ in pages],
                 [out / OFFICIAL / href for href, _ in pages])


_TITLE = "二七区招商项目四库报告 · Erqi investment funnel report"
_STYLE = """<style>body{font-family:"WenQuanYi Micro Hei","Noto Sans CJK SC",sans-serif;margin:2em;max-width:960px}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 10px;text-align:right}</style>"""


def _empty_index(summary: dict, source: str) -> str:
    acc = summary["accounting"]
    rejected = "".join(f"<tr><td>rejected: {html.escape(r)}</td><td>{n:,}</td></tr>"
                       for r, n in acc["rejected"].items())
    made = now_cst().isoformat(timespec="seconds")
    return f"""<!doctype html><html lang="zh"><head><meta charset="utf-8">
<title>{_TITLE}</title>
{_STYLE}</head>
<body><h1>{_TITLE}</h1>
<p>As of {summary['as_of']} · known at {summary['known_at'] or 'now'} · data: {html.escape(source)} · made {made}</p>
<h2 id="nothing-to-report">Nothing to report · 暂无可报告的项目</h2>
<p>The log has no project as of {summary['as_of']}: {acc['received']:,} records received, {acc['accepted']:,} accepted.
No notebook was run. Ingest a feed (<code>funnel ingest FILE</code>) or choose another source or date
(<code>funnel report --source DIR|FILE --as-of YYYY-MM-DD</code>).</p>
<p>截至 {summary['as_of']}，日志中没有任何项目（收到 {acc['received']:,} 条记录，接受 {acc['accepted']:,} 条）。</p>
<table><tr><td>received</td><td>{acc['received']:,}</td></tr><tr><td>accepted</td><td>{acc['accepted']:,}</td></tr>
<tr><td>duplicates</td><td>{acc['duplicates']:,}</td></tr>{rejected}</table></body></html>
"""


def _index(pages: list[tuple[str, str]], summary: dict, source: str) -> str:
    flows = summary["flows"]
    stages = ["planned", "negotiating", "signed", "started", "completed", "operating"]
    rows = "".join(f"<tr><td>{y}</td>" + "".join(f"<td>{f[s]:,}</td>" for s in stages) + "</tr>"
                   for y, f in flows.items())
    links = "".join(f'<li><a href="{href}">{html.escape(title)}</a> · '
                    f'<a href="{OFFICIAL}/{href}">领导版 for officials</a></li>' for href, title in pages)
    made = now_cst().isoformat(timespec="seconds")
    return f"""<!doctype html><html lang="zh"><head><meta charset="utf-8">
<title>{_TITLE}</title>
{_STYLE}</head>
<body><h1>{_TITLE}</h1>
<p>As of {summary['as_of']} · known at {summary['known_at'] or 'now'} · {summary['projects']['total']:,} projects
 · data: {html.escape(source)} · made {made}</p>
<h2>Stage flows by year · 各阶段年度流量</h2>
<table><tr><th>year</th>{''.join(f'<th>{s}</th>' for s in stages)}</tr>{rows}</table>
<h2>Notebooks · 分析报告</h2>
<p>Each notebook as the analyst runs it (code and all), and for officials (领导版: no code, formatted tables).</p>
<ul>{links}</ul></body></html>
"""
