"""``reunify cancel``'s service (``pipeline.cancel.request_cancel``) against real databases (every
test on SQLite and on the local PostgreSQL): what it records, what it refuses, that the steps of a
cancelled run stop, that an in-process run cancelled from another thread stops without publishing,
and that the monitoring takes a cancelled run for neither a failure nor a success. The same through
real Celery workers: tests/e2e/test_cancel_and_progress.py."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import date

import pytest
from store_clock import FakeClock

from pipeline import run as stages
from pipeline.cancel import cancel_reason, request_cancel
from pipeline.errors import NotFoundError, NothingToCancel, RunCancelled
from pipeline.metrics import render_metrics
from pipeline.ops.check import CRITICAL, OK, check_status
from pipeline.settings import Settings
from pipeline.sim.server import FaultConfig, FeedSimulator
from pipeline.store import Store

AS_OF = date(2018, 7, 12)
DAY = 86400.0


class Outbox:
    """Stands in for the broker: remembers what was sent."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    def __call__(self, _run_id: str, steps: Sequence[str]) -> None:
        self.sent.extend(steps)


@pytest.fixture
def store(db_url: str, clock: FakeClock) -> Iterator[Store]:
    with Store(db_url, clock=clock) as s:
        yield s


def test_cancel_marks_the_run_in_progress_cancelled_with_who_and_why_and_frees_the_lock(
    store: Store, make_settings: Callable[..., Settings], simulator: FeedSimulator
) -> None:
    settings = make_settings(simulator)
    run_id = stages.start_distributed(store, settings, "cli", Outbox())
    cancelled = request_cancel(store, None, "ada", "wrong report date")
    assert cancelled.id == run_id and cancelled.status == "failed" and cancelled.cancelled
    assert cancelled.outcome == "cancelled" and cancelled.finished_at is not None
    assert cancelled.error == cancel_reason("ada", "wrong report date")
    assert "cancelled by ada: wrong report date" in (cancelled.error or "")
    assert store.lock_holder(stages.RUN_LOCK) is None
    assert not store.running_runs()
    # the next run starts at once
    again = stages.start_distributed(store, settings, "cli", Outbox())
    assert store.get_run(again) is not None and store.get_run(again).status == "running"  # type: ignore[union-attr]


def test_cancel_refuses_when_nothing_runs_or_the_run_ended_and_names_an_unknown_run(
    store: Store, make_settings: Callable[..., Settings], simulator: FeedSimulator
) -> None:
    settings = make_settings(simulator)
    with pytest.raises(NothingToCancel, match="no run is in progress"):
        request_cancel(store, None, "ada")
    with pytest.raises(NotFoundError, match="not in the store"):
        request_cancel(store, "no-such-run", "ada")
    run_id = stages.start_distributed(store, settings, "cli", Outbox())
    stages.fail_run(run_id, store, "ice feed: token refused")
    with pytest.raises(NothingToCancel, match=rf"run {run_id} has ended already \(failed\)"):
        request_cancel(store, run_id, "ada")
    assert not store.get_run(run_id).cancelled  # type: ignore[union-attr]  # a failure stays one


def test_steps_of_a_cancelled_run_are_skipped_and_nothing_advances(
    store: Store, make_settings: Callable[..., Settings], simulator: FeedSimulator
) -> None:
    settings = make_settings(simulator)
    outbox = Outbox()
    run_id = stages.start_distributed(store, settings, "cli", outbox)
    request_cancel(store, run_id, "ada")
    ran: list[str] = []
    for step in stages.FETCH_STEPS:
        outcome = stages.execute_step(
            run_id, step, settings, store, lambda _beat, s=step: ran.append(s), outbox
        )
        assert not outcome.ran and outcome.detail == "the run was cancelled"
    assert ran == [] and outbox.sent == list(stages.FETCH_STEPS)  # nothing beyond the first sends
    assert all(not s.done and s.attempts == 0 for s in store.list_steps(run_id))


def test_a_step_at_work_when_its_run_is_cancelled_stops_without_marking_itself_done(
    store: Store, make_settings: Callable[..., Settings], simulator: FeedSimulator
) -> None:
    settings = make_settings(simulator)
    outbox = Outbox()
    run_id = stages.start_distributed(store, settings, "cli", outbox)

    def body(beat: stages.Heartbeat) -> None:
        request_cancel(store, run_id, "ada")  # from another shell, while the step works
        beat.beat()  # its next heartbeat finds the run ended
        beat.check()

    with pytest.raises(stages.StepAbandoned, match="the run was cancelled"):
        stages.execute_step(run_id, "fetch:orr", settings, store, body, outbox)
    step = next(s for s in store.list_steps(run_id) if s.step == "fetch:orr")
    assert not step.done and step.owner is None


def test_an_in_process_run_cancelled_from_another_thread_stops_and_keeps_the_last_good_results(
    store: Store, make_settings: Callable[..., Settings], simulator: FeedSimulator
) -> None:
    settings = make_settings(simulator, store.url, REUNIFY_HEARTBEAT_SECONDS="1", REUNIFY_ORR_PAGE_SIZE="10")
    good = stages.run_embedded(settings, store)
    published = list(store.iter_results())
    simulator.set_faults(FaultConfig(latency=0.2))  # 16 ORR pages: several seconds of fetching

    def cancel_when_fetching() -> None:
        for _ in range(200):
            running = store.running_runs()
            if running and running[0].counts:
                request_cancel(store, None, "ada", "testing")
                return
            threading.Event().wait(0.05)

    canceller = threading.Thread(target=cancel_when_fetching)
    canceller.start()
    with pytest.raises(RunCancelled, match="was cancelled by ada: testing") as stopped:
        stages.run_embedded(settings, store)
    canceller.join()
    assert store.latest_succeeded_run().id == good  # type: ignore[union-attr]
    assert list(store.iter_results()) == published
    cancelled = store.get_run(stopped.value.run_id or "")
    assert cancelled is not None and cancelled.outcome == "cancelled"
    assert store.lock_holder(stages.RUN_LOCK) is None


def test_a_cancelled_run_is_neither_a_failure_nor_a_success_to_the_monitoring(
    store: Store, make_settings: Callable[..., Settings], simulator: FeedSimulator, clock: FakeClock
) -> None:
    settings = make_settings(simulator, store.url)
    stages.run_embedded(settings, store)
    clock.advance(seconds=60)
    stages.start_distributed(store, settings, "beat", Outbox())
    cancelled = request_cancel(store, None, "ada")
    result = check_status(store, DAY, 2 * DAY)
    assert result.code == OK and f"last run {cancelled.id} cancelled" in result.message
    metrics = render_metrics(store, settings)[0].decode()
    assert 'reunify_last_run_outcome{outcome="cancelled"} 1.0' in metrics
    assert 'reunify_last_run_outcome{outcome="failed"} 0.0' in metrics
    # a failure before the cancel still counts: the cancel does not hide it
    clock.advance(seconds=60)
    failed = stages.start_distributed(store, settings, "beat", Outbox())
    stages.fail_run(failed, store, "ice feed: token refused")
    clock.advance(seconds=60)
    stages.start_distributed(store, settings, "beat", Outbox())
    request_cancel(store, None, "ada")
    assert check_status(store, DAY, 2 * DAY).code == CRITICAL
