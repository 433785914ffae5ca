"""An in-memory store for unit tests of services that take only some of the store's roles.

``FakeStore`` plays ``Clock``, ``RunReader``, ``GateVerdicts`` and ``FeedRecordReader``
(``pipeline/store/ports.py``) over plain dicts, with the real store's orderings: enough for the
publish gates (``pipeline.gates.check_publish``) and the fetch plan (``pipeline.incremental``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from datetime import datetime

from pipeline.records import Quarantined
from pipeline.store.models import GateCheck, RunInfo


class FakeStore:
    """Runs, their feed records (id -> (updated_at, payload)) and gate verdicts, in memory."""

    def __init__(self, now: datetime) -> None:
        self.clock = now
        self.runs: dict[str, RunInfo] = {}
        self.records: dict[tuple[str, str], dict[str, tuple[str, str]]] = {}
        self.quarantined: dict[str, list[Quarantined]] = {}
        self.gate_checks: dict[str, list[GateCheck]] = {}

    # -- set-up ----------------------------------------------------------------------------------

    def add_run(self, run: RunInfo, records: dict[str, Iterable[tuple[str, str]]] | None = None) -> RunInfo:
        """Hold ``run`` and, per feed, its records as ``(record_id, updated_at)``."""
        self.runs[run.id] = run
        for feed, rows in (records or {}).items():
            self.records[(run.id, feed)] = {rid: (upd, "{}") for rid, upd in rows}
        return run

    def end_run(self, run_id: str) -> None:
        """The run failed meanwhile (e.g. the watchdog took it)."""
        self.runs[run_id] = replace(self.runs[run_id], status="failed")

    # -- Clock -----------------------------------------------------------------------------------

    def now(self) -> datetime:
        return self.clock

    # -- RunReader -------------------------------------------------------------------------------

    def get_run(self, run_id: str) -> RunInfo | None:
        return self.runs.get(run_id)

    def list_runs(self, limit: int = 20) -> list[RunInfo]:
        return sorted(self.runs.values(), key=lambda r: (r.started_at, r.id), reverse=True)[:limit]

    def latest_succeeded_run(self) -> RunInfo | None:
        return next(iter(self.succeeded_runs(limit=1)), None)

    def running_runs(self) -> list[RunInfo]:
        return sorted(
            (r for r in self.runs.values() if r.status == "running"), key=lambda r: (r.started_at, r.id)
        )

    def succeeded_runs(self, limit: int | None = None) -> list[RunInfo]:
        done = [r for r in self.runs.values() if r.status == "succeeded"]
        done.sort(key=lambda r: (r.finished_at or r.started_at, r.started_at), reverse=True)
        return done if limit is None else done[:limit]

    def previous_succeeded_run(self, run_id: str) -> RunInfo | None:
        ids = [r.id for r in self.succeeded_runs()]
        i = ids.index(run_id) if run_id in ids else len(ids)
        return self.succeeded_runs()[i + 1] if i + 1 < len(ids) else None

    # -- GateVerdicts ----------------------------------------------------------------------------

    def save_gate_checks(self, run_id: str, checks: Sequence[GateCheck]) -> bool:
        run = self.runs.get(run_id)
        if run is None or run.status != "running":
            return False
        self.gate_checks[run_id] = list(checks)
        return True

    def list_gate_checks(self, run_id: str) -> list[GateCheck]:
        return sorted(self.gate_checks.get(run_id, []), key=lambda c: (c.gate, c.feed))

    # -- FeedRecordReader ------------------------------------------------------------------------

    def iter_feed_payloads(self, run_id: str, feed: str, batch: int = 5000) -> Iterator[str]:
        held = self.records.get((run_id, feed), {})
        return (held[rid][1] for rid in sorted(held))

    def count_feed_records(self, run_id: str, feed: str) -> int:
        return len(self.records.get((run_id, feed), {}))

    def feed_high_water(self, run_id: str, feed: str, until: str | None = None) -> str | None:
        stamps = [
            upd
            for upd, _ in self.records.get((run_id, feed), {}).values()
            if upd and (until is None or upd <= until)
        ]
        return max(stamps, default=None)

    def get_feed_payloads(self, run_id: str, feed: str, record_ids: Iterable[str]) -> dict[str, str]:
        held = self.records.get((run_id, feed), {})
        return {rid: held[rid][1] for rid in set(record_ids) if rid in held}

    def list_quarantine(self, run_id: str, feed: str | None = None) -> list[Quarantined]:
        return [q for q in self.quarantined.get(run_id, []) if feed is None or q.feed == feed]
