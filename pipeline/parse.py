"""Turn raw feed payloads into typed records, or say exactly why one is malformed.

Each ``parse_*`` function takes one raw record (a decoded JSON object, or a CSV row as a dict)
and returns the typed record, or raises :class:`MalformedRecord` with a reason an operator can
read. A reason never quotes a personal value, only field names and types.

The JSON feeds' records are read two ways. The fast path (``fast_*``) converts a record into a
msgspec Struct, whose types do the checks in C, and normalises its fields; when a record does
not fit (a wrong type, a missing id, a bad value: any record the checked path might refuse) it
gives None and the checked path (``checked_*``, field by field) reads it, so every reason stays
its reason. Both give the same record for a record both accept (a test compares them).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any, TypeVar

import msgspec

from pipeline import jsontext, normalise
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


def _record_id(value: object, id_field: str) -> str:
    """The record's id from its id field's value; MalformedRecord when it is not one."""
    if not isinstance(value, str) or not value.strip():
        raise MalformedRecord(f"missing or invalid {id_field}")
    record_id = value.strip()
    if record_id.isascii() and record_id.isprintable() and len(record_id) <= MAX_RECORD_ID_CHARS:
        # in ASCII, what isprintable refuses is exactly the controls _ID_CONTROL finds (NUL among
        # them): such an id is well formed, and the checks below would each pass
        return record_id
    problem = unstorable(record_id)
    if problem is None and _ID_CONTROL.search(record_id):
        problem = "holds a control or invisible formatting character"
    if problem is not None:
        raise MalformedRecord(f"{id_field} {problem}")
    if len(record_id) > MAX_RECORD_ID_CHARS:
        raise MalformedRecord(f"{id_field} is longer than {MAX_RECORD_ID_CHARS} characters")
    return record_id


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
        self.record_id = _record_id(raw.get(id_field), id_field)

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


def checked_child(raw: object) -> ChildRecord:
    """An ORR child record, read field by field (MalformedRecord names what is wrong)."""
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


def checked_adult(raw: object) -> AdultRecord:
    """An ICE detainee record, read field by field (MalformedRecord names what is wrong)."""
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
    """A removal-list CSV row (a dict keyed by the header): the fast path, else the checked one."""
    record = fast_removal(row)
    return record if record is not None else checked_removal(row)


def checked_removal(row: Mapping[str, str | None]) -> RemovalRecord:
    """A removal-list CSV row, read field by field (MalformedRecord names what is wrong)."""
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


def checked_dna(raw: object) -> DnaResult:
    """A DNA verification result, read field by field (MalformedRecord names what is wrong)."""
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


# --------------------------------------------------------------------------- the fast path
# Structs of what the parsers read; unknown fields are ignored, as the checked path ignores them.
# A field the checked path reads with ``text`` is ``str | None`` (msgspec refuses any other type,
# as ``text`` does); one it converts (dates, A-numbers, timestamps) is ``Any`` and goes through the
# same function. ``gc=False``: they are short-lived and hold no cycles.


class _Reject(Exception):
    """The fast path cannot read this record as the checked path would: the checked path reads it."""


# ORR spells its fields in camelCase: the Structs keep the feed's names
class _OrrApprehension(msgspec.Struct, gc=False):
    eventId: str | None = None
    date: Any = None
    station: str | None = None


class _OrrParent(msgspec.Struct, gc=False):
    name: str | None = None
    relation: str | None = None


class _OrrDischarge(msgspec.Struct, gc=False):
    date: Any = None
    type: str | None = None


class _OrrChild(msgspec.Struct, gc=False):
    childId: str
    aNumber: Any = None
    firstName: str | None = None
    lastName: str | None = None
    dateOfBirth: Any = None
    sex: str | None = None
    countryOfBirth: str | None = None
    facilityId: str | None = None
    facilityName: str | None = None
    admittedAt: Any = None
    apprehension: _OrrApprehension | None = None
    reportedParent: _OrrParent | None = None
    discharge: _OrrDischarge | None = None
    updatedAt: Any = None


class _IceCustody(msgspec.Struct, gc=False):
    status: str | None = None
    facility_code: str | None = None
    facility_name: str | None = None
    as_of: Any = None


class _IceClaimed(msgspec.Struct, gc=False):
    name: str | None = None
    dob: Any = None


class _IceDetainee(msgspec.Struct, gc=False):
    subject_id: str
    a_number: Any = None
    first_name: str | None = None
    last_name: str | None = None
    birth_date: Any = None
    gender: str | None = None
    citizenship: str | None = None
    custody: _IceCustody | None = None
    apprehension_event_id: str | None = None
    apprehension_date: Any = None
    apprehension_station: str | None = None
    criminal_history: str | None = None
    medical_hold: bool | None = None
    claimed_children: list[_IceClaimed] | None = None
    updated_at: Any = None


class _DnaResult(msgspec.Struct, gc=False):
    case_id: str
    adult_a_number: Any = None
    child_a_number: Any = None
    adult_subject_id: str | None = None
    child_id: str | None = None
    result: str | None = None
    reported_at: Any = None


_NO_APPREHENSION = _OrrApprehension()
_NO_PARENT = _OrrParent()
_NO_DISCHARGE = _OrrDischarge()
_NO_CUSTODY = _IceCustody()
_DECODERS: dict[type[Any], msgspec.json.Decoder[Any]] = {
    kind: msgspec.json.Decoder(kind) for kind in (_OrrChild, _IceDetainee, _DnaResult)
}
# what the fast path gives up on: msgspec's refusals (ValidationError is a DecodeError), the
# checks below, and the normalising functions' errors, which the checked path turns into reasons
_FALLBACK = (msgspec.DecodeError, MalformedRecord, _Reject, ValueError, TypeError)


def _struct(raw: object, kind: type[T]) -> T:
    """``raw`` (a decoded object, or a record's JSON bytes) as a ``kind`` Struct."""
    if isinstance(raw, bytes | msgspec.Raw):
        result: T = _DECODERS[kind].decode(raw)
        return result
    if not isinstance(raw, dict):
        raise _Reject
    return msgspec.convert(raw, kind)


def _text(value: str | None) -> str | None:
    """``_Fields.text`` of a value msgspec has typed ``str | None``."""
    if value is None:
        return None
    if (not value.isascii() or "\x00" in value) and unstorable(value) is not None:
        raise _Reject
    return value.strip() or None


# One object for every equal value of a field that repeats across records (names, sexes,
# facilities, stations, statuses): each decoded value is a new string of 50-80 bytes, and a
# detainee record holds eight such, about half its size. The table lives as long as the process,
# like the date caches, so it is bounded (about 90,000 values at 100,000 children, some 13 MB
# when full) and emptied when full: a hostile feed could send only distinct values. It maps a
# value as decoded to that object, so a value seen before is not checked and stripped again (a
# key's text is its stripped form, and a key is only there once it passed ``_text``).
_SHARED: dict[str, str] = {}
_SHARED_MAX = 1 << 17


def _shared(value: str | None) -> str | None:
    """``_text`` of a value, the one object kept for its text."""
    if value is None:
        return None
    seen = _SHARED.get(value)
    if seen is not None:
        return seen
    text = _text(value)
    if text is None:
        return None
    # a miss adds two keys (the value and its text) when they differ
    if len(_SHARED) >= _SHARED_MAX - 1:
        _SHARED.clear()
    kept = _SHARED.setdefault(text, text)
    _SHARED[value] = kept
    return kept


def _choice(value: str | None, allowed: frozenset[str]) -> str | None:
    text = _shared(value)
    if text is not None and text not in allowed:
        raise _Reject
    return text


def _timestamp(value: object) -> datetime:
    return NO_TIMESTAMP if value is None else normalise.iso_datetime(value)


def fast_child(raw: object) -> ChildRecord | None:
    """An ORR child record through its Struct; None when the checked path must read it."""
    try:
        r = _struct(raw, _OrrChild)
        app = r.apprehension or _NO_APPREHENSION
        parent = r.reportedParent or _NO_PARENT
        discharge = r.discharge or _NO_DISCHARGE
        return ChildRecord(
            record_id=_record_id(r.childId, "childId"),
            a_number=normalise.a_number(r.aNumber),
            first_name=_shared(r.firstName) or "",
            last_name=_shared(r.lastName) or "",
            dob=normalise.iso_date(r.dateOfBirth),
            sex=_shared(r.sex),
            country=normalise.country(_text(r.countryOfBirth)),
            facility_id=_shared(r.facilityId),
            facility_name=_shared(r.facilityName),
            admitted_at=normalise.iso_date(r.admittedAt),
            event_id=_text(app.eventId),
            apprehension_date=normalise.iso_date(app.date),
            station=_shared(app.station),
            reported_parent_name=_shared(parent.name),
            reported_parent_relation=_shared(parent.relation),
            discharge_date=normalise.iso_date(discharge.date),
            discharge_type=_choice(discharge.type, DISCHARGE_TYPES),
            updated_at=_timestamp(r.updatedAt),
        )
    except _FALLBACK:
        return None


def fast_adult(raw: object) -> AdultRecord | None:
    """An ICE detainee record through its Struct; None when the checked path must read it."""
    try:
        r = _struct(raw, _IceDetainee)
        custody = r.custody or _NO_CUSTODY
        claimed = tuple(
            ClaimedChild(name=_text(kid.name) or "", dob=normalise.iso_date(kid.dob))
            for kid in r.claimed_children or ()
        )
        return AdultRecord(
            record_id=_record_id(r.subject_id, "subject_id"),
            a_number=normalise.a_number(r.a_number),
            first_name=_shared(r.first_name) or "",
            last_name=_shared(r.last_name) or "",
            dob=normalise.iso_date(r.birth_date),
            sex=_shared(r.gender),
            country=normalise.country(_text(r.citizenship)),
            custody_status=_choice(custody.status, CUSTODY_STATUSES),
            facility_code=_shared(custody.facility_code),
            facility_name=_shared(custody.facility_name),
            custody_as_of=normalise.iso_date(custody.as_of),
            event_id=_text(r.apprehension_event_id),
            apprehension_date=normalise.iso_date(r.apprehension_date),
            station=_shared(r.apprehension_station),
            criminal_history=_choice(r.criminal_history, CRIMINAL_HISTORY),
            medical_hold=bool(r.medical_hold),
            claimed_children=claimed,
            updated_at=_timestamp(r.updated_at),
        )
    except _FALLBACK:
        return None


def fast_dna(raw: object) -> DnaResult | None:
    """A DNA result through its Struct; None when the checked path must read it."""
    try:
        r = _struct(raw, _DnaResult)
        result = _choice(r.result, DNA_RESULTS)
        if result is None:
            raise _Reject
        return DnaResult(
            record_id=_record_id(r.case_id, "case_id"),
            adult_a_number=normalise.a_number(r.adult_a_number),
            child_a_number=normalise.a_number(r.child_a_number),
            adult_record_id=_text(r.adult_subject_id),
            child_record_id=_text(r.child_id),
            result=result,
            reported_at=_timestamp(r.reported_at),
        )
    except _FALLBACK:
        return None


_REMOVAL_KEYS = frozenset(REMOVAL_COLUMNS)
# what the removal fast path gives up on besides _FALLBACK's: a cell that is not a string (a row
# read back from JSON may hold any value), which the checked path names or fails on as it does
_REMOVAL_FALLBACK = (*_FALLBACK, AttributeError)


def fast_removal(row: object) -> RemovalRecord | None:
    """A removal row with exactly the contract's columns, each a string (what the CSV reader
    gives), and a removal date; None when the checked path must read it."""
    if type(row) is not dict or row.keys() != _REMOVAL_KEYS or None in row.values():
        return None
    try:
        removal_date = normalise.us_date(row["REMOVAL_DATE"])
        if removal_date is None:
            return None
        return RemovalRecord(
            _record_id(row["REMOVAL_ID"], "REMOVAL_ID"),
            normalise.a_number(row["A_NUMBER"]),
            _shared(row["FIRST_NAME"]) or "",
            _shared(row["LAST_NAME"]) or "",
            normalise.us_date(row["DOB"]),
            normalise.country(_text(row["COUNTRY"])),
            removal_date,
            _shared(row["PORT"]),
        )
    except _REMOVAL_FALLBACK:
        return None


def parse_child(raw: object) -> ChildRecord:
    """An ORR child record (a decoded object, or its JSON bytes): the fast path, else the checked one."""
    record = fast_child(raw)
    return record if record is not None else checked_child(_decoded(raw))


def parse_adult(raw: object) -> AdultRecord:
    """An ICE detainee record (a decoded object, or its JSON bytes): the fast path, else the checked one."""
    record = fast_adult(raw)
    return record if record is not None else checked_adult(_decoded(raw))


def parse_dna(raw: object) -> DnaResult:
    """A DNA result (a decoded object, or its JSON bytes): the fast path, else the checked one."""
    record = fast_dna(raw)
    return record if record is not None else checked_dna(_decoded(raw))


def _decoded(raw: object) -> object:
    """A record's JSON bytes decoded as the page decoder decodes them; anything else as it is."""
    if isinstance(raw, bytes | msgspec.Raw):
        return jsontext.loads(bytes(raw))
    return raw
