"""Scheduled runs survive deploys: a restarted beat (real ``celery -A workers beat`` processes on
the local Redis) still sends the scheduled run at the next cron slot, where a fixed interval would
restart its clock and push the run back by however far into the interval the restart came."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from celery_harness import celery_beat, wait_for

SENT = b"Sending due task scheduled-run"


def _wait_until_second(low: int, high: int) -> None:
    """Sleep until the wall clock's second is within [low, high] (so a restart fits before the slot)."""
    while not low <= datetime.now(UTC).second <= high:
        time.sleep(0.2)


@pytest.mark.redis
def test_a_restarted_beat_sends_the_scheduled_run_at_the_next_cron_slot(
    tmp_path: Path, broker_url: str
) -> None:
    env = {
        "REUNIFY_BROKER_URL": broker_url,
        "REUNIFY_DATABASE_URL": f"sqlite:///{tmp_path / 'r.db'}",
        "REUNIFY_SCHEDULE_CRON": "* * * * *",  # every minute: the shortest slot cron has
        "REUNIFY_SWEEP_SECONDS": "3600",  # keep the watchdog's ticks out of the way
    }
    log = tmp_path / "beat.log"  # the same log stem is the same schedule state file
    # the restart lands about 12-48 s into a minute: an interval restarted there would fire that
    # far past the next slot (more than the 8 s allowed), and the restarted beat is up before
    # the slot; most starts fall in the window, so the test rarely waits for it
    _wait_until_second(8, 40)
    with celery_beat(env, log):
        time.sleep(2)
    with celery_beat(env, log):
        restarted = datetime.now(UTC)
        slot = restarted.replace(second=0, microsecond=0) + timedelta(minutes=1)
        assert (slot - restarted).total_seconds() >= 8, "the restart came too late in its minute"
        assert restarted.second >= 10, "the restart came too early: an interval would pass too"
        wait_for(lambda: SENT in log.read_bytes(), 90, "beat to send the scheduled run")
        sent = datetime.now(UTC)
    assert slot <= sent <= slot + timedelta(seconds=8), (restarted, slot, sent)
