"""The export object of one child (CONTRACT section 5) and the review decisions reconcile honours."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

# The status vocabulary and the parent's location are the rules' (pipeline.classify); the export
# object names them, and callers find them here too.
from pipeline.classify import RESOLVED_STATES, STATUS_WORDS, STATUSES, ParentLocation

__all__ = [
    "BLOCKED_STATUSES",
    "COHORTS",
    "DECISIONS",
    "RESOLVED_STATES",
    "STATUSES",
    "STATUS_WORDS",
    "ChildResult",
    "ParentInfo",
    "ParentLocation",
    "ReviewDecision",
]

DECISIONS = frozenset({"confirm", "reject"})

#: The statuses of children not yet reunifiable, for a reason the parent's case gives.
BLOCKED_STATUSES: tuple[str, ...] = (
    "parent_removed",
    "parent_in_criminal_custody",
    "safety_concern",
    "not_a_parent",
    "parent_released",
    "no_parent_match",
)
COHORTS: tuple[str, ...] = ("under_5", "5_and_over", "unknown")


@dataclass(frozen=True, slots=True)
class ReviewDecision:
    """A person's verdict on one (child, adult record) pair: ``confirm`` or ``reject``.

    ``child_key`` is :attr:`ChildResult.child_key` (the smallest of the child's record ids);
    ``adult_record_id`` is any ICE or removal record id of the adult.
    """

    child_key: str
    adult_record_id: str
    decision: str
    # Who decided, on which day, and why: when given, reconcile writes them into the evidence.
    who: str = ""
    decided_on: date | None = None
    why: str = ""

    def __post_init__(self) -> None:
        if self.decision not in DECISIONS:
            raise ValueError("decision must be 'confirm' or 'reject'")


@dataclass(slots=True)
class ParentInfo:
    """The adult linked to a child as the parent, with the evidence that decided it."""

    ice_record_ids: list[str]
    removal_record_ids: list[str]
    a_number: str | None
    name: str | None
    match_score: float
    evidence: list[str] = field(default_factory=list)

    def to_export(self) -> dict[str, Any]:
        """The contract's ``parent`` object."""
        return {
            "ice_record_ids": list(self.ice_record_ids),
            "removal_record_ids": list(self.removal_record_ids),
            "a_number": self.a_number,
            "name": self.name,
            "match_score": round(min(1.0, max(0.0, self.match_score)), 4),
            "evidence": list(self.evidence),
        }


@dataclass(slots=True)
class ChildResult:
    """Everything the export says about one child (duplicate records merged), except the run id."""

    child_record_ids: list[str]
    a_number: str | None
    name: str
    date_of_birth: date | None
    age_years: int | None
    cohort: str
    status: str
    reasons: list[str]
    parent: ParentInfo | None
    parent_location: ParentLocation
    needs_review: bool
    #: runner-up parent candidates, best first (not part of the export: stored beside it)
    candidates: list[ParentInfo] = field(default_factory=list)

    @property
    def child_key(self) -> str:
        """The stable key review decisions use: the smallest of the child's record ids."""
        return min(self.child_record_ids)

    def to_export(self, run_id: str) -> dict[str, Any]:
        """The contract's section 5 JSON object for this child."""
        return {
            "child_record_ids": list(self.child_record_ids),
            "a_number": self.a_number,
            "name": self.name,
            "date_of_birth": self.date_of_birth.isoformat() if self.date_of_birth else None,
            "age_years": self.age_years,
            "cohort": self.cohort,
            "status": self.status,
            "reasons": list(self.reasons),
            "parent": self.parent.to_export() if self.parent else None,
            "parent_location": self.parent_location.to_export(),
            "needs_review": self.needs_review,
            "run_id": run_id,
        }
