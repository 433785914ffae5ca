"""The results store: one class over SQLAlchemy Core, identical on SQLite and PostgreSQL.

Every public method runs in its own short transaction (bulk loads commit per batch, which is safe
because they are idempotent), so a crash leaves the store consistent and a retried task can simply
call the method again. Errors from the database come out as ``StoreError``.
"""

from __future__ import annotations

import dataclasses
import json
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from functools import partial
from itertools import islice
from typing import Any, TypeVar

import psycopg
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql, sqlite

from pipeline.errors import StoreError
from pipeline.records import Quarantined, keep_latest
from pipeline.store import migrate
from pipeline.store.engine import (
    RETRYABLE_SQLSTATES,
    WRITE_OPTION,
    create_engine,
    normalise_url,
    safe_url,
    sqlstate,
    translated,
)
from pipeline.store.history import HISTORY_COLUMNS, child_key, history_row, search_text
from pipeline.store.models import (
    Acceptance,
    Decision,
    FeedCounts,
    GateCheck,
    HistoryRow,
    LockHolder,
    ResultTotals,
    RunInfo,
    RunTotals,
    StepInfo,
)
from pipeline.store.schema import (
    DECISIONS,
    GATE_OUTCOMES,
    UTCDateTime,
    feed_records,
    locks,
    quarantine,
    result_candidates,
    result_history,
    review_decisions,
    run_acceptances,
    run_artifacts,
    run_feed_counts,
    run_gate_checks,
    run_steps,
    runs,
)
from pipeline.store.schema import results as results_table

DEFAULT_URL = "sqlite:///reunify.sqlite3"
DEFAULT_BATCH = 5000
_RETRIES = 5
_RESULT_COLUMNS = ("run_id", "child_key", "status", "cohort", "payload", "search")

T = TypeVar("T")
_HISTORY_FIELDS = tuple(f.name for f in dataclasses.fields(HistoryRow))
Insert = postgresql.Insert | sqlite.Insert

# Staging table for PostgreSQL bulk loads: COPY into it, then one INSERT .. ON CONFLICT from it.
_STAGE = sa.table(
    "reunify_stage_records",
    sa.column("record_id", sa.Text()),
    sa.column("updated_at", sa.Text()),
    sa.column("payload", sa.Text()),
)
_CREATE_STAGE = (
    "CREATE TEMP TABLE IF NOT EXISTS reunify_stage_records "
    "(record_id text NOT NULL, updated_at text NOT NULL, payload text NOT NULL) ON COMMIT DELETE ROWS"
)


def _chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


def _copy_rows(conn: sa.Connection, sql: str, rows: Iterable[Sequence[Any]]) -> None:
    """COPY rows in through psycopg, in the connection's transaction; errors look like SQLAlchemy's."""
    raw = conn.connection.driver_connection
    assert isinstance(raw, psycopg.Connection)
    try:
        with raw.cursor() as cur, cur.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)
    except psycopg.Error as exc:
        raise sa_exc.DBAPIError.instance(
            sql, None, exc, psycopg.Error, hide_parameters=True, dialect=conn.dialect
        ) from exc


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Store:
    """Runs, their raw feed records and quarantine, published results, locks and review decisions.

    ``Store(url)`` is cheap; the schema is migrated to the newest revision on first use (or by
    ``upgrade()``). One Store per process; it is safe to share between threads.
    """

    def __init__(
        self,
        url: str = DEFAULT_URL,
        *,
        auto_upgrade: bool = True,
        batch_size: int = DEFAULT_BATCH,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        """Connect lazily to ``url`` (sqlite:///path or postgresql+psycopg://user@host/db)."""
        if batch_size < 1:
            raise ValueError("batch_size must be positive")
        self._url = normalise_url(url)
        self._engine = create_engine(self._url)
        self._backend = self._url.get_backend_name()
        self._auto_upgrade = auto_upgrade
        self._upgraded = False
        self._upgrade_lock = threading.Lock()
        self._batch = batch_size
        self._clock = clock
        self._sqlite_upsert: str | None = None

    def __repr__(self) -> str:
        return f"Store({safe_url(self._url)!r})"

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def url(self) -> str:
        """The database URL with the password masked."""
        return safe_url(self._url)

    @property
    def backend(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self._backend

    # -- plumbing ------------------------------------------------------------------------------

    def now(self) -> datetime:
        """The store's clock (timezone-aware UTC): the time its timestamps, leases and deadlines use."""
        return self._now()

    def _now(self) -> datetime:
        now = self._clock()
        if now.tzinfo is None:
            raise StoreError("the store's clock returned a naive datetime")
        return now.astimezone(UTC)

    def _ready(self) -> None:
        if self._upgraded or not self._auto_upgrade:
            return
        with self._upgrade_lock:
            if not self._upgraded:
                self.upgrade()

    @contextmanager
    def _read(self, action: str) -> Iterator[sa.Connection]:
        self._ready()
        with translated(self._url, action), self._engine.connect() as conn:
            yield conn

    @contextmanager
    def _write(self, action: str) -> Iterator[sa.Connection]:
        self._ready()
        with translated(self._url, action), self._engine.connect() as conn:
            conn.execution_options(**{WRITE_OPTION: True})
            with conn.begin():
                yield conn

    def _write_retrying(self, action: str, body: Callable[[sa.Connection], T]) -> T:
        """Run ``body`` in a write transaction, repeating it after a deadlock or serialization failure."""
        for attempt in range(_RETRIES):
            try:
                with self._write(action) as conn:
                    return body(conn)
            except StoreError as exc:
                if attempt + 1 < _RETRIES and sqlstate(exc.__cause__ or exc) in RETRYABLE_SQLSTATES:
                    time.sleep(0.05 * 2**attempt * (1 + random.random()))
                    continue
                raise
        raise AssertionError("unreachable")

    def _insert(self, table: sa.Table) -> Insert:
        return postgresql.insert(table) if self._backend == "postgresql" else sqlite.insert(table)

    # -- schema --------------------------------------------------------------------------------

    def upgrade(self) -> None:
        """Apply pending migrations (safe to call often, and from many processes at once)."""
        with translated(self._url, "applying migrations"):
            migrate.upgrade(self._engine)
        self._upgraded = True

    def schema_revision(self) -> str | None:
        """The migration revision the database is at (None before the first upgrade)."""
        with translated(self._url, "reading the schema revision"), self._engine.connect() as conn:
            return migrate.current_revision(conn)

    def ping(self) -> None:
        """Check that the database answers; raise StoreError saying why not."""
        with translated(self._url, "connecting"), self._engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))

    def close(self) -> None:
        """Close every pooled connection."""
        self._engine.dispose()

    # -- runs ----------------------------------------------------------------------------------

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
    ) -> str:
        """Record a new running run and return its id; with an existing ``run_id`` nothing changes.

        ``mode`` is ``full`` (fetch every feed whole) or ``incremental`` (fetch what changed);
        ``partitions`` is how many slices its matching is split into; ``acceptances`` are
        operators' acceptances ``(feed, who, why)`` of a real drop for this run (one per feed),
        stored with it in one transaction.
        """
        if mode not in ("full", "incremental"):
            raise StoreError(f"run mode must be 'full' or 'incremental', got {mode!r}")
        if partitions < 1:
            raise StoreError(f"a run needs at least one matching partition, got {partitions}")
        run_id = run_id or str(uuid.uuid4())
        now = self._now()
        stmt = (
            self._insert(runs)
            .values(
                id=run_id,
                trigger=trigger,
                status="running",
                as_of=as_of,
                started_at=now,
                heartbeat_at=now,
                deadline=deadline,
                mode=mode,
                partitions=partitions,
            )
            .on_conflict_do_nothing(index_elements=[runs.c.id])
            .returning(runs.c.id)
        )
        accepted = {feed: (who, why) for feed, who, why in acceptances}
        rows = [
            {"run_id": run_id, "feed": feed, "who": who, "why": why, "accepted_at": now}
            for feed, (who, why) in accepted.items()
        ]
        with self._write("starting a run") as conn:
            if conn.execute(stmt).first() is not None and rows:  # a new run, not an existing one
                conn.execute(sa.insert(run_acceptances), rows)
        return run_id

    def set_stage(self, run_id: str, stage: str) -> bool:
        """Note the stage a running run is in (also a heartbeat); False if the run is not running."""
        stmt = (
            sa.update(runs)
            .where(runs.c.id == run_id, runs.c.status == "running")
            .values(stage=stage, heartbeat_at=self._now())
        )
        with self._write("recording a run's stage") as conn:
            return conn.execute(stmt).rowcount == 1

    def heartbeat(self, run_id: str) -> bool:
        """Say the run is alive; False if it is no longer running (e.g. the sweeper failed it)."""
        stmt = (
            sa.update(runs)
            .where(runs.c.id == run_id, runs.c.status == "running")
            .values(heartbeat_at=self._now())
        )
        with self._write("recording a heartbeat") as conn:
            return conn.execute(stmt).rowcount == 1

    def record_feed_counts(self, run_id: str, feed: str, fetched: int, valid: int, quarantined: int) -> bool:
        """Set (overwrite) one feed's counts for a running run; False (nothing written) once the run
        has ended: a fetch thread left behind by a failed run must not change what it recorded."""
        ins = self._insert(run_feed_counts).values(
            run_id=run_id, feed=feed, fetched=fetched, valid=valid, quarantined=quarantined
        )
        stmt = ins.on_conflict_do_update(
            index_elements=[run_feed_counts.c.run_id, run_feed_counts.c.feed],
            set_={
                "fetched": ins.excluded.fetched,
                "valid": ins.excluded.valid,
                "quarantined": ins.excluded.quarantined,
            },
        )
        with self._write("recording feed counts") as conn:
            status = conn.execute(sa.select(runs.c.status).where(runs.c.id == run_id)).scalar()
            if status != "running":
                return False
            conn.execute(stmt)
        return True

    def fail_run(self, run_id: str, error: str, *, refused: bool = False) -> bool:
        """Mark a running run failed with ``error`` (``refused``: by a publish gate); False if it was
        not running. Results stay as they are."""
        stmt = (
            sa.update(runs)
            .where(runs.c.id == run_id, runs.c.status == "running")
            .values(status="failed", error=error, finished_at=self._now(), refused=refused)
        )
        with self._write("failing a run") as conn:
            return conn.execute(stmt).rowcount == 1

    def cancel_run(self, run_id: str, reason: str) -> bool:
        """Mark a running run cancelled (failed, ``cancelled_at`` now) with ``reason``; False if it
        was not running. Results stay as they are: a cancelled run is never published."""
        now = self._now()
        stmt = (
            sa.update(runs)
            .where(runs.c.id == run_id, runs.c.status == "running")
            .values(status="failed", error=reason, finished_at=now, cancelled_at=now)
        )
        with self._write("cancelling a run") as conn:
            return conn.execute(stmt).rowcount == 1

    def fail_quiet_run(self, run_id: str, older_than: timedelta, reason: str) -> bool:
        """Fail a running run only if its heartbeat is older than ``older_than`` (one statement, so a
        run that beat meanwhile is left alone); True if it was failed."""
        now = self._now()
        stmt = (
            sa.update(runs)
            .where(runs.c.id == run_id, runs.c.status == "running", runs.c.heartbeat_at < now - older_than)
            .values(status="failed", error=reason, finished_at=now)
        )
        with self._write("failing a quiet run") as conn:
            return conn.execute(stmt).rowcount == 1

    def fail_stale_runs(self, older_than: timedelta, reason: str) -> list[str]:
        """Fail running runs with no heartbeat for ``older_than`` or past their deadline; their ids."""
        now = self._now()
        stmt = (
            sa.update(runs)
            .where(
                runs.c.status == "running",
                sa.or_(
                    runs.c.heartbeat_at < now - older_than,
                    sa.and_(runs.c.deadline.is_not(None), runs.c.deadline < now),
                ),
            )
            .values(status="failed", error=reason, finished_at=now)
            .returning(runs.c.id)
        )
        with self._write("failing stale runs") as conn:
            return sorted(conn.execute(stmt).scalars())

    def get_run(self, run_id: str) -> RunInfo | None:
        """One run, or None."""
        with self._read("reading a run") as conn:
            found = self._runs(conn, sa.select(runs).where(runs.c.id == run_id))
        return found[0] if found else None

    def list_runs(self, limit: int = 20) -> list[RunInfo]:
        """The latest runs, newest first."""
        stmt = sa.select(runs).order_by(runs.c.started_at.desc(), runs.c.id.desc()).limit(limit)
        with self._read("listing runs") as conn:
            return self._runs(conn, stmt)

    def latest_succeeded_run(self) -> RunInfo | None:
        """The published run the export reads, or None before the first success."""
        stmt = sa.select(runs).where(runs.c.id == self._latest_succeeded_id())
        with self._read("finding the latest successful run") as conn:
            found = self._runs(conn, stmt)
        return found[0] if found else None

    def running_runs(self) -> list[RunInfo]:
        """Runs still marked running, oldest first."""
        stmt = sa.select(runs).where(runs.c.status == "running").order_by(runs.c.started_at, runs.c.id)
        with self._read("listing running runs") as conn:
            return self._runs(conn, stmt)

    @staticmethod
    def _latest_succeeded_id() -> sa.ScalarSelect[str]:
        return (
            sa.select(runs.c.id)
            .where(runs.c.status == "succeeded")
            .order_by(runs.c.finished_at.desc(), runs.c.started_at.desc())
            .limit(1)
            .scalar_subquery()
        )

    @staticmethod
    def _runs(conn: sa.Connection, stmt: sa.Select[Any]) -> list[RunInfo]:
        rows = conn.execute(stmt).mappings().all()
        if not rows:
            return []
        counts: dict[str, dict[str, FeedCounts]] = {row["id"]: {} for row in rows}
        c = run_feed_counts.c
        for crow in conn.execute(
            sa.select(c.run_id, c.feed, c.fetched, c.valid, c.quarantined)
            .where(c.run_id.in_(list(counts)))
            .order_by(c.run_id, c.feed)
        ):
            counts[crow.run_id][crow.feed] = FeedCounts(crow.fetched, crow.valid, crow.quarantined)
        accepted: dict[str, list[Acceptance]] = {run_id: [] for run_id in counts}
        a = run_acceptances.c
        for arow in conn.execute(
            sa.select(run_acceptances).where(a.run_id.in_(list(counts))).order_by(a.run_id, a.feed)
        ).mappings():
            accepted[arow["run_id"]].append(Acceptance(**arow))
        return [
            RunInfo(
                id=row["id"],
                trigger=row["trigger"],
                status=row["status"],
                stage=row["stage"],
                as_of=row["as_of"],
                started_at=row["started_at"],
                heartbeat_at=row["heartbeat_at"],
                deadline=row["deadline"],
                finished_at=row["finished_at"],
                error=row["error"],
                results_count=row["results_count"],
                counts=counts[row["id"]],
                mode=row["mode"],
                partitions=row["partitions"],
                acceptances=tuple(accepted[row["id"]]),
                refused=bool(row["refused"]),
                cancelled_at=row["cancelled_at"],
            )
            for row in rows
        ]

    # -- publish gates: acceptances of a real drop, and the gates' verdicts --------------------

    def save_gate_checks(self, run_id: str, checks: Sequence[GateCheck]) -> bool:
        """Replace a running run's publish-gate verdicts with ``checks`` (a retried publish step
        checks again); False, and nothing written, once the run has ended: the verdicts kept are
        those the run ended on."""
        for check in checks:
            if check.outcome not in GATE_OUTCOMES or check.run_id != run_id:
                raise StoreError(f"gate check {check.gate}/{check.feed} cannot be stored for run {run_id}")
        rows = [dataclasses.asdict(check) for check in checks]

        def body(conn: sa.Connection) -> bool:
            status = conn.execute(sa.select(runs.c.status).where(runs.c.id == run_id)).scalar()
            if status != "running":
                return False
            conn.execute(sa.delete(run_gate_checks).where(run_gate_checks.c.run_id == run_id))
            if rows:
                conn.execute(sa.insert(run_gate_checks), rows)
            return True

        return self._write_retrying("recording gate checks", body)

    def list_gate_checks(self, run_id: str) -> list[GateCheck]:
        """A run's publish-gate verdicts, by gate and feed (empty before its publish step)."""
        g = run_gate_checks.c
        stmt = sa.select(run_gate_checks).where(g.run_id == run_id).order_by(g.gate, g.feed)
        with self._read("reading gate checks") as conn:
            return [GateCheck(**row) for row in conn.execute(stmt).mappings()]

    # -- run steps (the work of a run done by workers) ----------------------------------------

    def mark_sent(self, run_id: str, steps: Sequence[str]) -> None:
        """Note that the messages of ``steps`` of a run are being sent now (creating their rows)."""
        if not steps:
            return
        now = self._now()
        ins = self._insert(run_steps).values(
            [{"run_id": run_id, "step": step, "sent_at": now, "sends": 1, "attempts": 0} for step in steps]
        )
        stmt = ins.on_conflict_do_update(
            index_elements=[run_steps.c.run_id, run_steps.c.step],
            set_={"sent_at": ins.excluded.sent_at, "sends": run_steps.c.sends + 1},
        )
        with self._write("recording sent steps") as conn:
            conn.execute(stmt)

    def resend_step(self, run_id: str, step: str, not_sent_since: datetime) -> bool:
        """Take the right to re-send a step that is not done, not leased by a live worker and not
        sent since ``not_sent_since``; True for exactly one of many concurrent callers."""
        now = self._now()
        s = run_steps.c
        stmt = (
            sa.update(run_steps)
            .where(
                s.run_id == run_id,
                s.step == step,
                s.done_at.is_(None),
                sa.or_(s.lease_until.is_(None), s.lease_until <= now),
                sa.or_(s.sent_at.is_(None), s.sent_at < not_sent_since),
            )
            .values(sent_at=now, sends=s.sends + 1)
        )
        with self._write("re-sending a step") as conn:
            return conn.execute(stmt).rowcount == 1

    def claim_step(self, run_id: str, step: str, owner: str, ttl_seconds: float) -> bool:
        """Take the lease of a step of a running run for ``ttl_seconds``.

        False when the run is not running, the step is done, or another owner holds a live lease:
        the caller must then leave the step alone. Each successful claim counts one attempt.
        """
        if ttl_seconds <= 0:
            raise ValueError("ttl_seconds must be positive")
        now = self._now()
        ins = self._insert(run_steps).values(
            run_id=run_id,
            step=step,
            sent_at=None,
            sends=0,
            owner=owner,
            lease_until=now + timedelta(seconds=ttl_seconds),
            attempts=1,
        )
        s = run_steps.c
        stmt = ins.on_conflict_do_update(
            index_elements=[s.run_id, s.step],
            set_={
                "owner": ins.excluded.owner,
                "lease_until": ins.excluded.lease_until,
                "attempts": s.attempts + 1,
            },
            where=sa.and_(
                s.done_at.is_(None),
                sa.or_(s.lease_until.is_(None), s.lease_until <= now, s.owner == ins.excluded.owner),
            ),
        ).returning(s.owner)

        def body(conn: sa.Connection) -> bool:
            status = conn.execute(sa.select(runs.c.status).where(runs.c.id == run_id)).scalar()
            if status != "running":
                return False
            return conn.execute(stmt).first() is not None

        return self._write_retrying("claiming a step", body)

    def refresh_step(self, run_id: str, step: str, owner: str, ttl_seconds: float) -> bool:
        """Renew our lease of a step for ``ttl_seconds``; False if it is no longer ours (or done)."""
        s = run_steps.c
        stmt = (
            sa.update(run_steps)
            .where(s.run_id == run_id, s.step == step, s.owner == owner, s.done_at.is_(None))
            .values(lease_until=self._now() + timedelta(seconds=ttl_seconds))
        )
        with self._write("renewing a step lease") as conn:
            return conn.execute(stmt).rowcount == 1

    def release_step(self, run_id: str, step: str, owner: str) -> bool:
        """Give up our lease of an unfinished step (it failed and will be retried or re-sent).

        Counts as a send: the retry's message is on its way, so the watchdog waits before re-sending.
        """
        s = run_steps.c
        now = self._now()
        stmt = (
            sa.update(run_steps)
            .where(s.run_id == run_id, s.step == step, s.owner == owner, s.done_at.is_(None))
            .values(owner=None, lease_until=None, sent_at=now)
        )
        with self._write("releasing a step lease") as conn:
            return conn.execute(stmt).rowcount == 1

    def finish_step(self, run_id: str, step: str, owner: str) -> bool:
        """Mark a step done if we still hold it; False if it was done already or taken over."""
        s = run_steps.c
        stmt = (
            sa.update(run_steps)
            .where(s.run_id == run_id, s.step == step, s.owner == owner, s.done_at.is_(None))
            .values(done_at=self._now(), lease_until=None)
        )
        with self._write("finishing a step") as conn:
            return conn.execute(stmt).rowcount == 1

    def list_steps(self, run_id: str) -> list[StepInfo]:
        """The steps of a run, by name."""
        stmt = sa.select(run_steps).where(run_steps.c.run_id == run_id).order_by(run_steps.c.step)
        with self._read("listing run steps") as conn:
            return [StepInfo(**row) for row in conn.execute(stmt).mappings()]

    def advance_stage(self, run_id: str, from_stage: str, to_stage: str, requires: Sequence[str]) -> bool:
        """Move a running run from ``from_stage`` to ``to_stage`` once every step in ``requires`` is
        done. One statement, so among concurrent callers exactly one gets True."""
        s = run_steps.c
        done = (
            sa.select(sa.func.count())
            .select_from(run_steps)
            .where(s.run_id == run_id, s.step.in_(list(requires)), s.done_at.is_not(None))
            .scalar_subquery()
        )
        stmt = (
            sa.update(runs)
            .where(
                runs.c.id == run_id,
                runs.c.status == "running",
                runs.c.stage == from_stage,
                done == len(set(requires)),
            )
            .values(stage=to_stage, heartbeat_at=self._now())
        )
        return self._write_retrying("advancing a run", lambda conn: conn.execute(stmt).rowcount == 1)

    # -- feed records and quarantine -----------------------------------------------------------

    def clear_feed(self, run_id: str, feed: str) -> None:
        """Forget a run's records and quarantine of one feed (before re-fetching it)."""
        with self._write("clearing a feed") as conn:
            for table in (feed_records, quarantine):
                conn.execute(sa.delete(table).where(table.c.run_id == run_id, table.c.feed == feed))

    def add_feed_records(self, run_id: str, feed: str, rows: Iterable[tuple[str, str, str]]) -> int:
        """Store raw records ``(record_id, updated_at, payload_json)``; returns how many rows came in.

        Idempotent and safe from concurrent processes: for a record id seen more than once (in this
        call or an earlier one) the copy with the greatest ``updated_at`` stays, the later copy on a
        tie. ``updated_at`` is compared as text, so give it in one ISO form (UTC, ``Z``), or ``''``
        when the feed has none. Commits every ``batch_size`` rows.
        """
        total = 0
        for chunk in _chunks(rows, self._batch):
            total += len(chunk)
            latest: dict[str, tuple[str, str]] = {}
            keep_latest(((rid, upd or "", payload) for rid, upd, payload in chunk), latest)
            # Sorted keys: concurrent writers lock rows in the same order, so they cannot deadlock.
            batch = [(rid, upd, payload) for rid, (upd, payload) in sorted(latest.items())]
            load = self._load_records_pg if self._backend == "postgresql" else self._load_records_sqlite
            self._write_retrying("adding feed records", partial(load, run_id, feed, batch))
        return total

    def _upsert_records(self, source: Insert) -> Insert:
        return source.on_conflict_do_update(
            index_elements=[feed_records.c.run_id, feed_records.c.feed, feed_records.c.record_id],
            set_={"updated_at": source.excluded.updated_at, "payload": source.excluded.payload},
            # Latest wins, the later copy on a tie; an identical copy is not rewritten (redelivery).
            where=sa.or_(
                source.excluded.updated_at > feed_records.c.updated_at,
                sa.and_(
                    source.excluded.updated_at == feed_records.c.updated_at,
                    source.excluded.payload != feed_records.c.payload,
                ),
            ),
        )

    def _load_records_sqlite(
        self, run_id: str, feed: str, batch: Sequence[tuple[str, str, str]], conn: sa.Connection
    ) -> None:
        # The Core upsert compiled once, then a plain DB-API executemany of tuples: SQLAlchemy's
        # per-row parameter processing would otherwise cost as much as SQLite's own work.
        if self._sqlite_upsert is None:
            compiled = self._upsert_records(sqlite.insert(feed_records)).compile(
                dialect=conn.dialect,
                column_keys=["run_id", "feed", "record_id", "updated_at", "payload"],
            )
            if compiled.positiontup != ["run_id", "feed", "record_id", "updated_at", "payload"]:
                raise AssertionError(f"unexpected upsert parameters {compiled.positiontup}")
            self._sqlite_upsert = str(compiled)
        params = [(run_id, feed, rid, upd, payload) for rid, upd, payload in batch]
        conn.exec_driver_sql(self._sqlite_upsert, params)

    def _load_records_pg(
        self, run_id: str, feed: str, batch: Sequence[tuple[str, str, str]], conn: sa.Connection
    ) -> None:
        conn.exec_driver_sql(_CREATE_STAGE)
        _copy_rows(conn, "COPY reunify_stage_records (record_id, updated_at, payload) FROM STDIN", batch)
        source = sa.select(
            sa.literal(run_id, sa.String()),
            sa.literal(feed, sa.String()),
            _STAGE.c.record_id,
            _STAGE.c.updated_at,
            _STAGE.c.payload,
        ).order_by(_STAGE.c.record_id)
        stmt = postgresql.insert(feed_records).from_select(
            ["run_id", "feed", "record_id", "updated_at", "payload"], source
        )
        conn.execute(self._upsert_records(stmt))

    def add_quarantine(self, run_id: str, feed: str, items: Iterable[Quarantined]) -> int:
        """Keep malformed records of a feed with their reasons; returns how many were added."""
        total = 0
        for chunk in _chunks(items, self._batch):
            rows = []
            for item in chunk:
                if item.feed != feed:
                    raise StoreError(f"quarantined record of feed {item.feed!r} given for feed {feed!r}")
                rows.append(
                    {
                        "run_id": run_id,
                        "feed": feed,
                        "record_id": item.record_id,
                        "reason": item.reason,
                        "payload": item.payload,
                    }
                )
            with self._write("adding quarantined records") as conn:
                conn.execute(sa.insert(quarantine), rows)
            total += len(rows)
        return total

    def iter_feed_payloads(self, run_id: str, feed: str, batch: int = DEFAULT_BATCH) -> Iterator[str]:
        """Stream the payload JSON texts of a run's feed, in record id order, ``batch`` rows at a time."""
        stmt = (
            sa.select(feed_records.c.payload)
            .where(feed_records.c.run_id == run_id, feed_records.c.feed == feed)
            .order_by(feed_records.c.record_id)
            .execution_options(yield_per=batch)
        )
        with self._read("reading feed records") as conn:
            yield from conn.execute(stmt).scalars()

    def count_feed_records(self, run_id: str, feed: str) -> int:
        """How many distinct records of a feed a run holds."""
        stmt = (
            sa.select(sa.func.count())
            .select_from(feed_records)
            .where(feed_records.c.run_id == run_id, feed_records.c.feed == feed)
        )
        with self._read("counting feed records") as conn:
            return int(conn.execute(stmt).scalar_one())

    def feed_high_water(self, run_id: str, feed: str, until: str | None = None) -> str | None:
        """The greatest ``updated_at`` among a run's records of a feed (None when it has none with one),
        counting only those at or before ``until`` (same fixed-width ISO form) when given.

        An incremental fetch asks the feed for what changed at or after this mark. A record dated
        in the future (9999-12-31) must not count (``until``): it would blind every later run.
        """
        stmt = sa.select(sa.func.max(feed_records.c.updated_at)).where(
            feed_records.c.run_id == run_id, feed_records.c.feed == feed, feed_records.c.updated_at != ""
        )
        if until is not None:
            stmt = stmt.where(feed_records.c.updated_at <= until)
        with self._read("reading a feed's high-water mark") as conn:
            value = conn.execute(stmt).scalar()
        return str(value) if value else None

    def carry_forward(self, run_id: str, feed: str, from_run_id: str, until: str | None = None) -> int:
        """Copy into ``run_id`` every record of ``feed`` that ``from_run_id`` held and this run lacks.

        An incremental run fetches only what changed, then carries the rest of the feed's current
        state forward from the last good run, in one INSERT .. SELECT inside the database. Where
        both hold a record, the greater ``updated_at`` stays (the fetched copy on a tie), except
        that an old copy dated after ``until`` (in the future when it was fetched) never replaces
        a fetched one: the agency corrected it.
        """
        fr = feed_records.alias("prev")
        source = sa.select(
            sa.literal(run_id, sa.String()), fr.c.feed, fr.c.record_id, fr.c.updated_at, fr.c.payload
        ).where(fr.c.run_id == from_run_id, fr.c.feed == feed)
        make = postgresql.insert if self._backend == "postgresql" else sqlite.insert
        stmt = make(feed_records).from_select(
            ["run_id", "feed", "record_id", "updated_at", "payload"], source
        )
        newer = stmt.excluded.updated_at > feed_records.c.updated_at
        if until is not None:
            newer = sa.and_(newer, stmt.excluded.updated_at <= until)
        stmt = stmt.on_conflict_do_update(
            index_elements=[feed_records.c.run_id, feed_records.c.feed, feed_records.c.record_id],
            set_={"updated_at": stmt.excluded.updated_at, "payload": stmt.excluded.payload},
            where=newer,
        )
        # SQLAlchemy keeps an INSERT's rowcount only when asked (psycopg's would read -1)
        stmt = stmt.execution_options(preserve_rowcount=True)
        return int(
            self._write_retrying("carrying feed records forward", lambda conn: conn.execute(stmt).rowcount)
        )

    def list_quarantine(self, run_id: str, feed: str | None = None) -> list[Quarantined]:
        """A run's quarantined records (of one feed, or all), in the order they came."""
        q = quarantine.c
        stmt = sa.select(q.feed, q.record_id, q.reason, q.payload).where(q.run_id == run_id).order_by(q.id)
        if feed is not None:
            stmt = stmt.where(q.feed == feed)
        with self._read("listing quarantined records") as conn:
            return [Quarantined(r.feed, r.record_id, r.reason, r.payload) for r in conn.execute(stmt)]

    # -- results -------------------------------------------------------------------------------

    def save_results(self, run_id: str, results: Iterable[dict[str, Any]]) -> int:
        """Stage a running run's results (replacing any staged before) in one transaction; the count.

        Staged results are not exported until ``mark_succeeded``. For a run already succeeded this
        is a no-op returning its published count (a redelivered task); a failed or unknown run is a
        StoreError. If anything fails, nothing changes.
        """
        rows = self._result_rows(run_id, results)

        def body(conn: sa.Connection) -> int:
            status = self._claim(conn, run_id, ("running", "succeeded"), "given results")
            if status == "succeeded":
                published = sa.select(runs.c.results_count).where(runs.c.id == run_id)
                return int(conn.execute(published).scalar_one())
            self._replace_results(conn, run_id, rows)
            conn.execute(sa.update(runs).where(runs.c.id == run_id).values(results_count=len(rows)))
            return len(rows)

        return self._write_retrying("saving results", body)

    def mark_succeeded(self, run_id: str) -> int:
        """Publish a run whose results were saved: from now on the export reads it. Idempotent.

        Returns the number of results. StoreError if the run failed, is unknown, or has no saved results.
        """

        def body(conn: sa.Connection) -> int:
            self._claim(conn, run_id, ("running", "succeeded"), "published")
            staged = conn.execute(sa.select(runs.c.results_count).where(runs.c.id == run_id)).scalar()
            if staged is None:
                raise StoreError(f"run {run_id} cannot be published: it has no saved results")
            return self._mark_succeeded(conn, run_id)

        return self._write_retrying("publishing a run", body)

    def publish_results(self, run_id: str, results: Iterable[dict[str, Any]]) -> int:
        """``save_results`` and ``mark_succeeded`` in one transaction; returns the count.

        Each result is a contract export object; its key is its smallest child record id (the
        ``ChildResult.child_key`` review decisions use). Publishing again
        (redelivery) replaces the results. A failed or unknown run cannot be published. If anything
        fails, nothing changes: the previous good run stays the one the export reads.
        """
        rows = self._result_rows(run_id, results)

        def body(conn: sa.Connection) -> int:
            self._claim(conn, run_id, ("running", "succeeded"), "published")
            self._replace_results(conn, run_id, rows)
            return self._mark_succeeded(conn, run_id)

        return self._write_retrying("publishing results", body)

    @staticmethod
    def _result_rows(
        run_id: str, results: Iterable[dict[str, Any]]
    ) -> list[tuple[str, str, str, str, str, str]]:
        rows: list[tuple[str, str, str, str, str, str]] = []
        for n, result in enumerate(results):
            try:
                key = child_key(result)
                payload = json.dumps(result, ensure_ascii=False, separators=(",", ":"))
                rows.append(
                    (run_id, key, str(result["status"]), str(result["cohort"]), payload, search_text(result))
                )
            except (KeyError, IndexError, TypeError, ValueError) as exc:
                raise StoreError(
                    f"result #{n} of run {run_id} cannot be stored ({type(exc).__name__}: {exc}); "
                    "nothing was written"
                ) from exc
        return rows

    def _claim(self, conn: sa.Connection, run_id: str, allowed: tuple[str, ...], what: str) -> str:
        """Lock the run's row for this transaction if its status allows ``what``; its status."""
        stmt = (
            sa.update(runs)
            .where(runs.c.id == run_id, runs.c.status.in_(allowed))
            .values(heartbeat_at=self._now())
            .returning(runs.c.status)
        )
        status = conn.execute(stmt).scalar()
        if status is None:
            found = conn.execute(sa.select(runs.c.status).where(runs.c.id == run_id)).scalar()
            raise StoreError(
                f"run {run_id} cannot be {what}: " + ("no such run" if found is None else f"it is {found}")
            )
        return str(status)

    def _replace_results(self, conn: sa.Connection, run_id: str, rows: Sequence[tuple[str, ...]]) -> None:
        conn.execute(sa.delete(results_table).where(results_table.c.run_id == run_id))
        self._replace_history(conn, run_id, rows)
        if self._backend == "postgresql":
            _copy_rows(
                conn, "COPY results (run_id, child_key, status, cohort, payload, search) FROM STDIN", rows
            )
            return
        for chunk in _chunks(rows, self._batch):
            conn.execute(
                sa.insert(results_table),
                [dict(zip(_RESULT_COLUMNS, row, strict=True)) for row in chunk],
            )

    def _replace_history(self, conn: sa.Connection, run_id: str, rows: Sequence[tuple[str, ...]]) -> None:
        """The run's ``result_history`` rows, derived from the result rows in the same transaction."""
        conn.execute(sa.delete(result_history).where(result_history.c.run_id == run_id))
        history = (history_row(run_id, json.loads(row[4])) for row in rows)
        if self._backend == "postgresql":
            columns = ", ".join(HISTORY_COLUMNS)
            _copy_rows(
                conn,
                f"COPY result_history ({columns}) FROM STDIN",
                ([h[c] for c in HISTORY_COLUMNS] for h in history),
            )
            return
        for chunk in _chunks(history, self._batch):
            conn.execute(sa.insert(result_history), chunk)

    def _mark_succeeded(self, conn: sa.Connection, run_id: str) -> int:
        counted = sa.select(sa.func.count()).where(results_table.c.run_id == run_id)
        count = int(conn.execute(counted).scalar_one())
        conn.execute(
            sa.update(runs)
            .where(runs.c.id == run_id)
            .values(
                status="succeeded",
                finished_at=sa.func.coalesce(runs.c.finished_at, sa.literal(self._now(), UTCDateTime())),
                results_count=count,
                error=None,
            )
        )
        return count

    def iter_results(self, run_id: str | None = None, batch: int = DEFAULT_BATCH) -> Iterator[dict[str, Any]]:
        """Stream a run's result objects by child key (default: the latest succeeded run; none if none)."""
        target: Any = run_id if run_id is not None else self._latest_succeeded_id()
        stmt = (
            sa.select(results_table.c.payload)
            .where(results_table.c.run_id == target)
            .order_by(results_table.c.child_key)
            .execution_options(yield_per=batch)
        )
        with self._read("reading results") as conn:
            for payload in conn.execute(stmt).scalars():
                yield json.loads(payload)

    def results_count(self, run_id: str | None = None) -> int:
        """How many results a run holds (default: the latest succeeded run)."""
        target: Any = run_id if run_id is not None else self._latest_succeeded_id()
        stmt = sa.select(sa.func.count()).select_from(results_table).where(results_table.c.run_id == target)
        with self._read("counting results") as conn:
            return int(conn.execute(stmt).scalar_one())

    # -- locks ---------------------------------------------------------------------------------

    def acquire_lock(self, name: str, owner: str, ttl_seconds: int) -> bool:
        """Take the lock ``name`` for ``ttl_seconds`` if it is free, expired, or already ours."""
        if ttl_seconds <= 0:
            raise ValueError("ttl_seconds must be positive")
        now = self._now()
        expires_at = now + timedelta(seconds=ttl_seconds)
        ins = self._insert(locks).values(name=name, owner=owner, expires_at=expires_at)
        stmt = ins.on_conflict_do_update(
            index_elements=[locks.c.name],
            set_={"owner": ins.excluded.owner, "expires_at": ins.excluded.expires_at},
            where=sa.or_(locks.c.expires_at <= now, locks.c.owner == ins.excluded.owner),
        ).returning(locks.c.owner)
        # RETURNING gives a row only when the row was inserted or taken over (rowcount of an
        # INSERT is not reliable across drivers).
        with self._write("taking a lock") as conn:
            return conn.execute(stmt).first() is not None

    def refresh_lock(self, name: str, owner: str, ttl_seconds: int) -> bool:
        """Extend our lock to ``ttl_seconds`` from now; False if someone else holds it now."""
        if ttl_seconds <= 0:
            raise ValueError("ttl_seconds must be positive")
        stmt = (
            sa.update(locks)
            .where(locks.c.name == name, locks.c.owner == owner)
            .values(expires_at=self._now() + timedelta(seconds=ttl_seconds))
        )
        with self._write("refreshing a lock") as conn:
            return conn.execute(stmt).rowcount == 1

    def release_lock(self, name: str, owner: str) -> bool:
        """Let go of our lock; False if we did not hold it."""
        stmt = sa.delete(locks).where(locks.c.name == name, locks.c.owner == owner)
        with self._write("releasing a lock") as conn:
            return conn.execute(stmt).rowcount == 1

    def lock_holder(self, name: str) -> LockHolder | None:
        """Who holds the lock and until when; None when it is free or has expired."""
        stmt = sa.select(locks.c.owner, locks.c.expires_at).where(
            locks.c.name == name, locks.c.expires_at > self._now()
        )
        with self._read("reading a lock") as conn:
            row = conn.execute(stmt).first()
        return LockHolder(row.owner, row.expires_at) if row else None

    # -- housekeeping --------------------------------------------------------------------------

    def prune_runs(self, keep: int) -> int:
        """Delete records, quarantine, results and candidates of every run except the ``keep`` latest
        succeeded ones and those still running; run rows and ``result_history`` stay as history.
        Returns the rows deleted."""
        if keep < 1:
            raise ValueError("keep must be at least 1 (the published run)")
        kept = (
            sa.select(runs.c.id)
            .where(runs.c.status == "succeeded")
            .order_by(runs.c.finished_at.desc(), runs.c.started_at.desc())
            .limit(keep)
        )
        doomed = sa.select(runs.c.id).where(runs.c.status != "running", runs.c.id.not_in(kept))
        deleted = 0
        with self._write("pruning old runs") as conn:
            for table in (feed_records, quarantine, results_table, result_candidates, run_artifacts):
                deleted += conn.execute(sa.delete(table).where(table.c.run_id.in_(doomed))).rowcount
        return deleted

    # -- review decisions -------------------------------------------------------------------

    def add_decision(self, child_key: str, adult_key: str, decision: str, who: str, why: str) -> Decision:
        """Record a reviewer's ``confirm`` or ``reject`` of a child-adult link."""
        if decision not in DECISIONS:
            raise ValueError(f"decision must be one of {', '.join(DECISIONS)}, not {decision!r}")
        now = self._now()
        values = {
            "child_key": child_key,
            "adult_key": adult_key,
            "decision": decision,
            "who": who,
            "decided_at": now,
            "why": why,
        }
        with self._write("recording a review decision") as conn:
            new_id = conn.execute(
                sa.insert(review_decisions).values(values).returning(review_decisions.c.id)
            ).scalar_one()
        return Decision(
            id=new_id,
            child_key=child_key,
            adult_key=adult_key,
            decision=decision,
            who=who,
            decided_at=now,
            why=why,
        )

    def list_decisions(self, child_key: str | None = None) -> list[Decision]:
        """Review decisions in the order they were made (of one child, or all)."""
        d = review_decisions.c
        stmt = sa.select(review_decisions).order_by(d.decided_at, d.id)
        if child_key is not None:
            stmt = stmt.where(d.child_key == child_key)
        with self._read("listing review decisions") as conn:
            return [Decision(**row) for row in conn.execute(stmt).mappings()]

    # -- operators' views: history, one child's result, candidates, chosen records ------------

    def succeeded_runs(self, limit: int | None = None) -> list[RunInfo]:
        """Succeeded runs, newest first (all of them, or the ``limit`` latest)."""
        stmt = (
            sa.select(runs)
            .where(runs.c.status == "succeeded")
            .order_by(runs.c.finished_at.desc(), runs.c.started_at.desc())
        )
        if limit is not None:
            stmt = stmt.limit(limit)
        with self._read("listing succeeded runs") as conn:
            return self._runs(conn, stmt)

    def previous_succeeded_run(self, run_id: str) -> RunInfo | None:
        """The succeeded run published just before ``run_id``, or None."""
        runs_ = self.succeeded_runs()
        ids = [r.id for r in runs_]
        if run_id not in ids:
            return None
        i = ids.index(run_id)
        return runs_[i + 1] if i + 1 < len(runs_) else None

    def iter_history(
        self,
        *,
        run_id: str | None = None,
        child_keys: Sequence[str] | None = None,
        parent_keys: Sequence[str] | None = None,
    ) -> Iterator[HistoryRow]:
        """History rows of succeeded runs, oldest run first, then by child key; optionally only one
        run's, or only some children's or parents'."""
        h = result_history.c
        stmt = (
            sa.select(result_history, runs.c.as_of, runs.c.finished_at)
            .join(runs, runs.c.id == h.run_id)
            .where(runs.c.status == "succeeded")
            .order_by(runs.c.finished_at, runs.c.started_at, h.child_key)
        )
        if run_id is not None:
            stmt = stmt.where(h.run_id == run_id)
        if child_keys is not None:
            stmt = stmt.where(h.child_key.in_(list(child_keys)))
        if parent_keys is not None:
            stmt = stmt.where(h.parent_key.in_(list(parent_keys)))
        with self._read("reading result history") as conn:
            for row in conn.execute(stmt.execution_options(yield_per=self._batch)).mappings():
                yield HistoryRow(**{k: row[k] for k in _HISTORY_FIELDS})

    def run_totals(self) -> list[RunTotals]:
        """Per succeeded run, oldest first: children, unresolved parent locations, children per status."""
        h = result_history.c
        stmt = (
            sa.select(h.run_id, h.status, h.resolved, sa.func.count().label("n"))
            .join(runs, runs.c.id == h.run_id)
            .where(runs.c.status == "succeeded")
            .group_by(h.run_id, h.status, h.resolved)
        )
        with self._read("counting result history") as conn:
            counted = conn.execute(stmt).all()
        by_run: dict[str, tuple[int, int, dict[str, int]]] = {}
        for run_id, status, resolved, n in counted:
            total, unresolved, statuses = by_run.get(run_id, (0, 0, {}))
            statuses[status] = statuses.get(status, 0) + int(n)
            by_run[run_id] = (total + int(n), unresolved + (0 if resolved else int(n)), statuses)
        out: list[RunTotals] = []
        for run in reversed(self.succeeded_runs()):
            total, unresolved, statuses = by_run.get(run.id, (0, 0, {}))
            out.append(RunTotals(run.id, run.as_of, run.finished_at, total, unresolved, statuses))
        return out

    # -- monitoring (metrics, status checks): aggregates only, cheap at any size ----------------

    def last_success_by_trigger(self) -> dict[str, datetime]:
        """When the latest succeeded run of each trigger (cli, beat, ...) finished."""
        finished = sa.func.max(runs.c.finished_at)
        stmt = (
            sa.select(runs.c.trigger, finished)
            .where(runs.c.status == "succeeded", runs.c.finished_at.is_not(None))
            .group_by(runs.c.trigger)
        )
        with self._read("reading the last successful runs") as conn:
            return {trigger: at for trigger, at in conn.execute(stmt) if at is not None}

    def result_totals(self, run_id: str) -> ResultTotals:
        """Children per status and cohort, unresolved locations and links needing review in a run's
        results: one GROUP BY over its ``result_history`` rows (their key starts with the run id),
        never a pass over the payloads."""
        h = result_history.c
        stmt = (
            sa.select(h.status, h.cohort, h.resolved, h.needs_review, sa.func.count())
            .where(h.run_id == run_id)
            .group_by(h.status, h.cohort, h.resolved, h.needs_review)
        )
        by_status: dict[str, int] = {}
        by_cohort: dict[str, int] = {}
        cells: dict[str, dict[str, int]] = {}
        children = unresolved = review = 0
        with self._read("counting a run's results") as conn:
            for status, cohort, resolved, needs_review, n in conn.execute(stmt):
                n = int(n)
                by_status[status] = by_status.get(status, 0) + n
                by_cohort[cohort] = by_cohort.get(cohort, 0) + n
                cell = cells.setdefault(cohort, {})
                cell[status] = cell.get(status, 0) + n
                children += n
                unresolved += 0 if resolved else n
                review += n if needs_review else 0
        return ResultTotals(run_id, children, unresolved, review, by_status, by_cohort, cells)

    def find_result(self, record_id: str, run_id: str | None = None) -> dict[str, Any] | None:
        """The export object of the child that holds ORR record ``record_id`` in a run (default: the
        latest succeeded run), or None."""
        target: Any = run_id if run_id is not None else self._latest_succeeded_id()
        r = results_table.c
        exact = sa.select(r.payload).where(r.run_id == target, r.child_key == record_id)
        escaped = record_id.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        fuzzy = sa.select(r.payload).where(r.run_id == target, r.payload.like(f'%"{escaped}"%', escape="\\"))
        with self._read("finding a child's result") as conn:
            payload = conn.execute(exact).scalar()
            if payload is not None:
                found: dict[str, Any] = json.loads(payload)
                return found
            for text in conn.execute(fuzzy).scalars():
                obj: dict[str, Any] = json.loads(text)
                if record_id in obj.get("child_record_ids", ()):
                    return obj
        return None

    def save_candidates(self, run_id: str, candidates: Mapping[str, Sequence[Mapping[str, Any]]]) -> int:
        """Store each child's runner-up parent candidates for a run (replacing any stored before),
        best first; keys are child keys, values objects shaped like the export's ``parent``.
        Returns how many candidates were stored."""
        rows = [
            {
                "run_id": run_id,
                "child_key": key,
                "rank": rank,
                "payload": json.dumps(dict(cand), ensure_ascii=False, separators=(",", ":")),
            }
            for key, cands in candidates.items()
            for rank, cand in enumerate(cands, start=1)
        ]

        def body(conn: sa.Connection) -> int:
            conn.execute(sa.delete(result_candidates).where(result_candidates.c.run_id == run_id))
            for chunk in _chunks(rows, self._batch):
                conn.execute(sa.insert(result_candidates), chunk)
            return len(rows)

        return self._write_retrying("saving parent candidates", body)

    def list_candidates(self, run_id: str, child_key: str) -> list[dict[str, Any]]:
        """A child's runner-up parent candidates in a run, best first (empty when none were stored)."""
        c = result_candidates.c
        stmt = sa.select(c.payload).where(c.run_id == run_id, c.child_key == child_key).order_by(c.rank)
        with self._read("reading parent candidates") as conn:
            return [json.loads(text) for text in conn.execute(stmt).scalars()]

    def refresh_statistics(self) -> None:
        """Have the database re-plan record lookups after a run's bulk load. PostgreSQL's
        autovacuum analyses a new table late: until then a lookup of records by id scans every
        record of the feed (seconds per batch of ids instead of milliseconds). SQLite needs none."""
        if self._backend != "postgresql":
            return
        with self._write("analysing feed records") as conn:
            conn.exec_driver_sql("ANALYZE feed_records")

    def get_feed_payloads(self, run_id: str, feed: str, record_ids: Iterable[str]) -> dict[str, str]:
        """The payload JSON texts of some records of a run's feed, by record id (missing ids left out)."""
        wanted = sorted(set(record_ids))
        out: dict[str, str] = {}
        f = feed_records.c
        with self._read("reading feed records") as conn:
            for chunk in _chunks(wanted, 500):
                stmt = sa.select(f.record_id, f.payload).where(
                    f.run_id == run_id, f.feed == feed, f.record_id.in_(chunk)
                )
                out.update({row.record_id: row.payload for row in conn.execute(stmt)})
        return out

    # -- matching state handed between a run's steps ------------------------------------------

    def put_artifact(self, run_id: str, name: str, body: str) -> None:
        """Store (or replace) one named piece of a run's matching state."""
        a = run_artifacts.c

        def write(conn: sa.Connection) -> None:
            conn.execute(sa.delete(run_artifacts).where(a.run_id == run_id, a.name == name))
            conn.execute(sa.insert(run_artifacts).values(run_id=run_id, name=name, body=body))

        self._write_retrying(f"saving the run's {name}", write)

    def get_artifact(self, run_id: str, name: str) -> str:
        """One named piece of a run's matching state; StoreError when it is not there."""
        a = run_artifacts.c
        with self._read(f"reading the run's {name}") as conn:
            body = conn.execute(sa.select(a.body).where(a.run_id == run_id, a.name == name)).scalar()
        if body is None:
            raise StoreError(
                f"run {run_id} has no {name!r} in the store: the step that writes it has not run "
                "(or the run was pruned); start a new run"
            )
        return str(body)

    def delete_artifacts(self, run_id: str) -> int:
        """Drop a run's matching state (once its results are staged); the rows deleted."""
        with self._write("deleting the run's matching state") as conn:
            return conn.execute(sa.delete(run_artifacts).where(run_artifacts.c.run_id == run_id)).rowcount
