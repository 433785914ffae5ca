"""Child de-duplication: one child can hold several ORR records (a re-referral gets a new id).

Two records are the same child when

* their A-numbers agree up to one mis-keyed digit or swap, and the names (or, for an exact
  A-number, the names or the dates of birth) agree; or
* without a usable A-number pair: the given name and first surname agree (one typo allowed), the
  dates of birth agree up to the feeds' noise, and the apprehension agrees (event, date within two
  days, or station) -- siblings share surnames and apprehensions but not given names and birthdays.

A re-referral is a new admission: records admitted within days of each other are two children
admitted together (siblings who may share a given name), unless their A-numbers are equal.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from pipeline.match.compare import (
    a_number_keys,
    a_number_near,
    dob_compatible,
    given_agree,
    given_tokens,
    name_near,
    surname_agree,
    surname_tokens,
)
from pipeline.records import ChildRecord


@dataclass(slots=True)
class ChildGroup:
    """The records of one child, newest first."""

    records: list[ChildRecord]
    key: str = field(init=False)

    def __post_init__(self) -> None:
        self.records.sort(key=lambda r: (r.updated_at, r.record_id), reverse=True)
        self.key = min(r.record_id for r in self.records)

    @property
    def record_ids(self) -> list[str]:
        """The ORR record ids, sorted."""
        return sorted({r.record_id for r in self.records})


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


def _given_agree(a: ChildRecord, b: ChildRecord) -> bool:
    return given_agree(given_tokens(a.first_name), given_tokens(b.first_name))


def _surname_agree(a: ChildRecord, b: ChildRecord) -> bool:
    return surname_agree(surname_tokens(a.last_name), surname_tokens(b.last_name))


def _dob_agree(a: date | None, b: date | None) -> bool | None:
    if a is None or b is None:
        return None
    return dob_compatible(a, b)


def _apprehension_agree(a: ChildRecord, b: ChildRecord) -> bool:
    if a.event_id and b.event_id:
        return a.event_id == b.event_id
    if a.apprehension_date and b.apprehension_date:
        if abs((a.apprehension_date - b.apprehension_date).days) > 2:
            return False
        return not (a.station and b.station and a.station != b.station)
    if a.station and b.station:
        return a.station == b.station
    # nothing to compare: namesakes are common, so only the whole name (a typo allowed), the
    # exact date of birth and the country will do
    return bool(
        a.country
        and a.country == b.country
        and a.dob == b.dob
        and _tokens_near(given_tokens(a.first_name), given_tokens(b.first_name))
        and _tokens_near(surname_tokens(a.last_name), surname_tokens(b.last_name))
    )


def _tokens_near(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    return len(a) == len(b) and all(name_near(x, y) for x, y in zip(a, b, strict=True))


#: a key shared by more records than this is a common name, not a child: the other keys apply
MAX_BUCKET = 80

#: a re-referral is a new admission: two records admitted within this many days of each other
#: are two children admitted together (siblings), unless their A-numbers are the same
READMISSION_GAP = 5


def _admitted_together(a: ChildRecord, b: ChildRecord) -> bool:
    return bool(
        a.admitted_at and b.admitted_at and abs((a.admitted_at - b.admitted_at).days) <= READMISSION_GAP
    )


def same_child(a: ChildRecord, b: ChildRecord) -> bool:
    """The pairwise rule of this module (see the module docstring)."""
    dob = _dob_agree(a.dob, b.dob)
    if a.a_number and b.a_number and a.a_number == b.a_number:
        return _given_agree(a, b) or dob is True
    if _admitted_together(a, b):
        return False
    if a.a_number and b.a_number:
        if a_number_near(a.a_number, b.a_number):
            return _given_agree(a, b) and _surname_agree(a, b) and dob is not False
        return False
    if not (_given_agree(a, b) and _surname_agree(a, b)):
        return False
    if dob is False:
        return False
    if dob is None:
        # without a date of birth on both sides, the apprehension must agree exactly
        return bool(
            (a.event_id and a.event_id == b.event_id)
            or (a.apprehension_date and a.apprehension_date == b.apprehension_date and a.station == b.station)
        )
    return _apprehension_agree(a, b)


def group_children(records: Iterable[ChildRecord]) -> list[ChildGroup]:
    """Merge the ORR records of each child; every record lands in exactly one group.

    Duplicate record ids (the same record twice) collapse to the most recently updated copy.
    """
    latest: dict[str, ChildRecord] = {}
    for rec in records:
        seen = latest.get(rec.record_id)
        if seen is None or rec.updated_at >= seen.updated_at:
            latest[rec.record_id] = rec
    recs: Sequence[ChildRecord] = sorted(latest.values(), key=lambda r: r.record_id)
    uf = _UnionFind(len(recs))
    buckets: dict[str, list[int]] = defaultdict(list)
    for i, rec in enumerate(recs):
        keys: set[str] = set()
        if rec.a_number:
            keys.add("A" + rec.a_number)
            keys.update("T" + k for k in a_number_keys(rec.a_number))
        given, surnames = given_tokens(rec.first_name), surname_tokens(rec.last_name)
        if given and surnames:
            keys.add(f"N{given[0]}|{surnames[0]}")
            if len(surnames) > 1:
                # a typo in the given name: both surnames still meet
                keys.add("J" + "".join(surnames))
            if rec.dob:
                keys.add(f"D{surnames[0]}|{rec.dob.isoformat()}")
                keys.add(f"G{given[0]}|{rec.dob.isoformat()}")
        for key in keys:
            buckets[key].append(i)
    compared: set[tuple[int, int]] = set()
    for members in buckets.values():
        if len(members) < 2 or len(members) > MAX_BUCKET:
            # a bucket this large is a common name, not a child: the other keys still apply
            continue
        for x in range(len(members)):
            for y in range(x + 1, len(members)):
                i, j = members[x], members[y]
                if (i, j) in compared or uf.find(i) == uf.find(j):
                    continue
                compared.add((i, j))
                if same_child(recs[i], recs[j]):
                    uf.union(i, j)
    groups: dict[int, list[ChildRecord]] = defaultdict(list)
    for i, rec in enumerate(recs):
        groups[uf.find(i)].append(rec)
    return [ChildGroup(members) for members in groups.values()]
