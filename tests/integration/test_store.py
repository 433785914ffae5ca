"""The results store against real databases: every test runs on SQLite (a temporary file) and on
the local PostgreSQL (a fresh database per test, dropped afterwards).

PostgreSQL tests are skipped, with the reason, when the server does not answer (the shared
``pg_url`` fixture in tests/conftest.py; REUNIFY_TEST_POSTGRES_URL points it at another server).
"""

from __future__ import annotations

import json
import multiprocessing
import time
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from store_clock import T0, FakeClock

from pipeline.errors import StoreError
from pipeline.records import Quarantined
from pipeline.store import FeedCounts, LockHolder, Store
from pipeline.store.engine import SQLITE_PAGE_SIZE
from pipeline.store.migrate import alembic_config, head_revision, upgrade
from pipeline.store.schema import metadata

AS_OF = date(2018, 7, 12)


# -- backends ---------------------------------------------------------------------------------


@pytest.fixture
def make_store(db_url: str, clock: FakeClock) -> Iterator[Callable[..., Store]]:
    """Stores on the test database (closed at the end); they share the fake clock unless told."""
    made: list[Store] = []

    def make(**kwargs: Any) -> Store:
        kwargs.setdefault("clock", clock)
        store = Store(db_url, **kwargs)
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()


@pytest.fixture
def store(make_store: Callable[..., Store]) -> Store:
    return make_store()


def result(child: str, status: str = "eligible", cohort: str = "under_5", **extra: Any) -> dict[str, Any]:
    return {
        "child_record_ids": [child],
        "status": status,
        "cohort": cohort,
        "name": "Jennifer López",
        **extra,
    }


def published(store: Store, children: list[str], **extra: Any) -> str:
    run_id = store.start_run("test", AS_OF)
    store.publish_results(run_id, [result(c, **extra) for c in children])
    return run_id


# -- workers for the multi-process tests (top level: they run in spawned processes) -----------


def _add_records_worker(barrier: Any, url: str, run_id: str, tag: str, ids: list[str], stamp: str) -> int:
    store = Store(url, batch_size=500)
    store.upgrade()
    rows = [(rid, stamp, json.dumps({"id": rid, "by": tag, "at": stamp})) for rid in ids]
    barrier.wait()
    try:
        return store.add_feed_records(run_id, "ice", rows)
    finally:
        store.close()


def _upgrade_worker(barrier: Any, url: str) -> str | None:
    store = Store(url)
    barrier.wait()
    try:
        store.upgrade()
        return store.schema_revision()
    finally:
        store.close()


def _lock_worker(barrier: Any, url: str, owner: str) -> bool:
    store = Store(url)
    store.upgrade()
    barrier.wait()
    try:
        return store.acquire_lock("run", owner, 60)
    finally:
        store.close()


def _entry(fn: Callable[..., Any], barrier: Any, queue: Any, index: int, args: tuple[Any, ...]) -> None:
    try:
        queue.put((index, fn(barrier, *args)))
    except BaseException as exc:
        queue.put((index, exc))
        raise


def run_together(fn: Callable[..., Any], calls: list[tuple[Any, ...]]) -> list[Any]:
    """Run ``fn(barrier, *args)`` for each args in its own spawned process; all start the work at
    the same moment (the barrier); returns their results in order, raising the first failure."""
    ctx = multiprocessing.get_context("spawn")
    barrier, queue = ctx.Barrier(len(calls), timeout=60), ctx.Queue()
    procs = [ctx.Process(target=_entry, args=(fn, barrier, queue, i, args)) for i, args in enumerate(calls)]
    for proc in procs:
        proc.start()
    outcome = dict(queue.get(timeout=120) for _ in procs)
    for proc in procs:
        proc.join(timeout=60)
    for i in range(len(calls)):
        if isinstance(outcome[i], BaseException):
            raise outcome[i]
    assert [proc.exitcode for proc in procs] == [0] * len(procs)
    return [outcome[i] for i in range(len(calls))]


# -- schema ------------------------------------------------------------------------------------


def test_migrations_apply_on_first_use_and_again_harmlessly(make_store: Callable[..., Store]) -> None:
    store = make_store()
    assert store.schema_revision() is None  # nothing touched the database yet
    assert store.list_runs() == []  # first use migrates
    assert store.schema_revision() == head_revision()
    store.upgrade()
    store.upgrade()
    other = make_store()
    other.upgrade()
    assert other.list_runs() == []
    assert other.schema_revision() == head_revision()


def test_migrations_match_the_tables_the_code_uses(store: Store, db_url: str) -> None:
    store.upgrade()
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
    engine.dispose()
    assert diffs == []


#: the revision before ``run_totals`` (its migration counts the runs published before it)
BEFORE_RUN_TOTALS = "0009"


def test_a_runs_totals_are_counted_at_publish_and_for_older_runs_by_their_migration(
    store: Store, db_url: str
) -> None:
    first = store.start_run("test", AS_OF)
    store.publish_results(
        first,
        [result("ORR-1"), result("ORR-2", status="parent_removed"), result("ORR-3", cohort="5_and_over")],
    )
    second = published(store, ["ORR-1", "ORR-7"], status="parent_removed")
    store.publish_results(second, [result("ORR-1", status="parent_removed")])  # redelivery replaces
    totals = {run: store.result_totals(run) for run in (first, second)}
    assert totals[first].children == 3
    assert totals[first].by_status == {"eligible": 2, "parent_removed": 1}
    assert totals[first].by_cohort == {"under_5": 2, "5_and_over": 1}
    assert (totals[second].children, totals[second].by_status) == (1, {"parent_removed": 1})
    assert [(t.run_id, t.children) for t in store.run_totals()] == [(first, 3), (second, 1)]

    engine = sa.create_engine(db_url)  # a store from before: its runs are counted on upgrade
    with engine.begin() as conn:
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, BEFORE_RUN_TOTALS)
    upgrade(engine)
    engine.dispose()
    assert {run: store.result_totals(run) for run in (first, second)} == totals


def test_concurrent_upgrades_from_many_processes(db_url: str) -> None:
    assert run_together(_upgrade_worker, [(db_url,)] * 4) == [head_revision()] * 4


# -- runs --------------------------------------------------------------------------------------


def test_run_lifecycle(store: Store, clock: FakeClock) -> None:
    run_id = store.start_run("cli", AS_OF, deadline=T0 + timedelta(hours=1))
    assert store.start_run("beat", date(2000, 1, 1), run_id=run_id) == run_id  # idempotent
    run = store.get_run(run_id)
    assert run is not None
    assert (run.trigger, run.status, run.as_of, run.started_at, run.deadline) == (
        "cli",
        "running",
        AS_OF,
        T0,
        T0 + timedelta(hours=1),
    )
    assert run.started_at.tzinfo is not None

    clock.advance(minutes=5)
    assert store.set_stage(run_id, "fetch")
    assert store.heartbeat(run_id)
    store.record_feed_counts(run_id, "orr", 10, 9, 1)
    store.record_feed_counts(run_id, "orr", 12, 10, 2)  # overwrite
    store.record_feed_counts(run_id, "ice", 5, 5, 0)
    run = store.get_run(run_id)
    assert run is not None
    assert run.stage == "fetch"
    assert run.heartbeat_at == T0 + timedelta(minutes=5)
    assert run.counts == {"orr": FeedCounts(12, 10, 2), "ice": FeedCounts(5, 5, 0)}
    assert [r.id for r in store.running_runs()] == [run_id]

    clock.advance(minutes=1)
    second = store.start_run("test", AS_OF, run_id="second")
    assert [r.id for r in store.list_runs()] == [second, run_id]
    assert [r.id for r in store.list_runs(limit=1)] == [second]
    assert store.get_run("nope") is None
    assert store.latest_succeeded_run() is None


def test_fail_run_keeps_the_last_good_results(store: Store) -> None:
    good = published(store, ["ORR-1", "ORR-2"])
    bad = store.start_run("test", AS_OF)
    store.add_feed_records(bad, "orr", [("ORR-1", "2018-07-01T00:00:00Z", "{}")])
    assert store.fail_run(bad, "ice feed: token refused")
    assert not store.fail_run(bad, "a second error")  # first error kept
    assert not store.fail_run(good, "late failure")  # a published run stays published

    failed = store.get_run(bad)
    assert failed is not None
    assert (failed.status, failed.error) == ("failed", "ice feed: token refused")
    assert failed.finished_at is not None
    latest = store.latest_succeeded_run()
    assert latest is not None and latest.id == good
    assert [r["child_record_ids"] for r in store.iter_results()] == [["ORR-1"], ["ORR-2"]]
    assert not store.heartbeat(bad)
    assert not store.set_stage(bad, "reconcile")


def test_sweeper_fails_runs_without_heartbeat_or_past_deadline(store: Store, clock: FakeClock) -> None:
    quiet = store.start_run("test", AS_OF, run_id="quiet")
    late = store.start_run("test", AS_OF, run_id="late", deadline=T0 + timedelta(minutes=30))
    alive = store.start_run("test", AS_OF, run_id="alive")
    clock.advance(minutes=10)
    assert store.fail_stale_runs(timedelta(minutes=15), "no heartbeat") == []
    clock.advance(minutes=10)
    store.heartbeat(alive)
    store.heartbeat(late)
    assert store.fail_stale_runs(timedelta(minutes=15), "no heartbeat") == [quiet]
    clock.advance(minutes=11)
    store.heartbeat(alive)
    store.heartbeat(late)
    assert store.fail_stale_runs(timedelta(minutes=15), "stale") == [late]  # past its deadline
    run = store.get_run(quiet)
    assert run is not None and (run.status, run.error) == ("failed", "no heartbeat")
    assert [r.id for r in store.running_runs()] == [alive]


# -- feed records and quarantine -----------------------------------------------------------------


def test_duplicate_record_ids_keep_the_latest(make_store: Callable[..., Store]) -> None:
    store = make_store(batch_size=3)  # duplicates land both within and across batches
    run_id = store.start_run("test", AS_OF)
    rows = [
        ("ORR-2", "2018-06-02T00:00:00Z", '{"v": "2-old"}'),
        ("ORR-1", "2018-06-01T00:00:00Z", '{"v": "1-old"}'),
        ("ORR-2", "2018-06-03T00:00:00Z", '{"v": "2-new"}'),
        ("ORR-1", "2018-05-01T00:00:00Z", '{"v": "1-older"}'),
        ("ORR-3", "", '{"v": "3-first"}'),
        ("ORR-3", "", '{"v": "3-second"}'),  # no update time: the later copy wins
        ("ORR-4", "2018-06-01T00:00:00Z", '{"v": "4"}'),
    ]
    assert store.add_feed_records(run_id, "orr", rows) == 7
    assert store.count_feed_records(run_id, "orr") == 4
    expect = ['{"v": "1-old"}', '{"v": "2-new"}', '{"v": "3-second"}', '{"v": "4"}']
    assert list(store.iter_feed_payloads(run_id, "orr", batch=2)) == expect

    # Again (a redelivered task), plus an older and a newer copy in a later call.
    store.add_feed_records(run_id, "orr", rows)
    store.add_feed_records(
        run_id,
        "orr",
        [
            ("ORR-4", "2018-05-01T00:00:00Z", '{"v": "4-older"}'),
            ("ORR-1", "2018-06-05T00:00:00Z", '{"v": "1-new"}'),
        ],
    )
    expect[0] = '{"v": "1-new"}'
    assert list(store.iter_feed_payloads(run_id, "orr")) == expect
    assert store.count_feed_records(run_id, "ice") == 0

    other = store.start_run("test", AS_OF)
    store.add_feed_records(other, "orr", rows[:1])
    store.clear_feed(run_id, "orr")
    assert store.count_feed_records(run_id, "orr") == 0
    assert store.count_feed_records(other, "orr") == 1


def test_records_need_a_known_run(store: Store) -> None:
    with pytest.raises(StoreError, match="refused the data"):
        store.add_feed_records("no-such-run", "orr", [("ORR-1", "", "{}")])


def test_quarantine(store: Store) -> None:
    run_id = store.start_run("test", AS_OF)
    items = [
        Quarantined("orr", None, "missing childId", '{"firstName": "Ana"}'),
        Quarantined("orr", "ORR-9", "unparseable dateOfBirth", '{"childId": "ORR-9"}'),
    ]
    assert store.add_quarantine(run_id, "orr", items) == 2
    store.add_quarantine(run_id, "ice", [Quarantined("ice", "ICE-1", "bad gender", "{}")])
    assert store.list_quarantine(run_id, "orr") == items
    assert len(store.list_quarantine(run_id)) == 3
    with pytest.raises(StoreError, match="feed"):
        store.add_quarantine(run_id, "orr", [Quarantined("ice", "ICE-2", "x", "{}")])
    store.clear_feed(run_id, "orr")
    assert [q.feed for q in store.list_quarantine(run_id)] == ["ice"]


def test_two_processes_adding_to_one_run_lose_and_duplicate_nothing(db_url: str, store: Store) -> None:
    run_id = store.start_run("test", AS_OF)
    ids_a = [f"ICE-{i:06d}" for i in range(0, 40_000)]
    ids_b = [f"ICE-{i:06d}" for i in range(20_000, 60_000)]  # half overlap, with newer copies
    calls = [
        (db_url, run_id, "a", ids_a, "2018-06-01T00:00:00Z"),
        (db_url, run_id, "b", list(reversed(ids_b)), "2018-06-02T00:00:00Z"),
    ]
    assert run_together(_add_records_worker, calls) == [40_000, 40_000]
    payloads = [json.loads(p) for p in store.iter_feed_payloads(run_id, "ice")]
    assert len(payloads) == store.count_feed_records(run_id, "ice") == 60_000
    assert [p["id"] for p in payloads] == [f"ICE-{i:06d}" for i in range(60_000)]
    assert all(p["by"] == ("a" if int(p["id"][4:]) < 20_000 else "b") for p in payloads)


# -- results -----------------------------------------------------------------------------------


def test_publish_and_read_results(store: Store, clock: FakeClock) -> None:
    assert list(store.iter_results()) == []
    first = published(store, ["ORR-2", "ORR-1"])
    clock.advance(minutes=10)
    run_id = store.start_run("test", AS_OF)
    payload = [result("ORR-3", status="parent_removed", cohort="5_and_over", parent={"name": "Norma García"})]
    assert store.publish_results(run_id, payload) == 1
    assert store.publish_results(run_id, payload) == 1  # redelivery: same outcome

    run = store.latest_succeeded_run()
    assert run is not None
    assert (run.id, run.status, run.results_count) == (run_id, "succeeded", 1)
    assert run.finished_at == T0 + timedelta(minutes=10)
    assert list(store.iter_results()) == payload
    assert store.results_count() == 1
    assert [r["child_record_ids"][0] for r in store.iter_results(first)] == ["ORR-1", "ORR-2"]
    assert store.results_count(first) == 2


def test_publish_is_all_or_nothing(make_store: Callable[..., Store]) -> None:
    store = make_store(batch_size=2)
    good = published(store, ["ORR-1", "ORR-2", "ORR-3"])
    before = list(store.iter_results())

    run_id = store.start_run("test", AS_OF)
    # A result that cannot be serialised.
    with pytest.raises(StoreError, match="cannot be stored"):
        store.publish_results(run_id, [result("ORR-1"), result("ORR-2", reasons={"a set"})])
    # The database refuses a row after earlier batches were written (duplicate child).
    rows = [result(f"ORR-{i}") for i in range(1, 6)] + [result("ORR-2")]
    with pytest.raises(StoreError, match="refused the data"):
        store.publish_results(run_id, rows)
    # A result without the key fields.
    with pytest.raises(StoreError, match="cannot be stored"):
        store.publish_results(run_id, [{"status": "eligible"}])

    run = store.get_run(run_id)
    assert run is not None and (run.status, run.results_count, run.finished_at) == ("running", None, None)
    assert store.results_count(run_id) == 0
    latest = store.latest_succeeded_run()
    assert latest is not None and latest.id == good
    assert list(store.iter_results()) == before

    # A republish of the good run that fails leaves its results as they were.
    with pytest.raises(StoreError):
        store.publish_results(good, [result("ORR-7"), result("ORR-7")])
    assert list(store.iter_results(good)) == before


def test_failed_or_unknown_runs_cannot_be_published(store: Store) -> None:
    run_id = store.start_run("test", AS_OF)
    store.fail_run(run_id, "boom")
    with pytest.raises(StoreError, match="it is failed"):
        store.publish_results(run_id, [result("ORR-1")])
    with pytest.raises(StoreError, match="no such run"):
        store.publish_results("ghost", [result("ORR-1")])
    assert store.results_count(run_id) == 0


def test_staged_results_are_exported_only_once_marked_succeeded(make_store: Callable[..., Store]) -> None:
    store = make_store(batch_size=2)
    good = published(store, ["ORR-1"])
    run_id = store.start_run("test", AS_OF)
    with pytest.raises(StoreError, match="no saved results"):
        store.mark_succeeded(run_id)

    assert store.save_results(run_id, [result("ORR-1"), result("ORR-2"), result("ORR-3")]) == 3
    with pytest.raises(StoreError, match="refused the data"):  # a failing re-save changes nothing
        store.save_results(run_id, [result("ORR-1"), result("ORR-2"), result("ORR-1")])
    assert store.save_results(run_id, [result("ORR-1"), result("ORR-2")]) == 2  # a retry replaces
    staged = store.get_run(run_id)
    assert staged is not None and (staged.status, staged.results_count) == ("running", 2)
    latest = store.latest_succeeded_run()
    assert latest is not None and latest.id == good  # not exported yet
    assert store.results_count() == 1

    assert store.mark_succeeded(run_id) == 2
    assert store.mark_succeeded(run_id) == 2  # redelivery
    assert store.save_results(run_id, [result("ORR-9")]) == 2  # redelivered reconcile: no change
    latest = store.latest_succeeded_run()
    assert latest is not None and (latest.id, latest.results_count) == (run_id, 2)
    assert [r["child_record_ids"][0] for r in store.iter_results()] == ["ORR-1", "ORR-2"]

    doomed = store.start_run("test", AS_OF)
    store.save_results(doomed, [result("ORR-5")])
    store.fail_run(doomed, "publish task lost")
    with pytest.raises(StoreError, match="it is failed"):
        store.mark_succeeded(doomed)
    with pytest.raises(StoreError, match="it is failed"):
        store.save_results(doomed, [result("ORR-5")])
    latest = store.latest_succeeded_run()
    assert latest is not None and latest.id == run_id


# -- locks -------------------------------------------------------------------------------------


def test_lock_excludes_a_second_owner_until_expiry(
    make_store: Callable[..., Store], clock: FakeClock
) -> None:
    store, other = make_store(), make_store()
    assert store.acquire_lock("run", "worker-a", 60)
    assert not other.acquire_lock("run", "worker-b", 60)
    assert store.acquire_lock("run", "worker-a", 60)  # re-entrant for its owner
    assert other.lock_holder("run") == LockHolder("worker-a", T0 + timedelta(seconds=60))
    assert not other.release_lock("run", "worker-b")
    assert not other.refresh_lock("run", "worker-b", 60)

    clock.advance(seconds=50)
    assert store.refresh_lock("run", "worker-a", 60)  # now until T0+110
    clock.advance(seconds=59)
    assert not other.acquire_lock("run", "worker-b", 60)
    clock.advance(seconds=2)
    assert other.lock_holder("run") is None  # expired
    assert other.acquire_lock("run", "worker-b", 60)  # taken over
    assert not store.refresh_lock("run", "worker-a", 60)
    assert not store.release_lock("run", "worker-a")
    holder = store.lock_holder("run")
    assert holder is not None and holder.owner == "worker-b"
    assert other.release_lock("run", "worker-b")
    assert store.lock_holder("run") is None
    assert store.acquire_lock("run", "worker-a", 60)
    assert store.acquire_lock("other-lock", "worker-b", 60)  # locks are independent


def test_lock_has_one_winner_across_processes(db_url: str, store: Store) -> None:
    store.upgrade()
    won = run_together(_lock_worker, [(db_url, f"worker-{i}") for i in range(4)])
    assert sum(won) == 1
    holder = Store(db_url).lock_holder("run")
    assert holder is not None and holder.owner == f"worker-{won.index(True)}"


# -- housekeeping ------------------------------------------------------------------------------


def test_prune_keeps_recent_successes_and_running_runs(store: Store, clock: FakeClock) -> None:
    runs: dict[str, str] = {}
    for name in ("s1", "f1", "s2", "s3", "r1"):
        clock.advance(minutes=1)
        run_id = store.start_run("test", AS_OF, run_id=name)
        store.add_feed_records(run_id, "orr", [(f"ORR-{name}", "", "{}")])
        store.add_quarantine(run_id, "orr", [Quarantined("orr", None, "missing childId", "{}")])
        if name.startswith("s"):
            store.publish_results(run_id, [result(f"ORR-{name}")])
        elif name.startswith("f"):
            store.fail_run(run_id, "boom")
        runs[name] = run_id

    assert store.prune_runs(keep=2) == 3 + 2  # s1: record, quarantine, result; f1: record, quarantine
    for name in ("s1", "f1"):
        assert store.count_feed_records(name, "orr") == 0
        assert store.list_quarantine(name) == []
        assert store.get_run(name) is not None  # history stays
    assert store.results_count("s1") == 0
    for name in ("s2", "s3", "r1"):
        assert store.count_feed_records(name, "orr") == 1
        assert len(store.list_quarantine(name)) == 1
    assert store.results_count("s2") == store.results_count("s3") == 1
    assert store.prune_runs(keep=2) == 0
    assert store.prune_runs(keep=1) == 3
    assert store.results_count() == 1
    with pytest.raises(ValueError):
        store.prune_runs(keep=0)


def test_review_decisions(store: Store, clock: FakeClock) -> None:
    first = store.add_decision("ORR-1", "ICE-1", "confirm", "analyst@hhs", "same event, DNA match")
    clock.advance(minutes=1)
    store.add_decision("ORR-2", "ICE-3", "reject", "analyst@hhs", "DNA exclusion")
    assert [d.decision for d in store.list_decisions()] == ["confirm", "reject"]
    assert store.list_decisions("ORR-1") == [first]
    assert first.decided_at == T0
    with pytest.raises(ValueError):
        store.add_decision("ORR-1", "ICE-1", "maybe", "x", "y")


# -- errors ------------------------------------------------------------------------------------


def test_unreachable_postgres_is_a_store_error_without_password() -> None:
    store = Store("postgresql://reunify:s3cret@127.0.0.1:1/reunify")
    with pytest.raises(StoreError, match="cannot reach the database at") as info:
        store.ping()
    assert "s3cret" not in str(info.value)
    with pytest.raises(StoreError, match="cannot reach"):
        store.list_runs()


def test_unusable_sqlite_path_is_a_store_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="cannot reach"):
        Store(f"sqlite:///{tmp_path / 'missing-dir' / 'x.sqlite3'}").list_runs()


def test_a_new_sqlite_store_has_large_pages_and_an_old_one_keeps_its_own(tmp_path: Path) -> None:
    import sqlite3

    def page_size(path: Path) -> int:
        with sqlite3.connect(path) as conn:
            return int(conn.execute("PRAGMA page_size").fetchone()[0])

    fresh = tmp_path / "new.sqlite3"
    Store(f"sqlite:///{fresh}").list_runs()
    assert page_size(fresh) == SQLITE_PAGE_SIZE != 4096
    # a store made before (SQLite's default pages, WAL) opens, keeps them, and takes records
    old = tmp_path / "old.sqlite3"
    with sqlite3.connect(old) as conn:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("CREATE TABLE placeholder (x)")
    store = Store(f"sqlite:///{old}")
    run = store.start_run("test", AS_OF)
    store.add_feed_records(run, "orr", [("ORR-1", "", "{}")])
    assert store.count_feed_records(run, "orr") == 1
    assert page_size(old) == 4096
    store.close()


def test_unsupported_url_is_a_store_error() -> None:
    with pytest.raises(StoreError, match="unsupported database"):
        Store("mysql://root@localhost/reunify")
    with pytest.raises(StoreError, match="invalid database URL"):
        Store("not a url")


# -- performance -------------------------------------------------------------------------------


def test_bulk_sizes_of_a_20000_child_world_are_fast(store: Store) -> None:
    run_id = store.start_run("test", AS_OF)
    rows = [
        (f"ICE-{i:08d}", "2018-06-29T19:57:00Z", json.dumps({"subject_id": f"ICE-{i:08d}", "pad": "x" * 200}))
        for i in range(300_000)
    ]
    started = time.perf_counter()
    store.add_feed_records(run_id, "ice", rows)
    loaded = time.perf_counter() - started
    results = [result(f"ORR-{i:07d}", parent={"evidence": ["same event"] * 4}) for i in range(20_000)]
    started = time.perf_counter()
    store.publish_results(run_id, results)
    publish = time.perf_counter() - started
    print(f"\n{store.backend}: add_feed_records 300k {loaded:.2f} s, publish_results 20k {publish:.2f} s")
    assert store.count_feed_records(run_id, "ice") == 300_000
    # a guard against row-at-a-time writes (minutes at these sizes), not a timing: bulk writes take
    # about 3.5 / 9.5 s and 1.7 s here on a loaded 2-core machine; the figures are bench/'s to report
    assert loaded < 60 and publish < 20


def test_records_looked_up_by_id_after_a_bulk_load_and_fresh_statistics(store: Store) -> None:
    run_id = store.start_run("test", AS_OF)
    rows = [(f"ICE-{i:08d}", "2018-07-01T00:00:00Z", json.dumps({"id": i})) for i in range(20_000)]
    store.add_feed_records(run_id, "ice", rows)
    store.refresh_statistics()  # the planner learns the new rows (PostgreSQL); a no-op on SQLite
    wanted = [f"ICE-{i:08d}" for i in range(0, 20_000, 7)] + ["ICE-missing"]
    found = store.get_feed_payloads(run_id, "ice", wanted)
    assert sorted(found) == wanted[:-1]
    assert json.loads(found["ICE-00000007"]) == {"id": 7}
    if store.backend == "postgresql":
        with store._read("checking") as conn:
            analysed = conn.exec_driver_sql(
                "SELECT last_analyze FROM pg_stat_user_tables WHERE relname = 'feed_records'"
            ).scalar()
        assert analysed is not None
