"""The summary a finished run prints on a terminal (``reunify run``, ``reunify demo``)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from pipeline.results import COHORTS, STATUSES
from pipeline.settings import FEEDS
from pipeline.store import RunInfo


def summary_table(results: Iterable[dict[str, Any]], quarantined: dict[str, int] | None) -> str:
    """Children per status and cohort, quarantined records per feed, unresolved locations."""
    table: Counter[tuple[str, str]] = Counter()
    unresolved = review = 0
    for row in results:
        table[(row["status"], row["cohort"])] += 1
        unresolved += not row["parent_location"]["resolved"]
        review += bool(row.get("needs_review"))
    width = max(len(s) for s in STATUSES) + 2
    lines = ["status".ljust(width) + "".join(c.rjust(12) for c in COHORTS) + "total".rjust(9)]
    for status in STATUSES:
        cells = [table[(status, c)] for c in COHORTS]
        lines.append(status.ljust(width) + "".join(f"{n:>12,}" for n in cells) + f"{sum(cells):>9,}")
    totals = [sum(table[(s, c)] for s in STATUSES) for c in COHORTS]
    lines.append("total".ljust(width) + "".join(f"{n:>12,}" for n in totals) + f"{sum(totals):>9,}")
    lines.append("")
    lines.append(f"unresolved parent locations: {unresolved:,}    links needing review: {review:,}")
    if quarantined is not None:
        quarantine = ", ".join(f"{feed} {quarantined.get(feed, 0):,}" for feed in FEEDS)
        lines.append(f"quarantined records: {quarantine}")
    return "\n".join(lines)


def quarantined_counts(run: RunInfo | None) -> dict[str, int]:
    """Quarantined records per feed of a run."""
    return {feed: c.quarantined for feed, c in run.counts.items()} if run else {}
