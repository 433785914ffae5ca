"""CPU of the ICE fast path alone (``parse.fast_adult``) over every detainee record of a world.

    PYTHONPATH=<tree> .venv/bin/python /path/to/bench/parse_fast.py /tmp/worlds/world-20000-s7-default

Run it by path from outside a checkout to measure ``<tree>`` (``-m`` puts the cwd first). The
shared-values table is emptied before each of five passes; the best pass is the figure.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from pipeline import parse


def main(world: Path) -> None:
    """Print the best of five passes of ``fast_adult`` over the world's ICE records."""
    raws = [json.dumps(r).encode() for r in json.loads((world / "ice_detainees.json").read_text())]
    best = float("inf")
    for _ in range(5):
        parse._SHARED.clear()
        started = time.process_time()
        for raw in raws:
            parse.fast_adult(raw)
        best = min(best, time.process_time() - started)
    print(f"{len(raws)} ICE records: {best:.3f} CPU s, {best / len(raws) * 1e6:.2f} µs a record")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
