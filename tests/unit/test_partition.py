"""Partitioned linking: any number of partitions gives the whole snapshot's results, and a
partition holds the children of a run of days and only the people they can meet."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from pipeline.match.blocking import BlockingIndex, DnaIndex, candidates_of, dna_people, query_days
from pipeline.match.partition import plan_partitions
from pipeline.reconcile import prepare, reconcile
from pipeline.records import FeedSnapshot
from pipeline.results import ChildResult, ReviewDecision
from pipeline.sim.world import World, generate_world


@pytest.fixture(scope="module")
def world() -> World:
    return generate_world(1500, seed=23)


@pytest.fixture(scope="module")
def snapshot(world: World) -> FeedSnapshot:
    return world.to_snapshot()


def _exported(results: list[ChildResult]) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    return [(r.to_export("run"), [c.to_export() for c in r.candidates]) for r in results]


def _decisions(world: World, snapshot: FeedSnapshot) -> list[ReviewDecision]:
    """A rejection and a confirmation of real pairs, so that decisions cross partitions too."""
    whole = reconcile(snapshot, world.as_of)
    linked = [r for r in whole if r.parent is not None and r.parent.ice_record_ids]
    rejected, confirmed = linked[0], linked[len(linked) // 2]
    other = linked[-1].parent
    assert rejected.parent is not None and other is not None
    return [
        ReviewDecision(rejected.child_key, rejected.parent.ice_record_ids[0], "reject"),
        ReviewDecision(confirmed.child_key, other.ice_record_ids[0], "confirm"),
    ]


@pytest.mark.parametrize("partitions", [3, 8])
def test_linking_in_partitions_gives_the_whole_snapshots_results(
    world: World, snapshot: FeedSnapshot, partitions: int
) -> None:
    decisions = _decisions(world, snapshot)
    whole = _exported(reconcile(snapshot, world.as_of, decisions, partitions=1))
    assert _exported(reconcile(snapshot, world.as_of, decisions, partitions=partitions)) == whole


def test_more_partitions_than_children_leaves_some_empty_and_changes_nothing() -> None:
    world = generate_world(12, seed=4)
    snap = world.to_snapshot()
    prep = prepare(snap, partitions=40)
    assert len(prep.partitions) == 40 and sum(1 for p in prep.partitions if not p.children) >= 28
    assert _exported(reconcile(snap, world.as_of, partitions=40)) == _exported(reconcile(snap, world.as_of))


def test_partitions_hold_runs_of_days_and_only_the_people_their_children_can_meet(
    snapshot: FeedSnapshot,
) -> None:
    prep = prepare(snapshot, partitions=4)
    parts = prep.partitions
    assert sorted(i for p in parts for i in p.children) == list(range(len(prep.groups)))
    firsts = [[min(query_days(prep.cviews[i])) for i in p.children] for p in parts]
    for before, after in itertools.pairwise(firsts):
        assert max(before) <= min(after)  # contiguous runs of days, in order
    for part in parts:
        assert len(part.people) < len(prep.people) / 2
        held = set(part.people)
        days = {d for i in part.children for d in query_days(prep.cviews[i])}
        on_days = {
            p.pid
            for p in prep.people
            if any(a.apprehension_date and a.apprehension_date.toordinal() in days for a in p.ice)
        }
        assert on_days <= held


def test_a_partition_knows_which_of_its_keys_are_too_large_to_block_on(snapshot: FeedSnapshot) -> None:
    prep = prepare(snapshot)
    index = BlockingIndex(prep.people)
    parts = plan_partitions(prep.cviews, prep.people, index, DnaIndex.of(prep.dna), {}, 6)
    everywhere = set(index.oversized_keys())
    assert everywhere
    for part in parts:
        sub = BlockingIndex((prep.people[pid] for pid in part.people), part.oversized)
        assert set(part.oversized) <= everywhere
        # a key crowded over the whole snapshot stays unusable in the partition, however few of
        # its people the partition holds
        assert all(sub.hits(key) == [] for key in everywhere)


@pytest.mark.parametrize("count", [1, 2, 6])
def test_a_childs_blocking_in_its_partition_reaches_the_same_people_with_the_same_scores(
    snapshot: FeedSnapshot, count: int
) -> None:
    prep = prepare(snapshot)
    whole = BlockingIndex(prep.people)
    dna = DnaIndex.of(prep.dna)
    for part in plan_partitions(prep.cviews, prep.people, whole, dna, {}, count):
        sub = BlockingIndex((prep.people[pid] for pid in part.people), part.oversized)
        for i in part.children:
            cview = prep.cviews[i]
            assert candidates_of(cview, sub) == candidates_of(cview, whole)
            assert dna_people(dna.for_child(cview), sub) == dna_people(dna.for_child(cview), whole)
