"""The beat schedule: when scheduled runs and the watchdog happen.

Its timing lives in config/ (``config/reunify.toml``: ``REUNIFY_SCHEDULE_HOURS``, default every
6 hours, and ``REUNIFY_SWEEP_SECONDS``; the environment may override either). Beat runs in UTC
(workers/app.py). Run exactly one ``celery -A workers beat``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pipeline.settings import Settings

# The task names are defined in workers.tasks; repeated here so that the schedule can be built
# without importing the tasks (tests/unit/test_celery_config.py pins that both agree).
SCHEDULED_RUN = "reunify.run.scheduled"
SWEEP = "reunify.run.sweep"


def beat_schedule(settings: Settings) -> dict[str, dict[str, Any]]:
    """A scheduled run every ``schedule_hours`` and the watchdog every ``sweep_seconds``."""
    interval = timedelta(hours=settings.schedule_hours)
    sweep = timedelta(seconds=settings.sweep_seconds)
    return {
        "scheduled-run": {
            "task": SCHEDULED_RUN,
            "schedule": interval,
            # A tick that could not start before the next one is pointless: drop it.
            "options": {"expires": max(30.0, interval.total_seconds() * 0.9)},
        },
        "watchdog": {
            "task": SWEEP,
            "schedule": sweep,
            # A pass that waited longer than the interval is superseded by the next one.
            "options": {"expires": max(5.0, sweep.total_seconds())},
        },
    }
