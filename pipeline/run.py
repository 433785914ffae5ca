"""The stages of one reconciliation run: begin → fetch (per feed) → reconcile → publish.

Each stage is a plain function of ids, settings and the store, so the same code runs in-process
(embedded mode, ``run_embedded``) and inside thin Celery tasks (``workers.tasks``). Records
travel between stages through the store, never through the broker.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from pipeline import feeds
from pipeline.errors import ReunifyError, RunFailedError, RunInProgressError
from pipeline.feeds.validate import validate_page
from pipeline.logging import bound, get_logger
from pipeline.parse import PARSERS
from pipeline.reconcile import reconcile
from pipeline.records import FeedSnapshot
from pipeline.results import ReviewDecision
from pipeline.settings import FEEDS, Settings
from pipeline.store import Store

log = get_logger(__name__)

RUN_LOCK = "reunify-run"
FEED_ATTR = {"orr": "children", "ice": "adults", "removals": "removals", "dna": "dna"}

# Called with (stage, feed or None, counts or None) as a run moves; the CLI draws progress with it.
ProgressFn = Callable[[str, str | None, dict[str, int] | None], None]


@dataclass(frozen=True)
class FeedCounts:
    """How many records one feed gave: fetched (as served), valid (after de-duplication), quarantined."""

    fetched: int
    valid: int
    quarantined: int

    def as_dict(self) -> dict[str, int]:
        return {"fetched": self.fetched, "valid": self.valid, "quarantined": self.quarantined}


def _noop(_stage: str, _feed: str | None, _counts: dict[str, int] | None) -> None:
    return None


def new_run_id() -> str:
    """A fresh run id."""
    return uuid.uuid4().hex


def begin_run(store: Store, settings: Settings, trigger: str, run_id: str | None = None) -> str:
    """Take the run lock and record a new run; RunInProgressError if another run holds the lock."""
    settings.require_feeds()
    run_id = run_id or new_run_id()
    if not store.acquire_lock(RUN_LOCK, run_id, settings.run_lock_seconds):
        holder = store.lock_holder(RUN_LOCK)
        other = holder[0] if holder else "another run"
        raise RunInProgressError(
            f"run {other} is in progress; wait for it to finish (`reunify status`) or retry later"
        )
    store.start_run(trigger, settings.as_of, run_id)
    log.info("run.started", run_id=run_id, trigger=trigger)
    return run_id


def fetch_feed(
    run_id: str, feed: str, settings: Settings, store: Store, progress: ProgressFn = _noop
) -> FeedCounts:
    """Pull one feed into the store under this run; idempotent (a retry starts the feed afresh)."""
    with bound(run_id=run_id, feed=feed):
        store.clear_feed(run_id, feed)
        if settings.feed(feed) is None:
            log.info("feed.not_configured")
            store.record_feed_counts(run_id, feed, 0, 0, 0)
            return FeedCounts(0, 0, 0)
        started = time.monotonic()
        fetched = quarantined = 0
        for page in feeds.fetch_feed(feed, settings):
            valid, bad = validate_page(feed, page)
            store.add_feed_records(run_id, feed, valid)
            if bad:
                store.add_quarantine(run_id, feed, bad)
            fetched += len(page)
            quarantined += len(bad)
            store.record_feed_counts(run_id, feed, fetched, fetched - quarantined, quarantined)
            store.heartbeat(run_id)
            progress("fetch", feed, {"fetched": fetched, "quarantined": quarantined})
        counts = FeedCounts(fetched, store.count_feed_records(run_id, feed), quarantined)
        store.record_feed_counts(run_id, feed, counts.fetched, counts.valid, counts.quarantined)
        log.info("feed.fetched", seconds=round(time.monotonic() - started, 2), **counts.as_dict())
        progress("fetched", feed, counts.as_dict())
        return counts


def load_snapshot(run_id: str, store: Store) -> FeedSnapshot:
    """Every valid record the run fetched, parsed into typed records."""
    snapshot = FeedSnapshot()
    for feed in FEEDS:
        parse = PARSERS[feed]
        target: list[Any] = getattr(snapshot, FEED_ATTR[feed])
        target.extend(parse(json.loads(text)) for text in store.iter_feed_payloads(run_id, feed))
    return snapshot


def reconcile_run(run_id: str, store: Store, progress: ProgressFn = _noop) -> int:
    """Match and classify over the run's records and stage the results (not yet published)."""
    with bound(run_id=run_id, stage="reconcile"):
        run = store.get_run(run_id)
        if run is None:
            raise RunFailedError(f"run {run_id} is not in the store")
        store.set_stage(run_id, "reconcile")
        progress("reconcile", None, None)
        started = time.monotonic()
        snapshot = load_snapshot(run_id, store)
        loaded = time.monotonic()
        decisions = [ReviewDecision(d.child_key, d.adult_key, d.decision) for d in store.list_decisions()]
        results = reconcile(snapshot, run.as_of, decisions)
        matched = time.monotonic()
        count = store.save_results(run_id, (r.to_export(run_id) for r in results))
        log.info(
            "reconcile.done",
            children=count,
            load_seconds=round(loaded - started, 2),
            match_seconds=round(matched - loaded, 2),
            write_seconds=round(time.monotonic() - matched, 2),
        )
        return count


def publish_run(run_id: str, store: Store, progress: ProgressFn = _noop) -> None:
    """Make the run's results the exported ones, in one transaction, and free the run lock."""
    with bound(run_id=run_id, stage="publish"):
        store.set_stage(run_id, "publish")
        progress("publish", None, None)
        store.mark_succeeded(run_id)
        store.release_lock(RUN_LOCK, run_id)
        store.prune_runs(keep=5)
        log.info("run.succeeded")


def fail_run(run_id: str, store: Store, error: str) -> None:
    """Record why a run failed and free the lock; the last good results stay as they are."""
    with bound(run_id=run_id):
        store.fail_run(run_id, error)
        store.release_lock(RUN_LOCK, run_id)
        log.error("run.failed", error=error)


def run_embedded(settings: Settings, store: Store, trigger: str = "cli", progress: ProgressFn = _noop) -> str:
    """One whole run in this process: the four fetches in parallel threads, then reconcile, publish.

    Raises RunFailedError (after recording the failure) when any stage fails.
    """
    run_id = begin_run(store, settings, trigger)
    with bound(run_id=run_id):
        try:
            store.set_stage(run_id, "fetch")
            with ThreadPoolExecutor(max_workers=len(FEEDS), thread_name_prefix="fetch") as pool:
                futures = [pool.submit(fetch_feed, run_id, feed, settings, store, progress) for feed in FEEDS]
                for future in futures:
                    future.result()
            reconcile_run(run_id, store, progress)
            publish_run(run_id, store, progress)
        except ReunifyError as exc:
            fail_run(run_id, store, str(exc))
            raise RunFailedError(f"run {run_id} failed: {exc}") from exc
        except Exception as exc:
            fail_run(run_id, store, f"unexpected {type(exc).__name__}: {exc}")
            raise RunFailedError(f"run {run_id} failed: unexpected {type(exc).__name__}: {exc}") from exc
    return run_id


def export_rows(store: Store, run_id: str | None = None) -> Iterable[dict[str, Any]]:
    """The export objects of a run (default: the latest successful one)."""
    return store.iter_results(run_id)


def sweep_stuck_runs(store: Store, deadline_seconds: int) -> list[str]:
    """Fail every run that has shown no sign of life for ``deadline_seconds``; returns their ids."""
    failed = store.fail_stale_runs(
        timedelta(seconds=deadline_seconds),
        f"no progress for {deadline_seconds} s: a worker was lost or the broker dropped the run",
    )
    for run_id in failed:
        store.release_lock(RUN_LOCK, run_id)
        log.warning("run.swept", run_id=run_id)
    return failed
