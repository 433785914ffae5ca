"""A frozen model (issue 19 item 3): reconciling under a given model skips the estimate and
otherwise links exactly as a reconciliation that estimates it; under a frozen model the result
of a changed world does not depend on the partitioning; the model state survives its JSON."""

from __future__ import annotations

from datetime import date, timedelta

from pipeline import jsontext, reconcile
from pipeline.match.state import ModelState, model_state_from_json, model_state_to_json
from pipeline.sim.world import generate_world, mutate_world


def test_a_frozen_model_links_as_the_estimate_it_freezes() -> None:
    world = generate_world(160, seed=11)
    snap = world.to_snapshot()
    as_of = world.as_of
    estimated, model = reconcile.reconcile_under(snap, as_of)
    assert reconcile.reconcile(snap, as_of, model=model) == estimated


def test_a_changed_world_under_the_old_model() -> None:
    world = generate_world(160, seed=12)
    _, model = reconcile.reconcile_under(world.to_snapshot(), world.as_of)
    later = mutate_world(world, 0.05, seed=3)
    snap = later.to_snapshot()
    frozen, used = reconcile.reconcile_under(snap, later.as_of, model=model)
    assert used is model
    assert reconcile.reconcile(snap, later.as_of, partitions=3, model=model) == frozen


def test_the_model_state_survives_its_json() -> None:
    world = generate_world(80, seed=13)
    _, model = reconcile.reconcile_under(world.to_snapshot(), world.as_of)
    state = ModelState(model, "run-1", date(2026, 1, 2) + timedelta(days=1))
    again = model_state_from_json(jsontext.loads(jsontext.dumps(model_state_to_json(state))))
    assert (again.estimated_by, again.estimated_on) == (state.estimated_by, state.estimated_on)
    assert (again.model.raw, again.model.shares, again.model.mean_share) == (
        model.raw,
        model.shares,
        model.mean_share,
    )
