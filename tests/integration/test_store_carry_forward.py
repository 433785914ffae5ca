"""Carrying a feed's current state forward from the last good run (incremental runs)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from pipeline.store import Store

AS_OF = date(2018, 7, 12)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    if request.param == "sqlite":
        return Store(f"sqlite:///{tmp_path / 'cf.sqlite3'}")
    return Store(request.getfixturevalue("pg_url"))


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
