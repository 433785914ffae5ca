"""CPU seconds of one in-process reconcile of a world: estimating the model (A) against linking
under a frozen model (B, the model A estimates: what an incremental or --no-fetch run reuses),
interleaved A B B A; the results are checked equal (issue 19 item 3).

    PYTHONPATH=. .venv/bin/python -m bench.frozen_model /tmp/worlds/world-20000-s7-default
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from pipeline import reconcile
from pipeline.sim.world.model import load_world


def main(world_dir: str) -> None:
    """Print the CPU seconds of each reconcile, whether A and B agree, and the load average."""
    world = load_world(world_dir)
    snap = world.to_snapshot()
    _, model = reconcile.reconcile_under(snap, world.as_of)
    seconds: dict[str, list[float]] = {"A": [], "B": []}
    results: dict[str, Any] = {}
    for label in "ABBA":
        started = time.process_time()
        res, _ = reconcile.reconcile_under(snap, world.as_of, model=None if label == "A" else model)
        seconds[label].append(round(time.process_time() - started, 2))
        results[label] = res
    print(seconds, "same results:", results["A"] == results["B"], "load average:", os.getloadavg())


if __name__ == "__main__":
    main(sys.argv[1])
