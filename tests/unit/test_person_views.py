"""People's and children's comparison keys are frozen sets, one object for every set that several
have alike: the same keys as a view built on its own, in a fraction of the objects."""

from __future__ import annotations

from dataclasses import fields

from pipeline.match.adults import build_people
from pipeline.match.children import group_children
from pipeline.match.views import ChildView, PersonView, Shared
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


CHILD_SETS = [f.name for f in fields(ChildView) if f.name not in ("group", "surnames", "parents")]


def test_child_views_built_together_share_alike_sets_and_keep_each_childs_keys() -> None:
    snap = generate_world(120, seed=4).to_snapshot()
    groups = group_children(snap.children)
    shared: Shared = {}
    together = [ChildView.of(g, shared) for g in groups]
    alone = [ChildView.of(g) for g in groups]
    assert together == alone
    assert all(isinstance(getattr(v, name), frozenset) for v in together for name in CHILD_SETS)
    first: dict[frozenset[object], int] = {}
    for view in together:
        for name in CHILD_SETS:
            keys = getattr(view, name)
            assert id(keys) == first.setdefault(keys, id(keys))  # equal sets are one object
    apart = {id(getattr(view, name)) for view in alone for name in CHILD_SETS}
    assert len(first) < 0.8 * len(apart)  # (602 against 937 for this world)
    # what a view holds is its records' keys
    for view in together:
        assert view.a_numbers == {r.a_number for r in view.group.records if r.a_number}
        assert len(view.surnames) == sum(bool(r.last_name.strip()) for r in view.group.records)
