"""What a stored feed record costs: ``Store.add_feed_records`` alone, per row, SQLite and PostgreSQL.

    .venv/bin/python -m bench.store_rows --world /tmp/worlds/world-20000-s7 --rounds 2
    .venv/bin/python -m bench.store_rows --world DIR --database postgresql+psycopg://...  # a scratch db

The ICE and ORR records of a world are validated once (outside the timing) into the rows the fetch
stores; each round writes them on a fresh store (a new SQLite file, or the PostgreSQL database
given, its earlier bench runs pruned first) in the fetch's batches of 5,000 and prints, per row,
this process's CPU µs and the wall µs (the wall includes PostgreSQL's own work, in its server
processes). Run with ``PYTHONPATH=<tree>`` to measure another checkout.
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import structlog

from pipeline.feeds.validate import validate_page
from pipeline.store import Store

FILES = {"orr": "orr_children.json", "ice": "ice_detainees.json"}
BATCH = 5000  # pipeline.run.fetch.WRITE_BATCH


def main() -> int:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    parser.add_argument("--world", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--database", help="a PostgreSQL URL (default: a fresh SQLite file a round)")
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    as_of = json.loads((args.world / "world.json").read_text())["as_of"]
    rows: dict[str, list[Any]] = {}
    for feed, name in FILES.items():
        records = json.loads((args.world / name).read_text(encoding="utf-8"))
        rows[feed] = validate_page(feed, records)[0]
    for number in range(args.rounds):
        with tempfile.TemporaryDirectory(prefix="reunify-store-rows-") as tmp:
            store = Store(args.database or f"sqlite:///{tmp}/bench.sqlite3")
            run_id = store.start_run("bench", date.fromisoformat(as_of))
            line = []
            for feed, valid in rows.items():
                cpu, wall = time.process_time(), time.perf_counter()
                for i in range(0, len(valid), BATCH):
                    store.add_feed_records(run_id, feed, valid[i : i + BATCH])
                cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
                n = len(valid)
                per_cpu, per_wall = cpu / n * 1e6, wall / n * 1e6
                line.append(f"{feed} {n:,} rows: {per_cpu:.2f} CPU µs, {per_wall:.2f} wall µs a row")
            store.fail_run(run_id, "bench: store writes only")
            store.prune_runs(1)
            store.close()
        print(f"round {number + 1}: " + "; ".join(line), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
