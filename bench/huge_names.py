"""How much one record with a huge name slows reconciliation, and the exports of ordinary worlds.

Usage: .venv/bin/python bench/huge_names.py [--children 2300] [--seed 1] [--tokens 5000] [--out DIR]
       [--samples ../shared/samples]

Reconciles a generated world as it is and again with one child and one adult whose names hold
``--tokens`` tokens (half in the given name, half in the surname, drawn from the world's own
names so that they hit real blocking buckets), and prints both times. With ``--out`` it also
writes the exports (run id ``bench``) of the ordinary world and of the shared sample, to compare
byte for byte across a change.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from eval_sample import AS_OF, load_sample
from eval_world import snapshot_of

from pipeline.reconcile import reconcile
from pipeline.records import FeedSnapshot
from pipeline.sim.world import generate_world

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples"


def letters(n: int) -> str:
    """``n`` in base 26 written with the letters A..Z ('' for 0)."""
    out = ""
    while n:
        n, r = divmod(n - 1, 26)
        out = chr(65 + r) + out
    return out


def huge(pool: list[str], n: int, offset: int) -> str:
    """A name of ``n`` distinct tokens: the world's own names first, then the same with letters appended."""
    return " ".join(pool[(offset + i) % len(pool)] + letters((offset + i) // len(pool)) for i in range(n))


def timed(snap: FeedSnapshot, as_of: object) -> tuple[float, list[dict[str, object]]]:
    t0 = time.perf_counter()
    results = reconcile(snap, as_of)  # type: ignore[arg-type]
    return time.perf_counter() - t0, [r.to_export("bench") for r in results]


def write(rows: list[dict[str, object]], path: Path) -> None:
    path.write_text("".join(json.dumps(r, sort_keys=True, ensure_ascii=False) + "\n" for r in rows))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--children", type=int, default=2300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--tokens", type=int, default=5000)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--samples", type=Path, default=SAMPLES, help="the shared sample (for --out)")
    args = parser.parse_args()
    world = generate_world(args.children, args.seed)
    as_of = world.as_of or AS_OF
    timed(snapshot_of(world), as_of)  # warm-up: the first reconcile fills caches
    plain_s, plain = timed(snapshot_of(world), as_of)
    pool = sorted(
        {
            t
            for r in world.orr
            if isinstance(r, dict)
            for f in ("firstName", "lastName")
            for t in str(r.get(f) or "").split()
        }
    )
    half = args.tokens // 2
    child = next(r for r in world.orr if isinstance(r, dict) and r.get("childId"))
    adult = next(r for r in world.ice if isinstance(r, dict) and r.get("subject_id"))
    child.update(firstName=huge(pool, half, 0), lastName=huge(pool, args.tokens - half, half))
    adult.update(first_name=huge(pool, half, 7).upper(), last_name=huge(pool, args.tokens - half, 11).upper())
    huge_s, _ = timed(snapshot_of(world), as_of)
    print(
        json.dumps(
            {
                "children": args.children,
                "seed": args.seed,
                "tokens": args.tokens,
                "plain_s": round(plain_s, 2),
                "huge_name_s": round(huge_s, 2),
                "slowdown": round(huge_s / plain_s, 2),
            }
        )
    )
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        write(plain, args.out / f"world_{args.children}_{args.seed}.jsonl")
        _, sample = timed(load_sample(args.samples), AS_OF)
        write(sample, args.out / "sample.jsonl")
    return 0


if __name__ == "__main__":
    sys.exit(main())
