"""How long a whole ``reunify run`` spends fetching, read from its own log.

Usage: .venv/bin/python -m bench.fetch_time --world DIR [--repeat 3]

Serves a world directory (``python -m pipeline.sim generate --children N --seed 7 --out DIR``)
from a simulator process, then runs ``reunify run --full`` (embedded, a fresh SQLite file) as many
times as asked. For each run it prints the seconds of each feed's fetch (its ``feed.fetched``
log line: fetch, validation, store, read-back), the fetch stage (run start to the last feed
fetched; the four feeds fetch in parallel) and the whole run; then the medians. Run it with
``PYTHONPATH=<another checkout>`` to measure that checkout's code with the same script.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.whole_run import BIN, run_env, serve_world

FEEDS = ("orr", "ice", "removals", "dna")


def one_run(env: dict[str, str], as_of: str) -> dict[str, float]:
    """One ``reunify run --full`` on a fresh store: seconds per feed, of the fetch stage, of the run."""
    with tempfile.TemporaryDirectory(prefix="reunify-fetch-") as tmp:
        command_env = run_env(env, as_of, Path(tmp) / "bench.sqlite3", "INFO")
        started = time.perf_counter()
        proc = subprocess.run(
            [str(BIN / "reunify"), "run", "--full"], cwd=tmp, env=command_env, capture_output=True, text=True
        )
        whole = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"reunify run failed ({proc.returncode}): {proc.stderr[-800:]}")
    events: list[dict[str, Any]] = []
    for line in proc.stderr.splitlines():
        try:
            events.append(json.loads(line))
        except ValueError:
            continue
    began = next(e for e in events if e.get("event") == "run.started")
    fetched = {e["feed"]: e for e in events if e.get("event") == "feed.fetched" and "seconds" in e}
    out = {feed: float(fetched[feed]["seconds"]) for feed in FEEDS if feed in fetched}

    def at(event: dict[str, Any]) -> float:
        return datetime.fromisoformat(event["timestamp"]).timestamp()

    out["fetch_stage"] = round(max(at(e) for e in fetched.values()) - at(began), 2)
    out["run"] = round(whole, 2)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--world", type=Path, required=True)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    as_of = json.loads((args.world / "world.json").read_text())["as_of"]
    runs = []
    with serve_world(args.world) as env:
        for _ in range(args.repeat):
            runs.append(one_run(env, as_of))
            print(json.dumps(runs[-1]), flush=True)
    print(json.dumps({"median": {k: round(statistics.median(r[k] for r in runs), 2) for k in runs[0]}}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
