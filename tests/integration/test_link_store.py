"""The link state a run keeps (issue 19 item 3, issue 16 item 8) over the real HTTP simulator,
on SQLite and PostgreSQL: every run keeps its first-pass links after publish; an incremental run
and a run without fetching re-link only the children whose inputs changed (none, and the one a
new review decision names) and publish exactly what a reconciliation from scratch under the same
model gives; a full run re-links every child."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest

from pipeline import jsontext
from pipeline import run as stages
from pipeline.match import link_state, state
from pipeline.match.state import LINK_STATE_ARTIFACT, MODEL_STATE_ARTIFACT, model_state_from_json
from pipeline.reconcile import Reconciled, reconcile, reconcile_reusing
from pipeline.run import embedded, launch
from pipeline.run.publish import decisions_of
from pipeline.settings import Settings
from pipeline.sim.server import FeedSimulator
from pipeline.snapshot import load_snapshot
from pipeline.store import Store


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    with Store(db_url) as s:
        yield s


def test_runs_under_the_frozen_model_relink_only_what_changed(
    store: Store,
    db_url: str,
    simulator: FeedSimulator,
    make_settings: Callable[..., Settings],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = make_settings(simulator, db_url)
    seen: list[tuple[bool, int, int, bool, bool]] = []
    real = embedded.reconcile_reusing

    def spy(*args: Any, **kwargs: Any) -> Reconciled:
        done = real(*args, **kwargs)
        seen.append(
            (args[6] is not None, done.relinked, len(done.results), done.people_reused, done.inputs_reused)
        )
        return done

    monkeypatch.setattr(embedded, "reconcile_reusing", spy)
    first = stages.run_embedded(settings, store, "test")
    kept = jsontext.loads(store.get_artifact(first, LINK_STATE_ARTIFACT))  # kept after publish
    assert kept["estimated_by"] == first
    stages.run_embedded(settings, store, "test", mode="incremental")
    published = {r["child_record_ids"][0]: r for r in store.iter_results(first)}
    linked = next(r for r in published.values() if r["parent"] and r["parent"]["ice_record_ids"])
    store.add_decision(
        linked["child_record_ids"][0], linked["parent"]["ice_record_ids"][0], "reject", "t", "test"
    )
    third = launch.run_here(settings, store, launch.RunRequest.review())
    stages.run_embedded(settings, store, "test")
    children = seen[0][2]
    # the incremental run fetched nothing new, the review run copied the records: both took
    # the people and the children's inputs from the run before, not from matching again; the
    # rejected child took its kept candidates less the rejected adult (no child blocked again)
    assert seen == [
        (False, children, children, False, False),
        (True, 0, children, True, True),
        (True, 0, children, True, True),
        (False, children, children, False, False),
    ]

    # what the review run published is a reconciliation from scratch under the same model
    run = store.get_run(third)
    assert run is not None
    model = model_state_from_json(jsontext.loads(store.get_artifact(third, MODEL_STATE_ARTIFACT))).model
    again = reconcile(
        load_snapshot(third, store), run.as_of, decisions_of(store), run.partitions, model=model
    )
    rows = {tuple(r["child_record_ids"]): r for r in store.iter_results(third)}
    assert len(rows) == len(again)
    for res in again:
        row = rows[tuple(res.child_record_ids)]
        assert (row["status"], row["needs_review"]) == (res.status, res.needs_review)
        assert (row["parent"] or {}).get("ice_record_ids") == (
            res.parent.ice_record_ids if res.parent else None
        )
    assert rows[tuple(linked["child_record_ids"])]["parent"] != linked["parent"]


class _Outbox:
    def __call__(self, _run_id: str, _steps: Sequence[str]) -> None:
        pass


def test_through_workers_the_match_steps_reuse_the_links_and_finish_keeps_them(
    simulator: FeedSimulator, make_settings: Callable[..., Settings]
) -> None:
    # SQLite only: the store side is proven on both stores above
    settings = make_settings(simulator)
    store = Store(settings.database_url)
    first = stages.run_embedded(settings, store, "test")
    published = list(store.iter_results(first))
    linked = next(r for r in published if r["parent"] and r["parent"]["ice_record_ids"])
    store.add_decision(
        linked["child_record_ids"][0], linked["parent"]["ice_record_ids"][0], "reject", "t", "test"
    )
    # a confirmation leads the child's pre-score: that child is blocked again
    keys = [min(r["child_record_ids"]) for r in published if r["parent"] is None]
    open_, adult = next(
        (key, cands[0]["ice_record_ids"][0])
        for key in keys
        if (cands := store.list_candidates(first, key)) and cands[0]["ice_record_ids"]
    )
    store.add_decision(open_, adult, "confirm", "t", "test")
    run_id = stages.start_distributed(store, settings, "review", _Outbox(), no_fetch=True)
    counts = stages.prepare_run(run_id, store, model_max_age_days=settings.model_max_age_days)
    known = [
        key
        for n in range(counts["partitions"])
        for key, *_ in jsontext.loads(store.get_artifact(run_id, state.partition_artifact(n)))["known"]
    ]
    # the rejected child took its kept candidates less the rejected adult
    assert len(known) == len(published) - 1 and open_ not in known
    assert linked["child_record_ids"][0] in known
    for n in range(counts["partitions"]):
        stages.match_partition(run_id, n, store)
    stages.finish_run(run_id, store)

    # the results and the kept links are those of the in-process reconcile from scratch
    run = store.get_run(run_id)
    assert run is not None
    model = model_state_from_json(jsontext.loads(store.get_artifact(run_id, MODEL_STATE_ARTIFACT))).model
    scratch = reconcile_reusing(load_snapshot(run_id, store), run.as_of, decisions_of(store), model=model)
    kept = jsontext.loads(store.get_artifact(run_id, LINK_STATE_ARTIFACT))
    assert kept["estimated_by"] == first
    assert link_state.loads(kept["links"]) == scratch.links
    rows = {tuple(r["child_record_ids"]): r for r in store.iter_results(run_id)}
    for res in scratch.results:
        row = rows[tuple(res.child_record_ids)]
        assert (row["parent"] or {}).get("ice_record_ids") == (
            res.parent.ice_record_ids if res.parent else None
        )
        assert (row["status"], row["needs_review"]) == (res.status, res.needs_review)
