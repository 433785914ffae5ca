"""Reconcile world directories written by ``python -m pipeline.sim generate`` and score them.

Fixed worlds on disk keep comparisons stable while the generator changes.
Usage: .venv/bin/python bench/eval_dir.py /tmp/w2300s1 /tmp/w2300s2 [--export OUT.jsonl]
Prints, per world, the scorer's figures and reconcile's time and peak memory (counts only).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

from eval_world import snapshot_of

from pipeline.reconcile import reconcile
from pipeline.sim.score import score
from pipeline.sim.world import load_world

KEEP = (
    "link_precision",
    "link_recall",
    "link_f1",
    "status_accuracy",
    "unresolved_f1",
    "dedup_f1",
    "cohort_accuracy",
    "links_predicted",
    "links_correct",
    "links_true",
    "links_found",
    "missing_children",
    "duplicated_children",
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("worlds", nargs="+", type=Path)
    parser.add_argument("--export", type=Path, help="write the (last) world's export here")
    args = parser.parse_args()
    for root in args.worlds:
        world = load_world(root)
        snap = snapshot_of(world)
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        t0 = time.perf_counter()
        results = reconcile(snap, world.as_of)
        elapsed = time.perf_counter() - t0
        export = [r.to_export("bench") for r in results]
        if args.export:
            with args.export.open("w", encoding="utf-8") as fh:
                for obj in export:
                    fh.write(json.dumps(obj, ensure_ascii=False) + "\n")
        figures = score(export, world.truth).as_dict()
        out = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in figures.items() if k in KEEP}
        out.update(
            world=root.name,
            reconcile_s=round(elapsed, 2),
            peak_rss_mb_before=round(rss_before),
            peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            needs_review=sum(r.needs_review for r in results),
        )
        print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
