"""CPU seconds of one in-process reconcile of a world directory, with the scorer's dedup F1 and
status accuracy (to check both trees of an A/B reconcile the same world), and the seconds the
cyclic collector spent in the reconcile and in the first pass over the young objects after it
(``gc_s``: the pass its first allocations would start).

    PYTHONPATH=<tree> python bench/reconcile_cpu.py /tmp/worlds/world-20000-s7-default [LABEL] [--keep]

Run it once per tree, interleaved, for an A/B on a shared machine; LABEL names the tree. With
``--keep`` it reconciles as a run does: four partitions, keeping its links for the next run
(the fingerprints, and the buckets they gather for the pre-score).
"""

from __future__ import annotations

import gc
import json
import sys
import time

from pipeline.reconcile import reconcile, reconcile_reusing
from pipeline.sim.score import score
from pipeline.sim.world import load_world


class _CollectorTime:
    """A ``gc.callbacks`` entry adding up the wall seconds of the collections."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._started


def main(argv: list[str]) -> int:
    """Reconcile the world at ``argv[0]`` once and print one JSON line (labelled ``argv[1]``)."""
    keep = "--keep" in argv
    argv = [a for a in argv if a != "--keep"]
    world = load_world(argv[0])
    snapshot = world.to_snapshot()
    collecting = _CollectorTime()
    gc.callbacks.append(collecting)
    start = time.process_time()
    if keep:
        results = reconcile_reusing(snapshot, world.as_of, partitions=4, keep=True).results
    else:
        results = reconcile(snapshot, world.as_of)
    cpu = time.process_time() - start
    gc.collect(0)
    gc.callbacks.remove(collecting)
    figures = score([r.to_export("cpu") for r in results], world.truth)
    print(
        json.dumps(
            {
                "label": argv[1] if len(argv) > 1 else argv[0],
                "cpu_s": round(cpu, 2),
                "dedup_f1": round(figures.dedup_f1, 4),
                "status": round(figures.status_accuracy, 4),
                "gc_s": round(collecting.seconds, 2),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
