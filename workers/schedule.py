"""The beat schedule: when scheduled runs happen. Its interval comes from config/."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pipeline.settings import Settings

SCHEDULED_RUN = "reunify.run.scheduled"
SWEEP = "reunify.run.sweep"


def beat_schedule(settings: Settings) -> dict[str, dict[str, Any]]:
    """A scheduled run every ``REUNIFY_SCHEDULE_HOURS`` (6 by default) and a sweeper every minute."""
    interval = timedelta(hours=settings.schedule_hours)
    return {
        "scheduled-run": {
            "task": SCHEDULED_RUN,
            "schedule": interval,
            # A tick that could not start before the next one is pointless: drop it.
            "options": {"expires": max(30.0, interval.total_seconds() * 0.9)},
        },
        "sweep-stuck-runs": {
            "task": SWEEP,
            "schedule": timedelta(minutes=1),
            "options": {"expires": 55},
        },
    }
