"""The beat schedule: when scheduled runs and the watchdog happen.

Scheduled runs follow ``REUNIFY_SCHEDULE_CRON`` (``config/reunify.toml``, default every 6 hours on
the hour, UTC; parsed once by ``pipeline/cron.py``), handed to Celery's ``crontab``: a beat that
is restarted or recreated fires at the next slot, where a fixed interval would restart its clock
and push every later run back. Beat keeps its schedule state in the file given by ``--schedule``
(a volume in docker-compose.yml), so a slot missed while beat was down runs when it is back. The
watchdog runs every ``REUNIFY_SWEEP_SECONDS``. Beat runs in UTC (workers/app.py). Run exactly one
``celery -A workers beat``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from celery.schedules import crontab

from pipeline.cron import Schedule
from pipeline.settings import Settings

# The task names are defined in workers.tasks; repeated here so that the schedule can be built
# without importing the tasks (tests/unit/test_celery_config.py pins that both agree).
SCHEDULED_RUN = "reunify.run.scheduled"
SWEEP = "reunify.run.sweep"


def run_schedule(schedule: Schedule) -> crontab | timedelta:
    """Celery's form of the run schedule: a crontab, or a plain interval for ``@every``."""
    if schedule.every is not None:
        return schedule.every
    assert schedule.cron is not None
    minute, hour, day_of_month, month_of_year, day_of_week = schedule.cron
    return crontab(
        minute=minute,
        hour=hour,
        day_of_month=day_of_month,
        month_of_year=month_of_year,
        day_of_week=day_of_week,
    )


def beat_schedule(settings: Settings) -> dict[str, dict[str, Any]]:
    """Scheduled runs by the configured schedule and the watchdog every ``sweep_seconds``."""
    schedule = settings.schedule
    sweep = timedelta(seconds=settings.sweep_seconds)
    return {
        "scheduled-run": {
            "task": SCHEDULED_RUN,
            "schedule": run_schedule(schedule),
            # A tick that could not start before the next slot is pointless: drop it.
            "options": {"expires": max(30.0, schedule.interval.total_seconds() * 0.9)},
        },
        "watchdog": {
            "task": SWEEP,
            "schedule": sweep,
            # A pass that waited longer than the interval is superseded by the next one.
            "options": {"expires": max(5.0, sweep.total_seconds())},
        },
    }
