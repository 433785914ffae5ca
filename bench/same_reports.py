"""Court reports before and after a change: byte-identical in every format (issue 18's check of
``pipeline/ops/report.py``).

One store with two succeeded runs (a generated world, then the same world changed a day later, so
the report has changes, a trend and case figures) is built once and reused by both sides, so both
render the same figures; each side writes the text, Markdown and HTML report of each run, with and
without names, at a pinned generation time:

    .venv/bin/python -m bench.same_reports write --store /tmp/reports.sqlite3 --out /tmp/before
    (change the code)
    .venv/bin/python -m bench.same_reports write --store /tmp/reports.sqlite3 --out /tmp/after
    .venv/bin/python -m bench.same_reports compare /tmp/before /tmp/after

To write the "before" side with a checkout that lacks this file, run it from there as a script:
``cd OLD && PYTHONPATH=$PWD .venv/bin/python NEW/bench/same_reports.py write ...``.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

GENERATED_AT = datetime(2026, 1, 1, tzinfo=UTC)
FORMATS = (("txt", "render_text"), ("md", "render_markdown"), ("html", "render_html"))


def build_store(store: Path, world_dir: Path, fraction: float = 0.05, seed: int = 11) -> None:
    """Two runs of ``world_dir`` into ``store``: as generated, then changed (``mutate_world``)."""
    from bench.whole_run import serve_world, whole_run
    from pipeline.sim.world import load_world, mutate_world

    world = load_world(world_dir)
    changed = mutate_world(world, fraction, seed=seed)
    as_of, later = world.as_of.isoformat(), changed.as_of.isoformat()
    with tempfile.TemporaryDirectory(prefix="reunify-reports-") as tmp:
        changed_dir = changed.write(Path(tmp) / "changed")
        with serve_world(world_dir) as env:
            whole_run(env, as_of, database=store)
        with serve_world(changed_dir) as env:
            whole_run(env, later, database=store)


def write(store: Path, out: Path) -> list[Path]:
    """Every report of every succeeded run in ``store``, oldest run first; the files written."""
    os.environ["REUNIFY_DATABASE_URL"] = f"sqlite:///{store}"
    from pipeline.ops import report
    from pipeline.settings import load_settings
    from pipeline.store import Store

    settings = load_settings()
    db = Store(settings.database_url)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for n, run in enumerate(reversed(db.succeeded_runs())):
        for names in (False, True):
            rep = report.build_report(db, settings, run.id, with_names=names)
            rep.generated_at = GENERATED_AT
            for ext, render in FORMATS:
                path = out / f"run{n}-{'names' if names else 'nonames'}.{ext}"
                path.write_text(getattr(report, render)(rep), encoding="utf-8")
                written.append(path)
    return written


def compare(before: Path, after: Path) -> bool:
    """Say for each report whether it is byte-identical; True when all are."""
    names = sorted({p.name for p in before.iterdir()} | {p.name for p in after.iterdir()})
    same = True
    for name in names:
        a, b = before / name, after / name
        if not (a.exists() and b.exists()):
            print(f"{name}: only in {'before' if a.exists() else 'after'}")
            same = False
        elif filecmp.cmp(a, b, shallow=False):
            print(f"{name}: identical ({a.stat().st_size:,} bytes)")
        else:
            print(f"{name}: DIFFERENT")
            same = False
    return same


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    w = sub.add_parser("write", help="write every report of the store (built first if missing)")
    w.add_argument("--store", type=Path, required=True, help="SQLite file, built once and reused")
    w.add_argument("--world", type=Path, default=Path("/tmp/worlds/world-2300-s7"))
    w.add_argument("--out", type=Path, required=True)
    c = sub.add_parser("compare", help="compare two sets of reports")
    c.add_argument("before", type=Path)
    c.add_argument("after", type=Path)
    args = parser.parse_args(argv)
    if args.command == "write":
        if not args.store.exists():
            build_store(args.store.resolve(), args.world)
        for path in write(args.store.resolve(), args.out):
            print(path)
        return 0
    return 0 if compare(args.before, args.after) else 1


if __name__ == "__main__":
    sys.exit(main())
