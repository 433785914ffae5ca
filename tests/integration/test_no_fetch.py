"""A run without fetching (``reunify run --no-fetch``, the console's re-reconcile button) on
SQLite and PostgreSQL: an ordinary run with the trigger ``review`` that asks the feeds for
nothing, holds exactly the last good run's records, quarantine and counts, passes the publish
gates, and publishes results in which the review decisions made since take effect; through
workers it starts at the prepare step."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence

import pytest

from pipeline import run as stages
from pipeline.errors import RunFailedError
from pipeline.ops.review import decide
from pipeline.run import launch
from pipeline.settings import FEEDS, Settings
from pipeline.sim.processes import reunify
from pipeline.sim.server import FeedSimulator
from pipeline.store import Store
from pipeline.store.history import child_key


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    with Store(db_url) as s:
        yield s


class Outbox:
    def __init__(self) -> None:
        self.sent: list[str] = []

    def __call__(self, _run_id: str, steps: Sequence[str]) -> None:
        self.sent.extend(steps)


def _records(store: Store, run_id: str) -> dict[str, list[str]]:
    return {feed: list(store.iter_feed_payloads(run_id, feed)) for feed in FEEDS}


def test_a_run_without_fetching_reconciles_the_stored_feeds_with_the_decisions_made_since(
    store: Store, db_url: str, simulator: FeedSimulator, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(simulator, db_url)
    first = stages.run_embedded(settings, store, "test")
    rows = list(store.iter_results(first))
    linked = next(
        r for r in rows if r["parent"] and r["parent"]["ice_record_ids"] and r["status"] == "eligible"
    )
    adult = linked["parent"]["ice_record_ids"][0]
    decide(
        store, linked["child_record_ids"][0], adult, "reject", "carl", "the adult says he is not the father"
    )
    simulator.reset_counts()

    second = launch.run_here(settings, store, launch.RunRequest.review())

    assert sum(simulator.counts().values()) == 0, "a run without fetching asked the feeds"
    run = store.get_run(second)
    before = store.get_run(first)
    assert run is not None and before is not None
    assert (run.status, run.trigger, run.mode) == ("succeeded", "review", "full")
    assert _records(store, second) == _records(store, first)
    assert run.counts == before.counts
    assert [(q.feed, q.record_id, q.reason) for q in store.list_quarantine(second)] == [
        (q.feed, q.record_id, q.reason) for q in store.list_quarantine(first)
    ]
    assert all(c.outcome == "passed" for c in store.list_gate_checks(second))
    after = {child_key(r): r for r in store.iter_results(second)}
    now = after[child_key(linked)]
    assert now["parent"] is None or adult not in now["parent"]["ice_record_ids"]
    assert now["status"] != "eligible" or now["parent"] != linked["parent"]
    # everyone else is as before: the decision is the only change
    changed = [k for k, r in after.items() if k != child_key(linked) and r["status"] != next(
        x["status"] for x in rows if child_key(x) == k)]  # fmt: skip
    assert len(changed) <= 3  # a sibling may follow the rejected link; the rest stand


def test_a_run_without_fetching_needs_a_good_run_to_copy(
    store: Store, db_url: str, simulator: FeedSimulator, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(simulator, db_url)
    with pytest.raises(RunFailedError, match="no successful run yet"):
        launch.run_here(settings, store, launch.RunRequest.review())
    assert store.list_runs() == [] and store.lock_holder(stages.RUN_LOCK) is None


def test_through_workers_a_run_without_fetching_starts_at_the_prepare_step(
    simulator: FeedSimulator, make_settings: Callable[..., Settings]
) -> None:
    # SQLite only: the copy itself is proven on both stores above
    settings = make_settings(simulator)
    store = Store(settings.database_url)
    first = stages.run_embedded(settings, store, "test")
    outbox = Outbox()
    run_id = stages.start_distributed(store, settings, "review", outbox, no_fetch=True)
    assert outbox.sent == ["prepare"]
    run = store.get_run(run_id)
    assert run is not None and run.stage == "prepare" and run.status == "running"
    assert _records(store, run_id) == _records(store, first)


def test_reunify_run_no_fetch_is_the_command_an_operator_types(
    simulator: FeedSimulator, make_settings: Callable[..., Settings]
) -> None:
    # one process, on SQLite only: the command's wiring (the runs themselves are tested above)
    settings = make_settings(simulator)
    stages.run_embedded(settings, Store(settings.database_url), "test")
    simulator.reset_counts()
    env = simulator.env() | {
        "REUNIFY_AS_OF": settings.as_of.isoformat(),
        "REUNIFY_DATABASE_URL": settings.database_url,
    }
    done = reunify(["run", "--no-fetch", "--json"], env)
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    assert (body["outcome"], body["trigger"]) == ("succeeded", "review")
    assert sum(simulator.counts().values()) == 0
