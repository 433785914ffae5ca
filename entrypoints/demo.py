"""``reunify demo``: a whole run on the embedded default against the built-in feed simulator.

Generates a world, serves it over real HTTP with the simulator, runs the same pipeline as
``reunify run`` in-process on a SQLite store, writes the export, and scores it against the
world's truth.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import TextIO

from pipeline.settings import Settings, load_settings
from pipeline.sim.score import score
from pipeline.sim.server import FaultConfig, FeedSimulator
from pipeline.sim.world import generate_world


def demo_settings(sim: FeedSimulator, workdir: Path, as_of: str) -> Settings:
    """Settings pointing at the simulator and a SQLite store in ``workdir``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k.startswith("REUNIFY_") and "URL" not in k and "TOKEN" not in k
    }
    env.pop("REUNIFY_BROKER_URL", None)
    env |= sim.env()
    env |= {
        "REUNIFY_AS_OF": as_of,
        "REUNIFY_DATABASE_URL": f"sqlite:///{workdir / 'reunify.sqlite3'}",
    }
    return load_settings(env)


def run_demo(children: int, seed: int, fault_rate: float, workdir: Path, out: TextIO = sys.stdout) -> int:
    """Generate, serve, reconcile, export and score one world; returns the exit code."""
    from entrypoints.summary import quarantined_counts, summary_table
    from pipeline.ops.export import write_export
    from pipeline.progress import Progress
    from pipeline.run import run_embedded
    from pipeline.store import Store

    workdir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    world = generate_world(children, seed)
    out.write(
        f"world: {len(world.truth):,} children, {len(world.ice):,} ICE records, "
        f"{len(world.removals):,} removal rows, {len(world.dna):,} DNA results "
        f"(seed {seed}, generated in {time.monotonic() - started:.1f} s)\n"
    )
    faults = FaultConfig(rate=fault_rate, retry_after=0.2, seed=seed)
    with FeedSimulator(world.to_payloads(), faults=faults) as sim:
        settings = demo_settings(sim, workdir, world.as_of.isoformat())
        out.write(
            f"feed simulator at {sim.base_url} (fault rate {fault_rate:.0%}); store {settings.database_url}\n"
        )
        store = Store(settings.database_url)
        run_started = time.monotonic()
        run_id = run_embedded(settings, store, "demo", Progress(out))
        elapsed = time.monotonic() - run_started
    run = store.get_run(run_id)
    results = list(store.iter_results(run_id))
    export = workdir / "export.jsonl"
    with export.open("w", encoding="utf-8") as fh:
        write_export(results, "jsonl", fh)
    out.write(f"\nrun {run_id} succeeded in {elapsed:.1f} s\n\n")
    out.write(summary_table(results, quarantined_counts(run)) + "\n\n")
    out.write("accuracy against the world's truth:\n" + score(results, world.truth).as_table() + "\n\n")
    out.write(f"export: {export}\n")
    (workdir / "truth.jsonl").write_text("".join(json.dumps(t) + "\n" for t in world.truth), encoding="utf-8")
    return 0
