"""Typed records, one class per feed, as parsed from the contract's payloads.

Fields keep the values as the agency sent them after light normalisation (A-numbers to nine
digits, dates to ``date``); matching derives its own keys from them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import MISSING, dataclass, field, fields
from datetime import date, datetime
from typing import Any, TypeVar

T = TypeVar("T")
C = TypeVar("C", bound=type)


class _Factory:
    """The default of a field with a default factory (shown as dataclasses shows it)."""

    def __repr__(self) -> str:
        return "<factory>"


_FACTORY = _Factory()


def slot_init(cls: C) -> C:
    """Give a frozen, slotted dataclass an ``__init__`` that sets each slot through its member
    descriptor: the same signature, defaults and result as the generated one, which goes
    through ``object.__setattr__`` by name for every field (a frozen class cannot assign) and
    costs about twice as much. Records are made hundreds of thousands of times a run."""
    params: list[str] = []
    body: list[str] = []
    env: dict[str, Any] = {"_factory": _FACTORY}
    for number, f in enumerate(fields(cls)):
        if not f.init:
            raise TypeError(f"{cls.__name__}.{f.name}: slot_init needs every field in __init__")
        env[f"_set{number}"] = cls.__dict__[f.name].__set__
        if f.default is not MISSING:
            env[f"_default{number}"] = f.default
            params.append(f"{f.name}=_default{number}")
        elif f.default_factory is not MISSING:
            env[f"_factory{number}"] = f.default_factory
            params.append(f"{f.name}=_factory")
            body.append(f" if {f.name} is _factory: {f.name} = _factory{number}()")
        else:
            params.append(f.name)
        body.append(f" _set{number}(self, {f.name})")
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__}: slot_init does not call __post_init__")
    source = f"def __init__(self, {', '.join(params)}):\n" + "\n".join(body) + "\n"
    exec(source, env)  # built from the class's own field names, as dataclasses does
    init = env["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    generated = cls.__dict__["__init__"]
    init.__doc__ = generated.__doc__
    init.__annotations__ = generated.__annotations__
    cls.__init__ = init  # type: ignore[misc]
    return cls


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


@slot_init
@dataclass(frozen=True, slots=True)
class ClaimedChild:
    """A child an adult said they travelled with."""

    name: str
    dob: date | None


@slot_init
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


@slot_init
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


@slot_init
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


@slot_init
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


@slot_init
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
