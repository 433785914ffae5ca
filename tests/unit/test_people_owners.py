"""The people a reconciliation recognised, kept as the owner of each record
(``adults.owners``), give the very same people over the same records without matching again
(``adults.people_of_owners``), and are refused for other records."""

from __future__ import annotations

import dataclasses

import pytest

from pipeline.match.adults import Person, build_people, owners, people_of_owners
from pipeline.sim.profiles import rates_for
from pipeline.sim.world import generate_world


def _shape(people: list[Person]) -> list[tuple[int, list[object], list[object]]]:
    return [(p.pid, list(p.ice), list(p.removals)) for p in people]


@pytest.mark.parametrize(("profile", "seed"), [("default", 31), ("hard", 32), ("sparse", 33)])
def test_owners_give_the_same_people_again(profile: str, seed: int) -> None:
    snap = generate_world(300, seed=seed, rates=rates_for(profile)).to_snapshot()
    # a repeated removal row (the feed may list one twice): build_people reads its first copy
    removals = [*snap.removals, dataclasses.replace(snap.removals[0], country="ELSEWHERE")]
    people = build_people(snap.adults, removals)
    ice, rows = owners(people, snap.adults, removals)
    assert -1 in rows  # some rows attach to nobody: kept as such
    again = people_of_owners(snap.adults, removals, ice, rows)
    assert again is not None and _shape(again) == _shape(people)


def test_owners_of_other_records_are_refused() -> None:
    snap = generate_world(100, seed=34).to_snapshot()
    people = build_people(snap.adults, snap.removals)
    ice, rows = owners(people, snap.adults, snap.removals)
    assert people_of_owners(snap.adults[:-1], snap.removals, ice, rows) is None
    assert people_of_owners(snap.adults, snap.removals[:-1], ice, rows) is None
