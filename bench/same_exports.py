"""Exports before and after a change: byte-identical bar the run id (issue 18's check).

Write the exports of one checkout, then of another, and compare them:

    .venv/bin/python -m bench.same_exports write --worlds /tmp/worlds --out /tmp/before
    (change the code)
    .venv/bin/python -m bench.same_exports write --worlds /tmp/worlds --out /tmp/after
    .venv/bin/python -m bench.same_exports compare /tmp/before /tmp/after

``write`` runs the whole ``reunify run`` (embedded, SQLite, the world served by the simulator in
its own process) on the shared sample, where it exists, and on generated worlds (2,300 and 20,000
children by default, seed 7); the world directories are generated once into ``--worlds`` and
reused, so both sides read the same feeds even if the generator changed. Each export is written as
JSONL with the run id taken out, one line per child in the export's order.
"""

from __future__ import annotations

import argparse
import filecmp
import json
import subprocess
import sys
from pathlib import Path

from bench.whole_run import BIN, REPO, serve_world, whole_run, without_run_id

SAMPLE = REPO.parent / "shared" / "samples"
SAMPLE_AS_OF = "2018-07-12"


def _world(worlds: Path, children: int, seed: int) -> Path:
    """The world directory of ``children`` and ``seed``, generated on first use."""
    path = worlds / f"world-{children}-s{seed}"
    if not (path / "expected.jsonl").exists():
        subprocess.run(
            [
                str(BIN / "python"),
                "-m",
                "pipeline.sim",
                "generate",
                "--children",
                str(children),
                "--seed",
                str(seed),
                "--out",
                str(path),
            ],
            cwd=REPO,
            check=True,
        )
    return path


def _as_of(world: Path) -> str:
    meta = world / "world.json"
    if meta.exists():
        return str(json.loads(meta.read_text()).get("as_of", SAMPLE_AS_OF))
    return SAMPLE_AS_OF


def write(worlds: Path, out: Path, sizes: list[int], seed: int) -> None:
    """Run every world and write ``<name>.jsonl`` exports (no run id) into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    targets: list[tuple[str, Path]] = []
    if SAMPLE.exists():
        targets.append(("sample", SAMPLE))
    targets += [(f"world-{n}-s{seed}", _world(worlds, n, seed)) for n in sizes]
    for name, world in targets:
        with serve_world(world) as env:
            seconds, _, rows = whole_run(env, _as_of(world))
        with (out / f"{name}.jsonl").open("w") as fh:
            for row in without_run_id(rows):
                fh.write(json.dumps(row, sort_keys=True, ensure_ascii=False) + "\n")
        print(f"{name}: {len(rows)} children, run {seconds:.1f} s -> {out / (name + '.jsonl')}")


def compare(before: Path, after: Path) -> int:
    """0 when every export in ``before`` has a byte-identical twin in ``after``."""
    names = sorted(p.name for p in before.glob("*.jsonl"))
    if not names:
        print(f"no exports in {before}", file=sys.stderr)
        return 2
    status = 0
    for name in names:
        twin = after / name
        same = twin.exists() and filecmp.cmp(before / name, twin, shallow=False)
        lines = sum(1 for _ in (before / name).open())
        print(f"{name}: {'identical' if same else 'DIFFERENT'} ({lines} children)")
        if not same:
            status = 1
    return status


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    w = sub.add_parser("write", help="run the worlds and write their exports")
    w.add_argument("--worlds", type=Path, required=True, help="directory of generated worlds (reused)")
    w.add_argument("--out", type=Path, required=True)
    w.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",") if x], default=[2300, 20000])
    w.add_argument("--seed", type=int, default=7)
    c = sub.add_parser("compare", help="compare two directories of exports")
    c.add_argument("before", type=Path)
    c.add_argument("after", type=Path)
    args = parser.parse_args()
    if args.command == "write":
        write(args.worlds, args.out, args.sizes, args.seed)
        return 0
    return compare(args.before, args.after)


if __name__ == "__main__":
    sys.exit(main())
