"""A run through workers: its steps sent (``start_distributed``, ``dispatch``), each executed
under its lease in the store (``execute_step``), and the run advanced to its next stage by the
worker that finishes a stage's last step (``advance``)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from pipeline import gates
from pipeline.errors import ReunifyError, RunFailedError
from pipeline.logging import bound, get_logger
from pipeline.no_fetch import copy_feed_state
from pipeline.no_fetch import source_run as no_fetch_source
from pipeline.run.leases import Heartbeat, StepAbandoned, begin_run, ended_reason, fail_run, step_owner
from pipeline.run.stages import FETCH, FETCH_STEPS, NEXT_STAGE, PREPARE, stage_of, stage_steps
from pipeline.settings import Settings
from pipeline.store import Store

log = get_logger(__name__)


# Sends the messages of some steps of a run to the workers (workers.tasks.send_steps).
SendFn = Callable[[str, Sequence[str]], None]


@dataclass(frozen=True)
class StepOutcome:
    """What one execution of a step did: ran it (``ran``), or skipped it and why (``detail``)."""

    step: str
    ran: bool
    detail: str
    advanced_to: str | None = None
    value: Any = None


def dispatch(run_id: str, steps: Sequence[str], store: Store, send: SendFn) -> None:
    """Record that ``steps`` are sent now, then send them (the record first: a worker may be fast)."""
    store.mark_sent(run_id, steps)
    send(run_id, steps)


def start_distributed(
    store: Store,
    settings: Settings,
    trigger: str,
    send: SendFn,
    mode: str = "full",
    accept: Sequence[gates.AcceptDrop] = (),
    no_fetch: bool = False,
) -> str:
    """Begin a run and send its fetch steps to the workers; returns the run id. ``no_fetch``: the
    last good run's feed state is copied here instead (``pipeline.no_fetch``) and the workers
    start at the prepare step.

    RunInProgressError if a run is in progress; if the steps cannot be sent (broker down) the run
    is failed with that reason and RunFailedError raised. ``accept`` is stored on the run before
    any step is sent, for the publish step to honour.
    """
    source = no_fetch_source(store) if no_fetch else None
    run_id = begin_run(store, settings, trigger, mode=mode, accept=accept)
    store.set_stage(run_id, FETCH)
    first = FETCH_STEPS
    if source is not None:
        try:
            copy_feed_state(store, run_id, source)
        except ReunifyError as exc:
            fail_run(run_id, store, f"could not copy the last good run's feed state: {exc}", settings)
            raise RunFailedError(f"run {run_id} failed: {exc}", run_id) from exc
        store.set_stage(run_id, PREPARE)
        first = (PREPARE,)
    try:
        dispatch(run_id, first, store, send)
    except Exception as exc:
        reason = f"could not send the run's tasks to the broker: {type(exc).__name__}: {exc}"
        fail_run(run_id, store, reason, settings)
        raise RunFailedError(f"run {run_id} failed: {reason}", run_id) from exc
    return run_id


def execute_step(
    run_id: str,
    step: str,
    settings: Settings,
    store: Store,
    body: Callable[[Heartbeat], Any],
    send: SendFn,
) -> StepOutcome:
    """Run one step of a run exactly as far as the store allows, then advance the run.

    Skipped (with the reason, nothing written) when the run is not running or in another stage,
    the step is done, or a live worker holds it. Otherwise the step's lease is taken and renewed
    while ``body`` runs; on an exception the lease is given back (the retry or the watchdog
    re-sends the step) and the exception propagates.
    """
    with bound(run_id=run_id, step=step):

        def skipped(reason: str) -> StepOutcome:
            log.info("step.skipped", reason=reason)
            return StepOutcome(step, False, reason)

        run = store.get_run(run_id)
        if run is None:
            return skipped("no such run")
        if run.status != "running":
            return skipped("the run was cancelled" if run.cancelled else f"the run has {run.status}")
        stage = run.stage or FETCH
        if stage_of(step) != stage:
            return skipped(f"the run is in stage {stage}")
        owner = step_owner()
        if not store.claim_step(run_id, step, owner, settings.stall_seconds):
            return skipped("done already, or another worker holds it")
        log.info("step.started", owner=owner)
        started = time.monotonic()
        try:
            with Heartbeat(store, settings, run_id, step, owner) as beat:
                value = body(beat)
        except StepAbandoned:
            with suppress(ReunifyError):
                store.release_step(run_id, step, owner)
            raise
        except BaseException as exc:
            with suppress(ReunifyError):
                store.release_step(run_id, step, owner)
            # a step of a run that ended meanwhile (cancelled, failed elsewhere) whose writes the
            # store refused is not a failure to retry: it stops, like a step that checked in time
            with suppress(ReunifyError):
                ended = store.get_run(run_id)
                if ended is not None and ended.status != "running":
                    raise StepAbandoned(ended_reason(store, run_id)) from exc
            raise
        ended = store.get_run(run_id)
        if ended is not None and ended.cancelled:
            # cancelled while the step worked: its work is not marked done, nothing advances
            store.release_step(run_id, step, owner)
            return skipped(ended_reason(store, run_id) + " while the step ran")
        if not store.finish_step(run_id, step, owner):
            return skipped("another worker took the step over while it ran")
        log.info("step.done", seconds=round(time.monotonic() - started, 2))
        return StepOutcome(step, True, "done", advance(run_id, store, send), value)


def advance(run_id: str, store: Store, send: SendFn) -> str | None:
    """Move a running run to its next stage if every step of its stage is done, and send the next
    stage's steps; the new stage, or None. Safe to call any number of times, from anywhere."""
    run = store.get_run(run_id)
    if run is None or run.status != "running":
        return None
    stage = run.stage or FETCH
    nxt = NEXT_STAGE.get(stage)
    if nxt is None or not store.advance_stage(run_id, stage, nxt, stage_steps(stage, run.partitions)):
        return None
    log.info("run.advanced", run_id=run_id, stage=nxt)
    dispatch(run_id, stage_steps(nxt, run.partitions), store, send)
    return nxt
