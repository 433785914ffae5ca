"""Time and memory of reconcile on the sample world replicated N times (shifted ids, A-numbers, dates).

A stand-in for generated worlds when measuring speed: each copy keeps the sample's shapes but gets
its own record ids, A-numbers and a date shift, so copies do not collide.
Usage: .venv/bin/python bench/scale_sample.py --copies 100
"""

from __future__ import annotations

import argparse
import dataclasses
import resource
import sys
import time
from datetime import timedelta
from pathlib import Path

from eval_sample import AS_OF, load_sample

from pipeline.reconcile import reconcile
from pipeline.records import FeedSnapshot


def _shift(rec, k: int, fields: dict):  # type: ignore[no-untyped-def]
    return dataclasses.replace(rec, **fields)


def replicate(snap: FeedSnapshot, copies: int) -> FeedSnapshot:
    """The snapshot repeated ``copies`` times with disjoint ids and shifted dates."""
    out = FeedSnapshot()

    def an(a: str | None, k: int) -> str | None:
        return None if a is None else f"{(int(a) + k * 7_919_993) % 900_000_000 + 100_000_000:09d}"

    def dt(d, k):  # type: ignore[no-untyped-def]
        return None if d is None else d + timedelta(days=3 * k)

    def rid(r: str | None, k: int) -> str | None:
        return None if r is None else f"{r}-{k}"

    for k in range(copies):
        for c in snap.children:
            out.children.append(
                dataclasses.replace(
                    c,
                    record_id=rid(c.record_id, k),
                    a_number=an(c.a_number, k),
                    event_id=rid(c.event_id, k),
                    apprehension_date=dt(c.apprehension_date, k),
                    admitted_at=dt(c.admitted_at, k),
                )
            )
        for a in snap.adults:
            out.adults.append(
                dataclasses.replace(
                    a,
                    record_id=rid(a.record_id, k),
                    a_number=an(a.a_number, k),
                    event_id=rid(a.event_id, k),
                    apprehension_date=dt(a.apprehension_date, k),
                    custody_as_of=dt(a.custody_as_of, k),
                )
            )
        for r in snap.removals:
            out.removals.append(
                dataclasses.replace(
                    r,
                    record_id=rid(r.record_id, k),
                    a_number=an(r.a_number, k),
                    removal_date=dt(r.removal_date, k),
                )
            )
        for d in snap.dna:
            out.dna.append(
                dataclasses.replace(
                    d,
                    record_id=rid(d.record_id, k),
                    adult_a_number=an(d.adult_a_number, k),
                    child_a_number=an(d.child_a_number, k),
                    adult_record_id=rid(d.adult_record_id, k),
                    child_record_id=rid(d.child_record_id, k),
                )
            )
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--copies", type=int, default=100)
    parser.add_argument(
        "--samples", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "samples"
    )
    args = parser.parse_args()
    snap = replicate(load_sample(args.samples), args.copies)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    results = reconcile(snap, AS_OF)
    elapsed = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        f"children {len(snap.children)} ice {len(snap.adults)} removals {len(snap.removals)}"
        f" -> results {len(results)}"
    )
    print(
        f"reconcile {elapsed:.1f} s; peak RSS {peak / 1024:.0f} MB (before reconcile {before / 1024:.0f} MB)"
    )
    print(f"linked {sum(r.parent is not None for r in results)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
