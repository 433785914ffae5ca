"""Progress where operators look, and ``reunify cancel``, through real parts only: two Celery worker
processes and beat on the local Redis, Flower, the PostgreSQL store, the feed simulator over HTTP,
the ``reunify`` command.

One sequence (the workers, beat and Flower are started once; each phase needs the one before):

1. a run through the workers succeeds, and while its match step works Flower's task API
   (``/api/tasks``, basic auth) shows it in state PROGRESS with partition i of n and the children
   linked (counts only); every step's result carries its counts; the watchdog's sweep, sent by beat
   every second, is nowhere in Flower's task list;
2. a second run (the simulator slowed down) is interrupted: ``reunify run`` exits 130 saying the
   run goes on in the workers and how to follow and cancel it; ``reunify cancel`` stops it: the run
   is cancelled with who and why, no step starts or finishes after, the lock is free, the first
   run's results are still the published ones;
3. the next run succeeds with the same workers, and the same export as the first;
4. Ctrl-C on an in-process run stops it cleanly: exit 130, the run cancelled, the lock free.
"""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from celery_harness import (
    cluster,
    flower_json,
    reunify,
    start_reunify,
    wait_for,
)

from pipeline.ops.check import OK, check_status
from pipeline.sim.server import FaultConfig, FeedSimulator
from pipeline.sim.world import World, generate_world
from pipeline.store import Store

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

AUTH = ("operator", "flower-test-password")
TIMINGS = {
    "REUNIFY_AS_OF": "2018-07-12",
    "REUNIFY_LOG_JSON": "true",
    "REUNIFY_HEARTBEAT_SECONDS": "1",
    "REUNIFY_STALL_SECONDS": "4",
    "REUNIFY_SWEEP_SECONDS": "1",
    "REUNIFY_ORR_PAGE_SIZE": "10",
    "REUNIFY_REQUEST_TIMEOUT": "5",
    # one partition: its match step links every child (long enough to be seen at work)
    "REUNIFY_MATCH_PARTITIONS": "1",
}


@pytest.fixture(scope="module")
def world() -> World:
    """A world big enough that linking its children takes a noticeable fraction of a second."""
    return generate_world(800, seed=11)


def _tasks(base: str) -> dict[str, dict[str, Any]]:
    return flower_json(base + "api/tasks", AUTH) or {}


def _published(store: Store) -> list[dict[str, Any]]:
    """The export objects of the published run (what `reunify export` writes), without the run id."""
    return sorted(
        ({k: v for k, v in r.items() if k != "run_id"} for r in store.iter_results()), key=json.dumps
    )


def _match_progress(base: str) -> list[dict[str, Any]]:
    """The progress Flower shows for match steps at work: their result while in state PROGRESS."""
    return [
        json.loads(task["result"])
        for task in _tasks(base).values()
        if task.get("name") == "reunify.run.match" and task.get("state") == "PROGRESS"
    ]


def test_flower_shows_progress_and_reunify_cancel_stops_a_run_through_two_workers(
    world: World, broker_url: str, pg_url: str, tmp_path: Path
) -> None:
    with FeedSimulator(world.to_payloads()) as sim:
        env = sim.env() | TIMINGS | {"REUNIFY_BROKER_URL": broker_url, "REUNIFY_DATABASE_URL": pg_url}
        assert reunify(["db", "upgrade"], env).returncode == 0
        store = Store(pg_url)
        with cluster(env, tmp_path, ("w1", "w2"), concurrency=1, flower_auth=AUTH) as running:
            base = running.flower_url or ""
            # 1. a good run; Flower shows its match step's progress while it works
            runner = start_reunify(["run"], env, tmp_path / "run1.log")
            seen: list[dict[str, Any]] = []
            while runner.poll() is None and not seen:
                seen = _match_progress(base)
                time.sleep(0.05)
            assert runner.wait(timeout=120) == 0, (tmp_path / "run1.log").read_text()
            first = store.list_runs()[0]
            assert seen, "Flower never showed a match step in state PROGRESS"
            (meta,) = seen[:1]
            assert meta["run_id"] == first.id and meta["step"] == "match:0" and meta["stage"] == "match"
            assert (meta["partition"], meta["partitions"]) == (1, 1)
            assert meta["children"] == first.results_count and 0 <= meta["linked"] <= meta["children"]
            assert set(meta) == {"run_id", "step", "stage", "partition", "partitions", "children", "linked"}
            # once done, each step's result carries its counts (Flower shows the task-succeeded one)
            tasks = wait_for(lambda: _steps_succeeded(base, first.id), 30, "Flower to see every step end")
            assert f"'linked': {first.results_count}" in tasks["reunify.run.match"]["result"]
            assert f"'children': {first.results_count}" in tasks["reunify.run.finish"]["result"]
            assert "'fetched': " in tasks["reunify.feed.fetch"]["result"]
            # the watchdog runs every second, and is nowhere in the task list (the run can end
            # within two beats of beat starting: wait for the third rather than assume it came)
            beat_log = tmp_path / "beat.log"
            wait_for(lambda: beat_log.read_text().count("reunify.run.sweep") >= 3, 10, "beat's third sweep")
            assert not [t for t in _tasks(base).values() if t.get("name") == "reunify.run.sweep"]
            published = _published(store)

            # 2. a slow run: Ctrl-C leaves it to the workers, `reunify cancel` stops it
            sim.set_faults(FaultConfig(latency=0.1))
            runner = start_reunify(["run"], env, tmp_path / "run2.log")
            wait_for(lambda: any(r.counts for r in store.running_runs()), 60, "the second run to fetch")
            runner.send_signal(signal.SIGINT)
            assert runner.wait(timeout=30) == 130
            said = (tmp_path / "run2.log").read_text()
            second = store.list_runs()[0]
            assert f"run {second.id} goes on in the workers" in said and f"reunify cancel {second.id}" in said
            assert store.get_run(second.id).status == "running"  # type: ignore[union-attr]
            cancel = reunify(["cancel", "--who", "ada", "--reason", "wrong report date"], env)
            assert cancel.returncode == 0, cancel.stderr
            assert f"cancelled run {second.id}" in cancel.stdout
            cancelled = store.get_run(second.id)
            assert cancelled is not None and cancelled.outcome == "cancelled" and cancelled.cancelled_at
            assert "cancelled by ada: wrong report date" in (cancelled.error or "")
            time.sleep(2)  # two heartbeats: any step at work has stopped by now
            steps = store.list_steps(second.id)
            assert {s.step for s in steps} <= {f"fetch:{f}" for f in ("orr", "ice", "removals", "dna")}
            assert all(s.done_at is None or s.done_at <= cancelled.cancelled_at for s in steps), steps
            assert not any(s.leased(store.now()) for s in steps), steps
            assert store.lock_holder("reunify-run") is None
            assert store.latest_succeeded_run().id == first.id  # type: ignore[union-attr]
            assert _published(store) == published
            status = check_status(store, 3600, 7200)  # `reunify status --check`: not a failure
            assert status.code == OK and f"last run {second.id} cancelled" in status.message

            # 3. the next run succeeds with the same workers
            sim.set_faults(FaultConfig())
            done = reunify(["run"], env)
            assert done.returncode == 0, done.stdout + done.stderr
            assert "succeeded" in done.stdout and "[" not in done.stdout  # progress went to stderr
            assert "match" in done.stderr and "fetch" in done.stderr
        assert _published(store) == published

        # 4. Ctrl-C on an in-process run stops it and says so
        sim.set_faults(FaultConfig(latency=0.1))
        embedded = {k: v for k, v in env.items() if k != "REUNIFY_BROKER_URL"}
        runner = start_reunify(["run"], embedded, tmp_path / "run4.log")
        wait_for(lambda: any(r.counts for r in store.running_runs()), 60, "the in-process run to fetch")
        runner.send_signal(signal.SIGINT)
        assert runner.wait(timeout=30) == 130
        fourth = store.list_runs()[0]
        assert f"run {fourth.id} was stopped and marked cancelled" in (tmp_path / "run4.log").read_text()
        assert fourth.outcome == "cancelled" and store.lock_holder("reunify-run") is None
    store.close()


def _steps_succeeded(base: str, run_id: str) -> dict[str, dict[str, Any]]:
    """The last task of each step name of the run in Flower, once every step's task succeeded."""
    mine = [t for t in _tasks(base).values() if run_id in (t.get("kwargs") or "")]
    names = {"reunify.feed.fetch", "reunify.run.prepare", "reunify.run.match", "reunify.run.finish"}
    by_name = {t["name"]: t for t in mine if t.get("state") == "SUCCESS"}
    return by_name if names <= set(by_name) else {}
