"""Pruned candidate generation gives exactly the plain one's candidates: the same people in the
same order, for every child of generated worlds (default and hard noise), with and without the
DNA/confirmation boosts and the runner-up exclusions, at the linker's limits and at others."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import timedelta

import pytest

from pipeline.match.blocking import _reference_top, candidates_of, top_candidates
from pipeline.match.link import CANDIDATE_MARGIN, MAX_CANDIDATES
from pipeline.reconcile import Prepared, prepare
from pipeline.sim.profiles import rates_for
from pipeline.sim.world import generate_world

LIMITS = [(MAX_CANDIDATES, CANDIDATE_MARGIN), (1, 0.0), (3, 2.0), (18, 100.0), (60, 4.0)]


@pytest.fixture(scope="module", params=["default", "hard"])
def prep(request: pytest.FixtureRequest) -> Prepared:
    world = generate_world(1200, seed=11, rates=rates_for(request.param))
    return prepare(world.to_snapshot(), as_of=world.as_of)


def test_pruned_candidates_equal_the_reference_for_every_child(prep: Prepared) -> None:
    compared = 0
    for cview in prep.cviews:
        for n, margin in LIMITS:
            want = _reference_top(cview, prep.index, n, margin)
            assert top_candidates(cview, prep.index, n, margin) == want
            compared += len(want)
    assert compared > len(prep.cviews)  # the worlds' children do meet people


def test_pruned_candidates_equal_the_reference_with_boosts_and_exclusions(prep: Prepared) -> None:
    rng = random.Random(5)
    n_people = len(prep.people)
    for cview in prep.cviews:
        reached = sorted(candidates_of(cview, prep.index))
        # boosts on people the child reaches and on one it does not (a confirmed parent
        # elsewhere), one person boosted twice (tested and confirmed)
        boosted = [*rng.sample(reached, min(2, len(reached))), rng.randrange(n_people)]
        boosts = [(pid, 100.0) for pid in boosted] + [(boosted[0], 100.0)]
        want = _reference_top(cview, prep.index, MAX_CANDIDATES, CANDIDATE_MARGIN, boosts)
        assert top_candidates(cview, prep.index, MAX_CANDIDATES, CANDIDATE_MARGIN, boosts) == want
        # the runner-ups' case: the best people taken out
        best = _reference_top(cview, prep.index, 2, CANDIDATE_MARGIN)
        exclude = set(best) | set(rng.sample(reached, min(3, len(reached))))
        want = _reference_top(cview, prep.index, MAX_CANDIDATES, CANDIDATE_MARGIN, exclude=exclude)
        assert top_candidates(cview, prep.index, MAX_CANDIDATES, CANDIDATE_MARGIN, exclude=exclude) == want
        assert not exclude & set(want)


def test_pruned_candidates_equal_the_reference_when_people_span_several_days() -> None:
    # the generator apprehends each adult once; here a share of them is re-apprehended a few
    # days later (a second ICE record with the same A-number), so their keys span days
    world = generate_world(1200, seed=13)
    snapshot = world.to_snapshot()
    rng = random.Random(3)
    again = [
        replace(
            a,
            record_id=f"{a.record_id}-R",
            apprehension_date=a.apprehension_date + timedelta(rng.choice((-3, 2, 9))),
        )
        for a in snapshot.adults
        if a.a_number and a.apprehension_date and rng.random() < 0.2
    ]
    snapshot = replace(snapshot, adults=[*snapshot.adults, *again])
    prep = prepare(snapshot, as_of=world.as_of)
    assert prep.index.multi_day  # the case under test is there
    spanning = {pid for pids in prep.index.multi_day.values() for pid in pids}
    met = 0
    for cview in prep.cviews:
        for n, margin in LIMITS:
            want = _reference_top(cview, prep.index, n, margin)
            assert top_candidates(cview, prep.index, n, margin) == want
            met += len(spanning & set(want))
    assert met > 0  # people of several days are among the candidates
