"""CPU seconds of one in-process reconciliation of a world directory.

    PYTHONPATH=<tree> python bench/reconcile_cpu.py DIR [LABEL]

Loads the world written by ``pipeline.sim generate``, and prints LABEL and the
``time.process_time()`` seconds of ``pipeline.reconcile.reconcile`` on its parsed feeds (run it
once per tree, interleaved, for an A/B on a shared machine).
"""

from __future__ import annotations

import sys
import time

from pipeline.reconcile import reconcile
from pipeline.sim.world import load_world


def main(argv: list[str]) -> int:
    """Time one reconciliation of the world ``argv[0]``."""
    world = load_world(argv[0])
    snapshot = world.to_snapshot()
    t0 = time.process_time()
    reconcile(snapshot, world.as_of)
    print(argv[1] if len(argv) > 1 else argv[0], round(time.process_time() - t0, 2), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
