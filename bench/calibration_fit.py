"""Fit the match-score calibration (``pipeline.match.link.CALIBRATION``) on generated worlds.

    python -m bench.calibration_fit [--worlds 2300:11 ... 20000:21]

The worlds are of a noise mix none of the measured profiles has (``MIX``: halfway between
``default`` and ``sparse``), so the profiles the bench reports stay unseen. Reconciles each with
the calibration switched off (the raw posteriors), then fits the logistic map of
``Calibration`` by maximum likelihood (Newton's method) on its inputs (``Calibration.inputs``):
the share right against the posterior's log-odds and the log of the people count. Prints the
fitted weights, the fit worlds' people counts (``CALIBRATION_PEOPLE``) and, per world size, the
accuracy per fine posterior bin beside the mean score the fit gives it. Links decided by DNA or
review (score exactly 1.0) are left out. Only counts and ratios.
"""

from __future__ import annotations

import argparse
import itertools
import math
import sys
from collections.abc import Sequence
from dataclasses import replace
from typing import NamedTuple

import pipeline.reconcile as reconcile_module
from bench.quality import _parent_ids
from pipeline.match.link import LINK_THRESHOLD, Calibration
from pipeline.sim.profiles import PROFILES
from pipeline.sim.world import generate_world

MIX = replace(
    PROFILES["default"],
    particle_surname=0.03,
    single_surname_mother=0.06,
    re_referral=0.035,
    re_referral_bare=0.3,
    removal_typo_surname=0.05,
    removal_a_swap=0.025,
    duplicate_ice=0.035,
    duplicate_ice_no_dob=0.3,
    child_event_id=0.24,
    parent_event_id=0.75,
    other_event_id=0.75,
    child_station=0.7,
    parent_station=0.75,
    other_station=0.74,
    dna_tested=0.36,
    sibling_mother_only=0.1,
)
#: (children, seed) of the fit worlds: several small ones, since a small world holds few links
WORLDS = (*((2300, s) for s in range(11, 20)), (4600, 23), (8000, 22), (20000, 21))
#: the bins the fit is shown against, from the smallest posterior that keeps a link
EDGES = (LINK_THRESHOLD, 0.75, 0.8, 0.85, 0.9, 0.93, 0.95, 0.97, 0.98, 0.99, 0.995, 0.999, 1.0)


class Scored(NamedTuple):
    """One link of a fit world: its raw posterior, whether it is right, the world's people count."""

    posterior: float
    right: bool
    n_people: int


def scored_links(children: int, seed: int) -> list[Scored]:
    """Every link of one MIX world not decided by DNA or review."""
    world = generate_world(children, seed, rates=MIX)
    owner = {str(c): t for t in world.truth for c in t["child_record_ids"]}
    people: set[int] = set()

    def raw(posterior: float, n_people: int) -> float:
        people.add(n_people)
        return posterior

    saved = reconcile_module.calibrated
    reconcile_module.calibrated = raw
    try:
        results = reconcile_module.reconcile(world.to_snapshot(), world.as_of)
    finally:
        reconcile_module.calibrated = saved
    (n_people,) = people  # one linker over the whole world
    out = []
    for r in results:
        if r.parent is None or r.parent.match_score >= 1.0:
            continue
        obj = r.to_export("fit")
        truth = owner.get(str(r.child_record_ids[0]))
        right = bool(truth and _parent_ids(obj) & _parent_ids(truth))
        out.append(Scored(r.parent.match_score, right, n_people))
    return out


def fit(links: Sequence[Scored], rounds: int = 50) -> Calibration:
    """The maximum-likelihood logistic weights (Newton's method on three unknowns)."""
    rows = [(Calibration.inputs(s.posterior, s.n_people), s.right) for s in links]
    w = [1.0, 0.0, 0.0]
    for _ in range(rounds):
        grad = [0.0] * 3
        hess = [[0.0] * 3 for _ in range(3)]
        for x, y in rows:
            q = 1.0 / (1.0 + math.exp(-sum(a * b for a, b in zip(w, x, strict=True))))
            for i in range(3):
                grad[i] += (y - q) * x[i]
                for j in range(3):
                    hess[i][j] += q * (1.0 - q) * x[i] * x[j]
        step = _solve(hess, grad)
        w = [a + b for a, b in zip(w, step, strict=True)]
        if max(map(abs, step)) < 1e-10:
            break
    return Calibration(log_odds=w[0], log_people=w[1], intercept=w[2])


def _solve(a: list[list[float]], b: list[float]) -> list[float]:
    """x with a·x = b (Gauss–Jordan with partial pivoting; a is small and positive definite)."""
    n = len(b)
    m = [[*row, b[i]] for i, row in enumerate(a)]
    for i in range(n):
        pivot = max(range(i, n), key=lambda r: abs(m[r][i]))
        m[i], m[pivot] = m[pivot], m[i]
        for r in range(n):
            if r != i:
                f = m[r][i] / m[i][i]
                m[r] = [x - f * y for x, y in zip(m[r], m[i], strict=True)]
    return [m[i][n] / m[i][i] for i in range(n)]


def main(argv: Sequence[str] | None = None) -> int:
    """Fit the map on the MIX worlds; print its weights and the bins it is fitted against."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.calibration_fit", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--worlds", nargs="+", default=[f"{c}:{s}" for c, s in WORLDS], help="children:seed ..."
    )
    args = parser.parse_args(argv)
    worlds = [tuple(map(int, spec.split(":"))) for spec in args.worlds]
    if len({children for children, _ in worlds}) < 2:
        parser.error("give worlds of at least two sizes: the people count is one of the fit's inputs")
    by_size: dict[int, list[Scored]] = {}
    for children, seed in worlds:
        by_size.setdefault(children, []).extend(scored_links(children, seed))
    links = [s for group in by_size.values() for s in group]
    c = fit(links)
    print(
        f"CALIBRATION = Calibration(log_odds={c.log_odds:.4f}, log_people={c.log_people:.4f}, "
        f"intercept={c.intercept:.4f})  # {len(links)} links"
    )
    people = [s.n_people for s in links]
    print(f"CALIBRATION_PEOPLE = ({min(people):_}, {max(people):_})  # the fit worlds' people counts")
    for children, group in sorted(by_size.items()):
        counts = sorted(s.n_people for s in group)
        print(f"{children} children ({counts[0]}-{counts[-1]} people), {len(group)} links:")
        for low, high in itertools.pairwise(EDGES):
            inside = [s for s in group if low <= s.posterior < high]
            if inside:
                fitted = sum(c.score(s.posterior, s.n_people) for s in inside) / len(inside)
                right = sum(s.right for s in inside) / len(inside)
                bin_ = f"{low:.3f}-{high:.3f}"
                print(f"    {bin_}: {len(inside):5d} links, fitted {fitted:.4f}, right {right:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
