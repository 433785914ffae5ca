"""Candidate generation before and after exact pruning (task "prune", issue 19 item 2).

    PYTHONPATH=. .venv/bin/python bench/prune_count.py --children 20000 --seed 7 count
    PYTHONPATH=<tree> .venv/bin/python bench/prune_count.py --children 20000 --seed 7 reconcile

``count`` prints, over every child of a generated world, the (child, person) pre-score additions
of the plain candidate generation and of the pruned one (plus the bucket entries the pruned one
scans again in C set intersections for the people still in the running), and the CPU seconds of
each over all children. ``reconcile`` prints the CPU seconds of ``pipeline.reconcile.reconcile``
on the world's snapshot: run it under the old tree and the new one, interleaved (A B B A).
"""

from __future__ import annotations

import argparse
import time

from pipeline.reconcile import prepare, reconcile
from pipeline.sim.world import generate_world


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--children", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("what", choices=["count", "reconcile"])
    args = parser.parse_args()
    world = generate_world(args.children, args.seed)
    snapshot = world.to_snapshot()
    if args.what == "reconcile":
        t0 = time.process_time()
        results = reconcile(snapshot, world.as_of)
        print(f"reconcile: {len(results)} children, {time.process_time() - t0:.2f} CPU s")
        return 0
    from pipeline.match.blocking import _reference_top, top_candidates, weighted_buckets
    from pipeline.match.link import CANDIDATE_MARGIN, MAX_CANDIDATES

    prep = prepare(snapshot, as_of=world.as_of)
    plain = sum(len(found) for c in prep.cviews for found, *_ in weighted_buckets(c, prep.index))
    t0 = time.process_time()
    want = [_reference_top(c, prep.index, MAX_CANDIDATES, CANDIDATE_MARGIN) for c in prep.cviews]
    t_plain = time.process_time() - t0
    stats = [0, 0]
    t0 = time.process_time()
    got = [top_candidates(c, prep.index, MAX_CANDIDATES, CANDIDATE_MARGIN, stats=stats) for c in prep.cviews]
    t_pruned = time.process_time() - t0
    assert got == want, "pruned candidates differ from the reference"
    n = len(prep.cviews)
    print(f"{n} children: plain {plain} additions ({plain / n:.0f} a child), {t_plain:.2f} CPU s")
    print(
        f"pruned {stats[0]} additions ({stats[0] / n:.0f} a child) + {stats[1]} entries scanned in "
        f"set intersections, {t_pruned:.2f} CPU s; candidates identical"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
