"""The review queue's pure parts: a DNA exclusion of the linked adult asks a reviewer to find the
real parent among the runner-ups (issue 16 item 6), and where each child of the queue stands."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pipeline.ops.review import FIND_PARENT, ReviewItem, dna_excluded, review_state
from pipeline.reconcile import reconcile
from pipeline.sim.world import generate_world
from pipeline.store import Decision


def _excluded_world() -> tuple[Any, str, str, str]:
    """A generated world in which DNA excluded a wrong adult for one child whose true parent the
    feeds hold: (world, child id, the true parent's ICE id, the excluded adult's ICE id)."""
    world = generate_world(80, seed=5)
    tested = {d["child_id"] for d in world.dna}
    link = next(lk for lk in world.links if lk.ice_record_ids and lk.child_record_ids[0] not in tested)
    others = [a["subject_id"] for a in world.ice if a["subject_id"] not in link.ice_record_ids]
    child_id, parent_id, wrong_id = link.child_record_ids[0], link.ice_record_ids[0], others[0]
    world.dna.append(
        {
            "case_id": "DNA-9000001",
            "adult_a_number": None,
            "child_a_number": None,
            "adult_subject_id": wrong_id,
            "child_id": child_id,
            "result": "exclusion",
            "reported_at": "2018-07-09T12:00:00Z",
        }
    )
    return world, child_id, parent_id, wrong_id


def test_a_dna_exclusion_of_the_linked_adult_keeps_the_real_parent_among_the_runner_ups() -> None:
    world, child_id, parent_id, wrong_id = _excluded_world()
    results = {r.child_record_ids[0]: r for r in reconcile(world.to_snapshot(), world.as_of)}
    res = results[child_id]
    assert res.status == "not_a_parent" and res.parent is not None
    assert res.parent.ice_record_ids == [wrong_id]
    assert res.candidates, "an excluded link must come with runner-ups to look at"
    assert parent_id in res.candidates[0].ice_record_ids
    assert all(wrong_id not in c.ice_record_ids for c in res.candidates)


def test_the_runner_ups_do_not_depend_on_the_partitions() -> None:
    world, *_ = _excluded_world()
    one = {
        r.child_key: [c.ice_record_ids for c in r.candidates]
        for r in reconcile(world.to_snapshot(), world.as_of)
    }
    four = {
        r.child_key: [c.ice_record_ids for c in r.candidates]
        for r in reconcile(world.to_snapshot(), world.as_of, partitions=4)
    }
    assert one == four


def _export(
    status: str, ice: list[str] | None, score: float = 0.9, evidence: list[str] | None = None
) -> dict[str, Any]:
    parent = None if ice is None else {"ice_record_ids": ice, "removal_record_ids": [], "match_score": score,
                                       "evidence": evidence or []}  # fmt: skip
    return {"child_record_ids": ["ORR-1"], "status": status, "parent": parent, "needs_review": True}


def _decision(decision: str, adult: str, n: int = 1) -> Decision:
    return Decision(n, "ORR-1", adult, decision, "carl", datetime(2026, 12, 3, 12, n, tzinfo=UTC), "seen")


def test_an_excluded_link_is_a_find_the_parent_item() -> None:
    result = _export("not_a_parent", ["ICE-9"], 1.0)
    assert dna_excluded(result) and not dna_excluded(_export("eligible", ["ICE-9"]))
    assert ReviewItem("ORR-1", result, ["x"]).kind == FIND_PARENT


def test_the_latest_decision_sets_where_a_child_stands() -> None:
    linked = _export("eligible", ["ICE-1"])
    assert review_state(linked, ["low score"], []) == "pending"
    assert review_state(linked, ["low score"], [_decision("confirm", "ICE-1")]) == "confirmed"
    assert review_state(linked, ["low score"], [_decision("reject", "ICE-1")]) == "rejected"
    assert (
        review_state(linked, [], [_decision("reject", "ICE-1"), _decision("confirm", "ICE-1", 2)])
        == "confirmed"
    )


def test_a_new_link_after_a_rejection_is_pending_again() -> None:
    relinked = _export("eligible", ["ICE-2"])
    assert review_state(relinked, ["low score"], [_decision("reject", "ICE-1")]) == "pending"
    # a confident new link needs nobody: the rejection stands
    assert review_state(relinked, [], [_decision("reject", "ICE-1")]) == "rejected"


def test_a_confirmation_reopened_by_dna_is_pending_again() -> None:
    reopened = _export("not_a_parent", ["ICE-1"], 1.0, ["reopened: DNA exclusion overturns the review (...)"])
    assert review_state(reopened, ["x"], [_decision("confirm", "ICE-1")]) == "pending"
