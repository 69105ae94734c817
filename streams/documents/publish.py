"""Make a period's bulletin and write it: DOCX, HTML and PDF from one content model, and the full lists
as CSV attachments when the document shows only their first rows."""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from streams.core.rankings import DEFAULT_RULES, RankingRules
from streams.documents import bulletin, fonts as typefaces
from streams.documents.model import Document
from streams.documents.sources import BulletinData

FORMATS = ("docx", "pdf", "html")
#: the document's lists (red projects, colour changes, due milestones) show at most this many rows
LIST_LIMIT = 50


@dataclass
class Published:
    document: Document
    figures: bulletin.Figures
    fonts: typefaces.FontPlan
    files: dict[str, Path] = field(default_factory=dict)  #: format (or attachment name) -> path
    seconds: dict[str, float] = field(default_factory=dict)  #: step -> seconds
    view_file: Path | None = None  #: the view it was made from (``bulletin-<period>.view.json``)


def parse_formats(text: str) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(f.strip().lower() for f in text.split(",") if f.strip()))
    unknown = [f for f in chosen if f not in FORMATS]
    if unknown or not chosen:
        raise ValueError(f"formats {text!r}: a comma-separated list of {', '.join(FORMATS)}")
    return chosen


def publish(data: BulletinData, period: str, out: Path, formats: tuple[str, ...] = ("docx", "pdf"),
            font_mode: str = "auto", limit: int = LIST_LIMIT, rules: RankingRules = DEFAULT_RULES,
            with_charts: bool = True, view: dict | None = None, corrections: tuple[str, ...] = ()) -> Published:
    """Write the bulletin of ``period`` into ``out`` as ``bulletin-<period>.<format>`` for each format.

    ``view``: what it was made from (as-of, known-at, the log it read); with it, the document records that
    view and the figures it prints in its DOCX properties and in ``bulletin-<period>.view.json`` beside it, so
    that it can be reproduced (``funnel bulletin --reproduce``). ``corrections``: its 数据更正 sentences."""
    from streams.documents import charts, to_docx, to_html, to_pdf

    clock = time.perf_counter()
    seconds: dict[str, float] = {}

    def lap(step: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        seconds[step] = round(now - clock, 3)
        clock = now

    figures = bulletin.figures(data, period, rules)
    if view is not None:
        view = {**view, "period": figures.period, "figures": printed_figures(data, figures)}
        figures.meta = figures.meta | {"view": view}
    lap("figures")
    pictures = charts.charts(figures) if with_charts else {}
    lap("charts")
    document = bulletin.content(figures, limit, pictures, corrections)
    plan = typefaces.plan(font_mode)
    published = Published(document, figures, plan, seconds=seconds)
    out.mkdir(parents=True, exist_ok=True)
    stem = f"bulletin-{figures.period}"
    if view is not None:
        published.view_file = out / f"{stem}.view.json"
        published.view_file.write_text(json.dumps(view, ensure_ascii=False, indent=2, sort_keys=True) + "\n",
                                           encoding="utf-8")
    if "docx" in formats:
        published.files["docx"] = to_docx.write(document, plan, out / f"{stem}.docx")
        lap("docx")
    if "html" in formats or "pdf" in formats:
        html_file = out / f"{stem}.html"
        with tempfile.TemporaryDirectory(prefix="funnel-bulletin-") as scratch:
            page = to_html.write(document, plan, html_file if "html" in formats else Path(scratch) / f"{stem}.html")
            lap("html")
            if "html" in formats:
                published.files["html"] = page
            if "pdf" in formats:
                published.files["pdf"] = to_pdf.print_pdf(page, out / f"{stem}.pdf")
                lap("pdf")
    for name, frame in bulletin.attachments(figures).items():
        if frame.height > limit:
            path = out / f"{stem}-附件-{name}.csv"
            frame.write_csv(path, include_bom=True)
            published.files[f"附件:{name}"] = path
    return published


def printed_figures(data: BulletinData, figures: bulletin.Figures) -> dict:
    """What a bulletin's view records of its figures: the summary's it was made from and those it prints."""
    from streams.core.restatement import flatten

    flat = {k: v for k, v in flatten(data.summary).items()
            if k not in ("as_of", "known_at") and not k.startswith(("read_up_to", "not_visible_yet", "held_back"))}
    return flat | bulletin.printed(figures)
