"""Where a reconciliation's memory goes (issue 19): run one part under each tree for an A/B.

    cd /tmp && PYTHONPATH=<tree> /work/main/.venv/bin/python -m bench.memory PART WORLD

with PART one of ``records``, ``adults``, ``views`` (on /tmp/worlds/world-20000-s7-default, say),
``phases`` or ``timeline`` (on a 100,000-child world). Run it from a directory that is not a
checkout: ``python -m`` puts the working directory ahead of ``PYTHONPATH``. A tree without this
file measures with a copy of it in its ``bench/``.

``records``: tracemalloc's bytes of each feed's records, each record encoded as the feed serves
it and parsed as the fetch parses it (malformed ones left out). ``adults``: the peak of
``recognise_people`` above the loaded records. ``views``: the bytes of every child's view and
every person's, built as a reconciliation builds them (each tree's own way). ``phases``: one
in-process reconcile as a run does it (four partitions, keeping its links), each step's seconds
and the process's RSS after it. ``timeline``: one whole ``reunify run --full`` over HTTP, its RSS
sampled every 0.25 s (its log, for the stages' times, in ``bench/out/timeline.log``).
"""

from __future__ import annotations

import csv
import functools
import gc
import inspect
import json
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.run import OUT_DIR, vm_kib
from pipeline import parse
from pipeline.errors import MalformedRecord
from pipeline.sim.world import load_world

MIB = 2**20
#: the whole run's own log (``timeline``): its stages' events and times
LOG = OUT_DIR / "timeline.log"


def _mib(field: str) -> int:
    """A ``/proc/self/status`` memory field in MiB."""
    return (vm_kib(field) or 0) // 1024


def _parsed(items: list[Any], fn: Callable[[Any], Any]) -> list[Any]:
    out = []
    for item in items:
        try:
            out.append(fn(item))
        except MalformedRecord:
            continue
    return out


def records(world: Path) -> None:
    """Bytes of each feed's parsed records."""
    payloads: dict[str, list[Any]] = {
        "orr": [json.dumps(r).encode() for r in json.loads((world / "orr_children.json").read_text())],
        "ice": [json.dumps(r).encode() for r in json.loads((world / "ice_detainees.json").read_text())],
    }
    with open(world / "removals.csv", newline="") as f:
        # each cell a string of its own, as the fetch's CSV reader gives it
        payloads["removals"] = [json.dumps(row) for row in csv.DictReader(f)]
    parsers: dict[str, Callable[[Any], Any]] = {
        "orr": parse.parse_child,
        "ice": parse.parse_adult,
        "removals": lambda text: parse.parse_removal(json.loads(text)),
    }
    for feed, items in payloads.items():
        gc.collect()
        tracemalloc.start()
        kept = _parsed(items, parsers[feed])
        size = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        print(f"{feed}: {len(kept):,} records, {size / MIB:.1f} MiB, {size / len(kept):.0f} bytes a record")


def adults(world: Path) -> None:
    """Peak of adult identity above the loaded records."""
    from pipeline.match.adults import recognise_people

    snap = load_world(world).to_snapshot()
    gc.collect()
    gc.disable()  # as in a run (reconcile.no_gc_pauses)
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    people = recognise_people(snap.adults, snap.removals)
    current, peak = tracemalloc.get_traced_memory()
    print(
        f"recognise_people: {len(people[0]):,} people, peak {(peak - base) / MIB:.1f} MiB,"
        f" kept {(current - base) / MIB:.1f} MiB"
    )


def views(world: Path) -> None:
    """Bytes of the child views and the person views."""
    from pipeline.match.adults import recognise_people
    from pipeline.match.children import group_children
    from pipeline.match.views import ChildView, PersonView

    snap = load_world(world).to_snapshot()
    groups = sorted(group_children(snap.children), key=lambda g: g.key)
    people = recognise_people(snap.adults, snap.removals)[0]
    gc.collect()
    tracemalloc.start()
    if "shared" in inspect.signature(ChildView.of).parameters:
        table: dict[object, Any] = {}
        children = [ChildView.of(g, table) for g in groups]
        del table  # it lives while the views are built
    else:
        children = [ChildView.of(g) for g in groups]
    child_bytes = tracemalloc.get_traced_memory()[0]
    shared: dict[object, Any] = {}  # the linker's table (Linker.shared) lives as long as the views
    persons = [PersonView.of(p, shared) for p in people]
    person_bytes = tracemalloc.get_traced_memory()[0] - child_bytes
    print(f"child views: {len(children):,}, {child_bytes / MIB:.1f} MiB")
    print(f"person views: {len(persons):,}, {person_bytes / MIB:.1f} MiB")


def phases(world: Path) -> None:
    """Seconds and RSS of each step of one in-process reconcile."""
    from pipeline import reconcile

    started = [time.perf_counter()]

    def timed(owner: Any, name: str) -> None:
        fn = getattr(owner, name)

        @functools.wraps(fn)
        def step(*args: Any, **kwargs: Any) -> Any:
            begun = time.perf_counter()
            out = fn(*args, **kwargs)
            print(
                f"{begun - started[0]:7.1f} s  {name:18s} {time.perf_counter() - begun:6.1f} s"
                f"  RSS {_mib('VmRSS'):,} MiB",
                flush=True,
            )
            return out

        setattr(owner, name, step)

    steps = ["screen_snapshot", "snapshot_digests", "group_children", "recognise_people", "person_of"]
    steps += ["estimate_model", "BlockingIndex", "plan_partitions", "fingerprint", "link_partition", "finish"]
    for name in steps:
        timed(reconcile, name)
    timed(reconcile.LinkState, "of")
    world_data = load_world(world)
    snap, as_of = world_data.to_snapshot(), world_data.as_of
    del world_data
    gc.collect()
    print(f"loaded: RSS {_mib('VmRSS'):,} MiB", flush=True)
    started[0] = time.perf_counter()
    reconcile.reconcile_reusing(snap, as_of, partitions=4, keep=True)
    print(f"{time.perf_counter() - started[0]:7.1f} s  done, peak RSS {_mib('VmHWM'):,} MiB")


def timeline(world: Path) -> None:
    """RSS of one whole run over HTTP, every 0.25 s, and its peak."""
    from bench.whole_run import BIN, run_env, serve_world

    as_of = json.loads((world / "world.json").read_text())["as_of"]
    with serve_world(world) as env, tempfile.TemporaryDirectory(prefix="reunify-mem-") as tmp:
        command_env = run_env(env, as_of, Path(tmp) / "run.sqlite3", "INFO")
        LOG.parent.mkdir(exist_ok=True)
        begun = time.perf_counter()
        with open(LOG, "w") as log:
            proc = subprocess.Popen(
                [str(BIN / "reunify"), "run", "--full"],
                cwd=tmp,
                env=command_env,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        samples: list[tuple[float, int]] = []
        while proc.poll() is None:
            try:
                with open(f"/proc/{proc.pid}/status") as status:
                    rss = next(int(line.split()[1]) for line in status if line.startswith("VmRSS"))
            except (FileNotFoundError, StopIteration):
                break
            samples.append((time.perf_counter() - begun, rss // 1024))
            time.sleep(0.25)
        wall = time.perf_counter() - begun
    at, peak = max(samples, key=lambda s: s[1])
    print(f"exit {proc.returncode}, wall {wall:.1f} s, peak RSS {peak:,} MiB at {at:.0f} s")
    every = max(1, len(samples) // 40)
    print(" ".join(f"{t:.0f}s:{m}" for t, m in samples[::every]))


PARTS: dict[str, Callable[[Path], None]] = {
    "records": records,
    "adults": adults,
    "views": views,
    "phases": phases,
    "timeline": timeline,
}


def main(argv: list[str]) -> int:
    """``PART WORLD`` (see the module docstring)."""
    if len(argv) != 2 or argv[0] not in PARTS:
        print(__doc__, file=sys.stderr)
        return 2
    PARTS[argv[0]](Path(argv[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
