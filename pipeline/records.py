"""Typed records, one class per feed, as parsed from the contract's payloads.

Fields keep the values as the agency sent them after light normalisation (A-numbers to nine
digits, dates to ``date``); matching derives its own keys from them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TypeVar

T = TypeVar("T")

MAX_RECORD_ID_CHARS = 255
"""The longest record id, in characters: what the store's id columns hold (a longer id is
malformed, on SQLite as on PostgreSQL, whose ``varchar(255)`` would refuse it)."""


def keep_latest(items: Iterable[tuple[str, str, T]], into: dict[str, tuple[str, T]]) -> None:
    """Fold ``(record_id, updated_at, value)`` items into ``into`` (record id → (updated_at,
    value)) by the contract's rule for a record id seen more than once: the greatest
    ``updated_at`` wins, the later copy on a tie. ``updated_at`` is compared as text (one ISO
    form, ``''`` when the feed has none)."""
    for record_id, updated_at, value in items:
        prev = into.get(record_id)
        if prev is None or updated_at >= prev[0]:
            into[record_id] = (updated_at, value)


@dataclass(frozen=True, slots=True)
class ClaimedChild:
    """A child an adult said they travelled with."""

    name: str
    dob: date | None


@dataclass(frozen=True, slots=True)
class ChildRecord:
    """One ORR record of a child in shelter care."""

    record_id: str
    a_number: str | None
    first_name: str
    last_name: str
    dob: date | None
    sex: str | None
    country: str | None
    facility_id: str | None
    facility_name: str | None
    admitted_at: date | None
    event_id: str | None
    apprehension_date: date | None
    station: str | None
    reported_parent_name: str | None
    reported_parent_relation: str | None
    discharge_date: date | None
    discharge_type: str | None
    updated_at: datetime

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


@dataclass(frozen=True, slots=True)
class AdultRecord:
    """One ICE record of an adult in (or released from) immigration custody."""

    record_id: str
    a_number: str | None
    first_name: str
    last_name: str
    dob: date | None
    sex: str | None
    country: str | None
    custody_status: str | None
    facility_code: str | None
    facility_name: str | None
    custody_as_of: date | None
    event_id: str | None
    apprehension_date: date | None
    station: str | None
    criminal_history: str | None
    medical_hold: bool
    claimed_children: tuple[ClaimedChild, ...] = field(default_factory=tuple)
    updated_at: datetime | None = None

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


@dataclass(frozen=True, slots=True)
class RemovalRecord:
    """One row of the removal list."""

    record_id: str
    a_number: str | None
    first_name: str
    last_name: str
    dob: date | None
    country: str | None
    # None only once screened as impossible (pipeline.dates): parsing requires it
    removal_date: date | None
    port: str | None

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


@dataclass(frozen=True, slots=True)
class DnaResult:
    """One parentage verification result."""

    record_id: str
    adult_a_number: str | None
    child_a_number: str | None
    adult_record_id: str | None
    child_record_id: str | None
    result: str
    reported_at: datetime


@dataclass(frozen=True, slots=True)
class Quarantined:
    """A record that broke the contract, kept with its reason and raw payload."""

    feed: str
    record_id: str | None
    reason: str
    payload: str


@dataclass(slots=True)
class FeedSnapshot:
    """Every valid record of the four feeds, as reconciliation sees them."""

    children: list[ChildRecord] = field(default_factory=list)
    adults: list[AdultRecord] = field(default_factory=list)
    removals: list[RemovalRecord] = field(default_factory=list)
    dna: list[DnaResult] = field(default_factory=list)
