"""A measured experiment, not the pipeline's estimate: the name comparisons' u counted by strata
(issue 17 item 6, 2026-12-08; bench/README.md says why it did not land).

    python -m bench.u_strata moves [PROFILE] [CHILDREN]   # weight moves, as bench.u_weights
    python -m bench.u_strata cost [CHILDREN]              # CPU of the estimate, with and without
    python -m bench.u_strata cover [CHILDREN]             # pairs at a keyed level sharing no key

The surname, reported-parent-name and claimed-child comparisons still take their u from 12,000
random pairs, and their rare levels (a name one letter off, a claim by name) are seen a handful
of times there. Here each of them names keys that every pair at such a level shares ("keyed"
levels: all but the ``UNKEYED`` ones): edit keys (the token and the token one letter shorter)
for the names ``name_near`` compares, and the edit keys of the first four letters for the
surname strings ``prefix_near`` and ``suffix_near`` compare. The pairs sharing a key are sampled
apart (a key by its pairs, then a child and a record of it, each draw weighed by 1/the keys the
pair shares), and the random pairs that share none count for the rest.
"""

from __future__ import annotations

import bisect
import random
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Iterable, Sequence
from datetime import date
from itertools import accumulate, chain
from typing import Any, NamedTuple

import pipeline.reconcile as R
from pipeline.dates import screen_snapshot
from pipeline.match import model as M
from pipeline.match.adults import Person, build_people
from pipeline.match.children import group_children
from pipeline.match.compare import full_name_tokens, given_tokens, surname_tokens
from pipeline.match.comparisons import (
    COMPARISONS,
    Claimed,
    Comparison,
    ParentName,
    Surname,
    _records,
    compare,
)
from pipeline.match.link import Linker
from pipeline.match.views import ChildView, PersonView
from pipeline.sim.profiles import rates_for
from pipeline.sim.world import World, generate_world, mutate_world

#: pairs drawn among those sharing a key, per comparison
STRATUM_PAIRS = 12_000


def edit_keys(token: str) -> frozenset[str]:
    """``token`` and the strings one letter shorter: two tokens one edit apart share one."""
    return frozenset({token, *(token[:i] + token[i + 1 :] for i in range(len(token)))})


def prefix_keys(token: str) -> frozenset[str]:
    """What every surname string ``token`` begins (``prefix_near``) shares with it."""
    if len(token) < 4:
        return frozenset({"x" + token})
    return frozenset("4" + k for k in edit_keys(token[:4]))


def joined_prefix_keys(joined: str) -> frozenset[str]:
    """What every token that begins ``joined`` (``prefix_near``) shares with it."""
    return frozenset({*("4" + k for k in edit_keys(joined[:4])), *("x" + joined[:n] for n in (1, 2, 3))})


def _tagged(tag: str, keys: Iterable[str]) -> frozenset[str]:
    return frozenset(tag + k for k in keys)


def _claim(name: str) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    toks = full_name_tokens(name)
    return (toks[:-1] or toks, toks[-1:] if len(toks) > 1 else ()) if toks else None


class Strata(NamedTuple):
    """One comparison's stratum values (a child's; a person's, one per record or claim), their
    keys, and the levels a pair sharing no key can fall in."""

    child_values: Callable[[ChildView], Iterable[Hashable]]
    child_keys: Callable[[Any], frozenset[str]]
    person_values: Callable[[Person], Iterable[Hashable]]
    person_keys: Callable[[Any], frozenset[str]]
    unkeyed: tuple[int, ...]


def _surname_child(sn: tuple[str, ...]) -> frozenset[str]:
    # p/s: the adult's first surname begins or ends the child's; t: a shared token; r: the
    # child's surname begins the adult's run together
    joined = "".join(sn)
    return frozenset(
        {
            *_tagged("p", joined_prefix_keys(joined)),
            *_tagged("s", joined_prefix_keys(joined[::-1])),
            *("t" + t for t in sn),
            *(k for tok in sn[:2] if len(tok) >= 4 for k in _tagged("r", prefix_keys(tok))),
        }
    )


def _surname_person(last_name: str) -> frozenset[str]:
    sn = surname_tokens(last_name)
    if not sn:
        return frozenset()
    return frozenset(
        {
            *_tagged("p", prefix_keys(sn[0])),
            *_tagged("s", prefix_keys(sn[0][::-1])),
            *("t" + t for t in sn),
            *_tagged("r", joined_prefix_keys("".join(sn))),
        }
    )


def _claimed_child(c: ChildView) -> list[tuple[str, int]]:
    years = {d.year + step for d in c.dobs for step in (-1, 0, 1)}
    return [(t, 0) for t in c.given] + [(j, y) for j in c.joined for y in years]


def _claimed_child_keys(value: tuple[str, int]) -> frozenset[str]:
    name, year = value
    return _tagged("g", edit_keys(name)) if not year else _tagged(f"d{year}:", joined_prefix_keys(name))


def _claimed_person_keys(value: tuple[str, date | None]) -> frozenset[str]:
    names = _claim(value[0])
    if names is None:
        return frozenset()
    keys = _tagged("g", edit_keys(names[0][0]))
    if names[1] and value[1] is not None:
        keys |= _tagged(f"d{value[1].year}:", prefix_keys(names[1][0]))
    return keys


STRATA: dict[type[Comparison], Strata] = {
    Surname: Strata(
        lambda c: c.surnames,
        _surname_child,
        lambda p: [r.last_name for r in _records(p)],
        _surname_person,
        (Surname.SINGLE_DIFFERS.index, Surname.NONE_COMMON.index),
    ),
    ParentName: Strata(
        lambda c: [toks[0] for toks, _ in c.parents if toks],
        edit_keys,
        lambda p: [r.first_name for r in _records(p)],
        lambda first: frozenset(k for t in given_tokens(first) for k in edit_keys(t)),
        (ParentName.DIFFERS.index, ParentName.MISSING.index),
    ),
    Claimed: Strata(
        _claimed_child,
        _claimed_child_keys,
        lambda p: [(cl.name, cl.dob) for a in p.ice for cl in a.claimed_children],
        _claimed_person_keys,
        (Claimed.OTHERS_ONLY.index, Claimed.MISSING.index),
    ),
}


def stratified_counts(
    comp: Comparison,
    st: Strata,
    children: Sequence[ChildView],
    people: Sequence[Person],
    pview: Callable[[int], PersonView],
    drawn: Sequence[tuple[int, int]],
    drawn_levels: Sequence[int],
    seed: int,
) -> dict[int, float]:
    """The levels of every pair of one comparison, estimated in pairs (see the module's doc)."""
    memo: dict[Hashable, frozenset[str]] = {}

    def keys_of(child: ChildView) -> frozenset[str]:
        out: frozenset[str] = frozenset()
        for value in st.child_values(child):
            keys = memo.get(value)
            if keys is None:
                keys = memo[value] = st.child_keys(value)
            out = keys if not out else out | keys
        return out

    child_keys = [keys_of(c) for c in children]
    owners: dict[Hashable, list[int]] = defaultdict(list)
    for k, person in enumerate(people):
        for value in st.person_values(person):
            owners[value].append(k)
    value_keys = {value: st.person_keys(value) for value in owners}

    def shares(i: int, k: int) -> int:
        return sum(len(child_keys[i] & value_keys[v]) for v in st.person_values(people[k]))

    holding = Counter(chain.from_iterable(child_keys))
    held: Counter[str] = Counter()
    for value, holders in owners.items():
        for key in value_keys[value]:
            held[key] += len(holders)
    shared = sorted(key for key in holding if key in held)
    pairs = [holding[key] * held[key] for key in shared]
    total = sum(pairs)
    counts: defaultdict[int, float] = defaultdict(float)
    if total:
        rng = random.Random(seed)
        keys = rng.choices(shared, cum_weights=list(accumulate(pairs)), k=STRATUM_PAIRS)
        wanted = set(keys)
        of_children: dict[str, list[int]] = defaultdict(list)
        for i, mine in enumerate(child_keys):
            for key in mine & wanted:
                of_children[key].append(i)
        of_values: dict[str, list[Hashable]] = defaultdict(list)
        for value, mine in value_keys.items():
            for key in mine & wanted:
                of_values[key].append(value)
        ends: dict[str, list[int]] = {}
        each = total / STRATUM_PAIRS
        for key in keys:
            i = rng.choice(of_children[key])
            values = of_values[key]
            if key not in ends:
                ends[key] = list(accumulate(len(owners[v]) for v in values))
            r = rng.randrange(held[key])
            g = bisect.bisect_right(ends[key], r)
            k = owners[values[g]][r - (ends[key][g - 1] if g else 0)]
            counts[comp.level(children[i], pview(people[k].pid))[0].index] += each / shares(i, k)
    everyone = len(children) * len(people)
    for (i, k), lvl in zip(drawn, drawn_levels, strict=True):
        if not shares(i, k):
            counts[lvl] += everyone / len(drawn)
    return counts


def estimate(
    children: Sequence[ChildView], pview: Callable[[int], PersonView], people: Sequence[Person], seed: int = 0
) -> M.Model:
    """``model.estimate_model`` (its steps, taken once each) with the comparisons of
    :data:`STRATA` counted by strata."""
    drawn = M.sample_pairs([c.group.key for c in children], [M._person_key(p) for p in people], seed)
    levels = [compare(children[i], pview(people[k].pid))[0] for i, k in drawn]
    counts: list[Any] = [Counter(lv[f] for lv in levels) for f in range(len(COMPARISONS))]
    for f, comp in enumerate(COMPARISONS):
        exact = comp.exact_counts(children, people)
        if exact is not None:
            counts[f] = exact
        elif type(comp) in STRATA:
            mine = [lv[f] for lv in levels]
            st = STRATA[type(comp)]
            counts[f] = stratified_counts(comp, st, children, people, pview, drawn, mine, seed)
    model = M.prior_model(counts)
    for f, comp in enumerate(COMPARISONS):
        names = comp.tf_names(children, people)
        if names is not None:
            model.shares[f], model.mean_share[f] = M._shares(names)
    return model


def _entities(w: World) -> tuple[list[ChildView], list[Person]]:
    snap = screen_snapshot(w.to_snapshot(), w.as_of)
    groups = sorted(group_children(snap.children), key=lambda g: g.key)
    return [ChildView.of(g) for g in groups], build_people(snap.adults, snap.removals)


def _raw(w: World, seed: int) -> list[list[float]]:
    cv, people = _entities(w)
    return estimate(cv, Linker(R._by_pid(people), len(people), M.prior_model()).pview, people, seed).raw


def moves(profile: str, n: int) -> None:
    """The levels moving more than 0.1 bit between sample seeds, worlds and a 1% change."""
    from bench.u_weights import moves as moved

    w = generate_world(n, 7, rates=rates_for(profile))
    base = _raw(w, 0)
    others = {
        "salt 1": _raw(w, 1),
        "salt 2": _raw(w, 2),
        "n+3": _raw(generate_world(n + 3, 7, rates=rates_for(profile)), 0),
        "1% change": _raw(mutate_world(w, 0.01, 1), 0),
    }
    for name, raw in others.items():
        mv = moved(base, raw)
        print(f"{name}: {len(mv)} levels > 0.1 bit; largest {mv[-1] if mv else None}")
        for d, level in reversed(mv):
            print(f"    {d:5.2f}  {level}")


def cost(n: int) -> None:
    """CPU seconds of three estimates each way (the collector off, as a reconciliation runs)."""
    import gc

    cv, people = _entities(generate_world(n, 7))
    gc.disable()
    for name, fn in (("sampled", M.estimate_model), ("strata", estimate)):
        spent = []
        for _ in range(3):
            pview = Linker(R._by_pid(people), len(people), M.prior_model()).pview
            t = time.process_time()
            fn(cv, pview, people)
            spent.append(round(time.process_time() - t, 2))
        print(name, spent)


def cover(n: int) -> None:
    """Every pair of a world: those at a keyed level that share no key (there should be none)."""
    cv, people = _entities(generate_world(n, 3))
    pviews = [PersonView.of(p) for p in people]
    for kind, st in STRATA.items():
        comp = next(c for c in COMPARISONS if isinstance(c, kind))
        ckeys = [frozenset().union(*(st.child_keys(v) for v in st.child_values(c))) for c in cv]
        pkeys = [frozenset().union(*(st.person_keys(v) for v in st.person_values(p))) for p in people]
        keyed = missed = 0
        for i, c in enumerate(cv):
            for k, pv in enumerate(pviews):
                if comp.level(c, pv)[0].index not in st.unkeyed:
                    keyed += 1
                    missed += ckeys[i].isdisjoint(pkeys[k])
        print(f"{comp.name}: {keyed} pairs at keyed levels, {missed} of them share no key")


def main() -> None:
    what = sys.argv[1] if len(sys.argv) > 1 else "moves"
    if what == "moves":
        profile = sys.argv[2] if len(sys.argv) > 2 else "default"
        moves(profile, int(sys.argv[3]) if len(sys.argv) > 3 else 2300)
    elif what == "cost":
        cost(int(sys.argv[2]) if len(sys.argv) > 2 else 20000)
    else:
        cover(int(sys.argv[2]) if len(sys.argv) > 2 else 150)


if __name__ == "__main__":
    main()
