"""A whole in-process run against a slow feed simulator over real HTTP: the run deadline bounds
it (in the library and through the ``reunify`` command), and a ``reunify run`` killed with
SIGKILL leaves no lock that stops the next run for more than REUNIFY_STALL_SECONDS."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from celery_harness import BIN, REPO, process_env, reunify

from pipeline.errors import RunFailedError, RunInProgressError
from pipeline.run import run_embedded
from pipeline.settings import Settings
from pipeline.sim.server import FeedSimulator
from pipeline.store import RunInfo, Store

# Pages of five records a quarter of a second each: the small world's fetch takes ~10 s or more.
SLOW = {"REUNIFY_ORR_PAGE_SIZE": "5", "REUNIFY_ICE_PAGE_SIZE": "5"}
LATENCY = 0.25


def _written(store: Store, run: RunInfo) -> tuple[object, ...]:
    """Everything a run's fetch threads write to the store."""
    again = store.get_run(run.id)
    assert again is not None
    feeds = ("orr", "ice", "removals", "dna")
    return (
        again.counts,
        again.heartbeat_at,
        tuple(store.count_feed_records(run.id, f) for f in feeds),
        len(store.list_quarantine(run.id)),
    )


def _running(store: Store, timeout: float = 30) -> RunInfo:
    """The running run once it has fetched something."""
    ends = time.monotonic() + timeout
    while time.monotonic() < ends:
        for run in store.running_runs():
            if any(c.fetched for c in run.counts.values()):
                return run
        time.sleep(0.1)
    raise AssertionError("no run started fetching")


def test_an_embedded_run_past_its_deadline_fails_naming_the_setting_and_keeps_the_last_export(
    simulator: FeedSimulator, make_settings: Callable[..., Settings]
) -> None:
    good_settings = make_settings(simulator)
    store = Store(good_settings.database_url)
    good = run_embedded(good_settings, store, "test")
    before = list(store.iter_results())

    simulator.set_faults(latency=LATENCY)
    settings = make_settings(simulator, REUNIFY_RUN_DEADLINE_SECONDS="2", **SLOW)
    started = time.monotonic()
    with pytest.raises(RunFailedError) as failure:
        run_embedded(settings, store, "test")
    took = time.monotonic() - started

    assert took < 2 + 3, f"the run took {took:.1f} s past a 2 s deadline"
    message = str(failure.value)
    assert "REUNIFY_RUN_DEADLINE_SECONDS (2 s)" in message and "stage fetch" in message
    assert "feeds not fetched yet: orr, ice" in message
    failed = store.list_runs(limit=1)[0]
    assert failed.status == "failed" and "REUNIFY_RUN_DEADLINE_SECONDS" in (failed.error or "")
    assert store.latest_succeeded_run().id == good  # type: ignore[union-attr]
    assert list(store.iter_results()) == before
    # the fetch threads left behind stop at their next page without writing anything more
    written = _written(store, failed)
    time.sleep(4 * LATENCY + 1.5)
    assert _written(store, failed) == written


def test_reunify_run_past_its_deadline_exits_1_promptly(simulator: FeedSimulator, tmp_path: Path) -> None:
    simulator.set_faults(latency=1.0)  # every feed would take a minute or more
    env = (
        simulator.env()
        | SLOW
        | {
            "REUNIFY_AS_OF": "2018-07-12",
            "REUNIFY_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}",
            "REUNIFY_RUN_DEADLINE_SECONDS": "3",
        }
    )
    started = time.monotonic()
    done = reunify(["run"], env, timeout=60)
    took = time.monotonic() - started

    assert done.returncode == 1, done.stderr
    assert "REUNIFY_RUN_DEADLINE_SECONDS (3 s)" in done.stderr
    # interpreter start-up and imports take a second or two; the fetch threads, blocked in reads,
    # must not hold the process
    assert took < 3 + 5, f"reunify run exited {took:.1f} s after it started"


def _killed_mid_fetch(simulator: FeedSimulator, env: dict[str, str], store: Store) -> RunInfo:
    """A ``reunify run`` subprocess killed with SIGKILL once it has fetched some pages."""
    simulator.set_faults(latency=LATENCY)
    proc = subprocess.Popen(
        [str(BIN / "reunify"), "run"],
        cwd=REPO,
        env=process_env(env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        run = _running(store)
    finally:
        proc.kill()
        proc.wait(timeout=10)
    simulator.set_faults(latency=0.0)
    return run


def _after_a_killed_run(
    simulator: FeedSimulator, make_settings: Callable[..., Settings], **timing: str
) -> tuple[Settings, Store, dict[str, str], RunInfo]:
    """Settings, store and process environment with these heartbeat timings (and slow feeds),
    and the run a ``reunify run`` killed mid-fetch under them left behind."""
    extra = timing | SLOW
    settings = make_settings(simulator, **extra)
    store = Store(settings.database_url)
    env = (
        simulator.env()
        | extra
        | {"REUNIFY_AS_OF": "2018-07-12", "REUNIFY_DATABASE_URL": settings.database_url}
    )
    return settings, store, env, _killed_mid_fetch(simulator, env, store)


def test_a_run_killed_mid_fetch_gives_way_to_the_next_run_after_stall_seconds(
    simulator: FeedSimulator, make_settings: Callable[..., Settings]
) -> None:
    settings, store, _, dead = _after_a_killed_run(
        simulator, make_settings, REUNIFY_HEARTBEAT_SECONDS="0.5", REUNIFY_STALL_SECONDS="2"
    )
    killed_at = time.monotonic()

    time.sleep(2.5)
    run_id = run_embedded(settings, store, "test")

    assert time.monotonic() - killed_at < 30  # not the lock's hour
    assert store.get_run(run_id).status == "succeeded"  # type: ignore[union-attr]
    was = store.get_run(dead.id)
    assert was is not None and was.status == "failed"
    assert "its process stopped: no heartbeat for" in (was.error or "")
    assert f"lock taken over by run {run_id}" in (was.error or "")


def test_reunify_unlock_refuses_a_fresh_heartbeat_and_forces_when_told(
    simulator: FeedSimulator, make_settings: Callable[..., Settings]
) -> None:
    settings, store, env, dead = _after_a_killed_run(
        simulator, make_settings, REUNIFY_HEARTBEAT_SECONDS="1", REUNIFY_STALL_SECONDS="60"
    )

    refused = reunify(["unlock"], env)
    assert refused.returncode == 75  # the holder looks alive: a run is in progress
    assert f"run {dead.id}" in refused.stderr and "looks alive" in refused.stderr
    assert "--force" in refused.stderr
    forced = reunify(["unlock", "--force"], env)
    assert forced.returncode == 0, forced.stderr
    assert f"failed run {dead.id} (forced) and freed the run lock" in forced.stdout

    run_id = run_embedded(settings, store, "test")
    assert store.get_run(run_id).status == "succeeded"  # type: ignore[union-attr]
    assert "reunify unlock --force" in (store.get_run(dead.id).error or "")  # type: ignore[union-attr]
    assert "free" in reunify(["unlock"], env).stdout


def test_a_live_run_is_not_taken_over_past_stall_seconds(
    simulator: FeedSimulator, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(simulator, REUNIFY_HEARTBEAT_SECONDS="0.5", REUNIFY_STALL_SECONDS="2", **SLOW)
    store = Store(settings.database_url)
    simulator.set_faults(latency=LATENCY)
    outcome: list[object] = []
    first = threading.Thread(target=lambda: outcome.append(run_embedded(settings, store, "test")))
    first.start()
    try:
        live = _running(store)
        time.sleep(3)  # longer than REUNIFY_STALL_SECONDS: only the heartbeat says it is alive
        with pytest.raises(RunInProgressError, match=f"run {live.id} is in progress"):
            run_embedded(settings, store, "test")
    finally:
        simulator.set_faults(latency=0.0)
        first.join(timeout=60)
    assert outcome == [live.id]
    assert store.get_run(live.id).status == "succeeded"  # type: ignore[union-attr]
