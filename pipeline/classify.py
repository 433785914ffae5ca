"""Status, parent location, cohort and reasons of one child: the contract's section 4, exactly.

Pure functions over typed records; linking has already chosen the parent (or none). The records
come screened at the report date (``pipeline.dates.screen``): a date that cannot be evidence
(born after the report date, removed in 9999) is None here, so no age, cohort, location or day
count is taken from it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from pipeline.dna import latest_per_pair
from pipeline.normalise import age_years, is_us
from pipeline.records import AdultRecord, ChildRecord, DnaResult, RemovalRecord

REUNIFIED = "reunified_with_parent"
#: Parent locations that count as resolved (the contract's section 4).
RESOLVED_STATES = frozenset({"in_ice_custody", "in_criminal_custody", "with_child"})
#: ICE custody status -> location state
_ICE_STATES = {
    "detained": "in_ice_custody",
    "criminal_custody": "in_criminal_custody",
    "released": "released",
    "removed": "removed",
}


@dataclass(slots=True)
class ParentLocation:
    """Where the parent is, from the latest-dated custody event (CONTRACT section 4)."""

    state: str
    resolved: bool
    facility: str | None = None
    country: str | None = None
    since: date | None = None
    days_unresolved: int | None = None

    def to_export(self) -> dict[str, Any]:
        """The contract's ``parent_location`` object."""
        return {
            "state": self.state,
            "resolved": self.resolved,
            "facility": self.facility,
            "country": self.country,
            "since": self.since.isoformat() if self.since else None,
            "days_unresolved": self.days_unresolved,
        }


@dataclass(frozen=True, slots=True)
class ParentFacts:
    """The linked adult's records as classification needs them."""

    ice: Sequence[AdultRecord]
    removals: Sequence[RemovalRecord]
    dna_exclusion: bool = False


def _reunified(children: Sequence[ChildRecord]) -> ChildRecord | None:
    hits = [c for c in children if c.discharge_type == REUNIFIED]
    return max(hits, key=lambda c: (c.discharge_date or date.min, c.record_id)) if hits else None


def location(children: Sequence[ChildRecord], parent: ParentFacts | None, as_of: date) -> ParentLocation:
    """The parent's location: with the child when reunified; unknown without a parent (or after a
    DNA exclusion); otherwise the latest-dated custody event among all the parent's records, a
    removal winning a tie with an ICE record of the same date."""
    reunion = _reunified(children)
    if reunion is not None:
        return ParentLocation("with_child", True, None, None, reunion.discharge_date, 0)
    if parent is None or parent.dna_exclusion:
        return ParentLocation("unknown", False, None, None, None, _days_since_separation(children, as_of))
    # (date, tie rank, ...) -- removal rank 2 beats any ICE record of the same date. An event
    # without a date (none given, or one that is not evidence: pipeline.dates) ranks below every
    # dated one: it places the parent only when nothing dated does.
    events: list[tuple[date, int, str, str | None, str | None]] = []
    for rem in parent.removals:
        events.append((rem.removal_date or date.min, 2, "removed", None, rem.country))
    for rec in parent.ice:
        state = _ICE_STATES.get(rec.custody_status or "")
        if state is None:
            continue
        facility = None if state in ("released", "removed") else (rec.facility_name or rec.facility_code)
        country = rec.country if state == "removed" else None
        events.append((rec.custody_as_of or date.min, 1, state, facility, country))
    if not events:
        return ParentLocation("unknown", False, None, None, None, _days_since_separation(children, as_of))
    when, _, state, facility, country = max(events, key=lambda e: (e[0], e[1], e[2]))
    since = None if when == date.min else when
    resolved = state in RESOLVED_STATES
    days = 0 if resolved else ((as_of - since).days if since else None)
    return ParentLocation(state, resolved, facility, country, since, days)


def _days_since_separation(children: Sequence[ChildRecord], as_of: date) -> int | None:
    starts = [d for c in children for d in (c.apprehension_date, c.admitted_at) if d]
    return (as_of - min(starts)).days if starts else None


def safety_flags(parent: ParentFacts | None) -> tuple[bool, bool]:
    """(serious criminal history, communicable disease) over every ICE record of the parent."""
    if parent is None:
        return False, False
    serious = any(r.criminal_history == "serious" for r in parent.ice)
    disease = any(r.medical_hold for r in parent.ice)
    return serious, disease


@dataclass(frozen=True, slots=True)
class StatusFacts:
    """What the status rules look at for one child."""

    #: a record of the child has discharge type ``reunified_with_parent``
    reunified: bool
    #: a record of the child has a discharge type (any)
    discharged: bool
    #: a parent was linked (a DNA exclusion still names the adult)
    linked: bool
    #: a DNA result for the linked adult and this child says ``exclusion``
    dna_exclusion: bool
    #: the parent's location state (``unknown`` without a parent)
    location: str
    #: an ICE record of the parent has ``criminal_history: serious`` or ``medical_hold: true``
    safety: bool


@dataclass(frozen=True, slots=True)
class StatusRule:
    """One row of the status table: the status, its plain words, and when it applies."""

    status: str
    #: the status in the plain words the court's monitors and case workers use
    words: str
    applies: Callable[[StatusFacts], bool]


#: The contract's status table (section 4), in its precedence: a child's status is the first
#: whose rule applies. STATUSES, the export's vocabulary, is this table's first column.
STATUS_RULES: tuple[StatusRule, ...] = (
    StatusRule("reunified", "reunified", lambda f: f.reunified),
    StatusRule("discharged_other", "discharged otherwise (sponsor, aged out, other)", lambda f: f.discharged),
    StatusRule("not_a_parent", "DNA says not the parent", lambda f: f.linked and f.dna_exclusion),
    StatusRule(
        "parent_removed", "parent removed from the country", lambda f: f.linked and f.location == "removed"
    ),
    StatusRule(
        "parent_in_criminal_custody",
        "parent in criminal custody",
        lambda f: f.linked and f.location == "in_criminal_custody",
    ),
    StatusRule("safety_concern", "safety concern", lambda f: f.linked and f.safety),
    StatusRule(
        "parent_released", "parent released, to be found", lambda f: f.linked and f.location == "released"
    ),
    StatusRule(
        "eligible", "eligible for reunification now", lambda f: f.linked and f.location == "in_ice_custody"
    ),
    # no parent found, or a linked adult with no dated custody event: nothing above places them
    StatusRule("no_parent_match", "no parent found", lambda f: True),
)
STATUSES: tuple[str, ...] = tuple(rule.status for rule in STATUS_RULES)
STATUS_WORDS: dict[str, str] = {rule.status: rule.words for rule in STATUS_RULES}


def status_of(facts: StatusFacts) -> str:
    """The first status of the table whose rule applies."""
    return next(rule.status for rule in STATUS_RULES if rule.applies(facts))


def status(children: Sequence[ChildRecord], parent: ParentFacts | None, loc: ParentLocation) -> str:
    """The first status of the contract's table that applies."""
    return status_of(
        StatusFacts(
            reunified=any(c.discharge_type == REUNIFIED for c in children),
            discharged=any(c.discharge_type for c in children),
            linked=parent is not None,
            dna_exclusion=parent is not None and parent.dna_exclusion,
            location=loc.state,
            safety=any(safety_flags(parent)),
        )
    )


def cohort(children: Sequence[ChildRecord], as_of: date) -> str:
    """``under_5`` / ``5_and_over`` from the recorded date of birth (the newest record that has
    one), ``unknown`` when no record has one."""
    dob = recorded_dob(children)
    if dob is None:
        return "unknown"
    return "under_5" if age_years(dob, as_of) < 5 else "5_and_over"


def recorded_dob(children: Sequence[ChildRecord]) -> date | None:
    """The date of birth of the most recently updated record that has one."""
    dated = [c for c in children if c.dob]
    if not dated:
        return None
    return max(dated, key=lambda c: (c.updated_at, c.record_id)).dob


def reasons(
    children: Sequence[ChildRecord],
    parent: ParentFacts | None,
    dna: Sequence[DnaResult],
) -> list[str]:
    """Every flag that applies, sorted: the parent's safety flags (not after a DNA exclusion,
    the adult is not the parent), a child born in the United States, and a pending DNA test."""
    out: list[str] = []
    if parent is not None and not parent.dna_exclusion:
        serious, disease = safety_flags(parent)
        if serious:
            out.append("serious_criminal_history")
        if disease:
            out.append("communicable_disease")
    if any(is_us(c.country) for c in children):
        out.append("possible_us_citizen")
    if dna_pending(dna, parent):
        out.append("dna_pending")
    return sorted(out)


def dna_pending(dna: Sequence[DnaResult], parent: ParentFacts | None) -> bool:
    """True when the latest result of some tested pair of this child is still ``pending`` and no
    decisive result exists for the linked parent."""
    latest = latest_per_pair(dna)
    if not any(r.result == "pending" for r in latest):
        return False
    if parent is None:
        return True
    ids = {r.record_id for r in parent.ice}
    a_numbers = {r.a_number for r in parent.ice if r.a_number} | {
        r.a_number for r in parent.removals if r.a_number
    }
    for res in latest:
        if (res.adult_record_id in ids or res.adult_a_number in a_numbers) and res.result in (
            "match",
            "exclusion",
        ):
            return False
    return True


def age(children: Sequence[ChildRecord], as_of: date) -> int | None:
    """Whole years at the report date, from the recorded date of birth."""
    dob = recorded_dob(children)
    return age_years(dob, as_of) if dob else None
