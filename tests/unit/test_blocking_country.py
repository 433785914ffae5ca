"""The pre-score's country penalty: namesakes of another country who claimed a child of the same
name no longer crowd the true parent out of the compared candidates (bench/misses.py's largest
cause of missed links at 20,000 children, "pre-score cut")."""

from __future__ import annotations

from datetime import date

from factories import AS_OF, adult, child

from pipeline.match.blocking import _reference_top, candidates_of, top_candidates
from pipeline.match.link import CANDIDATE_MARGIN, MAX_CANDIDATES
from pipeline.reconcile import prepare, reconcile
from pipeline.records import FeedSnapshot

DAY = date(2018, 5, 1)


def _snapshot() -> FeedSnapshot:
    kid = child(first_name="Ana", last_name="López García", station=None, apprehension_date=DAY)
    parent = adult("ICE-P", first_name="JUAN", last_name="LOPEZ PEREZ", station=None)
    # more namesakes than the linker compares, each claiming an "ANA LOPEZ", all from elsewhere
    decoys = [
        adult(
            f"ICE-D{i:02d}",
            a_number=f"2{i:08d}",
            first_name=f"PEDRO{chr(65 + i)}",
            last_name="LOPEZ RAMOS",
            dob=date(1975 + i % 10, 2, 3),
            country="HONDURAS",
            station=None,
            claimed=[("ANA LOPEZ", None)],
        )
        for i in range(MAX_CANDIDATES + 4)
    ]
    return FeedSnapshot([kid], [parent, *decoys])


def test_true_parent_of_the_childs_country_is_compared_despite_namesakes_elsewhere() -> None:
    prep = prepare(_snapshot(), as_of=AS_OF)
    [cview] = prep.cviews
    parent = prep.person_of["ICE-P"]
    pre = candidates_of(cview, prep.index)
    assert parent in pre and sum(v > pre[parent] for v in pre.values()) >= MAX_CANDIDATES  # the case
    top = top_candidates(cview, prep.index, MAX_CANDIDATES, CANDIDATE_MARGIN)
    assert top == _reference_top(cview, prep.index, MAX_CANDIDATES, CANDIDATE_MARGIN)
    assert top[0] == parent


def test_the_true_parent_is_the_childs_best_candidate() -> None:
    [res] = reconcile(_snapshot(), AS_OF)
    best = res.parent or (res.candidates[0] if res.candidates else None)
    assert best is not None and best.ice_record_ids == ["ICE-P"]
