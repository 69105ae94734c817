"""A :class:`streams.documents.model.Document` as Word (python-docx), laid out as GB/T 9704 lays out an
official document: A4, margins 37/35/28/26 mm, title in 方正小标宋简体 二号 (22 pt), body in 仿宋_GB2312
三号 (16 pt) at a fixed 28 pt line, first-level headings in 黑体 and second-level ones in 楷体, page
numbers “— 1 —” in the footer; tables and notes smaller. Chinese text needs its font on the run's
``w:rFonts/@w:eastAsia`` (python-docx's ``font.name`` sets only ``ascii``/``hAnsi``), set here on
every style used.
"""

from __future__ import annotations

import io
import json
from datetime import datetime, time
from pathlib import Path

from docx import Document as new_document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

from streams.core.clock import CST
from streams.documents.fonts import FontPlan, Typeface
from streams.documents.model import Document, Figure, Heading, Paragraph, Table

AUTHOR = "二七区招商引资项目管理"
BODY_PT, TITLE_PT, TABLE_PT, WIDE_TABLE_PT, NOTE_PT, LINE_PT = 16, 22, 10.5, 9, 12, 28
BLACK = RGBColor(0, 0, 0)
TEXT_WIDTH_CM = 21 - 2.8 - 2.6


def set_typeface(element, face: Typeface) -> None:
    """The typeface of a style or run element for every script (East Asian included), theme fonts removed."""
    rpr = element.get_or_add_rPr()
    fonts = rpr.get_or_add_rFonts()
    for attribute in ("asciiTheme", "hAnsiTheme", "eastAsiaTheme", "cstheme"):
        fonts.attrib.pop(qn(f"w:{attribute}"), None)
    for attribute in ("ascii", "hAnsi", "eastAsia", "cs"):
        fonts.set(qn(f"w:{attribute}"), face.name)


def _style(doc, name: str, face: Typeface, size: float, *, bold: bool = False, align=None, indent: bool = False,
           exact: float | None = None, before: float = 0, after: float = 0, base: str | None = None):
    styles = doc.styles
    style = styles[name] if name in [s.name for s in styles] else styles.add_style(name, 1)
    if base:
        style.base_style = styles[base]
    font = style.font
    font.size, font.bold, font.italic, font.color.rgb = Pt(size), bold or face.bold, False, BLACK
    set_typeface(style.element, face)
    fmt = style.paragraph_format
    fmt.space_before, fmt.space_after = Pt(before), Pt(after)
    if exact:
        fmt.line_spacing_rule, fmt.line_spacing = WD_LINE_SPACING.EXACTLY, Pt(exact)
    else:
        fmt.line_spacing_rule = WD_LINE_SPACING.SINGLE
    fmt.first_line_indent = Pt(2 * size) if indent else Pt(0)
    if align is not None:
        fmt.alignment = align
    return style


def _styles(doc, fonts: FontPlan) -> None:
    _style(doc, "Normal", fonts.body, BODY_PT, indent=True, exact=LINE_PT, align=WD_ALIGN_PARAGRAPH.JUSTIFY)
    title = _style(doc, "Title", fonts.title, TITLE_PT, align=WD_ALIGN_PARAGRAPH.CENTER, exact=36, after=6)
    border = title.element.pPr.find(qn("w:pBdr"))  # the template's title has a rule under it
    if border is not None:
        title.element.pPr.remove(border)
    _style(doc, "Subtitle", fonts.subheading, BODY_PT, align=WD_ALIGN_PARAGRAPH.CENTER, exact=LINE_PT, after=LINE_PT)
    _style(doc, "Heading 1", fonts.heading, BODY_PT, indent=True, exact=LINE_PT)
    _style(doc, "Heading 2", fonts.subheading, BODY_PT, indent=True, exact=LINE_PT)
    _style(doc, "Caption", fonts.heading, NOTE_PT, align=WD_ALIGN_PARAGRAPH.CENTER, before=6, after=3)
    _style(doc, "Note", fonts.body, NOTE_PT, align=WD_ALIGN_PARAGRAPH.LEFT, before=3, after=6)
    _style(doc, "Table Text", fonts.body, TABLE_PT)
    _style(doc, "Wide Table Text", fonts.body, WIDE_TABLE_PT)
    # python-docx's template also keeps 'Heading 1 Char' etc. with theme fonts: keep them in step
    for name, face in (("Heading 1 Char", fonts.heading), ("Heading 2 Char", fonts.subheading),
                       ("Title Char", fonts.title)):
        if name in [s.name for s in doc.styles]:
            set_typeface(doc.styles[name].element, face)
            doc.styles[name].font.color.rgb = BLACK


def _page(doc, fonts: FontPlan) -> None:
    section = doc.sections[0]
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    section.top_margin, section.bottom_margin = Cm(3.7), Cm(3.5)
    section.left_margin, section.right_margin = Cm(2.8), Cm(2.6)
    footer = section.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    footer.paragraph_format.first_line_indent = Pt(0)
    footer.add_run("— ")
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), "PAGE")
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "1"
    run.append(text)
    field.append(run)
    footer._p.append(field)
    footer.add_run(" —")
    for r in footer.runs:
        r.font.size = Pt(14)
        set_typeface(r._element, fonts.body)


def _repeat_header(row) -> None:
    properties = row._tr.get_or_add_trPr()
    header = OxmlElement("w:tblHeader")
    header.set(qn("w:val"), "true")
    properties.append(header)


def _display_width(text: str) -> int:
    """How wide a text is, in half-width characters (a Chinese character counts two)."""
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)


def column_widths(table: Table, total_cm: float = TEXT_WIDTH_CM) -> list[float]:
    """Columns as wide as their longest cell (a header may take two lines), scaled to the text width."""
    natural = []
    for i, header in enumerate(table.columns):
        cells = [_display_width(row[i]) for row in table.rows]
        longest = max(cells, default=0)
        if i in table.wrap:  # long text shares what is left: at most half the page
            longest = min(longest, 40)
        natural.append(max(longest + 3, -(-_display_width(header) // 2) + 2, 6))  # + the cell's margins
    scale = total_cm / sum(natural)
    return [w * scale for w in natural]


def _table(doc, table: Table) -> None:
    doc.add_paragraph(table.caption, style="Caption").paragraph_format.keep_with_next = True
    style_id = doc.styles["Wide Table Text" if len(table.columns) > 8 else "Table Text"].style_id
    grid = doc.add_table(rows=0, cols=len(table.columns))
    grid.style = doc.styles["Table Grid"]
    grid.alignment = WD_TABLE_ALIGNMENT.CENTER
    grid.autofit = False
    widths = [Cm(w) for w in column_widths(table)]
    for column, width in zip(grid.columns, widths):
        column.width = width
    for r, values in enumerate((table.columns, *table.rows)):
        row = grid.add_row()  # row by row: python-docx's table.cell(r, c) walks the whole table each time
        if r == 0:
            _repeat_header(row)
        for c, (cell, value) in enumerate(zip(row.cells, values)):
            cell.width = widths[c]
            paragraph = cell.paragraphs[0]
            paragraph._p.style = style_id  # by id: looking a style up by name takes milliseconds
            run = paragraph.add_run(value)
            if r == 0:
                run.bold = True
                paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
            else:
                paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT if table.is_numeric(c) else WD_ALIGN_PARAGRAPH.LEFT
    doc.add_paragraph(table.note or "", style="Note")


def _figure(doc, figure: Figure) -> None:
    doc.add_picture(io.BytesIO(figure.png), width=Cm(figure.width_cm))
    picture = doc.paragraphs[-1]
    picture.alignment = WD_ALIGN_PARAGRAPH.CENTER
    picture.paragraph_format.first_line_indent = Pt(0)
    picture.paragraph_format.line_spacing_rule = WD_LINE_SPACING.SINGLE
    picture.paragraph_format.keep_with_next = True
    doc.add_paragraph(figure.caption, style="Caption")


def render(document: Document, fonts: FontPlan) -> bytes:
    """The document as a .docx file's bytes."""
    doc = new_document()
    _styles(doc, fonts)
    _page(doc, fonts)
    doc.add_paragraph(document.title, style="Title")
    doc.add_paragraph(document.subtitle, style="Subtitle")
    for block in document.blocks:
        if isinstance(block, Heading):
            doc.add_paragraph(block.text, style="Heading 1" if block.level == 1 else "Heading 2")
        elif isinstance(block, Paragraph):
            doc.add_paragraph(block.text, style="Note" if block.note else "Normal")
        elif isinstance(block, Table):
            _table(doc, block)
        elif isinstance(block, Figure):
            _figure(doc, block)
        else:
            raise TypeError(f"no Word rendering for {type(block).__name__}")
    props = doc.core_properties
    props.title, props.author, props.last_modified_by = document.title, AUTHOR, AUTHOR
    props.comments = props.keywords = props.subject = ""
    props.category, props.language = "通报", "zh-CN"
    if "view" in document.meta:  # what the document was made from, to reproduce it (docs/restatements.md)
        props.keywords = "funnel-view"
        props.comments = _view_text(document.meta["view"])
    if "end" in document.meta:  # the same data give the same file
        made = datetime.combine(datetime.fromisoformat(document.meta["end"]).date(), time(), CST)
        props.created = props.modified = made
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


#: Word's core properties hold at most this many characters each
_PROPERTY_LIMIT = 255


def _view_text(view: dict) -> str:
    """The view a bulletin was made from, for its ``comments`` property: as-of, known-at and the log's offsets
    (its figures are in the ``.view.json`` beside it); only the view and that file's name when it is too long."""
    short = {k: v for k, v in view.items() if k != "figures"}
    for doc in (short, {k: v for k, v in short.items() if k != "source"},
                {k: short.get(k) for k in ("period", "as_of", "known_at")}
                | {"view_file": f"bulletin-{short.get('period')}.view.json"}):
        text = json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        if len(text) <= _PROPERTY_LIMIT:
            return text
    return text[:_PROPERTY_LIMIT]


def write(document: Document, fonts: FontPlan, path: Path) -> Path:
    path.write_bytes(render(document, fonts))
    return path
