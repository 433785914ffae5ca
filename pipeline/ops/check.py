"""``reunify status --check`` (a Nagios-style check) and the JSON forms of runs for scripts.

The check reads the store and answers in one line, with the plugin convention's exit code:
0 OK, 1 WARNING (the last success is older than the warning threshold), 2 CRITICAL (the last run
that ended failed or was refused by the publish gates, no run ever succeeded, or the last success
is older than the critical threshold; a run an operator cancelled is passed over: it neither failed
nor succeeded), 3 UNKNOWN (the store cannot be read or holds no run yet).
Thresholds default to 1.5× and 2× the schedule interval (the longest gap between two slots of
``REUNIFY_SCHEDULE_CRON``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pipeline.errors import ReunifyError
from pipeline.metrics import run_outcome
from pipeline.notify import scrub
from pipeline.ops.escape import term_text
from pipeline.settings import Settings
from pipeline.store import RunInfo, Store

OK, WARNING, CRITICAL, UNKNOWN = 0, 1, 2, 3
STATE_NAMES = {OK: "OK", WARNING: "WARNING", CRITICAL: "CRITICAL", UNKNOWN: "UNKNOWN"}
WARNING_FACTOR, CRITICAL_FACTOR = 1.5, 2.0
_ERROR_CHARS = 200


@dataclass(frozen=True)
class CheckResult:
    """The check's state (exit code), one-line message and performance data."""

    code: int
    message: str
    perfdata: dict[str, str] = field(default_factory=dict)
    last_run: RunInfo | None = None
    last_success: RunInfo | None = None

    @property
    def state(self) -> str:
        return STATE_NAMES[self.code]

    def line(self) -> str:
        """``REUNIFY OK - message | key=value ...`` (the Nagios plugin output line)."""
        perf = " ".join(f"{k}={v}" for k, v in self.perfdata.items())
        return f"REUNIFY {self.state} - {self.message}" + (f" | {perf}" if perf else "")

    def as_dict(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "code": self.code,
            "message": self.message,
            "perfdata": dict(self.perfdata),
            "last_run": run_dict(self.last_run) if self.last_run else None,
            "last_success": run_dict(self.last_success) if self.last_success else None,
        }


def thresholds(
    settings: Settings, warning_hours: float | None, critical_hours: float | None
) -> tuple[float, float]:
    """The warning and critical ages of the last success, in seconds (defaults from the schedule)."""
    interval = settings.schedule.interval.total_seconds()
    warning = warning_hours * 3600.0 if warning_hours is not None else WARNING_FACTOR * interval
    critical = critical_hours * 3600.0 if critical_hours is not None else CRITICAL_FACTOR * interval
    return warning, critical


def _one_line(text: str | None) -> str:
    # one line a monitoring system can show: feed text in an error may carry control characters
    clean = term_text(" ".join((scrub(text) or "no reason recorded").split()))
    return clean if len(clean) <= _ERROR_CHARS else clean[: _ERROR_CHARS - 1] + "…"


def _age(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def check_status(store: Store, warning_seconds: float, critical_seconds: float) -> CheckResult:
    """The state of the pipeline as the store knows it (see the module docstring)."""
    try:
        now = store.now()
        recent = store.list_runs(limit=5)
        success = store.latest_succeeded_run()
    except ReunifyError as exc:
        return CheckResult(UNKNOWN, f"cannot read the store: {_one_line(str(exc))}")
    if not recent:
        return CheckResult(UNKNOWN, "the store holds no run yet: run `reunify run` or start celery beat")
    # a cancelled run (`reunify cancel`) says nothing about the pipeline's health: the run before it does
    ended = next((r for r in recent if r.status != "running" and not r.cancelled), None)
    latest = next((r for r in recent if r.status != "running"), None)
    running = next((r for r in recent if r.status == "running"), None)
    perf: dict[str, str] = {"running": "1" if running else "0"}
    age = None
    if success is not None and success.finished_at is not None:
        age = max(0.0, (now - success.finished_at).total_seconds())
        perf = {"last_success_age": f"{age:.0f}s;{warning_seconds:.0f};{critical_seconds:.0f};0", **perf}
    in_progress = f"; run {running.id} in progress (stage {running.stage or 'fetch'})" if running else ""
    if latest is not None and latest.cancelled:
        in_progress += f"; last run {latest.id} cancelled"
    if ended is not None and run_outcome(ended) != "succeeded":
        since = "" if age is None else f"; last success {_age(age)} ago"
        return CheckResult(
            CRITICAL,
            f"last run {ended.id} ({ended.trigger}) {run_outcome(ended)} in stage {ended.stage or 'fetch'}: "
            f"{_one_line(ended.error)}{since}{in_progress}",
            perf,
            ended,
            success,
        )
    if success is None or age is None:
        if ended is None:
            return CheckResult(UNKNOWN, f"no run has ended yet{in_progress}", perf, None, None)
        return CheckResult(CRITICAL, f"no run has succeeded yet{in_progress}", perf, ended, None)
    what = f"last success {_age(age)} ago (run {success.id}, {success.trigger})"
    if age >= critical_seconds:
        return CheckResult(
            CRITICAL, f"{what}, over the critical {_age(critical_seconds)}{in_progress}", perf, ended, success
        )
    if age >= warning_seconds:
        return CheckResult(
            WARNING, f"{what}, over the warning {_age(warning_seconds)}{in_progress}", perf, ended, success
        )
    return CheckResult(OK, f"{what}{in_progress}", perf, ended, success)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def run_dict(run: RunInfo) -> dict[str, Any]:
    """A run as JSON for scripts: id, outcome, timings, records per feed, error (no personal data)."""
    end = run.finished_at
    return {
        "run_id": run.id,
        "outcome": run.outcome,
        "trigger": run.trigger,
        "mode": run.mode,
        "stage": run.stage,
        "as_of": run.as_of.isoformat(),
        "started_at": _iso(run.started_at),
        "finished_at": _iso(end),
        "duration_seconds": round((end - run.started_at).total_seconds(), 3) if end else None,
        "children": run.results_count,
        "error": run.error,
        "accepted_drops": [
            {"feed": a.feed, "who": a.who, "accepted_at": _iso(a.accepted_at), "why": a.why}
            for a in run.acceptances
        ],
        "counts": {
            feed: {"fetched": c.fetched, "valid": c.valid, "quarantined": c.quarantined}
            for feed, c in sorted(run.counts.items())
        },
    }
