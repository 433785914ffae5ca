"""CPU seconds of adult identity (``adults.recognise_people``) on a world directory, and a digest
of who the people are, to check that two trees recognise the same people:

    cd /tmp && PYTHONPATH=<tree> /work/main/.venv/bin/python -m bench.adult_identity \
        --world /tmp/worlds/world-20000-s7-default

Run it once per tree, interleaved, for an A/B, from a directory that is not a checkout
(``python -m`` puts the working directory ahead of ``PYTHONPATH``). The collector is off, as in a
run (``reconcile.no_gc_pauses``); the first round also fills the name-token caches. With
``--callgrind``, under ``valgrind --tool=callgrind --instr-atstart=no``, only the last round is
counted (instructions: the same for the same tree and world, however busy the machine is):

    cd /tmp && PYTHONPATH=<tree> valgrind --tool=callgrind --instr-atstart=no \
        /work/main/.venv/bin/python -m bench.adult_identity --world /tmp/worlds/world-2300-s7-default \
        --rounds 2 --callgrind

With ``--found`` it also counts, over its rounds, the removal rows fitted (``_RowFits.best``'s
calls), the ICE records they were fitted against and the people that fit.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

from pipeline.match import adults
from pipeline.match.adults import recognise_people
from pipeline.sim.world import load_world


def _callgrind(state: str) -> None:
    """Switch callgrind's counting of this process on or off."""
    subprocess.run(["callgrind_control", "-i", state, str(os.getpid())], check=True, capture_output=True)


def _count_found() -> dict[str, int]:
    """Counts of ``_RowFits.best``'s calls and of the records it fits (over every round)."""
    counts = {"calls": 0, "records": 0, "people_fitting": 0}
    best = adults._RowFits.best

    def counted(self: adults._RowFits, ridn: Any, found: set[int]) -> dict[int, int]:
        fits = best(self, ridn, found)
        counts["calls"] += 1
        counts["records"] += len(found)
        counts["people_fitting"] += len(fits)
        return fits

    adults._RowFits.best = counted  # type: ignore[method-assign]
    return counts


def main(argv: list[str] | None = None) -> int:
    """Print one JSON line: the CPU seconds of each round, the people, and the owners' digest."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--world", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--callgrind", action="store_true", help="count the last round's instructions")
    parser.add_argument(
        "--found", action="store_true", help="count the ICE records each removal row is fitted against"
    )
    args = parser.parse_args(argv)
    found = _count_found() if args.found else None
    snapshot = load_world(args.world).to_snapshot()
    adults, removals = list(snapshot.adults), list(snapshot.removals)
    gc.collect()
    gc.disable()
    seconds = []
    for number in range(args.rounds):
        counted = args.callgrind and number == args.rounds - 1
        if counted:
            _callgrind("on")
        start = time.process_time()
        people, ice_owner, row_owner = recognise_people(adults, removals)
        seconds.append(round(time.process_time() - start, 2))
        if counted:
            _callgrind("off")
    gc.enable()
    owners = hashlib.sha256(json.dumps([ice_owner, row_owner]).encode()).hexdigest()[:16]
    print(
        json.dumps(
            {
                "world": args.world.name,
                "cpu_s": seconds,
                "people": len(people),
                "rows_attached": sum(pid >= 0 for pid in row_owner),
                "owners": owners,
                **({"fitted": found} if found is not None else {}),
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
