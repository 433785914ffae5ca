"""The run lock against real databases (SQLite and the local PostgreSQL), on the store's clock: an
in-process run whose heartbeat stopped is taken over, a live run and a run through workers between
steps are not, and ``unlock`` does what it says."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import timedelta
from pathlib import Path

import pytest
from store_clock import T0, FakeClock

from pipeline import run as stages
from pipeline.errors import RunInProgressError
from pipeline.settings import Settings, load_settings
from pipeline.store import Store


@pytest.fixture
def store(db_url: str, clock: FakeClock) -> Iterator[Store]:
    with Store(db_url, clock=clock) as s:
        yield s


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    env = {
        "REUNIFY_ORR_URL": "http://orr",
        "REUNIFY_ORR_TOKEN": "t",
        "REUNIFY_ICE_URL": "http://ice",
        "REUNIFY_ICE_TOKEN": "t",
        "REUNIFY_REMOVALS_URL": "http://rm",
        "REUNIFY_REMOVALS_TOKEN": "t",
        "REUNIFY_AS_OF": "2018-07-12",
        "REUNIFY_HEARTBEAT_SECONDS": "10",
        "REUNIFY_STALL_SECONDS": "60",
    }
    return load_settings(env, config_file=tmp_path / "none.toml")


def _no_send(_run_id: str, _steps: Sequence[str]) -> None:
    return None


def test_an_in_process_run_silent_for_stall_seconds_is_failed_and_its_lock_taken_over(
    store: Store, clock: FakeClock, settings: Settings
) -> None:
    dead = stages.begin_run(store, settings, "cli")
    clock.advance(61)

    taker = stages.begin_run(store, settings, "cli")

    assert store.lock_holder(stages.RUN_LOCK).owner == taker  # type: ignore[union-attr]
    run = store.get_run(dead)
    assert run is not None and run.status == "failed"
    assert "no heartbeat for 61 s" in (run.error or "") and "REUNIFY_STALL_SECONDS" in (run.error or "")
    assert taker in (run.error or "")


def test_a_run_that_beats_its_heartbeat_keeps_its_lock(
    store: Store, clock: FakeClock, settings: Settings
) -> None:
    live = stages.begin_run(store, settings, "cli")
    for _ in range(10):  # 100 s in all, a beat every 10 s
        clock.advance(10)
        assert store.heartbeat(live)

    with pytest.raises(RunInProgressError, match=f"run {live} is in progress"):
        stages.begin_run(store, settings, "cli")
    assert store.get_run(live).status == "running"  # type: ignore[union-attr]


def test_a_run_through_workers_quiet_between_steps_is_not_taken_over(
    store: Store, clock: FakeClock, settings: Settings
) -> None:
    # its fetch steps wait in the queue for a free worker: nobody renews the heartbeat meanwhile
    queued = stages.start_distributed(store, settings, "beat", _no_send)
    clock.advance(settings.stall_seconds * 5)

    with pytest.raises(RunInProgressError):
        stages.begin_run(store, settings, "cli")
    with pytest.raises(RunInProgressError, match="--force"):
        stages.unlock(store, settings)
    assert store.get_run(queued).status == "running"  # type: ignore[union-attr]


def test_unlock_frees_a_dead_runs_lock_refuses_a_live_one_and_forces_when_told(
    store: Store, clock: FakeClock, settings: Settings
) -> None:
    assert "free" in stages.unlock(store, settings)

    live = stages.begin_run(store, settings, "cli")
    clock.advance(30)
    with pytest.raises(RunInProgressError, match="looks alive: last heartbeat 30 s ago"):
        stages.unlock(store, settings)
    assert store.lock_holder(stages.RUN_LOCK) is not None

    clock.advance(31)
    said = stages.unlock(store, settings)
    assert f"failed run {live}" in said and "no heartbeat for 61 s" in said
    assert store.lock_holder(stages.RUN_LOCK) is None
    assert "unlocked by an operator" in (store.get_run(live).error or "")  # type: ignore[union-attr]

    forced = stages.begin_run(store, settings, "cli")
    said = stages.unlock(store, settings, force=True)
    assert f"failed run {forced} (forced)" in said
    run = store.get_run(forced)
    assert run is not None and run.status == "failed" and "--force" in (run.error or "")
    # a forced run's own process finds out at its next heartbeat and stops
    assert not store.heartbeat(forced)


def test_a_quiet_run_is_failed_only_if_still_quiet(store: Store, clock: FakeClock) -> None:
    run_id = store.start_run("cli", T0.date())
    clock.advance(50)
    assert not store.fail_quiet_run(run_id, timedelta(seconds=60), "dead")
    clock.advance(20)
    store.heartbeat(run_id)  # it beat just before the takeover
    assert not store.fail_quiet_run(run_id, timedelta(seconds=60), "dead")
    clock.advance(61)
    assert store.fail_quiet_run(run_id, timedelta(seconds=60), "dead")
    assert store.get_run(run_id).error == "dead"  # type: ignore[union-attr]


def test_a_run_whose_lock_is_taken_but_not_yet_recorded_is_in_progress_not_superseded(
    store: Store, clock: FakeClock, settings: Settings
) -> None:
    # a trigger takes the lock first and records its run just after: a second trigger in between
    # must be refused, not take the lock and then fail the first as superseded
    starting = stages.new_run_id()
    assert store.acquire_lock(stages.RUN_LOCK, starting, settings.run_lock_seconds)
    clock.advance(settings.stall_seconds - 1)

    with pytest.raises(RunInProgressError, match=f"run {starting} is in progress"):
        stages.begin_run(store, settings, "cli")
    assert store.lock_holder(stages.RUN_LOCK).owner == starting  # type: ignore[union-attr]

    # its process died before recording the run: after stall_seconds the lock is free to take
    clock.advance(1)
    taker = stages.begin_run(store, settings, "cli")
    assert store.lock_holder(stages.RUN_LOCK).owner == taker  # type: ignore[union-attr]
