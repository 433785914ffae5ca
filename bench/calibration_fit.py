"""Fit the match-score calibration (``pipeline.match.link.CALIBRATION``) on generated worlds.

    python -m bench.calibration_fit [--children 2300] [--seeds 11 12 13]

The worlds are of a noise mix none of the measured profiles has (``MIX``: halfway between
``default`` and ``sparse``), so the profiles the bench reports stay unseen. Reconciles each with
the calibration switched off (the raw posteriors), then prints the accuracy per fine score bin
and the pool-adjacent-violators (isotonic) knots: mean posterior -> share right, one per pooled
bin. Links decided by DNA or review (score exactly 1.0) are left out. Only counts and ratios.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from collections.abc import Sequence
from dataclasses import replace

import pipeline.reconcile as reconcile_module
from bench.quality import _parent_ids
from pipeline.match.link import LINK_THRESHOLD
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
#: the bins, from the smallest posterior that keeps a link
EDGES = (LINK_THRESHOLD, 0.75, 0.8, 0.85, 0.9, 0.93, 0.95, 0.97, 0.98, 0.99, 0.995, 0.999, 1.0)


def scored_links(children: int, seed: int) -> list[tuple[float, bool]]:
    """(raw posterior, right) of every link of one MIX world not decided by DNA or review."""
    world = generate_world(children, seed, rates=MIX)
    owner = {str(c): t for t in world.truth for c in t["child_record_ids"]}
    saved = reconcile_module.calibrated
    reconcile_module.calibrated = lambda p: p  # the raw posterior
    try:
        results = reconcile_module.reconcile(world.to_snapshot(), world.as_of)
    finally:
        reconcile_module.calibrated = saved
    out = []
    for r in results:
        if r.parent is None or r.parent.match_score >= 1.0:
            continue
        obj = r.to_export("fit")
        truth = owner.get(str(r.child_record_ids[0]))
        out.append((r.parent.match_score, bool(truth and _parent_ids(obj) & _parent_ids(truth))))
    return out


def isotonic(bins: Sequence[tuple[float, float, int]]) -> list[tuple[float, float, int]]:
    """Pool adjacent bins (mean score, accuracy, links) until accuracy never falls."""
    pooled: list[tuple[float, float, int]] = []
    for x, y, n in bins:
        pooled.append((x, y, n))
        while len(pooled) > 1 and pooled[-2][1] > pooled[-1][1]:
            (x0, y0, n0), (x1, y1, n1) = pooled[-2], pooled[-1]
            m = n0 + n1
            pooled[-2:] = [((x0 * n0 + x1 * n1) / m, (y0 * n0 + y1 * n1) / m, m)]
    return pooled


def main(argv: Sequence[str] | None = None) -> int:
    """Print the fine bins and the isotonic knots of the MIX worlds."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.calibration_fit", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--children", type=int, default=2300)
    parser.add_argument("--seeds", type=int, nargs="+", default=[11, 12, 13])
    args = parser.parse_args(argv)
    links = [link for seed in args.seeds for link in scored_links(args.children, seed)]
    bins = []
    for low, high in itertools.pairwise(EDGES):
        inside = [(s, ok) for s, ok in links if low <= s < high]
        if inside:
            mean = sum(s for s, _ in inside) / len(inside)
            acc = sum(ok for _, ok in inside) / len(inside)
            bins.append((mean, acc, len(inside)))
            print(f"{low:.3f}-{high:.3f}: {len(inside):5d} links, mean {mean:.4f}, right {acc:.4f}")
    print("isotonic knots (posterior, score, links):")
    for x, y, n in isotonic(bins):
        print(f"    ({x:.4f}, {y:.4f}),  # {n} links")
    return 0


if __name__ == "__main__":
    sys.exit(main())
