"""The results store's façade: ``Store``, one object over the repositories of each role.

Callers keep using ``Store(url).start_run(...)``; each public method forwards, with the same name
and signature, to the repository of its role (``runs.py``, ``locks.py``, ``leases.py``,
``feed_records.py``, ``results.py``, ``decisions.py``, ``artifacts.py``, ``queries.py``), all
sharing one ``Database`` (``db.py``: engine, clock, transactions). The roles as Protocols are in
``ports.py``. To add a repository: build it in ``__init__`` and add one ``forward`` line per
method it offers the callers.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime
from typing import TYPE_CHECKING, Any, Concatenate, Generic, ParamSpec, TypeVar, overload

import sqlalchemy as sa
from sqlalchemy.engine import URL

from pipeline.store import ports
from pipeline.store.artifacts import ArtifactRepository
from pipeline.store.db import DEFAULT_BATCH, Database, Insert, copy_rows, utcnow
from pipeline.store.decisions import DecisionRepository
from pipeline.store.feed_records import FeedRecordRepository
from pipeline.store.leases import StepLeaseRepository
from pipeline.store.locks import LockRepository
from pipeline.store.quality import QualityRepository
from pipeline.store.queries import OperatorQueries
from pipeline.store.results import ResultRepository
from pipeline.store.runs import RunRepository

DEFAULT_URL = "sqlite:///reunify.sqlite3"

# The name the store's sibling module cases.py has always imported from here.
_copy_rows = copy_rows

P = ParamSpec("P")
R = TypeVar("R")


class forward(Generic[P, R]):
    """A façade method: calls the method of the same name on the store's repository ``room``."""

    def __init__(self, room: str, method: Callable[Concatenate[Any, P], R]) -> None:
        self.room = room
        self.method = method
        self.__doc__ = method.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        if name != self.method.__name__:
            raise TypeError(
                f"{owner.__name__}.{name} forwards to {self.method.__qualname__}: "
                "a façade method must have the same name as the method it forwards to"
            )

    @overload
    def __get__(self, obj: None, owner: type) -> Callable[Concatenate[Any, P], R]: ...
    @overload
    def __get__(self, obj: object, owner: type) -> Callable[P, R]: ...
    def __get__(self, obj: object | None, owner: type) -> Callable[..., R]:
        if obj is None:
            return self.method
        bound: Callable[P, R] = getattr(getattr(obj, self.room), self.method.__name__)
        return bound


class Store:
    """Runs, their raw feed records and quarantine, published results, locks and review decisions.

    ``Store(url)`` is cheap; the schema is migrated to the newest revision on first use (or by
    ``upgrade()``). One Store per process; it is safe to share between threads. Its repositories
    are attributes (``store.runs``, ``store.results``, ...) for code that wants one role only.
    """

    def __init__(
        self,
        url: str = DEFAULT_URL,
        *,
        auto_upgrade: bool = True,
        batch_size: int = DEFAULT_BATCH,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        """Connect lazily to ``url`` (sqlite:///path or postgresql+psycopg://user@host/db)."""
        self.db = Database(url, auto_upgrade=auto_upgrade, batch_size=batch_size, clock=clock)
        self.runs = RunRepository(self.db)
        self.locks = LockRepository(self.db)
        self.leases = StepLeaseRepository(self.db)
        self.feed_records = FeedRecordRepository(self.db)
        self.results = ResultRepository(self.db)
        self.decisions = DecisionRepository(self.db)
        self.artifacts = ArtifactRepository(self.db)
        self.quality = QualityRepository(self.db)
        self.queries = OperatorQueries(self.db, self.runs)

    def __repr__(self) -> str:
        return f"Store({self.db.safe_url!r})"

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def url(self) -> str:
        """The database URL with the password masked."""
        return self.db.safe_url

    @property
    def backend(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.db.backend

    # -- the connection, for the store's sibling modules (access.py, cases.py, browse.py) ------

    @property
    def _url(self) -> URL:
        return self.db.url

    def _read(self, action: str) -> AbstractContextManager[sa.Connection]:
        return self.db.read(action)

    def _write(self, action: str) -> AbstractContextManager[sa.Connection]:
        return self.db.write(action)

    def _insert(self, table: sa.Table) -> Insert:
        return self.db.insert(table)

    def _now(self) -> datetime:
        return self.db.now()

    # -- schema and connection -------------------------------------------------------------------

    now = forward("db", Database.now)
    upgrade = forward("db", Database.upgrade)
    schema_revision = forward("db", Database.schema_revision)
    ping = forward("db", Database.ping)
    close = forward("db", Database.close)

    # -- runs: their life, read back, the publish gates' verdicts, pruning -----------------------

    start_run = forward("runs", RunRepository.start_run)
    set_stage = forward("runs", RunRepository.set_stage)
    heartbeat = forward("runs", RunRepository.heartbeat)
    record_feed_counts = forward("runs", RunRepository.record_feed_counts)
    fail_run = forward("runs", RunRepository.fail_run)
    cancel_run = forward("runs", RunRepository.cancel_run)
    fail_quiet_run = forward("runs", RunRepository.fail_quiet_run)
    fail_stale_runs = forward("runs", RunRepository.fail_stale_runs)
    get_run = forward("runs", RunRepository.get_run)
    list_runs = forward("runs", RunRepository.list_runs)
    latest_succeeded_run = forward("runs", RunRepository.latest_succeeded_run)
    running_runs = forward("runs", RunRepository.running_runs)
    succeeded_runs = forward("runs", RunRepository.succeeded_runs)
    previous_succeeded_run = forward("runs", RunRepository.previous_succeeded_run)
    save_gate_checks = forward("runs", RunRepository.save_gate_checks)
    list_gate_checks = forward("runs", RunRepository.list_gate_checks)
    prune_runs = forward("runs", RunRepository.prune_runs)

    # -- locks -----------------------------------------------------------------------------------

    acquire_lock = forward("locks", LockRepository.acquire_lock)
    refresh_lock = forward("locks", LockRepository.refresh_lock)
    release_lock = forward("locks", LockRepository.release_lock)
    lock_holder = forward("locks", LockRepository.lock_holder)

    # -- run steps (the work of a run done by workers) and their leases --------------------------

    mark_sent = forward("leases", StepLeaseRepository.mark_sent)
    resend_step = forward("leases", StepLeaseRepository.resend_step)
    claim_step = forward("leases", StepLeaseRepository.claim_step)
    refresh_step = forward("leases", StepLeaseRepository.refresh_step)
    release_step = forward("leases", StepLeaseRepository.release_step)
    finish_step = forward("leases", StepLeaseRepository.finish_step)
    list_steps = forward("leases", StepLeaseRepository.list_steps)
    advance_stage = forward("leases", StepLeaseRepository.advance_stage)

    # -- feed records and quarantine -------------------------------------------------------------

    clear_feed = forward("feed_records", FeedRecordRepository.clear_feed)
    add_feed_records = forward("feed_records", FeedRecordRepository.add_feed_records)
    add_quarantine = forward("feed_records", FeedRecordRepository.add_quarantine)
    carry_forward = forward("feed_records", FeedRecordRepository.carry_forward)
    refresh_statistics = forward("feed_records", FeedRecordRepository.refresh_statistics)
    iter_feed_payloads = forward("feed_records", FeedRecordRepository.iter_feed_payloads)
    count_feed_records = forward("feed_records", FeedRecordRepository.count_feed_records)
    feed_high_water = forward("feed_records", FeedRecordRepository.feed_high_water)
    get_feed_payloads = forward("feed_records", FeedRecordRepository.get_feed_payloads)
    list_quarantine = forward("feed_records", FeedRecordRepository.list_quarantine)
    get_feed_cursor = forward("feed_records", FeedRecordRepository.get_feed_cursor)
    set_feed_cursor = forward("feed_records", FeedRecordRepository.set_feed_cursor)

    # -- results and their runner-up candidates --------------------------------------------------

    save_results = forward("results", ResultRepository.save_results)
    mark_succeeded = forward("results", ResultRepository.mark_succeeded)
    publish_results = forward("results", ResultRepository.publish_results)
    iter_results = forward("results", ResultRepository.iter_results)
    results_count = forward("results", ResultRepository.results_count)
    save_candidates = forward("results", ResultRepository.save_candidates)
    list_candidates = forward("results", ResultRepository.list_candidates)

    # -- review decisions ------------------------------------------------------------------------

    add_decision = forward("decisions", DecisionRepository.add_decision)
    list_decisions = forward("decisions", DecisionRepository.list_decisions)

    # -- the quality sample: confident links drawn at publish, reviewers' verdicts -------------

    draw_quality_sample = forward("quality", QualityRepository.draw_quality_sample)
    quality_sample = forward("quality", QualityRepository.quality_sample)
    add_quality_verdict = forward("quality", QualityRepository.add_quality_verdict)
    quality_verdict_counts = forward("quality", QualityRepository.quality_verdict_counts)

    # -- matching state handed between a run's steps --------------------------------------------

    put_artifact = forward("artifacts", ArtifactRepository.put_artifact)
    get_artifact = forward("artifacts", ArtifactRepository.get_artifact)
    delete_artifacts = forward("artifacts", ArtifactRepository.delete_artifacts)

    # -- operators' views: history, totals, monitoring aggregates, one child's result ------------

    iter_history = forward("queries", OperatorQueries.iter_history)
    run_totals = forward("queries", OperatorQueries.run_totals)
    last_success_by_trigger = forward("queries", OperatorQueries.last_success_by_trigger)
    result_totals = forward("queries", OperatorQueries.result_totals)
    find_result = forward("queries", OperatorQueries.find_result)


__all__ = ["DEFAULT_URL", "Store", "forward"]


if TYPE_CHECKING:  # mypy proves here that the façade plays every role of ports.py

    def _plays_every_role(
        store: Store,
    ) -> tuple[
        ports.Clock,
        ports.RunReader,
        ports.RunLifecycle,
        ports.GateVerdicts,
        ports.Locks,
        ports.StepLeases,
        ports.FeedRecordReader,
        ports.FeedRecordWriter,
        ports.Results,
        ports.Decisions,
        ports.Artifacts,
        ports.OperatorViews,
    ]:
        return (store, store, store, store, store, store, store, store, store, store, store, store)
