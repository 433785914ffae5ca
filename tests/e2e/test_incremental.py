"""Incremental runs: fetch only what changed, carry the rest forward, export what a full run would."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from pipeline.run import run_embedded
from pipeline.settings import Settings
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
