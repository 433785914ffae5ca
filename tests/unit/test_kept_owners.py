"""The people and the child groups a reconciliation recognised, kept as the owner of each
record (``adults.recognise_people``, ``children.group_owners``), give the very same people and groups over
the same records without matching again, and are refused for other records."""

from __future__ import annotations

import dataclasses

import pytest

from pipeline.match.adults import Person, build_people, people_of_owners, recognise_people
from pipeline.match.children import group_children, group_owners, groups_of_owners
from pipeline.sim.profiles import rates_for
from pipeline.sim.world import generate_world


def _shape(people: list[Person]) -> list[tuple[int, list[object], list[object]]]:
    return [(p.pid, list(p.ice), list(p.removals)) for p in people]


@pytest.mark.parametrize(("profile", "seed"), [("default", 31), ("hard", 32), ("sparse", 33)])
def test_owners_give_the_same_people_again(profile: str, seed: int) -> None:
    snap = generate_world(300, seed=seed, rates=rates_for(profile)).to_snapshot()
    # a repeated removal row (the feed may list one twice): build_people reads its first copy
    removals = [*snap.removals, dataclasses.replace(snap.removals[0], country="ELSEWHERE")]
    people, ice, rows = recognise_people(snap.adults, removals)
    assert _shape(people) == _shape(build_people(snap.adults, removals))
    assert -1 in rows  # some rows attach to nobody: kept as such
    again = people_of_owners(snap.adults, removals, ice, rows)
    assert again is not None and _shape(again) == _shape(people)


def test_owners_of_other_records_are_refused() -> None:
    snap = generate_world(100, seed=34).to_snapshot()
    _, ice, rows = recognise_people(snap.adults, snap.removals)
    assert people_of_owners(snap.adults[:-1], snap.removals, ice, rows) is None
    assert people_of_owners(snap.adults, snap.removals[:-1], ice, rows) is None


@pytest.mark.parametrize(("profile", "seed"), [("default", 35), ("hard", 36)])
def test_group_owners_give_the_same_groups_again(profile: str, seed: int) -> None:
    snap = generate_world(300, seed=seed, rates=rates_for(profile)).to_snapshot()
    # a record twice, the later copy updated: grouping reads the latest
    later = dataclasses.replace(snap.children[0], updated_at=snap.children[0].updated_at.replace(year=2019))
    children = [*snap.children, later]
    groups = sorted(group_children(children), key=lambda g: g.key)
    assert any(len(g.records) > 1 for g in groups)
    again = groups_of_owners(children, group_owners(groups, children))
    assert again is not None
    assert [(g.key, g.records) for g in again] == [(g.key, g.records) for g in groups]
    fewer = [c for c in children if c.record_id != snap.children[5].record_id]
    assert groups_of_owners(fewer, group_owners(groups, children)) is None
