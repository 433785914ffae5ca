"""Following a run through workers from another process (``reunify run`` with a broker): its
progress drawn from what the store records, until it ends."""

from __future__ import annotations

import time

from pipeline.errors import PublishRefused, RunCancelled, RunFailedError
from pipeline.gates import refused_feeds
from pipeline.progress import LATER_STAGES, Progress
from pipeline.run.stages import NEXT_STAGE, stage_steps
from pipeline.settings import Settings
from pipeline.store import Store


def follow_run(settings: Settings, store: Store, run_id: str, progress: Progress) -> str:
    """Follow a run through workers until it ends, drawing its progress from what the store
    records (feed counts, the stage, its steps done); the run id once it succeeded."""
    seen: dict[str, tuple[int, ...]] = {}
    warned = False
    while True:
        run = store.get_run(run_id)
        if run is None:
            raise RunFailedError(f"run {run_id} vanished from the store")
        for feed, c in run.counts.items():
            key = (c.fetched, c.valid)
            if seen.get(feed) != key:
                seen[feed] = key
                progress("fetch", feed, {"fetched": c.fetched, "quarantined": c.quarantined})
        if run.stage and run.stage in LATER_STAGES:
            if run.stage != progress.stage:
                # a stage that began and ended between two polls still happened: say it in order
                for passed in passed_stages(progress.stage, run.stage):
                    progress(passed, None, None)
                progress(run.stage, None, None)
            steps = stage_steps(run.stage, run.partitions)
            if len(steps) > 1:  # partition i of n: the match steps done so far
                done = sum(s.done for s in store.list_steps(run_id) if s.step in steps)
                progress(run.stage, None, {"steps": len(steps), "done": done})
        if run.status == "succeeded":
            return run_id
        if run.status == "failed":
            if run.cancelled:
                raise RunCancelled(f"run {run_id} was {run.error}", run_id)
            if run.refused:
                feeds = refused_feeds(store.list_gate_checks(run_id))
                raise PublishRefused(f"run {run_id} was not published: {run.error}", feeds, run_id)
            raise RunFailedError(f"run {run_id} failed: {run.error}", run_id)
        quiet = (store.now() - run.heartbeat_at).total_seconds()
        if not warned and quiet > 2 * settings.stall_seconds + settings.sweep_seconds:
            warned = True
            progress.note(
                f"reunify: no progress for {quiet:.0f} s; the watchdog (`celery -A workers beat`) "
                "re-sends lost work: is beat running, and a worker?"
            )
        time.sleep(0.5)


def passed_stages(shown: str | None, now: str) -> list[str]:
    """The stages of a run through workers after ``shown`` (the last one drawn) and before
    ``now``, in order; none when ``shown`` is not a workers' stage before ``now``."""
    passed: list[str] = []
    stage = NEXT_STAGE.get(shown or "")
    while stage is not None and stage != now:
        passed.append(stage)
        stage = NEXT_STAGE.get(stage)
    return passed if stage == now else []
