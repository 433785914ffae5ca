"""Typed values the store hands back."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import NamedTuple


@dataclass(frozen=True, slots=True)
class FeedCounts:
    """How many records of one feed a run fetched (as served), kept (valid, after de-duplication;
    after an incremental fetch with the records carried forward), and quarantined."""

    fetched: int
    valid: int
    quarantined: int

    def as_dict(self) -> dict[str, int]:
        """The counts by name (progress events, logs)."""
        return {"fetched": self.fetched, "valid": self.valid, "quarantined": self.quarantined}


@dataclass(frozen=True, slots=True)
class Acceptance:
    """An operator's acceptance of a real drop of one feed in one run (``--accept-drop``)."""

    run_id: str
    feed: str
    who: str
    why: str
    accepted_at: datetime


@dataclass(frozen=True, slots=True)
class GateCheck:
    """One publish gate's verdict on one feed of a run (see ``pipeline.gates``).

    ``outcome``: passed, refused (the run is not published), or accepted (it would have refused,
    and an operator accepted the feed's drop for this run). ``measured`` is the gate's fraction
    (None without a baseline), ``observed`` and ``reference`` the two counts it compares.
    """

    run_id: str
    gate: str
    feed: str
    outcome: str
    measured: float | None
    threshold: float
    observed: int
    reference: int | None
    baseline_run_id: str | None
    detail: str
    checked_at: datetime


@dataclass(frozen=True, slots=True)
class RunInfo:
    """One run as the store knows it. Timestamps are timezone-aware UTC."""

    id: str
    trigger: str
    status: str  # running | succeeded | failed (schema.RUN_STATUSES)
    stage: str | None
    as_of: date
    started_at: datetime
    heartbeat_at: datetime
    deadline: datetime | None
    finished_at: datetime | None
    error: str | None
    results_count: int | None
    counts: dict[str, FeedCounts] = field(default_factory=dict)
    mode: str = "full"  # full | incremental
    partitions: int = 1  # matching partitions (steps match:0 ... match:n-1)
    # operators' acceptances of a real drop for this run (reunify run --accept-drop), by feed
    acceptances: tuple[Acceptance, ...] = ()
    # failed because a publish gate refused it (pipeline/gates.py): its results were never published
    refused: bool = False
    # when an operator cancelled it (`reunify cancel`): its status is then failed, its outcome cancelled
    cancelled_at: datetime | None = None

    @property
    def cancelled(self) -> bool:
        """True for a run an operator cancelled (``pipeline.cancel.request_cancel``)."""
        return self.cancelled_at is not None and self.status == "failed"

    @property
    def outcome(self) -> str:
        """``running``, or what became of the run (schema.RUN_OUTCOMES): ``succeeded``, ``failed``,
        ``refused`` (failed by a publish gate) or ``cancelled`` (stopped by an operator)."""
        if self.cancelled:
            return "cancelled"
        return "refused" if self.refused and self.status == "failed" else self.status


@dataclass(frozen=True, slots=True)
class StepInfo:
    """One step of a run executed by workers (``fetch:orr``, ``reconcile``, ``publish``).

    ``owner`` holds the step's lease until ``lease_until`` while a worker works on it; a lease
    that ran out before ``done_at`` means the worker was lost. ``sends`` counts the step's
    messages, ``attempts`` the executions that took its lease.
    """

    run_id: str
    step: str
    sent_at: datetime | None
    sends: int
    owner: str | None
    lease_until: datetime | None
    attempts: int
    done_at: datetime | None

    @property
    def done(self) -> bool:
        return self.done_at is not None

    def leased(self, now: datetime) -> bool:
        """True while a live worker holds the step (its lease has not run out)."""
        return self.owner is not None and self.lease_until is not None and self.lease_until > now

    def lost(self, now: datetime) -> bool:
        """True when a worker took the step and then stopped renewing its lease before finishing."""
        return (
            not self.done
            and self.owner is not None
            and self.lease_until is not None
            and self.lease_until <= now
        )


class LockHolder(NamedTuple):
    """Who holds a named lock, and until when (UTC)."""

    owner: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Decision:
    """A person's review of one proposed parent-child link."""

    id: int
    child_key: str
    adult_key: str
    decision: str  # confirm | reject
    who: str
    decided_at: datetime
    why: str


@dataclass(frozen=True, slots=True)
class HistoryRow:
    """One child's status and parent location in one succeeded run (no personal data)."""

    run_id: str
    as_of: date
    finished_at: datetime | None
    child_key: str
    status: str
    cohort: str
    location_state: str
    resolved: bool
    parent_key: str | None
    location_since: str | None
    days_unresolved: int | None
    match_score: float | None
    needs_review: bool
    facility: str | None = None
    country: str | None = None


@dataclass(frozen=True, slots=True)
class RunTotals:
    """Children per status, and unresolved parent locations, in one succeeded run."""

    run_id: str
    as_of: date
    finished_at: datetime | None
    children: int
    unresolved: int
    by_status: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ResultTotals:
    """What one run's published results add up to (no personal data): children per status and per
    cohort, unresolved parent locations, links needing review."""

    run_id: str
    children: int
    unresolved: int
    needs_review: int
    by_status: dict[str, int] = field(default_factory=dict)
    by_cohort: dict[str, int] = field(default_factory=dict)
    by_cohort_status: dict[str, dict[str, int]] = field(default_factory=dict)  # cohort -> status -> n
