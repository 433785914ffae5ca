"""Partitions of the parent–child linking: children split by the days they were apprehended, each
partition with exactly the people its children can meet.

Linking a child in its partition gives exactly what linking it over the whole snapshot gives.
Every blocking key a child queries is one of

* scoped to a day among the child's query days (station, surname, given name, claimed child on
  that day): the partition holds every person with an ICE apprehension on any of its children's
  query days, so it holds every member of those buckets;
* an apprehension event, or a surname of an adult without any apprehension date: the partition
  holds every member of those buckets that are small enough to block on;
* for a child without any date, an unscoped name: the partition holds every person that child's
  keys reach.

It also holds every person its children's DNA results name (by ICE record id, and every person
with the named A-number) and each adult a reviewer confirmed for one of them. The index over the
partition's people (taken in pid order, as the whole index takes them) then gives every queried
key the bucket the whole index gives, provided it knows which keys are too large to block on:
those are handed over (``oversized``), with the model and the number of people of the snapshot.
Partitions are contiguous runs of children by their first query day, about equal in size; the
people on the days where two partitions meet belong to both. A single partition holds every child
and every person.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pipeline.match.adults import Person
from pipeline.match.blocking import BlockingIndex, DnaIndex, candidates_of, query_days
from pipeline.match.views import ChildView

BlockingKey = tuple[object, ...]


@dataclass(frozen=True, slots=True)
class Partition:
    """One slice of the linking: children by position in the sorted child groups, the pids of the
    people they can meet (ascending), and the blocking keys among those people's that are too
    large to block on over the whole snapshot."""

    number: int
    children: list[int]
    people: list[int]
    oversized: list[BlockingKey]


def _chunks(order: Sequence[int], count: int) -> list[list[int]]:
    size, extra = divmod(len(order), count)
    out: list[list[int]] = []
    start = 0
    for n in range(count):
        end = start + size + (1 if n < extra else 0)
        out.append(list(order[start:end]))
        start = end
    return out


def plan_partitions(
    cviews: Sequence[ChildView],
    people: Sequence[Person],
    index: BlockingIndex,
    dna: DnaIndex,
    confirmed: Mapping[str, int],
    count: int,
    meet: bool = True,
) -> list[Partition]:
    """Split the children (``cviews``, in their final order) into ``count`` partitions (some empty
    when there are fewer children); ``index`` is the blocking index of every person.

    Without ``meet`` the partitions hold their children only (no people, no keys): for a caller
    that links every partition over the whole index (an in-process run), which gives the same
    buckets and need not be built at all when every child's candidates are reused."""
    count = max(1, count)
    if count == 1:
        if not meet:
            return [Partition(0, list(range(len(cviews))), [], [])]
        # one partition meets everyone: the whole index's buckets, without working out whom
        return [Partition(0, list(range(len(cviews))), [p.pid for p in people], index.oversized_keys())]
    qdays = [query_days(c) for c in cviews]
    undated = 1 << 40  # children without any date go last: they meet people on names alone
    order = sorted(range(len(cviews)), key=lambda i: (min(qdays[i]) if qdays[i] else undated, i))
    if not meet:
        return [Partition(n, sorted(chunk), [], []) for n, chunk in enumerate(_chunks(order, count))]
    by_day: dict[int, list[int]] = defaultdict(list)
    for person in people:
        for day in {a.apprehension_date.toordinal() for a in person.ice if a.apprehension_date}:
            by_day[day].append(person.pid)
    oversized = index.oversized_keys()
    parts: list[Partition] = []
    for number, chunk in enumerate(_chunks(order, count)):
        pids: set[int] = set()
        days: set[int] = set()
        for i in chunk:
            c = cviews[i]
            days.update(qdays[i])
            for ev in c.events:
                pids.update(index.hits(("ev", ev)))
            for t in {t for s in c.surnames for t in s}:
                pids.update(index.hits(("un", t)))
            if not qdays[i]:
                pids.update(candidates_of(c, index))
            for res in dna.for_child(c):
                if res.adult_record_id and res.adult_record_id in index.by_record:
                    pids.add(index.by_record[res.adult_record_id])
                if res.adult_a_number:
                    pids.update(index.by_a_number.get(res.adult_a_number, ()))
            if c.group.key in confirmed:
                pids.add(confirmed[c.group.key])
        for day in days:
            pids.update(by_day.get(day, ()))
        over = [key for key in oversized if any(pid in pids for pid in index.by_key[key])]
        parts.append(Partition(number, sorted(chunk), sorted(pids), over))
    return parts
