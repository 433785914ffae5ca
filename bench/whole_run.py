"""A whole ``reunify run`` over HTTP, and the fetch floor it is measured against.

The simulator serves the world from its own process (``python -m pipeline.sim.server``) so it
does not share a GIL with the client. The fetch floor is what a bare client needs to fetch and
decode every feed of the world (four threads, one per feed, plain ``requests``, no validation or
store); the whole run is ``reunify run`` as an operator starts it (embedded, SQLite), timed and
measured (peak RSS of that process, from ``wait4``).
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parent.parent


@contextmanager
def serve_world(world_dir: Path) -> Iterator[dict[str, str]]:
    """Serve a world directory from a separate simulator process; yields the REUNIFY_* feed variables."""
    proc = subprocess.Popen(
        [str(BIN / "python"), "-m", "pipeline.sim.server", "--world", str(world_dir), "--port", "0"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    env: dict[str, str] = {}
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("export "):
                key, _, value = line[len("export ") :].strip().partition("=")
                env[key] = value
            if line.startswith("# serving"):
                break
        yield env
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _get(session: requests.Session, url: str, token: str, **params: Any) -> requests.Response:
    resp = session.get(url, params=params, headers={"Authorization": f"Bearer {token}"}, timeout=60)
    resp.raise_for_status()
    return resp


def _bare_fetch(feed: str, url: str, token: str) -> int:
    """Fetch and decode one whole feed with a bare client; returns the record count."""
    count = 0
    with requests.Session() as s:
        if feed == "orr":
            cursor = None
            while True:
                params: dict[str, Any] = {"limit": 1000} | ({"cursor": cursor} if cursor else {})
                body = _get(s, f"{url}/v1/children", token, **params).json()
                count += len(body["children"])
                cursor = body.get("next_cursor")
                if not cursor:
                    return count
        if feed == "ice":
            page = 1
            while True:
                body = _get(s, f"{url}/v1/detainees", token, page=page, per_page=500).json()
                count += len(body["detainees"])
                if page * body["per_page"] >= body["total"]:
                    return count
                page += 1
        if feed == "removals":
            resp = s.get(
                f"{url}/v1/removals.csv",
                headers={"Authorization": f"Bearer {token}"},
                stream=True,
                timeout=60,
            )
            resp.raise_for_status()
            return sum(1 for _ in csv.reader(resp.iter_lines(decode_unicode=True))) - 1
        next_url: str | None = f"{url}/v1/results"
        while next_url:
            resp = _get(s, next_url, token)
            count += len(resp.json()["results"])
            next_url = resp.links.get("next", {}).get("url")
        return count


def fetch_floor(env: dict[str, str]) -> tuple[float, int]:
    """Seconds a bare client takes to fetch and decode every feed (in parallel), and the records."""
    feeds = ("orr", "ice", "removals", "dna")
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=4) as pool:
        counts = list(
            pool.map(
                lambda f: _bare_fetch(f, env[f"REUNIFY_{f.upper()}_URL"], env[f"REUNIFY_{f.upper()}_TOKEN"]),
                feeds,
            )
        )
    return time.perf_counter() - started, sum(counts)


def run_env(env: dict[str, str], as_of: str, database: Path, log_level: str = "WARNING") -> dict[str, str]:
    """The environment of a ``reunify`` command against the simulator's feeds (``env``), on the
    SQLite store at ``database``: this process's, without its own ``REUNIFY_`` settings."""
    out = {k: v for k, v in os.environ.items() if not k.startswith("REUNIFY_")} | env
    out |= {"REUNIFY_AS_OF": as_of, "REUNIFY_DATABASE_URL": f"sqlite:///{database}"}
    return out | {"REUNIFY_LOG_LEVEL": log_level}


def whole_run(
    env: dict[str, str],
    as_of: str,
    database: Path | None = None,
    mode: str = "full",
) -> tuple[float, float, list[dict[str, Any]]]:
    """``reunify run`` then ``reunify export``: (seconds, peak RSS MiB of the run, export objects).

    The run goes to a fresh SQLite database unless ``database`` names one (a later run on a store
    that already holds runs); ``mode`` is ``full`` or ``incremental``.
    """
    with tempfile.TemporaryDirectory(prefix="reunify-run-") as tmp:
        db = database or Path(tmp) / "bench.sqlite3"
        command_env = run_env(env, as_of, db)
        started = time.perf_counter()
        proc = subprocess.Popen(
            [str(BIN / "reunify"), "run", f"--{mode}"],
            cwd=tmp,
            env=command_env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err = proc.stderr.read().decode() if proc.stderr else ""
            raise RuntimeError(f"reunify run failed ({proc.returncode}): {err[-500:]}")
        out = Path(tmp) / "export.jsonl"
        subprocess.run(
            [str(BIN / "reunify"), "export", "--format", "jsonl", "--out", str(out)],
            cwd=tmp,
            env=command_env,
            check=True,
            capture_output=True,
        )
        rows = [json.loads(line) for line in out.read_text().splitlines() if line]
    return seconds, usage.ru_maxrss / 1024, rows


@dataclass
class IncrementalRuns:
    """A full and an incremental run over the same changed world (see :func:`incremental_vs_full`)."""

    full: tuple[float, float, list[dict[str, Any]]]
    incremental: tuple[float, float, list[dict[str, Any]]]
    #: records the incremental run fetched, over every feed
    fetched: int
    truth: list[dict[str, Any]]
    #: the incremental run's feed state reconciled from scratch under the model state it used
    scratch: list[dict[str, Any]]

    @property
    def same_export(self) -> bool:
        """The incremental run published what the full run did (only when both estimated the same
        model: the full run re-estimates it from the changed feeds, the incremental run reuses the
        last good run's, issue 19 item 3)."""
        return without_run_id(self.full[2]) == without_run_id(self.incremental[2])

    @property
    def same_as_scratch(self) -> bool:
        """The incremental run published what a from-scratch reconciliation of its feed state under
        its model state gives: its reused links and frozen model changed nothing else."""
        return _canonical(self.scratch) == _canonical(self.incremental[2])


def _canonical(rows: list[dict[str, Any]]) -> list[str]:
    return sorted(json.dumps(row, sort_keys=True, default=str) for row in without_run_id(rows))


def without_run_id(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Export objects without the run id, for comparing two runs."""
    return [{k: v for k, v in row.items() if k != "run_id"} for row in rows]


def _fetched(database: Path) -> int:
    from pipeline.store import Store

    with Store(f"sqlite:///{database}", auto_upgrade=False) as store:
        [run] = store.list_runs(limit=1)
        return sum(c.fetched for c in run.counts.values())


def scratch_export(database: Path) -> list[dict[str, Any]]:
    """The latest run's stored feed state reconciled from scratch in this process (no reused
    links) under the model state that run kept, with the store's review decisions: the export
    objects that run must have published."""
    from pipeline import jsontext
    from pipeline.match.state import MODEL_STATE_ARTIFACT, model_state_from_json
    from pipeline.reconcile import reconcile
    from pipeline.run.publish import decisions_of
    from pipeline.snapshot import load_snapshot
    from pipeline.store import Store

    with Store(f"sqlite:///{database}", auto_upgrade=False) as store:
        [run] = store.list_runs(limit=1)
        state = model_state_from_json(jsontext.loads(store.get_artifact(run.id, MODEL_STATE_ARTIFACT)))
        snapshot = load_snapshot(run.id, store)
        results = reconcile(snapshot, run.as_of, decisions_of(store), run.partitions, model=state.model)
        return [json.loads(json.dumps(r.to_export(run.id), default=str)) for r in results]


def incremental_vs_full(world_dir: Path, fraction: float = 0.01, seed: int = 11) -> IncrementalRuns:
    """A full run on the world, then a day later ``fraction`` of its records change
    (``pipeline.sim.world.mutate_world``): an incremental run on the same store against a full run
    on a fresh one, both timed, over the changed world served by a new simulator process; and the
    incremental run's feed state reconciled from scratch under its model state."""
    from pipeline.sim.world import load_world, mutate_world

    world = load_world(world_dir)
    changed = mutate_world(world, fraction, seed=seed)
    as_of, later = world.as_of.isoformat(), changed.as_of.isoformat()
    del world
    with tempfile.TemporaryDirectory(prefix="reunify-incremental-") as tmp:
        changed_dir = changed.write(Path(tmp) / "changed")
        truth = changed.truth
        del changed
        kept = Path(tmp) / "kept.sqlite3"
        with serve_world(world_dir) as env:
            whole_run(env, as_of, database=kept)
        with serve_world(changed_dir) as env:
            incremental = whole_run(env, later, database=kept, mode="incremental")
            fetched = _fetched(kept)
            full = whole_run(env, later)
        scratch = scratch_export(kept)
    return IncrementalRuns(full, incremental, fetched, truth, scratch)
