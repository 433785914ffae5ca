"""Turn raw feed payloads into typed records, or say exactly why one is malformed.

Each ``parse_*`` function takes one raw record (a decoded JSON object, or a CSV row as a dict)
and returns the typed record, or raises :class:`MalformedRecord` with a reason an operator can
read. A reason never quotes a personal value, only field names and types.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from pipeline import normalise
from pipeline.errors import MalformedRecord
from pipeline.records import (
    MAX_RECORD_ID_CHARS,
    AdultRecord,
    ChildRecord,
    ClaimedChild,
    DnaResult,
    RemovalRecord,
)

#: the update time of a record whose feed gave none
NO_TIMESTAMP = datetime(1970, 1, 1, tzinfo=UTC)
CUSTODY_STATUSES = frozenset({"detained", "released", "removed", "criminal_custody"})
CRIMINAL_HISTORY = frozenset({"none", "non_serious", "serious"})
DISCHARGE_TYPES = frozenset({"reunified_with_parent", "released_to_sponsor", "aged_out", "other"})
DNA_RESULTS = frozenset({"match", "exclusion", "inconclusive", "pending"})

T = TypeVar("T")

_SURROGATE = re.compile("[\ud800-\udfff]")
# What an identifier never holds: C0 and C1 controls, DEL, zero-width and bidi formatting
# characters, line and paragraph separators. Such an id would act on a terminal or spoof
# another id on a reader's screen (names may hold them: every output escapes those).
_ID_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")


def unstorable(text: str) -> str | None:
    """Why a text can be kept by neither store as it is (PostgreSQL's text refuses NUL, and
    neither store's UTF-8 holds a lone surrogate), or None when it can."""
    if "\x00" in text:
        return "holds a NUL character"
    if not text.isascii() and _SURROGATE.search(text):
        return "holds a lone surrogate (not valid Unicode)"
    return None


class _Fields:
    """Typed access to one raw object's fields; every failure becomes MalformedRecord.

    Every text the pipeline reads from a record is one both stores can keep: a record whose id
    or text field is not (a NUL, a lone surrogate, an id longer than the id columns) is
    malformed, on SQLite as on PostgreSQL; so is an id holding a control character.
    """

    def __init__(self, raw: object, id_field: str, what: str) -> None:
        if not isinstance(raw, Mapping):
            raise MalformedRecord(f"{what} is not a JSON object (got {type(raw).__name__})")
        self.raw = raw
        value = raw.get(id_field)
        if not isinstance(value, str) or not value.strip():
            raise MalformedRecord(f"missing or invalid {id_field}")
        record_id = value.strip()
        problem = unstorable(record_id)
        if problem is None and _ID_CONTROL.search(record_id):
            problem = "holds a control or invisible formatting character"
        if problem is not None:
            raise MalformedRecord(f"{id_field} {problem}")
        if len(record_id) > MAX_RECORD_ID_CHARS:
            raise MalformedRecord(f"{id_field} is longer than {MAX_RECORD_ID_CHARS} characters")
        self.record_id = record_id

    def fail(self, reason: str) -> MalformedRecord:
        return MalformedRecord(reason, self.record_id)

    def text(self, key: str, source: Mapping[str, Any] | None = None) -> str | None:
        value = (self.raw if source is None else source).get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self.fail(f"{key} must be a string, got {type(value).__name__}")
        if not value.isascii() or "\x00" in value:
            problem = unstorable(value)
            if problem is not None:
                raise self.fail(f"{key} {problem}")
        return value.strip() or None

    def obj(self, key: str) -> Mapping[str, Any] | None:
        value = self.raw.get(key)
        if value is None:
            return None
        if not isinstance(value, Mapping):
            raise self.fail(f"{key} must be an object or null, got {type(value).__name__}")
        return value

    def convert(self, key: str, fn: Callable[[Any], T], source: Mapping[str, Any] | None = None) -> T:
        value = (self.raw if source is None else source).get(key)
        try:
            return fn(value)
        except (ValueError, TypeError) as exc:
            raise self.fail(f"{key} is not valid ({type(exc).__name__}: unparseable value)") from None

    def date(self, key: str, source: Mapping[str, Any] | None = None) -> date | None:
        return self.convert(key, normalise.iso_date, source)

    def timestamp(self, key: str) -> datetime:
        if self.raw.get(key) is None:
            return NO_TIMESTAMP
        return self.convert(key, normalise.iso_datetime)

    def a_number(self, key: str) -> str | None:
        return self.convert(key, normalise.a_number)

    def choice(
        self, key: str, allowed: frozenset[str], source: Mapping[str, Any] | None = None
    ) -> str | None:
        value = self.text(key, source)
        if value is not None and value not in allowed:
            raise self.fail(f"{key} has an unknown value (allowed: {', '.join(sorted(allowed))})")
        return value


def parse_child(raw: object) -> ChildRecord:
    """An ORR child record."""
    f = _Fields(raw, "childId", "child record")
    app = f.obj("apprehension") or {}
    parent = f.obj("reportedParent") or {}
    discharge = f.obj("discharge") or {}
    return ChildRecord(
        record_id=f.record_id,
        a_number=f.a_number("aNumber"),
        first_name=f.text("firstName") or "",
        last_name=f.text("lastName") or "",
        dob=f.date("dateOfBirth"),
        sex=f.text("sex"),
        country=normalise.country(f.text("countryOfBirth")),
        facility_id=f.text("facilityId"),
        facility_name=f.text("facilityName"),
        admitted_at=f.date("admittedAt"),
        event_id=f.text("eventId", app),
        apprehension_date=f.date("date", app),
        station=f.text("station", app),
        reported_parent_name=f.text("name", parent),
        reported_parent_relation=f.text("relation", parent),
        discharge_date=f.date("date", discharge),
        discharge_type=f.choice("type", DISCHARGE_TYPES, discharge),
        updated_at=f.timestamp("updatedAt"),
    )


def _claimed(f: _Fields) -> tuple[ClaimedChild, ...]:
    value = f.raw.get("claimed_children")
    if value is None:
        return ()
    if not isinstance(value, list):
        raise f.fail("claimed_children must be a list")
    out = []
    for item in value:
        if not isinstance(item, Mapping):
            raise f.fail("claimed_children holds a non-object")
        name = f.text("name", item) or ""
        out.append(ClaimedChild(name=name, dob=f.date("dob", item)))
    return tuple(out)


def parse_adult(raw: object) -> AdultRecord:
    """An ICE detainee record."""
    f = _Fields(raw, "subject_id", "detainee record")
    custody = f.obj("custody") or {}
    medical = f.raw.get("medical_hold")
    if medical is not None and not isinstance(medical, bool):
        raise f.fail(f"medical_hold must be true or false, got {type(medical).__name__}")
    return AdultRecord(
        record_id=f.record_id,
        a_number=f.a_number("a_number"),
        first_name=f.text("first_name") or "",
        last_name=f.text("last_name") or "",
        dob=f.date("birth_date"),
        sex=f.text("gender"),
        country=normalise.country(f.text("citizenship")),
        custody_status=f.choice("status", CUSTODY_STATUSES, custody),
        facility_code=f.text("facility_code", custody),
        facility_name=f.text("facility_name", custody),
        custody_as_of=f.date("as_of", custody),
        event_id=f.text("apprehension_event_id"),
        apprehension_date=f.date("apprehension_date"),
        station=f.text("apprehension_station"),
        criminal_history=f.choice("criminal_history", CRIMINAL_HISTORY),
        medical_hold=bool(medical),
        claimed_children=_claimed(f),
        updated_at=f.timestamp("updated_at"),
    )


REMOVAL_COLUMNS = (
    "REMOVAL_ID",
    "A_NUMBER",
    "LAST_NAME",
    "FIRST_NAME",
    "DOB",
    "COUNTRY",
    "REMOVAL_DATE",
    "PORT",
)


def parse_removal(row: Mapping[str, str | None]) -> RemovalRecord:
    """A removal-list CSV row (a dict keyed by the header)."""
    f = _Fields(row, "REMOVAL_ID", "removal row")
    if None in row or any(row.get(col) is None for col in REMOVAL_COLUMNS):
        raise f.fail("row has the wrong number of columns")
    removal_date = f.convert("REMOVAL_DATE", normalise.us_date)
    if removal_date is None:
        raise f.fail("missing REMOVAL_DATE")
    return RemovalRecord(
        record_id=f.record_id,
        a_number=f.a_number("A_NUMBER"),
        first_name=f.text("FIRST_NAME") or "",
        last_name=f.text("LAST_NAME") or "",
        dob=f.convert("DOB", normalise.us_date),
        country=normalise.country(f.text("COUNTRY")),
        removal_date=removal_date,
        port=f.text("PORT"),
    )


def parse_dna(raw: object) -> DnaResult:
    """A DNA verification result."""
    f = _Fields(raw, "case_id", "DNA result")
    result = f.choice("result", DNA_RESULTS)
    if result is None:
        raise f.fail("missing result")
    return DnaResult(
        record_id=f.record_id,
        adult_a_number=f.a_number("adult_a_number"),
        child_a_number=f.a_number("child_a_number"),
        adult_record_id=f.text("adult_subject_id"),
        child_record_id=f.text("child_id"),
        result=result,
        reported_at=f.timestamp("reported_at"),
    )
