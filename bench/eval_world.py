"""Reconcile generated worlds (pipeline.sim.world) and score them against their truth.

Usage: .venv/bin/python bench/eval_world.py --children 2300 --seeds 1 2 3
Prints, per world, the scorer's figures and reconcile's time and peak memory.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import resource
import sys
import time
import tracemalloc

from eval_sample import AS_OF

from pipeline.errors import MalformedRecord
from pipeline.feed_registry import PARSERS
from pipeline.parse import REMOVAL_COLUMNS
from pipeline.reconcile import reconcile
from pipeline.records import FeedSnapshot
from pipeline.sim.score import score
from pipeline.sim.world import generate_world


def snapshot_of(world) -> FeedSnapshot:  # type: ignore[no-untyped-def]
    """Parse a world's payloads as the pipeline would (malformed records left out)."""
    snap = FeedSnapshot()
    feeds = [
        ("orr", world.orr, snap.children),
        ("ice", world.ice, snap.adults),
        (
            "removals",
            [dict(zip(REMOVAL_COLUMNS, row, strict=False)) for row in world.removals],
            snap.removals,
        ),
        ("dna", world.dna, snap.dna),
    ]
    for feed, payload, into in feeds:
        for raw in payload:
            with contextlib.suppress(MalformedRecord):
                into.append(PARSERS[feed](raw))
    return snap


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--children", type=int, default=2300)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1])
    parser.add_argument("--trace-memory", action="store_true", help="tracemalloc peak of reconcile (slower)")
    args = parser.parse_args()
    for seed in args.seeds:
        world = generate_world(args.children, seed)
        snap = snapshot_of(world)
        if args.trace_memory:
            tracemalloc.start()
        t0 = time.perf_counter()
        results = reconcile(snap, world.as_of or AS_OF)
        elapsed = time.perf_counter() - t0
        traced = tracemalloc.get_traced_memory()[1] / 2**20 if args.trace_memory else None
        export = [r.to_export("bench") for r in results]
        figures = score(export, world.truth).as_dict()
        keep = (
            "link_precision",
            "link_recall",
            "link_f1",
            "status_accuracy",
            "unresolved_f1",
            "dedup_f1",
            "cohort_accuracy",
            "children",
            "missing_children",
            "duplicated_children",
        )
        out = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in figures.items() if k in keep}
        out.update(
            seed=seed,
            ice=len(snap.adults),
            removals=len(snap.removals),
            reconcile_s=round(elapsed, 2),
            peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            reconcile_traced_mb=round(traced) if traced else None,
            needs_review=sum(r.needs_review for r in results),
        )
        print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
