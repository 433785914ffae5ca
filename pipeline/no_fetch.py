"""The fetch stage of a run that fetches nothing (``reunify run --no-fetch``, the console's
re-reconcile button): the feed state of the last good run, copied into the new run inside the
database, so that review decisions take effect at once on the records already in the store.

The copy is one INSERT .. SELECT per feed (the incremental run's carry-forward, from an empty
run), plus the source run's quarantine and counts, so that the new run holds exactly what a run
of the same feeds would: its publish gates see the same counts, its quarantine page the same
records, and the next incremental run carries forward from it as from any run.
"""

from __future__ import annotations

import time

import sqlalchemy as sa

from pipeline.errors import RunFailedError
from pipeline.logging import get_logger
from pipeline.settings import FEEDS
from pipeline.store import RunInfo, Store
from pipeline.store.schema import quarantine

log = get_logger(__name__)

#: The trigger of a run that re-reconciles the stored feed state after review decisions.
REVIEW_TRIGGER = "review"


def source_run(store: Store) -> RunInfo:
    """The run whose feed state a run without fetching re-reconciles: the last good one."""
    source = store.latest_succeeded_run()
    if source is None:
        raise RunFailedError(
            "no successful run yet: nothing to re-reconcile without fetching; run `reunify run` first"
        )
    return source


def copy_feed_state(store: Store, run_id: str, source: RunInfo) -> dict[str, int]:
    """Copy ``source``'s records, quarantine and counts of every feed into the running ``run_id``;
    the valid records per feed."""
    started = time.monotonic()
    copied: dict[str, int] = {}
    for feed in FEEDS:
        copied[feed] = store.carry_forward(run_id, feed, source.id)
    q = quarantine.c
    with store._write("copying the quarantine of the last good run") as conn:
        conn.execute(
            sa.insert(quarantine).from_select(
                ["run_id", "feed", "record_id", "reason", "payload"],
                sa.select(sa.literal(run_id, sa.String()), q.feed, q.record_id, q.reason, q.payload)
                .where(q.run_id == source.id)
                .order_by(q.id),
            )
        )
    for feed in FEEDS:
        was = source.counts.get(feed)
        fetched = was.fetched if was else copied[feed]
        quarantined = was.quarantined if was else 0
        store.record_feed_counts(run_id, feed, fetched, copied[feed], quarantined)
    log.info(
        "feeds.copied",
        source_run=source.id,
        seconds=round(time.monotonic() - started, 2),
        **{f"{feed}_records": n for feed, n in copied.items()},
    )
    return copied
