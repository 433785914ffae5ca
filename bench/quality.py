"""Matching quality of one world beyond P/R/F1: calibration, review coverage, stability.

    python -m bench.quality --profile hard --children 2300 --seed 2 [--json]
    python -m bench.quality --world DIR                  # a world written by pipeline.sim generate

Reconciles the world's parsed feeds (``pipeline.reconcile``, as ``bench/eval_world.py`` does) and
reports, beside the scorer's link precision / recall / F1, child de-duplication F1 and status
accuracy:

* **calibration** — for every exported link, whether it is right (the scorer's rule: the predicted
  parent's record ids meet the true parent's); per ``match_score`` band the links, their mean
  score and their accuracy; the expected calibration error (ECE: the bands' |accuracy − mean
  score| weighted by their links);
* **review coverage** — of the children whose link is wrong (a parent named who is not theirs)
  or missed (a true parent and none named), the share whose export object is in the review
  queue (``pipeline.ops.review``'s rule, score bar 0.95), and the queue's size;
* **stability** — the world moved on by ``pipeline.sim.mutate_world`` (``--change`` of the
  records, default 1%), reconciled again: of the children none of whose records changed (their
  ORR records, their true parent's ICE records and removal rows, their DNA results), the share
  whose named parent or status changed.

Only counts and ratios are printed: no names, A-numbers or dates of birth.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pipeline.ops.result_row import ResultRow
from pipeline.ops.review import DEFAULT_SCORE_BAR, review_reasons
from pipeline.reconcile import reconcile
from pipeline.sim.profiles import PROFILES, rates_for
from pipeline.sim.score import score
from pipeline.sim.world import World, generate_world, load_world, mutate_world

# Score bands, finer at the top where most links are (the done-when bands).
BANDS: tuple[tuple[float, float], ...] = ((0.0, 0.8), (0.8, 0.9), (0.9, 0.95), (0.95, 0.99), (0.99, 1.0001))


@dataclass(frozen=True)
class Band:
    """One score band's links: how many, their mean score, the share that is right."""

    low: float
    high: float
    links: int
    mean_score: float
    accuracy: float

    @property
    def gap(self) -> float:
        """|accuracy − mean score|: how far the band's scores are from what they claim."""
        return abs(self.accuracy - self.mean_score)


def export_of(world: World) -> list[dict[str, Any]]:
    """The world reconciled as a run would (malformed records left out), as export objects."""
    results = reconcile(world.to_snapshot(), world.as_of)
    return [r.to_export("quality") for r in results]


def _parent_ids(obj: Mapping[str, Any] | None) -> frozenset[str]:
    parent = (obj or {}).get("parent")
    if not isinstance(parent, Mapping):
        return frozenset()
    return frozenset(
        map(str, (parent.get("ice_record_ids") or []) + (parent.get("removal_record_ids") or []))
    )


def _answers(export: Sequence[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    """Each child record id's export object."""
    return {str(cid): obj for obj in export for cid in obj.get("child_record_ids") or []}


def _truth_answer(
    truth: Mapping[str, Any], answers: Mapping[str, Mapping[str, Any]]
) -> Mapping[str, Any] | None:
    """The export object holding most of a truth child's records (the scorer's choice)."""
    held: dict[int, tuple[int, Mapping[str, Any]]] = {}
    for cid in truth["child_record_ids"]:
        obj = answers.get(str(cid))
        if obj is not None:
            n, _ = held.get(id(obj), (0, obj))
            held[id(obj)] = (n + 1, obj)
    if not held:
        return None
    return max(held.values(), key=lambda h: h[0])[1]


def calibration(
    export: Sequence[Mapping[str, Any]], truth: Sequence[Mapping[str, Any]]
) -> tuple[list[Band], float]:
    """Accuracy per score band of every exported link, and the expected calibration error."""
    owner = {str(cid): t for t in truth for cid in t["child_record_ids"]}
    scored: list[tuple[float, bool]] = []
    for obj in export:
        predicted = _parent_ids(obj)
        if not predicted:
            continue
        owners = [owner[str(c)] for c in obj.get("child_record_ids") or [] if str(c) in owner]
        right = any(predicted & _parent_ids(t) for t in owners[:1])
        scored.append((float(obj["parent"]["match_score"]), right))
    bands = []
    for low, high in BANDS:
        inside = [(s, ok) for s, ok in scored if low <= s < high]
        if inside:
            mean = sum(s for s, _ in inside) / len(inside)
            acc = sum(ok for _, ok in inside) / len(inside)
        else:
            mean = acc = 0.0
        bands.append(Band(low, min(high, 1.0), len(inside), mean, acc))
    total = sum(b.links for b in bands)
    ece = sum(b.links * b.gap for b in bands) / total if total else 0.0
    return bands, ece


def review_coverage(
    export: Sequence[Mapping[str, Any]], truth: Sequence[Mapping[str, Any]], bar: float = DEFAULT_SCORE_BAR
) -> dict[str, Any]:
    """Of the wrong and missed links, the share whose child is in the review queue; the queue size."""
    answers = _answers(export)
    # the review queue's own rule (private to it: there is no public one to call)
    queued = {id(obj) for obj in export if review_reasons(ResultRow.of(obj), bar)}
    wrong = missed = wrong_in = missed_in = 0
    for t in truth:
        answer = _truth_answer(t, answers)
        true_parent, named = _parent_ids(t), _parent_ids(answer)
        in_queue = answer is not None and id(answer) in queued
        if named and not named & true_parent:
            wrong += 1
            wrong_in += in_queue
        elif true_parent and not named:
            missed += 1
            missed_in += in_queue
    errors = wrong + missed
    return {
        "wrong_links": wrong,
        "missed_links": missed,
        "wrong_in_queue": wrong_in,
        "missed_in_queue": missed_in,
        "coverage": round((wrong_in + missed_in) / errors, 4) if errors else 1.0,
        "queue_size": len(queued),
    }


def _unchanged_children(before: World, after: World) -> list[Mapping[str, Any]]:
    """Truth children of ``after`` none of whose records (nor their parent's) differ from ``before``."""

    def by_id(payload: Sequence[Any], key: str) -> dict[str, Any]:
        return {rec[key]: rec for rec in payload if isinstance(rec, dict) and isinstance(rec.get(key), str)}

    orr0, orr1 = by_id(before.orr, "childId"), by_id(after.orr, "childId")
    ice0, ice1 = by_id(before.ice, "subject_id"), by_id(after.ice, "subject_id")
    dna0: dict[str, list[Any]] = {}
    dna1: dict[str, list[Any]] = {}
    for payload, into in ((before.dna, dna0), (after.dna, dna1)):
        for rec in payload:
            if isinstance(rec, dict) and isinstance(rec.get("child_id"), str):
                into.setdefault(rec["child_id"], []).append(rec)
    truth0 = {tuple(sorted(map(str, t["child_record_ids"]))): t for t in before.truth}
    out = []
    for t in after.truth:
        kids = sorted(map(str, t["child_record_ids"]))
        t0 = truth0.get(tuple(kids))
        # New removal rows of the parent show as a changed parent object: such a child changed.
        if t0 is None or t0.get("parent") != t.get("parent"):
            continue
        parent = t.get("parent") or {}
        same = all(orr0.get(c) == orr1.get(c) and dna0.get(c) == dna1.get(c) for c in kids)
        if same and all(ice0.get(a) == ice1.get(a) for a in parent.get("ice_record_ids") or []):
            out.append(t)
    return out


def stability(world: World, change: float, seed: int, export: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Of the children whose records did not change in a ``change`` mutation, the share whose
    named parent or status changed between the two reconciliations."""
    later = mutate_world(world, change, seed)
    return stability_of(world, later, export, export_of(later)) | {"change": change}


def stability_of(
    world: World,
    later: World,
    export: Sequence[Mapping[str, Any]],
    export_later: Sequence[Mapping[str, Any]],
) -> dict[str, Any]:
    """:func:`stability` on two worlds and their exports."""
    before, after = _answers(export), _answers(export_later)
    unchanged = _unchanged_children(world, later)
    flipped_link = flipped_status = flipped = 0
    for t in unchanged:
        link = status = False
        for cid in map(str, t["child_record_ids"]):
            a, b = before.get(cid), after.get(cid)
            link |= _parent_ids(a) != _parent_ids(b)
            status |= (a or {}).get("status") != (b or {}).get("status")
        flipped_link += link
        flipped_status += status
        flipped += link or status
    n = len(unchanged)
    return {
        "unchanged_children": n,
        "link_changed": flipped_link,
        "status_changed": flipped_status,
        "changed": flipped,
        "share": round(flipped / n, 5) if n else 0.0,
    }


def quality(world: World, *, change: float = 0.01, mutate_seed: int = 1) -> dict[str, Any]:
    """Every figure of this module for one world, as a JSON-able dict."""
    t0 = time.perf_counter()
    export = export_of(world)
    elapsed = time.perf_counter() - t0
    figures = score(export, world.truth)
    bands, ece = calibration(export, world.truth)
    out: dict[str, Any] = {
        "children": figures.children,
        "link_precision": round(figures.link_precision, 4),
        "link_recall": round(figures.link_recall, 4),
        "link_f1": round(figures.link_f1, 4),
        "dedup_precision": round(figures.dedup_precision, 4),
        "dedup_recall": round(figures.dedup_recall, 4),
        "dedup_f1": round(figures.dedup_f1, 4),
        "status_accuracy": round(figures.status_accuracy, 4),
        "reconcile_s": round(elapsed, 2),
        "calibration": [
            {
                "band": f"{b.low:.2f}-{b.high:.2f}",
                "links": b.links,
                "mean_score": round(b.mean_score, 4),
                "accuracy": round(b.accuracy, 4),
                "gap": round(b.gap, 4),
            }
            for b in bands
        ],
        "ece": round(ece, 4),
        "review": review_coverage(export, world.truth),
    }
    if change > 0:
        out["stability"] = stability(world, change, mutate_seed, export)
    return out


def render(name: str, q: Mapping[str, Any]) -> str:
    """The figures as a few readable lines."""
    lines = [
        f"{name}: children {q['children']}, link P {q['link_precision']:.4f} R {q['link_recall']:.4f} "
        f"F1 {q['link_f1']:.4f}, dedup F1 {q['dedup_f1']:.4f}, status {q['status_accuracy']:.4f}, "
        f"reconcile {q['reconcile_s']}s",
        f"  calibration (ECE {q['ece']:.4f}):",
    ]
    for b in q["calibration"]:
        flag = "  <- off by more than 0.05" if b["links"] >= 20 and b["gap"] > 0.05 else ""
        lines.append(
            f"    {b['band']}: {b['links']:5d} links, mean {b['mean_score']:.4f}, "
            f"right {b['accuracy']:.4f}{flag}"
        )
    r = q["review"]
    lines.append(
        f"  review: {r['wrong_links']} wrong ({r['wrong_in_queue']} queued), {r['missed_links']} missed "
        f"({r['missed_in_queue']} queued): coverage {r['coverage']:.4f}; queue {r['queue_size']}"
    )
    if "stability" in q:
        s = q["stability"]
        lines.append(
            f"  stability after {s['change']:.0%}: {s['changed']} of {s['unchanged_children']} "
            "unchanged children "
            f"changed (link {s['link_changed']}, status {s['status_changed']}): {s['share']:.4%}"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Measure one world (a directory, or a profile, size and seed) and print the figures."""
    parser = argparse.ArgumentParser(prog="python -m bench.quality", description=__doc__.split("\n")[0])
    parser.add_argument("--world", help="a world directory (else one is generated)")
    parser.add_argument("--profile", default="default", choices=sorted(PROFILES))
    parser.add_argument("--children", type=int, default=2300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--change", type=float, default=0.01, help="stability: share of records changed (0: skip)"
    )
    parser.add_argument("--mutate-seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="one JSON object instead of lines")
    args = parser.parse_args(argv)
    if args.world:
        world, name = load_world(args.world), args.world
    else:
        world = generate_world(args.children, args.seed, rates=rates_for(args.profile))
        name = f"{args.profile} {args.children} seed {args.seed}"
    q = quality(world, change=args.change, mutate_seed=args.mutate_seed)
    print(json.dumps({"world": name, **q}) if args.json else render(name, q))
    return 0


if __name__ == "__main__":
    sys.exit(main())
