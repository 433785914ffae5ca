"""An oracle for terminal output, independent of the escapers it checks: the characters a
terminal acts on or that reorder what it shows, by Unicode category and the Bidi_Control list."""

from __future__ import annotations

import unicodedata

# The Unicode Bidi_Control characters (ALM, LRM, RLM, LRE..RLO, LRI..PDI): they reorder text.
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def terminal_active(text: str, *, newlines_allowed: bool = True) -> list[str]:
    """The characters of ``text`` a terminal would act on or reorder: controls (C0, DEL, C1),
    bidi controls, line and paragraph separators, lone surrogates; ``\\n`` only when not allowed."""
    return [
        ch
        for ch in text
        if not (ch == "\n" and newlines_allowed)
        and (unicodedata.category(ch) in ("Cc", "Cs", "Zl", "Zp") or ch in BIDI_CONTROLS)
    ]
