"""The frozen model state (issue 19 item 3) over the real HTTP simulator, on SQLite and
PostgreSQL: a full run estimates the model and keeps it after publish; an incremental run and a
run without fetching reuse the last good run's state (naming the run that estimated it) and
publish exactly what a reconciliation of their records under that model gives; a state
REUNIFY_MODEL_MAX_AGE_DAYS old, or a full run, estimates afresh."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta

import pytest

from pipeline import jsontext
from pipeline import run as stages
from pipeline.match.state import MODEL_STATE_ARTIFACT, ModelState, model_state_from_json
from pipeline.reconcile import reconcile
from pipeline.run import launch, model_state
from pipeline.run.publish import decisions_of
from pipeline.settings import Settings
from pipeline.sim.server import FeedSimulator
from pipeline.snapshot import load_snapshot
from pipeline.store import Store


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    with Store(db_url) as s:
        yield s


def _state(store: Store, run_id: str) -> ModelState:
    return model_state_from_json(jsontext.loads(store.get_artifact(run_id, MODEL_STATE_ARTIFACT)))


def _weights(state: ModelState) -> tuple[object, ...]:
    m = state.model
    return (m.raw, m.shares, m.mean_share)


def test_incremental_and_no_fetch_runs_reuse_the_last_good_model_state(
    store: Store, db_url: str, simulator: FeedSimulator, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(simulator, db_url)
    first = stages.run_embedded(settings, store, "test")
    estimated = _state(store, first)
    assert estimated.estimated_by == first

    second = stages.run_embedded(settings, store, "test", mode="incremental")
    third = launch.run_here(settings, store, launch.RunRequest.review())
    for run_id in (second, third):
        state = _state(store, run_id)
        assert state.estimated_by == first
        assert _weights(state) == _weights(estimated)
    # the published results are those of a reconciliation of the run's records under that model
    run = store.get_run(third)
    assert run is not None
    again = reconcile(
        load_snapshot(third, store), run.as_of, decisions_of(store), run.partitions, model=estimated.model
    )
    published = {tuple(r["child_record_ids"]): r for r in store.iter_results(third)}
    assert len(published) == len(again)
    for res in again:
        row = published[tuple(res.child_record_ids)]
        assert row["status"] == res.status
        assert (row["parent"] or {}).get("ice_record_ids") == (
            res.parent.ice_record_ids if res.parent else None
        )
        assert row["needs_review"] == res.needs_review

    fourth = stages.run_embedded(settings, store, "test")  # a full run estimates afresh
    assert _state(store, fourth).estimated_by == fourth


def test_an_old_model_state_is_estimated_afresh(
    store: Store,
    db_url: str,
    simulator: FeedSimulator,
    make_settings: Callable[..., Settings],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = make_settings(simulator, db_url, REUNIFY_MODEL_MAX_AGE_DAYS="3")
    first = stages.run_embedded(settings, store, "test")
    later = model_state.today() + timedelta(days=2)
    monkeypatch.setattr(model_state, "today", lambda: later)
    second = stages.run_embedded(settings, store, "test", mode="incremental")
    assert _state(store, second).estimated_by == first
    assert _state(store, second).estimated_on == _state(store, first).estimated_on
    older = later + timedelta(days=1)  # three days after the estimate: too old
    monkeypatch.setattr(model_state, "today", lambda: older)
    third = stages.run_embedded(settings, store, "test", mode="incremental")
    assert _state(store, third).estimated_by == third
    assert _state(store, third).estimated_on == older


class _Outbox:
    def __init__(self) -> None:
        self.sent: list[str] = []

    def __call__(self, _run_id: str, steps: Sequence[str]) -> None:
        self.sent.extend(steps)


def test_through_workers_the_prepare_step_reuses_the_model_state_too(
    simulator: FeedSimulator, make_settings: Callable[..., Settings]
) -> None:
    # SQLite only: the store side is proven on both stores above
    settings = make_settings(simulator)
    store = Store(settings.database_url)
    first = stages.run_embedded(settings, store, "test")
    run_id = stages.start_distributed(store, settings, "review", _Outbox(), no_fetch=True)
    stages.prepare_run(run_id, store, model_max_age_days=settings.model_max_age_days)
    assert _state(store, run_id).estimated_by == first
    assert _weights(_state(store, run_id)) == _weights(_state(store, first))
    # without the setting (a worker of an older deployment) the step estimates, as before
    stages.prepare_run(run_id, store)
    assert _state(store, run_id).estimated_by == run_id
