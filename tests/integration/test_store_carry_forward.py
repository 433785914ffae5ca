"""Carrying a feed's current state forward from the last good run (incremental runs)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest

from pipeline.store import Store

AS_OF = date(2018, 7, 12)
# stamps in the store's form (pipeline.feeds.validate.stamp_text)
JUNE, JULY = "2018-06-01T00:00:00.000000+00:00", "2018-07-01T00:00:00.000000+00:00"
CUTOFF = "2018-07-12T12:05:00.000000+00:00"  # a run's start plus the clock skew
FUTURE = "9999-12-31T00:00:00.000000+00:00"


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    with Store(db_url) as s:
        yield s


def _payloads(store: Store, run_id: str) -> dict[str, str]:
    return {p.split('"')[3]: p for p in store.iter_feed_payloads(run_id, "ice")}


def test_carry_forward_fills_what_the_incremental_fetch_did_not_bring(store: Store) -> None:
    old = store.start_run("test", AS_OF)
    store.add_feed_records(
        old,
        "ice",
        [
            ("ICE-1", "2018-06-01T00:00:00.000000+00:00", '{"subject_id": "ICE-1", "v": 1}'),
            ("ICE-2", "2018-06-02T00:00:00.000000+00:00", '{"subject_id": "ICE-2", "v": 1}'),
        ],
    )
    new = store.start_run("test", AS_OF)
    store.add_feed_records(
        new, "ice", [("ICE-2", "2018-07-01T00:00:00.000000+00:00", '{"subject_id": "ICE-2", "v": 2}')]
    )

    store.carry_forward(new, "ice", old)

    got = _payloads(store, new)
    assert sorted(got) == ["ICE-1", "ICE-2"]
    assert '"v": 2' in got["ICE-2"], "the fetched copy is newer and must win"
    assert store.count_feed_records(new, "ice") == 2
    assert store.feed_high_water(new, "ice") == "2018-07-01T00:00:00.000000+00:00"
    assert store.count_feed_records(old, "ice") == 2, "the old run's records are untouched"


def test_carry_forward_twice_changes_nothing(store: Store) -> None:
    old = store.start_run("test", AS_OF)
    store.add_feed_records(
        old, "ice", [("ICE-1", "2018-06-01T00:00:00.000000+00:00", '{"subject_id": "ICE-1"}')]
    )
    new = store.start_run("test", AS_OF)
    store.carry_forward(new, "ice", old)
    store.carry_forward(new, "ice", old)
    assert store.count_feed_records(new, "ice") == 1


def test_high_water_of_a_feed_without_timestamps_is_none(store: Store) -> None:
    run = store.start_run("test", AS_OF)
    store.add_feed_records(run, "removals", [("RM-1", "", '{"REMOVAL_ID": "RM-1"}')])
    assert store.feed_high_water(run, "removals") is None


def test_the_high_water_mark_counts_no_update_after_until(store: Store) -> None:
    run = store.start_run("test", AS_OF)
    store.add_feed_records(
        run,
        "orr",
        [("ORR-1", JUNE, '{"childId": "ORR-1"}'), ("ORR-2", FUTURE, '{"childId": "ORR-2"}')],
    )
    assert store.feed_high_water(run, "orr") == FUTURE
    assert store.feed_high_water(run, "orr", until=CUTOFF) == JUNE
    assert store.feed_high_water(run, "orr", until=JUNE) == JUNE, "until is inclusive"
    assert store.feed_high_water(run, "orr", until="2018-01-01T00:00:00.000000+00:00") is None


def test_a_future_dated_copy_carried_forward_never_replaces_the_agencys_correction(store: Store) -> None:
    old = store.start_run("test", AS_OF)
    store.add_feed_records(
        old,
        "ice",
        [
            ("ICE-1", FUTURE, '{"subject_id": "ICE-1", "v": "9999"}'),
            ("ICE-2", FUTURE, '{"subject_id": "ICE-2", "v": "9999"}'),
            ("ICE-3", JUNE, '{"subject_id": "ICE-3", "v": 1}'),
        ],
    )
    new = store.start_run("test", AS_OF)
    # the agency corrected ICE-1 (a real update time now) and changed ICE-3
    store.add_feed_records(
        new,
        "ice",
        [
            ("ICE-1", JULY, '{"subject_id": "ICE-1", "v": "fixed"}'),
            ("ICE-3", JULY, '{"subject_id": "ICE-3", "v": 2}'),
        ],
    )

    assert store.carry_forward(new, "ice", old, until=CUTOFF) == 1

    got = _payloads(store, new)
    assert '"v": "fixed"' in got["ICE-1"], "the correction must win over the copy dated 9999"
    assert '"v": 2' in got["ICE-3"]
    assert '"v": "9999"' in got["ICE-2"], "a future-dated record the fetch did not bring is still kept"
    assert store.feed_high_water(new, "ice", until=CUTOFF) == JULY
