"""Staging a run's results and publishing them: the results written (not yet exported), then
made the exported ones in one transaction once the publish gates pass."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from pipeline import gates
from pipeline.errors import PublishRefused, ReunifyError
from pipeline.logging import bound, get_logger
from pipeline.match.state import LINK_STATE_ARTIFACT, MODEL_STATE_ARTIFACT
from pipeline.ops import cases as case_work
from pipeline.progress import ProgressFn
from pipeline.results import ChildResult, ReviewDecision
from pipeline.run.leases import RUN_LOCK, fail_run
from pipeline.run.stages import no_progress
from pipeline.settings import Settings
from pipeline.store import Store

log = get_logger(__name__)


def decisions_of(store: Store) -> list[ReviewDecision]:
    return [
        ReviewDecision(
            d.child_key, d.adult_key, d.decision, who=d.who, decided_on=d.decided_at.date(), why=d.why
        )
        for d in store.list_decisions()
    ]


def stage_results(run_id: str, store: Store, results: Sequence[ChildResult]) -> int:
    count = store.save_results(run_id, (r.to_export(run_id) for r in results))
    store.save_candidates(
        run_id, {r.child_key: [c.to_export() for c in r.candidates] for r in results if r.candidates}
    )
    return count


def publish_run(
    run_id: str, store: Store, progress: ProgressFn = no_progress, settings: Settings | None = None
) -> None:
    """Make the run's results the exported ones, in one transaction, and free the run lock; with
    ``settings``, draw the run's quality sample (``pipeline.store.quality``) once it is published."""
    with bound(run_id=run_id, stage="publish"):
        store.set_stage(run_id, "publish")
        progress("publish", None, None)
        store.mark_succeeded(run_id)
        if settings is not None:
            draw_quality_sample(run_id, store, settings.quality_sample_share)
            bring_cases_up(run_id, store, settings)
        # the model state and the links stay with the run: the next incremental run reuses them
        store.delete_artifacts(run_id, keep=(MODEL_STATE_ARTIFACT, LINK_STATE_ARTIFACT))
        store.release_lock(RUN_LOCK, run_id)
        store.prune_runs(keep=5)
        log.info("run.succeeded")


def draw_quality_sample(run_id: str, store: Store, share: float) -> None:
    """Draw a published run's quality sample; a failure is logged, never undoes the publish (the
    results are right; only the reviewers' sample of them is missing)."""
    try:
        drawn = store.draw_quality_sample(run_id, share)
    except ReunifyError as exc:
        log.error("quality_sample.failed", error=str(exc))
        return
    log.info("quality_sample.drawn", links=drawn, share=share)


def bring_cases_up(run_id: str, store: Store, settings: Settings) -> None:
    """Bring the parents-to-locate cases up to the run just published, so that the console's
    first read after a run does not pay for it (seconds at 100,000 children); a failure is logged
    and never undoes the publish: the console's first read brings them up then."""
    run = store.get_run(run_id)
    if run is None:
        return
    started = time.monotonic()
    try:
        done = case_work.bring_up(store, settings, run)
    except ReunifyError as exc:
        log.error("cases.sync_failed", error=str(exc))
        return
    log.info(
        "cases.synced", cases=done.cases, created=done.created, seconds=round(time.monotonic() - started, 2)
    )


def publish_step(
    run_id: str,
    settings: Settings,
    store: Store,
    check: Callable[[], None] | None = None,
    progress: ProgressFn = no_progress,
) -> dict[str, Any]:
    """The ``publish`` step through workers: hold the run against the publish gates, then publish.

    A refusal fails the run as refused with the gates' reason here (staged results never
    published, lock released, webhook told) and ends the step normally: a refusal is an answer,
    not an error to retry.
    """
    if check is not None:
        check()
    try:
        gates.check_publish(run_id, store, settings)
    except PublishRefused as exc:
        fail_run(run_id, store, str(exc), settings, refused=True)
        return {"published": False, "refused": list(exc.feeds)}
    publish_run(run_id, store, progress, settings)
    run = store.get_run(run_id)
    children = (run.results_count or 0) if run is not None else 0
    return {"published": True, "refused": [], "children": children}
