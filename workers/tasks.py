"""Thin Celery tasks over ``pipeline.run``: each takes ids, runs one step, and says what it did.

A run is a set of step messages, not a canvas: ``fetch`` per feed, then ``prepare``, ``match``
per partition (any worker takes any partition: this is where workers share the matching),
``finish``, then ``publish``. Each step checks the store, takes the step's lease, works, marks it
done, and the worker that finishes a stage's last step sends the next stage
(``pipeline.run.execute_step``). Tasks pass the run id and a feed name or partition number only;
records and the matching state stay in the store. Every task is idempotent
(a duplicate or late message is skipped), so ``acks_late`` redelivery and the watchdog's
re-sends are safe. Task names are a contract, pinned by tests/unit/test_celery_config.py.

Progress: each step task reports what it has done so far (records fetched per feed, partition i
of n and children linked, children finished) as the custom state ``PROGRESS`` with counts only,
at most once a second (``pipeline.progress.Throttle``): in the result backend (``update_state``,
what ``AsyncResult`` and Flower's ``/api/task/result`` read) and as a ``task-progress`` event,
which is what Flower's task list and task page show (Flower reads events, not the backend). Each
step task's result is its counts. The watchdog's sweep sends no events (``send_events=False``, and
beat sends no ``task-sent`` events, workers/app.py): every few seconds it would flood the list.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import Any

from celery import Task, shared_task
from celery.canvas import Signature
from celery.exceptions import SoftTimeLimitExceeded
from kombu.exceptions import OperationalError as BrokerOperationalError

from pipeline import notify
from pipeline import run as stages
from pipeline.errors import FeedUnavailableError, ReunifyError, RunInProgressError, StoreError
from pipeline.gates import AcceptDrop
from pipeline.logging import bound, get_logger
from pipeline.progress import ProgressFn, Throttle
from pipeline.settings import Settings, get_settings
from pipeline.store import Store

log = get_logger(__name__)

FETCH = "reunify.feed.fetch"
PREPARE = "reunify.run.prepare"
MATCH = "reunify.run.match"
FINISH = "reunify.run.finish"
PUBLISH = "reunify.run.publish"
SCHEDULED = "reunify.run.scheduled"
SWEEP = "reunify.run.sweep"
TASK_NAMES = (FETCH, PREPARE, MATCH, FINISH, PUBLISH, SCHEDULED, SWEEP)

# The custom state of a step at work (Celery's documented PROGRESS convention), and the event type
# Flower turns into it (a custom event ``task-<state>`` sets the task's state to ``<STATE>``).
PROGRESS = "PROGRESS"
PROGRESS_EVENT = "task-progress"

# Below the broker's visibility timeout (workers/app.py), like every retry's countdown.
RETRY_BACKOFF_MAX = 120
# Errors of the broker connection while sending: the step is recorded as sent, so the watchdog
# re-sends it once the broker is back.
BROKER_ERRORS: tuple[type[BaseException], ...] = (BrokerOperationalError, ConnectionError, OSError)


@lru_cache(maxsize=1)
def _store() -> Store:
    # Workers never migrate: `reunify db upgrade` (the compose `migrate` step) applies migrations
    # once; a worker on an old schema fails its task with a StoreError that says so.
    return Store(get_settings().database_url, auto_upgrade=False)


def step_signature(run_id: str, step: str) -> Signature:
    """The message of one step of a run (``fetch:orr``, ``prepare``, ``match:0``, ``finish``,
    ``publish``)."""
    stage, _, arg = step.partition(":")
    if stage == stages.FETCH and arg:
        return fetch_feed.si(run_id=run_id, feed=arg)
    if step == stages.PREPARE:
        return prepare_run.si(run_id=run_id)
    if stage == stages.MATCH and arg.isdigit():
        return match_partition.si(run_id=run_id, partition=int(arg))
    if step == stages.FINISH:
        return finish_run.si(run_id=run_id)
    if step == stages.PUBLISH:
        return publish_run.si(run_id=run_id)
    raise ValueError(f"unknown step {step!r}")


def send_steps(run_id: str, steps: Sequence[str]) -> None:
    """Send the messages of ``steps``; broker errors propagate."""
    for step in steps:
        step_signature(run_id, step).apply_async()


def send_or_leave_to_watchdog(run_id: str, steps: Sequence[str]) -> None:
    """Send ``steps`` from inside a task: if the broker is unreachable, log it and go on; the
    steps are recorded as sent and the watchdog re-sends them once the run has been quiet."""
    try:
        send_steps(run_id, steps)
    except BROKER_ERRORS as exc:
        log.warning(
            "steps.send_failed", run_id=run_id, steps=list(steps), error=f"{type(exc).__name__}: {exc}"
        )


class RunTask(Task):
    """Base of the step tasks: log context, retries of named transient errors, the step's lease
    and heartbeat (``pipeline.run.execute_step``), and failing the run on a real failure."""

    abstract = True
    # A step's result is its counts (small JSON): stored, unlike the beat tasks' (task_ignore_result).
    ignore_result = False
    acks_late = True
    reject_on_worker_lost = True
    autoretry_for = (FeedUnavailableError, StoreError)
    retry_backoff = 5
    retry_backoff_max = RETRY_BACKOFF_MAX
    retry_jitter = True
    max_retries = 3

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        with bound(run_id=kwargs.get("run_id"), feed=kwargs.get("feed"), task_id=self.request.id):
            return super().__call__(*args, **kwargs)

    def run_step(self, run_id: str, step: str, body: Callable[[stages.Heartbeat], Any]) -> dict[str, Any]:
        """Execute one step of the run and advance the run; what happened and the step's counts,
        for the task's result."""
        try:
            outcome = stages.execute_step(
                run_id, step, get_settings(), _store(), body, send_or_leave_to_watchdog
            )
        except stages.StepAbandoned as exc:
            log.warning("step.abandoned", step=step, reason=str(exc))
            return {"step": step, "ran": False, "detail": str(exc)}
        counts = outcome.value if isinstance(outcome.value, Mapping) else {}
        return {
            "step": step,
            "ran": outcome.ran,
            "detail": outcome.detail,
            "next": outcome.advanced_to,
            "counts": dict(counts),
        }

    def progress(self, run_id: str, step: str) -> ProgressFn:
        """The progress callback a step body hands to ``pipeline.run``: throttled to one report a
        second (``pipeline.run.PROGRESS_SECONDS``), so that a fetch of many pages does not write
        the result backend and the event stream for each."""

        def report(stage: str, feed: str | None, counts: Mapping[str, int] | None) -> None:
            meta: dict[str, Any] = {"run_id": run_id, "step": step, "stage": stage}
            if feed is not None:
                meta["feed"] = feed
            meta.update(counts or {})
            self.report_progress(meta)

        return Throttle(report, stages.PROGRESS_SECONDS)

    def report_progress(self, meta: dict[str, Any]) -> None:
        """Publish ``meta`` (ids and counts only) as the task's PROGRESS state; a failure to report
        is logged and never fails the step."""
        if self.request.id is None or self.request.called_directly:
            return  # called as a function (tests): no task state to update
        try:
            self.update_state(state=PROGRESS, meta=meta)
            # Flower shows a custom event's ``result`` field as the task's result while it runs
            self.send_event(PROGRESS_EVENT, result=json.dumps(meta, sort_keys=True))
        except Exception as exc:  # the backend or broker is down: the step goes on
            log.warning("step.progress_not_reported", error=f"{type(exc).__name__}: {exc}")

    def on_failure(self, exc: Exception, task_id: str, args: Any, kwargs: Any, einfo: Any) -> None:
        """A step that failed for good (not a lost worker: that is the watchdog's) fails its run."""
        run_id = kwargs.get("run_id") or (args[0] if args else None)
        if not run_id:
            return
        reason = "time limit exceeded" if isinstance(exc, SoftTimeLimitExceeded) else str(exc)
        try:
            stages.fail_run(run_id, _store(), f"{self.name} failed: {reason}", get_settings())
        except ReunifyError as store_exc:
            log.error("run.fail_not_recorded", run_id=run_id, error=str(store_exc))


@shared_task(name=FETCH, base=RunTask, bind=True)
def fetch_feed(self: RunTask, run_id: str, feed: str) -> dict[str, Any]:
    """Pull one feed into the store under the run."""

    step = stages.fetch_step(feed)

    def body(beat: stages.Heartbeat) -> dict[str, int]:
        return stages.fetch_feed(
            run_id, feed, get_settings(), _store(), self.progress(run_id, step), beat.check
        ).as_dict()

    return self.run_step(run_id, step, body)


@shared_task(name=PREPARE, base=RunTask, bind=True)
def prepare_run(self: RunTask, run_id: str) -> dict[str, Any]:
    """Group the children, recognise the people, estimate the model, plan the partitions."""
    report = self.progress(run_id, stages.PREPARE)
    return self.run_step(
        run_id,
        stages.PREPARE,
        lambda beat: stages.prepare_run(
            run_id, _store(), beat.check, report, get_settings().model_max_age_days
        ),
    )


@shared_task(name=MATCH, base=RunTask, bind=True)
def match_partition(self: RunTask, run_id: str, partition: int) -> dict[str, Any]:
    """Link the children of one partition."""
    step = stages.match_step(partition)
    report = self.progress(run_id, step)
    return self.run_step(
        run_id, step, lambda beat: stages.match_partition(run_id, partition, _store(), beat.check, report)
    )


@shared_task(name=FINISH, base=RunTask, bind=True)
def finish_run(self: RunTask, run_id: str) -> dict[str, Any]:
    """The family pass and classification; stage the results."""
    report = self.progress(run_id, stages.FINISH)
    return self.run_step(
        run_id, stages.FINISH, lambda beat: stages.finish_run(run_id, _store(), beat.check, report)
    )


@shared_task(name=PUBLISH, base=RunTask, bind=True)
def publish_run(self: RunTask, run_id: str) -> dict[str, Any]:
    """Hold the run against the publish gates, then make its results the exported ones (or fail
    the run with the gates' reason)."""
    report = self.progress(run_id, stages.PUBLISH)
    return self.run_step(
        run_id,
        stages.PUBLISH,
        lambda beat: stages.publish_step(run_id, get_settings(), _store(), beat.check, report),
    )


def start_run(
    settings: Settings,
    store: Store,
    trigger: str,
    mode: str = "full",
    accept: Sequence[AcceptDrop] = (),
    no_fetch: bool = False,
) -> str:
    """Take the lock, record the run (with any acceptances of a real drop) and send its fetch
    steps (``no_fetch``: copy the last good run's feed state and send its prepare step); returns
    the run id.

    RunInProgressError when a run is in progress; RunFailedError when the broker is unreachable.
    """
    return stages.start_distributed(store, settings, trigger, send_steps, mode, accept, no_fetch)


def scheduled_tick(
    settings: Settings, store: Store, start: Callable[[Settings, Store, str, str], str] = start_run
) -> str | None:
    """One scheduled tick: start a run, or, when one is in progress, skip with a log line and tell
    the webhook (``tick_skipped``); the new run's id or None."""
    try:
        run_id = start(settings, store, "beat", settings.scheduled_mode)
    except RunInProgressError as exc:
        log.info("scheduled_run.skipped", reason=str(exc))
        holder = store.lock_holder(stages.RUN_LOCK)
        notify.notify_tick_skipped(
            settings, store, str(exc), holder.owner if holder else None, at=store.now()
        )
        return None
    log.info("scheduled_run.started", run_id=run_id)
    return run_id


# The two beat tasks are not acks_late: a tick lost with its worker is simply the next tick's.
@shared_task(name=SCHEDULED, ignore_result=True, acks_late=False, soft_time_limit=30, time_limit=60)
def scheduled_run() -> str | None:
    """Beat's entry point: start a run unless one is in progress (then skip, with a log line)."""
    return scheduled_tick(get_settings(), _store())


# Hidden from the task monitor: sent every REUNIFY_SWEEP_SECONDS, it would push the runs' steps
# out of Flower's task list (see the module docstring and docs/OPERATIONS.md).
@shared_task(
    name=SWEEP, ignore_result=True, acks_late=False, send_events=False, soft_time_limit=30, time_limit=60
)
def sweep_runs() -> dict[str, list[str]]:
    """The watchdog: re-send lost steps, advance stalled stages, fail runs past their deadline."""
    report = stages.watch_runs(_store(), get_settings(), send_or_leave_to_watchdog)
    if report.resent or report.failed or report.advanced:
        log.info("watchdog.pass", **report.as_dict())
    return report.as_dict()
