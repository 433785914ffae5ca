"""Adult identity: one person behind duplicate ICE records and rows of the removal list.

ICE records are merged first (union-find over blocking keys, every pair verified):

* the same A-number, with names that agree at least in part;
* A-numbers one mis-keyed digit or swap apart, with given name, first surname and date of birth
  agreeing (a near A-number alone means nothing: most nine-digit numbers have a neighbour);
* no A-number on one side: given name, first surname, country and a date of birth that agrees up
  to the feeds' noise (placeholder 1 January, day/month swap, a year off);
* the same apprehension event with the same given name and first surname.

Records whose A-numbers differ beyond one edit are never merged. Removal rows are then attached
to the person they fit best by the same rules; rows that fit nobody stay outside (the removal list
holds every removal, not only parents).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from pipeline.match.compare import (
    a_number_keys,
    a_number_near,
    dob_compatible,
    given_tokens,
    name_near,
    surname_tokens,
)
from pipeline.records import AdultRecord, RemovalRecord

_MAX_BUCKET = 60
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(eq=False)
class Person:
    """The records of one adult across the ICE feed and the removal list."""

    pid: int
    ice: list[AdultRecord] = field(default_factory=list)
    removals: list[RemovalRecord] = field(default_factory=list)

    @property
    def ice_record_ids(self) -> list[str]:
        """ICE record ids, sorted."""
        return sorted({r.record_id for r in self.ice})

    @property
    def removal_record_ids(self) -> list[str]:
        """Removal record ids, sorted."""
        return sorted({r.record_id for r in self.removals})

    @property
    def a_number(self) -> str | None:
        """The A-number most of the person's records carry (ICE first on a tie)."""
        counts: dict[str, int] = defaultdict(int)
        for rec in self.ice:
            if rec.a_number:
                counts[rec.a_number] += 2
        for rem in self.removals:
            if rem.a_number:
                counts[rem.a_number] += 1
        if not counts:
            return None
        return max(sorted(counts), key=lambda k: counts[k])

    @property
    def name(self) -> str | None:
        """The fullest name among the person's records."""
        names = [r.name for r in self.ice] + [r.name for r in self.removals]
        names = [n for n in names if n]
        if not names:
            return None
        return max(names, key=lambda n: (len(n.split()), len(n)))


@dataclass(slots=True)
class _Ident:
    """What identity matching looks at in one record, ICE or removal."""

    a_number: str | None
    given: tuple[str, ...]
    surnames: tuple[str, ...]
    dob: date | None
    country: str | None
    sex: str | None
    event_id: str | None


def _ident(rec: AdultRecord | RemovalRecord) -> _Ident:
    sex = rec.sex if isinstance(rec, AdultRecord) else None
    event = rec.event_id if isinstance(rec, AdultRecord) else None
    return _Ident(
        rec.a_number,
        given_tokens(rec.first_name),
        surname_tokens(rec.last_name),
        rec.dob,
        rec.country,
        sex,
        event,
    )


def _given_agree(a: _Ident, b: _Ident) -> bool:
    if not a.given or not b.given:
        return False
    return name_near(a.given[0], b.given[0]) or a.given[0] in b.given or b.given[0] in a.given


def _surname_agree(a: _Ident, b: _Ident) -> bool:
    if not a.surnames or not b.surnames:
        return False
    if name_near(a.surnames[0], b.surnames[0]):
        return True
    ja, jb = "".join(a.surnames), "".join(b.surnames)
    return ja.startswith(b.surnames[0]) or jb.startswith(a.surnames[0])


def _compatible(a: _Ident, b: _Ident) -> bool:
    """No field says these are two different people."""
    if a.country and b.country and a.country != b.country:
        return False
    if a.sex and b.sex and a.sex != b.sex:
        return False
    return not (a.dob and b.dob and not dob_compatible(a.dob, b.dob))


def same_adult(a: _Ident, b: _Ident) -> bool:
    """The pairwise rule of this module (see the module docstring)."""
    if a.a_number and b.a_number:
        if a.a_number == b.a_number:
            return _given_agree(a, b) or _surname_agree(a, b)
        if not a_number_near(a.a_number, b.a_number):
            return False
        return (
            _given_agree(a, b)
            and _surname_agree(a, b)
            and _compatible(a, b)
            and a.dob is not None
            and b.dob is not None
        )
    if not (_given_agree(a, b) and _surname_agree(a, b) and _compatible(a, b)):
        return False
    if a.event_id and a.event_id == b.event_id:
        return True
    return a.dob is not None and b.dob is not None and bool(a.country and b.country)


def _keys(idn: _Ident) -> list[str]:
    keys: list[str] = []
    if idn.a_number:
        keys.append("A" + idn.a_number)
        keys.extend("T" + k for k in a_number_keys(idn.a_number))
    if idn.given and idn.surnames:
        name = f"{idn.given[0]}|{idn.surnames[0]}|{idn.country or ''}"
        if idn.dob:
            d = idn.dob
            keys.append(f"M{name}|{min(d.month, d.day)}-{max(d.month, d.day)}")
            years = (d.year - 1, d.year, d.year + 1) if (d.month, d.day) == (1, 1) else (d.year,)
            keys.extend(f"Y{name}|{y}" for y in years)
        if idn.event_id:
            keys.append(f"E{idn.event_id}|{idn.given[0]}")
    return keys


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, i: int, j: int) -> None:
        ri, rj = self.find(i), self.find(j)
        if ri != rj:
            self.parent[max(ri, rj)] = min(ri, rj)


def _latest_adults(records: Iterable[AdultRecord]) -> list[AdultRecord]:
    latest: dict[str, AdultRecord] = {}
    for rec in records:
        seen = latest.get(rec.record_id)
        if seen is None or (rec.updated_at or _EPOCH) >= (seen.updated_at or _EPOCH):
            latest[rec.record_id] = rec
    return sorted(latest.values(), key=lambda r: r.record_id)


def _attach_score(r: _Ident, p: _Ident) -> int:
    """How well a removal row fits one ICE record: 0 = not at all, higher is better."""
    if r.a_number and p.a_number:
        if r.a_number == p.a_number:
            return 4 if (_given_agree(r, p) or _surname_agree(r, p)) else 0
        if not a_number_near(r.a_number, p.a_number):
            return 0
        ok = _given_agree(r, p) and _surname_agree(r, p) and _compatible(r, p) and r.dob and p.dob
        return 3 if ok else 0
    if not (_given_agree(r, p) and _surname_agree(r, p) and _compatible(r, p)):
        return 0
    if r.dob is None or p.dob is None or not (r.country and p.country):
        return 0
    return 2 if r.dob == p.dob else 1


def build_people(adults: Iterable[AdultRecord], removals: Iterable[RemovalRecord]) -> list[Person]:
    """Group ICE records into people, then attach each removal row to the person it fits best."""
    recs = _latest_adults(adults)
    idents = [_ident(r) for r in recs]
    uf = _UnionFind(len(recs))
    buckets: dict[str, list[int]] = defaultdict(list)
    for i, idn in enumerate(idents):
        for key in _keys(idn):
            buckets[key].append(i)
    for key, members in buckets.items():
        if len(members) < 2 or len(members) > _MAX_BUCKET:
            continue
        if key[0] == "A":
            pairs: Iterable[tuple[int, int]] = (
                (members[x], members[y]) for x in range(len(members)) for y in range(x + 1, len(members))
            )
        elif key[0] == "T":
            # equal A-numbers share every "T" key: they are decided once, in their "A" bucket
            pairs = (
                (members[x], members[y])
                for x in range(len(members))
                for y in range(x + 1, len(members))
                if idents[members[x]].a_number != idents[members[y]].a_number
            )
        else:
            # pairs that both carry an A-number are decided in the A-number buckets ("A", "T"):
            # here only pairs with at least one record without one
            bare = [i for i in members if not idents[i].a_number]
            if not bare:
                continue
            pairs = ((i, j) for i in bare for j in members if j != i and (j > i or idents[j].a_number))
        for i, j in pairs:
            if uf.find(i) != uf.find(j) and same_adult(idents[i], idents[j]):
                uf.union(i, j)
    by_root: dict[int, Person] = {}
    people: list[Person] = []
    person_of: list[Person] = []
    for i, rec in enumerate(recs):
        root = uf.find(i)
        owner = by_root.get(root)
        if owner is None:
            owner = by_root[root] = Person(pid=len(people))
            people.append(owner)
        owner.ice.append(rec)
        person_of.append(owner)

    seen_removals: set[str] = set()
    for rem in removals:
        if rem.record_id in seen_removals:
            continue
        seen_removals.add(rem.record_id)
        ridn = _ident(rem)
        best: dict[int, int] = {}
        for key in _keys(ridn):
            found = buckets.get(key)
            if not found or len(found) > _MAX_BUCKET:
                continue
            for i in found:
                score = _attach_score(ridn, idents[i])
                if score:
                    pid = person_of[i].pid
                    best[pid] = max(best.get(pid, 0), score)
        if not best:
            continue
        top = max(best.values())
        winners = [pid for pid, s in best.items() if s == top]
        if len(winners) == 1:
            # two people fitting equally well is a namesake collision: attach to neither
            people[winners[0]].removals.append(rem)
    return people
