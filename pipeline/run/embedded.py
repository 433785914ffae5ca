"""The in-process runner (``run_embedded``): the fetches in parallel threads, then the
reconciliation in one stage (``reconcile_run``), the publish gates and the publish, bounded by
the run's deadline and stopped cleanly by Ctrl-C or ``reunify cancel``."""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, wait
from typing import Any, TypeVar

from pipeline import gates
from pipeline.errors import PublishRefused, ReunifyError, RunCancelled, RunFailedError
from pipeline.logging import bound, get_logger
from pipeline.no_fetch import copy_feed_state
from pipeline.no_fetch import source_run as no_fetch_source
from pipeline.progress import ProgressFn
from pipeline.reconcile import no_gc_pauses, reconcile_reusing, without_gc_pauses
from pipeline.records import FeedSnapshot
from pipeline.run.fetch import FetchedRecords, fetch_feed
from pipeline.run.leases import RUN_LOCK, Heartbeat, begin_run, fail_run
from pipeline.run.link_store import keep_links, previous_links
from pipeline.run.model_state import frozen_state, keep_state
from pipeline.run.publish import decisions_of, publish_run, stage_results
from pipeline.run.stages import FETCH, PUBLISH, RECONCILE, no_progress
from pipeline.settings import FEEDS, Settings
from pipeline.snapshot import FEED_ATTR, load_snapshot
from pipeline.store import Store

log = get_logger(__name__)
T = TypeVar("T")


@without_gc_pauses
def reconcile_run(
    run_id: str,
    store: Store,
    progress: ProgressFn = no_progress,
    check: Callable[[], None] | None = None,
    snapshot: FeedSnapshot | None = None,
    model_max_age_days: int | None = None,
) -> int:
    """Match and classify over the run's records, in this process, and stage the results (not
    yet published); the run's partitions run one after the other.

    With ``model_max_age_days``, an incremental run or a run without fetching links under the last
    good run's model state unless it is that old (``pipeline.run.model_state.frozen_state``);
    otherwise the model is estimated from the run's records. Either way the run keeps the model
    state it used, and its first-pass links; a run under the last good run's model state reuses
    that run's links for every child whose inputs did not change (``pipeline.run.link_store``).

    ``snapshot`` is the run's records when the caller holds them already (an in-process run
    keeps every feed's current state from its fetches); otherwise they are read from the store.
    """
    with bound(run_id=run_id, stage="reconcile"):
        run = store.get_run(run_id)
        if run is None:
            raise RunFailedError(f"run {run_id} is not in the store")
        store.set_stage(run_id, "reconcile")
        progress("reconcile", None, None)
        started = time.monotonic()
        if snapshot is None:
            snapshot = load_snapshot(run_id, store)
        loaded = time.monotonic()

        def linked(number: int, partitions: int, done: int, children: int) -> None:
            if check is not None:
                check()  # a cancelled or failed run stops between slices of its linking
            progress(
                "reconcile",
                None,
                {"partition": number, "partitions": partitions, "linked": done, "children": children},
            )

        frozen = frozen_state(store, run, model_max_age_days) if model_max_age_days is not None else None
        previous = previous_links(store, frozen) if frozen is not None else None
        done = reconcile_reusing(
            snapshot,
            run.as_of,
            decisions_of(store),
            run.partitions,
            linked,
            frozen.model if frozen is not None else None,
            previous,
        )
        results = done.results
        used = keep_state(store, run_id, done.model, frozen)
        if done.links is not None:
            keep_links(store, run_id, done.links, used.estimated_by)
        matched = time.monotonic()
        if check is not None:
            check()
        count = stage_results(run_id, store, results)
        log.info(
            "reconcile.done",
            children=count,
            partitions=run.partitions,
            model_estimated_by=used.estimated_by,
            model_reused=frozen is not None,
            links_reused=previous is not None,
            relinked=done.relinked,
            recompared=done.recompared,
            people_reused=done.people_reused,
            inputs_reused=done.inputs_reused,
            buckets_built=done.buckets_built,
            load_seconds=round(loaded - started, 2),
            match_seconds=round(matched - loaded, 2),
            write_seconds=round(time.monotonic() - matched, 2),
        )
        return count


def _in_thread(name: str, fn: Callable[..., T], *args: Any) -> Future[T]:
    """``fn(*args)`` in a daemon thread; its future. Unlike a ThreadPoolExecutor's threads, one left
    blocked in a read after its run ended (past the deadline) does not hold the process at exit."""
    future: Future[T] = Future()
    future.set_running_or_notify_cancel()

    def body() -> None:
        try:
            future.set_result(fn(*args))
        except BaseException as exc:  # handed to the waiting thread
            future.set_exception(exc)

    threading.Thread(target=body, name=name, daemon=True).start()
    return future


class Interrupted(KeyboardInterrupt):
    """Ctrl-C stopped an in-process run: it was marked cancelled (nothing published, lock freed)."""

    def __init__(self, run_id: str) -> None:
        super().__init__(run_id)
        self.run_id = run_id


INTERRUPTED_REASON = (
    "cancelled: interrupted (Ctrl-C) in the `reunify run` that ran it in-process; "
    "the last good results stay published"
)


class RunDeadlinePassed(ReunifyError):
    """An in-process run did not finish within ``run_deadline_seconds``."""


def run_embedded(
    settings: Settings,
    store: Store,
    trigger: str = "cli",
    progress: ProgressFn = no_progress,
    mode: str = "full",
    accept: Sequence[gates.AcceptDrop] = (),
    run_id: str | None = None,
    no_fetch: bool = False,
) -> str:
    """One whole run in this process: the four fetches in parallel threads, then reconcile, the
    publish gates, publish. ``no_fetch``: instead of fetching, the last good run's feed state is
    copied in the store (``pipeline.no_fetch``) and reconciled again, with the decisions made since.
    ``run_id``: the new run's id, when the caller needs it before the run ends.

    Bounded by ``run_deadline_seconds``: past it the run is failed with the stage and the feeds
    not yet fetched, and the threads still working stop at their next check without writing
    (they are daemon threads: one stuck in a read does not keep the process alive). Raises
    RunFailedError (after recording the failure) when any stage fails; PublishRefused, a
    RunFailedError, when a publish gate refused the run (``accept``: operators' acceptances of a
    real drop for this run, see ``pipeline.gates``); RunCancelled, a RunFailedError, when an
    operator cancelled it (``pipeline.cancel``): its threads stop at their next check, within
    about ``heartbeat_seconds``, and nothing is published.
    """
    source = no_fetch_source(store) if no_fetch else None
    run_id = begin_run(store, settings, trigger, run_id, mode=mode, accept=accept)
    limit = settings.run_deadline_seconds
    ends = time.monotonic() + limit

    def past_deadline(stage: str, detail: str) -> RunDeadlinePassed:
        return RunDeadlinePassed(
            f"the run did not finish within REUNIFY_RUN_DEADLINE_SECONDS ({limit} s): stage {stage}, "
            f"{detail}; the last good results stay published. Check the feeds' speed (`reunify status` "
            "shows what each fetched) or raise the deadline"
        )

    with bound(run_id=run_id):
        beat: Heartbeat | None = None
        try:
            with Heartbeat(store, settings, run_id) as beat:
                store.set_stage(run_id, FETCH)
                stored: FeedSnapshot | None = None
                if source is not None:
                    copying = _in_thread("copy-feeds", copy_feed_state, store, run_id, source)
                    # the very records being copied, read back from the source run meanwhile
                    with no_gc_pauses():  # many small acyclic objects: see reconcile.no_gc_pauses
                        stored = load_snapshot(source.id, store)
                    try:
                        copying.result(timeout=max(0.0, ends - time.monotonic()))
                    except TimeoutError:
                        raise past_deadline(FETCH, "copying the last good run's feed state") from None
                kept = {} if source is not None else {feed: FetchedRecords() for feed in FEEDS}
                # the kept records are many small acyclic objects: see reconcile.no_gc_pauses
                with no_gc_pauses():
                    futures = {
                        feed: _in_thread(
                            f"fetch-{feed}",
                            fetch_feed,
                            run_id,
                            feed,
                            settings,
                            store,
                            progress,
                            beat.check,
                            keep,
                        )
                        for feed, keep in kept.items()
                    }
                    wait(
                        futures.values(),
                        timeout=max(0.0, ends - time.monotonic()),
                        return_when=FIRST_EXCEPTION,
                    )
                    for future in futures.values():
                        if future.done():
                            future.result()  # the first failure, in feed order
                    unfinished = [feed for feed, future in futures.items() if not future.done()]
                    if unfinished:
                        raise past_deadline(FETCH, f"feeds not fetched yet: {', '.join(unfinished)}")
                    snapshot = stored or FeedSnapshot(
                        **{attr: kept[f].records() for f, attr in FEED_ATTR.items()}
                    )
                    kept.clear()
                    # The records live until the run ends and hold no cycles: out of the cyclic
                    # collector's sight, or its first pass once it is enabled again walks every
                    # one of them (about 0.6 s at 20,000 children), and later passes again
                    freeze_records()
                reconciled = _in_thread(
                    "reconcile",
                    reconcile_run,
                    run_id,
                    store,
                    progress,
                    beat.check,
                    snapshot,
                    settings.model_max_age_days,
                )
                del snapshot
                try:
                    reconciled.result(timeout=max(0.0, ends - time.monotonic()))
                except TimeoutError:
                    raise past_deadline(RECONCILE, "every feed fetched") from None
                if time.monotonic() >= ends:
                    raise past_deadline(PUBLISH, "every feed fetched and reconciled")
                beat.check()
                # the gates are the publish stage's first act, as in a run through workers
                store.set_stage(run_id, PUBLISH)
                gates.check_publish(run_id, store, settings)
                publish_run(run_id, store, progress, settings)
        except PublishRefused as exc:
            fail_run(run_id, store, str(exc), settings, refused=True)
            raise PublishRefused(f"run {run_id} was not published: {exc}", exc.feeds, run_id) from exc
        except KeyboardInterrupt:
            # stop cleanly: the run is cancelled (not failed: an operator stopped it), its lock
            # freed, and its threads still working stop at their next check
            if beat is not None:
                beat.abandon("the run was interrupted")
            store.cancel_run(run_id, INTERRUPTED_REASON)
            store.release_lock(RUN_LOCK, run_id)
            log.warning("run.interrupted")
            raise Interrupted(run_id) from None
        except ReunifyError as exc:
            _abandon(beat, run_id, store, str(exc), settings)
            ended = store.get_run(run_id)
            if ended is not None and ended.cancelled:  # `reunify cancel`, from any process
                raise RunCancelled(f"run {run_id} was {ended.error}", run_id) from exc
            raise RunFailedError(f"run {run_id} failed: {exc}", run_id) from exc
        except Exception as exc:
            _abandon(beat, run_id, store, f"unexpected {type(exc).__name__}: {exc}", settings)
            raise RunFailedError(
                f"run {run_id} failed: unexpected {type(exc).__name__}: {exc}", run_id
            ) from exc
        finally:
            thaw_records()
    return run_id


def freeze_records() -> None:
    """Move every object alive into the collector's permanent generation (``gc.freeze``): what
    the fetches made stays out of the passes over young objects. :func:`thaw_records` undoes it."""
    gc.freeze()


def thaw_records() -> None:
    """Give the objects frozen by :func:`freeze_records` back to the collector (``gc.unfreeze``):
    a process that lives on (the console's) collects any cycle among them again."""
    gc.unfreeze()


def _abandon(
    beat: Heartbeat | None, run_id: str, store: Store, error: str, settings: Settings | None = None
) -> None:
    """Fail an in-process run and stop its threads still working at their next check."""
    if beat is not None:
        beat.abandon(f"the run failed: {error}")
    fail_run(run_id, store, error, settings)
