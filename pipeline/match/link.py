"""Parent–child linking: blocking, comparisons, a Fellegi–Sunter model fitted by EM, assignment.

1. **Blocking** never compares all pairs: a child meets only the people it shares a key with --
   the apprehension event, the apprehension date (within two days) with the station, a surname or
   the reported parent's given name, a name or date of birth among the children an adult claimed,
   a reported parent name, or a DNA result. Key hits give a cheap pre-score; only the best few
   people per child are compared in full.
2. **Comparisons** turn each (child, person) pair into one discrete level per field (event, date,
   station, surnames under Spanish naming, the reported parent name, the reported relation against
   the adult's sex, claimed children, country, age gap), the best over all records of both sides.
3. **Model**: m- and u-probabilities of every level are estimated by EM on the compared pairs of
   this very snapshot (starting from, and smoothed towards, prior values), so the weights follow
   the data rather than our own generator. A pair's weight is the sum of log2(m/u).
4. **Assignment**: each child keeps at most one person. The candidates of a child compete: the
   posterior of a candidate is its odds over one plus the sum of every candidate's odds, so two
   close candidates split the probability, and the child is flagged for review. A link is kept only
   when its posterior clears the bar, because a wrong parent is worse than none. Several children
   may share a parent (siblings).

DNA results are decisive: ``match`` (or ``exclusion``, which still names the adult the child was
apprehended with) links the tested adult outright; ``pending``/``inconclusive`` only add weight.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from pipeline.match.adults import Person
from pipeline.match.children import ChildGroup
from pipeline.match.compare import (
    any_near,
    dob_compatible,
    given_tokens,
    is_us,
    prefix_near,
    suffix_near,
    surname_tokens,
)
from pipeline.records import AdultRecord, DnaResult, RemovalRecord

# ---------------------------------------------------------------------------------------------
# Settings of the model (documented defaults; EM re-estimates the m/u values on every snapshot)
# ---------------------------------------------------------------------------------------------

#: the smallest posterior that keeps a link; below it the child gets no parent
LINK_THRESHOLD = 0.5
#: a kept link below this posterior, or with a rival above REVIEW_RIVAL, goes to review
REVIEW_THRESHOLD = 0.9
REVIEW_RIVAL = 0.05
#: prior probability that a child's parent is among its compared candidates
PARENT_PRESENT = 0.9
#: people compared in full per child, after the blocking pre-score
MAX_CANDIDATES = 15
#: key buckets larger than this are too unspecific to block on
MAX_BUCKET = 150
#: EM iterations and the weight (in pairs) of the prior m/u values
EM_ITERATIONS = 25
PRIOR_STRENGTH = 30.0
#: clamp of one comparison's weight, in bits
MAX_WEIGHT = 14.0
#: weight of a pending/inconclusive DNA test of the pair (the adult named the child)
DNA_TESTED_WEIGHT = 8.0


@dataclass(frozen=True, slots=True)
class Level:
    """One outcome of a comparison: its evidence text and prior m (true pairs) and u (others)."""

    label: str
    m: float
    u: float


#: comparison -> its levels, in the order the comparison functions return them
COMPARISONS: dict[str, tuple[Level, ...]] = {
    "event": (
        Level("same apprehension event id", 0.55, 0.002),
        Level("different apprehension event ids", 0.001, 0.55),
        Level("", 0.42, 0.45),
    ),
    "date": (
        Level("same apprehension date", 0.55, 0.15),
        Level("apprehension dates one day apart", 0.33, 0.25),
        Level("apprehension dates two days apart", 0.04, 0.2),
        Level("apprehension dates far apart", 0.002, 0.25),
        Level("", 0.06, 0.15),
    ),
    "station": (
        Level("same apprehension station", 0.6, 0.2),
        Level("different apprehension stations", 0.001, 0.45),
        Level("", 0.37, 0.35),
    ),
    "surname": (
        Level("child's surname in the parent's place (Spanish naming)", 0.75, 0.08),
        Level("child carries the adult's surnames", 0.05, 0.01),
        Level("child shares a surname with the adult", 0.1, 0.06),
        Level("child's surname near the adult's (typo)", 0.06, 0.04),
        Level("child's single surname differs from the adult's", 0.05, 0.2),
        Level("no surname in common", 0.001, 0.62),
    ),
    "parent_name": (
        Level("reported parent name matches the adult", 0.3, 0.003),
        Level("reported parent given name matches", 0.18, 0.02),
        Level("reported parent name near the adult's (typo)", 0.1, 0.02),
        Level("reported parent given name matches but the surname differs", 0.02, 0.06),
        Level("reported parent name differs", 0.005, 0.4),
        Level("", 0.4, 0.557),
    ),
    "relation_sex": (
        Level("reported relation fits the adult's sex", 0.58, 0.25),
        Level("reported relation contradicts the adult's sex", 0.001, 0.25),
        Level("", 0.4, 0.5),
    ),
    "claimed": (
        Level("adult claimed this child by name and date of birth", 0.2, 0.0005),
        Level("adult claimed this child by name", 0.3, 0.01),
        Level("adult claimed a child with this surname and date of birth", 0.04, 0.001),
        Level("adult claimed this child's name with another date of birth", 0.03, 0.01),
        Level("adult claimed other children only", 0.03, 0.1),
        Level("", 0.4, 0.8785),
    ),
    "country": (
        Level("same country", 0.93, 0.35),
        Level("different country", 0.001, 0.6),
        Level("", 0.05, 0.05),
    ),
    "age_gap": (
        Level("plausible parent age gap", 0.85, 0.6),
        Level("borderline parent age gap", 0.06, 0.1),
        Level("implausible parent age gap", 0.005, 0.2),
        Level("", 0.08, 0.1),
    ),
}
FIELDS: tuple[str, ...] = tuple(COMPARISONS)


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
    parents: list[tuple[tuple[str, ...], tuple[str, ...], str | None]] = field(default_factory=list)
    a_numbers: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, group: ChildGroup) -> ChildView:
        view = cls(group)
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
            if rec.reported_parent_name:
                toks = given_tokens(rec.reported_parent_name)
                if toks:
                    # "Ana", "Ana María", "Ana García López": the given names come first; a
                    # name of two tokens is taken as given + surname unless the child's surnames
                    # say otherwise
                    view.parents.append((toks[:1], toks[1:], rec.reported_parent_relation))
            elif rec.reported_parent_relation:
                view.parents.append(((), (), rec.reported_parent_relation))
            if rec.a_number:
                view.a_numbers.add(rec.a_number)
        return view


@dataclass(slots=True)
class PersonView:
    """Comparison keys of one person (all their ICE records and removal rows)."""

    person: Person
    given: set[str] = field(default_factory=set)
    first_surnames: set[str] = field(default_factory=set)
    surnames: set[str] = field(default_factory=set)
    sexes: set[str] = field(default_factory=set)
    countries: set[str] = field(default_factory=set)
    dobs: set[date] = field(default_factory=set)
    events: set[str] = field(default_factory=set)
    apps: set[tuple[date | None, str | None]] = field(default_factory=set)
    claims: list[tuple[tuple[str, ...], tuple[str, ...], date | None]] = field(default_factory=list)

    @classmethod
    def of(cls, person: Person) -> PersonView:
        view = cls(person)
        records: list[AdultRecord | RemovalRecord] = [*person.ice, *person.removals]
        for rec in records:
            view.given.update(given_tokens(rec.first_name))
            sn = surname_tokens(rec.last_name)
            if sn:
                view.first_surnames.add(sn[0])
                view.surnames.update(sn)
            if rec.country:
                view.countries.add(rec.country)
            if rec.dob:
                view.dobs.add(rec.dob)
        for a in person.ice:
            if a.sex:
                view.sexes.add(a.sex.upper()[:1])
            if a.event_id:
                view.events.add(a.event_id)
            if a.apprehension_date or a.station:
                view.apps.add((a.apprehension_date, a.station))
            for claim in a.claimed_children:
                toks = given_tokens(claim.name)
                if toks:
                    view.claims.append((toks[:-1] or toks, toks[-1:] if len(toks) > 1 else (), claim.dob))
        return view


# ---------------------------------------------------------------------------------------------
# Comparisons: each returns the index of its level in COMPARISONS
# ---------------------------------------------------------------------------------------------


def cmp_event(c: ChildView, p: PersonView) -> int:
    if not c.events or not p.events:
        return 2
    return 0 if c.events & p.events else 1


def cmp_date(c: ChildView, p: PersonView) -> int:
    best: int | None = None
    for cd, _ in c.apps:
        if cd is None:
            continue
        for pd, _ in p.apps:
            if pd is None:
                continue
            gap = abs((cd - pd).days)
            if best is None or gap < best:
                best = gap
    if best is None:
        return 4
    return best if best <= 2 else 3


def cmp_station(c: ChildView, p: PersonView) -> int:
    cs = {s for _, s in c.apps if s}
    ps = {s for _, s in p.apps if s}
    if not cs or not ps:
        return 2
    return 0 if cs & ps else 1


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
    sexes = {_parent_sex(rel) for _, _, rel in c.parents} - {None}
    return sexes.pop() if len(sexes) == 1 else None


def cmp_surname(c: ChildView, p: PersonView) -> int:
    if not c.surnames or not p.first_surnames:
        return 5 if c.surnames else 4
    sex = next(iter(p.sexes)) if len(p.sexes) == 1 else _expected_sex(c)
    two = any(len(s) >= 2 for s in c.surnames)
    exact_pos = exact_any = fuzzy = False
    child_tokens = {t for s in c.surnames for t in s}
    for ps in p.first_surnames:
        for joined in c.joined:
            as_first = joined.startswith(ps)
            as_second = two and joined.endswith(ps) and not as_first
            if (sex != "F" and as_first) or (sex != "M" and as_second):
                exact_pos = True
            elif as_first or as_second:
                exact_any = True
            elif prefix_near(ps, joined) or (two and suffix_near(ps, joined)):
                fuzzy = True
    if exact_pos:
        return 0
    # a single mother may give the child her own surnames, both of them
    if two and any(len(s) >= 2 and s[0] in p.first_surnames and s[1] in p.surnames for s in c.surnames):
        return 1
    if exact_any or child_tokens & p.surnames:
        return 2
    if fuzzy:
        return 3
    return 5 if two else 4


def cmp_parent_name(c: ChildView, p: PersonView) -> int:
    best = 5
    for given, rest, _ in c.parents:
        if not given:
            continue
        g = given[0]
        if g in p.given:
            # a trailing token may be a second given name or a surname
            if rest and any(t in p.surnames or any_near(t, p.surnames) for t in rest):
                return 0
            # a trailing token that is neither a surname nor a given name of the adult's contradicts
            level = 3 if rest and all(not any_near(t, p.given) for t in rest) else 1
        elif any_near(g, p.given):
            level = 2
        else:
            level = 4
        best = min(best, level)
    return best


def cmp_relation_sex(c: ChildView, p: PersonView) -> int:
    want = _expected_sex(c)
    if want is None or len(p.sexes) != 1:
        return 2
    return 0 if want in p.sexes else 1


def _claim_name_matches(claim_given: tuple[str, ...], claim_surnames: tuple[str, ...], c: ChildView) -> bool:
    if not claim_given or not any_near(claim_given[0], c.given):
        return False
    if not claim_surnames:
        return True
    s = claim_surnames[0]
    return any(prefix_near(s, j) or j.startswith(s) for j in c.joined) or any_near(
        s, {t for sn in c.surnames for t in sn}
    )


def cmp_claimed(c: ChildView, p: PersonView) -> int:
    if not p.claims:
        return 5
    best = 4
    for cg, cs, cdob in p.claims:
        named = _claim_name_matches(cg, cs, c)
        dob_ok = cdob is not None and any(dob_compatible(cdob, d) for d in c.dobs)
        if named:
            if dob_ok:
                return 0
            level = 1 if cdob is None or not c.dobs else 3
        elif dob_ok and cs and any(prefix_near(cs[0], j) for j in c.joined):
            level = 2
        else:
            level = 4
        best = min(best, level)
    return best


def cmp_country(c: ChildView, p: PersonView) -> int:
    if not c.countries or not p.countries:
        return 2
    return 0 if c.countries & p.countries else 1


def cmp_age_gap(c: ChildView, p: PersonView) -> int:
    if not c.dobs or not p.dobs:
        return 3
    best = 2
    for cd in c.dobs:
        for pd in p.dobs:
            gap = (cd - pd).days / 365.25
            if 14 <= gap <= 55:
                return 0
            if 11 <= gap <= 65:
                best = 1
    return best


_COMPARE = (
    cmp_event,
    cmp_date,
    cmp_station,
    cmp_surname,
    cmp_parent_name,
    cmp_relation_sex,
    cmp_claimed,
    cmp_country,
    cmp_age_gap,
)


def compare(c: ChildView, p: PersonView) -> tuple[int, ...]:
    """The comparison vector (one level index per field of FIELDS) of a child and a person."""
    return tuple(fn(c, p) for fn in _COMPARE)


# ---------------------------------------------------------------------------------------------
# Model
# ---------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Model:
    """Match weights per field and level, in bits, and the prior odds of a compared pair."""

    weights: list[list[float]]
    prior_log2_odds: float

    def weight(self, gamma: tuple[int, ...]) -> float:
        """The total match weight of one comparison vector."""
        return sum(self.weights[f][lvl] for f, lvl in enumerate(gamma))


def _missing(name: str) -> int | None:
    for i, lv in enumerate(COMPARISONS[name]):
        if not lv.label:
            return i
    return None


#: per field, the level that means "a value is missing": it weighs nothing either way
MISSING: tuple[int | None, ...] = tuple(_missing(name) for name in FIELDS)


def _prior_weight(f: int, i: int) -> float:
    lv = COMPARISONS[FIELDS[f]][i]
    return math.log2(lv.m / lv.u)


def _weights(m: list[list[float]], u: list[list[float]]) -> list[list[float]]:
    # EM underrates contradictions (its "matches" absorb look-alike non-matches that disagree on
    # one field), so a level whose prior weight is negative never weighs less against than that
    def one(f: int, i: int) -> float:
        if i == MISSING[f]:
            return 0.0
        w = math.log2(m[f][i] / u[f][i])
        prior = _prior_weight(f, i)
        return _clamp(min(w, prior) if prior < 0 else w)

    return [[one(f, i) for i in range(len(m[f]))] for f in range(len(FIELDS))]


def prior_model() -> Model:
    """The model from the prior m/u values alone."""
    m = [[lv.m for lv in COMPARISONS[name]] for name in FIELDS]
    u = [[lv.u for lv in COMPARISONS[name]] for name in FIELDS]
    return Model(_weights(m, u), math.log2(0.05 / 0.95))


def _clamp(w: float) -> float:
    return max(-MAX_WEIGHT, min(MAX_WEIGHT, w))


def fit_model(patterns: Counter[tuple[int, ...]], expected_matches: float | None = None) -> Model:
    """Estimate m, u and the match share by EM over the compared pairs' comparison vectors.

    Missing values weigh nothing and are left out of the estimate (blocking decides which pairs
    with a missing field get compared at all, so their frequency says nothing about matching).
    The prior values act as pseudo-counts (PRIOR_STRENGTH pairs each side), which keeps levels
    that hardly occur in this snapshot near their prior instead of at 0 or 1.
    """
    total = sum(patterns.values())
    if total == 0:
        return prior_model()
    m = [[lv.m for lv in COMPARISONS[name]] for name in FIELDS]
    u = [[lv.u for lv in COMPARISONS[name]] for name in FIELDS]
    lam = min(0.5, (expected_matches or total * 0.1) / total)
    items = list(patterns.items())
    for _ in range(EM_ITERATIONS):
        m_acc = [[PRIOR_STRENGTH * lv.m for lv in COMPARISONS[name]] for name in FIELDS]
        u_acc = [[PRIOR_STRENGTH * lv.u for lv in COMPARISONS[name]] for name in FIELDS]
        match_total = 0.0
        for gamma, count in items:
            pm, pu = lam, 1.0 - lam
            for f, lvl in enumerate(gamma):
                if lvl != MISSING[f]:
                    pm *= m[f][lvl]
                    pu *= u[f][lvl]
            g = pm / (pm + pu) if pm + pu > 0 else 0.0
            match_total += g * count
            for f, lvl in enumerate(gamma):
                m_acc[f][lvl] += g * count
                u_acc[f][lvl] += (1.0 - g) * count
        for f in range(len(FIELDS)):
            miss = MISSING[f]
            m_tot = sum(v for i, v in enumerate(m_acc[f]) if i != miss)
            u_tot = sum(v for i, v in enumerate(u_acc[f]) if i != miss)
            m[f] = [1.0 if i == miss else v / m_tot for i, v in enumerate(m_acc[f])]
            u[f] = [1.0 if i == miss else v / u_tot for i, v in enumerate(u_acc[f])]
        lam = min(0.5, max(1e-6, match_total / total))
    return Model(_weights(m, u), math.log2(lam / (1.0 - lam)))


# ---------------------------------------------------------------------------------------------
# Blocking
# ---------------------------------------------------------------------------------------------


class _Index:
    """Blocking keys of every person."""

    def __init__(self, people: Sequence[Person]) -> None:
        self.people = people
        self.by_key: dict[tuple[object, ...], list[int]] = defaultdict(list)
        self.by_record: dict[str, int] = {}
        self.by_a_number: dict[str, set[int]] = defaultdict(set)
        for person in people:
            pid = person.pid
            keys: set[tuple[object, ...]] = set()
            for a in person.ice:
                self.by_record[a.record_id] = pid
                if a.a_number:
                    self.by_a_number[a.a_number].add(pid)
                if a.event_id:
                    keys.add(("ev", a.event_id))
                given, sn = given_tokens(a.first_name), surname_tokens(a.last_name)
                if given and sn:
                    keys.add(("nm", given[0], sn[0]))
                if a.apprehension_date:
                    d = a.apprehension_date
                    if a.station:
                        keys.add(("ds", d, a.station))
                    for t in sn:
                        keys.add(("dn", d, t))
                    for t in given:
                        keys.add(("dg", d, t))
                for claim in a.claimed_children:
                    toks = given_tokens(claim.name)
                    if len(toks) >= 2:
                        keys.add(("cl", toks[0], toks[-1]))
                    if claim.dob:
                        keys.add(("cd", claim.dob))
            for r in person.removals:
                self.by_record[r.record_id] = pid
                if r.a_number:
                    self.by_a_number[r.a_number].add(pid)
            for key in keys:
                self.by_key[key].append(pid)

    def hits(self, key: tuple[object, ...]) -> list[int]:
        found = self.by_key.get(key)
        if not found or len(found) > MAX_BUCKET:
            return []
        return found


def _candidates(c: ChildView, index: _Index) -> dict[int, float]:
    """People sharing a blocking key with the child, with a cheap pre-score."""
    score: dict[int, float] = defaultdict(float)

    def add(key: tuple[object, ...], points: float) -> None:
        for pid in index.hits(key):
            score[pid] += points

    for ev in c.events:
        add(("ev", ev), 10.0)
    surname_toks = {t for s in c.surnames for t in s}
    rp_given = {g[0] for g, _, _ in c.parents if g}
    for cd, st in c.apps:
        if cd is None:
            continue
        for k in (-2, -1, 0, 1, 2):
            d = cd + timedelta(days=k)
            near = 1.0 if abs(k) <= 1 else 0.75
            if st:
                add(("ds", d, st), 2.0 * near)
            for t in surname_toks:
                add(("dn", d, t), 2.0 * near)
            for g in rp_given:
                add(("dg", d, g), 2.0 * near)
    firsts = {s[0] for s in c.surnames}
    for g in c.given:
        for s in surname_toks:
            add(("cl", g, s), 5.0 if s in firsts else 3.0)
    for d in c.dobs:
        add(("cd", d), 2.0)
    for given, rest, _ in c.parents:
        if not given:
            continue
        for s in set(rest) | surname_toks:
            add(("nm", given[0], s), 2.0)
    return score


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
    """What linking decided for one child group."""

    link: Link | None
    needs_review: bool


@dataclass(slots=True)
class _Dna:
    by_child: dict[str, list[DnaResult]]

    @classmethod
    def of(cls, results: Sequence[DnaResult]) -> _Dna:
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


def dna_people(results: Sequence[DnaResult], index: _Index) -> dict[int, str]:
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


def _evidence(model: Model, gamma: tuple[int, ...]) -> list[str]:
    items: list[tuple[float, str]] = []
    for f, lvl in enumerate(gamma):
        label = COMPARISONS[FIELDS[f]][lvl].label
        w = model.weights[f][lvl]
        if label and abs(w) >= 0.5:
            items.append((w, f"{label} ({w:+.1f})"))
    items.sort(key=lambda it: -abs(it[0]))
    return [text for _, text in items]


@dataclass(slots=True)
class Linker:
    """Links child groups to people; build once per snapshot, then call :meth:`link_all`."""

    people: Sequence[Person]
    dna: Sequence[DnaResult] = ()
    rejected: set[tuple[str, int]] = field(default_factory=set)
    confirmed: dict[str, int] = field(default_factory=dict)
    model: Model | None = None

    def link_all(self, groups: Sequence[ChildGroup]) -> list[LinkOutcome]:
        """One outcome per group, in the order given."""
        index = _Index(self.people)
        dna = _Dna.of(self.dna)
        pviews: dict[int, PersonView] = {}

        def pview(pid: int) -> PersonView:
            view = pviews.get(pid)
            if view is None:
                view = pviews[pid] = PersonView.of(self.people[pid])
            return view

        compared: list[tuple[ChildView, dict[int, str], list[tuple[int, tuple[int, ...]]]]] = []
        patterns: Counter[tuple[int, ...]] = Counter()
        for group in groups:
            cview = ChildView.of(group)
            tested = dna_people(dna.for_child(cview), index)
            pre = _candidates(cview, index)
            for pid in tested:
                pre[pid] = pre.get(pid, 0.0) + 100.0
            if group.key in self.confirmed:
                pre[self.confirmed[group.key]] = pre.get(self.confirmed[group.key], 0.0) + 100.0
            top = sorted(pre, key=lambda pid: (-pre[pid], pid))[:MAX_CANDIDATES]
            top = [pid for pid in top if (group.key, pid) not in self.rejected]
            pairs = [(pid, compare(cview, pview(pid))) for pid in top]
            for _, gamma in pairs:
                patterns[gamma] += 1
            compared.append((cview, tested, pairs))

        model = self.model or fit_model(patterns, expected_matches=0.9 * len(groups))
        self.model = model
        return [self._decide(cview, tested, pairs, model) for cview, tested, pairs in compared]

    def _decide(
        self,
        cview: ChildView,
        tested: dict[int, str],
        pairs: list[tuple[int, tuple[int, ...]]],
        model: Model,
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
            pid: model.weight(gamma) + (DNA_TESTED_WEIGHT if pid in tested else 0.0) for pid, gamma in pairs
        }
        # each candidate is a priori equally likely to be the parent; with probability
        # 1 - PARENT_PRESENT none of them is (no parent in the feeds, or blocking missed them)
        null = math.log2((1.0 - PARENT_PRESENT) * len(weights) / PARENT_PRESENT)
        top_w = max(weights.values())
        odds = {pid: 2.0 ** (w - top_w) for pid, w in weights.items()}
        denom = 2.0 ** (null - top_w) + sum(odds.values())
        ranked = sorted(odds, key=lambda pid: (-odds[pid], pid))
        best = ranked[0]
        posterior = odds[best] / denom
        rival = odds[ranked[1]] / denom if len(ranked) > 1 else 0.0
        needs_review = (posterior < REVIEW_THRESHOLD and posterior >= 0.2) or rival >= REVIEW_RIVAL
        if posterior < LINK_THRESHOLD:
            return LinkOutcome(None, needs_review and posterior >= 0.2)
        evidence = _evidence(model, gammas[best])
        if best in tested:
            evidence.insert(0, f"DNA test of this adult and child (+{DNA_TESTED_WEIGHT:.1f})")
        return LinkOutcome(Link(self.people[best], posterior, evidence), needs_review)
