"""A whole ``reunify run`` through Celery workers: one worker against two, on the same world.

Each measurement gets a fresh PostgreSQL database and an empty Redis database, starts ``count``
``celery -A workers worker --concurrency=1`` processes, and times ``reunify run`` (which sends the
steps to the workers and waits for the run). The stages' times come from the run's steps in the
store (from the first step's message to the last step's completion); the matching stage is the
one the partitions share between workers. The exports of every measurement are compared.

Usage (the world served by ``python -m pipeline.sim.server``, see bench/whole_run.py):
``python -m bench.workers --world DIR --workers 1,2``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from pipeline.sim.processes import BIN, celery_worker, process_env

PG_ADMIN_URL = os.environ.get(
    "REUNIFY_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("REUNIFY_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
STAGES = ("fetch", "prepare", "match", "finish", "publish")


@dataclass
class WorkersRun:
    """One run through ``workers`` workers: wall seconds, seconds per stage, the export."""

    workers: int
    seconds: float
    stages: dict[str, float]
    rows: list[dict[str, Any]]
    #: the largest peak resident memory of any worker process (pool processes included), MiB
    peak_mib: float = 0.0


def group_peak_mib(leader: int) -> float:
    """The largest peak RSS (VmHWM) among the live processes of a process group, in MiB."""
    peak = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            # the process group is the fifth field, after the parenthesised command name
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) != leader:
                continue
            for line in (entry / "status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]))
        except (OSError, IndexError, ValueError):
            continue  # the process ended meanwhile
    return peak / 1024


@contextmanager
def fresh_database() -> Iterator[str]:
    """A new PostgreSQL database on the local server, dropped afterwards."""
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    name = f"reunify_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _stage_seconds(db_url: str) -> dict[str, float]:
    from pipeline.store import Store

    with Store(db_url, auto_upgrade=False) as store:
        [run] = store.list_runs(limit=1)
        steps = store.list_steps(run.id)
    out: dict[str, float] = {}
    for stage in STAGES:
        mine = [s for s in steps if s.step.split(":", 1)[0] == stage]
        sent = [s.sent_at for s in mine if s.sent_at]
        done = [s.done_at for s in mine if s.done_at]
        if sent and done:
            out[stage] = (max(done) - min(sent)).total_seconds()
    return out


def run_through_workers(feeds: Mapping[str, str], as_of: str, count: int, scratch: Path) -> WorkersRun:
    """``reunify run`` through ``count`` fresh workers on a fresh database; the export read back."""
    redis.Redis.from_url(REDIS_URL).flushdb()
    with fresh_database() as db_url, ExitStack() as stack:
        env = dict(feeds) | {
            "REUNIFY_AS_OF": as_of,
            "REUNIFY_DATABASE_URL": db_url,
            "REUNIFY_BROKER_URL": REDIS_URL,
            "REUNIFY_RUN_DEADLINE_SECONDS": "7200",
        }
        subprocess.run(
            [str(BIN / "reunify"), "db", "upgrade"], env=process_env(env), check=True, capture_output=True
        )
        workers = [
            stack.enter_context(celery_worker(env, scratch / f"worker-{count}-{n}.log", f"bench{n}", 1))
            for n in range(count)
        ]
        started = time.perf_counter()
        done = subprocess.run(
            [str(BIN / "reunify"), "run", "--full"],
            cwd=scratch,
            env=process_env(env),
            capture_output=True,
            text=True,
        )
        seconds = time.perf_counter() - started
        if done.returncode != 0:
            raise RuntimeError(f"reunify run through {count} workers failed: {done.stderr[-800:]}")
        out = scratch / f"export-{count}.jsonl"
        subprocess.run(
            [str(BIN / "reunify"), "export", "--format", "jsonl", "--out", str(out)],
            env=process_env(env),
            check=True,
            capture_output=True,
        )
        rows = [json.loads(line) for line in out.read_text().splitlines() if line]
        peak = max(group_peak_mib(w.pid) for w in workers)
        return WorkersRun(count, seconds, _stage_seconds(db_url), rows, peak)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.workers", description=__doc__.splitlines()[0])
    parser.add_argument("--world", required=True, help="a world directory (python -m pipeline.sim generate)")
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    parser.add_argument("--as-of", default="2018-07-12")
    args = parser.parse_args(argv)
    from bench.whole_run import serve_world, without_run_id

    runs: list[WorkersRun] = []
    with (
        tempfile.TemporaryDirectory(prefix="reunify-workers-") as tmp,
        serve_world(Path(args.world)) as feeds,
    ):
        for count in (int(c) for c in args.workers.split(",")):
            found = run_through_workers(feeds, args.as_of, count, Path(tmp))
            runs.append(found)
            stages = ", ".join(f"{k} {v:.1f}" for k, v in found.stages.items())
            print(f"{count} worker(s): {found.seconds:.1f} s ({stages})", file=sys.stderr)
    same = all(without_run_id(r.rows) == without_run_id(runs[0].rows) for r in runs)
    print(
        "| workers | whole run s | peak RSS of a worker MiB | " + " | ".join(f"{s} s" for s in STAGES) + " |"
    )
    print("|---|---|---|" + "---|" * len(STAGES))
    for r in runs:
        cells = [f"{r.stages[s]:.1f}" if s in r.stages else "" for s in STAGES]
        print(f"| {r.workers} | {r.seconds:.1f} | {r.peak_mib:.0f} | " + " | ".join(cells) + " |")
    print(f"\nexports identical: {same} ({len(runs[0].rows):,} children)")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
