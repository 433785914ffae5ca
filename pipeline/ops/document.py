"""A report as data, and its three renderers: terminal text, Markdown, one self-contained HTML page.

A :class:`Document` is a title, a subtitle and :class:`Section` s; a section holds blocks
(:class:`Table`, :class:`Check`, :class:`Paragraph`, :class:`Charts`, :class:`ItemLists`). Each
renderer walks the same sections, so a section or block added to a document shows in every
format; a block meant for some formats only says so (``formats``). Every value from a feed goes
through the escaper of the format (:mod:`pipeline.ops.escape`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape

from pipeline.ops.common import md_table, table
from pipeline.ops.escape import md_text, term_text

TEXT, MARKDOWN, HTML = "text", "markdown", "html"
ALL_FORMATS: frozenset[str] = frozenset({TEXT, MARKDOWN, HTML})


@dataclass(frozen=True, slots=True)
class Table:
    """A table; ``right``: the right-aligned columns; ``id``: the HTML element's id."""

    head: Sequence[str]
    rows: list[list[object]]
    right: tuple[int, ...] = ()
    id: str = ""
    formats: frozenset[str] = ALL_FORMATS


@dataclass(frozen=True, slots=True)
class Check:
    """A verdict line: whether the figures add up (``ok``) and the line that says so."""

    text: str
    ok: bool
    id: str
    formats: frozenset[str] = ALL_FORMATS


@dataclass(frozen=True, slots=True)
class Paragraph:
    """A line of prose."""

    text: str
    formats: frozenset[str] = ALL_FORMATS


@dataclass(frozen=True, slots=True)
class Charts:
    """SVG charts side by side, each with its caption (HTML only: the other formats have the tables)."""

    charts: list[tuple[str, str]]  # (caption, SVG)
    formats: frozenset[str] = frozenset({HTML})


@dataclass(frozen=True, slots=True)
class ItemLists:
    """Titled lists of lines (e.g. the change lists). Terminal text gives every list with its count;
    Markdown and HTML a summary table (``summary_head``) and then each list that is not empty."""

    lists: list[tuple[str, list[str]]]
    summary_head: tuple[str, str]
    id: str = ""
    formats: frozenset[str] = ALL_FORMATS


Block = Table | Check | Paragraph | Charts | ItemLists


@dataclass(frozen=True, slots=True)
class Section:
    """A headed part of a document. ``lead`` is a line under the heading (on the heading's line in
    terminal text); ``text_title`` replaces the heading in terminal text, where it says more."""

    title: str
    blocks: list[Block] = field(default_factory=list)
    lead: str | None = None
    text_title: str | None = None

    def shown(self, fmt: str) -> list[Block]:
        """The blocks a format shows."""
        return [b for b in self.blocks if fmt in b.formats]


@dataclass(frozen=True, slots=True)
class Document:
    """A whole report: title, subtitle, sections; ``footer`` and ``css`` are the HTML page's."""

    title: str
    subtitle: str
    sections: list[Section]
    footer: str = ""
    css: str = ""


# --------------------------------------------------------------------------- terminal text


def _text_block(block: Block) -> list[str]:
    if isinstance(block, Table):
        return [table(block.head, block.rows, right=block.right)]
    if isinstance(block, Check):
        return [term_text(block.text)]
    if isinstance(block, Paragraph):
        return [term_text(block.text)]
    if isinstance(block, ItemLists):
        out: list[str] = []
        for title, lines in block.lists:
            out.append(f"  {title}: {len(lines)}")
            out += [f"    {term_text(line)}" for line in lines]
        return out
    return []


def render_text(doc: Document) -> str:
    """The document as terminal text: a heading line per section, its blocks right under it."""
    out = [doc.title, doc.subtitle]
    for section in doc.sections:
        heading = section.text_title or (
            f"{section.title} {section.lead}" if section.lead is not None else section.title
        )
        out += ["", heading]
        for block in section.shown(TEXT):
            out += _text_block(block)
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- Markdown


def _md_block(block: Block) -> list[str]:
    if isinstance(block, Table):
        return [md_table(block.head, block.rows, right=block.right)]
    if isinstance(block, Check):
        return [f"**{md_text(block.text)}**"]
    if isinstance(block, Paragraph):
        return [md_text(block.text, line_start=True)]
    if isinstance(block, ItemLists):
        if not block.lists:
            return []
        out = [md_table(list(block.summary_head), [[t, len(i)] for t, i in block.lists], right=(1,))]
        for title, lines in block.lists:
            if lines:
                out += ["", f"### {title} ({len(lines)})", ""]
                out += [f"- {md_text(line, line_start=True)}" for line in lines]
        return out
    return []


def render_markdown(doc: Document) -> str:
    """The document as Markdown: ``#`` title, ``##`` sections, a blank line between blocks."""
    out = [f"# {doc.title}", "", f"_{md_text(doc.subtitle)}_"]
    for section in doc.sections:
        out += ["", f"## {section.title}"]
        if section.lead is not None:
            out += ["", md_text(section.lead, line_start=True)]
        for block in section.shown(MARKDOWN):
            out += ["", *_md_block(block)]
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- HTML


def _html(value: object) -> str:
    return escape(term_text(value))


def html_table(
    headers: Sequence[str],
    rows: list[list[object]],
    right: tuple[int, ...] = (),
    *,
    id_: str = "",
) -> str:
    """An HTML table; a row whose first cell is ``total`` is the totals row."""
    attr = f' id="{id_}"' if id_ else ""
    head = "".join(f"<th{' class=n' if i in right else ''}>{_html(h)}</th>" for i, h in enumerate(headers))
    body = []
    for row in rows:
        cls = ' class="total"' if row and row[0] == "total" else ""
        cells = "".join(f"<td{' class=n' if i in right else ''}>{_html(c)}</td>" for i, c in enumerate(row))
        body.append(f"<tr{cls}>{cells}</tr>")
    return f"<table{attr}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _html_block(block: Block) -> list[str]:
    if isinstance(block, Table):
        return [html_table(list(block.head), block.rows, block.right, id_=block.id)]
    if isinstance(block, Check):
        cls = "ok" if block.ok else "failed"
        return [f'<p id="{block.id}" class="check {cls}">{_html(block.text)}</p>']
    if isinstance(block, Paragraph):
        return [f"<p class=sub>{escape(block.text)}</p>"]
    if isinstance(block, Charts):
        out = ['<div class="charts">']
        for n, (caption, svg) in enumerate(block.charts):
            out += [f"{'</figure>' if n else ''}<figure><figcaption>{escape(caption)}</figcaption>", svg]
        return [*out, "</figure></div>"]
    if not block.lists:
        return []
    out = [html_table(list(block.summary_head), [[t, len(i)] for t, i in block.lists], (1,), id_=block.id)]
    for title, lines in block.lists:
        if lines:
            out.append(f"<h3>{escape(title)} ({len(lines)})</h3><ul>")
            out += [f"<li>{_html(line)}</li>" for line in lines]
            out.append("</ul>")
    return out


def render_html(doc: Document) -> str:
    """The document as one self-contained HTML page: inline CSS and SVG, no scripts or assets."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(doc.title)}</title><style>{doc.css}</style></head><body>",
        f"<h1>{escape(doc.title)}</h1><p class=sub>{escape(doc.subtitle)}</p>",
    ]
    for section in doc.sections:
        lead = f"<p class=sub>{escape(section.lead)}</p>" if section.lead is not None else ""
        parts.append(f"<h2>{escape(section.title)}</h2>{lead}")
        for block in section.shown(HTML):
            parts += _html_block(block)
    if doc.footer:
        parts.append(f"<p class=sub>{escape(doc.footer)}</p>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
