"""CPU seconds of a reconcile under a frozen model from scratch (T: today's incremental and
--no-fetch reconcile, ``reconcile_under``) against one that reuses the previous link state (R,
``reconcile_reusing``), interleaved T R R T, after a changed world and after 5 review decisions
on the same world; how many children R re-linked, and whether R's results equal T's.

    PYTHONPATH=. .venv/bin/python -m bench.relink /tmp/worlds/world-20000-s7-default CHANGED_WORLD

CHANGED_WORLD: ``python -m pipeline.sim mutate --world WORLD --fraction 0.01 --seed 3 --out DIR``.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from datetime import date

from pipeline import reconcile
from pipeline.match import link_state
from pipeline.match.link_state import LinkState
from pipeline.match.model import Model
from pipeline.records import FeedSnapshot
from pipeline.results import ChildResult, ReviewDecision
from pipeline.sim.world.model import load_world


def _five_decisions(results: Sequence[ChildResult]) -> list[ReviewDecision]:
    """Three rejections of linked parents and two confirmations of a runner-up."""
    linked = [r for r in results if r.parent is not None and r.parent.ice_record_ids]
    open_ = [r for r in results if r.parent is None and r.candidates and r.candidates[0].ice_record_ids]
    out = [ReviewDecision(r.child_key, r.parent.ice_record_ids[0], "reject") for r in linked[:3] if r.parent]
    out += [ReviewDecision(r.child_key, r.candidates[0].ice_record_ids[0], "confirm") for r in open_[:2]]
    return out


def _compare(
    label: str,
    snap: FeedSnapshot,
    as_of: date,
    model: Model,
    previous: LinkState,
    decisions: Sequence[ReviewDecision] = (),
) -> None:
    seconds: dict[str, list[float]] = {"T": [], "R": []}
    results: dict[str, list[ChildResult]] = {}
    relinked = recompared = 0
    for which in "TRRT":
        started = time.process_time()
        if which == "T":
            res, _ = reconcile.reconcile_under(snap, as_of, decisions, model=model)
        else:
            done = reconcile.reconcile_reusing(snap, as_of, decisions, model=model, previous=previous)
            res, relinked, recompared = done.results, done.relinked, done.recompared
        seconds[which].append(round(time.process_time() - started, 2))
        results[which] = res
    print(
        f"{label}: CPU s from scratch {seconds['T']}, reusing {seconds['R']}; re-linked "
        f"{relinked} of {len(results['R'])} children (and compared {recompared} reused candidates "
        f"again); same results: {results['T'] == results['R']}"
    )


def main(world_dir: str, changed_dir: str) -> None:
    """Print both comparisons, the size of the kept state and the load average."""
    world, changed = load_world(world_dir), load_world(changed_dir)
    snap = world.to_snapshot()
    first = reconcile.reconcile_reusing(snap, world.as_of)
    assert first.links is not None
    started = time.process_time()
    with reconcile.no_gc_pauses():  # as in a run's reconcile stage
        text = link_state.dumps(first.links)
        kept = link_state.loads(text)
    print(
        f"link state: {len(text) / 1e6:.1f} MB of text, stored and read back in "
        f"{time.process_time() - started:.2f} CPU s"
    )
    _compare("changed world", changed.to_snapshot(), changed.as_of, first.model, kept)
    _compare("5 decisions", snap, world.as_of, first.model, kept, _five_decisions(first.results))
    print("load average:", os.getloadavg())


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
