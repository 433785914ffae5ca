"""Operators are told: ``reunify status --check`` gives each Nagios state from a store that is in
it (the real CLI as a process), a failed run and a skipped tick POST the webhook to a local
receiver with no personal data, and a webhook that is down never changes a run's outcome."""

from __future__ import annotations

import io
import json
import subprocess
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from personal_data import leaked
from webhook_receiver import Receiver

from pipeline.errors import RunFailedError
from pipeline.logging import configure_logging
from pipeline.run import begin_run, run_embedded
from pipeline.settings import Settings
from pipeline.sim.processes import reunify
from pipeline.sim.server import FeedSimulator
from pipeline.sim.world import World
from pipeline.store import Store
from pipeline.store.schema import runs


def _check(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return reunify(["status", "--check"], env)


def _age_last_success(store: Store, hours: float) -> None:
    """Make the last success look ``hours`` old (the store's own clock cannot be wound back)."""
    run = store.latest_succeeded_run()
    assert run is not None and run.finished_at is not None
    moved = timedelta(hours=hours)
    engine = sa.create_engine(store.url)
    with engine.begin() as conn:
        conn.execute(
            sa.update(runs)
            .where(runs.c.id == run.id)
            .values(started_at=run.started_at - moved, finished_at=run.finished_at - moved)
        )
    engine.dispose()


def test_status_check_gives_each_state_its_exit_code(
    simulator: FeedSimulator, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = make_settings(simulator)
    config = tmp_path / "empty.toml"
    config.write_text("")
    env = {
        "REUNIFY_DATABASE_URL": settings.database_url,
        "REUNIFY_SCHEDULE_CRON": "0 */6 * * *",  # warning after 9 h, critical after 12 h
        "REUNIFY_CONFIG": str(config),
    }
    store = Store(settings.database_url)

    empty = _check(env)
    assert empty.returncode == 3 and empty.stdout.startswith("REUNIFY UNKNOWN - "), empty

    run_embedded(settings, store, "test")
    fresh = _check(env)
    assert fresh.returncode == 0 and fresh.stdout.startswith("REUNIFY OK - last success"), fresh
    assert "| last_success_age=" in fresh.stdout

    _age_last_success(store, 10)
    assert _check(env).returncode == 1
    _age_last_success(store, 3)  # 13 h in all
    late = _check(env)
    assert late.returncode == 2 and "over the critical" in late.stdout, late

    bad = make_settings(simulator, REUNIFY_ICE_TOKEN="wrong-token-for-check")
    with pytest.raises(RunFailedError):
        run_embedded(bad, store, "test")
    failed = _check(env)
    assert failed.returncode == 2 and "ice feed: token refused" in failed.stdout, failed
    assert "wrong-token-for-check" not in failed.stdout

    unreadable = _check(env | {"REUNIFY_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none"})
    assert unreadable.returncode == 3 and unreadable.stdout.startswith("REUNIFY UNKNOWN"), unreadable


def test_a_failed_run_posts_the_webhook_without_personal_data(
    simulator: FeedSimulator,
    small_world: World,
    make_settings: Callable[..., Settings],
    receiver: Receiver,
) -> None:
    bad = make_settings(simulator, REUNIFY_REMOVALS_TOKEN="wrong-token-x", REUNIFY_NOTIFY_URL=receiver.url)
    store = Store(bad.database_url)
    stream = io.StringIO()
    configure_logging("INFO", json=True, stream=stream)
    try:
        with pytest.raises(RunFailedError) as failure:
            run_embedded(bad, store, "test")
    finally:
        configure_logging("INFO", json=True)

    assert len(receiver.bodies) == 1
    body = receiver.bodies[0]
    failed = store.list_runs(limit=1)[0]
    assert body["event"] == "run_failed" and body["run_id"] == failed.id
    assert "removals feed: token refused" in body["error"]
    text = json.dumps(body)
    assert "wrong-token-x" not in text
    assert leaked(small_world, text) == []
    assert failed.id in str(failure.value)
    logged = stream.getvalue()
    assert "notify.sent" in logged  # the delivery is logged ...
    assert "s3cret-hook-key" not in logged  # ... without the URL's secret


def test_a_webhook_that_is_down_never_changes_a_runs_outcome(
    simulator: FeedSimulator, make_settings: Callable[..., Settings]
) -> None:
    down = Receiver(status=503)  # answers, but always fails: retried, then given up
    try:
        settings = make_settings(simulator, REUNIFY_NOTIFY_URL=down.url)
        store = Store(settings.database_url)
        good = run_embedded(settings, store, "test")  # a success posts nothing
        assert down.bodies == []
        bad = make_settings(simulator, REUNIFY_ICE_TOKEN="wrong", REUNIFY_NOTIFY_URL=down.url)
        with pytest.raises(RunFailedError, match="ice feed: token refused"):
            run_embedded(bad, store, "test")
        assert len(down.bodies) == 3  # every attempt reached it
        assert store.latest_succeeded_run().id == good  # type: ignore[union-attr]
    finally:
        down.close()


def test_a_scheduled_tick_during_a_run_posts_tick_skipped(
    simulator: FeedSimulator, make_settings: Callable[..., Settings], receiver: Receiver
) -> None:
    from workers.tasks import scheduled_tick

    settings = make_settings(simulator, REUNIFY_NOTIFY_URL=receiver.url)
    store = Store(settings.database_url)
    running = begin_run(store, settings, "cli")

    assert scheduled_tick(settings, store) is None
    assert [b["event"] for b in receiver.bodies] == ["tick_skipped"]
    assert receiver.bodies[0]["run_id"] == running
    assert "is in progress" in receiver.bodies[0]["reason"]


def test_run_runs_and_status_speak_json_to_scripts_with_stdout_holding_only_the_json(
    simulator: FeedSimulator, small_world: World, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    config = tmp_path / "empty.toml"
    config.write_text("")
    env = simulator.env() | {
        "REUNIFY_DATABASE_URL": f"sqlite:///{tmp_path / 'json.db'}",
        "REUNIFY_AS_OF": "2018-07-12",
        "REUNIFY_CONFIG": str(config),
    }
    done = reunify(["run", "--json"], env)
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)  # the whole of stdout is one JSON object
    store = Store(env["REUNIFY_DATABASE_URL"])
    assert body["run_id"] == store.latest_succeeded_run().id  # type: ignore[union-attr]
    assert body["outcome"] == "succeeded" and body["children"] == len(small_world.truth)
    assert sum(body["by_status"].values()) == body["children"]
    assert body["counts"]["orr"]["quarantined"] == len(small_world.malformed["orr"])

    refused = reunify(["run", "--json"], env | {"REUNIFY_ICE_TOKEN": "nope"})
    assert refused.returncode == 1
    failed = json.loads(refused.stdout)
    assert failed["outcome"] == "failed" and "ice feed: token refused" in failed["error"]

    runs = json.loads(reunify(["runs", "--json"], env).stdout)
    ids = [r["run_id"] for r in runs]
    assert ids[:2] == [failed["run_id"], body["run_id"]]
    status = json.loads(reunify(["status", "--json"], env).stdout)
    assert status["current"] is None
    assert leaked(small_world, done.stdout + refused.stdout) == []
