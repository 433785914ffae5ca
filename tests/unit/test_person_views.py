"""People's comparison keys are frozen sets, one object for every set that several people have
alike: the same keys as a view built on its own, in a fraction of the objects."""

from __future__ import annotations

from dataclasses import fields

from pipeline.match.adults import build_people
from pipeline.match.views import PersonView, Shared
from pipeline.sim.world import generate_world

SETS = [f.name for f in fields(PersonView) if f.name not in ("person", "claims")]


def test_views_built_together_share_alike_sets_and_keep_each_persons_keys() -> None:
    snap = generate_world(120, seed=4).to_snapshot()
    people = build_people(snap.adults, snap.removals)
    shared: Shared = {}
    together = [PersonView.of(p, shared) for p in people]
    alone = [PersonView.of(p) for p in people]
    assert together == alone  # the same keys, field by field
    assert all(isinstance(getattr(v, name), frozenset) for v in together for name in SETS)
    objects = {id(getattr(v, name)) for v in together for name in SETS}
    assert len(objects) < len(together) * len(SETS) / 2  # each its own: every one distinct
    by_country: dict[frozenset[str], int] = {}
    for view in together:
        assert id(view.countries) == by_country.setdefault(view.countries, id(view.countries))
