"""One export object (CONTRACT section 5) as the operators' tools read it: a typed, read-only view
built once per row (``ResultRow.of``), so they read ``row.parent_location.resolved`` instead of
``r["parent_location"]["resolved"]``.

The values are the export's own, not converted (dates stay ISO text, ids keep their order): what
a tool prints from a row is what the export says. The store keeps the export objects as JSON
(``Store.iter_results``); ``result_rows`` reads a run's as rows.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pipeline.store.ports import Results


@dataclass(frozen=True, slots=True)
class ParentRow:
    """The export's ``parent``: the adult linked as the child's parent, with the evidence."""

    ice_record_ids: tuple[str, ...]
    removal_record_ids: tuple[str, ...]
    a_number: str | None
    name: str | None
    match_score: float | None
    evidence: tuple[str, ...]

    @property
    def record_ids(self) -> tuple[str, ...]:
        """The adult's ICE record ids, then its removal record ids."""
        return self.ice_record_ids + self.removal_record_ids

    @classmethod
    def of(cls, obj: Mapping[str, Any]) -> ParentRow:
        """The view of one export ``parent`` object."""
        return cls(
            ice_record_ids=tuple(obj.get("ice_record_ids") or ()),
            removal_record_ids=tuple(obj.get("removal_record_ids") or ()),
            a_number=obj.get("a_number"),
            name=obj.get("name"),
            match_score=obj.get("match_score"),
            evidence=tuple(obj.get("evidence") or ()),
        )


@dataclass(frozen=True, slots=True)
class LocationRow:
    """The export's ``parent_location``: where the parent is, and since when (ISO date text)."""

    state: str
    resolved: bool
    facility: str | None
    country: str | None
    since: str | None
    days_unresolved: int | None

    @classmethod
    def of(cls, obj: Mapping[str, Any]) -> LocationRow:
        """The view of one export ``parent_location`` object."""
        return cls(
            state=obj["state"],
            resolved=obj["resolved"],
            facility=obj.get("facility"),
            country=obj.get("country"),
            since=obj.get("since"),
            days_unresolved=obj.get("days_unresolved"),
        )


@dataclass(frozen=True, slots=True)
class ResultRow:
    """One child of a run's results, as exported (dates of birth as ISO text)."""

    child_record_ids: tuple[str, ...]
    a_number: str | None
    name: str | None
    date_of_birth: str | None
    age_years: int | None
    cohort: str
    status: str
    reasons: tuple[str, ...]
    parent: ParentRow | None
    parent_location: LocationRow
    needs_review: bool
    run_id: str

    @property
    def child_key(self) -> str:
        """The child's one key everywhere (store, review decisions, cases): its smallest record id."""
        return str(min(self.child_record_ids))

    @classmethod
    def of(cls, obj: Mapping[str, Any]) -> ResultRow:
        """The view of one export object; KeyError when it lacks a field the contract requires."""
        parent = obj.get("parent")
        return cls(
            child_record_ids=tuple(obj["child_record_ids"]),
            a_number=obj.get("a_number"),
            name=obj.get("name"),
            date_of_birth=obj.get("date_of_birth"),
            age_years=obj.get("age_years"),
            cohort=obj["cohort"],
            status=obj["status"],
            reasons=tuple(obj.get("reasons") or ()),
            parent=ParentRow.of(parent) if parent else None,
            parent_location=LocationRow.of(obj["parent_location"]),
            needs_review=obj.get("needs_review", False),
            run_id=obj.get("run_id", ""),
        )


def result_rows(store: Results, run_id: str | None = None) -> Iterator[ResultRow]:
    """A run's results as rows, by child key (default: the published run)."""
    return (ResultRow.of(obj) for obj in store.iter_results(run_id))
