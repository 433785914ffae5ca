"""Incremental fetches: ask each feed only for what changed since the last good run.

A run in ``incremental`` mode fetches, per feed, the records updated at or after the feed's
high-water mark in the last successful run (the greatest update time it held: the agency's own
clock, so no skew between theirs and ours), then carries the rest of that run's records forward
in the store. Reconciliation always runs over the whole current state.

The removal list is always fetched whole: its ``since`` filters on REMOVAL_DATE, and a late entry
can carry an earlier date, so a filtered fetch could miss it (CONTRACT 3). It is one streamed CSV.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pipeline.normalise import iso_datetime
from pipeline.store import Store

INCREMENTAL_FEEDS = frozenset({"orr", "ice", "dna"})


@dataclass(frozen=True)
class FetchPlan:
    """How one feed is fetched in one run: from when, and which run fills in the rest."""

    since: datetime | None = None
    base_run_id: str | None = None

    @property
    def incremental(self) -> bool:
        return self.base_run_id is not None


FULL = FetchPlan()


def plan_fetch(store: Store, run_id: str, feed: str) -> FetchPlan:
    """The fetch plan of a feed in a run: full unless the run is incremental and a base exists."""
    run = store.get_run(run_id)
    if run is None or run.mode != "incremental" or feed not in INCREMENTAL_FEEDS:
        return FULL
    base = store.latest_succeeded_run()
    if base is None or store.count_feed_records(base.id, feed) == 0:
        return FULL
    mark = store.feed_high_water(base.id, feed)
    if mark is None:
        return FULL
    return FetchPlan(since=iso_datetime(mark), base_run_id=base.id)


def complete_fetch(store: Store, run_id: str, feed: str, plan: FetchPlan) -> int:
    """After an incremental fetch, carry the base run's other records forward; returns rows added."""
    if plan.base_run_id is None:
        return 0
    return store.carry_forward(run_id, feed, plan.base_run_id)
