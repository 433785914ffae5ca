"""The production path under faults, with real parts only: Celery worker and beat processes on
Redis, the PostgreSQL store, the feed simulator over HTTP, the ``reunify`` command.

- two workers and PostgreSQL give the embedded run's export; two triggers at once: one refused;
- SIGKILL of one of two workers at a random moment mid-run: the run still succeeds, with the
  same export, in seconds (the watchdog re-sends the lost steps; no visibility timeout wait);
- a Redis restart mid-run (a private redis-server on a free port, never the shared one);
- a beat entry with a short interval fires a run, and a tick during a run skips with a log line;
- Flower refuses a request without credentials, and refuses to start without them.

The watchdog's timing is shortened through the environment (heartbeat 1 s, stall 4 s, sweep 1 s);
the simulator answers slowly and pages are small so that a run lasts a few seconds. Measured
recovery times are printed (``pytest -s``) and attached to the test report as properties.
"""

from __future__ import annotations

import base64
import json
import os
import random
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from celery_harness import (
    BIN,
    REPO,
    PrivateRedis,
    celery_beat,
    celery_worker,
    free_port,
    pool_pids,
    process_env,
    reunify,
    start_reunify,
    wait_for,
)

from pipeline.run import run_embedded
from pipeline.settings import load_settings
from pipeline.sim.server import FaultConfig, FeedSimulator
from pipeline.sim.world import World
from pipeline.store import Store

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

# Short watchdog timings, small pages and a slow simulator: a run of the small world lasts
# about ten seconds, long enough to be hit in the middle.
FAST = {
    "REUNIFY_AS_OF": "2018-07-12",
    "REUNIFY_LOG_JSON": "true",
    "REUNIFY_HEARTBEAT_SECONDS": "1",
    "REUNIFY_STALL_SECONDS": "4",
    "REUNIFY_SWEEP_SECONDS": "1",
    "REUNIFY_ORR_PAGE_SIZE": "10",
    "REUNIFY_ICE_PAGE_SIZE": "50",
    "REUNIFY_REQUEST_TIMEOUT": "5",
}
LATENCY = 0.25
RECOVERY_BUDGET = 300.0  # the "within five minutes of the kill"

Export = list[dict[str, Any]]


def _normalised(rows: Any) -> Export:
    return sorted(({k: v for k, v in r.items() if k != "run_id"} for r in rows), key=json.dumps)


@pytest.fixture(scope="module")
def embedded_export(small_world: World, tmp_path_factory: pytest.TempPathFactory) -> Export:
    """The export of an undisturbed in-process run of the small world (the reference)."""
    db = tmp_path_factory.mktemp("embedded") / "reunify.sqlite3"
    with FeedSimulator(small_world.to_payloads()) as sim:
        env = sim.env() | {"REUNIFY_AS_OF": "2018-07-12", "REUNIFY_DATABASE_URL": f"sqlite:///{db}"}
        settings = load_settings(env, config_file=db.parent / "none.toml")
        with Store(settings.database_url) as store:
            run_id = run_embedded(settings, store)
            return _normalised(store.iter_results(run_id))


def _env(simulator: FeedSimulator, broker: str, database: str, **extra: str) -> dict[str, str]:
    env = simulator.env() | FAST | {"REUNIFY_BROKER_URL": broker, "REUNIFY_DATABASE_URL": database}
    return env | extra


def _export(store: Store) -> Export:
    return _normalised(store.iter_results())


def _leased_steps(store: Store) -> list[tuple[str, str, str]]:
    """(run id, step, owner) of every step a live worker holds now."""
    now = store.now()
    return [
        (run.id, step.step, step.owner or "")
        for run in store.running_runs()
        for step in store.list_steps(run.id)
        if step.leased(now)
    ]


def _report(record_property: Callable[[str, object], None], name: str, seconds: float) -> None:
    record_property(name, round(seconds, 1))
    print(f"\n{name}: {seconds:.1f} s")


def test_two_workers_on_postgres_equal_the_embedded_run_and_a_second_trigger_is_refused(
    simulator: FeedSimulator, broker_url: str, pg_url: str, embedded_export: Export, tmp_path: Path
) -> None:
    simulator.set_faults(FaultConfig(rate=0.05, retry_after=0.05, latency=0.05, seed=3))
    env = _env(simulator, broker_url, pg_url)
    assert reunify(["db", "upgrade"], env).returncode == 0
    with celery_worker(env, tmp_path / "w1.log", "w1"), celery_worker(env, tmp_path / "w2.log", "w2"):
        # Two triggers at once: exactly one run starts, the other is refused and says why.
        first = start_reunify(["run"], env, tmp_path / "run1.log")
        second = start_reunify(["run"], env, tmp_path / "run2.log")
        codes = sorted([first.wait(timeout=120), second.wait(timeout=120)])
        logs = (tmp_path / "run1.log").read_text() + (tmp_path / "run2.log").read_text()
        assert codes == [0, 75], logs  # 75: another run is in progress (pipeline/exit_codes.py)
        assert "is in progress" in logs
        # A trigger while a run is going is refused too.
        third = start_reunify(["run"], env, tmp_path / "run3.log")
        wait_for(lambda: Store(pg_url).running_runs(), 30, "the third run to start")
        refused = reunify(["run"], env)
        assert refused.returncode == 75 and "is in progress" in refused.stderr, refused.stderr
        assert third.wait(timeout=120) == 0, (tmp_path / "run3.log").read_text()

    with Store(pg_url) as store:
        runs = store.list_runs()
        assert [r.status for r in runs] == ["succeeded", "succeeded"]  # refused triggers left no run
        assert _export(store) == embedded_export
        # The store holds one run's results per run, no duplicates, nothing of a refused trigger.
        for run in runs:
            assert store.results_count(run.id) == run.results_count == len(embedded_export)


def test_sigkill_of_one_of_two_workers_mid_run(
    simulator: FeedSimulator,
    broker_url: str,
    pg_url: str,
    embedded_export: Export,
    tmp_path: Path,
    record_property: Callable[[str, object], None],
) -> None:
    seed = int(os.environ.get("REUNIFY_TEST_SEED", random.randrange(1_000_000)))
    rng = random.Random(seed)
    record_property("seed", seed)
    simulator.set_faults(FaultConfig(latency=LATENCY))
    env = _env(simulator, broker_url, pg_url)
    assert reunify(["db", "upgrade"], env).returncode == 0
    store = Store(pg_url)
    with (
        celery_worker(env, tmp_path / "w1.log", "w1") as w1,
        celery_worker(env, tmp_path / "w2.log", "w2") as w2,
        celery_beat(env, tmp_path / "beat.log"),
    ):
        runner = start_reunify(["run"], env, tmp_path / "run.log")
        wait_for(lambda: _leased_steps(store), 30, "a worker to start a step")
        time.sleep(rng.uniform(0.0, 3.0))  # a random moment while the run works
        held = _leased_steps(store)
        assert store.running_runs(), "the run ended before the kill; make it slower"
        victim = rng.choice([w1, w2])
        for _run_id, _step, owner in held:
            pid = int(owner.split(":")[1])
            victim = next(w for w in (w1, w2) if pid in pool_pids(w))
            break
        victim_pids = pool_pids(victim)
        os.killpg(victim.pid, signal.SIGKILL)
        killed_at = time.monotonic()
        # Read after the kill: a step the victim finished between the look and the kill was
        # not lost, and a dead worker can neither finish a step nor take another.
        killed = [step for _r, step, owner in _leased_steps(store) if int(owner.split(":")[1]) in victim_pids]
        code = runner.wait(timeout=RECOVERY_BUDGET + 30)
        recovery = time.monotonic() - killed_at

    output = (tmp_path / "run.log").read_text()
    assert code == 0, output
    _report(record_property, "worker_sigkill_to_success_seconds", recovery)
    print(f"seed {seed}; killed {'w1' if victim is w1 else 'w2'} holding {killed or 'no step'}")
    assert recovery < RECOVERY_BUDGET
    run = store.list_runs()[0]
    assert run.status == "succeeded"
    assert _export(store) == embedded_export
    steps = {s.step: s for s in store.list_steps(run.id)}
    for step in killed:  # every step the dead worker held was re-sent and done by the other one
        assert steps[step].done and steps[step].attempts >= 2, steps[step]
    store.close()


def test_redis_restart_mid_run(
    simulator: FeedSimulator,
    pg_url: str,
    embedded_export: Export,
    tmp_path: Path,
    record_property: Callable[[str, object], None],
) -> None:
    broker = PrivateRedis(tmp_path / "redis")
    broker.start()
    try:
        simulator.set_faults(FaultConfig(latency=LATENCY))
        env = _env(simulator, broker.url, pg_url)
        assert reunify(["db", "upgrade"], env).returncode == 0
        store = Store(pg_url)
        with (
            celery_worker(env, tmp_path / "w1.log", "w1"),
            celery_worker(env, tmp_path / "w2.log", "w2"),
            celery_beat(env, tmp_path / "beat.log"),
        ):
            runner = start_reunify(["run"], env, tmp_path / "run1.log")
            wait_for(lambda: _leased_steps(store), 30, "a worker to start a step")
            time.sleep(1.0)
            assert store.running_runs(), "the run ended before the restart; make it slower"
            restarted_at = time.monotonic()
            broker.restart(down_seconds=2.0)
            code = runner.wait(timeout=RECOVERY_BUDGET)
            first_done = time.monotonic() - restarted_at
            first_output = (tmp_path / "run1.log").read_text()
            # Completed, or failed with a clear reason; either way the next run succeeds with the
            # same workers, never restarted.
            if code != 0:
                assert "failed:" in first_output, first_output
            again = reunify(["run"], env, timeout=RECOVERY_BUDGET)
            assert again.returncode == 0, again.stdout + again.stderr
        _report(record_property, "redis_restart_to_run_end_seconds", first_done)
        print(f"first run after the restart: {'succeeded' if code == 0 else 'failed'}")
        assert code == 0, first_output  # with persistence on and the watchdog, it completes
        assert _export(store) == embedded_export
        store.close()
    finally:
        broker.stop()


def test_beat_fires_runs_and_a_tick_during_a_run_skips(
    simulator: FeedSimulator, broker_url: str, pg_url: str, tmp_path: Path
) -> None:
    simulator.set_faults(FaultConfig(latency=LATENCY))
    # A scheduled run every 2 seconds: a run lasts longer, so the next ticks find it in progress.
    env = _env(simulator, broker_url, pg_url, REUNIFY_SCHEDULE_CRON="@every 2s")
    assert reunify(["db", "upgrade"], env).returncode == 0
    store = Store(pg_url)
    log = tmp_path / "w1.log"
    with celery_worker(env, log, "w1"), celery_beat(env, tmp_path / "beat.log"):
        wait_for(
            lambda: any(r.trigger == "beat" and r.status == "succeeded" for r in store.list_runs()),
            90,
            "a scheduled run to succeed",
            interval=0.5,
        )
        wait_for(lambda: b"scheduled_run.skipped" in log.read_bytes(), 30, "a skipped tick")
    skipped = [json.loads(line) for line in log.read_text().splitlines() if "scheduled_run.skipped" in line]
    assert "is in progress" in skipped[0]["reason"]
    assert all(r.status != "failed" for r in store.list_runs())
    store.close()


def _get(url: str, auth: tuple[str, str] | None = None) -> int:
    request = urllib.request.Request(url)
    if auth:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (urllib.error.URLError, ConnectionError):
        return 0


def test_flower_needs_credentials(broker_url: str, tmp_path: Path) -> None:
    base = {"REUNIFY_BROKER_URL": broker_url, "REUNIFY_DATABASE_URL": f"sqlite:///{tmp_path / 'r.db'}"}
    command = [str(BIN / "celery"), "-A", "workers", "flower", "--address=127.0.0.1"]

    refused = subprocess.run(
        [*command, f"--port={free_port()}"],
        cwd=REPO,
        env=process_env(base),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert refused.returncode != 0
    assert "refuses to start without credentials" in refused.stderr + refused.stdout

    port = free_port()
    creds = ("operator", "s3cret-for-test")
    env = base | {"REUNIFY_FLOWER_USER": creds[0], "REUNIFY_FLOWER_PASSWORD": creds[1]}
    log = tmp_path / "flower.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*command, f"--port={port}"],
            cwd=REPO,
            env=process_env(env),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        url = f"http://127.0.0.1:{port}/"
        wait_for(lambda: _get(url) != 0 or proc.poll() is not None, 60, "Flower to listen")
        assert proc.poll() is None, log.read_text()
        assert _get(url) == 401
        assert _get(url + "api/workers") == 401
        assert _get(url, ("operator", "wrong")) == 401
        assert _get(url, creds) == 200
        assert _get(url + "tasks", creds) == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
