"""The evidence of a link as a waterfall of match weights, as Splink draws it: each comparison's
weight (log2 of its Bayes factor, as the matcher writes it into the evidence) stacked from zero,
then what the evidence does not list (the prior, the weights under 0.5 and the competition of
the other candidates), ending at the posterior's log-odds. Inline SVG, no script."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

_WEIGHT = re.compile(r"^(?P<label>.*?)\s*\((?P<w>[+-]\d+(?:\.\d+)?)\)\s*$")


@dataclass(frozen=True, slots=True)
class Bar:
    """One step of the waterfall: its label, its weight, and where it starts and ends."""

    label: str
    weight: float
    start: float
    end: float
    kind: str  # comparison | rest | posterior


def log_odds(p: float) -> float:
    """log2(p / (1 - p)), kept finite at 0 and 1."""
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log2(p / (1 - p))


def bars(evidence: Sequence[str], match_score: float) -> tuple[list[Bar], list[str]]:
    """The waterfall's bars and the evidence lines that carry no weight (notes)."""
    out: list[Bar] = []
    notes: list[str] = []
    total = 0.0
    for line in evidence:
        m = _WEIGHT.match(str(line))
        if m is None:
            notes.append(str(line))
            continue
        w = float(m.group("w"))
        out.append(Bar(m.group("label"), w, total, total + w, "comparison"))
        total += w
    final = log_odds(match_score)
    rest = final - total
    out.append(Bar("prior, small weights and the other candidates", rest, total, final, "rest"))
    out.append(Bar(f"posterior: match score {match_score:.3f}", final, 0.0, final, "posterior"))
    return out, notes


def render(evidence: Sequence[str], match_score: float, title_id: str = "waterfall-title") -> str:
    """The waterfall as an accessible inline SVG (a title, and each bar's weight as text);
    ``title_id`` must be unique on the page (the review page draws one per candidate)."""
    steps, _ = bars(evidence, match_score)
    lo = min(0.0, *(min(b.start, b.end) for b in steps))
    hi = max(0.0, *(max(b.start, b.end) for b in steps))
    span = (hi - lo) or 1.0
    label_w, plot_w, row_h, top = 480, 360, 22, 10
    width, height = label_w + plot_w + 70, top + row_h * len(steps) + 24

    def x(v: float) -> float:
        return label_w + (v - lo) / span * plot_w

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="waterfall" role="img" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" aria-labelledby="{escape(title_id)}">',
        f'<title id="{escape(title_id)}">Match weights of the chosen parent, from the evidence to the '
        "posterior</title>",
        f'<line x1="{x(0):.1f}" y1="{top - 4}" x2="{x(0):.1f}" y2="{height - 18}" class="axis"/>',
    ]
    for i, b in enumerate(steps):
        y = top + i * row_h
        left, right = sorted((x(b.start), x(b.end)))
        cls = b.kind if b.kind != "comparison" else ("for" if b.weight >= 0 else "against")
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 15}" text-anchor="end" class="label">{escape(b.label)}</text>'
            f'<rect class="bar {cls}" data-weight="{b.weight:.2f}" x="{left:.1f}" y="{y + 3}" '
            f'width="{max(right - left, 1.0):.1f}" height="{row_h - 6}"><title>{escape(b.label)}: '
            f"{b.weight:+.1f}</title></rect>"
            f'<text x="{right + 4:.1f}" y="{y + 15}" class="value">{b.weight:+.1f}</text>'
        )
    parts.append(
        f'<text x="{label_w}" y="{height - 4}" class="value">'
        "weights in bits (log2 of the Bayes factor)</text>"
    )
    parts.append("</svg>")
    return "".join(parts)
