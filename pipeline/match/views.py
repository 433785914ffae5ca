"""What the comparisons read: the comparison keys of one child group and of one person, computed
once each (every comparison of :mod:`pipeline.match.comparisons` reads these, never the records)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

from pipeline.match.adults import Person
from pipeline.match.children import ChildGroup
from pipeline.match.compare import full_name_tokens, given_tokens, surname_tokens
from pipeline.normalise import is_us
from pipeline.records import AdultRecord, RemovalRecord

#: one copy of each set of keys many people (or children) share (names, countries, days,
#: stations), by its one member or, for a larger set, by value
Shared = dict[object, frozenset[Any]]
_T = TypeVar("_T", str, date, tuple[date | None, str | None])


def _shared(values: set[_T], shared: Shared) -> frozenset[_T]:
    if not values:
        return _NONE
    if len(values) == 1:
        # most sets hold one key: found by the key itself, cheaper to hash than a set
        (value,) = values
        one = shared.get(value)
        if one is None:
            one = shared[value] = frozenset(values)
        return one
    key = frozenset(values)
    return shared.setdefault(key, key)


_NONE: frozenset[Any] = frozenset()


@dataclass(slots=True)
class ChildView:
    """Comparison keys of one child group.

    Each set is a frozenset and each list a tuple, and the sets many children have alike are one
    object (``of``'s ``shared``), as in :class:`PersonView`: twelve containers of a child's own
    cost about 2.6 KB, most of them holding one key or none."""

    group: ChildGroup
    given: frozenset[str] = _NONE
    surnames: tuple[tuple[str, ...], ...] = ()
    joined: frozenset[str] = _NONE
    dobs: frozenset[date] = _NONE
    countries: frozenset[str] = _NONE
    events: frozenset[str] = _NONE
    apps: frozenset[tuple[date | None, str | None]] = _NONE
    app_dates: frozenset[date] = _NONE
    stations: frozenset[str] = _NONE
    #: admission dates, kept only when no record of the child has an apprehension date
    admits: frozenset[date] = _NONE
    #: reported parents: (name tokens, relation)
    parents: tuple[tuple[tuple[str, ...], str | None], ...] = ()
    a_numbers: frozenset[str] = _NONE

    @classmethod
    def of(cls, group: ChildGroup, shared: Shared | None = None) -> ChildView:
        """The view of ``group``; ``shared``: the sets of the views built before, to share."""
        if shared is None:
            shared = {}
        given: set[str] = set()
        surnames: list[tuple[str, ...]] = []
        joined: set[str] = set()
        dobs: set[date] = set()
        countries: set[str] = set()
        events: set[str] = set()
        apps: set[tuple[date | None, str | None]] = set()
        app_dates: set[date] = set()
        stations: set[str] = set()
        admits: set[date] = set()
        parents: list[tuple[tuple[str, ...], str | None]] = []
        a_numbers: set[str] = set()
        for rec in group.records:
            given.update(given_tokens(rec.first_name))
            sn = surname_tokens(rec.last_name)
            if sn:
                surnames.append(sn)
                joined.add("".join(sn))
            if rec.dob:
                dobs.add(rec.dob)
            # a child born in the US says nothing about the parent's country
            if rec.country and not is_us(rec.country):
                countries.add(rec.country)
            if rec.event_id:
                events.add(rec.event_id)
            if rec.apprehension_date or rec.station:
                apps.add((rec.apprehension_date, rec.station))
            if rec.apprehension_date:
                app_dates.add(rec.apprehension_date)
            if rec.station:
                stations.add(rec.station)
            if rec.admitted_at:
                admits.add(rec.admitted_at)
            if rec.reported_parent_name or rec.reported_parent_relation:
                toks = full_name_tokens(rec.reported_parent_name) if rec.reported_parent_name else ()
                parents.append((toks, rec.reported_parent_relation))
            if rec.a_number:
                a_numbers.add(rec.a_number)
        # a re-referral is admitted long after the apprehension: the first admission counts
        first_admit = {min(admits)} if not app_dates and admits else set()
        return cls(
            group,
            _shared(given, shared),
            tuple(surnames),
            _shared(joined, shared),
            _shared(dobs, shared),
            _shared(countries, shared),
            _shared(events, shared),
            _shared(apps, shared),
            _shared(app_dates, shared),
            _shared(stations, shared),
            _shared(first_admit, shared),
            tuple(parents),
            _shared(a_numbers, shared),
        )


@dataclass(slots=True)
class PersonView:
    """Comparison keys of one person (all their ICE records and removal rows).

    Each set is a frozenset, and the sets many people have alike are one object (``of``'s
    ``shared``): a set costs 216 bytes however small, and a reconciliation views most people
    (about 2.7 KB a person for twelve sets of their own)."""

    person: Person
    given: frozenset[str] = _NONE
    second_given: frozenset[str] = _NONE
    first_surnames: frozenset[str] = _NONE
    surnames: frozenset[str] = _NONE
    #: each record's surnames with the spaces removed (survives "GOMEZYPEREZ", "MARTINEZD IAZ")
    joined: frozenset[str] = _NONE
    sexes: frozenset[str] = _NONE
    countries: frozenset[str] = _NONE
    dobs: frozenset[date] = _NONE
    events: frozenset[str] = _NONE
    app_dates: frozenset[date] = _NONE
    stations: frozenset[str] = _NONE
    #: a tuple, like the sets: most people claim no child, and an empty list costs 56 bytes
    claims: tuple[tuple[tuple[str, ...], tuple[str, ...], date | None], ...] = ()

    @classmethod
    def of(cls, person: Person, shared: Shared | None = None) -> PersonView:
        """The view of ``person``; ``shared``: the sets of the views built before, to share."""
        if shared is None:
            shared = {}
        given: set[str] = set()
        second_given: set[str] = set()
        first_surnames: set[str] = set()
        surnames: set[str] = set()
        joined: set[str] = set()
        countries: set[str] = set()
        dobs: set[date] = set()
        records: list[AdultRecord | RemovalRecord] = [*person.ice, *person.removals]
        for rec in records:
            tokens = given_tokens(rec.first_name)
            given.update(tokens)
            if len(tokens) > 1:
                second_given.update(tokens[1:])
            sn = surname_tokens(rec.last_name)
            if sn:
                first_surnames.add(sn[0])
                surnames.update(sn)
                joined.add("".join(sn))
            if rec.country:
                countries.add(rec.country)
            if rec.dob:
                dobs.add(rec.dob)
        sexes: set[str] = set()
        events: set[str] = set()
        app_dates: set[date] = set()
        stations: set[str] = set()
        claims: list[tuple[tuple[str, ...], tuple[str, ...], date | None]] = []
        for a in person.ice:
            if a.sex:
                sexes.add(a.sex.upper()[:1])
            if a.event_id:
                events.add(a.event_id)
            if a.apprehension_date:
                app_dates.add(a.apprehension_date)
            if a.station:
                stations.add(a.station)
            for claim in a.claimed_children:
                toks = full_name_tokens(claim.name)
                if toks:
                    claims.append((toks[:-1] or toks, toks[-1:] if len(toks) > 1 else (), claim.dob))
        return cls(
            person,
            _shared(given, shared),
            _shared(second_given, shared),
            _shared(first_surnames, shared),
            _shared(surnames, shared),
            _shared(joined, shared),
            _shared(sexes, shared),
            _shared(countries, shared),
            _shared(dobs, shared),
            _shared(events, shared),
            _shared(app_dates, shared),
            _shared(stations, shared),
            tuple(claims),
        )
