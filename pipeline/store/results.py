"""A run's results: staged, published (with their ``result_history`` rows, in one transaction),
read back; and each child's runner-up parent candidates stored beside them."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from pipeline.errors import StoreError
from pipeline.store.db import DEFAULT_BATCH, Database, chunks, copy_rows
from pipeline.store.history import HISTORY_COLUMNS, child_key, history_row, search_text
from pipeline.store.runs import latest_succeeded_id
from pipeline.store.schema import (
    UTCDateTime,
    result_candidates,
    result_history,
    run_totals,
    runs,
)
from pipeline.store.schema import results as results_table

_RESULT_COLUMNS = ("run_id", "child_key", "status", "cohort", "payload", "search")


class ResultRepository:
    """The ``results``, ``result_history`` and ``result_candidates`` tables."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # -- staging and publishing --------------------------------------------------------------------

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

        return self._db.write_retrying("saving results", body)

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

        return self._db.write_retrying("publishing a run", body)

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

        return self._db.write_retrying("publishing results", body)

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
            .values(heartbeat_at=self._db.now())
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
        if self._db.backend == "postgresql":
            copy_rows(
                conn, "COPY results (run_id, child_key, status, cohort, payload, search) FROM STDIN", rows
            )
            return
        for chunk in chunks(rows, self._db.batch):
            conn.execute(
                sa.insert(results_table),
                [dict(zip(_RESULT_COLUMNS, row, strict=True)) for row in chunk],
            )

    def _replace_history(self, conn: sa.Connection, run_id: str, rows: Sequence[tuple[str, ...]]) -> None:
        """The run's ``result_history`` rows, derived from the result rows in the same transaction,
        then its ``run_totals`` counted from them."""
        conn.execute(sa.delete(result_history).where(result_history.c.run_id == run_id))
        conn.execute(sa.delete(run_totals).where(run_totals.c.run_id == run_id))
        self._insert_history(conn, run_id, rows)
        h = result_history.c
        keys = (h.run_id, h.status, h.cohort, h.resolved, h.needs_review)
        counted = sa.select(*keys, sa.func.count()).where(h.run_id == run_id).group_by(*keys)
        columns = ["run_id", "status", "cohort", "resolved", "needs_review", "children"]
        conn.execute(sa.insert(run_totals).from_select(columns, counted))

    def _insert_history(self, conn: sa.Connection, run_id: str, rows: Sequence[tuple[str, ...]]) -> None:
        history = (history_row(run_id, json.loads(row[4])) for row in rows)
        if self._db.backend == "postgresql":
            columns = ", ".join(HISTORY_COLUMNS)
            copy_rows(
                conn,
                f"COPY result_history ({columns}) FROM STDIN",
                ([h[c] for c in HISTORY_COLUMNS] for h in history),
            )
            return
        for chunk in chunks(history, self._db.batch):
            conn.execute(sa.insert(result_history), chunk)

    def _mark_succeeded(self, conn: sa.Connection, run_id: str) -> int:
        counted = sa.select(sa.func.count()).where(results_table.c.run_id == run_id)
        count = int(conn.execute(counted).scalar_one())
        conn.execute(
            sa.update(runs)
            .where(runs.c.id == run_id)
            .values(
                status="succeeded",
                finished_at=sa.func.coalesce(runs.c.finished_at, sa.literal(self._db.now(), UTCDateTime())),
                results_count=count,
                error=None,
            )
        )
        return count

    # -- reading -----------------------------------------------------------------------------------

    def iter_results(self, run_id: str | None = None, batch: int = DEFAULT_BATCH) -> Iterator[dict[str, Any]]:
        """Stream a run's result objects by child key (default: the latest succeeded run; none if none)."""
        target: Any = run_id if run_id is not None else latest_succeeded_id()
        stmt = (
            sa.select(results_table.c.payload)
            .where(results_table.c.run_id == target)
            .order_by(results_table.c.child_key)
            .execution_options(yield_per=batch)
        )
        with self._db.read("reading results") as conn:
            for payload in conn.execute(stmt).scalars():
                yield json.loads(payload)

    def results_count(self, run_id: str | None = None) -> int:
        """How many results a run holds (default: the latest succeeded run)."""
        target: Any = run_id if run_id is not None else latest_succeeded_id()
        stmt = sa.select(sa.func.count()).select_from(results_table).where(results_table.c.run_id == target)
        with self._db.read("counting results") as conn:
            return int(conn.execute(stmt).scalar_one())

    # -- runner-up candidates ----------------------------------------------------------------------

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
            for chunk in chunks(rows, self._db.batch):
                conn.execute(sa.insert(result_candidates), chunk)
            return len(rows)

        return self._db.write_retrying("saving parent candidates", body)

    def list_candidates(self, run_id: str, child_key: str) -> list[dict[str, Any]]:
        """A child's runner-up parent candidates in a run, best first (empty when none were stored)."""
        c = result_candidates.c
        stmt = sa.select(c.payload).where(c.run_id == run_id, c.child_key == child_key).order_by(c.rank)
        with self._db.read("reading parent candidates") as conn:
            return [json.loads(text) for text in conn.execute(stmt).scalars()]
