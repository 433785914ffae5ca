"""Child de-duplication: one child can hold several ORR records (a re-referral gets a new id).

Two records are the same child when

* their A-numbers agree up to one mis-keyed digit or swap, and the names (or, for an exact
  A-number, the names or the dates of birth) agree; or
* without a usable A-number pair: the given name and first surname agree (one typo allowed), the
  dates of birth agree up to the feeds' noise, and the apprehension agrees (event, date within two
  days, or station) -- siblings share surnames and apprehensions but not given names and birthdays.

A re-referral is a new admission: records admitted within days of each other are two children
admitted together (siblings who may share a given name), unless their A-numbers are equal.

A second intake often writes a child without the first file: no A-number, no apprehension data,
a second surname or given name dropped, the date of birth day/month swapped or the placeholder
1 January, a name keyed with a slip. Such a pair is a *weak* match when the first given name,
first surname and country agree and

* the dates of birth are compatible and the records have no apprehension to compare; with the
  placeholder (only the year is known) the bare record (no A-number, no apprehension) must be
  the later admission and the name :data:`LONG_NAME` tokens long, one fewer when both records
  name the same parent;
* or, a date of birth missing on one side, the apprehension is the same (event, or date and
  station), or dated at most :data:`APPREHENSION_WINDOW` days apart at the same place (event or
  station) or with the exact first given name and first surname;
* or, a date of birth missing on either side and the apprehensions not in conflict, the name is
  :data:`LONG_NAME` tokens long and written whole (one typo a token), or with a token dropped
  when both records name the same parent, and the record without an A-number is the later
  admission.

Without an equal A-number, two records are never one child when their sexes differ (a
one-letter change of given name flips MARIA to MARIO), nor their countries of birth, nor their
second surnames (the mother's) or second given names when both carry one, nor the given name of
the parent they named (same relation). A mis-keyed A-number pair is vetoed by the sex and a
joint admission only. The name keys survive one typo (:func:`blocking_keys`).

Weak matches do not chain: one joins two groups only when every pair of records across them is
compatible (see :func:`_conflict`); and a record whose weak matches reach two groups that are two
children is ambiguous, so it joins neither (a split is cheaper than a merge of two children).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from pipeline.match.compare import (
    a_number_keys,
    a_number_near,
    dob_compatible,
    full_name_tokens,
    given_agree,
    given_tokens,
    name_near,
    placeholder_dob,
    surname_agree,
    surname_tokens,
    within_one_edit,
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
    return bool(a.country and a.country == b.country and a.dob == b.dob and _whole_name_again(a, b))


def _tokens_near(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    return len(a) == len(b) and all(name_near(x, y) for x, y in zip(a, b, strict=True))


def _whole_name_again(a: ChildRecord, b: ChildRecord, min_tokens: int = 0) -> bool:
    """Every token of both name fields written again (one typo a token at most), and the name at
    least ``min_tokens`` tokens long."""
    ga, gb = given_tokens(a.first_name), given_tokens(b.first_name)
    sa, sb = surname_tokens(a.last_name), surname_tokens(b.last_name)
    return len(ga) + len(sa) >= min_tokens and _tokens_near(ga, gb) and _tokens_near(sa, sb)


#: a key shared by more records than this is a common name, not a child: the other keys apply
MAX_BUCKET = 80

#: a re-referral is a new admission: two records admitted within this many days of each other
#: are two children admitted together (siblings), unless their A-numbers are the same
READMISSION_GAP = 5


def _admitted_together(a: ChildRecord, b: ChildRecord) -> bool:
    return bool(
        a.admitted_at and b.admitted_at and abs((a.admitted_at - b.admitted_at).days) <= READMISSION_GAP
    )


#: with a date of birth missing on one side, apprehensions this many days apart may be one child
APPREHENSION_WINDOW = 2

STRONG, WEAK = 2, 1


def _sex_conflict(a: ChildRecord, b: ChildRecord) -> bool:
    return bool(a.sex and b.sex and a.sex != b.sex)


def _country_conflict(a: ChildRecord, b: ChildRecord) -> bool:
    # the country of birth does not change between intakes; namesakes come from every country
    return bool(a.country and b.country and a.country != b.country)


def _second_surname_conflict(a: ChildRecord, b: ChildRecord) -> bool:
    """Both records carry a second surname (the mother's) and they differ beyond a typo.

    The surnames run together are compared first: a surname split or joined one letter off
    (``MARTINEZD IAZ``) moves the token boundary without changing the child."""
    sa, sb = surname_tokens(a.last_name), surname_tokens(b.last_name)
    if len(sa) < 2 or len(sb) < 2 or within_one_edit("".join(sa), "".join(sb)):
        return False
    return not within_one_edit("".join(sa[1:]), "".join(sb[1:]))


def _second_given_conflict(a: ChildRecord, b: ChildRecord) -> bool:
    """Both records carry a second given name and they differ beyond a typo (MARIA GLENDA is
    not MARIA LESLY; a record may drop the second given name, not change it)."""
    ga, gb = given_tokens(a.first_name), given_tokens(b.first_name)
    if len(ga) < 2 or len(gb) < 2 or within_one_edit("".join(ga), "".join(gb)):
        return False
    return not within_one_edit("".join(ga[1:]), "".join(gb[1:]))


def _reported_parent_conflict(a: ChildRecord, b: ChildRecord) -> bool:
    """Both records name the parent (the same relation, or one unsaid) by different given names."""
    pa, pb = full_name_tokens(a.reported_parent_name or ""), full_name_tokens(b.reported_parent_name or "")
    if not pa or not pb:
        return False
    ra, rb = a.reported_parent_relation, b.reported_parent_relation
    if ra and rb and ra != rb:
        return False  # the child named the other parent: nothing to compare
    # one edit apart even for short names (ANA, ANNA): a slip of the pen is not another parent
    return not within_one_edit(pa[0], pb[0])


def _vetoed(a: ChildRecord, b: ChildRecord) -> bool:
    """Something two records of one child cannot disagree on (short of an equal A-number)."""
    return (
        _sex_conflict(a, b)
        or _country_conflict(a, b)
        or _second_surname_conflict(a, b)
        or _second_given_conflict(a, b)
        or _reported_parent_conflict(a, b)
        or _admitted_together(a, b)
    )


def _later(again: ChildRecord, first: ChildRecord) -> bool:
    """``again`` was admitted after ``first`` (or an admission date is unknown)."""
    if not (again.admitted_at and first.admitted_at):
        return True
    return again.admitted_at > first.admitted_at


def _bare(r: ChildRecord) -> bool:
    """Written without the first file: no A-number and no apprehension data."""
    return not r.a_number and not _has_apprehension(r)


def _second_intake(a: ChildRecord, b: ChildRecord, lacks: Callable[[ChildRecord], bool]) -> bool:
    """One record ``lacks`` what the first file holds and is the later admission of the two."""
    return (lacks(b) and _later(b, a)) or (lacks(a) and _later(a, b))


def _reported_parent_agree(a: ChildRecord, b: ChildRecord) -> bool:
    pa, pb = full_name_tokens(a.reported_parent_name or ""), full_name_tokens(b.reported_parent_name or "")
    return bool(pa and pb and name_near(pa[0], pb[0]))


def _apprehension_conflict(a: ChildRecord, b: ChildRecord) -> bool:
    """Two apprehensions that cannot be one: other events, days apart, other stations."""
    if a.event_id and b.event_id and a.event_id != b.event_id:
        return True
    if a.station and b.station and a.station != b.station:
        return True
    return bool(
        a.apprehension_date
        and b.apprehension_date
        and abs((a.apprehension_date - b.apprehension_date).days) > APPREHENSION_WINDOW
    )


def _apprehension_exact(a: ChildRecord, b: ChildRecord) -> bool:
    return bool(
        (a.event_id and a.event_id == b.event_id)
        or (a.apprehension_date and a.apprehension_date == b.apprehension_date and a.station == b.station)
    )


def _has_apprehension(r: ChildRecord) -> bool:
    return bool(r.event_id or r.apprehension_date or r.station)


def _apprehension_comparable(a: ChildRecord, b: ChildRecord) -> bool:
    return bool(
        (a.event_id and b.event_id)
        or (a.apprehension_date and b.apprehension_date)
        or (a.station and b.station)
    )


def _first_tokens_equal(a: ChildRecord, b: ChildRecord) -> bool:
    ga, gb = given_tokens(a.first_name), given_tokens(b.first_name)
    sa, sb = surname_tokens(a.last_name), surname_tokens(b.last_name)
    return bool(ga and gb and sa and sb and ga[0] == gb[0] and sa[0] == sb[0])


def _weak_match(a: ChildRecord, b: ChildRecord) -> bool:
    """The second intake's rule (module docstring): the names and dates of birth a bare record
    still carries, or apprehensions a day or two apart when a date of birth is missing."""
    if not (a.country and a.country == b.country):
        return False
    if a.dob and b.dob:
        # only when the records have no apprehension to compare: two that disagree are two
        # children (and two that agree, with these dates of birth, met the strong rule)
        if _apprehension_comparable(a, b):
            return False
        if placeholder_dob(a.dob) or placeholder_dob(b.dob):
            # the placeholder says only the year: a common name would merge namesakes, so the
            # bare record must be the later admission and the name long, or the parent the
            # child named the same
            return (
                a.dob.year == b.dob.year
                and _second_intake(a, b, _bare)
                and _long_name_near(a, b, _reported_parent_agree(a, b))
            )
        return dob_compatible(a.dob, b.dob)
    if _apprehension_conflict(a, b):
        return False
    if _whole_name_stands_in(a, b):
        return True
    # namesakes share days: the place the same too, or the name without the typo allowed
    place = bool((a.event_id and a.event_id == b.event_id) or (a.station and a.station == b.station))
    return bool(
        (place or _first_tokens_equal(a, b))
        and a.apprehension_date
        and b.apprehension_date
        and abs((a.apprehension_date - b.apprehension_date).days) <= APPREHENSION_WINDOW
    )


#: a name must have this many tokens to stand for the date of birth the placeholder hides
#: (one fewer when the records name the same parent)
LONG_NAME = 3


def _field_near(x: tuple[str, ...], y: tuple[str, ...]) -> bool:
    """One name field written twice: the tokens run together one typo apart (a space slipped
    in or out), or the shorter field's tokens the other's first ones, one typo apart."""
    if within_one_edit("".join(x), "".join(y)):
        return True
    k = min(len(x), len(y))
    return within_one_edit("".join(x[:k]), "".join(y[:k]))


def _long_name_near(a: ChildRecord, b: ChildRecord, same_parent: bool) -> bool:
    ga, gb = given_tokens(a.first_name), given_tokens(b.first_name)
    sa, sb = surname_tokens(a.last_name), surname_tokens(b.last_name)
    if min(len(ga), len(gb)) + min(len(sa), len(sb)) < LONG_NAME - same_parent:
        return False
    return bool(ga and gb and sa and sb) and _field_near(ga, gb) and _field_near(sa, sb)


def _numberless(r: ChildRecord) -> bool:
    return not r.a_number


def _whole_name_stands_in(a: ChildRecord, b: ChildRecord) -> bool:
    """With a date of birth missing on either side (or both) and apprehensions that do not
    conflict, the long name stands in for the date: written whole again (:data:`LONG_NAME` tokens
    or more), or with a token dropped when both records name the same parent; and the record
    without an A-number is the later admission (a second intake writes the child without the
    first file, not the other way round)."""
    if not _second_intake(a, b, _numberless):
        return False
    return _whole_name_again(a, b, LONG_NAME) or (
        _reported_parent_agree(a, b) and _long_name_near(a, b, False)
    )


def match_strength(a: ChildRecord, b: ChildRecord) -> int:
    """0 (two children), :data:`WEAK` or :data:`STRONG` (see the module docstring)."""
    if same_child(a, b):
        return STRONG
    if a.a_number and b.a_number:
        return 0  # numbered records meet by their numbers (same_child), never by the weak rule
    if _vetoed(a, b):
        return 0
    if not (_given_agree(a, b) and _surname_agree(a, b)):
        return 0
    if _dob_agree(a.dob, b.dob) is None and _apprehension_exact(a, b):
        return WEAK
    return WEAK if _weak_match(a, b) else 0


def _conflict(a: ChildRecord, b: ChildRecord) -> bool:
    """Something in the pair says two children: a weak match may not put them in one group."""
    if a.a_number and b.a_number:
        return not a_number_near(a.a_number, b.a_number)
    if _vetoed(a, b) or _apprehension_conflict(a, b):
        return True
    return _dob_agree(a.dob, b.dob) is False


def same_child(a: ChildRecord, b: ChildRecord) -> bool:
    """The strong pairwise rule of this module (see the module docstring)."""
    dob = _dob_agree(a.dob, b.dob)
    if a.a_number and b.a_number and a.a_number == b.a_number:
        return _given_agree(a, b) or dob is True
    if a.a_number and b.a_number:
        # a mis-keyed number is strong evidence: only what no slip explains (the sex, an
        # admission with the other) vetoes it
        if _sex_conflict(a, b) or _admitted_together(a, b):
            return False
        if a_number_near(a.a_number, b.a_number):
            return _given_agree(a, b) and _surname_agree(a, b) and dob is not False
        return False
    if _vetoed(a, b):
        return False
    if not (_given_agree(a, b) and _surname_agree(a, b)):
        return False
    if dob is False:
        return False
    if dob is None:
        # without a date of birth on both sides, names and one apprehension are all there is:
        # a weak match (match_strength), subject to the other records of both groups
        return False
    loose = a.dob and b.dob and a.dob != b.dob and (placeholder_dob(a.dob) or placeholder_dob(b.dob))
    if loose and not _dated_agree(a, b):
        # a date of birth that agrees only through the placeholder (the year, give or take
        # one) leaves the apprehension to tell namesakes apart: a station alone will not
        return False
    return _apprehension_agree(a, b)


def _dated_agree(a: ChildRecord, b: ChildRecord) -> bool:
    """The apprehensions meet on the event, or on dates (then stations) as _apprehension_agree."""
    if a.event_id and b.event_id:
        return a.event_id == b.event_id
    return bool(a.apprehension_date and b.apprehension_date)


def _one_typo_forms(token: str) -> list[str]:
    """The token and its forms with one letter deleted: two tokens one substitution, insertion,
    deletion or adjacent swap apart share one of them."""
    return [token, *{token[:k] + token[k + 1 :] for k in range(len(token))}]


def blocking_keys(rec: ChildRecord) -> set[str]:
    """The keys under which a record meets the records it is compared with.

    The name keys survive one typo in the first given name or the first surname (a second
    intake keys the name again); the one with the birth year serves names too common for the
    name alone to be compared (:data:`MAX_BUCKET`). Only A-number keys (``A``, ``T``) bring
    two numbered records together: two records with A-numbers meet by their numbers alone."""
    keys: set[str] = set()
    if rec.a_number:
        keys.add("A" + rec.a_number)
        keys.update("T" + k for k in a_number_keys(rec.a_number))
    given, surnames = given_tokens(rec.first_name), surname_tokens(rec.last_name)
    if given and surnames:
        g, s = given[0], surnames[0]
        names = {f"{g}|{t}" for t in _one_typo_forms(s)} | {f"{t}|{s}" for t in _one_typo_forms(g)}
        keys.update("N" + n for n in names)
        if len(surnames) > 1:
            # a typo in the given name: both surnames still meet
            keys.add("J" + "".join(surnames))
        if rec.dob:
            keys.add(f"Y{g}|{s}|{rec.dob.year}")
            keys.add(f"D{s}|{rec.dob.isoformat()}")
            keys.add(f"G{g}|{rec.dob.isoformat()}")
    return keys


def _groups_conflict(recs: Sequence[ChildRecord], x: Sequence[int], y: Sequence[int]) -> bool:
    return any(_conflict(recs[i], recs[j]) for i in x for j in y)


def _latest_children(records: Iterable[ChildRecord]) -> list[ChildRecord]:
    """The most recently updated copy of each record id, in record id order."""
    latest: dict[str, ChildRecord] = {}
    for rec in records:
        seen = latest.get(rec.record_id)
        if seen is None or rec.updated_at >= seen.updated_at:
            latest[rec.record_id] = rec
    return sorted(latest.values(), key=lambda r: r.record_id)


def group_owners(groups: Iterable[ChildGroup], records: Iterable[ChildRecord]) -> tuple[int, ...]:
    """Which of ``groups`` (``group_children(records)``, in their order) each record it reads
    belongs to, in the order it reads them, so that :func:`groups_of_owners` gives the same
    groups again without comparing records."""
    group_of = {rec.record_id: n for n, group in enumerate(groups) for rec in group.records}
    return tuple(group_of[rec.record_id] for rec in _latest_children(records))


def groups_of_owners(records: Iterable[ChildRecord], owner: Sequence[int]) -> list[ChildGroup] | None:
    """The groups :func:`group_owners` described, over the same records, in the same order;
    None when the owners do not fit these records."""
    recs = _latest_children(records)
    if len(recs) != len(owner):
        return None
    members: list[list[ChildRecord]] = [[] for _ in range(max(owner, default=-1) + 1)]
    for rec, n in zip(recs, owner, strict=True):
        members[n].append(rec)
    if not all(members):
        return None
    return [ChildGroup(m) for m in members]


def group_children(records: Iterable[ChildRecord]) -> list[ChildGroup]:
    """Merge the ORR records of each child; every record lands in exactly one group.

    Duplicate record ids (the same record twice) collapse to the most recently updated copy.
    """
    recs: Sequence[ChildRecord] = _latest_children(records)
    uf = _UnionFind(len(recs))
    buckets: dict[str, list[int]] = defaultdict(list)
    for i, rec in enumerate(recs):
        for key in blocking_keys(rec):
            buckets[key].append(i)
    compared: set[tuple[int, int]] = set()
    weak: list[tuple[int, int]] = []
    for key, members in buckets.items():
        if len(members) < 2 or len(members) > MAX_BUCKET:
            # a bucket this large is a common name, not a child: the other keys still apply
            continue
        by_number = key[0] in "AT"
        for x in range(len(members)):
            for y in range(x + 1, len(members)):
                i, j = members[x], members[y]
                if not by_number and recs[i].a_number and recs[j].a_number:
                    continue  # numbered records meet by their numbers (match_strength)
                if (i, j) in compared or uf.find(i) == uf.find(j):
                    continue
                compared.add((i, j))
                strength = match_strength(recs[i], recs[j])
                if strength == STRONG:
                    uf.union(i, j)
                elif strength == WEAK:
                    weak.append((i, j))
    members_of: dict[int, list[int]] = defaultdict(list)
    for i in range(len(recs)):
        members_of[uf.find(i)].append(i)
    ambiguous = _ambiguous(recs, weak, uf, members_of)
    # Weak matches after every strong one, in record order, each only between groups with no
    # conflicting pair: a chain of weak links cannot join two children.
    for i, j in sorted(weak):
        if i in ambiguous or j in ambiguous:
            continue
        ri, rj = uf.find(i), uf.find(j)
        if ri == rj:
            continue
        if _groups_conflict(recs, members_of[ri], members_of[rj]):
            continue
        uf.union(i, j)
        root, other = (ri, rj) if uf.find(i) == ri else (rj, ri)
        members_of[root].extend(members_of.pop(other))
    groups: dict[int, list[ChildRecord]] = defaultdict(list)
    for i, rec in enumerate(recs):
        groups[uf.find(i)].append(rec)
    return [ChildGroup(members) for members in groups.values()]


def _ambiguous(
    recs: Sequence[ChildRecord],
    weak: Sequence[tuple[int, int]],
    uf: _UnionFind,
    members_of: dict[int, list[int]],
) -> set[int]:
    """Records whose weak matches reach two groups (of the strong pass) that are two children:
    the record could be either, so it joins neither."""
    reach: dict[int, set[int]] = defaultdict(set)
    for i, j in weak:
        reach[i].add(uf.find(j))
        reach[j].add(uf.find(i))
    out: set[int] = set()
    for i, roots in reach.items():
        others = sorted(roots - {uf.find(i)})
        if any(
            _groups_conflict(recs, members_of[g], members_of[h])
            for x, g in enumerate(others)
            for h in others[x + 1 :]
        ):
            out.add(i)
    return out
