"""Parent–child linking: blocking, comparisons, a Fellegi–Sunter model, assignment.

1. **Blocking** never compares all pairs: a child meets only the people it shares a key with --
   the apprehension event, or a name on the adult's apprehension day (the days around the
   child's apprehension date, or for a child without one the days before its admission to
   shelter): the station, a surname, the reported parent's given name, a name or date of birth
   among the children the adult claimed; a DNA result. Children without any date, and adults
   without an apprehension date, fall back to unscoped name keys. Key hits give a cheap
   pre-score; only the best few people per child (within a margin of the best) are compared in
   full.
2. **Comparisons** turn each (child, person) pair into one discrete level per field (event, the
   signed apprehension date gap, station, admission after the adult's apprehension, surnames under
   Spanish naming, the reported parent name, the reported relation against the adult's sex,
   claimed children, country, age gap), the best over all records of both sides.
3. **Model**: the m-probabilities (how often a true parent shows each level) are documented
   defaults, measured on the shared sample's true pairs. The u-probabilities (how often an
   unrelated adult does) are estimated on every snapshot from random child–person pairs, and the
   levels that agree on a name are adjusted by that name's frequency (a shared "GARCIA" says far
   less than a shared "AJANEL"). A pair's weight is the sum of log2(m/u).
4. **Assignment**: each person is a priori equally likely to be a child's parent, so a candidate's
   odds are its likelihood ratio over the number of people; the posterior of a candidate is its
   odds over the sum of every candidate's odds plus the mass of "the parent is not among them".
   Two close candidates split the probability, and the child is flagged for review. A link is kept
   only when its posterior clears the bar, because a wrong parent is worse than none. Several
   children may share a parent (siblings).
5. **Families**: a second pass revisits the children without a confident link. A sibling (same
   surnames, apprehended or admitted with the child) confidently linked to an adult vouches for
   that adult (a fixed weight, counted once, not once per shared field); an adult confidently
   linked only to children of another family weighs less as this child's parent.

DNA results are decisive: ``match`` (or ``exclusion``, which still names the adult the child was
apprehended with) links the tested adult outright; ``pending``/``inconclusive`` only add weight.
"""

from __future__ import annotations

import heapq
import math
import random
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from pipeline.match.adults import Person
from pipeline.match.children import ChildGroup
from pipeline.match.compare import (
    any_near,
    dob_compatible,
    full_name_tokens,
    given_tokens,
    is_us,
    name_near,
    prefix_near,
    suffix_near,
    surname_tokens,
)
from pipeline.records import AdultRecord, DnaResult, RemovalRecord

# ---------------------------------------------------------------------------------------------
# Settings of the model
# ---------------------------------------------------------------------------------------------

#: the smallest posterior that keeps a link; below it the child gets no parent
LINK_THRESHOLD = 0.8
#: a kept link below this posterior, or with a rival above REVIEW_RIVAL, goes to review
REVIEW_THRESHOLD = 0.95
REVIEW_RIVAL = 0.05
#: the smallest posterior of a best candidate that is worth a reviewer's time when not linked
REVIEW_FLOOR = 0.2
#: prior probability that a child's parent is in the feeds at all
PARENT_PRESENT = 0.95
#: share of present parents that blocking brings among the compared candidates
BLOCKING_RECALL = 0.97
#: people compared in full per child, after the blocking pre-score
MAX_CANDIDATES = 18
#: ... and of those, only people whose pre-score is within this many points of the best one
CANDIDATE_MARGIN = 8.0
#: key buckets larger than this are too unspecific to block on
MAX_BUCKET = 150
#: a key bucket this small or smaller adds up to log2(SPECIFIC_BUCKET) to its people's pre-score
SPECIFIC_BUCKET = 32.0
#: random child–person pairs drawn to estimate the u-probabilities, and the weight (in pairs)
#: of the default u values
U_SAMPLE_PAIRS = 12_000
U_PRIOR_STRENGTH = 300.0
#: clamp of one comparison's weight, in bits, and of a name-frequency adjustment
MAX_WEIGHT = 16.0
MAX_TF_FACTOR = 20.0
#: weight of a pending/inconclusive DNA test of the pair (the adult named the child)
DNA_TESTED_WEIGHT = 8.0
#: days between an adult's apprehension and the admission of a child without an apprehension date
ADMIT_WINDOW = (0, 6)


@dataclass(frozen=True, slots=True)
class Level:
    """One outcome of a comparison: its evidence text, m (true pairs) and default u (random pairs).

    A level with an empty label means "a value is missing": it weighs nothing either way.
    """

    label: str
    m: float
    u: float


#: comparison -> its levels, in the order the comparison functions return them. The m values are
#: the shares measured on the shared sample's true pairs (rounded, never below 0.001).
COMPARISONS: dict[str, tuple[Level, ...]] = {
    "event": (
        Level("same apprehension event id", 0.28, 0.00002),
        Level("different apprehension event ids", 0.001, 0.35),
        Level("", 0.72, 0.65),
    ),
    "date": (
        Level("same apprehension date", 0.36, 0.015),
        Level("child apprehended one day before the adult", 0.26, 0.015),
        Level("child apprehended one day after the adult", 0.11, 0.015),
        Level("child apprehended two days before the adult", 0.055, 0.015),
        Level("child apprehended two days after the adult", 0.01, 0.015),
        Level("apprehension dates far apart", 0.002, 0.8),
        Level("", 0.2, 0.15),
    ),
    "station": (
        Level("same apprehension station", 0.6, 0.05),
        Level("different apprehension stations", 0.001, 0.6),
        Level("", 0.4, 0.35),
    ),
    "admitted": (
        Level("child admitted to shelter within days of the adult's apprehension", 0.95, 0.1),
        Level("child admitted to shelter a week or more after the adult's apprehension", 0.03, 0.2),
        Level("child admitted to shelter before the adult's apprehension", 0.02, 0.7),
        Level("", 1.0, 1.0),
    ),
    "surname": (
        Level("child's surname in the parent's place (Spanish naming)", 0.76, 0.03),
        Level("child carries the adult's surnames", 0.08, 0.002),
        Level("child shares a surname with the adult", 0.056, 0.05),
        Level("child's surname near the adult's (typo)", 0.031, 0.01),
        Level("child's single surname differs from the adult's", 0.07, 0.2),
        Level("no surname in common", 0.002, 0.7),
    ),
    "parent_name": (
        Level("reported parent name matches the adult", 0.36, 0.0005),
        Level("reported parent given name matches", 0.107, 0.01),
        Level("reported parent name near the adult's (typo)", 0.06, 0.005),
        Level("reported parent's second given name differs from the adult's", 0.005, 0.003),
        Level("reported parent name differs", 0.01, 0.5),
        Level("", 0.44, 0.45),
    ),
    "relation_sex": (
        Level("reported relation fits the adult's sex", 0.556, 0.33),
        Level("reported relation contradicts the adult's sex", 0.001, 0.27),
        Level("", 0.44, 0.4),
    ),
    "claimed": (
        Level("adult claimed this child by name and date of birth", 0.31, 0.000001),
        Level("adult claimed this child by name", 0.33, 0.001),
        Level("adult claimed a child with this surname and date of birth", 0.004, 0.0002),
        Level("adult claimed this child's name with another date of birth", 0.002, 0.001),
        Level("adult claimed other children only", 0.06, 0.15),
        Level("", 0.33, 0.85),
    ),
    "country": (
        Level("same country", 0.97, 0.3),
        Level("different country", 0.001, 0.69),
        Level("", 0.03, 0.01),
    ),
    "age_gap": (
        Level("plausible parent age gap", 0.935, 0.8),
        Level("borderline parent age gap", 0.006, 0.07),
        Level("implausible parent age gap", 0.002, 0.07),
        Level("", 0.057, 0.06),
    ),
}
FIELDS: tuple[str, ...] = tuple(COMPARISONS)
#: fields whose agreeing levels are adjusted by the frequency of the name that agreed
TF_FIELDS = frozenset({"surname", "parent_name", "claimed"})


# ---------------------------------------------------------------------------------------------
# Views: what the comparisons read, computed once per child group and per person
# ---------------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------------
# Comparisons: each returns the index of its level in COMPARISONS, and the name that agreed
# (for the frequency adjustment) or None
# ---------------------------------------------------------------------------------------------

Outcome = tuple[int, str | None]


def cmp_event(c: ChildView, p: PersonView) -> Outcome:
    if not c.events or not p.events:
        return 2, None
    return (0 if c.events & p.events else 1), None


#: signed gap (child's date minus the adult's) -> level of "date", best first
_DATE_LEVEL = {0: 0, -1: 1, 1: 2, -2: 3, 2: 4}


def cmp_date(c: ChildView, p: PersonView) -> Outcome:
    if not c.app_dates or not p.app_dates:
        return 6, None
    best = 5
    for cd in c.app_dates:
        for pd in p.app_dates:
            level = _DATE_LEVEL.get((cd - pd).days, 5)
            if level < best:
                best = level
    return best, None


def cmp_station(c: ChildView, p: PersonView) -> Outcome:
    if not c.stations or not p.stations:
        return 2, None
    return (0 if c.stations & p.stations else 1), None


def cmp_admitted(c: ChildView, p: PersonView) -> Outcome:
    if not c.admits or not p.app_dates:
        return 3, None
    best = 2
    lo, hi = ADMIT_WINDOW
    for a in c.admits:
        for pd in p.app_dates:
            gap = (a - pd).days
            if lo <= gap <= hi:
                return 0, None
            if gap > hi:
                best = 1
    return best, None


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


def cmp_surname(c: ChildView, p: PersonView) -> Outcome:
    if not c.surnames or not p.first_surnames:
        return (5 if c.surnames else 4), None
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
        return 0, exact_pos
    # a single mother may give the child her own surnames, both of them
    if two:
        for s in c.surnames:
            if len(s) >= 2 and s[0] in p.first_surnames and s[1] in p.surnames:
                return 1, s[0]
    if exact_any:
        return 2, exact_any
    shared = sorted({t for s in c.surnames for t in s} & p.surnames)
    if shared:
        return 2, shared[0]
    # typos are the last resort (and the dearest test)
    if any(prefix_near(ps, joined) or (two and suffix_near(ps, joined)) for ps, joined in near):
        return 3, None
    return (5 if two else 4), None


def cmp_parent_name(c: ChildView, p: PersonView) -> Outcome:
    best: Outcome = (5, None)
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
                level = 3
            elif any(any_near(t, p.surnames) or t in p.given for t in rest):
                level = 0
            else:
                level = 1
        elif any_near(g, p.given):
            level = 2
        else:
            level = 4
        if level < best[0]:
            best = (level, g if level != 4 else None)
    return best


def cmp_relation_sex(c: ChildView, p: PersonView) -> Outcome:
    want = _expected_sex(c)
    if want is None or len(p.sexes) != 1:
        return 2, None
    return (0 if want in p.sexes else 1), None


def _claim_name_matches(claim_given: tuple[str, ...], claim_surnames: tuple[str, ...], c: ChildView) -> bool:
    if not claim_given or not any_near(claim_given[0], c.given):
        return False
    if not claim_surnames:
        return True
    s = claim_surnames[0]
    return any(prefix_near(s, j) or j.startswith(s) for j in c.joined) or any_near(
        s, {t for sn in c.surnames for t in sn}
    )


def cmp_claimed(c: ChildView, p: PersonView) -> Outcome:
    if not p.claims:
        return 5, None
    best: Outcome = (4, None)
    for cg, cs, cdob in p.claims:
        named = _claim_name_matches(cg, cs, c)
        dob_ok = cdob is not None and any(dob_compatible(cdob, d) for d in c.dobs)
        if named:
            if dob_ok:
                return 0, cg[0]
            level = 1 if cdob is None or not c.dobs else 3
        elif dob_ok and cs and any(prefix_near(cs[0], j) for j in c.joined):
            level = 2
        else:
            level = 4
        if level < best[0]:
            best = (level, cg[0] if level in (1, 3) else None)
    return best


def cmp_country(c: ChildView, p: PersonView) -> Outcome:
    if not c.countries or not p.countries:
        return 2, None
    return (0 if c.countries & p.countries else 1), None


def cmp_age_gap(c: ChildView, p: PersonView) -> Outcome:
    if not c.dobs or not p.dobs:
        return 3, None
    best = 2
    for cd in c.dobs:
        for pd in p.dobs:
            gap = (cd - pd).days / 365.25
            if 14 <= gap <= 55:
                return 0, None
            if 11 <= gap <= 65:
                best = 1
    return best, None


_COMPARE: dict[str, Callable[[ChildView, PersonView], Outcome]] = {
    "event": cmp_event,
    "date": cmp_date,
    "station": cmp_station,
    "admitted": cmp_admitted,
    "surname": cmp_surname,
    "parent_name": cmp_parent_name,
    "relation_sex": cmp_relation_sex,
    "claimed": cmp_claimed,
    "country": cmp_country,
    "age_gap": cmp_age_gap,
}
_FUNCS = tuple(_COMPARE[name] for name in FIELDS)

#: a comparison vector: one level per field, and the agreeing name per field (or None)
Gamma = tuple[tuple[int, ...], tuple[str | None, ...]]


def compare(c: ChildView, p: PersonView) -> Gamma:
    """The comparison vector of a child and a person: levels per field of FIELDS, agreeing names."""
    out = [fn(c, p) for fn in _FUNCS]
    return tuple(o[0] for o in out), tuple(o[1] for o in out)


# ---------------------------------------------------------------------------------------------
# Model
# ---------------------------------------------------------------------------------------------


def _missing(name: str) -> int | None:
    for i, lv in enumerate(COMPARISONS[name]):
        if not lv.label:
            return i
    return None


#: per field, the level that means "a value is missing": it weighs nothing either way
MISSING: tuple[int | None, ...] = tuple(_missing(name) for name in FIELDS)
_TF_INDEX: tuple[bool, ...] = tuple(name in TF_FIELDS for name in FIELDS)


def _conditional(values: list[float], miss: int | None) -> list[float]:
    """Shares among the levels that are not "missing" (the missing level gets 1.0)."""
    total = sum(v for i, v in enumerate(values) if i != miss)
    return [1.0 if i == miss else v / total for i, v in enumerate(values)]


@dataclass(slots=True)
class Model:
    """Match weights per field and level, in bits, with the name-frequency tables.

    ``raw[f][l]`` is log2(m/u) of level ``l`` of field ``f`` among pairs where the field is not
    missing. ``shares[f]`` gives, for a frequency-adjusted field, the share of people carrying each
    name, and ``mean_share[f]`` the share of the name an agreeing random pair shares on average.
    """

    raw: list[list[float]]
    shares: dict[int, dict[str, float]] = field(default_factory=dict)
    mean_share: dict[int, float] = field(default_factory=dict)
    #: comparison vectors repeat a great deal: their total weights, once computed
    memo: dict[Gamma, float] = field(default_factory=dict, repr=False)

    def field_weight(self, f: int, level: int, term: str | None) -> float:
        """The weight of one field's outcome, adjusted by the agreeing name's frequency."""
        if level == MISSING[f]:
            return 0.0
        w = self.raw[f][level]
        if term is not None and f in self.shares:
            share = self.shares[f].get(term)
            if share is not None:
                factor = share / self.mean_share[f]
                w -= math.log2(min(MAX_TF_FACTOR, max(1.0 / MAX_TF_FACTOR, factor)))
        return max(-MAX_WEIGHT, min(MAX_WEIGHT, w))

    def weights(self, gamma: Gamma) -> list[float]:
        """The weight of every field of one comparison vector."""
        levels, terms = gamma
        return [self.field_weight(f, lvl, terms[f]) for f, lvl in enumerate(levels)]

    def weight(self, gamma: Gamma) -> float:
        """The total match weight of one comparison vector."""
        w = self.memo.get(gamma)
        if w is None:
            w = self.memo[gamma] = sum(self.weights(gamma))
        return w


def prior_model(u_counts: Sequence[Counter[int]] | None = None) -> Model:
    """The model from the documented m values and the u values, updated by observed counts.

    ``u_counts[f][level]`` counts random child–person pairs per level; the documented u values
    act as U_PRIOR_STRENGTH pseudo-pairs, which keeps levels that hardly occur near their default.
    """
    raw: list[list[float]] = []
    for f, name in enumerate(FIELDS):
        miss = MISSING[f]
        levels = COMPARISONS[name]
        m = _conditional([lv.m for lv in levels], miss)
        u = _conditional([lv.u for lv in levels], miss)
        if u_counts is not None:
            counts = u_counts[f]
            seen = sum(n for lvl, n in counts.items() if lvl != miss)
            u = [
                1.0 if i == miss else (counts.get(i, 0) + U_PRIOR_STRENGTH * u[i]) / (seen + U_PRIOR_STRENGTH)
                for i in range(len(levels))
            ]
        raw.append([0.0 if i == miss else math.log2(m[i] / u[i]) for i in range(len(levels))])
    return Model(raw)


def _shares(names: Sequence[set[str]]) -> tuple[dict[str, float], float]:
    """Share of the entities carrying each name, and the mean share of a name two random
    entities agree on (sum of squares over sum)."""
    counts: Counter[str] = Counter()
    for toks in names:
        counts.update(toks)
    n = max(1, len(names))
    shares = {t: k / n for t, k in counts.items()}
    total = sum(shares.values())
    mean = sum(s * s for s in shares.values()) / total if total else 1.0
    return shares, mean


def estimate_model(
    children: Sequence[ChildView], pview: Callable[[int], PersonView], people: Sequence[Person], seed: int = 0
) -> Model:
    """Estimate u on random child–person pairs of this snapshot, and the name frequencies."""
    counts: list[Counter[int]] = [Counter() for _ in FIELDS]
    n_people = len(people)
    if children and n_people:
        rng = random.Random(seed)
        if len(children) * n_people <= U_SAMPLE_PAIRS:
            pairs = [(i, pid) for i in range(len(children)) for pid in range(n_people)]
        else:
            pairs = [(rng.randrange(len(children)), rng.randrange(n_people)) for _ in range(U_SAMPLE_PAIRS)]
        for i, pid in pairs:
            levels, _ = compare(children[i], pview(pid))
            for f, lvl in enumerate(levels):
                counts[f][lvl] += 1
    model = prior_model(counts)
    surnames: list[set[str]] = []
    given: list[set[str]] = []
    for person in people:
        records: list[AdultRecord | RemovalRecord] = [*person.ice, *person.removals]
        surnames.append({t for r in records for t in surname_tokens(r.last_name)})
        given.append({t for r in records for t in given_tokens(r.first_name)})
    tables = {"surname": surnames, "parent_name": given, "claimed": [c.given for c in children]}
    for f, name in enumerate(FIELDS):
        if name in tables:
            model.shares[f], model.mean_share[f] = _shares(tables[name])
    return model


# ---------------------------------------------------------------------------------------------
# Blocking
# ---------------------------------------------------------------------------------------------


class BlockingIndex:
    """Blocking keys of every person.

    Name keys are scoped to the day of the person's apprehension ("on that day, an adult named
    GARCIA"), so a child meets only adults apprehended when it was: namesakes from other weeks
    never crowd the candidate list. People without an apprehension date, and children without
    any date, fall back to unscoped name keys.
    """

    def __init__(self, people: Iterable[Person], oversized: Iterable[tuple[object, ...]] = ()) -> None:
        #: keys too unspecific to block on although this index may hold only part of their
        #: bucket (a partition's index holds the people its children can meet, see partition.py)
        self.oversized = frozenset(oversized)
        self.by_key: dict[tuple[object, ...], list[int]] = defaultdict(list)
        self.by_record: dict[str, int] = {}
        self.by_a_number: dict[str, set[int]] = defaultdict(set)
        for person in people:
            pid = person.pid
            keys: set[tuple[object, ...]] = set()
            dated = any(a.apprehension_date for a in person.ice)
            for a in person.ice:
                self.by_record[a.record_id] = pid
                if a.a_number:
                    self.by_a_number[a.a_number].add(pid)
                if a.event_id:
                    keys.add(("ev", a.event_id))
                given, sn = given_tokens(a.first_name), surname_tokens(a.last_name)
                claims = []
                for claim in a.claimed_children:
                    toks = full_name_tokens(claim.name)
                    if len(toks) >= 2:
                        claims.append((toks[0], toks[-1], claim.dob))
                    elif claim.dob:
                        claims.append(("", "", claim.dob))
                # unscoped keys: for children without any date
                if given and sn:
                    keys.add(("nm", given[0], sn[0]))
                for g, t, dob in claims:
                    if g:
                        keys.add(("cl", g, t))
                    if dob:
                        keys.add(("cd", dob.toordinal()))
                day = a.apprehension_date.toordinal() if a.apprehension_date else None
                if day is None:
                    if dated:
                        continue
                    # an adult without an apprehension date meets children on names alone
                    for t in sn:
                        keys.add(("un", t))
                    continue
                if a.station:
                    keys.add(("ds", day, a.station))
                for t in sn:
                    keys.add(("dn", day, t))
                for t in given:
                    keys.add(("dg", day, t))
                for g, t, dob in claims:
                    if g:
                        keys.add(("dc", day, g, t))
                    if dob:
                        keys.add(("dd", day, dob.toordinal()))
            for r in person.removals:
                self.by_record[r.record_id] = pid
                if r.a_number:
                    self.by_a_number[r.a_number].add(pid)
            for key in keys:
                self.by_key[key].append(pid)

    def hits(self, key: tuple[object, ...]) -> list[int]:
        found = self.by_key.get(key)
        if not found or len(found) > MAX_BUCKET or key in self.oversized:
            return []
        return found

    def oversized_keys(self) -> list[tuple[object, ...]]:
        """The keys whose buckets are too large to block on."""
        return [key for key, pids in self.by_key.items() if len(pids) > MAX_BUCKET]


def query_days(c: ChildView) -> dict[int, float]:
    """The days (ordinals) a child's blocking keys are scoped to, with their closeness: around
    the apprehension dates, or the days before the first admission."""
    days: dict[int, float] = {}
    for cd in c.app_dates:
        base = cd.toordinal()
        for k in (-2, -1, 0, 1, 2):
            d = base - k
            days[d] = max(days.get(d, 0.0), 1.0 if abs(k) <= 1 else 0.75)
    lo, hi = ADMIT_WINDOW
    for ad in c.admits:
        base = ad.toordinal()
        for k in range(lo, hi + 1):
            d = base - k
            days[d] = max(days.get(d, 0.0), 0.75)
    return days


def candidates_of(c: ChildView, index: BlockingIndex) -> dict[int, float]:
    """People sharing a blocking key with the child, with a cheap pre-score."""
    score: dict[int, float] = defaultdict(float)

    def add(key: tuple[object, ...], points: float) -> None:
        found = index.hits(key)
        if found:
            # a small bucket is a specific key (a rare surname on that day): it counts for more
            points += math.log2(max(1.0, SPECIFIC_BUCKET / len(found)))
            for pid in found:
                score[pid] += points

    for ev in c.events:
        add(("ev", ev), 10.0)
    surname_toks = {t for s in c.surnames for t in s}
    firsts = {s[0] for s in c.surnames}
    rp_given = {toks[0] for toks, _ in c.parents if toks}
    rp_rest = {t for toks, _ in c.parents for t in toks[1:]}
    days = query_days(c)
    dobs = [dob.toordinal() for dob in c.dobs]
    for d, near in days.items():
        for st in c.stations:
            add(("ds", d, st), 2.0 * near)
        for t in surname_toks:
            add(("dn", d, t), (2.5 if t in firsts else 2.0) * near)
        for g in rp_given:
            add(("dg", d, g), 2.0 * near)
        for t in rp_rest - surname_toks:
            add(("dn", d, t), 1.0 * near)
        for g in c.given:
            for t in surname_toks:
                add(("dc", d, g, t), (5.0 if t in firsts else 3.0) * near)
        for dob in dobs:
            add(("dd", d, dob), 2.0 * near)
    for t in surname_toks:
        add(("un", t), 1.0)
    if not days:
        # no date to scope the names by: the unscoped name keys
        for g in c.given:
            for t in surname_toks:
                add(("cl", g, t), 5.0 if t in firsts else 3.0)
        for dob in dobs:
            add(("cd", dob), 2.0)
        for toks, _ in c.parents:
            if toks:
                for t in set(toks[1:]) | surname_toks:
                    add(("nm", toks[0], t), 2.0)
    return score


def _best(pre: dict[int, float], n: int) -> list[int]:
    """The ``n`` best-scored people, best first, ties by pid: ``sorted(...)[:n]`` without sorting
    the hundreds of people a child's blocking keys can reach (only those at or above the n-th
    best score are sorted)."""
    if len(pre) > n:
        cut = heapq.nlargest(n, pre.values())[-1]
        pre = {pid: s for pid, s in pre.items() if s >= cut}
    return sorted(pre, key=lambda pid: (-pre[pid], pid))[:n]


# ---------------------------------------------------------------------------------------------
# Linking
# ---------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Link:
    """The person chosen as one child's parent (or the best rejected candidate, for review)."""

    person: Person
    score: float
    evidence: list[str]
    dna_exclusion: bool = False


@dataclass(slots=True)
class LinkOutcome:
    """What linking decided for one child group, and the runner-up candidates a reviewer sees."""

    link: Link | None
    needs_review: bool
    candidates: list[Link] = field(default_factory=list)


@dataclass(slots=True)
class DnaIndex:
    by_child: dict[str, list[DnaResult]]

    @classmethod
    def of(cls, results: Sequence[DnaResult]) -> DnaIndex:
        latest: dict[str, DnaResult] = {}
        for res in results:
            seen = latest.get(res.record_id)
            if seen is None or res.reported_at >= seen.reported_at:
                latest[res.record_id] = res
        by_child: dict[str, list[DnaResult]] = defaultdict(list)
        for res in latest.values():
            if res.child_record_id:
                by_child["R" + res.child_record_id].append(res)
            if res.child_a_number:
                by_child["A" + res.child_a_number].append(res)
        return cls(by_child)

    def for_child(self, c: ChildView) -> list[DnaResult]:
        found: dict[str, DnaResult] = {}
        for rid in c.group.record_ids:
            for res in self.by_child.get("R" + rid, ()):
                found[res.record_id] = res
        for a in c.a_numbers:
            for res in self.by_child.get("A" + a, ()):
                found[res.record_id] = res
        return sorted(found.values(), key=lambda r: (r.reported_at, r.record_id))


def dna_people(results: Sequence[DnaResult], index: BlockingIndex) -> dict[int, str]:
    """Person -> the latest DNA result of each tested pair, for one child's results."""
    out: dict[int, str] = {}
    for res in results:  # oldest first: a later result for the same person overrides
        pids: set[int] = set()
        if res.adult_record_id and res.adult_record_id in index.by_record:
            pids.add(index.by_record[res.adult_record_id])
        elif res.adult_a_number:
            pids.update(index.by_a_number.get(res.adult_a_number, ()))
        if len(pids) == 1:
            out[pids.pop()] = res.result
    return out


def _evidence(model: Model, gamma: Gamma) -> list[str]:
    items: list[tuple[float, str]] = []
    for f, w in enumerate(model.weights(gamma)):
        label = COMPARISONS[FIELDS[f]][gamma[0][f]].label
        if label and abs(w) >= 0.5:
            items.append((w, f"{label} ({w:+.1f})"))
    items.sort(key=lambda it: -abs(it[0]))
    return [text for _, text in items]


#: how many runner-up candidates a child keeps, and the smallest posterior worth showing
MAX_RUNNERS_UP = 3
CANDIDATE_FLOOR = 0.001
#: a kept link with this posterior (or a decisive DNA result or review) vouches for its adult
CONFIDENT = 0.95
#: weight of "a sibling of this child (same surnames, apprehended or admitted with it) is
#: confidently linked to this adult", with both surnames agreeing, or only the first
SIBLING_WEIGHT = 6.0
SIBLING_WEIGHT_ONE_NAME = 3.0
#: weight against an adult confidently linked only to children of another family
OTHER_FAMILY_WEIGHT = -4.0


def confident(outcome: LinkOutcome) -> bool:
    """A link the family pass does not revisit, and whose adult vouches for the child's siblings."""
    link = outcome.link
    return link is not None and not link.dna_exclusion and link.score >= CONFIDENT


def _family_names(a: ChildView, b: ChildView) -> int:
    """How far two children's surnames say they are siblings: 2 both surnames, 1 the first only
    (one record dropped the second), 0 not siblings."""
    best = 0
    for sa in a.surnames:
        for sb in b.surnames:
            if not name_near(sa[0], sb[0]):
                continue
            if len(sa) > 1 and len(sb) > 1:
                if not name_near(sa[1], sb[1]):
                    continue
                return 2
            best = 1
    return best


def _days(cv: ChildView) -> tuple[set[int], set[int]]:
    apps = {d.toordinal() for d in cv.app_dates}
    admits = {r.admitted_at.toordinal() for r in cv.group.records if r.admitted_at}
    return apps, admits


def _together(a: ChildView, b: ChildView) -> bool:
    """Apprehended together, as far as the records tell: event, station, days, country."""
    if a.events and b.events and not a.events & b.events:
        return False
    if a.stations and b.stations and not a.stations & b.stations:
        return False
    if a.countries and b.countries and not a.countries & b.countries:
        return False
    (apps_a, adm_a), (apps_b, adm_b) = _days(a), _days(b)
    if apps_a and apps_b:
        return any(abs(x - y) <= 3 for x in apps_a for y in apps_b)
    # siblings are admitted within days of each other (the first admission of each)
    return bool(adm_a and adm_b) and abs(min(adm_a) - min(adm_b)) <= 5


class _Families:
    """Confident links, indexed so that a child finds its linked siblings."""

    def __init__(self, links: Sequence[tuple[ChildView, int]]) -> None:
        self.children_of: dict[int, list[ChildView]] = defaultdict(list)
        self.by_key: dict[tuple[object, ...], list[tuple[ChildView, int]]] = defaultdict(list)
        for cv, pid in links:
            self.children_of[pid].append(cv)
            apps, admits = _days(cv)
            for t in {sn[0] for sn in cv.surnames}:
                for d in apps:
                    self.by_key[("p", t, d)].append((cv, pid))
                if admits:
                    self.by_key[("a", t, min(admits))].append((cv, pid))
        self.sizes = len(self.children_of)

    def evidence(
        self, cview: ChildView, candidates: Sequence[int]
    ) -> tuple[dict[int, float], dict[int, str]]:
        """Per person, the family weight for this child and the evidence line that says why."""
        bonus: dict[int, float] = {}
        notes: dict[int, str] = {}
        apps, admits = _days(cview)
        keys: list[tuple[object, ...]] = []
        for t in {sn[0] for sn in cview.surnames}:
            keys.extend(("p", t, d + k) for d in apps for k in range(-3, 4))
            if admits:
                keys.extend(("a", t, min(admits) + k) for k in range(-5, 6))
        for key in keys:
            for sib, pid in self.by_key.get(key, ()):
                if sib is cview:
                    continue
                names = _family_names(cview, sib)
                if not names or not _together(cview, sib):
                    continue
                w = SIBLING_WEIGHT if names == 2 else SIBLING_WEIGHT_ONE_NAME
                if w > bonus.get(pid, 0.0):
                    bonus[pid] = w
                    notes[pid] = f"sibling {sib.group.key} is linked to this adult (+{w:.1f})"
        for pid in candidates:
            if pid in bonus or pid not in self.children_of:
                continue
            if not any(_family_names(cview, other) for other in self.children_of[pid]):
                bonus[pid] = OTHER_FAMILY_WEIGHT
        return bonus, notes


@dataclass(slots=True)
class FirstLink:
    """The first pass over one child: the people a DNA test names (with the latest result), the
    (person, comparison vector) pairs compared, and the outcome. The family pass starts here."""

    cview: ChildView
    tested: dict[int, str]
    pairs: list[tuple[int, Gamma]]
    outcome: LinkOutcome


@dataclass(slots=True)
class Linker:
    """Links child groups to people under one model.

    ``people`` maps pid to person: every person, or only those a partition's children can meet
    (the first pass), or only those the family pass needs (the second); ``n_people`` is the count
    of every person of the snapshot, which sets the prior. Linking a child in a partition gives
    exactly what it gives over the whole snapshot (partition.py says why).
    """

    people: Mapping[int, Person]
    n_people: int
    model: Model
    rejected: set[tuple[str, int]] = field(default_factory=set)
    confirmed: dict[str, int] = field(default_factory=dict)
    pviews: dict[int, PersonView] = field(default_factory=dict)

    def pview(self, pid: int) -> PersonView:
        """The comparison keys of one person (built once)."""
        view = self.pviews.get(pid)
        if view is None:
            view = self.pviews[pid] = PersonView.of(self.people[pid])
        return view

    def _prior(self) -> tuple[float, float]:
        # each person is a priori equally likely to be the parent of a child whose parent is
        # in the feeds; "none of the compared candidates" keeps the rest of the mass
        prior = math.log2(PARENT_PRESENT / max(1, self.n_people))
        null = 1.0 - PARENT_PRESENT * BLOCKING_RECALL
        return prior, null

    def first_pass(self, cviews: Sequence[ChildView], index: BlockingIndex, dna: DnaIndex) -> list[FirstLink]:
        """Block, compare and decide each child on its own evidence, in the order given."""
        prior, null = self._prior()
        firsts: list[FirstLink] = []
        for cview in cviews:
            key = cview.group.key
            tested = dna_people(dna.for_child(cview), index)
            pre = candidates_of(cview, index)
            for pid in tested:
                pre[pid] = pre.get(pid, 0.0) + 100.0
            if key in self.confirmed:
                pre[self.confirmed[key]] = pre.get(self.confirmed[key], 0.0) + 100.0
            top = _best(pre, MAX_CANDIDATES)
            if top:
                floor = pre[top[0]] - CANDIDATE_MARGIN
                top = [pid for pid in top if pre[pid] >= floor]
            pairs = [(pid, compare(cview, self.pview(pid))) for pid in top if (key, pid) not in self.rejected]
            outcome = self._decide(cview, tested, pairs, self.model, prior, null)
            if outcome.link is not None and outcome.link.dna_exclusion:
                outcome.candidates = self._runners_up(cview, index, tested, prior, null)
            firsts.append(FirstLink(cview, tested, pairs, outcome))
        return firsts

    def _runners_up(
        self, cview: ChildView, index: BlockingIndex, tested: Mapping[int, str], prior: float, null: float
    ) -> list[Link]:
        """For a child whose linked adult DNA excluded: who else the evidence points to (the review
        queue's "find the real parent"), as if the tested adults were not in the feeds. The
        blocking gave the tested ones such a lead that nobody else was compared."""
        key = cview.group.key
        pre = {pid: w for pid, w in candidates_of(cview, index).items() if pid not in tested}
        top = _best(pre, MAX_CANDIDATES)
        if top:
            floor = pre[top[0]] - CANDIDATE_MARGIN
            top = [pid for pid in top if pre[pid] >= floor]
        pairs = [(pid, compare(cview, self.pview(pid))) for pid in top if (key, pid) not in self.rejected]
        if not pairs:
            return []
        # an unconfirmed decision, without the DNA verdicts: the plain weighing of the others
        alt = Linker(self.people, self.n_people, self.model, self.rejected, {}, self.pviews)
        found = alt._decide(cview, {}, pairs, self.model, prior, null)
        best = [Link(found.link.person, found.link.score, found.link.evidence)] if found.link else []
        return (best + found.candidates)[:MAX_RUNNERS_UP]

    def revisits(self, firsts: Sequence[FirstLink]) -> dict[int, tuple[dict[int, float], dict[int, str]]]:
        """The family evidence of each child the second pass revisits (by position in ``firsts``).

        A child's siblings that are already linked with confidence vouch for their parent (and an
        adult who is clearly the parent of another family is a poor candidate); only children
        without a confident link of their own are revisited. Needs no person records.
        """
        families = _Families(
            [
                (first.cview, first.outcome.link.person.pid)
                for first in firsts
                if first.outcome.link is not None and confident(first.outcome)
            ]
        )
        out: dict[int, tuple[dict[int, float], dict[int, str]]] = {}
        if not families.sizes:
            return out
        for i, first in enumerate(firsts):
            if confident(first.outcome):
                continue
            bonus, notes = families.evidence(first.cview, [pid for pid, _ in first.pairs])
            if bonus:
                out[i] = (bonus, notes)
        return out

    def revisit_people(
        self, firsts: Sequence[FirstLink], revisits: Mapping[int, tuple[dict[int, float], dict[int, str]]]
    ) -> set[int]:
        """The people the second pass reads for ``revisits``, beyond those already linked."""
        pids: set[int] = set()
        for i, (bonus, _) in revisits.items():
            first = firsts[i]
            pids.update(pid for pid, _ in first.pairs)
            pids.update(first.tested)
            pids.update(pid for pid, w in bonus.items() if w > 0)
            confirmed = self.confirmed.get(first.cview.group.key)
            if confirmed is not None:
                pids.add(confirmed)
        return pids

    def second_pass(
        self, firsts: Sequence[FirstLink], revisits: Mapping[int, tuple[dict[int, float], dict[int, str]]]
    ) -> list[LinkOutcome]:
        """Decide the revisited children again with their family evidence; one outcome per child."""
        prior, null = self._prior()
        outcomes: list[LinkOutcome] = []
        for i, first in enumerate(firsts):
            found = revisits.get(i)
            if found is None:
                outcomes.append(first.outcome)
                continue
            bonus, notes = found
            cview = first.cview
            key = cview.group.key
            have = {pid for pid, _ in first.pairs}
            extra = [
                (pid, compare(cview, self.pview(pid)))
                for pid, w in bonus.items()
                if w > 0 and pid not in have and (key, pid) not in self.rejected
            ]
            again = self._decide(
                cview, first.tested, first.pairs + extra, self.model, prior, null, bonus, notes
            )
            if again.link is not None and again.link.dna_exclusion and not again.candidates:
                again.candidates = first.outcome.candidates  # the first pass's runner-ups stand
            outcomes.append(again)
        return outcomes

    def link_all(self, cviews: Sequence[ChildView], dna: DnaIndex) -> list[LinkOutcome]:
        """Both passes over every child, with an index of ``people``."""
        firsts = self.first_pass(cviews, BlockingIndex(self.people.values()), dna)
        return self.second_pass(firsts, self.revisits(firsts))

    def _decide(
        self,
        cview: ChildView,
        tested: dict[int, str],
        pairs: list[tuple[int, Gamma]],
        model: Model,
        prior: float,
        null: float,
        bonus: dict[int, float] | None = None,
        notes: dict[int, str] | None = None,
    ) -> LinkOutcome:
        key = cview.group.key
        gammas = dict(pairs)
        # a confirmed review decision links unless DNA excluded that adult
        confirmed = self.confirmed.get(key)
        if confirmed is not None and tested.get(confirmed) != "exclusion":
            evidence = ["confirmed by review"] + (
                _evidence(model, gammas[confirmed]) if confirmed in gammas else []
            )
            return LinkOutcome(Link(self.people[confirmed], 1.0, evidence), False)
        for verdict, text in (
            ("match", "DNA match (decisive)"),
            ("exclusion", "DNA test of this adult and child"),
        ):
            hits = [pid for pid, res in tested.items() if res == verdict and (key, pid) not in self.rejected]
            if len(hits) == 1:
                pid = hits[0]
                evidence = [text, *(_evidence(model, gammas[pid]) if pid in gammas else [])]
                return LinkOutcome(
                    Link(self.people[pid], 1.0, evidence, dna_exclusion=verdict == "exclusion"), False
                )
        if not pairs:
            return LinkOutcome(None, False)
        weights = {
            pid: prior
            + model.weight(gamma)
            + (DNA_TESTED_WEIGHT if pid in tested else 0.0)
            + (bonus.get(pid, 0.0) if bonus else 0.0)
            for pid, gamma in pairs
        }
        top_w = max(weights.values())
        odds = {pid: 2.0 ** (w - top_w) for pid, w in weights.items()}
        denom = null * 2.0 ** (-top_w) + sum(odds.values())
        ranked = sorted(odds, key=lambda pid: (-odds[pid], pid))
        best = ranked[0]
        posterior = odds[best] / denom
        rival = odds[ranked[1]] / denom if len(ranked) > 1 else 0.0
        needs_review = (REVIEW_FLOOR <= posterior < REVIEW_THRESHOLD) or rival >= REVIEW_RIVAL
        linked = posterior >= LINK_THRESHOLD
        # Runner-ups (and, when nothing clears the bar, the best too) for the review queue and
        # `reunify show`; only those with a real share of the probability.
        candidates = [
            Link(self.people[pid], odds[pid] / denom, _evidence(model, gammas[pid]))
            for pid in ranked[1 if linked else 0 : MAX_RUNNERS_UP + (1 if linked else 0)]
            if odds[pid] / denom >= CANDIDATE_FLOOR
        ]
        if not linked:
            return LinkOutcome(None, needs_review and posterior >= REVIEW_FLOOR, candidates)
        evidence = _evidence(model, gammas[best])
        if notes and best in notes:
            evidence.insert(0, notes[best])
        if best in tested:
            evidence.insert(0, f"DNA test of this adult and child (+{DNA_TESTED_WEIGHT:.1f})")
        return LinkOutcome(Link(self.people[best], posterior, evidence), needs_review, candidates)
