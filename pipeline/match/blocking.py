"""Blocking: who a child meets. A child is compared in full only with the people it shares a key
with -- the apprehension event, or a name on the adult's apprehension day (the days around the
child's apprehension date, or for a child without one the days before its admission to shelter):
the station, a surname, the reported parent's given name, a name or date of birth among the
children the adult claimed -- and with the adults its DNA tests name. Children without any date,
and adults without an apprehension date, fall back to unscoped name keys. Key hits give a cheap
pre-score; the linker compares only the best few people per child.

Each kind of key (the first element of a key tuple) serves a comparison, which names it in its
``blocking`` (pinned by tests/unit/test_match_comparisons.py).
"""

from __future__ import annotations

import heapq
import math
import os
import weakref
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from pipeline.dna import latest_per_test, oldest_first
from pipeline.match.adults import Person
from pipeline.match.compare import full_name_tokens, given_tokens, surname_tokens
from pipeline.match.comparisons import ADMIT_WINDOW
from pipeline.match.views import ChildView
from pipeline.records import DnaResult

try:  # built by ``make install`` (setup.py); without it the pure-Python pre-score below
    import pipeline.match._prescore as _prescore
except ImportError:  # pragma: no cover - a tree whose extension was not built
    _prescore = None  # type: ignore[assignment]

#: key buckets larger than this are too unspecific to block on
MAX_BUCKET = 150
#: a key bucket this small or smaller adds up to log2(SPECIFIC_BUCKET) to its people's pre-score
SPECIFIC_BUCKET = 32.0
#: taken off the pre-score of a person whose countries all differ from the child's: the model
#: weighs a different country at about -9 bits, yet the keys alone ranked such namesakes (who
#: often claimed a child of the same name) above the true parent, who was then never compared
#: (the largest cause of missed links at 20,000 children: bench/misses.py). Above a claim key's
#: 5 points, so that a claim of the child's name from another country does not outrank the
#: surname of the child's own country; 4 and 6 measured alike on the default worlds tuned on.
COUNTRY_PENALTY = 6.0


class BlockingIndex:
    """Blocking keys of every person.

    Name keys are scoped to the day of the person's apprehension ("on that day, an adult named
    GARCIA"), so a child meets only adults apprehended when it was: namesakes from other weeks
    never crowd the candidate list. People without an apprehension date, and children without
    any date, fall back to unscoped name keys.

    The key buckets (``by_key``, ``multi_day``, ``of_country``, ``no_country``) are built on
    first use: a reconciliation that reuses every child's candidates (``link_state``) needs only
    the record lookups of the DNA results (``by_record``, ``by_a_number``), and the buckets of
    154,000 people take longer to build than the rest of such a reconciliation's linking.
    """

    #: the bucket attributes, built together by :meth:`_build_buckets` on first access
    _BUCKETS = frozenset({"by_key", "multi_day", "of_country", "no_country"})

    by_key: dict[tuple[object, ...], list[int]]
    #: the people apprehended on more than one day, by key: the only ones whose keys span
    #: several days (candidate pruning bounds everyone else by one day's keys)
    multi_day: dict[tuple[object, ...], list[int]]
    #: the people of each country, and those without any (a person of several is in each)
    of_country: dict[str, set[int]]
    no_country: set[int]

    def __init__(self, people: Iterable[Person], oversized: Iterable[tuple[object, ...]] = ()) -> None:
        #: keys too unspecific to block on although this index may hold only part of their
        #: bucket (a partition's index holds the people its children can meet, see partition.py)
        self.oversized = frozenset(oversized)
        self._people = list(people)
        self.by_record: dict[str, int] = {}
        self.by_a_number: dict[str, set[int]] = defaultdict(set)
        for person in self._people:
            pid = person.pid
            for a in person.ice:
                self.by_record[a.record_id] = pid
                if a.a_number:
                    self.by_a_number[a.a_number].add(pid)
            for r in person.removals:
                self.by_record[r.record_id] = pid
                if r.a_number:
                    self.by_a_number[r.a_number].add(pid)

    def __getattr__(self, name: str) -> object:
        # called only for an attribute not set yet: the buckets, the first time one is read
        if name not in BlockingIndex._BUCKETS:
            raise AttributeError(name)
        self._build_buckets()
        return self.__dict__[name]

    @property
    def built(self) -> bool:
        """Whether the key buckets have been built (read by tests and benchmarks)."""
        return "by_key" in self.__dict__

    def _build_buckets(self) -> None:
        by_key: dict[tuple[object, ...], list[int]] = defaultdict(list)
        multi_day: dict[tuple[object, ...], list[int]] = defaultdict(list)
        of_country: dict[str, set[int]] = defaultdict(set)
        no_country: set[int] = set()
        for person in self._people:
            pid = person.pid
            countries = {a.country for a in person.ice if a.country}
            countries.update(r.country for r in person.removals if r.country)
            for country in countries:
                of_country[country].add(pid)
            if not countries:
                no_country.add(pid)
            keys: set[tuple[object, ...]] = set()
            dated = any(a.apprehension_date for a in person.ice)
            for a in person.ice:
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
            for key in keys:
                by_key[key].append(pid)
            if len({a.apprehension_date for a in person.ice if a.apprehension_date}) > 1:
                for key in keys:
                    multi_day[key].append(pid)
        self.by_key, self.multi_day = by_key, multi_day
        self.of_country, self.no_country = of_country, no_country

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


#: a bucket a child reaches: its people, the points it adds, its day (None: unscoped), its key
Bucket = tuple[list[int], float, "int | None", tuple[object, ...]]


def weighted_buckets(c: ChildView, index: BlockingIndex) -> list[Bucket]:
    """The key buckets a child reaches, each with the points it adds to its people's pre-score,
    in the order the pre-score sums them (the order fixes the floating-point sums). What
    ``link_state`` fingerprints: a child's candidates depend on nothing else of the index."""
    out: list[Bucket] = []
    # what ``index.hits`` does, inlined: this runs for every key a child probes (~40 a child,
    # twice a reconciliation: fingerprint and pre-score), most of them empty
    get, oversized, append, log2 = index.by_key.get, index.oversized, out.append, math.log2

    def add(key: tuple[object, ...], points: float, day: int | None) -> None:
        found = get(key)
        if found and len(found) <= MAX_BUCKET and not (oversized and key in oversized):
            # a small bucket is a specific key (a rare surname on that day): it counts for more
            points += log2(max(1.0, SPECIFIC_BUCKET / len(found)))
            append((found, points, day, key))

    # every set is walked sorted: its own order follows the string (and date) hashes, salted per
    # process, and the order of the sums decides near-ties, so a run would depend on the salt
    for ev in sorted(c.events):
        add(("ev", ev), 10.0, None)
    surname_set = {t for s in c.surnames for t in s}
    surname_toks = sorted(surname_set)
    firsts = {s[0] for s in c.surnames}
    first_points = [(t, t in firsts) for t in surname_toks]
    rp_given = sorted({toks[0] for toks, _ in c.parents if toks})
    rp_rest = sorted({t for toks, _ in c.parents for t in toks[1:]} - surname_set)
    given = sorted(c.given)
    stations = sorted(c.stations)
    days = query_days(c)
    dobs = sorted(dob.toordinal() for dob in c.dobs)
    for d, near in sorted(days.items()):
        for st in stations:
            add(("ds", d, st), 2.0 * near, d)
        for t, first in first_points:
            add(("dn", d, t), (2.5 if first else 2.0) * near, d)
        for g in rp_given:
            add(("dg", d, g), 2.0 * near, d)
        for t in rp_rest:
            add(("dn", d, t), 1.0 * near, d)
        for g in given:
            for t, first in first_points:
                add(("dc", d, g, t), (5.0 if first else 3.0) * near, d)
        for dob in dobs:
            add(("dd", d, dob), 2.0 * near, d)
    for t in surname_toks:
        add(("un", t), 1.0, None)
    if not days:
        # no date to scope the names by: the unscoped name keys
        for g in given:
            for t, first in first_points:
                add(("cl", g, t), 5.0 if first else 3.0, None)
        for dob in dobs:
            add(("cd", dob), 2.0, None)
        for toks, _ in c.parents:
            if toks:
                for t in sorted(set(toks[1:]) | surname_set):
                    add(("nm", toks[0], t), 2.0, None)
    return out


def _penalised(c: ChildView, index: BlockingIndex, pids: Iterable[int]) -> set[int]:
    """The people of ``pids`` whose countries all differ from the child's (see
    :data:`COUNTRY_PENALTY`); set differences, as this runs for every person a child reaches."""
    if not c.countries or not COUNTRY_PENALTY:
        return set()
    out = set(pids) - index.no_country
    for country in c.countries:
        if not out:
            break
        out -= index.of_country.get(country, set())
    return out


def candidates_of(c: ChildView, index: BlockingIndex) -> dict[int, float]:
    """People sharing a blocking key with the child, with a cheap pre-score."""
    score: dict[int, float] = defaultdict(float)
    for found, points, _, _ in weighted_buckets(c, index):
        for pid in found:
            score[pid] += points
    return score


#: which pre-score ``top_candidates`` runs: ``auto`` (the compiled one where it is built),
#: ``compiled`` (it must be built) or ``python``; read on every call, so a test can set it
PRESCORE_ENV = "REUNIFY_PRESCORE"

# one compiled scorer per index (its scratch arrays and its people's countries), made on first use
_scorers: weakref.WeakKeyDictionary[BlockingIndex, _prescore.PreScorer] = weakref.WeakKeyDictionary()


def compiled_prescore() -> bool:
    """Whether ``top_candidates`` runs the compiled pre-score (see :data:`PRESCORE_ENV`)."""
    mode = os.environ.get(PRESCORE_ENV, "auto")
    if mode == "python":
        return False
    if mode == "compiled" and _prescore is None:
        raise RuntimeError(f"{PRESCORE_ENV}=compiled but pipeline.match._prescore is not built")
    if mode not in ("auto", "compiled"):
        raise ValueError(f"{PRESCORE_ENV} must be auto, compiled or python, not {mode!r}")
    return _prescore is not None


def _scorer(index: BlockingIndex) -> _prescore.PreScorer:
    scorer = _scorers.get(index)
    if scorer is None:
        assert _prescore is not None
        scorer = _scorers[index] = _prescore.PreScorer(dict(index.of_country), index.no_country)
    return scorer


def top_candidates(
    c: ChildView,
    index: BlockingIndex,
    n: int,
    margin: float,
    boosts: Sequence[tuple[int, float]] = (),
    exclude: Collection[int] = (),
    stats: list[int] | None = None,
    buckets: list[Bucket] | None = None,
) -> list[int]:
    """The people the linker compares: of the pre-scores of :func:`candidates_of` (less the
    penalty of a person whose countries all differ from the child's, plus ``boosts``, added in
    order, without the people in ``exclude``), the ``n`` best, best first, ties by pid, and of
    those only the ones within ``margin`` of the best.

    The compiled pre-score (pipeline/match/_prescore.pyx) scores everyone the child's buckets
    reach, in the reference's order, in a dense array; the pure-Python one
    (:func:`pruned_top`) prunes. Both give exactly :func:`_reference_top`
    (tests/unit/test_prescore_kernel.py). ``stats`` (bench/prune_count.py) needs the pruned one.
    ``buckets``: the child's :func:`weighted_buckets` over ``index``, when the caller has them.
    """
    if buckets is None:
        buckets = weighted_buckets(c, index)
    if stats is None and compiled_prescore():
        countries = c.countries if COUNTRY_PENALTY else ()
        return _scorer(index).top(buckets, countries, COUNTRY_PENALTY, boosts, exclude, n, margin)
    return pruned_top(c, index, n, margin, boosts, exclude, stats, buckets)


def pruned_top(
    c: ChildView,
    index: BlockingIndex,
    n: int,
    margin: float,
    boosts: Sequence[tuple[int, float]] = (),
    exclude: Collection[int] = (),
    stats: list[int] | None = None,
    buckets: list[Bucket] | None = None,
) -> list[int]:
    """:func:`top_candidates` in pure Python.

    Exactly what :func:`_reference_top` gives, with far fewer per-person additions: buckets are
    summed heaviest first, and once the weight of the buckets left cannot lift a person who has
    not been seen to the n-th best score (or to the best one minus the margin) the rest are
    only read for the people still in the running. Penalties only lower a score: each check
    first takes them off the partial sums of the people new since the last one, so partial sums
    stay lower bounds and the weight left an upper bound. Those still in
    the running are then summed again in the reference's order, so that their scores (and ties)
    are bit for bit the reference's. ``stats``, when given, gains the per-person additions and
    the bucket entries the re-summing scanned (bench/prune_count.py).
    """
    if buckets is None:
        buckets = weighted_buckets(c, index)
    order = sorted(range(len(buckets)), key=lambda i: -buckets[i][1])
    # the weight of the buckets not yet summed, by day: a person apprehended on one day is in
    # that day's buckets and the unscoped ones only (people of several days stay in the running)
    rest: dict[int | None, float] = defaultdict(float)
    for _, points, day, _ in buckets:
        rest[day] += points

    def reach() -> float:
        return rest[None] + max((w for d, w in rest.items() if d is not None), default=0.0)

    approx: dict[int, float] = defaultdict(float)
    penalised: set[int] = set()  # the people of ``approx`` whose penalty is taken off it
    bar = -math.inf
    since_check = 0
    pos = 0
    while pos < len(order):
        found, points, day, _ = buckets[order[pos]]
        if since_check + len(found) >= len(approx):
            # a check costs a pass over the people seen: at most once per as many additions
            since_check = 0
            _take_penalties(c, index, approx, penalised)
            left = reach()
            bar = _bar(approx, exclude, n, margin, left)
            if left < bar - _BOUND_SLACK:
                break
        for pid in found:
            approx[pid] += points
        rest[day] -= points
        since_check += len(found)
        pos += 1
    left = reach()
    if stats is not None:
        stats[0] += sum(len(buckets[i][0]) for i in order[:pos])
        stats[1] += sum(len(b[0]) for b in buckets)
    _take_penalties(c, index, approx, penalised)
    bar = _bar(approx, exclude, n, margin, -math.inf)
    running = {pid for pid, v in approx.items() if v + left >= bar - _BOUND_SLACK}
    running.update(pid for pid, _ in boosts)
    for _, _, _, key in buckets:
        running.update(index.multi_day.get(key, ()))
    running.difference_update(exclude)
    if not running:
        return []
    score: dict[int, float] = {}
    for found, points, _, _ in buckets:
        for pid in running.intersection(found):
            score[pid] = score.get(pid, 0.0) + points
    for pid in _penalised(c, index, score):
        score[pid] -= COUNTRY_PENALTY
    for pid, extra in boosts:
        if pid in running:
            score[pid] = score.get(pid, 0.0) + extra
    return _top_within(score, n, margin)


def _take_penalties(c: ChildView, index: BlockingIndex, approx: dict[int, float], done: set[int]) -> None:
    """Take the penalty off the partial sum of each person of ``approx`` not in ``done`` (which
    grows): every partial sum less its penalty is then a lower bound of the person's score."""
    fresh = approx.keys() - done
    if fresh:
        for pid in _penalised(c, index, fresh):
            approx[pid] -= COUNTRY_PENALTY
        done |= fresh


#: slack of the pruning bound, far above the floating-point error of a pre-score sum
_BOUND_SLACK = 1e-6


def _bar(approx: dict[int, float], exclude: Collection[int], n: int, margin: float, left: float) -> float:
    """The score an unseen person must exceed to be compared, from partial sums (lower bounds):
    the best minus the margin, or the n-th best when that is higher (and can matter: the
    n-th best is computed only when the weight ``left`` falls below the best)."""
    for pid in exclude:
        approx.pop(pid, None)
    if not approx:
        return -math.inf
    best = max(approx.values())
    bar = best - margin
    if len(approx) >= n and left < best:
        bar = max(bar, heapq.nlargest(n, approx.values())[-1])
    return bar


def _top_within(pre: dict[int, float], n: int, margin: float) -> list[int]:
    top = best_scored(pre, n)
    if top:
        floor = pre[top[0]] - margin
        top = [pid for pid in top if pre[pid] >= floor]
    return top


def _reference_top(
    c: ChildView,
    index: BlockingIndex,
    n: int,
    margin: float,
    boosts: Sequence[tuple[int, float]] = (),
    exclude: Collection[int] = (),
) -> list[int]:
    """:func:`top_candidates` the plain way (every person scored): the reference it must equal."""
    pre = {pid: w for pid, w in candidates_of(c, index).items() if pid not in exclude}
    for pid in _penalised(c, index, pre):
        pre[pid] -= COUNTRY_PENALTY
    for pid, extra in boosts:
        pre[pid] = pre.get(pid, 0.0) + extra
    return _top_within(pre, n, margin)


def best_scored(pre: dict[int, float], n: int) -> list[int]:
    """The ``n`` best-scored people, best first, ties by pid: ``sorted(...)[:n]`` without sorting
    the hundreds of people a child's blocking keys can reach (only those at or above the n-th
    best score are sorted)."""
    if len(pre) > n:
        cut = heapq.nlargest(n, pre.values())[-1]
        pre = {pid: s for pid, s in pre.items() if s >= cut}
    return sorted(pre, key=lambda pid: (-pre[pid], pid))[:n]


@dataclass(slots=True)
class DnaIndex:
    """The latest result of each DNA test, by the child it names (``R`` + ORR record id, ``A`` +
    A-number)."""

    by_child: dict[str, list[DnaResult]]

    @classmethod
    def of(cls, results: Sequence[DnaResult]) -> DnaIndex:
        """The index of ``results`` (every report: only the latest of each test is kept)."""
        by_child: dict[str, list[DnaResult]] = defaultdict(list)
        for res in latest_per_test(results):
            if res.child_record_id:
                by_child["R" + res.child_record_id].append(res)
            if res.child_a_number:
                by_child["A" + res.child_a_number].append(res)
        return cls(by_child)

    def for_child(self, c: ChildView) -> list[DnaResult]:
        """The child's results, oldest first."""
        found: dict[str, DnaResult] = {}
        for rid in c.group.record_ids:
            for res in self.by_child.get("R" + rid, ()):
                found[res.record_id] = res
        for a in c.a_numbers:
            for res in self.by_child.get("A" + a, ()):
                found[res.record_id] = res
        return oldest_first(found.values())


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
