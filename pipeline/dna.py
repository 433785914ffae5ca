"""Which DNA result counts: the latest report of each test, and of each tested pair.

One declaration for the matcher (a test names an adult outright), the classification (a pending
test is a reason) and the run (which results it keeps).
"""

from __future__ import annotations

from collections.abc import Iterable

from pipeline.records import DnaResult


def latest_per_test(results: Iterable[DnaResult]) -> list[DnaResult]:
    """One result per test (record id): its latest report, the later one in the feed on a tie;
    in the order the tests first appear."""
    latest: dict[str, DnaResult] = {}
    for res in results:
        seen = latest.get(res.record_id)
        if seen is None or res.reported_at >= seen.reported_at:
            latest[res.record_id] = res
    return list(latest.values())


def oldest_first(results: Iterable[DnaResult]) -> list[DnaResult]:
    """The results in the order they were reported (record id on a tie): a later one overrides."""
    return sorted(results, key=lambda r: (r.reported_at, r.record_id))


def latest_per_pair(results: Iterable[DnaResult]) -> list[DnaResult]:
    """One result per tested adult (record id, else A-number, else the test itself): the latest."""
    latest: dict[str, DnaResult] = {}
    for res in oldest_first(results):
        latest[res.adult_record_id or res.adult_a_number or res.record_id] = res
    return list(latest.values())
