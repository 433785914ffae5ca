"""The registered comparisons describe themselves truly: the fields they read, their levels, the
names their term-frequency levels carry, and the blocking keys that serve them."""

from __future__ import annotations

import dataclasses
from functools import cache

import pytest

from pipeline.match.blocking import BlockingIndex
from pipeline.match.comparisons import COMPARISONS, FIELDS, Comparison, Level, compare, level_of
from pipeline.match.model import prior_model
from pipeline.match.views import ChildView, PersonView
from pipeline.reconcile import Prepared, prepare
from pipeline.sim.world import generate_world


@cache
def _prepared() -> Prepared:
    return prepare(generate_world(200, seed=5).to_snapshot())


def test_every_field_a_comparison_reads_is_a_field_of_its_view() -> None:
    views = {
        "child": {f.name for f in dataclasses.fields(ChildView)},
        "person": {f.name for f in dataclasses.fields(PersonView)},
    }
    for comp in COMPARISONS:
        assert comp.reads, comp.name
        for read in comp.reads:
            side, _, name = read.partition(".")
            assert name in views[side], f"{comp.name} reads {read}"


def test_levels_are_labelled_once_and_at_most_one_is_the_null_level() -> None:
    for comp in COMPARISONS:
        labels = [lv.label for lv in comp.levels]
        assert all(labels) and len(set(labels)) == len(labels), comp.name
        assert [lv.index for lv in comp.levels] == list(range(len(comp.levels)))
        assert sum(lv.null for lv in comp.levels) <= 1
        assert all(0.0 < lv.m <= 1.0 and 0.0 < lv.u <= 1.0 for lv in comp.levels)
        # a comparison whose levels are adjusted by name frequency says which names count
        has_tf = any(lv.tf for lv in comp.levels)
        assert (comp.tf_names(_prepared().cviews, _prepared().people) is not None) == has_tf


def test_a_level_belongs_to_one_comparison_and_one_null_level_only() -> None:
    with pytest.raises(TypeError, match="already belongs"):

        class Reused(Comparison):
            name = "reused"
            reads = ("child.events",)
            SAME = COMPARISONS[0].levels[0]

    with pytest.raises(TypeError, match="more than one null level"):

        class TwoNulls(Comparison):
            name = "two_nulls"
            reads = ("child.events",)
            A = Level("a", 0.5, 0.5, null=True)
            B = Level("b", 0.5, 0.5, null=True)


def test_the_null_level_weighs_nothing_and_the_others_do() -> None:
    model = prior_model()
    for f, comp in enumerate(COMPARISONS):
        for lv in comp.levels:
            weight = model.field_weight(f, lv.index, None)
            assert (weight == 0.0) == lv.null or lv.m == lv.u, (comp.name, lv.label)


def test_a_name_is_carried_exactly_by_the_term_frequency_levels() -> None:
    prep = _prepared()
    seen: set[tuple[str, str]] = set()
    people = {p.pid: p for p in prep.people}
    for cview in prep.cviews:
        for pid in list(people)[:40]:
            gamma = compare(cview, PersonView.of(people[pid]))
            for f, name in enumerate(FIELDS):
                lv = level_of(gamma, name)
                assert (gamma[1][f] is not None) == lv.tf, (name, lv.label)
                seen.add((name, lv.label))
    # the world is big enough to reach most levels (the check above is not vacuous)
    assert len(seen) >= 30


def test_every_kind_of_blocking_key_serves_a_declared_comparison() -> None:
    index = BlockingIndex(_prepared().people)
    built = {key[0] for key in index.by_key}
    declared = {kind for comp in COMPARISONS for kind in comp.blocking}
    assert built <= declared
    assert {"ev", "ds", "dn", "dg", "dc", "dd"} <= built  # the day-scoped keys of a dated world
    by_kind: dict[str, list[str]] = {}
    for comp in COMPARISONS:
        for kind in comp.blocking:
            by_kind.setdefault(kind, []).append(comp.name)
    assert by_kind["ev"] == ["event"] and by_kind["ds"] == ["station"]
