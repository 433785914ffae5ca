"""How far the u-estimated weights move (issue 17 item 6).

    python -m bench.u_weights [PROFILE] [CHILDREN]

Builds the model as ``reconcile.prepare`` does for a world (seed 7) with sample seeds 0, 1, 2, for
the world of three more children (a different world), and for the world after a 1% change, and
prints the largest move of a level's weight and the levels moving more than 0.1 bit (clamped),
each with its move. The levels a comparison counts over every pair (``exact_counts``) do not move
with the sample seed.
"""

from __future__ import annotations

import sys
import time

import pipeline.reconcile as R
from pipeline.dates import screen_snapshot
from pipeline.match import model as M
from pipeline.match.adults import build_people
from pipeline.match.children import group_children
from pipeline.match.comparisons import COMPARISONS
from pipeline.match.link import Linker
from pipeline.match.views import ChildView
from pipeline.sim.profiles import rates_for
from pipeline.sim.world import World, generate_world, mutate_world

Raw = list[list[float]]


def models(w: World, seeds: list[int]) -> list[tuple[Raw, float]]:
    snap = screen_snapshot(w.to_snapshot(), w.as_of)
    groups = sorted(group_children(snap.children), key=lambda g: g.key)
    people = build_people(snap.adults, snap.removals)
    cv = [ChildView.of(g) for g in groups]
    scratch = Linker(R._by_pid(people), len(people), M.prior_model())
    out = []
    for s in seeds:
        t = time.process_time()
        m = M.estimate_model(cv, scratch.pview, people, seed=s)
        out.append((m.raw, time.process_time() - t))
    return out


def _clamp(w: float) -> float:
    return min(M.MAX_WEIGHT, max(-M.MAX_WEIGHT, w))


def moves(r1: Raw, r2: Raw) -> list[tuple[float, str]]:
    """Levels whose clamped weight moved more than 0.1 bit, largest last."""
    out = []
    for f, comp in enumerate(COMPARISONS):
        for lvl, lv in enumerate(comp.levels):
            d = abs(_clamp(r1[f][lvl]) - _clamp(r2[f][lvl]))
            if d > 0.1:
                out.append((round(d, 2), f"{comp.name}: {lv.label}"))
    return sorted(out)


def main() -> None:
    profile = sys.argv[1] if len(sys.argv) > 1 else "default"
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 2300
    w = generate_world(n, 7, rates=rates_for(profile))
    a = models(w, [0, 1, 2])
    b = models(generate_world(n + 3, 7, rates=rates_for(profile)), [0])
    c = models(mutate_world(w, 0.01, 1), [0])
    print("estimate CPU s", [round(t, 2) for _, t in a])
    for name, other in (("salt 1", a[1][0]), ("salt 2", a[2][0]), ("n+3", b[0][0]), ("1% change", c[0][0])):
        mv = moves(a[0][0], other)
        print(f"{name}: {len(mv)} levels > 0.1 bit; largest {mv[-1] if mv else None}")
        for d, level in reversed(mv):
            print(f"    {d:5.2f}  {level}")


if __name__ == "__main__":
    main()
