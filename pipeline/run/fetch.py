"""The fetch stage: one feed pulled into the store under a run (``fetch_feed``), and a run's
records read back as typed records (``read_feed``, ``load_snapshot``)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from pipeline.feeds import fetch as feed_pages
from pipeline.feeds.validate import ValidRecord, validate_page
from pipeline.incremental import complete_fetch, plan_fetch
from pipeline.logging import bound, get_logger
from pipeline.progress import ProgressFn
from pipeline.records import Quarantined, keep_latest
from pipeline.run.leases import StepAbandoned
from pipeline.run.stages import no_progress
from pipeline.settings import Settings
from pipeline.snapshot import read_feed
from pipeline.store import FeedCounts, Store

log = get_logger(__name__)


# How often a fetch records its counts and the run's heartbeat in the store.
PROGRESS_SECONDS = 1.0
# Valid records a fetch gathers before writing them in one transaction.
WRITE_BATCH = 5000


class FetchedRecords:
    """The typed records one fetch stored, kept in memory so that an in-process run need not
    read and parse them back: the latest copy of each record id (the store's rule, the later
    copy on a tie), in record id order (the store's order). Once the fetch has ended they are the
    feed's whole current state (after an incremental fetch, read back with the records carried
    forward)."""

    def __init__(self) -> None:
        self._by_id: dict[str, tuple[str, Any]] = {}

    def add(self, valid: Sequence[ValidRecord], records: Sequence[Any]) -> None:
        """Keep the typed ``records`` of the stored ``valid`` ones (same order)."""
        pairs = zip(valid, records, strict=True)
        keep_latest(((v.record_id, v.updated_at, record) for v, record in pairs), self._by_id)

    def replace(self, records: Iterable[Any]) -> None:
        """Hold exactly ``records`` (a feed's whole current state, read back from the store)."""
        self._by_id = {record.record_id: ("", record) for record in records}

    def records(self) -> list[Any]:
        """The kept records, in record id order."""
        by_id = self._by_id
        return [by_id[rid][1] for rid in sorted(by_id)]


def _write(store: Store, run_id: str, feed: str, valid: list[ValidRecord], bad: list[Quarantined]) -> None:
    if valid:
        store.add_feed_records(run_id, feed, valid)
    if bad:
        store.add_quarantine(run_id, feed, bad)


def fetch_feed(
    run_id: str,
    feed: str,
    settings: Settings,
    store: Store,
    progress: ProgressFn = no_progress,
    check: Callable[[], None] | None = None,
    keep: FetchedRecords | None = None,
) -> FeedCounts:
    """Pull one feed into the store under this run; idempotent (a retry starts the feed afresh).

    ``check`` is called before each page is written (``Heartbeat.check``); StepAbandoned stops
    the fetch when the run is no longer running. ``keep`` receives the typed records stored.
    """
    with bound(run_id=run_id, feed=feed):
        store.clear_feed(run_id, feed)
        if keep is not None:
            keep.replace(())  # afresh, as in the store
        if settings.feed(feed) is None:
            log.info("feed.not_configured")
            store.record_feed_counts(run_id, feed, 0, 0, 0)
            return FeedCounts(0, 0, 0)
        started = time.monotonic()
        fetched = quarantined = future = 0
        plan = plan_fetch(store, run_id, feed, settings.clock_skew_seconds)
        future_after = plan.future_after or ""
        noted = 0.0
        # pages are small (hundreds of records); the store writes best in thousands per commit
        pending: list[ValidRecord] = []
        # quarantined records wait for the next batch too: written a page at a time, each page
        # with a bad record paid a write transaction (and the wait for the lock the other feeds'
        # fetches hold)
        pending_bad: list[Quarantined] = []

        def checked() -> None:
            if check is not None:
                check()

        for page in feed_pages.fetch_feed(feed, settings, since=plan.since):
            checked()
            typed: list[Any] = []
            valid, bad = validate_page(feed, page, typed)
            if future_after:
                future += sum(v.updated_at > future_after for v in valid)
            if keep is not None:
                keep.add(valid, typed)
            pending.extend(valid)
            pending_bad.extend(bad)
            if len(pending) + len(pending_bad) >= WRITE_BATCH:
                checked()  # a page can take long to arrive: the run may have ended meanwhile
                _write(store, run_id, feed, pending, pending_bad)
                pending, pending_bad = [], []
            fetched += len(page)
            quarantined += len(bad)
            # the counts `reunify status` shows, and a sign of life, at most once a second: a
            # commit per page for each would cost more than writing the pages themselves
            if time.monotonic() - noted >= PROGRESS_SECONDS:
                noted = time.monotonic()
                if not store.record_feed_counts(run_id, feed, fetched, fetched - quarantined, quarantined):
                    raise StepAbandoned("the run is no longer running")
                store.heartbeat(run_id)
            progress("fetch", feed, {"fetched": fetched, "quarantined": quarantined})
        checked()  # the last page may have come after the run ended (its deadline, a takeover)
        _write(store, run_id, feed, pending, pending_bad)
        carried = complete_fetch(store, run_id, feed, plan)
        if keep is not None and plan.incremental:
            # the feed's whole current state is the fetched records and those carried forward:
            # read it back here, while the other feeds' fetches still wait on the network,
            # rather than after every fetch has ended
            keep.replace(read_feed(run_id, feed, store))
        counts = FeedCounts(fetched, store.count_feed_records(run_id, feed), quarantined)
        store.record_feed_counts(run_id, feed, counts.fetched, counts.valid, counts.quarantined)
        if future:
            log.warning(
                "feed.future_dated",
                records=future,
                hint="updated after this run started (beyond REUNIFY_CLOCK_SKEW_SECONDS): kept, but "
                "never the feed's high-water mark; `reunify discrepancies` lists them",
            )
        log.info(
            "feed.fetched",
            seconds=round(time.monotonic() - started, 2),
            incremental=plan.incremental,
            carried_forward=carried,
            **counts.as_dict(),
        )
        progress("fetched", feed, counts.as_dict())
        return counts
