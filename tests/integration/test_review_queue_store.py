"""The review queue on both backends: chosen from the history rows, it holds exactly the children
its rule picks from every result of the run, decided ones included, in the same order."""

from __future__ import annotations

from pipeline.ops.result_row import ResultRow
from pipeline.ops.review import _ENDED, DEFAULT_SCORE_BAR, _why, review_queue
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
    quiet = next(r for r in everyone if r.get("parent") and not _why(ResultRow.of(r), DEFAULT_SCORE_BAR))
    store.add_decision(ResultRow.of(quiet).child_key, "ICE-x", "reject", "carl", "not him")

    picked = {
        row.child_key
        for row in map(ResultRow.of, everyone)
        if row.status not in _ENDED
        and (_why(row, DEFAULT_SCORE_BAR) or row.child_key == ResultRow.of(quiet).child_key)
    }
    queue = review_queue(store, run_id, state=None)

    assert len(picked) > 10, "the world should give the queue some children"
    assert {item.child_key for item in queue} == picked
    assert ResultRow.of(quiet).child_key in {item.child_key for item in queue}, "a decided child stays"
    store.close()
