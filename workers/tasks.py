"""Thin Celery tasks: each unpacks ids, calls one function of ``pipeline.run``, records the outcome.

A run is the canvas ``group(fetch × 4) | reconcile | publish``; tasks pass the run id and feed
name only, the records stay in the store. Every task is idempotent, so ``acks_late`` redelivery
is safe.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from celery import Task, group, shared_task
from celery.canvas import Signature
from celery.exceptions import SoftTimeLimitExceeded

from pipeline import run as stages
from pipeline.errors import FeedUnavailableError, RunInProgressError, StoreError
from pipeline.logging import bound, get_logger
from pipeline.settings import FEEDS, Settings, get_settings
from pipeline.store import Store

log = get_logger(__name__)

FETCH = "reunify.feed.fetch"
RECONCILE = "reunify.run.reconcile"
PUBLISH = "reunify.run.publish"
SCHEDULED = "reunify.run.scheduled"
SWEEP = "reunify.run.sweep"
TASK_NAMES = (FETCH, RECONCILE, PUBLISH, SCHEDULED, SWEEP)


@lru_cache(maxsize=1)
def _store() -> Store:
    return Store(get_settings().database_url)


class RunTask(Task):
    """Base of the run's tasks: binds log context, retries transient errors, fails the run at the end."""

    abstract = True
    autoretry_for = (FeedUnavailableError, StoreError, ConnectionError)
    retry_backoff = 5
    retry_backoff_max = 120  # below the broker's visibility timeout
    retry_jitter = True
    max_retries = 3
    acks_late = True

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        with bound(run_id=kwargs.get("run_id") or (args[0] if args else None), task_id=self.request.id):
            return super().__call__(*args, **kwargs)

    def on_failure(self, exc: Exception, task_id: str, args: Any, kwargs: Any, einfo: Any) -> None:
        run_id = kwargs.get("run_id") or (args[0] if args else None)
        if run_id:
            reason = "time limit exceeded" if isinstance(exc, SoftTimeLimitExceeded) else str(exc)
            stages.fail_run(run_id, _store(), f"{self.name} failed: {reason}")


@shared_task(name=FETCH, base=RunTask, bind=True)
def fetch_feed(self: Task, run_id: str, feed: str) -> dict[str, int]:
    """Pull one feed into the store under the run."""
    return stages.fetch_feed(run_id, feed, get_settings(), _store()).as_dict()


@shared_task(name=RECONCILE, base=RunTask, bind=True)
def reconcile_run(self: Task, run_id: str) -> int:
    """Match and classify the run's records; stage the results."""
    return stages.reconcile_run(run_id, _store())


@shared_task(name=PUBLISH, base=RunTask, bind=True)
def publish_run(self: Task, run_id: str) -> str:
    """Make the run's results the exported ones."""
    stages.publish_run(run_id, _store())
    return run_id


def run_canvas(run_id: str, feeds: tuple[str, ...] = FEEDS) -> Signature:
    """The Celery canvas of one run: fetches in parallel, then reconcile, then publish."""
    fetches = group(fetch_feed.si(run_id=run_id, feed=feed) for feed in feeds)
    return fetches | reconcile_run.si(run_id=run_id) | publish_run.si(run_id=run_id)


def start_run(settings: Settings, store: Store, trigger: str) -> str:
    """Take the lock, record the run and send its canvas; returns the run id."""
    run_id = stages.begin_run(store, settings, trigger)
    store.set_stage(run_id, "fetch")
    run_canvas(run_id).apply_async()
    return run_id


@shared_task(name=SCHEDULED, ignore_result=True)
def scheduled_run() -> str | None:
    """Beat's entry point: start a run unless one is in progress."""
    try:
        run_id = start_run(get_settings(), _store(), "beat")
    except RunInProgressError as exc:
        log.info("scheduled_run.skipped", reason=str(exc))
        return None
    log.info("scheduled_run.started", run_id=run_id)
    return run_id


@shared_task(name=SWEEP, ignore_result=True)
def sweep_stuck_runs() -> list[str]:
    """Mark runs past their deadline as failed, with the reason, and free the lock."""
    settings = get_settings()
    return stages.sweep_stuck_runs(_store(), settings.run_deadline_seconds)
