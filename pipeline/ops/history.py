"""``reunify runs``: the run history, one row per run: trigger, start, duration, outcome, records
per feed, quarantined records, accepted drops, error; then each accepted drop with who, when, why.
``reunify show RUN``: one run in full, with every publish gate's verdict on every feed."""

from __future__ import annotations

from collections.abc import Sequence

from pipeline.gates import describe_acceptance
from pipeline.ops.common import table
from pipeline.settings import FEEDS as FEED_NAMES
from pipeline.store import GateCheck, RunInfo


def duration(run: RunInfo) -> str:
    """How long the run took (or has been running, to its last heartbeat), in seconds."""
    end = run.finished_at or run.heartbeat_at
    seconds = (end - run.started_at).total_seconds()
    return f"{seconds:.1f}s" + ("" if run.finished_at else "+")


def _outcome(run: RunInfo) -> str:
    return run.outcome if run.status != "running" else f"running ({run.stage or 'starting'})"


def _accepted(runs: Sequence[RunInfo]) -> str:
    accepted = [(run.id, a) for run in runs for a in run.acceptances]
    if not accepted:
        return ""
    lines = "".join(f"  run {run_id}: {describe_acceptance(a)}\n" for run_id, a in accepted)
    return "\naccepted drops (reunify run --accept-drop):\n" + lines


def render_runs(runs: Sequence[RunInfo]) -> str:
    """The runs as a terminal table, newest first, then the drops operators accepted."""
    head = ["run", "trigger", "started (UTC)", "duration", "outcome", "report date", "children"]
    head += [f"{feed} records" for feed in FEED_NAMES] + ["quarantined", "accepted drop", "error"]
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
                _outcome(run),
                run.as_of.isoformat(),
                "-" if run.results_count is None else run.results_count,
                *counts,
                f"{quarantined} ({detail})" if detail else quarantined,
                ", ".join(a.feed for a in run.acceptances) or "-",
                run.error or "",
            ]
        )
    right = tuple(range(6, 6 + len(FEED_NAMES) + 1))
    return table(head, rows, right=right) + "\n" + _accepted(runs)


def _fraction(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def render_run(run: RunInfo, checks: Sequence[GateCheck]) -> str:
    """One run for ``reunify show RUN``: outcome, timing, records per feed, the publish gates'
    verdicts (passed, refused, accepted, with their numbers), accepted drops, error."""
    children = "-" if run.results_count is None else run.results_count
    out = [
        f"run {run.id}: {_outcome(run)}, trigger {run.trigger}, mode {run.mode}, stage {run.stage or '-'}",
        f"started {run.started_at:%Y-%m-%d %H:%M:%S} UTC, duration {duration(run)}, "
        f"report date {run.as_of.isoformat()}, children {children}",
        "",
        "records",
        table(
            ["feed", "fetched", "valid", "quarantined"],
            [[f, c.fetched, c.valid, c.quarantined] for f in FEED_NAMES if (c := run.counts.get(f))],
            right=(1, 2, 3),
        ),
        "",
    ]
    if checks:
        baseline = next((c.baseline_run_id for c in checks if c.baseline_run_id), None)
        out.append(
            "publish gates (against the last good run "
            + (f"{baseline})" if baseline else "- none: the store's first run)")
        )
        rows = [
            [c.gate, c.feed, c.outcome, _fraction(c.measured), _fraction(c.threshold), c.detail]
            for c in checks
        ]
        out.append(table(["gate", "feed", "outcome", "measured", "threshold", "detail"], rows, right=(3, 4)))
    else:
        out.append("publish gates: none recorded (the run did not reach its publish stage)")
    out.append("")
    out.append("accepted drops:" if run.acceptances else "accepted drops: none")
    out += [f"  {describe_acceptance(a)}" for a in run.acceptances]
    if run.error:
        out += ["", f"error: {run.error}"]
    return "\n".join(out) + "\n"
