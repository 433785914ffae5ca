"""CPU seconds of adult identity (``adults.recognise_people``) on a world directory, and a digest
of who the people are, to check that two trees recognise the same people:

    PYTHONPATH=<tree> .venv/bin/python -m bench.adult_identity --world /tmp/worlds/world-20000-s7-default

Run it once per tree, interleaved, for an A/B. The collector is off, as in a run
(``reconcile.no_gc_pauses``); the first round also fills the name-token caches. With
``--callgrind``, under ``valgrind --tool=callgrind --instr-atstart=no``, only the last round is
counted (instructions: the same for the same tree and world, however busy the machine is):

    PYTHONPATH=<tree> valgrind --tool=callgrind --instr-atstart=no .venv/bin/python \
        -m bench.adult_identity --world /tmp/worlds/world-2300-s7-default --rounds 2 --callgrind
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

from pipeline.match.adults import recognise_people
from pipeline.sim.world import load_world


def _callgrind(state: str) -> None:
    """Switch callgrind's counting of this process on or off."""
    subprocess.run(["callgrind_control", "-i", state, str(os.getpid())], check=True, capture_output=True)


def main(argv: list[str] | None = None) -> int:
    """Print one JSON line: the CPU seconds of each round, the people, and the owners' digest."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--world", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--callgrind", action="store_true", help="count the last round's instructions")
    args = parser.parse_args(argv)
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
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
