"""The store's roles as small Protocols: what a service needs of the store, one role at a time.

``Store`` satisfies every one of them (it forwards to a repository per role, see
``pipeline/store/sql.py``); a service that takes only the roles it uses can be tested against an
in-memory fake of just those (``tests/unit/fake_store.py``). A service needing several roles
names their union as its own Protocol next to it (e.g. ``pipeline.gates.GateStore``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any, Protocol, runtime_checkable

from pipeline.records import Quarantined
from pipeline.store.models import (
    Decision,
    GateCheck,
    HistoryRow,
    LockHolder,
    ResultTotals,
    RunInfo,
    RunTotals,
    StepInfo,
)


@runtime_checkable
class Clock(Protocol):
    """The store's clock: the time its timestamps, leases and deadlines use."""

    def now(self) -> datetime: ...


@runtime_checkable
class RunReader(Protocol):
    """Runs read back (``pipeline/store/runs.py``)."""

    def get_run(self, run_id: str) -> RunInfo | None: ...
    def list_runs(self, limit: int = 20) -> list[RunInfo]: ...
    def latest_succeeded_run(self) -> RunInfo | None: ...
    def running_runs(self) -> list[RunInfo]: ...
    def succeeded_runs(self, limit: int | None = None) -> list[RunInfo]: ...
    def previous_succeeded_run(self, run_id: str) -> RunInfo | None: ...


@runtime_checkable
class RunLifecycle(Protocol):
    """A run's life: started, staged, beating, its feed counts, failed or cancelled."""

    def start_run(
        self,
        trigger: str,
        as_of: date,
        run_id: str | None = None,
        *,
        deadline: datetime | None = None,
        mode: str = "full",
        partitions: int = 1,
        acceptances: Iterable[tuple[str, str, str]] = (),
    ) -> str: ...
    def set_stage(self, run_id: str, stage: str) -> bool: ...
    def heartbeat(self, run_id: str) -> bool: ...
    def record_feed_counts(
        self, run_id: str, feed: str, fetched: int, valid: int, quarantined: int
    ) -> bool: ...
    def fail_run(self, run_id: str, error: str, *, refused: bool = False) -> bool: ...
    def cancel_run(self, run_id: str, reason: str) -> bool: ...
    def fail_quiet_run(self, run_id: str, older_than: timedelta, reason: str) -> bool: ...
    def fail_stale_runs(self, older_than: timedelta, reason: str) -> list[str]: ...


@runtime_checkable
class GateVerdicts(Protocol):
    """The publish gates' verdicts on a run."""

    def save_gate_checks(self, run_id: str, checks: Sequence[GateCheck]) -> bool: ...
    def list_gate_checks(self, run_id: str) -> list[GateCheck]: ...


@runtime_checkable
class Locks(Protocol):
    """Named locks with an owner and an expiry (``pipeline/store/locks.py``)."""

    def acquire_lock(self, name: str, owner: str, ttl_seconds: int) -> bool: ...
    def refresh_lock(self, name: str, owner: str, ttl_seconds: int) -> bool: ...
    def release_lock(self, name: str, owner: str) -> bool: ...
    def lock_holder(self, name: str) -> LockHolder | None: ...


@runtime_checkable
class StepLeases(Protocol):
    """The steps of runs done by workers, and their leases (``pipeline/store/leases.py``)."""

    def mark_sent(self, run_id: str, steps: Sequence[str]) -> None: ...
    def resend_step(self, run_id: str, step: str, not_sent_since: datetime) -> bool: ...
    def claim_step(self, run_id: str, step: str, owner: str, ttl_seconds: float) -> bool: ...
    def refresh_step(self, run_id: str, step: str, owner: str, ttl_seconds: float) -> bool: ...
    def release_step(self, run_id: str, step: str, owner: str) -> bool: ...
    def finish_step(self, run_id: str, step: str, owner: str) -> bool: ...
    def list_steps(self, run_id: str) -> list[StepInfo]: ...
    def advance_stage(self, run_id: str, from_stage: str, to_stage: str, requires: Sequence[str]) -> bool: ...


@runtime_checkable
class FeedRecordReader(Protocol):
    """A run's raw feed records and quarantine read back (``pipeline/store/feed_records.py``)."""

    def iter_feed_payloads(self, run_id: str, feed: str, batch: int = ...) -> Iterator[str]: ...
    def count_feed_records(self, run_id: str, feed: str) -> int: ...
    def feed_high_water(self, run_id: str, feed: str, until: str | None = None) -> str | None: ...
    def get_feed_payloads(self, run_id: str, feed: str, record_ids: Iterable[str]) -> dict[str, str]: ...
    def list_quarantine(self, run_id: str, feed: str | None = None) -> list[Quarantined]: ...


@runtime_checkable
class FeedRecordWriter(Protocol):
    """A run's raw feed records and quarantine written (bulk, idempotent)."""

    def clear_feed(self, run_id: str, feed: str) -> None: ...
    def add_feed_records(self, run_id: str, feed: str, rows: Iterable[tuple[str, str, str]]) -> int: ...
    def add_quarantine(self, run_id: str, feed: str, items: Iterable[Quarantined]) -> int: ...
    def carry_forward(self, run_id: str, feed: str, from_run_id: str, until: str | None = None) -> int: ...
    def refresh_statistics(self) -> None: ...


@runtime_checkable
class Results(Protocol):
    """A run's results staged, published and read back, with the runner-up candidates
    (``pipeline/store/results.py``)."""

    def save_results(self, run_id: str, results: Iterable[dict[str, Any]]) -> int: ...
    def mark_succeeded(self, run_id: str) -> int: ...
    def publish_results(self, run_id: str, results: Iterable[dict[str, Any]]) -> int: ...
    def iter_results(self, run_id: str | None = None, batch: int = ...) -> Iterator[dict[str, Any]]: ...
    def results_count(self, run_id: str | None = None) -> int: ...
    def save_candidates(self, run_id: str, candidates: Mapping[str, Sequence[Mapping[str, Any]]]) -> int: ...
    def list_candidates(self, run_id: str, child_key: str) -> list[dict[str, Any]]: ...


@runtime_checkable
class Decisions(Protocol):
    """Reviewers' decisions on proposed links (``pipeline/store/decisions.py``)."""

    def add_decision(self, child_key: str, adult_key: str, decision: str, who: str, why: str) -> Decision: ...
    def list_decisions(self, child_key: str | None = None) -> list[Decision]: ...


@runtime_checkable
class Artifacts(Protocol):
    """The matching state a run's steps hand on (``pipeline/store/artifacts.py``)."""

    def put_artifact(self, run_id: str, name: str, body: str) -> None: ...
    def get_artifact(self, run_id: str, name: str) -> str: ...
    def delete_artifacts(self, run_id: str, keep: tuple[str, ...] = ()) -> int: ...


@runtime_checkable
class OperatorViews(Protocol):
    """What operators' tools read across runs (``pipeline/store/queries.py``)."""

    def iter_history(
        self,
        *,
        run_id: str | None = None,
        child_keys: Sequence[str] | None = None,
        parent_keys: Sequence[str] | None = None,
    ) -> Iterator[HistoryRow]: ...
    def run_totals(self) -> list[RunTotals]: ...
    def last_success_by_trigger(self) -> dict[str, datetime]: ...
    def result_totals(self, run_id: str) -> ResultTotals: ...
    def find_result(self, record_id: str, run_id: str | None = None) -> dict[str, Any] | None: ...


#: Every role, for the test that pins that ``Store`` plays each of them.
ROLES: tuple[type, ...] = (
    Clock,
    RunReader,
    RunLifecycle,
    GateVerdicts,
    Locks,
    StepLeases,
    FeedRecordReader,
    FeedRecordWriter,
    Results,
    Decisions,
    Artifacts,
    OperatorViews,
)
