"""``reunify runs``: the run history, one row per run: trigger, start, duration, outcome, records
per feed, quarantined records, error."""

from __future__ import annotations

from collections.abc import Sequence

from pipeline.ops.common import table
from pipeline.settings import FEEDS as FEED_NAMES
from pipeline.store import RunInfo


def duration(run: RunInfo) -> str:
    """How long the run took (or has been running, to its last heartbeat), in seconds."""
    end = run.finished_at or run.heartbeat_at
    seconds = (end - run.started_at).total_seconds()
    return f"{seconds:.1f}s" + ("" if run.finished_at else "+")


def render_runs(runs: Sequence[RunInfo]) -> str:
    """The runs as a terminal table, newest first."""
    head = ["run", "trigger", "started (UTC)", "duration", "outcome", "report date", "children"]
    head += [f"{feed} records" for feed in FEED_NAMES] + ["quarantined", "error"]
    rows = []
    for run in runs:
        counts = [run.counts[f].valid if f in run.counts else "-" for f in FEED_NAMES]
        quarantined = sum(c.quarantined for c in run.counts.values())
        detail = ", ".join(f"{f} {c.quarantined}" for f, c in sorted(run.counts.items()) if c.quarantined)
        rows.append(
            [
                run.id,
                run.trigger,
                run.started_at.strftime("%Y-%m-%d %H:%M:%S"),
                duration(run),
                run.status if run.status != "running" else f"running ({run.stage or 'starting'})",
                run.as_of.isoformat(),
                "-" if run.results_count is None else run.results_count,
                *counts,
                f"{quarantined} ({detail})" if detail else quarantined,
                run.error or "",
            ]
        )
    right = tuple(range(6, 6 + len(FEED_NAMES) + 1))
    return table(head, rows, right=right) + "\n"
