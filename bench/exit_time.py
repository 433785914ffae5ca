"""How long a whole ``reunify run`` takes to end after its last output (its teardown), A/B.

    .venv/bin/python -m bench.exit_time --world /tmp/worlds/world-20000-s7 \\
        --trees /work/main,/work/wt/rawfetch --rounds 2

One simulator process serves the world; each round runs ``reunify run --full`` once per tree
(its ``PYTHONPATH`` first, main's venv, a fresh SQLite store) and prints the wall seconds, the
CPU seconds and peak RSS of the run process (``os.wait4``), and the seconds from the last byte
of its stdout (the summary) to its exit.
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
        for _ in range(args.rounds):
            for tree in args.trees:
                with tempfile.TemporaryDirectory(prefix="reunify-exit-") as tmp:
                    env = {k: v for k, v in os.environ.items() if not k.startswith("REUNIFY_")} | feeds
                    env |= {"REUNIFY_AS_OF": as_of, "REUNIFY_DATABASE_URL": f"sqlite:///{tmp}/x.sqlite3"}
                    env |= {"REUNIFY_LOG_LEVEL": "WARNING", "PYTHONPATH": tree}
                    started = time.perf_counter()
                    proc = subprocess.Popen(
                        [str(BIN / "reunify"), "run", "--full"],
                        env=env,
                        cwd=tmp,
                        stdout=subprocess.PIPE,
                        stderr=subprocess.DEVNULL,
                    )
                    assert proc.stdout is not None
                    last = started
                    while proc.stdout.read1(65536):
                        last = time.perf_counter()
                    _, status, usage = os.wait4(proc.pid, 0)
                    ended = time.perf_counter()
                print(
                    f"{tree}: exit {os.waitstatus_to_exitcode(status)}, wall {ended - started:.1f} s, "
                    f"CPU {usage.ru_utime + usage.ru_stime:.1f} s, peak {usage.ru_maxrss / 1024:.0f} MiB, "
                    f"last output to exit {ended - last:.2f} s",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
