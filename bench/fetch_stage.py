"""CPU seconds of the whole fetch path, per feed: HTTP, decode, validate, store (issue 19 item 1).

    .venv/bin/python -m bench.fetch_stage --world /tmp/worlds/world-20000-s7 --rounds 2
    .venv/bin/python -m bench.fetch_stage --world DIR --database postgresql+psycopg://...  # PG
    .venv/bin/python -m bench.fetch_stage --world DIR --profile /tmp/fetch.prof  # cProfile

A simulator process serves the world; each round starts a run on a fresh store (a new SQLite
file, or the PostgreSQL database given, its earlier bench runs deleted first) and calls the
fetch stage's ``fetch_feed`` for each feed in turn, in this thread, with the typed records kept
as an in-process run keeps them. Each feed's ``time.process_time`` is printed, per record and in
all; the best round is the figure. Run with ``PYTHONPATH=<tree>`` to measure another checkout.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import logging
import os
import tempfile
import time
from pathlib import Path

import structlog

from bench.whole_run import serve_world
from pipeline.run.fetch import FetchedRecords, fetch_feed
from pipeline.run.leases import RUN_LOCK, begin_run
from pipeline.settings import load_settings
from pipeline.store import Store

FEEDS = ("orr", "ice", "removals", "dna")


def one_round(
    env: dict[str, str], url: str, profile: cProfile.Profile | None
) -> dict[str, tuple[float, int]]:
    """Fetch every feed once into the store at ``url``: {feed: (CPU seconds, records fetched)}."""
    settings = load_settings(env | {"REUNIFY_DATABASE_URL": url})
    store = Store(url)
    run_id = begin_run(store, settings, "bench")
    out: dict[str, tuple[float, int]] = {}
    try:
        for feed in FEEDS:
            keep = FetchedRecords()
            gc.collect()
            gc.disable()  # as the in-process run does around its fetches (reconcile.no_gc_pauses)
            if profile is not None:
                profile.enable()
            started = time.process_time()
            counts = fetch_feed(run_id, feed, settings, store, keep=keep)
            spent = time.process_time() - started
            if profile is not None:
                profile.disable()
            gc.enable()
            out[feed] = (spent, counts.fetched)
    finally:
        store.fail_run(run_id, "bench: fetch stage only")
        store.release_lock(RUN_LOCK, run_id)
        store.prune_runs(1)  # a PostgreSQL store is reused: its failed bench runs' records go
    return out


def main() -> int:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    parser.add_argument("--world", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--database", help="a PostgreSQL URL (default: a fresh SQLite file a round)")
    parser.add_argument("--profile", type=Path, help="write a cProfile of the fetches here")
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    as_of = json.loads((args.world / "world.json").read_text())["as_of"]
    profile = cProfile.Profile() if args.profile else None
    best: dict[str, tuple[float, int]] = {}
    with serve_world(args.world) as feeds:
        env = {k: v for k, v in os.environ.items() if not k.startswith("REUNIFY_")} | feeds
        env |= {"REUNIFY_AS_OF": as_of, "REUNIFY_LOG_LEVEL": "WARNING"}
        for number in range(args.rounds):
            with tempfile.TemporaryDirectory(prefix="reunify-fetch-stage-") as tmp:
                url = args.database or f"sqlite:///{tmp}/bench.sqlite3"
                got = one_round(env, url, profile)
            line = ", ".join(f"{f} {s:.2f} s ({s / max(n, 1) * 1e6:.1f} µs/rec)" for f, (s, n) in got.items())
            print(
                f"round {number + 1}: {line}; total {sum(s for s, _ in got.values()):.2f} CPU s", flush=True
            )
            for feed, (spent, count) in got.items():
                if feed not in best or spent < best[feed][0]:
                    best[feed] = (spent, count)
    print("best:")
    for feed, (spent, count) in best.items():
        per = spent / max(count, 1) * 1e6
        print(f"  {feed:9} {count:>8,} records  {spent:6.2f} CPU s  {per:6.1f} µs a record")
    print(f"  total {sum(s for s, _ in best.values()):.2f} CPU s")
    if profile is not None:
        profile.dump_stats(args.profile)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
