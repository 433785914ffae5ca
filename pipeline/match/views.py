"""What the comparisons read: the comparison keys of one child group and of one person, computed
once each (every comparison of :mod:`pipeline.match.comparisons` reads these, never the records)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from pipeline.match.adults import Person
from pipeline.match.children import ChildGroup
from pipeline.match.compare import full_name_tokens, given_tokens, surname_tokens
from pipeline.normalise import is_us
from pipeline.records import AdultRecord, RemovalRecord


@dataclass(slots=True)
class ChildView:
    """Comparison keys of one child group."""

    group: ChildGroup
    given: set[str] = field(default_factory=set)
    surnames: list[tuple[str, ...]] = field(default_factory=list)
    joined: set[str] = field(default_factory=set)
    dobs: set[date] = field(default_factory=set)
    countries: set[str] = field(default_factory=set)
    events: set[str] = field(default_factory=set)
    apps: set[tuple[date | None, str | None]] = field(default_factory=set)
    app_dates: set[date] = field(default_factory=set)
    stations: set[str] = field(default_factory=set)
    #: admission dates, kept only when no record of the child has an apprehension date
    admits: set[date] = field(default_factory=set)
    #: reported parents: (name tokens, relation)
    parents: list[tuple[tuple[str, ...], str | None]] = field(default_factory=list)
    a_numbers: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, group: ChildGroup) -> ChildView:
        view = cls(group)
        admits: set[date] = set()
        for rec in group.records:
            view.given.update(given_tokens(rec.first_name))
            sn = surname_tokens(rec.last_name)
            if sn:
                view.surnames.append(sn)
                view.joined.add("".join(sn))
            if rec.dob:
                view.dobs.add(rec.dob)
            # a child born in the US says nothing about the parent's country
            if rec.country and not is_us(rec.country):
                view.countries.add(rec.country)
            if rec.event_id:
                view.events.add(rec.event_id)
            if rec.apprehension_date or rec.station:
                view.apps.add((rec.apprehension_date, rec.station))
            if rec.apprehension_date:
                view.app_dates.add(rec.apprehension_date)
            if rec.station:
                view.stations.add(rec.station)
            if rec.admitted_at:
                admits.add(rec.admitted_at)
            if rec.reported_parent_name or rec.reported_parent_relation:
                toks = full_name_tokens(rec.reported_parent_name) if rec.reported_parent_name else ()
                view.parents.append((toks, rec.reported_parent_relation))
            if rec.a_number:
                view.a_numbers.add(rec.a_number)
        if not view.app_dates and admits:
            # a re-referral is admitted long after the apprehension: the first admission counts
            view.admits.add(min(admits))
        return view


@dataclass(slots=True)
class PersonView:
    """Comparison keys of one person (all their ICE records and removal rows)."""

    person: Person
    given: set[str] = field(default_factory=set)
    second_given: set[str] = field(default_factory=set)
    first_surnames: set[str] = field(default_factory=set)
    surnames: set[str] = field(default_factory=set)
    #: each record's surnames with the spaces removed (survives "GOMEZYPEREZ", "MARTINEZD IAZ")
    joined: set[str] = field(default_factory=set)
    sexes: set[str] = field(default_factory=set)
    countries: set[str] = field(default_factory=set)
    dobs: set[date] = field(default_factory=set)
    events: set[str] = field(default_factory=set)
    app_dates: set[date] = field(default_factory=set)
    stations: set[str] = field(default_factory=set)
    claims: list[tuple[tuple[str, ...], tuple[str, ...], date | None]] = field(default_factory=list)

    @classmethod
    def of(cls, person: Person) -> PersonView:
        view = cls(person)
        records: list[AdultRecord | RemovalRecord] = [*person.ice, *person.removals]
        for rec in records:
            given = given_tokens(rec.first_name)
            view.given.update(given)
            if len(given) > 1:
                view.second_given.update(given[1:])
            sn = surname_tokens(rec.last_name)
            if sn:
                view.first_surnames.add(sn[0])
                view.surnames.update(sn)
                view.joined.add("".join(sn))
            if rec.country:
                view.countries.add(rec.country)
            if rec.dob:
                view.dobs.add(rec.dob)
        for a in person.ice:
            if a.sex:
                view.sexes.add(a.sex.upper()[:1])
            if a.event_id:
                view.events.add(a.event_id)
            if a.apprehension_date:
                view.app_dates.add(a.apprehension_date)
            if a.station:
                view.stations.add(a.station)
            for claim in a.claimed_children:
                toks = full_name_tokens(claim.name)
                if toks:
                    view.claims.append((toks[:-1] or toks, toks[-1:] if len(toks) > 1 else (), claim.dob))
        return view
