"""The review queue on both backends: chosen from the history rows, it holds exactly the children
its rule picks from every result of the run, decided ones included, in the same order."""

from __future__ import annotations

from pipeline.ops.result_row import ResultRow
from pipeline.ops.review import (
    DEFAULT_SCORE_BAR,
    ENDED_STATUSES,
    review_queue,
    review_queue_page,
    review_reasons,
)
from pipeline.reconcile import reconcile
from pipeline.sim.world import generate_world
from pipeline.store import Store


def test_the_queue_read_from_the_history_rows_holds_what_the_rule_picks_from_every_result(
    db_url: str,
) -> None:
    world = generate_world(400, seed=9)
    store = Store(db_url)
    run_id = store.start_run("test", world.as_of)
    store.publish_results(run_id, [r.to_export(run_id) for r in reconcile(world.to_snapshot(), world.as_of)])
    everyone = list(store.iter_results(run_id))
    quiet = next(
        r for r in everyone if r.get("parent") and not review_reasons(ResultRow.of(r), DEFAULT_SCORE_BAR)
    )
    store.add_decision(ResultRow.of(quiet).child_key, "ICE-x", "reject", "carl", "not him")

    picked = {
        row.child_key
        for row in map(ResultRow.of, everyone)
        if row.status not in ENDED_STATUSES
        and (review_reasons(row, DEFAULT_SCORE_BAR) or row.child_key == ResultRow.of(quiet).child_key)
    }
    queue = review_queue(store, run_id, state=None)

    assert len(picked) > 10, "the world should give the queue some children"
    assert {item.child_key for item in queue} == picked
    assert ResultRow.of(quiet).child_key in {item.child_key for item in queue}, "a decided child stays"
    store.close()


def test_a_page_of_each_tab_is_the_same_slice_of_the_whole_queue(db_url: str) -> None:
    world = generate_world(400, seed=9)
    store = Store(db_url)
    run_id = store.start_run("test", world.as_of)
    store.publish_results(run_id, [r.to_export(run_id) for r in reconcile(world.to_snapshot(), world.as_of)])
    pending = review_queue(store, run_id)
    decisions = ["confirm", "reject", "confirm", "reject", "reject", "confirm"]
    for item, decision in zip(pending[:6], decisions, strict=True):
        adult = (
            (item.row.parent.ice_record_ids or item.row.parent.removal_record_ids or ("x",))[0]
            if item.row.parent
            else "x"
        )
        store.add_decision(item.child_key, adult, decision, "carl", "checked the file")
    store.add_decision(pending[-1].child_key, "ICE-nobody", "reject", "carl", "not this one")  # still pending

    for state in ("pending", "confirmed", "rejected"):
        whole = [i.child_key for i in review_queue(store, run_id, state=state)]
        assert whole, f"the decisions should leave children in the {state} tab"
        for offset in (0, 7, len(whole) - 3):
            total, page = review_queue_page(store, run_id, state, offset=max(0, offset), limit=7)
            assert total == len(whole), state
            assert [i.child_key for i in page] == whole[max(0, offset) : max(0, offset) + 7], (state, offset)
            assert all(i.state == state and i.result["child_record_ids"] for i in page)
    store.close()
