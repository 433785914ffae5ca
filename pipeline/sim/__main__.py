"""Command line for worlds and scores.

    python -m pipeline.sim generate --children 2300 --seed 1 --out DIR [--as-of 2018-07-12] [--profile hard]
    python -m pipeline.sim mutate --world DIR --fraction 0.05 --seed 2 --out DIR2 [--days 1]
    python -m pipeline.sim score --export FILE --truth DIR [--json]

Output is counts and metrics only: no names or A-numbers.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from pipeline.sim.profiles import PROFILES, rates_for
from pipeline.sim.score import score
from pipeline.sim.world import DEFAULT_AS_OF, generate_world, load_world, mutate_world


def _read_export(path: str) -> Iterator[dict[str, Any]]:
    """Export objects from a JSONL file (``-`` for stdin) or a JSON array file."""
    text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    stripped = text.lstrip()
    if stripped.startswith("["):
        yield from json.loads(stripped)
        return
    for line in text.splitlines():
        if line.strip():
            yield json.loads(line)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``generate``, ``mutate`` or ``score`` command; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m pipeline.sim", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("generate", help="write a synthetic world directory")
    gen.add_argument("--children", type=int, required=True)
    gen.add_argument("--seed", type=int, default=1)
    gen.add_argument("--as-of", type=date.fromisoformat, default=DEFAULT_AS_OF)
    gen.add_argument("--out", required=True)
    gen.add_argument(
        "--profile", default="default", choices=sorted(PROFILES), help="noise profile (see profiles.py)"
    )
    mut = sub.add_parser("mutate", help="write a later state of a world directory")
    mut.add_argument("--world", required=True)
    mut.add_argument("--fraction", type=float, default=0.05)
    mut.add_argument("--seed", type=int, default=1)
    mut.add_argument("--days", type=int, default=1)
    mut.add_argument("--out", required=True)
    sc = sub.add_parser("score", help="score an export against a world's expected.jsonl")
    sc.add_argument("--export", required=True, help="JSONL export file, or - for stdin")
    sc.add_argument("--truth", required=True, help="world directory (or an expected.jsonl file)")
    sc.add_argument("--json", action="store_true", help="print the score as JSON")
    args = parser.parse_args(argv)

    if args.command == "generate":
        started = time.perf_counter()
        world = generate_world(args.children, args.seed, as_of=args.as_of, rates=rates_for(args.profile))
        elapsed = time.perf_counter() - started
        world.write(args.out)
        counts = ", ".join(f"{k} {v}" for k, v in world.counts().items())
        print(f"generated in {elapsed:.1f}s: {counts} -> {args.out}")
        return 0
    if args.command == "mutate":
        world = mutate_world(load_world(args.world), args.fraction, args.seed, days=args.days)
        world.write(args.out)
        counts = ", ".join(f"{k} {v}" for k, v in world.counts().items())
        print(f"mutated to {world.as_of.isoformat()}: {counts} -> {args.out}")
        return 0
    truth_path = Path(args.truth)
    if truth_path.is_dir():
        truth = load_world(truth_path).truth
    else:
        lines = truth_path.read_text(encoding="utf-8").splitlines()
        truth = [json.loads(line) for line in lines if line.strip()]
    result = score(_read_export(args.export), truth)
    print(json.dumps(result.as_dict(), indent=2) if args.json else result.as_table())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
