"""``reunify run --no-fetch`` beside a full run on the same store (issue 16 item 8).

    .venv/bin/python -m bench.no_fetch --world /tmp/worlds/world-20000-s7 [--database URL]

Serves the world from the simulator's own process, then on one fresh store (SQLite in a temporary
directory unless ``--database`` names another, e.g. an empty PostgreSQL database): a full run, a
run without fetching, and another one, each a whole ``reunify run`` process timed from outside,
with the stages the run logs (the feed copy; reading the records back, matching, writing the
results). The runs without fetching publish the same export as the full run (no decision was
made in between): checked, bar the run id.

Then five review decisions are recorded (three rejections of linked parents, two confirmations of
a runner-up, as a reviewer makes them) and a run without fetching takes them in, as the console's
re-reconcile button does (issue 16 item 8). Its export is checked against the same run over a copy
of the store from which the kept link state was removed: the same records, decisions and model,
every child linked afresh.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.whole_run import BIN, serve_world, without_run_id
from pipeline.match.state import LINK_STATE_ARTIFACT
from pipeline.store import Store


def _as_of(world: Path) -> str:
    meta = world / "world.json"
    return str(json.loads(meta.read_text()).get("as_of", "2018-07-12")) if meta.exists() else "2018-07-12"


def _run(env: dict[str, str], flag: str, cwd: str) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    proc = subprocess.run(
        [str(BIN / "reunify"), "run", flag], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"reunify run {flag} failed ({proc.returncode}): {proc.stderr[-800:]}")
    stages: dict[str, Any] = {}
    first: datetime | None = None
    timeline: list[str] = []
    for line in proc.stderr.splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if "timestamp" in event:
            at = datetime.fromisoformat(event["timestamp"].replace("Z", "+00:00"))
            first = first or at
            timeline.append(f"{(at - first).total_seconds():6.1f} {event.get('event')}")
        if event.get("event") == "feeds.copied":
            stages["copy"] = event["seconds"]
        if event.get("event") == "reconcile.done":
            stages |= {k: event[k] for k in ("load_seconds", "match_seconds", "write_seconds")}
            reused = ("relinked", "people_reused", "inputs_reused", "buckets_built")
            stages |= {k: event[k] for k in reused if k in event}
    stages["timeline"] = timeline
    return seconds, stages


def _stages(stages: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in stages.items() if k != "timeline"}


def _export(env: dict[str, str], cwd: str) -> list[dict[str, Any]]:
    out = Path(cwd) / "export.jsonl"
    subprocess.run(
        [str(BIN / "reunify"), "export", "--format", "jsonl", "--out", str(out)],
        cwd=cwd,
        env=env,
        check=True,
        capture_output=True,
    )
    return without_run_id([json.loads(line) for line in out.read_text().splitlines() if line])


def _differences(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> str:
    """How two exports differ, in counts only: children differing, by top-level field."""
    if len(a) != len(b):
        return f"{len(a)} against {len(b)} children"
    fields: dict[str, int] = {}
    children = 0
    for x, y in zip(a, b, strict=True):
        if x != y:
            children += 1
            for key in sorted(set(x) | set(y)):
                if x.get(key) != y.get(key):
                    fields[key] = fields.get(key, 0) + 1
    return f"{children} children differ, by field: {fields}"


def _decide_five(url: str) -> int:
    """Record three rejections of linked parents and two confirmations of a runner-up (of children
    without a parent) in the store at ``url``; the number recorded."""
    store = Store(url)
    try:
        run = store.latest_succeeded_run()
        assert run is not None
        rejects: list[tuple[str, str]] = []
        confirms: list[tuple[str, str]] = []
        for result in store.iter_results(run.id):
            key = min(result["child_record_ids"])
            parent = result.get("parent")
            if parent and parent["ice_record_ids"] and len(rejects) < 3:
                rejects.append((key, parent["ice_record_ids"][0]))
            elif parent is None and len(confirms) < 2:
                cands = store.list_candidates(run.id, key)
                if cands and cands[0]["ice_record_ids"]:
                    confirms.append((key, cands[0]["ice_record_ids"][0]))
            if len(rejects) == 3 and len(confirms) == 2:
                break
        for key, adult in rejects:
            store.add_decision(key, adult, "reject", "bench", "bench/no_fetch.py")
        for key, adult in confirms:
            store.add_decision(key, adult, "confirm", "bench", "bench/no_fetch.py")
        return len(rejects) + len(confirms)
    finally:
        store.close()


def _without_kept_links(sqlite_file: Path, copy: Path) -> None:
    """Copy the store and remove every kept link state from the copy."""
    shutil.copyfile(sqlite_file, copy)
    with sqlite3.connect(copy) as conn:
        conn.execute("DELETE FROM run_artifacts WHERE name = ?", (LINK_STATE_ARTIFACT,))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--world", type=Path, required=True, help="a world directory (python -m pipeline.sim generate)"
    )
    parser.add_argument("--database", help="store URL (default: a fresh SQLite file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="reunify-nofetch-") as tmp, serve_world(args.world) as feeds:
        env = {k: v for k, v in os.environ.items() if not k.startswith("REUNIFY_")} | feeds
        env |= {
            "REUNIFY_AS_OF": _as_of(args.world),
            "REUNIFY_DATABASE_URL": args.database or f"sqlite:///{Path(tmp) / 'bench.sqlite3'}",
            "REUNIFY_LOG_JSON": "true",
            "REUNIFY_LOG_LEVEL": "INFO",
        }
        full, full_stages = _run(env, "--full", tmp)
        reference = _export(env, tmp)
        print(f"full run:        {full:6.1f} s  {_stages(full_stages)}")
        for n in (1, 2):
            seconds, stages = _run(env, "--no-fetch", tmp)
            exported = _export(env, tmp)
            same = exported == reference
            print(
                f"no-fetch run {n}:  {seconds:6.1f} s  {_stages(stages)}  same export as the full run: {same}"
            )
            if n == 1:
                print("  its log, seconds from its first line:\n    " + "\n    ".join(stages["timeline"]))
            if not same:
                print("  " + _differences(reference, exported))
                return 1
        if args.database is None:
            sqlite_file = Path(tmp) / "bench.sqlite3"
            print(f"decisions recorded: {_decide_five(env['REUNIFY_DATABASE_URL'])}")
            fresh = Path(tmp) / "fresh.sqlite3"
            _without_kept_links(sqlite_file, fresh)
            seconds, stages = _run(env, "--no-fetch", tmp)
            decided = _export(env, tmp)
            print(f"no-fetch run after the decisions: {seconds:6.1f} s  {_stages(stages)}")
            print("  its log, seconds from its first line:\n    " + "\n    ".join(stages["timeline"]))
            other = env | {"REUNIFY_DATABASE_URL": f"sqlite:///{fresh}"}
            seconds, stages = _run(other, "--no-fetch", tmp)
            scratch = _export(other, tmp)
            print(f"the same without kept links:      {seconds:6.1f} s  {_stages(stages)}")
            same = decided == scratch
            print(
                f"  same export: {same}; children whose export the decisions changed: "
                f"{sum(x != y for x, y in zip(reference, decided, strict=True))}"
            )
            if not same:
                print("  " + _differences(scratch, decided))
                return 1
        print(f"children: {len(reference)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
