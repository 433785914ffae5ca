"""Reconcile the shared sample world and compare with its expected.jsonl, child by child.

Usage: .venv/bin/python bench/eval_sample.py [--samples ../shared/samples] [-v]
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import sys
import time
from datetime import date
from pathlib import Path

from pipeline.errors import MalformedRecord
from pipeline.feed_registry import PARSERS
from pipeline.reconcile import reconcile
from pipeline.records import FeedSnapshot

AS_OF = date(2018, 7, 12)


def load_sample(root: Path) -> FeedSnapshot:
    """Parse the four sample feeds, skipping malformed records."""
    snap = FeedSnapshot()

    def add(feed: str, raw: object, into: list) -> None:  # type: ignore[type-arg]
        # malformed records are the quarantine's business, not this comparison's
        with contextlib.suppress(MalformedRecord):
            into.append(PARSERS[feed](raw))

    for raw in json.loads((root / "orr_children.json").read_text()):
        add("orr", raw, snap.children)
    for raw in json.loads((root / "ice_detainees.json").read_text()):
        add("ice", raw, snap.adults)
    with (root / "removals.csv").open(newline="") as fh:
        for row in csv.DictReader(fh):
            add("removals", row, snap.removals)
    for raw in json.loads((root / "dna_results.json").read_text()):
        add("dna", raw, snap.dna)
    return snap


def compare(results: list[dict], expected: list[dict]) -> tuple[dict[str, float], list[str]]:
    """Agreement figures and one line per difference."""
    got = {tuple(sorted(r["child_record_ids"])): r for r in results}
    diffs: list[str] = []
    n = len(expected)
    agree = dict.fromkeys(("ids", "status", "parent", "state", "resolved", "cohort", "reasons"), 0)
    tp = fp = fn = 0
    for exp in expected:
        key = tuple(sorted(exp["child_record_ids"]))
        res = got.get(key)
        if res is None:
            diffs.append(f"{key}: not grouped as expected")
            if exp["parent"]:
                fn += 1
            continue
        agree["ids"] += 1
        ep = exp["parent"]
        rp = res["parent"]
        ep_ids = set(ep["ice_record_ids"]) | set(ep["removal_record_ids"]) if ep else set()
        rp_ids = set(rp["ice_record_ids"]) | set(rp["removal_record_ids"]) if rp else set()
        if rp_ids and ep_ids and rp_ids & ep_ids:
            tp += 1
        elif rp_ids:
            fp += 1
            if ep_ids:
                fn += 1
        elif ep_ids:
            fn += 1
        checks = {
            "status": (exp["status"], res["status"]),
            "parent": (sorted(ep_ids), sorted(rp_ids)),
            "state": (exp["parent_location"]["state"], res["parent_location"]["state"]),
            "resolved": (exp["parent_location"]["resolved"], res["parent_location"]["resolved"]),
            "cohort": (exp["cohort"], res["cohort"]),
            "reasons": (sorted(exp["reasons"]), sorted(res["reasons"])),
        }
        for name, (want, have) in checks.items():
            ok = have in want if name == "cohort" and isinstance(want, list) else want == have
            if ok:
                agree[name] += 1
            else:
                score = rp["match_score"] if rp else None
                diffs.append(f"{key[0]}: {name} expected {want} got {have} (score {score})")
    figures = {k: v / n for k, v in agree.items()}
    figures["link_precision"] = tp / (tp + fp) if tp + fp else 1.0
    figures["link_recall"] = tp / (tp + fn) if tp + fn else 1.0
    pr, rc = figures["link_precision"], figures["link_recall"]
    figures["link_f1"] = 2 * pr * rc / (pr + rc) if pr + rc else 0.0
    figures["extra_children"] = len(got) - len({tuple(sorted(e["child_record_ids"])) for e in expected})
    return figures, diffs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--samples", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "samples"
    )
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args()
    snap = load_sample(args.samples)
    expected = [
        json.loads(line) for line in (args.samples / "expected.jsonl").read_text().splitlines() if line
    ]
    t0 = time.perf_counter()
    results = [r.to_export("sample") for r in reconcile(snap, AS_OF)]
    elapsed = time.perf_counter() - t0
    figures, diffs = compare(results, expected)
    for line in diffs:
        print(line)
    print(json.dumps({k: round(v, 4) for k, v in figures.items()}, indent=None))
    print(f"reconcile: {elapsed:.2f} s, needs_review {sum(r['needs_review'] for r in results)}")
    if args.verbose:
        for r in results:
            print(json.dumps(r, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
