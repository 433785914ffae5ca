"""Escapers for the text Reunify writes for a person or a program to read back.

Names, record ids, facility names and ports come from the agencies' systems as they were typed
(or planted): a feed value must never act on the reader of an output. Each output format has
one escaper here, applied by its writers to every value that came from a feed:

* :func:`csv_cell` — a spreadsheet runs a cell that starts with ``=``, ``+``, ``-`` or ``@``
  (after leading spaces too) or with a tab, CR, LF or NUL as a formula (OWASP's CSV injection
  guidance): such a text cell gets a leading ``'``. Numbers are never passed through it.
* :func:`md_text` — a Markdown table cell or list item: HTML is escaped (``<``, ``>``, ``&``,
  quotes), and so are the characters that would change the document's structure (``|``,
  backticks, link brackets, emphasis, a list or heading marker at the start of an item).
* :func:`term_text` — a terminal runs ESC sequences (retitle, clear, remap the character set),
  and C0/C1 controls and Unicode bidi overrides move or reorder what an operator reads: every
  such character is shown escaped (``\\x1b``, ``\\u202e``, ``\\n``), never sent raw.
* :func:`json_text` — JSON that may land on a terminal: the same characters as ``\\uXXXX``
  escapes, so the text decodes to exactly the value the feed sent.

:func:`term_text`, :func:`csv_cell` and :func:`json_text` are idempotent (their escapes are
printable ASCII, and a backslash is left as it is), so a whole rendered page may be passed through
:func:`term_text` again as a last line of defence; :func:`md_text` is applied once, at the cell.
"""

from __future__ import annotations

import html
import re
from typing import TextIO

# A spreadsheet evaluates a cell starting with one of these (tab, CR and LF can precede a formula)
_FORMULA_STARTS = frozenset("=+-@")
_CONTROL_STARTS = frozenset("\t\r\n\x00")

# What a terminal acts on or reorders: C0 controls, DEL, C1 controls, the bidi embedding,
# override and isolate controls (CVE-2021-42574), the line and paragraph separators, and lone
# surrogates (which cannot even be encoded for the terminal).
_UNSAFE_CLASS = "\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff"
_TERMINAL_UNSAFE = re.compile(f"[\n{_UNSAFE_CLASS}]")
_TERMINAL_UNSAFE_KEEP_NEWLINES = re.compile(f"[{_UNSAFE_CLASS}]")
# Inside JSON strings: the same set less what json.dumps already escapes (C0 controls).
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]")

# Markdown: characters that open code spans, links, emphasis or table cells anywhere in a line
# (a backslash too, or a value ending in one would escape the cell's closing pipe), ``_`` only
# at a word's edge (inside a word it is inert: ``no_parent_match``), and a block marker at the
# start of a list item (a heading, a nested list, a setext line, an ordered list number).
_MD_INLINE = re.compile(r"[\\`*~\[\]|$]|(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])")
_MD_LINE_START = re.compile(r"^(?:[#+=-]|(\d+)([.)]))")


_SHORT_ESCAPES = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _escaped(char: str) -> str:
    short = _SHORT_ESCAPES.get(char)
    if short is not None:
        return short
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def term_text(value: object, *, keep_newlines: bool = False) -> str:
    """``value`` as text safe to print on a terminal: every control character (C0 and C1, DEL),
    bidi control and line separator shown as ``\\xNN`` / ``\\uNNNN``. Newlines are escaped too
    (a value is one line), or kept with ``keep_newlines`` (for a whole rendered page)."""
    text = "" if value is None else str(value)
    pattern = _TERMINAL_UNSAFE_KEEP_NEWLINES if keep_newlines else _TERMINAL_UNSAFE
    return pattern.sub(lambda m: _escaped(m.group()), text)


def write_text(out: TextIO, text: str) -> None:
    """Write a rendered page for a person: :func:`term_text` over all of it (newlines kept), so
    no control character a renderer let through reaches the terminal or the file."""
    out.write(term_text(text, keep_newlines=True))


def csv_cell(value: str) -> str:
    """A text cell a spreadsheet reads as text: prefixed with ``'`` when it would start a formula.

    OWASP lists ``=``, ``+``, ``-``, ``@``, tab, CR and LF as a cell's dangerous first
    characters (ASVS adds NUL); a spreadsheet that trims leading spaces on import would see a
    formula behind them too, so the first character after leading whitespace counts as well.
    Pass text cells only: numbers (a negative ``days_unresolved``) are written as numbers.
    """
    if not value:
        return value
    if value[0] in _CONTROL_STARTS or value.lstrip()[:1] in _FORMULA_STARTS:
        return "'" + value
    return value


def md_text(value: object, *, line_start: bool = False) -> str:
    """``value`` as inert Markdown text for a table cell or, with ``line_start``, a list item
    (where a leading ``#``, ``-``, ``+``, ``=`` or ``1.`` would start a block).

    Controls and newlines are escaped as :func:`term_text` does (a cell stays one line, and a
    Markdown file shown on a terminal is safe too); HTML is escaped, quotes included; Markdown's
    active characters are backslash-escaped, which a renderer shows as the character itself.
    """
    text = html.escape(term_text(value), quote=True)
    text = _MD_INLINE.sub(lambda m: "\\" + m.group(), text)
    if line_start:
        text = _MD_LINE_START.sub(lambda m: f"{m[1]}\\{m[2]}" if m[1] else "\\" + m.group(), text, count=1)
    return text


def json_text(text: str) -> str:
    """JSON text (from ``json.dumps(..., ensure_ascii=False)``) with the characters a terminal
    acts on written as ``\\uXXXX`` escapes: it decodes to exactly the same value."""
    # JSON's own syntax is ASCII, so these characters can only be inside strings
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
