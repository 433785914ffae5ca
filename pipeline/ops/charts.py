"""Inline SVG charts for the HTML report: no scripts, no external assets, readable without CSS."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

COHORT_COLOURS: dict[str, str] = {"under_5": "#1b6ca8", "5_and_over": "#e07b39", "unknown": "#8a8a8a"}
LINE_COLOUR = "#c0392b"


def status_by_cohort(
    counts: Mapping[tuple[str, str], int], statuses: Sequence[str], cohorts: Sequence[str]
) -> str:
    """Grouped horizontal bars: one group per status, one bar per cohort, each bar labelled with its count."""
    label_w, bar_h, gap, plot_w = 210, 11, 10, 420
    group_h = bar_h * len(cohorts) + gap
    top = 34
    height = top + group_h * len(statuses) + 10
    width = label_w + plot_w + 60
    biggest = max([*counts.values(), 1])
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" id="chart-status-by-cohort" role="img" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'aria-label="Children per status and cohort">',
        "<title>Children per status and cohort</title>",
    ]
    x = label_w
    for cohort in cohorts:
        parts.append(
            f'<rect x="{x}" y="8" width="12" height="12" fill="{COHORT_COLOURS.get(cohort, "#444")}"/>'
            f'<text x="{x + 16}" y="18" font-size="12">{escape(cohort)}</text>'
        )
        x += 110
    for i, status in enumerate(statuses):
        y0 = top + i * group_h
        parts.append(
            f'<text x="{label_w - 8}" y="{y0 + bar_h * len(cohorts) / 2 + 4:.0f}" font-size="12" '
            f'text-anchor="end">{escape(status)}</text>'
        )
        for j, cohort in enumerate(cohorts):
            n = counts.get((status, cohort), 0)
            w = round(plot_w * n / biggest, 1)
            y = y0 + j * bar_h
            colour = COHORT_COLOURS.get(cohort, "#444")
            parts.append(
                f'<rect class="bar" data-status="{escape(status)}" data-cohort="{escape(cohort)}" '
                f'data-count="{n}" x="{label_w}" y="{y}" width="{max(w, 0.0)}" height="{bar_h - 1}" '
                f'fill="{colour}"><title>{escape(status)}, {escape(cohort)}: {n}</title></rect>'
            )
            if n:
                parts.append(f'<text x="{label_w + w + 4}" y="{y + bar_h - 2}" font-size="10">{n}</text>')
    parts.append("</svg>")
    return "".join(parts)


def unresolved_over_runs(points: Sequence[tuple[str, str, int, int]]) -> str:
    """A line of unresolved parent locations per succeeded run.

    ``points`` are (run id, label, unresolved, children), oldest first.
    """
    width, height = 700, 260
    left, right, top, bottom = 60, 60, 30, 50
    plot_w, plot_h = width - left - right, height - top - bottom
    most = max([p[2] for p in points] + [1])
    biggest = max(4, -(-most * 5 // 4))  # a quarter of headroom above the highest point
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" id="chart-unresolved-over-runs" role="img" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'aria-label="Unresolved parent locations over runs">',
        "<title>Unresolved parent locations over runs</title>",
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#333"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#333"/>',
    ]
    for frac in (0.0, 0.5, 1.0):
        y = top + plot_h * (1 - frac)
        parts.append(
            f'<text x="{left - 6}" y="{y + 4:.0f}" font-size="10" text-anchor="end">'
            f"{round(biggest * frac)}</text>"
        )
    pad = 30  # keep the first and last points off the axes
    step = (plot_w - 2 * pad) / max(1, len(points) - 1)
    coords = []
    for i, (run_id, label, unresolved, children) in enumerate(points):
        x = left + (pad + i * step if len(points) > 1 else plot_w / 2)
        y = top + plot_h * (1 - unresolved / biggest)
        coords.append((x, y))
        parts.append(
            f'<circle class="point" data-run="{escape(run_id)}" data-unresolved="{unresolved}" '
            f'data-children="{children}" cx="{x:.1f}" cy="{y:.1f}" r="5" fill="{LINE_COLOUR}">'
            f"<title>{escape(label)}: {unresolved} of {children} unresolved</title></circle>"
        )
        parts.append(
            f'<text x="{x:.1f}" y="{y - 9:.1f}" font-size="11" text-anchor="middle">{unresolved}</text>'
        )
        parts.append(
            f'<text x="{x:.1f}" y="{top + plot_h + 16}" font-size="10" text-anchor="middle">'
            f"{escape(label)}</text>"
        )
    if len(coords) > 1:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        parts.insert(4, f'<polyline points="{path}" fill="none" stroke="{LINE_COLOUR}" stroke-width="3"/>')
    parts.append(
        f'<text x="{left + plot_w / 2:.0f}" y="{height - 8}" font-size="11" text-anchor="middle">'
        "succeeded runs (report date)</text>"
    )
    parts.append("</svg>")
    return "".join(parts)
