"""The Celery app. Every setting is set here on purpose, from the one Settings object."""

from __future__ import annotations

from typing import Any

from celery import Celery
from celery.signals import after_setup_logger, after_setup_task_logger

from pipeline.logging import configure_logging
from pipeline.settings import Settings, get_settings
from workers import monitor
from workers.schedule import beat_schedule

# Redis re-delivers an unacknowledged message only after this many seconds. acks_late means a
# message held by a killed worker returns then, so it is kept short (minutes), and every task's
# hard time limit and retry back-off stay below it so a live task is never delivered twice.
VISIBILITY_TIMEOUT = 900
TASK_SOFT_TIME_LIMIT = 600
TASK_TIME_LIMIT = 720


def celery_config(settings: Settings) -> dict[str, Any]:
    """Celery's settings for this deployment, each one chosen deliberately."""
    broker = settings.broker_url or "memory://"
    backend = settings.broker_url if settings.broker_url else "cache+memory://"
    return {
        "broker_url": broker,
        "result_backend": backend,
        # JSON only: a message can never carry a pickled object (and so never code).
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "result_accept_content": ["json"],
        # Acknowledge after the task ran; tasks are idempotent, so a redelivery is harmless.
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        # One message at a time per worker process: long tasks must not hoard the queue.
        "worker_prefetch_multiplier": 1,
        "task_soft_time_limit": TASK_SOFT_TIME_LIMIT,
        "task_time_limit": TASK_TIME_LIMIT,
        "broker_transport_options": {"visibility_timeout": VISIBILITY_TIMEOUT},
        "result_backend_transport_options": {"visibility_timeout": VISIBILITY_TIMEOUT},
        # On a lost broker connection, cancel what runs so it is redelivered, not half-acked.
        "worker_cancel_long_running_tasks_on_connection_loss": True,
        "broker_connection_retry_on_startup": True,
        # Events feed the task monitor (Flower).
        "worker_send_task_events": True,
        "task_send_sent_event": True,
        "task_track_started": True,
        "result_expires": 24 * 3600,
        "result_extended": True,
        "timezone": "UTC",
        "enable_utc": True,
        "beat_schedule": beat_schedule(settings),
        "worker_hijack_root_logger": False,
    }


def create_app(settings: Settings | None = None) -> Celery:
    """Build the Celery app from settings (read once)."""
    settings = settings or get_settings()
    celery = Celery("reunify")
    celery.conf.update(celery_config(settings))
    celery.autodiscover_tasks(["workers"], related_name="tasks", force=True)
    return celery


@after_setup_logger.connect
@after_setup_task_logger.connect
def _setup_logging(**_kwargs: Any) -> None:
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)


app = create_app()
monitor.guard(get_settings())
