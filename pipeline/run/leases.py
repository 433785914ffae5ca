"""The run lock, the leases of steps and the heartbeat that keeps both: taking a run's lock
(``begin_run``), failing a run and freeing it (``fail_run``), and freeing a dead run's lock
for an operator (``unlock``)."""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections.abc import Sequence
from datetime import timedelta

from pipeline import gates, notify
from pipeline.errors import ReunifyError, RunInProgressError
from pipeline.logging import bound, get_logger
from pipeline.run.stages import FETCH
from pipeline.settings import Settings
from pipeline.store import LockHolder, RunInfo, Store

log = get_logger(__name__)


RUN_LOCK = "reunify-run"


class StepAbandoned(ReunifyError):
    """This worker must stop its step without failing the run: the run ended, or the step's lease
    was lost and another worker took it over."""


def ended_reason(store: Store, run_id: str) -> str:
    """Why work on a run must stop: it ended (how), or is gone; for StepAbandoned."""
    run = store.get_run(run_id)
    if run is None:
        return "the run is no longer in the store"
    if run.cancelled:
        return "the run was cancelled"
    return f"the run is no longer running (it {run.outcome})"


def step_owner() -> str:
    """A unique name for one execution of a step: host, process id, random part (``status`` shows it)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


class Heartbeat:
    """While the block runs, a thread renews every ``heartbeat_seconds`` the run's heartbeat and
    lock and, for a step, its lease. ``check()`` raises StepAbandoned once the run has ended or
    the lease was taken over; callers check between units of work."""

    def __init__(
        self, store: Store, settings: Settings, run_id: str, step: str | None = None, owner: str | None = None
    ) -> None:
        self._store, self._settings = store, settings
        self.run_id, self.step, self.owner = run_id, step, owner
        self.lost: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"heartbeat-{run_id[:8]}", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=self._settings.heartbeat_seconds + 5)

    def beat(self) -> None:
        """Renew once; note why the work must stop, if it must."""
        step, owner, ttl = self.step, self.owner, self._settings.stall_seconds
        if (
            step is not None
            and owner is not None
            and not self._store.refresh_step(self.run_id, step, owner, ttl)
        ):
            self.lost = f"step {step} was taken over by another worker"
        if not self._store.heartbeat(self.run_id):
            self.lost = ended_reason(self._store, self.run_id)
        else:
            self._store.refresh_lock(RUN_LOCK, self.run_id, self._settings.run_lock_seconds)

    def check(self) -> None:
        """Raise StepAbandoned if the work must stop."""
        if self.lost:
            raise StepAbandoned(self.lost)

    def abandon(self, reason: str) -> None:
        """Make every later ``check()`` raise: the threads still working stop at their next page."""
        self.lost = self.lost or reason

    def _loop(self) -> None:
        with bound(run_id=self.run_id, step=self.step):
            while not self._stop.wait(self._settings.heartbeat_seconds):
                try:
                    self.beat()
                except ReunifyError as exc:  # the store is unreachable: keep trying, the lease may hold
                    log.warning("heartbeat.failed", error=str(exc))


def new_run_id() -> str:
    """A fresh run id."""
    return uuid.uuid4().hex


def begin_run(
    store: Store,
    settings: Settings,
    trigger: str,
    run_id: str | None = None,
    mode: str = "full",
    accept: Sequence[gates.AcceptDrop] = (),
) -> str:
    """Take the run lock and record a new run; RunInProgressError if another run holds the lock.

    A lock left behind by a run that already ended (its worker died between publishing and
    releasing), or by a process that died between taking it and recording its run (after
    ``stall_seconds``; until then that run is starting, so in progress), is taken over, and so
    is the lock of an in-process run whose heartbeat stopped for ``stall_seconds`` (its process
    was killed: it is failed saying so, see ``stale_for``); a run still marked running whose
    lock expired is failed, so that at most one run is ever running.
    ``accept``: operators' acceptances of a real drop, stored on the run now so that whichever
    process runs its publish step sees them.
    """
    settings.require_feeds()
    gates.check_acceptances(accept)
    run_id = run_id or new_run_id()
    acquired = store.acquire_lock(RUN_LOCK, run_id, settings.run_lock_seconds)
    if not acquired:
        holder = store.lock_holder(RUN_LOCK)
        other = store.get_run(holder.owner) if holder else None
        # the lock is taken before its run is recorded: a holder not in the store yet is starting
        starting = holder is not None and other is None and not _orphaned(store, holder, settings)
        if holder is not None and not starting and (other is None or other.status != "running"):
            store.release_lock(RUN_LOCK, holder.owner)
            acquired = store.acquire_lock(RUN_LOCK, run_id, settings.run_lock_seconds)
        elif holder is not None and other is not None and (quiet := stale_for(store, other, settings)):
            # an in-process run whose process died (kill -9, OOM, a lost host) beats no more: fail
            # it, only if it is still that quiet (a live one beat meanwhile), and take its lock
            reason = (
                f"its process stopped: no heartbeat for {quiet:.0f} s (REUNIFY_STALL_SECONDS "
                f"{settings.stall_seconds:g} s); lock taken over by run {run_id}"
            )
            if store.fail_quiet_run(other.id, timedelta(seconds=settings.stall_seconds), reason):
                log.warning("run.taken_over", stale_run=other.id, quiet_seconds=round(quiet, 1))
                store.release_lock(RUN_LOCK, other.id)
                acquired = store.acquire_lock(RUN_LOCK, run_id, settings.run_lock_seconds)
    if not acquired:
        holder = store.lock_holder(RUN_LOCK)
        other_id = holder[0] if holder else "another run"
        raise RunInProgressError(
            f"run {other_id} is in progress; wait for it to finish (`reunify status`) or retry later"
        )
    for stale in store.running_runs():
        if stale.id != run_id:
            fail_run(
                stale.id, store, f"superseded by run {run_id}: its lock expired without progress", settings
            )
    deadline = store.now() + timedelta(seconds=settings.run_deadline_seconds)
    store.start_run(
        trigger,
        settings.as_of,
        run_id,
        deadline=deadline,
        mode=mode,
        partitions=settings.match_partitions,
        acceptances=[(a.feed, a.who, a.why) for a in accept],
    )
    log.info("run.started", run_id=run_id, trigger=trigger, mode=mode, accepted=[a.feed for a in accept])
    return run_id


def _orphaned(store: Store, holder: LockHolder, settings: Settings) -> bool:
    """Whether a lock whose run is not in the store was left by a process that died between
    taking it and recording its run, rather than by one doing that right now: its lock was taken
    ``stall_seconds`` ago or more (no run to beat for it, so it was never renewed)."""
    taken_at = holder.expires_at - timedelta(seconds=settings.run_lock_seconds)
    return (store.now() - taken_at).total_seconds() >= settings.stall_seconds


def stale_for(store: Store, run: RunInfo, settings: Settings) -> float | None:
    """Seconds since a running in-process run last beat its heartbeat, when that is more than
    ``stall_seconds`` (its process is gone); None when it may be alive.

    A run through workers never counts as stale here: its heartbeat is renewed only while a
    worker holds one of its steps, so between steps (queued, or re-sent after a lost worker) it
    is quiet yet alive; the watchdog (``watch_runs``) recovers or fails it.
    """
    if run.status != "running" or store.list_steps(run.id):
        return None
    quiet = (store.now() - run.heartbeat_at).total_seconds()
    return quiet if quiet >= settings.stall_seconds else None


def unlock(store: Store, settings: Settings, force: bool = False) -> str:
    """Free the run lock for an operator (``reunify unlock``); what was done, in one sentence.

    A lock held by an ended run, or by an in-process run that stopped beating its heartbeat for
    ``stall_seconds``, is freed (the dead run is failed with the reason). A holder that may be
    alive is left alone (RunInProgressError) unless ``force``: then it is failed, and its
    threads or workers stop at their next check, writing nothing more.
    """
    holder = store.lock_holder(RUN_LOCK)
    if holder is None:
        return "the run lock is free: nothing to do"
    run = store.get_run(holder.owner)
    if run is None or run.status != "running":
        store.release_lock(RUN_LOCK, holder.owner)
        ended = "is not in the store" if run is None else f"had {run.status}"
        return f"freed the run lock left by run {holder.owner}, which {ended}"
    quiet = stale_for(store, run, settings)
    age = (store.now() - run.heartbeat_at).total_seconds()
    if quiet is not None:
        reason = (
            f"its process stopped: no heartbeat for {quiet:.0f} s; unlocked by an operator (`reunify unlock`)"
        )
        if not store.fail_quiet_run(run.id, timedelta(seconds=settings.stall_seconds), reason):
            raise RunInProgressError(f"run {run.id} beat its heartbeat just now: it is alive; not unlocked")
    elif not force:
        through = "workers" if store.list_steps(run.id) else "an in-process run"
        raise RunInProgressError(
            f"run {run.id} ({through}, stage {run.stage or FETCH}) looks alive: last heartbeat "
            f"{age:.0f} s ago "
            f"(REUNIFY_STALL_SECONDS {settings.stall_seconds:g} s); not unlocked. If you are sure its "
            "process is gone, `reunify unlock --force` fails it and frees the lock"
        )
    else:
        reason = f"failed by an operator (`reunify unlock --force`); last heartbeat {age:.0f} s before"
        store.fail_run(run.id, reason)
    store.release_lock(RUN_LOCK, run.id)
    log.warning("run.unlocked", run_id=run.id, forced=force and quiet is None)
    why = "forced" if quiet is None else f"no heartbeat for {quiet:.0f} s"
    return f"failed run {run.id} ({why}) and freed the run lock"


def fail_run(
    run_id: str, store: Store, error: str, settings: Settings | None = None, *, refused: bool = False
) -> None:
    """Record why a run failed and free the lock; the last good results stay as they are.

    ``refused``: a publish gate stopped it (its outcome is then ``refused``). With ``settings``,
    the operators' webhook (``REUNIFY_NOTIFY_URL``) is told, once (``run_failed`` or
    ``run_refused``): only by the call that failed the run (a run failed already is not announced
    again).
    """
    with bound(run_id=run_id):
        failed_now = store.fail_run(run_id, error, refused=refused)
        store.release_lock(RUN_LOCK, run_id)
        log.error("run.refused" if refused else "run.failed", error=error)
        if failed_now:
            notify.notify_run(settings, store, run_id, notify.RUN_REFUSED if refused else notify.RUN_FAILED)
