"""Links that change when the child grouping changes elsewhere (issue 17 item 6).

    PYTHONPATH=. .venv/bin/python -m bench.sample_flips --world /tmp/worlds/world-20000-s5-sparse

Reconciles the world twice in process, each time estimating the model as a run does: once with
the long-name rule of ``children._whole_name_stands_in`` switched off, once with it. The rule
merges a few re-referrals; every other child group is the same in both, so a link or status that
changes on one of those comes from the model the reconcile estimated, not from its records.
Prints counts and the scores of both (no personal data).
"""

from __future__ import annotations

import argparse

import pipeline.match.children as children
from pipeline.reconcile import reconcile_under
from pipeline.sim.score import score
from pipeline.sim.world import load_world

METRICS = ("link_precision", "link_recall", "link_f1", "dedup_f1", "status_accuracy")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--world", required=True, help="a world directory")
    args = parser.parse_args()
    world = load_world(args.world)
    snapshot = world.to_snapshot()
    rule = children._whole_name_stands_in
    children._whole_name_stands_in = lambda a, b: False  # type: ignore[assignment]
    try:
        without = reconcile_under(snapshot, world.as_of)[0]
    finally:
        children._whole_name_stands_in = rule  # type: ignore[assignment]
    with_rule = reconcile_under(snapshot, world.as_of)[0]
    exports = {
        label: [r.to_export("bench") for r in results]
        for label, results in (("without the rule", without), ("with the rule", with_rule))
    }
    by_group = {
        label: {tuple(obj["child_record_ids"]): obj for obj in objs} for label, objs in exports.items()
    }
    before, after = by_group["without the rule"], by_group["with the rule"]
    same = set(before) & set(after)

    def parent(obj: dict) -> object:
        return (obj.get("parent") or {}).get("ice_record_ids")

    links = sum(parent(before[k]) != parent(after[k]) for k in same)
    statuses = sum(before[k]["status"] != after[k]["status"] for k in same)
    print(f"{args.world}: {len(same)} groups in both; link changed {links}, status changed {statuses}")
    for label, objs in exports.items():
        scores = score(objs, world.truth).as_dict()
        print(f"  {label}: " + ", ".join(f"{m} {scores[m]:.4f}" for m in METRICS))


if __name__ == "__main__":
    main()
