"""Incremental fetches: ask each feed only for what changed since the last good run.

A run in ``incremental`` mode fetches, per feed, the records updated at or after the feed's
high-water mark in the last successful run (the greatest update time it held, on the agency's own
clock), then carries the rest of that run's records forward in the store. Reconciliation always
runs over the whole current state.

The mark cannot be blinded. A record updated after that run's start plus the allowed clock skew
(``REUNIFY_CLOCK_SKEW_SECONDS``; 9999-12-31, say: ``pipeline.dates``) is kept but does not count,
and the mark never passes that run's start minus the skew, so a change the agency made while
that run was fetching is asked for again. Erring early is safe: the records at or after the mark
are fetched again and replace the copies carried forward; erring late would miss changes. A
future-dated copy carried forward never replaces the one the agency sends now (it corrected it).

The removal list is always fetched whole: its ``since`` filters on REMOVAL_DATE, and a late entry
can carry an earlier date, so a filtered fetch could miss it (CONTRACT 3). It is one streamed CSV.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from pipeline.dates import latest_plausible_update
from pipeline.feeds.validate import stamp_text
from pipeline.normalise import iso_datetime
from pipeline.store import Store
from pipeline.store.ports import FeedRecordReader, RunReader

INCREMENTAL_FEEDS = frozenset({"orr", "ice", "dna"})


class PlanStore(RunReader, FeedRecordReader, Protocol):
    """What planning a fetch reads from the store: the runs and their feed records."""


@dataclass(frozen=True)
class FetchPlan:
    """How one feed is fetched in one run: from when, and which run fills in the rest.

    ``future_after`` is the latest plausible update time of this run (its start plus the skew)
    and ``base_future_after`` the base run's, both in the store's ``updated_at`` form: a record
    updated later was dated in the future when it was fetched."""

    since: datetime | None = None
    base_run_id: str | None = None
    base_future_after: str | None = None
    future_after: str | None = None

    @property
    def incremental(self) -> bool:
        return self.base_run_id is not None


def plan_fetch(store: PlanStore, run_id: str, feed: str, skew_seconds: float) -> FetchPlan:
    """The fetch plan of a feed in a run: full unless the run is incremental and a base exists.

    The mark is the base run's greatest update time not after its start plus ``skew_seconds``
    (``REUNIFY_CLOCK_SKEW_SECONDS``), and at most its start minus ``skew_seconds``.
    """
    run = store.get_run(run_id)
    if run is None:
        return FetchPlan()
    full = FetchPlan(future_after=stamp_text(latest_plausible_update(run.started_at, skew_seconds)))
    if run.mode != "incremental" or feed not in INCREMENTAL_FEEDS:
        return full
    base = store.latest_succeeded_run()
    if base is None or store.count_feed_records(base.id, feed) == 0:
        return full
    base_future_after = stamp_text(latest_plausible_update(base.started_at, skew_seconds))
    mark = store.feed_high_water(base.id, feed, until=base_future_after)
    if mark is None:
        return full
    since = min(iso_datetime(mark), base.started_at - timedelta(seconds=skew_seconds))
    return FetchPlan(since, base.id, base_future_after, full.future_after)


def complete_fetch(store: Store, run_id: str, feed: str, plan: FetchPlan) -> int:
    """After an incremental fetch, carry the base run's other records forward; returns rows added."""
    if plan.base_run_id is None:
        return 0
    return store.carry_forward(run_id, feed, plan.base_run_id, until=plan.base_future_after)
