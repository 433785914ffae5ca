"""Score a reconciliation's export against a world's truth.

Each truth child is matched to the export object(s) that hold any of its child record ids;
the one holding most of them is the child's answer. Metrics:

* link precision / recall / F1: a link is correct when the predicted parent's ICE or removal
  record ids intersect the true parent's. Precision counts every export object that names a
  parent; recall counts every truth child that has one.
* child de-duplication: pairwise precision / recall / F1 over child record ids.
* status and cohort accuracy over truth children (a child missing from the export is wrong;
  where the truth lists two cohorts either is right).
* unresolved location precision / recall / F1, the positive class being "not resolved".
* children missing from the export, children in more than one object, and record ids the
  export holds that the truth does not (quarantined or invented ids).

Only ids, statuses and counts are reported: never a name or an A-number.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Score:
    """The scorer's result; ``as_dict`` and ``as_table`` give it for JSON or a terminal."""

    children: int = 0
    exported_objects: int = 0
    link_precision: float = 1.0
    link_recall: float = 1.0
    link_f1: float = 1.0
    links_predicted: int = 0
    links_correct: int = 0
    links_true: int = 0
    links_found: int = 0
    dedup_precision: float = 1.0
    dedup_recall: float = 1.0
    dedup_f1: float = 1.0
    status_accuracy: float = 1.0
    cohort_accuracy: float = 1.0
    unresolved_precision: float = 1.0
    unresolved_recall: float = 1.0
    unresolved_f1: float = 1.0
    missing_children: int = 0
    duplicated_children: int = 0
    unexpected_record_ids: int = 0
    status_confusion: dict[str, dict[str, int]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """All fields as plain JSON-able values."""
        return asdict(self)

    def as_table(self) -> str:
        """A two-column text table of the headline numbers, then the status confusion."""
        lines = []
        for key, value in self.as_dict().items():
            if key == "status_confusion":
                continue
            shown = f"{value:.4f}" if isinstance(value, float) else str(value)
            lines.append(f"{key:<24} {shown:>10}")
        wrong = [
            (truth, pred, n)
            for truth, row in sorted(self.status_confusion.items())
            for pred, n in sorted(row.items())
            if truth != pred
        ]
        if wrong:
            lines.append("status errors (truth -> export: children)")
            lines.extend(f"  {truth} -> {pred}: {n}" for truth, pred, n in wrong)
        return "\n".join(lines)


def _ratio(num: int, den: int) -> float:
    # An empty denominator means nothing could go wrong: score it as perfect.
    return num / den if den else 1.0


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def _pairs(n: int) -> int:
    return n * (n - 1) // 2


def _parent_ids(obj: Mapping[str, Any]) -> set[str] | None:
    parent = obj.get("parent")
    if not isinstance(parent, Mapping):
        return None
    ids = {str(i) for i in parent.get("ice_record_ids") or []}
    ids |= {str(i) for i in parent.get("removal_record_ids") or []}
    return ids or None


def _unresolved(obj: Mapping[str, Any]) -> bool:
    loc = obj.get("parent_location")
    return not (isinstance(loc, Mapping) and loc.get("resolved") is True)


def score(export_objects: Iterable[Mapping[str, Any]], truth: Iterable[Mapping[str, Any]]) -> Score:
    """Compare export objects (CONTRACT.md §5) with truth objects (``expected.jsonl``)."""
    exported = [obj for obj in export_objects if isinstance(obj, Mapping)]
    truths = list(truth)
    owner: dict[str, int] = {}  # child record id -> truth index
    for t, obj in enumerate(truths):
        for cid in obj["child_record_ids"]:
            owner[str(cid)] = t

    holders: dict[int, list[tuple[int, int]]] = {}  # truth index -> [(export index, overlap)]
    unexpected: set[str] = set()
    pred_pairs = true_pos_pairs = 0
    best_truth_of: list[int | None] = []
    for e, obj in enumerate(exported):
        ids = [str(i) for i in obj.get("child_record_ids") or []]
        groups = Counter(owner[i] for i in ids if i in owner)
        unexpected.update(i for i in ids if i not in owner)
        known = sum(groups.values())
        pred_pairs += _pairs(known)
        true_pos_pairs += sum(_pairs(n) for n in groups.values())
        for t, n in groups.items():
            holders.setdefault(t, []).append((e, n))
        best_truth_of.append(max(groups, key=lambda t: (groups[t], -t)) if groups else None)

    true_pairs = sum(_pairs(len(obj["child_record_ids"])) for obj in truths)
    result = Score(children=len(truths), exported_objects=len(exported))
    result.unexpected_record_ids = len(unexpected)
    result.dedup_precision = _ratio(true_pos_pairs, pred_pairs)
    result.dedup_recall = _ratio(true_pos_pairs, true_pairs)
    result.dedup_f1 = _f1(result.dedup_precision, result.dedup_recall)

    status_ok = cohort_ok = 0
    links_true = links_found = 0
    unres_tp = unres_fp = unres_fn = 0
    confusion: dict[str, Counter[str]] = {}
    for t, obj in enumerate(truths):
        held = holders.get(t, [])
        if len(held) > 1:
            result.duplicated_children += 1
        answer: Mapping[str, Any] | None = None
        if held:
            answer = exported[max(held, key=lambda h: (h[1], -h[0]))[0]]
        else:
            result.missing_children += 1
        true_parent = _parent_ids(obj)
        if true_parent:
            links_true += 1
        if answer is None:
            confusion.setdefault(obj["status"], Counter())["(missing)"] += 1
            if _unresolved(obj):
                unres_fn += 1
            continue
        status = str(answer.get("status"))
        confusion.setdefault(obj["status"], Counter())[status] += 1
        status_ok += status == obj["status"]
        cohorts = obj["cohort"] if isinstance(obj["cohort"], list) else [obj["cohort"]]
        cohort_ok += answer.get("cohort") in cohorts
        predicted = _parent_ids(answer)
        if true_parent and predicted and true_parent & predicted:
            links_found += 1
        truly, said = _unresolved(obj), _unresolved(answer)
        unres_tp += truly and said
        unres_fp += said and not truly
        unres_fn += truly and not said

    links_predicted = links_correct = 0
    for e, obj in enumerate(exported):
        predicted = _parent_ids(obj)
        if not predicted:
            continue
        links_predicted += 1
        best = best_truth_of[e]
        true_parent = _parent_ids(truths[best]) if best is not None else None
        links_correct += bool(true_parent and true_parent & predicted)

    n = len(truths)
    result.status_accuracy = _ratio(status_ok, n)
    result.cohort_accuracy = _ratio(cohort_ok, n)
    result.links_predicted, result.links_correct = links_predicted, links_correct
    result.links_true, result.links_found = links_true, links_found
    result.link_precision = _ratio(links_correct, links_predicted)
    result.link_recall = _ratio(links_found, links_true)
    result.link_f1 = _f1(result.link_precision, result.link_recall)
    result.unresolved_precision = _ratio(unres_tp, unres_tp + unres_fp)
    result.unresolved_recall = _ratio(unres_tp, unres_tp + unres_fn)
    result.unresolved_f1 = _f1(result.unresolved_precision, result.unresolved_recall)
    result.status_confusion = {k: dict(v) for k, v in sorted(confusion.items())}
    return result


__all__ = ["Score", "score"]
