"""Response times of the console's pages on a large published run (PostgreSQL by default).

Usage: .venv/bin/python bench/console.py [--children 20000 100000] [--base 20000] [--seed 7]
       [--requests 40] [--db postgresql+psycopg://postgres@127.0.0.1:5432/test]

A world of ``--base`` children is generated and reconciled once (pure, no feeds); a run of N
children is its results repeated with fresh record ids (copy k of child ORR-x is ORR-x-k), published
into a fresh database, so the store holds N children whose statuses, cohorts and locations have the
generator's mix (each copy with its own parents: one case per copied parent). The console then
serves it under uvicorn on loopback and each page is requested ``--requests`` times by a logged-in
case worker; printed: median and p95 of the time to the response's headers (``requests``'
``elapsed``: server time plus loopback). The first read of the cases page, which brings the cases
up to the run (once per run), is timed on its own.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from console_harness import login, serve_console
from eval_world import snapshot_of

from pipeline.ops.cases import current_run
from pipeline.reconcile import reconcile
from pipeline.settings import load_settings
from pipeline.sim.world import generate_world
from pipeline.store import Store
from pipeline.store.access import AccessStore
from pipeline.web.accounts import add_user


def _copies(rows: list[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    k = 0
    while len(out) < n:
        for r in rows:
            if len(out) >= n:
                break
            c = dict(r)
            c["child_record_ids"] = [f"{i}-{k}" if k else i for i in r["child_record_ids"]]
            if k and r.get("parent"):  # each copy its own parents: one case per copied parent
                p = dict(r["parent"])
                p["ice_record_ids"] = [f"{i}-{k}" for i in p.get("ice_record_ids") or []]
                p["removal_record_ids"] = [f"{i}-{k}" for i in p.get("removal_record_ids") or []]
                c["parent"] = p
            out.append(c)
        k += 1
    return out


def _time(http: Any, method: str, url: str, n: int, **kw: Any) -> tuple[float, float]:
    times = []
    for _ in range(n):
        r = http.request(method, url, timeout=60, **kw)
        assert r.status_code == 200, (url, r.status_code)
        times.append(r.elapsed.total_seconds() * 1000)
    times.sort()
    return statistics.median(times), times[max(0, round(0.95 * len(times)) - 1)]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--children", type=int, nargs="+", default=[20_000, 100_000])
    parser.add_argument("--base", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--db", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    world = generate_world(args.base, seed=args.seed)
    as_of = world.as_of
    base_rows = [r.to_export("bench") for r in reconcile(snapshot_of(world), as_of)]
    admin = sa.create_engine(args.db, isolation_level="AUTOCOMMIT")
    print(f"{'children':>9} {'page':<28} {'median ms':>10} {'p95 ms':>8}")
    for n in args.children:
        name = f"reunify_bench_{uuid.uuid4().hex[:10]}"
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        url = make_url(args.db).set(database=name).render_as_string(hide_password=False)
        try:
            store = Store(url)
            run_id = store.start_run("bench", as_of)
            rows = [r | {"run_id": run_id} for r in _copies(base_rows, n)]
            store.publish_results(run_id, rows)
            store.refresh_statistics()
            add_user(AccessStore(store), "bench", "caseworker", "bench-password-1")
            with tempfile.TemporaryDirectory() as tmp:
                env = {"REUNIFY_DATABASE_URL": url, "REUNIFY_WEB_SECRET": "bench-secret-0123456789"}
                settings = load_settings(env, config_file=Path(tmp) / "none.toml")
            child = next(r for r in rows if r.get("parent"))["child_record_ids"][0]
            # the first read of the cases after a run brings them up to it (once per run)
            started = time.perf_counter()
            current_run(store, settings)
            sync_ms = (time.perf_counter() - started) * 1000
            print(f"{n:>9} {'cases: sync to the run':<28} {sync_ms:>10.1f} {'-':>8}", flush=True)
            with serve_console(settings, store) as web:
                http = login(web, "bench", "bench-password-1")
                first = http.get(web + "/cases", timeout=60)
                case_id = int(first.text.split('data-case="', 1)[1].split('"', 1)[0])
                pages = [
                    ("dashboard /", "GET", "/", {}),
                    (
                        "children status+unresolved",
                        "GET",
                        "/children?status=parent_released&unresolved=yes",
                        {},
                    ),
                    (
                        "children page 40, by days",
                        "GET",
                        "/children?sort=days_unresolved&dir=desc&page=40",
                        {},
                    ),
                    ("child page", "GET", f"/children/{child}", {}),
                    ("api summary", "GET", "/api/summary", {}),
                    ("cases (parents to locate)", "GET", "/cases", {}),
                    ("cases released, under_5", "GET", "/cases?location=released&cohort=under_5", {}),
                    ("cases page 20, unassigned", "GET", "/cases?assignee=-&page=20", {}),
                    ("case page", "GET", f"/cases/{case_id}", {}),
                    ("review queue (pending)", "GET", "/review", {}),
                ]
                for label, method, path, kw in pages:
                    med, p95 = _time(http, method, web + path, args.requests, **kw)
                    print(f"{n:>9} {label:<28} {med:>10.1f} {p95:>8.1f}", flush=True)
            store.close()
        finally:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
