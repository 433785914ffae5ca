"""Incremental runs: fetch only what changed, carry the rest forward, export what a full run would."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from pipeline.ops.discrepancies import find_discrepancies
from pipeline.run import run_embedded
from pipeline.settings import Settings
from pipeline.sim.hostile import FUTURE_STAMP, apply_data_modes
from pipeline.sim.server import FeedSimulator
from pipeline.sim.world import World, mutate_world
from pipeline.store import Store


def _comparable(store: Store) -> list[dict[str, Any]]:
    return [{k: v for k, v in row.items() if k != "run_id"} for row in store.iter_results()]


def test_an_incremental_run_after_a_change_exports_what_a_full_run_does(
    small_world: World, simulator: FeedSimulator, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = make_settings(simulator)
    store = Store(settings.database_url)
    first = run_embedded(settings, store, "test")

    changed = mutate_world(small_world, 0.02, seed=4)
    simulator.set_payloads(changed.to_payloads())
    later = make_settings(simulator, REUNIFY_AS_OF=changed.as_of.isoformat())
    incremental = run_embedded(later, store, "test", mode="incremental")

    fresh = Store(f"sqlite:///{tmp_path / 'full.sqlite3'}")
    run_embedded(later.with_overrides(database_url=fresh.url), fresh, "test", mode="full")

    assert _comparable(store) == _comparable(fresh)
    assert _comparable(store) != [], "nothing was exported"
    base, inc = store.get_run(first), store.get_run(incremental)
    assert base is not None and inc is not None and inc.mode == "incremental"
    for feed in ("orr", "ice"):
        assert inc.counts[feed].fetched < base.counts[feed].fetched / 4, f"{feed} was fetched whole"
        assert inc.counts[feed].valid >= base.counts[feed].valid
    assert inc.counts["removals"].fetched >= base.counts["removals"].fetched, (
        "removals are always fetched whole"
    )


def test_an_incremental_run_without_a_previous_success_fetches_everything(
    small_world: World, simulator: FeedSimulator, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(simulator)
    store = Store(settings.database_url)
    run_id = run_embedded(settings, store, "test", mode="incremental")
    run = store.get_run(run_id)
    assert run is not None
    assert run.counts["orr"].fetched == len(small_world.orr)


def test_a_record_updated_in_9999_does_not_blind_the_next_incremental_run(
    small_world: World, simulator: FeedSimulator, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    simulator.set_hostile(["future_updated_at"])  # one ORR and one ICE record updated 9999-12-31
    settings = make_settings(simulator)
    store = Store(settings.database_url)
    first = run_embedded(settings, store, "test")

    # real changes, stamped after the first run's records (the mode still dates its two in 9999)
    changed = mutate_world(small_world, 0.02, seed=4)
    simulator.set_payloads(changed.to_payloads())
    later = make_settings(simulator, REUNIFY_AS_OF=changed.as_of.isoformat())
    incremental = run_embedded(later, store, "test", mode="incremental")

    fresh = Store(f"sqlite:///{tmp_path / 'full.sqlite3'}")
    run_embedded(later.with_overrides(database_url=fresh.url), fresh, "test", mode="full")
    assert _comparable(store) == _comparable(fresh), "the incremental run missed changes a full run sees"

    base, inc = store.get_run(first), store.get_run(incremental)
    assert base is not None and inc is not None
    for feed in ("orr", "ice"):
        assert inc.counts[feed].fetched < base.counts[feed].fetched / 4, f"{feed} was fetched whole"
    # the future-dated records are kept and listed, once each, with their feed
    future = [
        d
        for d in find_discrepancies(store, None, later.clock_skew_seconds)[1]
        if d.kind == "future_updated_at"
    ]
    served = apply_data_modes(changed.to_payloads(), simulator.hostile)
    planted = {
        feed: {r[key] for r in records if isinstance(r, dict) and r.get(stamp) == FUTURE_STAMP}
        for feed, records, key, stamp in (
            ("orr", served.orr, "childId", "updatedAt"),
            ("ice", served.ice, "subject_id", "updated_at"),
        )
    }
    assert all(len(ids) == 1 for ids in planted.values())
    assert sorted(d.record_ids[0] for d in future) == sorted(i for ids in planted.values() for i in ids)
    assert all(d.detail.startswith(("orr record", "ice record")) for d in future)
