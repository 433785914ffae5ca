"""What operators' tools read across runs: result history and per-run totals, the monitoring
aggregates (cheap at any size) and one child's result."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from pipeline.store.db import Database
from pipeline.store.models import (
    HistoryRow,
    ResultTotals,
    RunTotals,
)
from pipeline.store.runs import RunRepository, latest_succeeded_id
from pipeline.store.schema import (
    result_history,
    run_totals,
    runs,
)
from pipeline.store.schema import results as results_table

_HISTORY_FIELDS = tuple(f.name for f in dataclasses.fields(HistoryRow))


class OperatorQueries:
    """Read-only queries over ``result_history``, ``run_totals``, ``results`` and ``runs``."""

    def __init__(self, db: Database, runs: RunRepository) -> None:
        self._db = db
        self._runs = runs

    # -- history -----------------------------------------------------------------------------------

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
        with self._db.read("reading result history") as conn:
            for row in conn.execute(stmt.execution_options(yield_per=self._db.batch)).mappings():
                yield HistoryRow(**{k: row[k] for k in _HISTORY_FIELDS})

    def run_totals(self) -> list[RunTotals]:
        """Per succeeded run, oldest first: children, unresolved parent locations, children per status
        (from the ``run_totals`` counted at publish)."""
        t = run_totals.c
        stmt = (
            sa.select(t.run_id, t.status, t.resolved, t.children)
            .join(runs, runs.c.id == t.run_id)
            .where(runs.c.status == "succeeded")
        )
        with self._db.read("reading the runs' totals") as conn:
            counted = conn.execute(stmt).all()
        by_run: dict[str, tuple[int, int, dict[str, int]]] = {}
        for run_id, status, resolved, n in counted:
            total, unresolved, statuses = by_run.get(run_id, (0, 0, {}))
            statuses[status] = statuses.get(status, 0) + int(n)
            by_run[run_id] = (total + int(n), unresolved + (0 if resolved else int(n)), statuses)
        out: list[RunTotals] = []
        for run in reversed(self._runs.succeeded_runs()):
            total, unresolved, statuses = by_run.get(run.id, (0, 0, {}))
            out.append(RunTotals(run.id, run.as_of, run.finished_at, total, unresolved, statuses))
        return out

    # -- monitoring: aggregates only ---------------------------------------------------------------

    def last_success_by_trigger(self) -> dict[str, datetime]:
        """When the latest succeeded run of each trigger (cli, beat, ...) finished."""
        finished = sa.func.max(runs.c.finished_at)
        stmt = (
            sa.select(runs.c.trigger, finished)
            .where(runs.c.status == "succeeded", runs.c.finished_at.is_not(None))
            .group_by(runs.c.trigger)
        )
        with self._db.read("reading the last successful runs") as conn:
            return {trigger: at for trigger, at in conn.execute(stmt) if at is not None}

    def result_totals(self, run_id: str) -> ResultTotals:
        """Children per status and cohort, unresolved locations and links needing review in a run's
        results: the few ``run_totals`` rows counted when it was published, never a pass over the
        children."""
        t = run_totals.c
        stmt = sa.select(t.status, t.cohort, t.resolved, t.needs_review, t.children).where(t.run_id == run_id)
        by_status: dict[str, int] = {}
        by_cohort: dict[str, int] = {}
        cells: dict[str, dict[str, int]] = {}
        children = unresolved = review = 0
        with self._db.read("counting a run's results") as conn:
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

    # -- one child ---------------------------------------------------------------------------------

    def find_result(self, record_id: str, run_id: str | None = None) -> dict[str, Any] | None:
        """The export object of the child that holds ORR record ``record_id`` in a run (default: the
        latest succeeded run), or None."""
        target: Any = run_id if run_id is not None else latest_succeeded_id()
        r = results_table.c
        exact = sa.select(r.payload).where(r.run_id == target, r.child_key == record_id)
        escaped = record_id.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        fuzzy = sa.select(r.payload).where(r.run_id == target, r.payload.like(f'%"{escaped}"%', escape="\\"))
        with self._db.read("finding a child's result") as conn:
            payload = conn.execute(exact).scalar()
            if payload is not None:
                found: dict[str, Any] = json.loads(payload)
                return found
            for text in conn.execute(fuzzy).scalars():
                obj: dict[str, Any] = json.loads(text)
                if record_id in obj.get("child_record_ids", ()):
                    return obj
        return None
