"""The Fellegi–Sunter model, built from the registered comparisons (``comparisons.COMPARISONS``).

The m-probabilities (how often a true parent shows each level) are the levels' documented
defaults. The u-probabilities (how often an unrelated adult does) are estimated on every snapshot
from random child–person pairs (or counted over every pair, where a comparison can), and the
``tf`` levels are adjusted by the frequency of the name that agreed. A pair's weight is the sum
of log2(m/u) over the comparisons.
"""

from __future__ import annotations

import bisect
import math
import random
import zlib
from collections import Counter
from collections.abc import Callable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field

from pipeline.match.adults import Person
from pipeline.match.comparisons import COMPARISONS, Gamma, compare
from pipeline.match.views import ChildView, PersonView

#: child–person pairs drawn (``sample_pairs``) to estimate the u-probabilities, and the weight
#: (in pairs) of the default u values. 24,000 and 48,000 were measured (bench/README.md,
#: 2026-12-06): no better calibrated, and 48,000 cost 1.5-2.3 s of a 20,000-child reconcile
U_SAMPLE_PAIRS = 12_000
U_PRIOR_STRENGTH = 300.0
#: points each key takes on the sample's hash ring: the more, the closer to a uniform draw
RING_POINTS = 2
#: clamp of one comparison's weight, in bits, and of a name-frequency adjustment
MAX_WEIGHT = 16.0
MAX_TF_FACTOR = 20.0

#: per comparison, the level that means "a value is missing": it weighs nothing either way
MISSING: tuple[int | None, ...] = tuple(comp.null_index for comp in COMPARISONS)
#: per comparison and level, whether the level's weight is adjusted by the agreeing name's frequency
_TF: tuple[tuple[bool, ...], ...] = tuple(tuple(lv.tf for lv in comp.levels) for comp in COMPARISONS)


def _conditional(values: list[float], miss: int | None) -> list[float]:
    """Shares among the levels that are not "missing" (the missing level gets 1.0)."""
    total = sum(v for i, v in enumerate(values) if i != miss)
    return [1.0 if i == miss else v / total for i, v in enumerate(values)]


@dataclass(slots=True)
class Model:
    """Match weights per comparison and level, in bits, with the name-frequency tables.

    ``raw[f][l]`` is log2(m/u) of level ``l`` of comparison ``f`` among pairs where the field is
    not missing. ``shares[f]`` gives, for a comparison with ``tf`` levels, the share of entities
    carrying each name, and ``mean_share[f]`` the share of the name an agreeing random pair shares
    on average.
    """

    raw: list[list[float]]
    shares: dict[int, dict[str, float]] = field(default_factory=dict)
    mean_share: dict[int, float] = field(default_factory=dict)
    #: comparison vectors repeat a great deal: their total weights, once computed
    memo: dict[Gamma, float] = field(default_factory=dict, repr=False)

    def field_weight(self, f: int, level: int, term: str | None) -> float:
        """The weight of one comparison's outcome, adjusted by the agreeing name's frequency."""
        if level == MISSING[f]:
            return 0.0
        w = self.raw[f][level]
        if term is not None and _TF[f][level] and f in self.shares:
            share = self.shares[f].get(term)
            if share is not None:
                factor = share / self.mean_share[f]
                w -= math.log2(min(MAX_TF_FACTOR, max(1.0 / MAX_TF_FACTOR, factor)))
        return max(-MAX_WEIGHT, min(MAX_WEIGHT, w))

    def weights(self, gamma: Gamma) -> list[float]:
        """The weight of every comparison of one comparison vector."""
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
    for f, comp in enumerate(COMPARISONS):
        miss = MISSING[f]
        levels = comp.levels
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


def _shares(names: Sequence[AbstractSet[str]]) -> tuple[dict[str, float], float]:
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


def _mix(x: int) -> int:
    """A 32-bit integer scattered over the ring (MurmurHash3's finaliser)."""
    x &= 0xFFFFFFFF
    x = ((x ^ (x >> 16)) * 0x85EBCA6B) & 0xFFFFFFFF
    x = ((x ^ (x >> 13)) * 0xC2B2AE35) & 0xFFFFFFFF
    return x ^ (x >> 16)


def _ring(keys: Sequence[str]) -> tuple[list[int], list[int]]:
    """The points of ``keys`` on a hash ring, sorted, and the index of the key at each: each key
    takes :data:`RING_POINTS` points (a stable hash, the same in every process, mixed), so that
    the gaps the draws land in are alike in size and every key about as likely as another."""
    base = [zlib.crc32(key.encode()) for key in keys]
    points = [_mix(h + v * 0x9E3779B9) for v in range(RING_POINTS) for h in base]
    n = len(keys)
    order = sorted(range(len(points)), key=points.__getitem__)
    return [points[j] for j in order], [j % n for j in order]


def _on_ring(ring: tuple[list[int], list[int]], point: int) -> int:
    hashes, index = ring
    return index[bisect.bisect_left(hashes, point) % len(hashes)]


def _person_key(person: Person) -> str:
    # the person's first ICE record (every person is built from at least one)
    return person.ice[0].record_id if person.ice else f"pid:{person.pid}"


def sample_pairs(
    child_keys: Sequence[str], person_keys: Sequence[str], seed: int = 0
) -> list[tuple[int, int]]:
    """``U_SAMPLE_PAIRS`` (child index, person index) pairs drawn by the records' identity: each
    draw takes the child and the person whose keys follow two random points on a hash ring.

    Drawn by index instead, a change of a few children (a re-referral merged, a record added)
    moved every later index and so the whole sample, and with it rare levels' weights by bits;
    on the ring, a child or person that comes or goes changes only the draws that landed on it."""
    rng = random.Random(seed)
    children, people = _ring(child_keys), _ring(person_keys)
    return [
        (_on_ring(children, rng.getrandbits(32)), _on_ring(people, rng.getrandbits(32)))
        for _ in range(U_SAMPLE_PAIRS)
    ]


def estimate_model(
    children: Sequence[ChildView], pview: Callable[[int], PersonView], people: Sequence[Person], seed: int = 0
) -> Model:
    """Estimate u on random child–person pairs of this snapshot (counted over every pair for the
    comparisons that can: ``Comparison.exact_counts``), and the name frequencies."""
    counts: list[Counter[int]] = [Counter() for _ in COMPARISONS]
    n_people = len(people)
    if children and n_people:
        if len(children) * n_people <= U_SAMPLE_PAIRS:
            drawn = [(i, k) for i in range(len(children)) for k in range(n_people)]
        else:
            drawn = sample_pairs([c.group.key for c in children], [_person_key(p) for p in people], seed)
        for i, k in drawn:
            levels, _ = compare(children[i], pview(people[k].pid))
            for f, lvl in enumerate(levels):
                counts[f][lvl] += 1
        for f, comp in enumerate(COMPARISONS):
            exact = comp.exact_counts(children, people)
            if exact is not None:
                counts[f] = exact
    model = prior_model(counts)
    for f, comp in enumerate(COMPARISONS):
        names = comp.tf_names(children, people)
        if names is not None:
            model.shares[f], model.mean_share[f] = _shares(names)
    return model
