"""The Celery side's contract: task names, every deliberate setting, the beat schedule from config/.

These pin what the deployment relies on; changing one is a decision, not an accident.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from celery.schedules import crontab

from pipeline.cron import parse_schedule
from pipeline.errors import ConfigError
from pipeline.settings import DEFAULT_CONFIG, Settings, load_settings
from workers import app as celery_app
from workers import monitor, schedule, tasks
from workers.app import (
    RESULT_EXPIRES,
    TASK_SOFT_TIME_LIMIT,
    TASK_TIME_LIMIT,
    VISIBILITY_TIMEOUT,
    celery_config,
)

FEEDS_ENV = {
    "REUNIFY_ORR_URL": "http://orr",
    "REUNIFY_ORR_TOKEN": "t1",
    "REUNIFY_ICE_URL": "http://ice",
    "REUNIFY_ICE_TOKEN": "t2",
    "REUNIFY_REMOVALS_URL": "http://rm",
    "REUNIFY_REMOVALS_TOKEN": "t3",
}


def settings(tmp_path: Path, **env: str) -> Settings:
    return load_settings(FEEDS_ENV | env, config_file=tmp_path / "none.toml")


def test_task_names_are_pinned() -> None:
    assert tasks.TASK_NAMES == (
        "reunify.feed.fetch",
        "reunify.run.prepare",
        "reunify.run.match",
        "reunify.run.finish",
        "reunify.run.publish",
        "reunify.run.scheduled",
        "reunify.run.sweep",
    )
    registered = {name for name in celery_app.tasks if name.startswith("reunify.")}
    assert registered == set(tasks.TASK_NAMES)
    assert (schedule.SCHEDULED_RUN, schedule.SWEEP) == (tasks.SCHEDULED, tasks.SWEEP)


def test_step_tasks_are_late_acked_and_requeued_when_their_worker_dies() -> None:
    for name in (tasks.FETCH, tasks.PREPARE, tasks.MATCH, tasks.FINISH, tasks.PUBLISH):
        task = celery_app.tasks[name]
        assert task.acks_late and task.reject_on_worker_lost, name
        assert task.retry_backoff_max < VISIBILITY_TIMEOUT
        assert set(task.autoretry_for) == {tasks.FeedUnavailableError, tasks.StoreError}
    for name in (tasks.SCHEDULED, tasks.SWEEP):  # a tick lost with its worker is the next tick's
        assert not celery_app.tasks[name].acks_late, name


def test_step_tasks_keep_their_progress_and_counts_and_the_sweep_stays_out_of_the_monitor() -> None:
    for name in (tasks.FETCH, tasks.PREPARE, tasks.MATCH, tasks.FINISH, tasks.PUBLISH):
        task = celery_app.tasks[name]
        assert task.ignore_result is False and task.send_events, name  # PROGRESS, then counts
    for name in (tasks.SCHEDULED, tasks.SWEEP):
        assert celery_app.tasks[name].ignore_result, name
    # every REUNIFY_SWEEP_SECONDS: no worker events, and beat sends no task-sent events
    assert celery_app.tasks[tasks.SWEEP].send_events is False
    assert celery_app.tasks[tasks.SCHEDULED].send_events
    conf = celery_app.conf
    was = conf.task_send_sent_event
    try:
        _beat_starts(celery_app)
        assert conf.task_send_sent_event is False
    finally:
        conf.task_send_sent_event = was


def _beat_starts(app: object) -> None:
    """Send the signal beat sends when it starts (``beat_init``), for ``app``."""
    from celery.signals import beat_init

    class Beat:
        pass

    beat = Beat()
    beat.app = app  # type: ignore[attr-defined]
    beat_init.send(sender=beat)


def test_messages_carry_ids_only() -> None:
    fetch = tasks.step_signature("run-1", "fetch:orr")
    assert (fetch.task, fetch.args, fetch.kwargs) == (tasks.FETCH, (), {"run_id": "run-1", "feed": "orr"})
    assert tasks.step_signature("run-1", "prepare").kwargs == {"run_id": "run-1"}
    match = tasks.step_signature("run-1", "match:3")
    assert (match.task, match.kwargs) == (tasks.MATCH, {"run_id": "run-1", "partition": 3})
    assert tasks.step_signature("run-1", "finish").task == tasks.FINISH
    assert tasks.step_signature("run-1", "publish").task == tasks.PUBLISH
    for nonsense in ("nonsense", "match:x", "match"):
        with pytest.raises(ValueError):
            tasks.step_signature("run-1", nonsense)


def test_celery_settings_are_deliberate(tmp_path: Path) -> None:
    conf = celery_config(settings(tmp_path, REUNIFY_BROKER_URL="redis://127.0.0.1:6379/0"))
    assert conf["broker_url"] == conf["result_backend"] == "redis://127.0.0.1:6379/0"
    assert conf["broker_transport"] == "workers.broker:Transport"
    assert conf["task_serializer"] == conf["result_serializer"] == "json"
    assert conf["accept_content"] == conf["result_accept_content"] == ["json"]
    assert conf["task_acks_late"] and conf["task_reject_on_worker_lost"]
    assert conf["worker_prefetch_multiplier"] == 1
    assert conf["task_soft_time_limit"] == TASK_SOFT_TIME_LIMIT < conf["task_time_limit"] == TASK_TIME_LIMIT
    assert TASK_TIME_LIMIT < conf["broker_transport_options"]["visibility_timeout"] == VISIBILITY_TIMEOUT
    assert conf["worker_cancel_long_running_tasks_on_connection_loss"] is True
    assert conf["broker_connection_retry"] and conf["broker_connection_max_retries"] is None
    assert conf["worker_send_task_events"] and conf["task_send_sent_event"]
    assert conf["task_ignore_result"] is True  # by default; the step tasks store theirs (above)
    assert conf["task_track_started"] is True
    assert conf["result_expires"] == RESULT_EXPIRES == 86400
    assert conf["timezone"] == "UTC" and conf["enable_utc"]
    # Without a broker (embedded mode, tests) nothing points at Redis.
    local = celery_config(settings(tmp_path))
    assert local["broker_url"] == "memory://" and local["broker_transport"] is None


def test_beat_schedule_comes_from_config(tmp_path: Path) -> None:
    default = load_settings(FEEDS_ENV, config_file=DEFAULT_CONFIG)
    beat = celery_config(default)["beat_schedule"]
    assert beat["scheduled-run"]["task"] == tasks.SCHEDULED
    assert beat["scheduled-run"]["schedule"] == crontab(minute="0", hour="*/6")
    assert beat["watchdog"]["task"] == tasks.SWEEP
    assert beat["watchdog"]["schedule"] == timedelta(seconds=30)
    assert beat["watchdog"]["options"]["expires"] <= 30

    config = tmp_path / "reunify.toml"
    config.write_text('REUNIFY_SCHEDULE_CRON = "30 2 * * *"\nREUNIFY_SWEEP_SECONDS = 10\n')
    custom = load_settings(FEEDS_ENV, config_file=config)
    beat = schedule.beat_schedule(custom)
    assert beat["scheduled-run"]["schedule"] == crontab(minute="30", hour="2")
    assert beat["watchdog"]["schedule"] == timedelta(seconds=10)
    # The environment wins over the file; an @every interval stays an interval (tests, demos).
    env = load_settings(FEEDS_ENV | {"REUNIFY_SCHEDULE_CRON": "@every 2s"}, config_file=config)
    assert schedule.beat_schedule(env)["scheduled-run"]["schedule"] == timedelta(seconds=2)


@pytest.mark.parametrize("expression", ["0 */6 * * *", "15 1,13 * * *", "*/20 8-17 * * 1-5", "0 0 1 * *"])
def test_our_schedule_and_celerys_crontab_agree_on_the_next_slots(expression: str) -> None:
    ours = parse_schedule(expression)
    assert ours.cron is not None
    minute, hour, dom, month, dow = ours.cron
    when = datetime(2026, 12, 2, 10, 28, tzinfo=UTC)
    for _ in range(8):
        theirs = crontab(minute, hour, dow, dom, month, nowfun=lambda now=when: now)
        nxt = ours.next_after(when)
        assert when + theirs.remaining_estimate(when) == nxt, (expression, when)
        when = nxt


def test_watchdog_timings_are_validated(tmp_path: Path) -> None:
    s = settings(tmp_path)
    assert (s.heartbeat_seconds, s.stall_seconds, s.sweep_seconds, s.step_max_attempts) == (10, 60, 30, 3)
    with pytest.raises(ConfigError, match="REUNIFY_STALL_SECONDS"):
        settings(tmp_path, REUNIFY_HEARTBEAT_SECONDS="10", REUNIFY_STALL_SECONDS="15")


def test_flower_needs_both_credentials(tmp_path: Path) -> None:
    assert monitor.invoked_as_flower(["celery", "-A", "workers", "flower", "--port=5555"])
    assert not monitor.invoked_as_flower(["celery", "-A", "workers", "worker"])
    monitor.guard(settings(tmp_path), argv=["celery", "-A", "workers", "worker"])  # not Flower: nothing
    with pytest.raises(SystemExit, match="refuses to start without credentials"):
        monitor.guard(settings(tmp_path, REUNIFY_FLOWER_USER="op"), argv=["celery", "flower"])
