"""The content model of a document: what it says, in order, with no layout. One model, several renderers
(:mod:`streams.documents.to_docx`, :mod:`streams.documents.to_html`), so they never disagree."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Heading:
    """``level`` 1: 一、… (黑体); 2: （一）… (楷体)."""

    text: str
    level: int = 1


@dataclass(frozen=True)
class Paragraph:
    """Body text (first line indented two characters); ``note``: smaller, for sources and explanations."""

    text: str
    note: bool = False


@dataclass(frozen=True)
class Table:
    """A table with a caption above it; ``numeric`` columns are right-aligned; only the ``wrap`` columns
    (by index; long text such as project names) may break over lines; ``note`` below it."""

    caption: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    numeric: tuple[bool, ...] = ()
    note: str | None = None
    wrap: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        for row in self.rows:
            if len(row) != len(self.columns):
                raise ValueError(f"table {self.caption!r}: a row of {len(row)} cells for {len(self.columns)} columns")

    def is_numeric(self, index: int) -> bool:
        return index < len(self.numeric) and self.numeric[index]


@dataclass(frozen=True)
class Figure:
    """A chart (PNG) with a caption below it, ``width_cm`` wide on the page."""

    caption: str
    png: bytes
    width_cm: float = 15.0


Block = Heading | Paragraph | Table | Figure


@dataclass(frozen=True)
class Document:
    title: str
    subtitle: str
    blocks: tuple[Block, ...]
    #: facts about the document (period, as of, ...) for file names and properties, never printed
    meta: dict = field(default_factory=dict)

    def tables(self) -> list[Table]:
        return [b for b in self.blocks if isinstance(b, Table)]
