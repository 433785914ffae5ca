"""Adult identity: one person behind duplicate ICE records and rows of the removal list.

ICE records are merged first (union-find, every pair verified), strongest evidence first:

1. the same A-number, with both names agreeing, or one of them with country, sex and date of
   birth not disagreeing;
2. A-numbers one mis-keyed digit or swap apart, with given name, first surname and date of birth
   agreeing (a near A-number alone means nothing: most nine-digit numbers have a neighbour);
3. no A-number on one side: given name, first surname, country, sex and a compatible date of
   birth, plus either the same apprehension (event, or date where no two event ids differ) or a
   date of birth that agrees beyond the placeholder 1 January (exact, day/month swapped, or a
   year off).

Candidates meet under blocking keys made to survive a one-sided typo: given name and first
surname with parts of the date of birth, either name alone with the whole date of birth, the
apprehension event alone, either name with the apprehension date. A removal row also meets ICE
records on either name with the day and month of birth (a typo in the other name and the year
off by one), and is then taken only where both names are the same or one typo apart: between
ICE records those keys merged more people wrongly than rightly. A removal row whose A-number
is one mis-keyed digit or a swapped pair off meets its person under these and fits it by the
near number (masked-number keys for every row cost more than they found). A row with the
placeholder date of birth and a typo in the first given name meets ICE records on both
surnames, the country and the year. Every candidate pair
is then verified by the rules above (names compared with one typo allowed).

Records drop a second given name or surname but do not change it: two second surnames (or
second given names) that differ beyond a typo are two people. A merge never joins two groups
whose A-numbers conflict (differ beyond one edit): a record without an A-number cannot chain two
numbered people together. Removal rows are then attached to the one person they fit best by the
same rules: an A-number that conflicts with the person's rules the person out, and a row that
fits only through a placeholder date of birth attaches only when no other removal row of that
name fits the person too (the removal list holds every removal, not only parents; namesakes
are common), or, where it writes the person's whole name of three tokens or more again, no
other row fits as well.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TypeVar

from pipeline.match.compare import (
    a_number_near,
    dob_compatible,
    dob_exact_or_swap,
    given_agree,
    given_tokens,
    name_near,
    placeholder_dob,
    surname_agree,
    surname_tokens,
)
from pipeline.records import AdultRecord, RemovalRecord

_MAX_BUCKET = 60
#: how well a removal row fits an ICE record of its own A-number (the best fit there is)
_SAME_NUMBER = 5
_NO_RECORDS: frozenset[int] = frozenset()
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_K = TypeVar("_K")
#: first given name, first surname and country, each the one object kept for it in a run
_NameKeys = dict[tuple[str, str, str], tuple[str, str, str]]


@dataclass(eq=False, slots=True)
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
    app_date: date | None
    #: first given name, first surname and country: what every name key starts from
    name_key: tuple[str, str, str] | None


def _ident(rec: AdultRecord | RemovalRecord, name_keys: _NameKeys | None = None) -> _Ident:
    """``rec``'s ident; with ``name_keys``, its name key is the one object kept there for it
    (the records of one name share it: one tuple of 64 bytes a name, not one a record)."""
    if isinstance(rec, AdultRecord):
        sex, event, app = rec.sex, rec.event_id, rec.apprehension_date
    else:
        sex = event = app = None
    given = given_tokens(rec.first_name)
    surnames = surname_tokens(rec.last_name)
    name_key = (given[0], surnames[0], rec.country or "") if given and surnames else None
    if name_key is not None and name_keys is not None:
        name_key = name_keys.setdefault(name_key, name_key)
    return _Ident(
        rec.a_number,
        given,
        surnames,
        rec.dob,
        rec.country,
        sex,
        event,
        app,
        name_key,
    )


def _given_agree(a: _Ident, b: _Ident) -> bool:
    return given_agree(a.given, b.given)


def _surname_agree(a: _Ident, b: _Ident) -> bool:
    return surname_agree(a.surnames, b.surnames)


def _person_agrees(a: _Ident, b: _Ident) -> bool:
    """Country, sex and date of birth do not say these are two different people."""
    if a.country and b.country and a.country != b.country:
        return False
    if a.sex and b.sex and a.sex != b.sex:
        return False
    return not (a.dob and b.dob and not dob_compatible(a.dob, b.dob))


def _compatible(a: _Ident, b: _Ident) -> bool:
    """No field says these are two different people."""
    if not _person_agrees(a, b):
        return False
    # records drop a second given name or surname, they do not change it
    if len(a.given) > 1 and len(b.given) > 1 and not name_near(a.given[1], b.given[1]):
        return False
    return not (len(a.surnames) > 1 and len(b.surnames) > 1 and not name_near(a.surnames[1], b.surnames[1]))


def _dob_strong(a: date | None, b: date | None) -> bool:
    """Dates of birth that agree beyond the placeholder: exact, swapped, or a year off."""
    if a is None or b is None:
        return False
    if dob_exact_or_swap(a, b):
        return True
    return (a.month, a.day) == (b.month, b.day) and not placeholder_dob(a) and abs(a.year - b.year) == 1


def _whole_near(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """The names' tokens run together are the same or one typo apart."""
    return bool(a and b) and name_near("".join(a), "".join(b))


def _number_holders_agree(a: _Ident, b: _Ident) -> bool:
    """Two records of one A-number name one person: both names agree, or one does and country,
    sex and date of birth do not disagree (a number keyed onto another person's record keeps that
    person's country or date of birth; junk in the name that does not agree, as a hostile feed
    plants, is not evidence either way). Names are also compared run together, one typo
    allowed: a slipped space (ANA IRIS, ANAI RIS) or a typo in a particle (DE LA CRUZ, DE NA CRUZ)
    splits the tokens but not the name."""
    given = _given_agree(a, b) or _whole_near(a.given, b.given)
    surname = _surname_agree(a, b) or _whole_near(a.surnames, b.surnames)
    return (given and surname) or ((given or surname) and _person_agrees(a, b))


def same_adult(a: _Ident, b: _Ident) -> bool:
    """The pairwise rule of this module (see the module docstring)."""
    if a.a_number and b.a_number:
        if a.a_number == b.a_number:
            return _number_holders_agree(a, b)
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
    # two event ids are two apprehensions: a shared date then is a busy day, not one person
    if a.app_date and a.app_date == b.app_date and not (a.event_id and b.event_id):
        return True
    return bool(a.country and b.country) and _dob_strong(a.dob, b.dob)


def records_same_adult(a: AdultRecord | RemovalRecord, b: AdultRecord | RemovalRecord) -> bool:
    """The pairwise rule of this module on two records of either feed (case work uses it to
    recognise a parent whose record ids changed between runs)."""
    return same_adult(_ident(a), _ident(b))


def _name_keys(idn: _Ident) -> list[tuple[object, ...]]:
    """Keys under which records of one person meet by name: any two dates of birth that are
    compatible share an "M" (month and day, either order) or a "Y" (year) key."""
    nk = idn.name_key
    if nk is None or not idn.dob:
        return []
    d = idn.dob
    keys: list[tuple[object, ...]] = [("M", nk, min(d.month, d.day), max(d.month, d.day))]
    if placeholder_dob(d):
        keys.extend((("Y", nk, d.year - 1), ("Y", nk, d.year), ("Y", nk, d.year + 1)))
    else:
        keys.append(("Y", nk, d.year))
        # a typo in the given name: the surname and the whole date of birth still meet;
        # a typo in the surname: the given name and the date of birth do
        keys.append(("S", nk[1], nk[2], d))
        keys.append(("G", nk[0], nk[2], d))
    return keys


def _apprehension_keys(idn: _Ident) -> list[tuple[object, ...]]:
    """Keys under which two ICE records of one apprehension meet (a removal row has none): the
    event, or either name with the apprehension date."""
    nk = idn.name_key
    if nk is None:
        return []
    keys: list[tuple[object, ...]] = []
    if idn.event_id:
        # an event id is one apprehension: its bucket is a family, whatever the names say
        keys.append(("E", idn.event_id))
    if idn.app_date:
        keys.append(("DS", nk[1], nk[2], idn.app_date))
        keys.append(("DG", nk[0], nk[2], idn.app_date))
    return keys


def _day_keys(idn: _Ident) -> list[tuple[object, ...]]:
    """Keys under which a removal row meets an ICE record with a typo in one name and the year
    of birth one off: the other name, the country, the day of birth and the typo'd name's
    initial (ICE records do not
    merge under these: two ICE records of a one-letter name change and another year are more
    often two people than one)."""
    nk = idn.name_key
    d = idn.dob
    if nk is None or d is None or placeholder_dob(d):
        return []
    # the other name's initial keeps the buckets small (a typo seldom hits the first letter)
    return [
        ("SM", nk[1], nk[2], d.month, d.day, nk[0][:1]),
        ("GM", nk[0], nk[2], d.month, d.day, nk[1][:1]),
    ]


def _placeholder_dated(idn: _Ident) -> bool:
    """The record's date of birth is the placeholder 1 January."""
    return idn.dob is not None and placeholder_dob(idn.dob)


def _year_keys(idn: _Ident) -> list[tuple[object, ...]]:
    """The key under which a removal row with the placeholder date of birth meets an ICE record
    whose first given name it typo'd (ROA, ROSA): both surnames, the country and the year. The
    placeholder leaves no whole date for the surname ("S") key, and the name keys hold the given
    name."""
    nk = idn.name_key
    if nk is None or idn.dob is None or len(idn.surnames) < 2:
        return []
    return [("SY", idn.surnames[0], idn.surnames[1], nk[2], idn.dob.year)]


def _typo_apart(a: _Ident, b: _Ident) -> bool:
    """The first given names and the first surnames each the same or one typo apart."""
    return name_near(a.given[0], b.given[0]) and name_near(a.surnames[0], b.surnames[0])


class _Groups:
    """Union-find whose groups never hold two A-numbers that conflict."""

    def __init__(self, a_numbers: list[str | None]) -> None:
        self.parent = list(range(len(a_numbers)))
        # a group's A-numbers as a tuple: most hold one, and a set of one costs 216 bytes
        self.numbers: list[tuple[str, ...]] = [(a,) if a else () for a in a_numbers]

    def find(self, i: int) -> int:
        parent = self.parent
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def can_join(self, ri: int, rj: int) -> bool:
        na, nb = self.numbers[ri], self.numbers[rj]
        return not na or not nb or all(a_number_near(x, y) for x in na for y in nb)

    def union(self, i: int, j: int) -> bool:
        ri, rj = self.find(i), self.find(j)
        if ri == rj:
            return True
        if not self.can_join(ri, rj):
            return False
        lo, hi = min(ri, rj), max(ri, rj)
        self.parent[hi] = lo
        na, nb = self.numbers[lo], self.numbers[hi]
        self.numbers[lo] = na + tuple(a for a in nb if a not in na)
        self.numbers[hi] = ()
        return True


def _latest_adults(records: Iterable[AdultRecord]) -> list[AdultRecord]:
    latest: dict[str, AdultRecord] = {}
    for rec in records:
        seen = latest.get(rec.record_id)
        if seen is None or (rec.updated_at or _EPOCH) >= (seen.updated_at or _EPOCH):
            latest[rec.record_id] = rec
    return sorted(latest.values(), key=lambda r: r.record_id)


# A bucket of records is the record's index while it holds one (most do: a list of one costs 88
# bytes more, and the identity indexes hold about 45 buckets a child), a list from the second.
_Bucket = int | list[int]


def _file(buckets: dict[_K, _Bucket], key: _K, i: int) -> None:
    """Put record ``i`` in the bucket of ``key``."""
    members = buckets.get(key)
    if members is None:
        buckets[key] = i
    elif isinstance(members, int):
        buckets[key] = [members, i]
    else:
        members.append(i)


def _members(buckets: dict[_K, _Bucket], key: _K) -> Sequence[int]:
    """The records in the bucket of ``key``."""
    members = buckets.get(key)
    if members is None:
        return ()
    return (members,) if isinstance(members, int) else members


def _pairs(members: Sequence[int]) -> Iterable[tuple[int, int]]:
    return ((members[x], members[y]) for x in range(len(members)) for y in range(x + 1, len(members)))


class _IceIndex:
    """The ICE records' idents and the blocking keys they meet under, each built once."""

    def __init__(self, recs: list[AdultRecord], name_keys: _NameKeys) -> None:
        self.idents = idents = [_ident(r, name_keys) for r in recs]
        #: the apprehension keys of the records without an A-number, the only ones looked up
        #: under them (step 3 of ``_merge_ice``): a numbered record is filed under a key of
        #: these only where one of them has it (over a third of all entries otherwise)
        self.bare_keys = {i: _apprehension_keys(idn) for i, idn in enumerate(idents) if not idn.a_number}
        wanted = {key for keys in self.bare_keys.values() for key in keys}
        #: the buckets of every key, in the order the keys first appear
        self.by_name: dict[tuple[object, ...], _Bucket] = {}
        self.by_a: dict[str, _Bucket] = {}
        by_name = self.by_name
        # a record's name keys (which removal rows meet it under too) are not kept: built again
        # where they are needed (the few records without an A-number), they cost less than the
        # lists holding them for every record
        for i, idn in enumerate(idents):
            for key in _name_keys(idn):
                _file(by_name, key, i)
            number = idn.a_number
            for key in self.bare_keys[i] if not number else _apprehension_keys(idn):
                if not number or key in wanted:
                    _file(by_name, key, i)
            if number:
                _file(self.by_a, number, i)

    def merge_keys(self, i: int) -> list[tuple[object, ...]]:
        """The keys record ``i`` (one without an A-number) looks for its own under."""
        return _name_keys(self.idents[i]) + self.bare_keys[i]


def _merge_ice(index: _IceIndex) -> _Groups:
    idents = index.idents
    groups = _Groups([idn.a_number for idn in idents])
    # 1. the same A-number
    for same in index.by_a.values():
        if isinstance(same, list):
            for i, j in _pairs(same):
                if same_adult(idents[i], idents[j]):
                    groups.union(i, j)
    # 2. A-numbers one edit apart: such records share a name and a month and day of birth (a near
    # number alone is nothing; near numbers need dates of birth, and compatible ones share "M")
    for key, bucket in index.by_name.items():
        if key[0] != "M" or not isinstance(bucket, list) or len(bucket) > _MAX_BUCKET:
            continue
        for i, j in _pairs(bucket):
            a, b = idents[i].a_number, idents[j].a_number
            if (
                a
                and b
                and a != b
                and a_number_near(a, b)
                and groups.find(i) != groups.find(j)
                and same_adult(idents[i], idents[j])
            ):
                groups.union(i, j)
    # 3. by name, where one side has no A-number
    by_name = index.by_name
    for i, idn in enumerate(idents):
        if idn.a_number:
            continue
        # records of one family share several keys: each pair is looked at once (a pair that did
        # not merge cannot merge later: the rule is pure, and a group's numbers only grow)
        seen = {i}
        for key in index.merge_keys(i):
            members = _members(by_name, key)
            if len(members) > _MAX_BUCKET:
                continue
            for j in members:
                if j in seen:
                    continue
                seen.add(j)
                if groups.find(i) != groups.find(j) and same_adult(idn, idents[j]):
                    groups.union(i, j)
    return groups


def _fit(row: _Ident, rec: _Ident) -> int:
    """How well a removal row fits one ICE record: 0 = not at all, 1 = only through a placeholder
    date of birth, higher is better."""
    if row.a_number and rec.a_number:
        if row.a_number == rec.a_number:
            return _SAME_NUMBER if _number_holders_agree(row, rec) else 0
        if not a_number_near(row.a_number, rec.a_number):
            return 0
        ok = _given_agree(row, rec) and _surname_agree(row, rec) and _compatible(row, rec)
        return 4 if ok and row.dob and rec.dob else 0
    if not (_given_agree(row, rec) and _surname_agree(row, rec) and _compatible(row, rec)):
        return 0
    if row.dob is None or rec.dob is None or not (row.country and rec.country):
        return 0
    if row.dob == rec.dob:
        return 3
    return 2 if _dob_strong(row.dob, rec.dob) else 1


class _RowFits:
    """Who a removal row meets among the ICE records, and how well it fits each person met."""

    def __init__(
        self,
        index: _IceIndex,
        owner_of: list[int],
        numbers: list[tuple[str, ...]],
        bare_by_name: dict[tuple[object, ...], _Bucket],
        by_day: dict[tuple[object, ...], _Bucket],
        numbered_records: AbstractSet[int],
        by_head: dict[str, set[int]],
        by_tail: dict[str, set[int]],
        by_year: dict[tuple[object, ...], _Bucket],
    ) -> None:
        self.index = index
        self.by_year = by_year
        self.owner_of = owner_of
        self.numbers = numbers
        self.bare_by_name = bare_by_name
        self.by_day = by_day
        self.numbered_records = numbered_records
        self.by_head = by_head
        self.by_tail = by_tail

    def met(self, ridn: _Ident, unknown_number: bool) -> set[int]:
        """The ICE records the row meets under its name and day keys (``unknown_number``: a
        numbered row whose number no ICE record carries, which may be a mis-keyed one)."""
        found: set[int] = set()
        by_name, bare_by_name, idents = self.index.by_name, self.bare_by_name, self.index.idents
        number = ridn.a_number
        # the records of numbered people, and of those who may hold a number near the row's: a
        # record of the first and neither of the others is ruled out by its number (``best``),
        # so the typo tests below pass it by (at 100,000 children most of what a numbered row
        # meets by name is such a namesake's)
        outside: AbstractSet[int] = _NO_RECORDS
        near_head: AbstractSet[int] = _NO_RECORDS
        near_tail: AbstractSet[int] = _NO_RECORDS
        if number:
            outside = self.numbered_records
            near_head = self.by_head.get(number[:4], _NO_RECORDS)
            near_tail = self.by_tail.get(number[-4:], _NO_RECORDS)
        for key in _name_keys(ridn):
            # a numbered row meets a numbered person only with the same or a near number, which
            # needs compatible dates of birth: the month-and-day ("M") and whole-date ("S") keys;
            # a mis-keyed one meets them on the year too, as a placeholder 1 January on either
            # side hides the rest
            index = by_name if not number or key[0] != "Y" or unknown_number else bare_by_name
            # ``_members`` spelt out: rows are most of the records, and a row looks up a handful
            # of keys (2.8% of the stage's instructions at 2,300 children)
            hits = index.get(key)
            if hits is None:
                continue
            if isinstance(hits, int):
                found.add(hits)
            elif len(hits) <= 4 * _MAX_BUCKET:
                found.update(hits)
        if _placeholder_dated(ridn):
            for key in _year_keys(ridn):
                members = _members(self.by_year, key)
                if len(members) <= 4 * _MAX_BUCKET:
                    # the given name a typo apart: the same one would have met under a name key
                    found.update(
                        i
                        for i in members
                        if (i not in outside or i in near_head or i in near_tail)
                        and name_near(ridn.given[0], idents[i].given[0])
                    )
        by_day = self.by_day
        for key in _day_keys(ridn):
            hits = by_day.get(key)
            if hits is None:
                continue
            if isinstance(hits, int):
                hits = [hits]
            elif len(hits) > 4 * _MAX_BUCKET:
                continue
            # met on the day alone: only a typo, not a dropped or swapped name, explains it
            found.update(
                i
                for i in hits
                if i not in found
                and (i not in outside or i in near_head or i in near_tail)
                and _typo_apart(ridn, idents[i])
            )
        if number:
            found = (found - outside) | (found & near_head) | (found & near_tail)
        return found

    def best(self, ridn: _Ident, found: set[int]) -> dict[int, int]:
        """The best fit of the row to each person among the records ``found`` (``_fit``), but
        for the people whose A-number rules the row out."""
        best: dict[int, int] = {}
        if not found:
            return best
        number = ridn.a_number
        ruled_out: set[int] = set()
        idents = self.index.idents
        for i in found:
            pid = self.owner_of[i]
            if pid in ruled_out:
                continue
            mine = self.numbers[pid]
            if number and mine and number not in mine and not any(a_number_near(number, a) for a in mine):
                ruled_out.add(pid)  # the person's A-number says this is someone else
                continue
            score = _fit(ridn, idents[i])
            if score > best.get(pid, 0):
                best[pid] = score
        return best


def build_people(adults: Iterable[AdultRecord], removals: Iterable[RemovalRecord]) -> list[Person]:
    """Group ICE records into people, then attach each removal row to the person it fits best."""
    return recognise_people(adults, removals)[0]


def recognise_people(
    adults: Iterable[AdultRecord], removals: Iterable[RemovalRecord]
) -> tuple[list[Person], tuple[int, ...], tuple[int, ...]]:
    """``build_people``, and who the people are as the pid of each ICE record and removal row
    it read, in the orders it read them (-1: a row attached to nobody), so that
    :func:`people_of_owners` gives the same people again without matching."""
    recs = _latest_adults(adults)
    name_keys: _NameKeys = {}
    index = _IceIndex(recs, name_keys)
    idents = index.idents
    groups = _merge_ice(index)
    by_root: dict[int, Person] = {}
    people: list[Person] = []
    owner_of: list[int] = []
    for i, rec in enumerate(recs):
        root = groups.find(i)
        owner = by_root.get(root)
        if owner is None:
            owner = by_root[root] = Person(pid=len(people))
            people.append(owner)
        owner.ice.append(rec)
        owner_of.append(owner.pid)
    del groups, by_root  # the merge's state, freed before the rows' is built
    # each person's A-numbers (a tuple: most people have none or one)
    numbers: list[tuple[str, ...]] = [()] * len(people)
    for i, idn in enumerate(idents):
        if idn.a_number and idn.a_number not in numbers[owner_of[i]]:
            numbers[owner_of[i]] += (idn.a_number,)
    # the records of people who could hold a number near a row's: one mis-keyed digit or swap
    # leaves the first four or the last four digits alone (as in ``a_number_near``), so a
    # numbered person in neither of the row's buckets is ruled out without comparing numbers
    numbered_records: set[int] = set()
    by_head: dict[str, set[int]] = defaultdict(set)
    by_tail: dict[str, set[int]] = defaultdict(set)
    for i, pid in enumerate(owner_of):
        mine = numbers[pid]
        if mine:
            numbered_records.add(i)
            for a in mine:
                by_head[a[:4]].add(i)
                by_tail[a[-4:]].add(i)

    rows: dict[str, tuple[RemovalRecord, _Ident]] = {}
    attached: dict[str, int] = {}
    rows_by_name: dict[tuple[str, str, str], list[_Ident]] = defaultdict(list)
    for rem in removals:
        if rem.record_id in rows:
            continue
        ridn = _ident(rem, name_keys)
        rows[rem.record_id] = (rem, ridn)
        nk = ridn.name_key
        if nk is not None:
            rows_by_name[nk].append(ridn)

    # people without any A-number, by name: the only ones a numbered row meets on the year alone;
    # and the records under the keys of rows with the placeholder date of birth (only those rows
    # look them up)
    wanted = {key for _, ridn in rows.values() if _placeholder_dated(ridn) for key in _year_keys(ridn)}
    bare_by_name: dict[tuple[object, ...], _Bucket] = {}
    by_day: dict[tuple[object, ...], _Bucket] = {}
    by_year: dict[tuple[object, ...], _Bucket] = {}
    for i, idn in enumerate(idents):
        if not numbers[owner_of[i]]:
            for key in _name_keys(idn):
                _file(bare_by_name, key, i)
        for key in _day_keys(idn):
            _file(by_day, key, i)
        if len(idn.surnames) > 1:  # what ``_year_keys`` asks first, spelt out: it runs per record
            for key in _year_keys(idn):
                if key in wanted:
                    _file(by_year, key, i)

    fits = _RowFits(
        index, owner_of, numbers, bare_by_name, by_day, numbered_records, by_head, by_tail, by_year
    )
    for rem, ridn in rows.values():
        number = ridn.a_number
        same_number: set[int] = set(_members(index.by_a, number)) if number else set()
        best = fits.best(ridn, same_number)
        # only records of the row's own number fit it best (``_SAME_NUMBER``): the rest cannot
        # change who wins, so a row of a known number that fits one of them is not looked for
        if not best or max(best.values()) < _SAME_NUMBER:
            # a row whose number no ICE record carries may carry a mis-keyed one
            best = fits.best(ridn, same_number | fits.met(ridn, bool(number) and not same_number))
        if not best:
            continue
        top = max(best.values())
        winners = [pid for pid, s in best.items() if s == top]
        if len(winners) != 1:
            continue  # two people fitting equally well is a namesake collision: attach to neither
        pid = winners[0]
        if top == 1 and not _only_row(ridn, people[pid], rows_by_name):
            continue
        people[pid].removals.append(rem)
        attached[rem.record_id] = pid
    return people, tuple(owner_of), tuple(attached.get(rid, -1) for rid in rows)


def _only_row(ridn: _Ident, person: Person, rows_by_name: dict[tuple[str, str, str], list[_Ident]]) -> bool:
    """A placeholder-only fit holds when no other removal row of the name could be the person
    too. A row that writes the person's whole name of three tokens or more again is outweighed
    only by a row that fits as well: not by one whose second surname, say, is another's, nor by
    one that names fewer of the person's names (a surname dropped)."""
    nk = ridn.name_key
    if nk is None:
        return False
    # each dated record of the person, and whether the row writes its whole name again
    dated = [
        (
            idn,
            idn.given == ridn.given
            and idn.surnames == ridn.surnames
            and len(idn.given) + len(idn.surnames) >= 3,
        )
        for idn in (_ident(r) for r in person.ice if r.dob)
    ]
    for other in rows_by_name.get(nk, ()):
        if other is ridn or other.dob is None:
            continue
        for rec, whole in dated:
            if rec.dob is None or not dob_compatible(other.dob, rec.dob):
                continue
            if not whole or (
                _compatible(other, rec) and _names_shared(other, rec) >= _names_shared(ridn, rec)
            ):
                return False
    return True


def _names_shared(a: _Ident, b: _Ident) -> int:
    """How many of ``a``'s name tokens ``b`` carries too."""
    return sum(t in b.given for t in a.given) + sum(t in b.surnames for t in a.surnames)


def _distinct_rows(removals: Iterable[RemovalRecord]) -> list[RemovalRecord]:
    """The removal rows ``build_people`` attaches: the first of each record id, in order."""
    seen: set[str] = set()
    out: list[RemovalRecord] = []
    for rem in removals:
        if rem.record_id not in seen:
            seen.add(rem.record_id)
            out.append(rem)
    return out


def people_of_owners(
    adults: Iterable[AdultRecord],
    removals: Iterable[RemovalRecord],
    ice_owner: Sequence[int],
    row_owner: Sequence[int],
) -> list[Person] | None:
    """The people :func:`recognise_people` described, over the same records; None when the
    owners do not fit these records (other records: build the people again)."""
    recs = _latest_adults(adults)
    rows = _distinct_rows(removals)
    if len(recs) != len(ice_owner) or len(rows) != len(row_owner):
        return None
    count = max(ice_owner, default=-1) + 1
    people = [Person(pid=pid) for pid in range(count)]
    for rec, pid in zip(recs, ice_owner, strict=True):
        people[pid].ice.append(rec)
    for rem, pid in zip(rows, row_owner, strict=True):
        if pid >= 0:
            if pid >= count:
                return None
            people[pid].removals.append(rem)
    return people
