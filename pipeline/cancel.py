"""Cancelling a run in progress (``reunify cancel``; the console will call the same function).

A cancel is one compare-and-set in the store: the running run becomes ``failed`` with
``cancelled_at`` set (its outcome ``cancelled``) and the reason saying who cancelled it and why;
then the run lock is freed so that the next run can start at once. Nothing else is needed to stop
the work, because every step already asks the store whether its run is still running: a step
message that arrives later is skipped (``execute_step``), a step at work stops at its next check
once its heartbeat (every ``REUNIFY_HEARTBEAT_SECONDS``) finds the run ended, and an in-process
run stops the same way (``run_embedded``). A cancelled run is never published (publishing claims
only a running run), so the last good results stay the exported ones.
"""

from __future__ import annotations

from pipeline.errors import NotFoundError, NothingToCancel
from pipeline.logging import get_logger
from pipeline.run import RUN_LOCK
from pipeline.store import RunInfo, Store

log = get_logger(__name__)

# who and why are free text typed by an operator: kept short in the run's reason
_MAX_WHO, _MAX_WHY = 64, 500


def current_run(store: Store) -> RunInfo | None:
    """The run in progress: the holder of the run lock if it is running, else the oldest running run."""
    holder = store.lock_holder(RUN_LOCK)
    if holder is not None:
        run = store.get_run(holder.owner)
        if run is not None and run.status == "running":
            return run
    running = store.running_runs()
    return running[0] if running else None


def cancel_reason(by: str, why: str | None = None) -> str:
    """The reason a cancelled run records: who cancelled it, why, and what that means."""
    # one line each (shown escaped wherever a terminal or a page shows the reason)
    who = " ".join(by.split())[:_MAX_WHO] or "an operator"
    text = " ".join((why or "").split())[:_MAX_WHY]
    because = f": {text}" if text else ""
    return f"cancelled by {who}{because} (`reunify cancel`); the last good results stay published"


def request_cancel(store: Store, run_id: str | None, by: str, why: str | None = None) -> RunInfo:
    """Cancel ``run_id`` (default: the run in progress) on behalf of ``by``; the cancelled run.

    NothingToCancel when no run is in progress, or the named run has ended already;
    NotFoundError when the named run is not in the store. Works the same for a run through
    workers and an in-process run (in any process): both stop at their next check.
    """
    if run_id is None:
        run = current_run(store)
        if run is None:
            raise NothingToCancel(
                "no run is in progress: nothing to cancel (`reunify status` shows the runs)"
            )
    else:
        found = store.get_run(run_id)
        if found is None:
            raise NotFoundError(f"run {run_id} is not in the store: check the id with `reunify runs`")
        run = found
    if run.status != "running" or not store.cancel_run(run.id, cancel_reason(by, why)):
        ended = store.get_run(run.id) or run
        raise NothingToCancel(f"run {run.id} has ended already ({ended.outcome}): nothing to cancel")
    store.release_lock(RUN_LOCK, run.id)
    log.warning("run.cancelled", run_id=run.id, stage=run.stage)
    cancelled = store.get_run(run.id)
    assert cancelled is not None
    return cancelled
