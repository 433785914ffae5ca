"""What a plausible date is: dates that cannot be evidence, update times that cannot be the
agency's clock. The one place that says so; parsing, reconciliation, incremental fetches and
``reunify discrepancies`` all ask here.

**Dates in records.** A date of birth after the report date or before 1900, and an event
(custody ``as_of``, ``REMOVAL_DATE``, an apprehension, admission or discharge) after the report
date, cannot be true: taken at face value they give negative ages, a child in the ``under_5``
cohort "born" in 2112, a parent "removed since 9999-12-31" whose custody event beats every real
one, or negative days unresolved. Such a record stays valid and its stored payload keeps the raw
value; reconciliation sees the field as unknown (:func:`screen`), and ``reunify discrepancies``
lists it by record id, field and rule (:func:`impossible_dates`). The report date belongs to the
run (``run.as_of``), so screening happens where reconciliation takes its records, never at parse
time: :func:`screen_snapshot` in ``reconcile.prepare`` (the in-process run and the ``prepare``
step) and :func:`screen` for the records the ``match`` and ``finish`` steps re-read by id.

**Update times.** An ``updatedAt`` (or DNA ``reported_at``) later than the run's start plus the
allowed clock skew (``REUNIFY_CLOCK_SKEW_SECONDS``) is not the agency's clock (9999-12-31, say):
the record is kept, but it never moves the feed's high-water mark (``pipeline.incremental``),
and ``reunify discrepancies`` lists it (:func:`future_dated`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from pipeline.feed_registry import REGISTRY
from pipeline.parse import NO_TIMESTAMP
from pipeline.records import AdultRecord, ChildRecord, ClaimedChild, FeedSnapshot, RemovalRecord

#: the earliest date of birth taken as evidence
EARLIEST_BIRTH = date(1900, 1, 1)

# the rules a date can break, and how ``reunify discrepancies`` says so
AFTER_REPORT_DATE = "after_report_date"
BEFORE_1900 = "before_1900"
RULES: dict[str, str] = {
    AFTER_REPORT_DATE: "is after the report date",
    BEFORE_1900: "is before 1900",
}

_BIRTH, _EVENT = "birth", "event"
# Every date of a typed record that can be impossible: (the feed's field name, the record's
# attribute, birth or event). Claimed children's dates of birth are checked beside these.
_FIELDS: dict[type, tuple[tuple[str, str, str], ...]] = {
    ChildRecord: (
        ("dateOfBirth", "dob", _BIRTH),
        ("admittedAt", "admitted_at", _EVENT),
        ("apprehension.date", "apprehension_date", _EVENT),
        ("discharge.date", "discharge_date", _EVENT),
    ),
    AdultRecord: (
        ("birth_date", "dob", _BIRTH),
        ("custody.as_of", "custody_as_of", _EVENT),
        ("apprehension_date", "apprehension_date", _EVENT),
    ),
    RemovalRecord: (
        ("DOB", "dob", _BIRTH),
        ("REMOVAL_DATE", "removal_date", _EVENT),
    ),
}


def birth_rule(dob: date | None, as_of: date) -> str | None:
    """The rule a date of birth breaks at the report date ``as_of``, None when it is evidence."""
    if dob is None:
        return None
    if dob > as_of:
        return AFTER_REPORT_DATE
    if dob < EARLIEST_BIRTH:
        return BEFORE_1900
    return None


def event_rule(day: date | None, as_of: date) -> str | None:
    """The rule an event's date breaks at the report date ``as_of``, None when it is evidence."""
    return AFTER_REPORT_DATE if day is not None and day > as_of else None


def _rule(kind: str, day: date | None, as_of: date) -> str | None:
    return birth_rule(day, as_of) if kind == _BIRTH else event_rule(day, as_of)


@dataclass(frozen=True, slots=True)
class ImpossibleDate:
    """One date that is not evidence: the feed, the record, the feed's name of the field, the rule
    it breaks, and the raw value (personal data for a date of birth: shown only with names)."""

    feed: str
    record_id: str
    field: str
    rule: str
    value: date


def _found(record: Any, as_of: date) -> Iterator[tuple[str, str, str, date]]:
    """(field, attribute, rule, value) of each impossible date of one typed record; a claimed
    child's is ``claimed_children[i].dob`` with attribute ``claimed_children``."""
    for name, attr, kind in _FIELDS.get(type(record), ()):
        value = getattr(record, attr)
        if value is not None and (rule := _rule(kind, value, as_of)):
            yield name, attr, rule, value
    if isinstance(record, AdultRecord):
        for i, claim in enumerate(record.claimed_children):
            if claim.dob is not None and (rule := birth_rule(claim.dob, as_of)):
                yield f"claimed_children[{i}].dob", "claimed_children", rule, claim.dob


def impossible_dates(feed: str, record: Any, as_of: date) -> list[ImpossibleDate]:
    """Every date of one typed record (of ``feed``) that is not evidence at ``as_of``."""
    return [ImpossibleDate(feed, record.record_id, f, rule, v) for f, _, rule, v in _found(record, as_of)]


def screen(record: Any, as_of: date) -> Any:
    """The record as reconciliation must see it at the report date ``as_of``: each impossible
    date is None (unknown). The same object when every date is evidence (the common case)."""
    # the common case without building anything: a run screens every record it reconciles
    for _, attr, kind in _FIELDS.get(type(record), ()):
        value = getattr(record, attr)
        if value is not None and _rule(kind, value, as_of):
            return _screened(record, as_of)
    if isinstance(record, AdultRecord):
        for claim in record.claimed_children:
            if claim.dob is not None and birth_rule(claim.dob, as_of):
                return _screened(record, as_of)
    return record


def _screened(record: Any, as_of: date) -> Any:
    attrs = {attr for _, attr, _, _ in _found(record, as_of)}
    changes: dict[str, Any] = {attr: None for attr in attrs - {"claimed_children"}}
    if "claimed_children" in attrs:
        changes["claimed_children"] = tuple(
            ClaimedChild(c.name, None) if birth_rule(c.dob, as_of) else c for c in record.claimed_children
        )
    return replace(record, **changes)


def screen_snapshot(snapshot: FeedSnapshot, as_of: date) -> FeedSnapshot:
    """Every record of a snapshot screened (:func:`screen`); the input is not modified."""
    return FeedSnapshot(
        children=[screen(c, as_of) for c in snapshot.children],
        adults=[screen(a, as_of) for a in snapshot.adults],
        removals=[screen(r, as_of) for r in snapshot.removals],
        dna=snapshot.dna,
    )


def _by_feed(snapshot: FeedSnapshot) -> Iterable[tuple[str, list[Any]]]:
    return ((feed.name, getattr(snapshot, feed.snapshot_field)) for feed in REGISTRY if feed.snapshot_field)


def snapshot_impossible_dates(snapshot: FeedSnapshot, as_of: date) -> list[ImpossibleDate]:
    """Every impossible date of a snapshot's records, by feed, record id and field."""
    found = [
        bad
        for feed, records in _by_feed(snapshot)
        for rec in records
        for bad in impossible_dates(feed, rec, as_of)
    ]
    return sorted(found, key=lambda d: (d.feed, d.record_id, d.field))


# -- update times -------------------------------------------------------------------------------


def update_time(record: Any) -> datetime | None:
    """A typed record's update time (a DNA result's report time), None when the feed gave none."""
    stamp = getattr(record, "updated_at", None) or getattr(record, "reported_at", None)
    if not isinstance(stamp, datetime) or stamp == NO_TIMESTAMP:
        return None
    return stamp


def latest_plausible_update(started_at: datetime, skew_seconds: float) -> datetime:
    """The latest update time a run that started at ``started_at`` can have seen from an agency
    whose clock is at most ``skew_seconds`` ahead of ours."""
    return started_at + timedelta(seconds=skew_seconds)


def future_dated(snapshot: FeedSnapshot, cutoff: datetime) -> list[tuple[str, str]]:
    """(feed, record id) of every record updated after ``cutoff`` (:func:`latest_plausible_update`
    of the run that holds them): kept as valid, but not the agency's clock."""
    out = [
        (feed, rec.record_id)
        for feed, records in _by_feed(snapshot)
        for rec in records
        if (stamp := update_time(rec)) is not None and stamp > cutoff
    ]
    return sorted(out)
