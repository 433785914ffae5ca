"""The store's operators' views (run history, one child's result, runner-up candidates) on both
backends, over real runs against the feed simulator."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import pytest

from pipeline.run import run_embedded
from pipeline.settings import Settings
from pipeline.sim.server import FeedSimulator
from pipeline.store import Store


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str | None:
    if request.param == "sqlite":
        return None
    url: str = request.getfixturevalue("pg_url")
    return url


def test_history_outlives_pruned_results_and_children_are_found_by_any_record_id(
    simulator: FeedSimulator, make_settings: Callable[..., Settings], database_url: str | None
) -> None:
    settings = make_settings(simulator, database_url)
    store = Store(settings.database_url)
    runs = [run_embedded(settings, store, "test") for _ in range(6)]  # the run keeps 5: one is pruned

    assert store.results_count(runs[0]) == 0, "the oldest run's results should have been pruned"
    latest = list(store.iter_results())
    totals = store.run_totals()
    assert [t.run_id for t in totals] == runs
    assert all(t.children == len(latest) for t in totals)
    assert totals[0].unresolved == sum(not r["parent_location"]["resolved"] for r in latest)
    assert totals[0].by_status == dict(Counter(r["status"] for r in latest))

    merged = next(r for r in latest if len(r["child_record_ids"]) > 1)
    key, other = min(merged["child_record_ids"]), max(merged["child_record_ids"])
    assert store.find_result(other) == merged
    assert store.find_result(key, runs[-1]) == merged
    assert store.find_result("ORR-0000000_") is None
    history = list(store.iter_history(child_keys=[key]))
    assert [h.run_id for h in history] == runs
    assert {(h.status, h.location_state, h.resolved) for h in history} == {
        (merged["status"], merged["parent_location"]["state"], merged["parent_location"]["resolved"])
    }
    assert store.previous_succeeded_run(runs[-1]).id == runs[-2]  # type: ignore[union-attr]
    assert store.previous_succeeded_run(runs[0]) is None


def test_runner_up_candidates_are_kept_beside_the_results_not_in_the_export(
    simulator: FeedSimulator, make_settings: Callable[..., Settings], database_url: str | None
) -> None:
    settings = make_settings(simulator, database_url)
    store = Store(settings.database_url)
    run_id = run_embedded(settings, store, "test")
    child = next(iter(store.iter_results()))
    key = min(child["child_record_ids"])
    cands = [
        {"ice_record_ids": ["ICE-1"], "removal_record_ids": [], "a_number": None, "name": "X",
         "match_score": 0.4, "evidence": ["same country (+1.9)"]},
        {"ice_record_ids": ["ICE-2"], "removal_record_ids": ["RM-3"], "a_number": None, "name": "Y",
         "match_score": 0.1, "evidence": []},
    ]  # fmt: skip
    assert store.save_candidates(run_id, {key: cands}) == 2
    assert store.list_candidates(run_id, key) == cands
    assert store.save_candidates(run_id, {key: cands[:1]}) == 1  # replaces
    assert store.list_candidates(run_id, key) == cands[:1]
    assert "candidates" not in store.find_result(key)  # type: ignore[operator]
