"""The Celery app. Every setting is set here on purpose, from the one Settings object."""

from __future__ import annotations

import logging
from typing import Any

from celery import Celery
from celery.signals import after_setup_logger, after_setup_task_logger, beat_init, celeryd_init
from celery.utils.log import get_multiprocessing_logger

from pipeline.logging import configure_logging, route_to_root
from pipeline.settings import Settings, get_settings, warn_unknown_keys
from workers import broker as broker_transport
from workers import monitor
from workers.schedule import beat_schedule
from workers.tasks import RETRY_BACKOFF_MAX

# How a message held by a dead worker comes back, and why these numbers:
# - A worker killed outright (SIGKILL, OOM, lost host) leaves its messages unacknowledged in Redis,
#   which re-delivers them only after VISIBILITY_TIMEOUT. Recovery does not wait for that: the
#   watchdog (pipeline/run/watchdog.py watch_runs, a beat task every REUNIFY_SWEEP_SECONDS) re-sends a step
#   whose lease was not renewed for REUNIFY_STALL_SECONDS, i.e. within about 1.5 minutes by default.
#   The late redelivery is then skipped by the step (done already).
# - A pool process killed under a live worker is re-queued at once (task_reject_on_worker_lost).
# - The visibility timeout stays above the hard time limit (and every retry countdown), so Redis
#   never re-delivers a message whose task is still running or waiting to retry.
VISIBILITY_TIMEOUT = 1800
TASK_SOFT_TIME_LIMIT = 1200  # the task gets SoftTimeLimitExceeded and fails its run with that reason
TASK_TIME_LIMIT = 1320  # then the pool process is killed
RESULT_EXPIRES = 86400
assert TASK_SOFT_TIME_LIMIT < TASK_TIME_LIMIT < VISIBILITY_TIMEOUT
assert RETRY_BACKOFF_MAX < VISIBILITY_TIMEOUT


def celery_config(settings: Settings) -> dict[str, Any]:
    """Celery's settings for this deployment, each one chosen deliberately (pinned by tests)."""
    broker = settings.broker_url or "memory://"
    backend = settings.broker_url if settings.broker_url else "cache+memory://"
    redis_broker = broker.startswith(("redis://", "rediss://"))
    return {
        "broker_url": broker,
        # kombu's Redis transport, but one that survives a Redis restart (see workers/broker.py).
        "broker_transport": broker_transport.TRANSPORT if redis_broker else None,
        # The contract names the broker as the result backend too. Nothing waits on a result
        # (no chords: the store drives a run), so by default tasks store none; the step tasks
        # do (RunTask.ignore_result = False): their PROGRESS state while they work and their
        # counts at the end, for the task monitor and AsyncResult (workers/tasks.py).
        "result_backend": backend,
        "task_ignore_result": True,
        # A step's state in the backend says STARTED from the moment a worker takes it, before its
        # first PROGRESS report (Flower learns it from the task-started event either way).
        "task_track_started": True,
        # Results and progress are counts for monitoring: a day is plenty, then Redis drops them.
        "result_expires": RESULT_EXPIRES,
        # JSON only: a message can never carry a pickled object (and so never code).
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "result_accept_content": ["json"],
        # Acknowledge after the task ran; every task is idempotent, so a redelivery is harmless.
        "task_acks_late": True,
        # A pool process that dies mid-task (SIGKILL, OOM) gets its message re-queued at once.
        "task_reject_on_worker_lost": True,
        # One message at a time per worker process: long steps must not hoard the queue, and a
        # killed worker holds no more messages than it was running.
        "worker_prefetch_multiplier": 1,
        "task_soft_time_limit": TASK_SOFT_TIME_LIMIT,
        "task_time_limit": TASK_TIME_LIMIT,
        "broker_transport_options": {"visibility_timeout": VISIBILITY_TIMEOUT},
        # On a lost broker connection, cancel running acks_late tasks rather than finish them
        # without a way to acknowledge; their steps are re-sent by the watchdog.
        "worker_cancel_long_running_tasks_on_connection_loss": True,
        # Reconnect to the broker for ever (at start-up and after a Redis restart): a worker
        # must never need a restart because Redis did.
        "broker_connection_retry_on_startup": True,
        "broker_connection_retry": True,
        "broker_connection_max_retries": None,
        # Events feed the task monitor (Flower): sent, received, started, succeeded, failed, and
        # the steps' task-progress events. Flower reads only events, never the result backend,
        # so without these it shows no progress at all. The watchdog's sweep sends none
        # (workers/tasks.py) and beat no task-sent events (below): neither floods the task list.
        "worker_send_task_events": True,
        "task_send_sent_event": True,
        "timezone": "UTC",
        "enable_utc": True,
        # Scheduled runs and the watchdog; their timing comes from config/ (workers/schedule.py).
        "beat_schedule": beat_schedule(settings),
        # Our structlog set-up owns the root logger (JSON lines, run ids, no personal data).
        "worker_hijack_root_logger": False,
    }


def create_app(settings: Settings | None = None) -> Celery:
    """Build the Celery app from settings (read once)."""
    settings = settings or get_settings()
    celery = Celery("reunify")
    celery.conf.update(celery_config(settings))
    celery.autodiscover_tasks(["workers"], related_name="tasks", force=True)
    return celery


@celeryd_init.connect
def _early_logging(**_kwargs: Any) -> None:
    # Before the worker checks its privileges: that check's warning is then a JSON line too.
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)


@after_setup_logger.connect
@after_setup_task_logger.connect
def _setup_logging(logger: logging.Logger | None = None, **_kwargs: Any) -> None:
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    if logger is not None and logger is not logging.getLogger():
        route_to_root(logger)  # the task logger: Celery gave it its own handler and format
    # The pool's logger ("multiprocessing": a pool process that died, by a group's SIGTERM say)
    # has Celery's plain-text handler and does not propagate: a line outside the JSON stream
    pool_logger = get_multiprocessing_logger()
    if pool_logger is not None:
        route_to_root(pool_logger)
    warn_unknown_keys(settings)


@beat_init.connect
def _beat_sends_no_sent_events(sender: Any = None, **_kwargs: Any) -> None:
    # Beat sends only its ticks (scheduled run, watchdog sweep): their task-sent events would list
    # a sweep in Flower every REUNIFY_SWEEP_SECONDS. Steps are sent by workers and the CLI, which
    # keep task_send_sent_event (a queued step shows in Flower before a worker takes it).
    if sender is not None:
        sender.app.conf.task_send_sent_event = False


app = create_app()
monitor.guard(get_settings())
