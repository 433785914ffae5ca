"""Runs: their life (started, staged, beating, failed, cancelled), the runs read back as ``RunInfo``
with their feed counts and acceptances, the publish gates' verdicts, and pruning old runs' data."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from pipeline.errors import StoreError
from pipeline.store.db import Database
from pipeline.store.models import (
    Acceptance,
    FeedCounts,
    GateCheck,
    RunInfo,
)
from pipeline.store.schema import (
    GATE_OUTCOMES,
    feed_records,
    quarantine,
    result_candidates,
    run_acceptances,
    run_artifacts,
    run_feed_counts,
    run_gate_checks,
    runs,
)
from pipeline.store.schema import results as results_table


def latest_succeeded_id() -> sa.ScalarSelect[str]:
    """The id of the published run (the latest succeeded one), as a subquery."""
    return (
        sa.select(runs.c.id)
        .where(runs.c.status == "succeeded")
        .order_by(runs.c.finished_at.desc(), runs.c.started_at.desc())
        .limit(1)
        .scalar_subquery()
    )


def read_runs(conn: sa.Connection, stmt: sa.Select[Any]) -> list[RunInfo]:
    """The runs ``stmt`` selects (whole ``runs`` rows), with their feed counts and acceptances."""
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


class RunRepository:
    """The ``runs`` table and what hangs off one run: feed counts, acceptances, gate checks."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # -- lifecycle ---------------------------------------------------------------------------------

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
        now = self._db.now()
        stmt = (
            self._db.insert(runs)
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
        with self._db.write("starting a run") as conn:
            if conn.execute(stmt).first() is not None and rows:  # a new run, not an existing one
                conn.execute(sa.insert(run_acceptances), rows)
        return run_id

    def set_stage(self, run_id: str, stage: str) -> bool:
        """Note the stage a running run is in (also a heartbeat); False if the run is not running."""
        stmt = (
            sa.update(runs)
            .where(runs.c.id == run_id, runs.c.status == "running")
            .values(stage=stage, heartbeat_at=self._db.now())
        )
        with self._db.write("recording a run's stage") as conn:
            return conn.execute(stmt).rowcount == 1

    def heartbeat(self, run_id: str) -> bool:
        """Say the run is alive; False if it is no longer running (e.g. the sweeper failed it)."""
        stmt = (
            sa.update(runs)
            .where(runs.c.id == run_id, runs.c.status == "running")
            .values(heartbeat_at=self._db.now())
        )
        with self._db.write("recording a heartbeat") as conn:
            return conn.execute(stmt).rowcount == 1

    def record_feed_counts(self, run_id: str, feed: str, fetched: int, valid: int, quarantined: int) -> bool:
        """Set (overwrite) one feed's counts for a running run; False (nothing written) once the run
        has ended: a fetch thread left behind by a failed run must not change what it recorded."""
        ins = self._db.insert(run_feed_counts).values(
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
        with self._db.write("recording feed counts") as conn:
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
            .values(status="failed", error=error, finished_at=self._db.now(), refused=refused)
        )
        with self._db.write("failing a run") as conn:
            return conn.execute(stmt).rowcount == 1

    def cancel_run(self, run_id: str, reason: str) -> bool:
        """Mark a running run cancelled (failed, ``cancelled_at`` now) with ``reason``; False if it
        was not running. Results stay as they are: a cancelled run is never published."""
        now = self._db.now()
        stmt = (
            sa.update(runs)
            .where(runs.c.id == run_id, runs.c.status == "running")
            .values(status="failed", error=reason, finished_at=now, cancelled_at=now)
        )
        with self._db.write("cancelling a run") as conn:
            return conn.execute(stmt).rowcount == 1

    def fail_quiet_run(self, run_id: str, older_than: timedelta, reason: str) -> bool:
        """Fail a running run only if its heartbeat is older than ``older_than`` (one statement, so a
        run that beat meanwhile is left alone); True if it was failed."""
        now = self._db.now()
        stmt = (
            sa.update(runs)
            .where(runs.c.id == run_id, runs.c.status == "running", runs.c.heartbeat_at < now - older_than)
            .values(status="failed", error=reason, finished_at=now)
        )
        with self._db.write("failing a quiet run") as conn:
            return conn.execute(stmt).rowcount == 1

    def fail_stale_runs(self, older_than: timedelta, reason: str) -> list[str]:
        """Fail running runs with no heartbeat for ``older_than`` or past their deadline; their ids."""
        now = self._db.now()
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
        with self._db.write("failing stale runs") as conn:
            return sorted(conn.execute(stmt).scalars())

    # -- reading runs ------------------------------------------------------------------------------

    def get_run(self, run_id: str) -> RunInfo | None:
        """One run, or None."""
        with self._db.read("reading a run") as conn:
            found = read_runs(conn, sa.select(runs).where(runs.c.id == run_id))
        return found[0] if found else None

    def list_runs(self, limit: int = 20) -> list[RunInfo]:
        """The latest runs, newest first."""
        stmt = sa.select(runs).order_by(runs.c.started_at.desc(), runs.c.id.desc()).limit(limit)
        with self._db.read("listing runs") as conn:
            return read_runs(conn, stmt)

    def latest_succeeded_run(self) -> RunInfo | None:
        """The published run the export reads, or None before the first success."""
        stmt = sa.select(runs).where(runs.c.id == latest_succeeded_id())
        with self._db.read("finding the latest successful run") as conn:
            found = read_runs(conn, stmt)
        return found[0] if found else None

    def running_runs(self) -> list[RunInfo]:
        """Runs still marked running, oldest first."""
        stmt = sa.select(runs).where(runs.c.status == "running").order_by(runs.c.started_at, runs.c.id)
        with self._db.read("listing running runs") as conn:
            return read_runs(conn, stmt)

    def succeeded_runs(self, limit: int | None = None) -> list[RunInfo]:
        """Succeeded runs, newest first (all of them, or the ``limit`` latest)."""
        stmt = (
            sa.select(runs)
            .where(runs.c.status == "succeeded")
            .order_by(runs.c.finished_at.desc(), runs.c.started_at.desc())
        )
        if limit is not None:
            stmt = stmt.limit(limit)
        with self._db.read("listing succeeded runs") as conn:
            return read_runs(conn, stmt)

    def previous_succeeded_run(self, run_id: str) -> RunInfo | None:
        """The succeeded run published just before ``run_id``, or None."""
        runs_ = self.succeeded_runs()
        ids = [r.id for r in runs_]
        if run_id not in ids:
            return None
        i = ids.index(run_id)
        return runs_[i + 1] if i + 1 < len(runs_) else None

    # -- publish gates: the gates' verdicts on a run -----------------------------------------------

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

        return self._db.write_retrying("recording gate checks", body)

    def list_gate_checks(self, run_id: str) -> list[GateCheck]:
        """A run's publish-gate verdicts, by gate and feed (empty before its publish step)."""
        g = run_gate_checks.c
        stmt = sa.select(run_gate_checks).where(g.run_id == run_id).order_by(g.gate, g.feed)
        with self._db.read("reading gate checks") as conn:
            return [GateCheck(**row) for row in conn.execute(stmt).mappings()]

    # -- housekeeping ------------------------------------------------------------------------------

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
        with self._db.write("pruning old runs") as conn:
            for table in (feed_records, quarantine, results_table, result_candidates, run_artifacts):
                deleted += conn.execute(sa.delete(table).where(table.c.run_id.in_(doomed))).rowcount
        return deleted
