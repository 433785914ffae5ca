"""The watchdog (a beat task): recovers or fails every running run that workers run."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta

from pipeline import notify
from pipeline.logging import bound, get_logger
from pipeline.run.distributed import SendFn, advance
from pipeline.run.leases import RUN_LOCK, fail_run
from pipeline.run.stages import FETCH, stage_steps
from pipeline.settings import Settings
from pipeline.store import RunInfo, StepInfo, Store

log = get_logger(__name__)


@dataclass
class WatchReport:
    """What one watchdog pass did: steps re-sent (``run_id:step``), runs failed, runs advanced."""

    resent: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    advanced: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, list[str]]:
        return {"resent": self.resent, "failed": self.failed, "advanced": self.advanced}


def pending_steps(run: RunInfo, steps: Iterable[StepInfo]) -> list[str]:
    """The steps of the run's current stage that are not done."""
    done = {s.step for s in steps if s.done}
    return [name for name in stage_steps(run.stage or FETCH, run.partitions) if name not in done]


def watch_runs(store: Store, settings: Settings, send: SendFn) -> WatchReport:
    """The watchdog: recover or fail every running run that workers run.

    For each running run: past its deadline → failed with the reason (stage, unfinished steps);
    every step of its stage done but not advanced (the advancing worker died) → advanced; a step
    whose worker stopped renewing its lease for ``stall_seconds`` → re-sent (after
    ``step_max_attempts`` such losses the run fails); a step never taken while the whole run has
    been quiet for ``stall_seconds`` (its message was lost with the broker) → re-sent. Each
    re-send is claimed in the store first, so concurrent watchdogs send it once.
    """
    report = WatchReport()
    now = store.now()
    stall = timedelta(seconds=settings.stall_seconds)
    for run in store.running_runs():
        steps = store.list_steps(run.id)
        with bound(run_id=run.id):
            pending = pending_steps(run, steps)
            if run.deadline is not None and now >= run.deadline:
                fail_run(
                    run.id,
                    store,
                    f"the run did not finish within REUNIFY_RUN_DEADLINE_SECONDS "
                    f"({settings.run_deadline_seconds} s): stage {run.stage or FETCH}, unfinished steps: "
                    f"{', '.join(pending) or 'none'}; check the workers (`celery -A workers inspect ping`)",
                    settings,
                )
                report.failed.append(run.id)
                continue
            if not steps:
                continue  # an embedded run: its own process runs it
            if not pending:
                if advance(run.id, store, send):
                    report.advanced.append(run.id)
                continue
            by_name = {s.step: s for s in steps}
            quiet = now - run.heartbeat_at >= stall
            for name in pending:
                info = by_name.get(name)
                if info is not None and info.leased(now):
                    continue
                lost = info is not None and info.lost(now)
                if lost and info is not None and info.attempts >= settings.step_max_attempts:
                    fail_run(
                        run.id,
                        store,
                        f"step {name} was lost {info.attempts} times (REUNIFY_STEP_MAX_ATTEMPTS): "
                        "the worker running it died each time; see the worker logs",
                        settings,
                    )
                    report.failed.append(run.id)
                    break
                if (lost or quiet) and store.resend_step(run.id, name, now - stall):
                    log.warning("watchdog.resent", step=name, worker_lost=lost, quiet=quiet)
                    send(run.id, [name])
                    report.resent.append(f"{run.id}:{name}")
    for run_id in store.fail_stale_runs(
        timedelta(seconds=settings.run_deadline_seconds),
        f"no sign of life for {settings.run_deadline_seconds} s (REUNIFY_RUN_DEADLINE_SECONDS): "
        "its process or workers were lost",
    ):
        store.release_lock(RUN_LOCK, run_id)
        log.warning("run.swept", run_id=run_id)
        notify.notify_run(settings, store, run_id, notify.RUN_FAILED)
        report.failed.append(run_id)
    return report
