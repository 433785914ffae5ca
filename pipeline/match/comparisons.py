"""The comparisons of a child and a person, each one self-describing unit.

A comparison is a subclass of :class:`Comparison`: its levels (class attributes, best first, in the
order they are declared), ``level`` (the :class:`Level` a pair falls in, with the name that agreed
for a term-frequency level), ``reads`` (the view fields it looks at) and ``blocking`` (the kinds of
blocking key of :mod:`pipeline.match.blocking` that bring the pairs it agrees on together).
:data:`COMPARISONS` registers them; the model, the evidence lines and the matching state's layout
all follow from it. To add one: write the subclass and register an instance (docs/ARCHITECTURE.md).
"""

from __future__ import annotations

import bisect
from collections import Counter, defaultdict
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from datetime import date, timedelta
from typing import ClassVar, NamedTuple

from pipeline.match.adults import Person
from pipeline.match.compare import (
    any_near,
    dob_compatible,
    given_tokens,
    prefix_near,
    suffix_near,
    surname_tokens,
)
from pipeline.match.views import ChildView, PersonView
from pipeline.records import AdultRecord, RemovalRecord

#: days between an adult's apprehension and the admission of a child without an apprehension date
ADMIT_WINDOW = (0, 6)


class Level:
    """One outcome of a comparison: its evidence text, m (share of true pairs) and default u
    (share of random pairs).

    ``null`` marks the level that means "a value is missing": it weighs nothing either way. ``tf``
    marks a level where a name agrees: its weight is adjusted by that name's frequency (a shared
    "GARCIA" says far less than a shared "AJANEL"). ``index`` is the level's place among its
    comparison's levels, set when the comparison is declared (it is what comparison vectors hold).
    """

    __slots__ = ("index", "label", "m", "null", "tf", "u")

    def __init__(self, label: str, m: float, u: float, *, null: bool = False, tf: bool = False) -> None:
        self.label = label
        self.m = m
        self.u = u
        self.null = null
        self.tf = tf
        self.index = -1

    def __repr__(self) -> str:
        return f"Level({self.label!r})"


#: what a comparison returns: its level, and the name that agreed (a ``tf`` level's) or None
Outcome = tuple[Level, str | None]


class Comparison:
    """One field of the comparison vector. Subclasses declare their levels as class attributes
    (best first) and say what the comparison reads and which blocking keys serve it."""

    name: ClassVar[str]
    #: the view fields read, as ``child.<field>`` / ``person.<field>`` (pinned by a test)
    reads: ClassVar[tuple[str, ...]]
    #: kinds of blocking key (``BlockingIndex``) built from the fields this comparison agrees on
    blocking: ClassVar[tuple[str, ...]] = ()
    levels: ClassVar[tuple[Level, ...]]
    #: the index of the null level, if the comparison has one
    null_index: ClassVar[int | None]

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        levels = tuple(v for v in vars(cls).values() if isinstance(v, Level))
        for i, lv in enumerate(levels):
            if lv.index != -1:
                raise TypeError(f"{cls.__name__}: level {lv.label!r} already belongs to a comparison")
            lv.index = i
        nulls = [lv.index for lv in levels if lv.null]
        if len(nulls) > 1:
            raise TypeError(f"{cls.__name__}: more than one null level")
        cls.levels = levels
        cls.null_index = nulls[0] if nulls else None

    def level(self, c: ChildView, p: PersonView) -> Outcome:
        """The level of the pair (the best over all records of both sides)."""
        raise NotImplementedError

    def tf_names(
        self, children: Sequence[ChildView], people: Sequence[Person]
    ) -> list[AbstractSet[str]] | None:
        """For a comparison with ``tf`` levels, the names each entity of the snapshot carries (their
        frequencies adjust the agreeing levels); None for the others."""
        return None

    def exact_counts(self, children: Sequence[ChildView], people: Sequence[Person]) -> Counter[int] | None:
        """The level of every child–person pair of the snapshot, counted (by level index) without
        comparing every pair, for a comparison that can: its u-probabilities are then exact
        instead of sampled (``model.estimate_model``). None: the sample estimates them."""
        return None


def _records(person: Person) -> list[AdultRecord | RemovalRecord]:
    return [*person.ice, *person.removals]


# ---------------------------------------------------------------------------------------------
# The comparisons. The m values are the shares measured on the shared sample's true pairs
# (rounded, never below 0.001).
# ---------------------------------------------------------------------------------------------


def _sharing_counts(
    of_children: Sequence[AbstractSet[str]],
    of_people: Sequence[AbstractSet[str]],
    same: Level,
    different: Level,
    missing: Level,
) -> Counter[int]:
    """The levels of every pair of a comparison that asks whether a child and a person share a
    value (``same``), do not (``different``), or one has none (``missing``), counted from who
    holds which value; the children of one value set are counted once."""
    holders: dict[str, list[int]] = defaultdict(list)
    for k, values in enumerate(of_people):
        for value in values:
            holders[value].append(k)
    holding = sum(bool(values) for values in of_people)
    shared = present = 0
    for values, n in Counter(v for v in of_children if v).items():
        present += n
        if len(values) == 1:  # most children: a person holds a value once
            (value,) = values
            shared += n * len(holders.get(value, ()))
        else:
            shared += n * len({k for value in values for k in holders.get(value, ())})
    both = present * holding
    return Counter(
        {
            same.index: shared,
            different.index: both - shared,
            missing.index: len(of_children) * len(of_people) - both,
        }
    )


class _Days(NamedTuple):
    """Who was apprehended when (``person.app_dates``: the ICE records' dates), for counting date
    levels over every pair: the people of one date counted by it, the few of several one by one."""

    one_day: Counter[date]
    #: the people of several dates, under each of theirs, and the earliest of each
    several: dict[date, list[int]]
    earliest: dict[int, date]
    #: every dated person's earliest date, sorted
    firsts: list[date]

    @classmethod
    def of(cls, people: Sequence[Person]) -> _Days:
        one_day: Counter[date] = Counter()
        several: dict[date, list[int]] = defaultdict(list)
        earliest: dict[int, date] = {}
        firsts: list[date] = []
        for k, person in enumerate(people):
            days = {a.apprehension_date for a in person.ice if a.apprehension_date}
            if not days:
                continue
            firsts.append(min(days))
            if len(days) == 1:
                one_day[firsts[-1]] += 1
                continue
            earliest[k] = firsts[-1]
            for day in days:
                several[day].append(k)
        firsts.sort()
        return cls(one_day, several, earliest, firsts)


class Event(Comparison):
    name = "event"
    reads = ("child.events", "person.events")
    blocking = ("ev",)
    SAME = Level("same apprehension event id", 0.28, 0.00002)
    DIFFERENT = Level("different apprehension event ids", 0.001, 0.35)
    MISSING = Level("no apprehension event id on one side", 0.72, 0.65, null=True)

    def level(self, c: ChildView, p: PersonView) -> Outcome:
        if not c.events or not p.events:
            return self.MISSING, None
        return (self.SAME if c.events & p.events else self.DIFFERENT), None

    def exact_counts(self, children: Sequence[ChildView], people: Sequence[Person]) -> Counter[int]:
        # an event id is shared by a family's few records: of 12,000 random pairs none or one
        # or two share one, which moved the level's weight by up to 4.7 bits between samples
        held = [{a.event_id for a in person.ice if a.event_id} for person in people]  # person.events
        return _sharing_counts([c.events for c in children], held, self.SAME, self.DIFFERENT, self.MISSING)


class Date(Comparison):
    name = "date"
    reads = ("child.app_dates", "person.app_dates")
    SAME_DAY = Level("same apprehension date", 0.36, 0.015)
    CHILD_DAY_BEFORE = Level("child apprehended one day before the adult", 0.26, 0.015)
    CHILD_DAY_AFTER = Level("child apprehended one day after the adult", 0.11, 0.015)
    CHILD_TWO_DAYS_BEFORE = Level("child apprehended two days before the adult", 0.055, 0.015)
    CHILD_TWO_DAYS_AFTER = Level("child apprehended two days after the adult", 0.01, 0.015)
    FAR = Level("apprehension dates far apart", 0.002, 0.8)
    MISSING = Level("no apprehension date on one side", 0.2, 0.15, null=True)
    #: signed gap in days (the child's date minus the adult's) -> level
    BY_GAP: ClassVar[dict[int, Level]] = {
        0: SAME_DAY,
        -1: CHILD_DAY_BEFORE,
        1: CHILD_DAY_AFTER,
        -2: CHILD_TWO_DAYS_BEFORE,
        2: CHILD_TWO_DAYS_AFTER,
    }

    def level(self, c: ChildView, p: PersonView) -> Outcome:
        if not c.app_dates or not p.app_dates:
            return self.MISSING, None
        far = self.FAR
        best = far
        for cd in c.app_dates:
            for pd in p.app_dates:
                lv = self.BY_GAP.get((cd - pd).days, far)
                if lv.index < best.index:
                    best = lv
        return best, None

    def exact_counts(self, children: Sequence[ChildView], people: Sequence[Person]) -> Counter[int]:
        # a pair's level is set by the dates within two days of each other, so each child's
        # date set meets only the people apprehended near its dates (every other dated person is
        # FAR); children of the same dates are counted once
        held = _Days.of(people)
        dated = len(held.firsts)
        gaps = sorted(self.BY_GAP.items(), key=lambda item: item[1].index)  # best level first
        counts: Counter[int] = Counter()
        present = 0
        for child_days, n in Counter(c.app_dates for c in children if c.app_dates).items():
            present += n
            near: dict[date, int] = {}  # a person's date near the child's -> its best level
            for gap, lv in gaps:
                for cd in child_days:
                    near.setdefault(cd - timedelta(days=gap), lv.index)
            best: dict[int, int] = {}
            met = 0
            for day, index in near.items():
                counts[index] += n * held.one_day.get(day, 0)
                met += held.one_day.get(day, 0)
                for k in held.several.get(day, ()):
                    if index < best.get(k, self.FAR.index):
                        best[k] = index
            for index, m in Counter(best.values()).items():
                counts[index] += n * m
            counts[self.FAR.index] += n * (dated - met - len(best))
        counts[self.MISSING.index] = len(children) * len(people) - present * dated
        return counts


class Station(Comparison):
    name = "station"
    reads = ("child.stations", "person.stations")
    blocking = ("ds",)
    SAME = Level("same apprehension station", 0.6, 0.05)
    DIFFERENT = Level("different apprehension stations", 0.001, 0.6)
    MISSING = Level("no apprehension station on one side", 0.4, 0.35, null=True)

    def level(self, c: ChildView, p: PersonView) -> Outcome:
        if not c.stations or not p.stations:
            return self.MISSING, None
        return (self.SAME if c.stations & p.stations else self.DIFFERENT), None

    def exact_counts(self, children: Sequence[ChildView], people: Sequence[Person]) -> Counter[int]:
        held = [{a.station for a in person.ice if a.station} for person in people]  # person.stations
        return _sharing_counts([c.stations for c in children], held, self.SAME, self.DIFFERENT, self.MISSING)


class Admitted(Comparison):
    name = "admitted"
    reads = ("child.admits", "person.app_dates")
    WITHIN_DAYS = Level("child admitted to shelter within days of the adult's apprehension", 0.95, 0.1)
    WEEK_LATER = Level("child admitted to shelter a week or more after the adult's apprehension", 0.03, 0.2)
    BEFORE = Level("child admitted to shelter before the adult's apprehension", 0.02, 0.7)
    MISSING = Level("child has an apprehension date, or no admission date", 1.0, 1.0, null=True)

    def level(self, c: ChildView, p: PersonView) -> Outcome:
        if not c.admits or not p.app_dates:
            return self.MISSING, None
        best = self.BEFORE
        lo, hi = ADMIT_WINDOW
        for a in c.admits:
            for pd in p.app_dates:
                gap = (a - pd).days
                if lo <= gap <= hi:
                    return self.WITHIN_DAYS, None
                if gap > hi:
                    best = self.WEEK_LATER
        return best, None

    def exact_counts(self, children: Sequence[ChildView], people: Sequence[Person]) -> Counter[int]:
        # a person is WITHIN when one of its dates is in the window before one of the child's
        # admissions, else WEEK_LATER when its earliest date is more than the window before the
        # child's latest admission, else BEFORE; children of the same admissions are counted once
        lo, hi = ADMIT_WINDOW
        held = _Days.of(people)
        dated = len(held.firsts)
        counts: Counter[int] = Counter()
        present = 0
        for admits, n in Counter(c.admits for c in children if c.admits).items():
            present += n
            cut = max(admits) - timedelta(days=hi)  # an earliest date before it: WEEK_LATER
            window = {a - timedelta(days=gap) for a in admits for gap in range(lo, hi + 1)}
            within = sum(held.one_day.get(day, 0) for day in window)
            within_earlier = sum(held.one_day.get(day, 0) for day in window if day < cut)
            multi = {k for day in window for k in held.several.get(day, ())}
            within += len(multi)
            within_earlier += sum(held.earliest[k] < cut for k in multi)
            week_later = bisect.bisect_left(held.firsts, cut) - within_earlier
            counts[self.WITHIN_DAYS.index] += n * within
            counts[self.WEEK_LATER.index] += n * week_later
            counts[self.BEFORE.index] += n * (dated - within - week_later)
        counts[self.MISSING.index] = len(children) * len(people) - present * dated
        return counts


def _parent_sex(relation: str | None) -> str | None:
    if not relation:
        return None
    rel = relation.lower()
    if rel in ("mother", "mom", "madre"):
        return "F"
    if rel in ("father", "dad", "padre"):
        return "M"
    return None


def _expected_sex(c: ChildView) -> str | None:
    sexes = {_parent_sex(rel) for _, rel in c.parents} - {None}
    return sexes.pop() if len(sexes) == 1 else None


class Surname(Comparison):
    name = "surname"
    reads = (
        "child.surnames",
        "child.joined",
        "child.parents",
        "person.first_surnames",
        "person.surnames",
        "person.joined",
        "person.sexes",
    )
    blocking = ("dn", "un")
    SPANISH = Level("child's surname in the parent's place (Spanish naming)", 0.76, 0.03, tf=True)
    BOTH = Level("child carries the adult's surnames", 0.08, 0.002, tf=True)
    SHARED = Level("child shares a surname with the adult", 0.056, 0.05, tf=True)
    NEAR = Level("child's surname near the adult's (typo)", 0.031, 0.01)
    SINGLE_DIFFERS = Level("child's single surname differs from the adult's", 0.07, 0.2)
    NONE_COMMON = Level("no surname in common", 0.002, 0.7)

    def level(self, c: ChildView, p: PersonView) -> Outcome:
        if not c.surnames or not p.first_surnames:
            return (self.NONE_COMMON if c.surnames else self.SINGLE_DIFFERS), None
        sex = next(iter(p.sexes)) if len(p.sexes) == 1 else _expected_sex(c)
        two = any(len(s) >= 2 for s in c.surnames)
        exact_pos: str | None = None
        exact_any: str | None = None
        near: list[tuple[str, str]] = []
        for ps in sorted(p.first_surnames):
            for joined in c.joined:
                as_first = joined.startswith(ps)
                as_second = two and joined.endswith(ps) and not as_first
                if (sex != "F" and as_first) or (sex != "M" and as_second):
                    exact_pos = ps
                elif as_first or as_second:
                    exact_any = ps
                else:
                    near.append((ps, joined))
        if exact_pos is None:
            # the adult's surnames run together ("GOMEZYPEREZ"): the child's surname begins them
            for s in c.surnames:
                for pos, tok in enumerate(s[:2]):
                    fits = sex != "F" if pos == 0 else sex != "M"
                    if fits and len(tok) >= 4 and any(pj.startswith(tok) for pj in p.joined):
                        exact_pos = tok
        if exact_pos:
            return self.SPANISH, exact_pos
        # a single mother may give the child her own surnames, both of them
        if two:
            for s in c.surnames:
                if len(s) >= 2 and s[0] in p.first_surnames and s[1] in p.surnames:
                    return self.BOTH, s[0]
        if exact_any:
            return self.SHARED, exact_any
        shared = sorted({t for s in c.surnames for t in s} & p.surnames)
        if shared:
            return self.SHARED, shared[0]
        # typos are the last resort (and the dearest test)
        if any(prefix_near(ps, joined) or (two and suffix_near(ps, joined)) for ps, joined in near):
            return self.NEAR, None
        return (self.NONE_COMMON if two else self.SINGLE_DIFFERS), None

    def tf_names(self, children: Sequence[ChildView], people: Sequence[Person]) -> list[AbstractSet[str]]:
        return [{t for r in _records(person) for t in surname_tokens(r.last_name)} for person in people]


class ParentName(Comparison):
    name = "parent_name"
    reads = ("child.parents", "person.given", "person.second_given", "person.surnames")
    blocking = ("dg", "dn", "nm")
    MATCHES = Level("reported parent name matches the adult", 0.36, 0.0005, tf=True)
    GIVEN_MATCHES = Level("reported parent given name matches", 0.107, 0.01, tf=True)
    NEAR = Level("reported parent name near the adult's (typo)", 0.06, 0.005, tf=True)
    SECOND_GIVEN_DIFFERS = Level(
        "reported parent's second given name differs from the adult's", 0.005, 0.003, tf=True
    )
    DIFFERS = Level("reported parent name differs", 0.01, 0.5)
    MISSING = Level("no reported parent name", 0.44, 0.45, null=True)

    def level(self, c: ChildView, p: PersonView) -> Outcome:
        best: Outcome = (self.MISSING, None)
        for toks, _ in c.parents:
            if not toks:
                continue
            g, rest = toks[0], toks[1:]
            if g in p.given:
                # the second token may be a second given name or a surname; one that is neither,
                # where the adult's records do carry a second given name, contradicts
                second = rest[0] if rest else None
                if (
                    second is not None
                    and p.second_given
                    and not any_near(second, p.given)
                    and not any_near(second, p.surnames)
                ):
                    lv = self.SECOND_GIVEN_DIFFERS
                elif any(any_near(t, p.surnames) or t in p.given for t in rest):
                    lv = self.MATCHES
                else:
                    lv = self.GIVEN_MATCHES
            elif any_near(g, p.given):
                lv = self.NEAR
            else:
                lv = self.DIFFERS
            if lv.index < best[0].index:
                best = (lv, g if lv.tf else None)
        return best

    def tf_names(self, children: Sequence[ChildView], people: Sequence[Person]) -> list[AbstractSet[str]]:
        return [{t for r in _records(person) for t in given_tokens(r.first_name)} for person in people]


class RelationSex(Comparison):
    name = "relation_sex"
    reads = ("child.parents", "person.sexes")
    FITS = Level("reported relation fits the adult's sex", 0.556, 0.33)
    CONTRADICTS = Level("reported relation contradicts the adult's sex", 0.001, 0.27)
    MISSING = Level("no reported relation, or no single sex of the adult", 0.44, 0.4, null=True)

    def level(self, c: ChildView, p: PersonView) -> Outcome:
        want = _expected_sex(c)
        if want is None or len(p.sexes) != 1:
            return self.MISSING, None
        return (self.FITS if want in p.sexes else self.CONTRADICTS), None


def _claim_name_matches(claim_given: tuple[str, ...], claim_surnames: tuple[str, ...], c: ChildView) -> bool:
    if not claim_given or not any_near(claim_given[0], c.given):
        return False
    if not claim_surnames:
        return True
    s = claim_surnames[0]
    return any(prefix_near(s, j) or j.startswith(s) for j in c.joined) or any_near(
        s, {t for sn in c.surnames for t in sn}
    )


class Claimed(Comparison):
    name = "claimed"
    reads = ("child.given", "child.joined", "child.surnames", "child.dobs", "person.claims")
    blocking = ("dc", "dd", "cl", "cd")
    NAME_AND_DOB = Level("adult claimed this child by name and date of birth", 0.31, 0.000001, tf=True)
    NAME = Level("adult claimed this child by name", 0.33, 0.001, tf=True)
    SURNAME_AND_DOB = Level("adult claimed a child with this surname and date of birth", 0.004, 0.0002)
    NAME_OTHER_DOB = Level(
        "adult claimed this child's name with another date of birth", 0.002, 0.001, tf=True
    )
    OTHERS_ONLY = Level("adult claimed other children only", 0.06, 0.15)
    MISSING = Level("adult claimed no children", 0.33, 0.85, null=True)

    def level(self, c: ChildView, p: PersonView) -> Outcome:
        if not p.claims:
            return self.MISSING, None
        best: Outcome = (self.OTHERS_ONLY, None)
        for cg, cs, cdob in p.claims:
            named = _claim_name_matches(cg, cs, c)
            dob_ok = cdob is not None and any(dob_compatible(cdob, d) for d in c.dobs)
            if named:
                if dob_ok:
                    return self.NAME_AND_DOB, cg[0]
                lv = self.NAME if cdob is None or not c.dobs else self.NAME_OTHER_DOB
            elif dob_ok and cs and any(prefix_near(cs[0], j) for j in c.joined):
                lv = self.SURNAME_AND_DOB
            else:
                lv = self.OTHERS_ONLY
            if lv.index < best[0].index:
                best = (lv, cg[0] if lv.tf else None)
        return best

    def tf_names(self, children: Sequence[ChildView], people: Sequence[Person]) -> list[AbstractSet[str]]:
        return [c.given for c in children]


class Country(Comparison):
    name = "country"
    reads = ("child.countries", "person.countries")
    SAME = Level("same country", 0.97, 0.3)
    DIFFERENT = Level("different country", 0.001, 0.69)
    MISSING = Level("no country on one side", 0.03, 0.01, null=True)

    def level(self, c: ChildView, p: PersonView) -> Outcome:
        if not c.countries or not p.countries:
            return self.MISSING, None
        return (self.SAME if c.countries & p.countries else self.DIFFERENT), None


class AgeGap(Comparison):
    name = "age_gap"
    reads = ("child.dobs", "person.dobs")
    PLAUSIBLE = Level("plausible parent age gap", 0.935, 0.8)
    BORDERLINE = Level("borderline parent age gap", 0.006, 0.07)
    IMPLAUSIBLE = Level("implausible parent age gap", 0.002, 0.07)
    MISSING = Level("no date of birth on one side", 0.057, 0.06, null=True)

    def level(self, c: ChildView, p: PersonView) -> Outcome:
        if not c.dobs or not p.dobs:
            return self.MISSING, None
        best = self.IMPLAUSIBLE
        for cd in c.dobs:
            for pd in p.dobs:
                gap = (cd - pd).days / 365.25
                if 14 <= gap <= 55:
                    return self.PLAUSIBLE, None
                if 11 <= gap <= 65:
                    best = self.BORDERLINE
        return best, None


#: the registry: every comparison of the model, in the order of the comparison vector
COMPARISONS: tuple[Comparison, ...] = (
    Event(),
    Date(),
    Station(),
    Admitted(),
    Surname(),
    ParentName(),
    RelationSex(),
    Claimed(),
    Country(),
    AgeGap(),
)
FIELDS: tuple[str, ...] = tuple(comp.name for comp in COMPARISONS)
if len(set(FIELDS)) != len(FIELDS):
    raise TypeError(f"two comparisons share a name: {FIELDS}")

#: a comparison vector: one level index per comparison of COMPARISONS, and the agreeing names
Gamma = tuple[tuple[int, ...], tuple[str | None, ...]]

_LEVEL_OF = tuple(comp.level for comp in COMPARISONS)


def compare(c: ChildView, p: PersonView) -> Gamma:
    """The comparison vector of a child and a person: a level per comparison, agreeing names."""
    out = [fn(c, p) for fn in _LEVEL_OF]
    return tuple(o[0].index for o in out), tuple(o[1] for o in out)


def level_of(gamma: Gamma, name: str) -> Level:
    """The level a comparison vector holds for the comparison ``name``."""
    f = FIELDS.index(name)
    return COMPARISONS[f].levels[gamma[0][f]]
