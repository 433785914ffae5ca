"""Interleaved A/B of the whole ``reunify run --full`` from two checkouts (issue 19).

    .venv/bin/python -m bench.ab_run --world /tmp/worlds/world-20000-s7 \\
        --trees /work/main,/work/wt/perf --rounds 2

One simulator process serves the world; each round runs the command once per tree (its
``PYTHONPATH`` first, main's venv) on a fresh SQLite store and prints wall seconds and the CPU
seconds and peak RSS of the run process, from ``os.wait4``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

from bench.whole_run import BIN, serve_world


def main() -> int:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    parser.add_argument("--world", type=Path, required=True)
    parser.add_argument("--trees", type=lambda s: [t for t in s.split(",") if t], required=True)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    as_of = json.loads((args.world / "world.json").read_text())["as_of"]
    with serve_world(args.world) as feeds:
        for number in range(args.rounds):
            for tree in args.trees:
                with tempfile.TemporaryDirectory(prefix="reunify-ab-") as tmp:
                    env = {k: v for k, v in os.environ.items() if not k.startswith("REUNIFY_")} | feeds
                    env |= {"REUNIFY_AS_OF": as_of, "REUNIFY_DATABASE_URL": f"sqlite:///{tmp}/ab.sqlite3"}
                    env |= {"REUNIFY_LOG_LEVEL": "WARNING", "PYTHONPATH": tree}
                    started = time.perf_counter()
                    proc = subprocess.Popen(
                        [str(BIN / "reunify"), "run", "--full"],
                        cwd=tmp,
                        env=env,
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                    _, status, usage = os.wait4(proc.pid, 0)
                    wall = time.perf_counter() - started
                    print(
                        f"round {number} {tree}: exit {os.waitstatus_to_exitcode(status)}, "
                        f"wall {wall:.1f} s, CPU {usage.ru_utime + usage.ru_stime:.1f} s, "
                        f"peak RSS {usage.ru_maxrss / 1024:.0f} MiB",
                        flush=True,
                    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
