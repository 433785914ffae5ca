"""A whole run in-process: real HTTP to the simulator, the real store, the real reconciler."""

from __future__ import annotations

import dataclasses
import io
import json
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from pipeline.errors import RunFailedError
from pipeline.logging import configure_logging
from pipeline.reconcile import reconcile
from pipeline.run import load_snapshot, run_embedded
from pipeline.settings import Settings
from pipeline.sim.server import FaultConfig, FeedSimulator
from pipeline.sim.world import World
from pipeline.store import Store


def _valid_child_ids(world: World) -> set[str]:
    return {rid for truth in world.truth for rid in truth["child_record_ids"]}


def _exported_ids(store: Store) -> Counter[str]:
    return Counter(rid for row in store.iter_results() for rid in row["child_record_ids"])


def test_a_run_with_faulty_feeds_exports_every_valid_child_once(
    small_world: World, simulator: FeedSimulator, make_settings: Callable[..., Settings]
) -> None:
    simulator.set_faults(FaultConfig(rate=0.15, retry_after=0.05, seed=3))
    settings = make_settings(simulator)
    store = Store(settings.database_url)

    run_id = run_embedded(settings, store, "test")

    run = store.get_run(run_id)
    assert run is not None and run.status == "succeeded"
    exported = _exported_ids(store)
    assert set(exported) == _valid_child_ids(small_world)
    assert max(exported.values()) == 1
    malformed = small_world.malformed_ids()["orr"]
    assert not malformed & set(exported)
    assert sum(simulator.counts().values()) > 0
    assert run.counts["orr"].quarantined == len(small_world.malformed["orr"])


def test_a_refused_token_fails_the_run_and_keeps_the_last_good_export(
    simulator: FeedSimulator, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(simulator)
    store = Store(settings.database_url)
    good = run_embedded(settings, store, "test")
    before = list(store.iter_results())

    bad_token = "definitely-wrong-token-123"
    bad = make_settings(simulator, REUNIFY_ICE_TOKEN=bad_token)
    with pytest.raises(RunFailedError) as failure:
        run_embedded(bad, store, "test")

    message = str(failure.value)
    assert "ice" in message and "token" in message
    assert bad_token not in message
    assert store.latest_succeeded_run().id == good  # type: ignore[union-attr]
    assert list(store.iter_results()) == before
    failed = store.list_runs(limit=1)[0]
    assert failed.status == "failed" and "ice" in (failed.error or "")


def test_a_second_run_on_unchanged_feeds_gives_the_same_export(
    simulator: FeedSimulator, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(simulator)
    store = Store(settings.database_url)

    def comparable(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return sorted(({k: v for k, v in r.items() if k != "run_id"} for r in rows), key=json.dumps)

    run_embedded(settings, store, "test")
    first = comparable(list(store.iter_results()))
    run_embedded(settings, store, "test")
    assert comparable(list(store.iter_results())) == first


def test_no_personal_data_or_token_reaches_the_logs(
    small_world: World, simulator: FeedSimulator, make_settings: Callable[..., Settings]
) -> None:
    stream = io.StringIO()
    configure_logging("DEBUG", json=True, stream=stream)
    simulator.set_faults(FaultConfig(rate=0.1, retry_after=0.05, seed=5))
    settings = make_settings(simulator)
    try:
        run_embedded(settings, Store(settings.database_url), "test")
    finally:
        configure_logging("INFO", json=True)
    logs = stream.getvalue()
    assert logs.count("\n") > 10, "the run logged almost nothing; the check would prove nothing"

    secrets: set[str] = set(simulator.tokens.values())
    for child in small_world.orr:
        if isinstance(child, dict):
            secrets |= {str(child.get(k)) for k in ("firstName", "lastName", "aNumber", "dateOfBirth")}
    for adult in small_world.ice:
        if isinstance(adult, dict):
            secrets |= {str(adult.get(k)) for k in ("first_name", "last_name", "a_number", "birth_date")}
    secrets = {s for s in secrets if s and s not in ("None", "") and len(s) >= 4}
    leaked = sorted(s for s in secrets if s in logs)
    assert not leaked, f"{len(leaked)} personal values or tokens appear in the logs"


@pytest.mark.postgres
def test_a_run_on_postgresql_exports_what_sqlite_exports(
    simulator: FeedSimulator, make_settings: Callable[..., Settings], pg_url: str
) -> None:
    def comparable(store: Store) -> list[dict[str, Any]]:
        return [{k: v for k, v in r.items() if k != "run_id"} for r in store.iter_results()]

    lite = make_settings(simulator)
    lite_store = Store(lite.database_url)
    run_embedded(lite, lite_store, "test")
    pg = make_settings(simulator, database_url=pg_url)
    pg_store = Store(pg.database_url)
    run_embedded(pg, pg_store, "test")

    assert comparable(pg_store) == comparable(lite_store)
    assert pg_store.results_count() > 0


def _with_repeated_ids(world: World) -> World:
    """The world with some child records served twice: a newer copy (a discharge) after the
    original, and a stale copy (older update time, another facility) after that."""
    orr = list(world.orr)
    bad = set(world.malformed.get("orr", []))
    picked = [i for i, rec in enumerate(world.orr) if i not in bad and not rec.get("discharge")][:6]
    for i in picked:
        rec = world.orr[i]
        orr.append(
            rec
            | {
                "discharge": {"date": "2018-07-01", "type": "released_to_sponsor"},
                "updatedAt": "2018-07-19T12:00:00Z",
            }
        )
        orr.append(rec | {"facilityName": "Stale copy", "updatedAt": "2018-01-01T00:00:00Z"})
    return dataclasses.replace(world, orr=orr)


def test_the_records_an_embedded_run_keeps_in_memory_reconcile_like_the_stored_ones(
    small_world: World, make_settings: Callable[..., Settings]
) -> None:
    # run_embedded reconciles the typed records its fetches kept; workers read them back from
    # the store: both must see the same records (the latest copy of a repeated id, the same
    # order), hence the same export
    world = _with_repeated_ids(small_world)
    with FeedSimulator(world.to_payloads(), faults=FaultConfig(rate=0.1, retry_after=0.05, seed=5)) as sim:
        settings = make_settings(sim)
        store = Store(settings.database_url)
        run_id = run_embedded(settings, store, "test")

    from_store = reconcile(load_snapshot(run_id, store), world.as_of)
    assert [r.to_export(run_id) for r in from_store] == list(store.iter_results(run_id))
