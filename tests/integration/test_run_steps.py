"""Runs through workers, without Celery: the step leases and the watchdog against real databases
(every test on SQLite and on the local PostgreSQL), and the fetch step against the feed simulator
over HTTP. The Celery processes themselves are exercised in tests/e2e/test_run_faults.py.
"""

from __future__ import annotations

import json
import multiprocessing
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from store_clock import FakeClock

from pipeline import run as stages
from pipeline.dates import snapshot_impossible_dates
from pipeline.errors import RunInProgressError, StoreError
from pipeline.records import FeedSnapshot
from pipeline.settings import Settings, load_settings
from pipeline.sim.hostile import IMPOSSIBLE_DATE_MODES
from pipeline.sim.server import FeedSimulator
from pipeline.sim.world import Rates, World, generate_world, mutate_world
from pipeline.store import Store

AS_OF = date(2018, 7, 12)
FETCHES = stages.FETCH_STEPS


class Outbox:
    """Stands in for the broker: remembers what was sent."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def __call__(self, run_id: str, steps: Sequence[str]) -> None:
        self.sent.extend((run_id, step) for step in steps)

    def steps(self) -> list[str]:
        return [step for _run, step in self.sent]


@pytest.fixture
def store(db_url: str, clock: FakeClock) -> Iterator[Store]:
    with Store(db_url, clock=clock) as s:
        yield s


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    env = {
        "REUNIFY_ORR_URL": "http://orr",
        "REUNIFY_ORR_TOKEN": "t",
        "REUNIFY_ICE_URL": "http://ice",
        "REUNIFY_ICE_TOKEN": "t",
        "REUNIFY_REMOVALS_URL": "http://rm",
        "REUNIFY_REMOVALS_TOKEN": "t",
        "REUNIFY_AS_OF": "2018-07-12",
        "REUNIFY_HEARTBEAT_SECONDS": "10",
        "REUNIFY_STALL_SECONDS": "60",
        "REUNIFY_RUN_DEADLINE_SECONDS": "3600",
    }
    return load_settings(env, config_file=tmp_path / "none.toml")


def started(store: Store, settings: Settings, outbox: Outbox) -> str:
    return stages.start_distributed(store, settings, "test", outbox)


# -- store: step leases ---------------------------------------------------------------------------


def test_step_lease_lifecycle(store: Store, clock: FakeClock) -> None:
    run_id = store.start_run("test", AS_OF)
    store.mark_sent(run_id, ["fetch:orr", "fetch:ice"])
    assert store.claim_step(run_id, "fetch:orr", "a", 60)
    assert not store.claim_step(run_id, "fetch:orr", "b", 60)  # a holds it
    clock.advance(seconds=30)
    assert store.refresh_step(run_id, "fetch:orr", "a", 60)
    clock.advance(seconds=59)
    assert not store.claim_step(run_id, "fetch:orr", "b", 60)  # renewed: still a's
    clock.advance(seconds=2)
    assert store.claim_step(run_id, "fetch:orr", "b", 60)  # a's lease ran out: a was lost
    assert not store.refresh_step(run_id, "fetch:orr", "a", 60)
    assert not store.finish_step(run_id, "fetch:orr", "a")  # a may not finish b's step
    assert store.finish_step(run_id, "fetch:orr", "b")
    assert not store.claim_step(run_id, "fetch:orr", "c", 60)  # done
    assert store.claim_step(run_id, "fetch:ice", "c", 60)
    assert store.release_step(run_id, "fetch:ice", "c")
    assert store.claim_step(run_id, "fetch:ice", "d", 60)  # released: free at once
    steps = {s.step: s for s in store.list_steps(run_id)}
    assert steps["fetch:orr"].done and steps["fetch:orr"].attempts == 2 and steps["fetch:orr"].sends == 1
    assert steps["fetch:ice"].owner == "d" and steps["fetch:ice"].attempts == 2
    store.fail_run(run_id, "stop")
    assert not store.claim_step(run_id, "reconcile", "e", 60)  # a run that is not running


def test_a_stage_advances_once_when_all_its_steps_are_done(store: Store) -> None:
    run_id = store.start_run("test", AS_OF)
    store.set_stage(run_id, "fetch")
    for step in FETCHES[:-1]:
        assert store.claim_step(run_id, step, "w", 60) and store.finish_step(run_id, step, "w")
    assert not store.advance_stage(run_id, "fetch", "reconcile", FETCHES)
    assert store.claim_step(run_id, FETCHES[-1], "w", 60) and store.finish_step(run_id, FETCHES[-1], "w")
    assert store.advance_stage(run_id, "fetch", "reconcile", FETCHES)
    assert not store.advance_stage(run_id, "fetch", "reconcile", FETCHES)
    run = store.get_run(run_id)
    assert run is not None and run.stage == "reconcile"


def _finish_last_and_advance(barrier: Any, url: str, run_id: str, step: str) -> bool:
    store = Store(url)
    try:
        assert store.claim_step(run_id, step, step, 60)
        barrier.wait()
        store.finish_step(run_id, step, step)
        return store.advance_stage(run_id, "fetch", "reconcile", FETCHES)
    finally:
        store.close()


def test_workers_finishing_together_advance_the_run_exactly_once(db_url: str) -> None:
    store = Store(db_url)
    for _ in range(2):
        run_id = store.start_run("test", AS_OF)
        store.set_stage(run_id, "fetch")
        ctx = multiprocessing.get_context("spawn")
        barrier = ctx.Barrier(len(FETCHES), timeout=60)
        queue = ctx.Queue()
        procs = [
            ctx.Process(target=_advance_entry, args=(queue, barrier, db_url, run_id, step))
            for step in FETCHES
        ]
        for proc in procs:
            proc.start()
        results = [queue.get(timeout=60) for _ in procs]
        for proc in procs:
            proc.join(timeout=30)
        assert sorted(results) == [False, False, False, True]
        run = store.get_run(run_id)
        assert run is not None and run.stage == "reconcile"
    store.close()


def _advance_entry(queue: Any, barrier: Any, url: str, run_id: str, step: str) -> None:
    queue.put(_finish_last_and_advance(barrier, url, run_id, step))


# -- the watchdog -----------------------------------------------------------------------------------


def test_a_step_whose_worker_died_is_resent_once(store: Store, clock: FakeClock, settings: Settings) -> None:
    outbox = Outbox()
    run_id = started(store, settings, outbox)
    assert outbox.steps() == list(FETCHES)
    for step in FETCHES:
        assert store.claim_step(run_id, step, f"worker-{step}", settings.stall_seconds)
    for step in FETCHES[1:]:
        assert store.finish_step(run_id, step, f"worker-{step}")
    clock.advance(seconds=30)
    assert stages.watch_runs(store, settings, outbox).resent == []  # the lease still holds
    clock.advance(seconds=31)  # fetch:orr's worker stopped renewing 61 s ago: it is lost
    report = stages.watch_runs(store, settings, outbox)
    assert report.resent == [f"{run_id}:fetch:orr"]
    assert outbox.steps()[-1] == "fetch:orr"
    assert stages.watch_runs(store, settings, outbox).resent == []  # sent once, not every pass
    # The re-sent message is taken by another worker, which finishes: the run moves on.
    outcome = stages.execute_step(run_id, "fetch:orr", settings, store, lambda _beat: 7, outbox)
    assert (outcome.ran, outcome.advanced_to, outcome.value) == (True, "prepare", 7)
    assert outbox.steps()[-1] == "prepare"


def test_a_lost_message_is_resent_only_when_the_run_is_quiet(
    store: Store, clock: FakeClock, settings: Settings
) -> None:
    outbox = Outbox()
    run_id = started(store, settings, outbox)
    store.claim_step(run_id, "fetch:ice", "w", settings.stall_seconds)
    clock.advance(seconds=50)
    store.refresh_step(run_id, "fetch:ice", "w", settings.stall_seconds)
    store.heartbeat(run_id)  # fetch:ice is working: the queued steps just wait for a free worker
    clock.advance(seconds=20)
    assert stages.watch_runs(store, settings, outbox).resent == []
    clock.advance(seconds=120)  # nothing happened for two minutes: the messages were lost
    report = stages.watch_runs(store, settings, outbox)
    assert sorted(report.resent) == sorted(f"{run_id}:{s}" for s in FETCHES)


def test_a_stage_left_unadvanced_is_advanced(store: Store, settings: Settings) -> None:
    outbox = Outbox()
    run_id = started(store, settings, outbox)
    for step in FETCHES:  # every fetch done, but the last worker died before advancing
        store.claim_step(run_id, step, "w", 60)
        store.finish_step(run_id, step, "w")
    assert stages.watch_runs(store, settings, outbox).advanced == [run_id]
    assert outbox.steps()[-1] == "prepare"
    assert stages.watch_runs(store, settings, outbox).advanced == []


def test_runs_past_their_deadline_or_lost_too_often_fail_with_the_reason(
    store: Store, clock: FakeClock, settings: Settings
) -> None:
    outbox = Outbox()
    late = started(store, settings, outbox)
    clock.advance(seconds=settings.run_deadline_seconds + 1)
    assert stages.watch_runs(store, settings, outbox).failed == [late]
    run = store.get_run(late)
    assert run is not None and run.status == "failed" and run.error
    assert "did not finish within REUNIFY_RUN_DEADLINE_SECONDS" in run.error
    assert "fetch:orr" in run.error
    assert store.lock_holder(stages.RUN_LOCK) is None

    poison = started(store, settings, outbox)  # the lock was freed: a new run may start
    for attempt in range(settings.step_max_attempts):
        assert store.claim_step(poison, "fetch:removals", f"w{attempt}", settings.stall_seconds)
        clock.advance(seconds=settings.stall_seconds + 1)
        store.heartbeat(poison)
    assert stages.watch_runs(store, settings, outbox).failed == [poison]
    run = store.get_run(poison)
    assert run is not None and run.error and "fetch:removals was lost 3 times" in run.error


def test_begin_run_refuses_a_second_run_and_takes_over_a_finished_runs_lock(
    store: Store, clock: FakeClock, settings: Settings
) -> None:
    outbox = Outbox()
    first = started(store, settings, outbox)
    with pytest.raises(RunInProgressError, match=first):
        started(store, settings, outbox)
    store.fail_run(first, "gone")  # ended, but its lock was never released (worker died)
    second = started(store, settings, outbox)
    assert store.lock_holder(stages.RUN_LOCK) is not None
    # A run whose lock expired while it was still marked running is failed by the next one.
    clock.advance(seconds=settings.run_lock_seconds + 1)
    third = started(store, settings, outbox)
    run = store.get_run(second)
    assert run is not None and run.status == "failed" and f"superseded by run {third}" in (run.error or "")


def test_duplicate_and_late_messages_are_skipped(store: Store, settings: Settings) -> None:
    outbox = Outbox()
    run_id = started(store, settings, outbox)
    calls: list[str] = []
    for step in FETCHES:
        stages.execute_step(run_id, step, settings, store, lambda _beat, s=step: calls.append(s), outbox)
    late = stages.execute_step(run_id, "fetch:orr", settings, store, lambda _beat: calls.append("x"), outbox)
    assert (late.ran, late.detail) == (False, "the run is in stage prepare")
    assert calls == list(FETCHES) and outbox.steps().count("prepare") == 1

    def boom(_beat: stages.Heartbeat) -> None:
        raise RuntimeError("bug")

    with pytest.raises(RuntimeError):
        stages.execute_step(run_id, "prepare", settings, store, boom, outbox)
    step = {s.step: s for s in store.list_steps(run_id)}["prepare"]
    assert step.owner is None and not step.done  # given back: the retry can take it at once


# -- the fetch step against the simulator: a redelivery duplicates nothing -------------------------


def test_a_redelivered_fetch_duplicates_no_rows(
    simulator: FeedSimulator, make_settings: Callable[..., Settings], db_url: str
) -> None:
    settings = make_settings(simulator, db_url)
    store = Store(db_url)
    run_id = stages.begin_run(store, settings, "test")
    first = {feed: stages.fetch_feed(run_id, feed, settings, store) for feed in ("orr", "ice")}
    quarantined = len(store.list_quarantine(run_id))
    payloads = {feed: list(store.iter_feed_payloads(run_id, feed)) for feed in ("orr", "ice")}
    # The same tasks again (acks_late redelivery after a lost acknowledgement, or a re-send).
    again = {feed: stages.fetch_feed(run_id, feed, settings, store) for feed in ("orr", "ice")}
    assert again == first
    assert len(store.list_quarantine(run_id)) == quarantined
    assert {feed: list(store.iter_feed_payloads(run_id, feed)) for feed in ("orr", "ice")} == payloads
    ids = [json.loads(p)["childId"] for p in payloads["orr"] if "childId" in json.loads(p)]
    assert len(ids) == len(set(ids)) == first["orr"].valid
    store.close()


def test_a_fetch_keeps_every_quarantined_record_with_its_reason_in_few_writes(
    make_settings: Callable[..., Settings], db_url: str
) -> None:
    # one detainee in a hundred malformed, pages of 50: malformed records on most pages
    world = generate_world(160, seed=11, rates=replace(Rates(), malformed_ice=0.01))
    with FeedSimulator(world.to_payloads()) as simulator:
        settings = make_settings(simulator, db_url, REUNIFY_ICE_PAGE_SIZE="50")
        _fetch_counting_quarantine_writes(settings, db_url)


def _fetch_counting_quarantine_writes(settings: Settings, db_url: str) -> None:
    store = Store(db_url)
    writes: list[int] = []
    add_quarantine = store.add_quarantine

    def counted(run_id: str, feed: str, items: Any) -> int:
        items = list(items)
        writes.append(len(items))
        return add_quarantine(run_id, feed, items)

    store.add_quarantine = counted  # type: ignore[method-assign]
    run_id = stages.begin_run(store, settings, "test")
    counts = stages.fetch_feed(run_id, "ice", settings, store)
    kept = store.list_quarantine(run_id)
    pages = -(-counts.fetched // 50)
    assert counts.quarantined >= 8 and pages >= 20
    assert len(kept) == counts.quarantined == counts.fetched - counts.valid
    assert all(q.reason for q in kept)
    assert writes == [counts.quarantined]  # with the valid records' batch, not one per page
    store.close()


def test_the_records_a_fetch_keeps_are_its_feeds_current_state_in_the_store_incremental_too(
    small_world: World, simulator: FeedSimulator, make_settings: Callable[..., Settings], db_url: str
) -> None:
    settings = make_settings(simulator, db_url)
    store = Store(db_url)

    def fetched(mode: str) -> tuple[dict[str, list[Any]], FeedSnapshot]:
        run_id = stages.begin_run(store, settings, "test", mode=mode)
        kept = {feed: stages.FetchedRecords() for feed in stages.FEEDS}
        for feed, keep in kept.items():
            stages.fetch_feed(run_id, feed, settings, store, keep=keep)
        return {feed: keep.records() for feed, keep in kept.items()}, stages.load_snapshot(run_id, store)

    def by_feed(snap: FeedSnapshot) -> dict[str, list[Any]]:
        return {feed: getattr(snap, stages.FEED_ATTR[feed]) for feed in stages.FEEDS}

    kept, stored = fetched("full")
    assert kept == by_feed(stored) and stored.adults, "a whole fetch keeps what the store holds"
    run_id = store.list_runs(limit=1)[0].id
    stages.reconcile_run(run_id, store, snapshot=stored)
    stages.publish_run(run_id, store)

    simulator.set_payloads(mutate_world(small_world, 0.05, seed=3).to_payloads())
    kept, stored = fetched("incremental")
    run = store.list_runs(limit=1)[0]
    assert run.mode == "incremental" and run.counts["ice"].fetched < len(stored.adults) / 4
    # what was fetched and what was carried forward, together, as the store holds them
    assert kept == by_feed(stored)
    store.close()


# -- the reconciliation through workers: prepare, match per partition, finish ----------------------


def _staged(store: Store, run_id: str) -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]]]:
    results = list(store.iter_results(run_id))
    keys = [min(r["child_record_ids"]) for r in results]
    return results, {key: store.list_candidates(run_id, key) for key in keys}


def test_the_reconciliation_steps_through_the_store_give_the_in_process_results(
    simulator: FeedSimulator, make_settings: Callable[..., Settings], db_url: str
) -> None:
    settings = make_settings(simulator, db_url, REUNIFY_MATCH_PARTITIONS="3")
    store = Store(db_url)
    run_id = stages.begin_run(store, settings, "test")
    for feed in ("orr", "ice", "removals", "dna"):
        stages.fetch_feed(run_id, feed, settings, store)
    # a standing review decision travels with the matching state: reject one child's parent
    stages.reconcile_run(run_id, store)
    linked = next(r for r in store.iter_results(run_id) if r["parent"] and r["parent"]["ice_record_ids"])
    key = min(linked["child_record_ids"])
    store.add_decision(key, linked["parent"]["ice_record_ids"][0], "reject", "ana", "not him")
    stages.reconcile_run(run_id, store)
    expected = _staged(store, run_id)
    changed = next(r for r in expected[0] if r["child_record_ids"] == linked["child_record_ids"])
    assert changed["parent"] != linked["parent"]

    assert stages.prepare_run(run_id, store)["children"] == len(expected[0])
    sizes = [len(json.loads(store.get_artifact(run_id, f"part:{n}"))["children"]) for n in range(3)]
    assert sum(sizes) == len(expected[0]) and min(sizes) > 0
    store.save_results(run_id, [])  # nothing left of the in-process results
    reports: list[tuple[str, str | None, dict[str, int]]] = []
    matched = [
        stages.match_partition(run_id, n, store, progress=lambda *a: reports.append((a[0], a[1], dict(a[2]))))
        for n in range(3)
    ]
    assert [m["linked"] for m in matched] == [m["children"] for m in matched] == sizes
    # each step reports partition i of n and the children linked so far, counts only
    assert {(r[2]["partition"], r[2]["partitions"]) for r in reports} == {(1, 3), (2, 3), (3, 3)}
    assert all(
        r[:2] == ("match", None) and set(r[2]) == {"partition", "partitions", "children", "linked"}
        for r in reports
    )
    assert [r[2]["linked"] for r in reports if r[2]["partition"] == 1][-1] == sizes[0]
    assert stages.finish_run(run_id, store)["children"] == len(expected[0])
    assert _staged(store, run_id) == expected
    stages.publish_run(run_id, store)
    with pytest.raises(StoreError, match="has no 'model'"):
        store.get_artifact(run_id, "model")  # the matching state is gone once published
    store.close()


def test_the_reconciliation_steps_take_impossible_dates_as_unknown_as_the_in_process_run_does(
    simulator: FeedSimulator, make_settings: Callable[..., Settings], db_url: str
) -> None:
    # the match and finish steps re-read records by id: they must screen them as prepare does
    simulator.set_hostile(IMPOSSIBLE_DATE_MODES)
    settings = make_settings(simulator, db_url, REUNIFY_MATCH_PARTITIONS="3")
    store = Store(db_url)
    run_id = stages.begin_run(store, settings, "test")
    for feed in ("orr", "ice", "removals", "dna"):
        stages.fetch_feed(run_id, feed, settings, store)
    stages.reconcile_run(run_id, store)
    expected = _staged(store, run_id)
    planted = {d.record_id for d in snapshot_impossible_dates(stages.load_snapshot(run_id, store), AS_OF)}
    assert len(planted) == 6, planted

    stages.prepare_run(run_id, store)
    store.save_results(run_id, [])
    for n in range(3):
        stages.match_partition(run_id, n, store)
    stages.finish_run(run_id, store)
    assert _staged(store, run_id) == expected
    assert all(
        (r["parent_location"]["days_unresolved"] or 0) >= 0 and (r["age_years"] or 0) >= 0
        for r in expected[0]
    )
    store.close()


def test_a_match_step_before_prepare_fails_with_a_clear_reason(store: Store, settings: Settings) -> None:
    run_id = started(store, settings, Outbox())
    with pytest.raises(StoreError, match=r"has no 'model'.*start a new run"):
        stages.match_partition(run_id, 0, store)
