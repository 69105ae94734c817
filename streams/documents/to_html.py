"""A :class:`streams.documents.model.Document` as one self-contained HTML page (charts inlined), styled as
GB/T 9704 lays out a document on A4 when printed (:mod:`streams.documents.to_pdf` prints it): the
fonts of :class:`streams.documents.fonts.FontPlan` first by their official names, then the installed
fallbacks; page numbers “— 1 —” at the foot of each printed page."""

from __future__ import annotations

import base64
import html
from pathlib import Path

from streams.documents.fonts import FontPlan
from streams.documents.model import Document, Figure, Heading, Paragraph, Table


def _css(fonts: FontPlan) -> str:
    title_weight = "bold" if fonts.title.bold else "normal"
    return f"""
@page {{ size: A4; margin: 37mm 26mm 35mm 28mm;
  @bottom-center {{ content: "— " counter(page) " —"; font-family: {fonts.body.css("body")}; font-size: 14pt; }} }}
html {{ background: #fff; }}
body {{ font-family: {fonts.body.css("body")}; font-size: 16pt; line-height: 28pt; color: #000;
  max-width: 156mm; margin: 0 auto; }}
h1 {{ font-family: {fonts.title.css("title")}; font-size: 22pt; font-weight: {title_weight}; line-height: 36pt;
  text-align: center; margin: 0 0 6pt; }}
p.subtitle {{ font-family: {fonts.subheading.css("subheading")}; text-align: center; text-indent: 0; margin: 0 0 28pt; }}
h2 {{ font-family: {fonts.heading.css("heading")}; font-size: 16pt; font-weight: normal; text-indent: 2em; margin: 0; }}
h3 {{ font-family: {fonts.subheading.css("subheading")}; font-size: 16pt; font-weight: normal; text-indent: 2em; margin: 0; }}
h2, h3, .caption {{ break-after: avoid; }}
p {{ text-indent: 2em; margin: 0; text-align: justify; }}
p.note {{ font-size: 12pt; line-height: 18pt; text-indent: 0; margin: 3pt 0 8pt; }}
.caption {{ font-family: {fonts.heading.css("heading")}; font-size: 12pt; line-height: 18pt; text-align: center;
  text-indent: 0; margin: 8pt 0 3pt; }}
table {{ border-collapse: collapse; margin: 0 auto; font-size: 10.5pt; line-height: 15pt; }}
table.wide {{ font-size: 9pt; line-height: 13pt; }}
th, td {{ border: 0.75pt solid #000; padding: 1.5pt 4pt; }}
th {{ font-weight: bold; text-align: center; }}
td {{ white-space: nowrap; }}
td.n {{ text-align: right; }}
td.w {{ white-space: normal; }}
table.keep {{ break-inside: avoid; }}
thead {{ display: table-header-group; }}
tr {{ break-inside: avoid; }}
figure {{ margin: 8pt 0; text-align: center; break-inside: avoid; }}
figure img {{ max-width: 100%; }}
"""


def _cell(table: Table, index: int, value: str) -> str:
    kind = "n" if table.is_numeric(index) else "w" if index in table.wrap else ""
    return f'<td class="{kind}">{html.escape(value)}</td>' if kind else f"<td>{html.escape(value)}</td>"


def _table(table: Table) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in table.columns)
    body = "".join("<tr>" + "".join(_cell(table, i, v) for i, v in enumerate(row)) + "</tr>" for row in table.rows)
    classes = [c for c, on in (("wide", len(table.columns) > 8), ("keep", len(table.rows) <= 12)) if on]
    attribute = f' class="{" ".join(classes)}"' if classes else ""
    note = f'<p class="note">{html.escape(table.note)}</p>' if table.note else ""
    return (f'<p class="caption">{html.escape(table.caption)}</p>'
            f"<table{attribute}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{note}")


def _figure(figure: Figure) -> str:
    data = base64.b64encode(figure.png).decode()
    return (f'<figure><img src="data:image/png;base64,{data}" style="width:{figure.width_cm}cm" '
            f'alt="{html.escape(figure.caption)}"><figcaption class="caption">{html.escape(figure.caption)}'
            f"</figcaption></figure>")


def render(document: Document, fonts: FontPlan) -> str:
    parts = [f"<h1>{html.escape(document.title)}</h1>", f'<p class="subtitle">{html.escape(document.subtitle)}</p>']
    for block in document.blocks:
        if isinstance(block, Heading):
            tag = "h2" if block.level == 1 else "h3"
            parts.append(f"<{tag}>{html.escape(block.text)}</{tag}>")
        elif isinstance(block, Paragraph):
            parts.append(f'<p class="note">{html.escape(block.text)}</p>' if block.note else
                         f"<p>{html.escape(block.text)}</p>")
        elif isinstance(block, Table):
            parts.append(_table(block))
        elif isinstance(block, Figure):
            parts.append(_figure(block))
        else:
            raise TypeError(f"no HTML rendering for {type(block).__name__}")
    return (f'<!DOCTYPE html>\n<html lang="zh-CN"><head><meta charset="utf-8"><title>{html.escape(document.title)}'
            f"</title><style>{_css(fonts)}</style></head><body>\n" + "\n".join(parts) + "\n</body></html>\n")


def write(document: Document, fonts: FontPlan, path: Path) -> Path:
    path.write_text(render(document, fonts), encoding="utf-8")
    return path
