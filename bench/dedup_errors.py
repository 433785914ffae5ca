"""Why child de-duplication and status go wrong on one world: counts only, never a name.

    python -m bench.dedup_errors --world DIR [--no-status] [--json]

Groups the world's children as a reconciliation does (``pipeline.dates.screen_snapshot`` then
``pipeline.match.children.group_children``) and sets the groups against the world's truth
(``expected.jsonl``: the record ids of each child):

* **split pairs** — two records of one true child in two groups. Each pair is described by what
  its two records lacked or disagreed on (A-number missing on one, date of birth swapped, a
  name token dropped, no apprehension data on one, ...) and by what in the grouping turned it
  away (the sex veto, a name that disagrees, the weak rule, a conflict with the other group);
* **wrong merges** — two records of two true children in one group: the evidence the pair
  shares, whether the children are siblings (one true parent), and whether the pair matched
  directly (strong or weak) or only through a third record;
* **status errors** (unless ``--no-status``) — the world reconciled (``bench.quality.export_of``)
  and scored: the truth -> export status confusion, and each wrong status's cause: a child
  missing from the export, a de-duplication split or wrong merge, a link missed, wrong or
  spurious, a parent found with some of its records missing or extra (a location from the wrong
  event), or, with the parent's records exactly right, the classification itself.

Only counts are printed: the records' fields are compared, never shown.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Mapping, Sequence
from itertools import combinations
from typing import Any

from pipeline.dates import screen_snapshot
from pipeline.match import children as ch
from pipeline.match.compare import a_number_near, dob_compatible, given_tokens, name_near, surname_tokens
from pipeline.records import ChildRecord
from pipeline.sim.score import score
from pipeline.sim.world import World, load_world

# -- pair evidence ------------------------------------------------------------------------------


def _a_number(a: ChildRecord, b: ChildRecord) -> str:
    if not a.a_number and not b.a_number:
        return "a:both_missing"
    if not a.a_number or not b.a_number:
        return "a:one_missing"
    if a.a_number == b.a_number:
        return "a:equal"
    return "a:near" if a_number_near(a.a_number, b.a_number) else "a:differ"


def _dob(a: ChildRecord, b: ChildRecord) -> str:
    x, y = a.dob, b.dob
    if x is None and y is None:
        return "dob:both_missing"
    if x is None or y is None:
        return "dob:one_missing"
    if x == y:
        return "dob:placeholder_both" if ch._placeholder(x) else "dob:equal"
    if ch._placeholder(x) or ch._placeholder(y):
        return "dob:placeholder_one" + ("" if x.year == y.year else "_year_off")
    if x.year == y.year and (x.month, x.day) == (y.day, y.month):
        return "dob:swapped"
    if (x.month, x.day) == (y.month, y.day):
        return "dob:year_off"
    return "dob:differ" if not dob_compatible(x, y) else "dob:compatible"


def _tokens(kind: str, x: tuple[str, ...], y: tuple[str, ...]) -> str:
    if x == y:
        return f"{kind}:equal"
    short, long_ = (x, y) if len(x) <= len(y) else (y, x)
    if len(x) != len(y):
        if short == long_[: len(short)]:
            return f"{kind}:token_dropped"
        if all(name_near(s, t) for s, t in zip(short, long_, strict=False)):
            return f"{kind}:dropped+typo"
        if set(short) <= set(long_):
            return f"{kind}:token_dropped_inner"
        return f"{kind}:differ"
    near = sum(not name_near(s, t) for s, t in zip(x, y, strict=True))
    if near == 0:
        return f"{kind}:typo"
    if "".join(x) == "".join(y):
        return f"{kind}:split_joined"
    return f"{kind}:differ"


def _apprehension(a: ChildRecord, b: ChildRecord) -> str:
    ha, hb = ch._has_apprehension(a), ch._has_apprehension(b)
    if not ha and not hb:
        return "app:both_none"
    if not ha or not hb:
        return "app:one_none"
    if a.event_id and b.event_id:
        return "app:event_equal" if a.event_id == b.event_id else "app:event_differ"
    if a.apprehension_date and b.apprehension_date:
        gap = abs((a.apprehension_date - b.apprehension_date).days)
        station = (
            ""
            if not (a.station and b.station)
            else ("_station_eq" if a.station == b.station else "_station_ne")
        )
        return f"app:date_gap_{min(gap, 3)}{station}"
    if a.station and b.station:
        return "app:station_eq" if a.station == b.station else "app:station_ne"
    return "app:nothing_comparable"


def _sex(a: ChildRecord, b: ChildRecord) -> str:
    if not a.sex or not b.sex:
        return "sex:missing"
    return "sex:equal" if a.sex == b.sex else "sex:conflict"


def _country(a: ChildRecord, b: ChildRecord) -> str:
    if not a.country or not b.country:
        return "country:missing"
    return "country:equal" if a.country == b.country else "country:differ"


def evidence(a: ChildRecord, b: ChildRecord) -> list[str]:
    """The pair's labels: how each kind of evidence compares between the two records."""
    labels = [
        _a_number(a, b),
        _dob(a, b),
        _tokens("given", given_tokens(a.first_name), given_tokens(b.first_name)),
        _tokens("surname", surname_tokens(a.last_name), surname_tokens(b.last_name)),
        _apprehension(a, b),
        _sex(a, b),
        _country(a, b),
    ]
    if ch._admitted_together(a, b):
        labels.append("admitted_together")
    return labels


def _notable(labels: Sequence[str]) -> tuple[str, ...]:
    """The labels that depart from full agreement (a compact signature of the pair)."""
    plain = {
        "a:equal",
        "dob:equal",
        "given:equal",
        "surname:equal",
        "app:event_equal",
        "app:date_gap_0_station_eq",
        "app:date_gap_0",
        "app:station_eq",
        "sex:equal",
        "country:equal",
    }
    return tuple(x for x in labels if x not in plain)


def turned_away(a: ChildRecord, b: ChildRecord, bucket_size: Mapping[str, int]) -> str:
    """Which part of the grouping rule keeps a pair apart; for a pair that matches, what kept it
    out: no shared key, only keys too common to compare, or (weak) the other records of the
    groups (a conflict, or an ambiguous record)."""
    strength = ch.match_strength(a, b)
    if strength:
        shared = ch.blocking_keys(a) & ch.blocking_keys(b)
        kind = "matches_strong" if strength == ch.STRONG else "matches_weak"
        if not shared:
            return kind + ":no_shared_key"
        if all(bucket_size[k] > ch.MAX_BUCKET for k in shared):
            return kind + ":common_keys_only"
        return kind + ":other_records_of_the_groups"
    if a.a_number and b.a_number:
        return "both_numbered_numbers_or_names_disagree"
    if ch._sex_conflict(a, b):
        return "sex_veto"
    if ch._admitted_together(a, b):
        return "admitted_together"
    if not ch._given_agree(a, b):
        return "given_disagree"
    if not ch._surname_agree(a, b):
        return "surname_disagree"
    if not (a.country and a.country == b.country):
        return "weak_rule:country"
    if a.dob and b.dob:
        if ch._has_apprehension(a) and ch._has_apprehension(b):
            return "strong_rule:apprehension_disagrees"
        if ch._placeholder(a.dob) or ch._placeholder(b.dob):
            return "weak_rule:placeholder_name"
        return "weak_rule:dob"
    return "weak_rule:no_dob_apprehension"


# -- de-duplication ----------------------------------------------------------------------------


def dedup_errors(world: World) -> dict[str, Any]:
    """Split pairs and wrong merges of the world's child grouping, described by counts."""
    snap = screen_snapshot(world.to_snapshot(), world.as_of)
    groups = ch.group_children(snap.children)
    group_of = {r.record_id: g.key for g in groups for r in g.records}
    record = {r.record_id: r for g in groups for r in g.records}
    bucket_size: Counter[str] = Counter(k for r in record.values() for k in ch.blocking_keys(r))
    owner: dict[str, int] = {}
    parent_of: dict[int, frozenset[str]] = {}
    for t, obj in enumerate(world.truth):
        for cid in obj["child_record_ids"]:
            owner[str(cid)] = t
        parent = obj.get("parent") or {}
        parent_of[t] = frozenset(
            map(str, (parent.get("ice_record_ids") or []) + (parent.get("removal_record_ids") or []))
        )

    split_children = 0
    split_labels: Counter[str] = Counter()
    split_signatures: Counter[tuple[str, ...]] = Counter()
    split_why: Counter[str] = Counter()
    true_pairs = 0
    for obj in world.truth:
        ids = [str(c) for c in obj["child_record_ids"] if str(c) in record]
        true_pairs += len(ids) * (len(ids) - 1) // 2
        if len({group_of[c] for c in ids}) > 1:
            split_children += 1
        for x, y in combinations(ids, 2):
            if group_of[x] == group_of[y]:
                continue
            a, b = record[x], record[y]
            labels = evidence(a, b)
            split_labels.update(labels)
            split_signatures[_notable(labels)] += 1
            split_why[turned_away(a, b, bucket_size)] += 1

    merge_pairs = 0
    merged_groups = 0
    merge_labels: Counter[str] = Counter()
    merge_signatures: Counter[tuple[str, ...]] = Counter()
    merge_how: Counter[str] = Counter()
    for g in groups:
        ids = [r.record_id for r in g.records if r.record_id in owner]
        if len({owner[c] for c in ids}) > 1:
            merged_groups += 1
        for x, y in combinations(ids, 2):
            if owner[x] == owner[y]:
                continue
            merge_pairs += 1
            a, b = record[x], record[y]
            labels = evidence(a, b)
            siblings = bool(parent_of[owner[x]] & parent_of[owner[y]])
            labels.append("siblings" if siblings else "unrelated")
            merge_labels.update(labels)
            merge_signatures[_notable(labels)] += 1
            strength = ch.match_strength(a, b)
            merge_how[{ch.STRONG: "strong", ch.WEAK: "weak"}.get(strength, "through_a_third_record")] += 1
    return {
        "records": len(record),
        "groups": len(groups),
        "true_pairs": true_pairs,
        "split_children": split_children,
        "split_pairs": sum(split_why.values()),
        "split_turned_away_by": dict(split_why.most_common()),
        "split_evidence": dict(sorted(split_labels.items())),
        "split_signatures": [[list(sig), n] for sig, n in split_signatures.most_common(25)],
        "wrong_merge_groups": merged_groups,
        "wrong_merge_pairs": merge_pairs,
        "wrong_merge_how": dict(merge_how.most_common()),
        "wrong_merge_evidence": dict(sorted(merge_labels.items())),
        "wrong_merge_signatures": [[list(sig), n] for sig, n in merge_signatures.most_common(15)],
    }


# -- status ------------------------------------------------------------------------------------


def _ids(obj: Mapping[str, Any] | None, key: str) -> frozenset[str]:
    parent = (obj or {}).get("parent")
    if not isinstance(parent, Mapping):
        return frozenset()
    return frozenset(map(str, parent.get(key) or []))


def status_cause(
    truth: Mapping[str, Any], answer: Mapping[str, Any] | None, held_by: int, foreign: bool
) -> str:
    """Why a child's exported status differs from the truth's (see the module docstring)."""
    if answer is None:
        return "missing_from_export"
    if held_by > 1:
        return "dedup_split"
    if foreign:
        return "dedup_wrong_merge"
    t_ice, t_rem = _ids(truth, "ice_record_ids"), _ids(truth, "removal_record_ids")
    p_ice, p_rem = _ids(answer, "ice_record_ids"), _ids(answer, "removal_record_ids")
    true_parent, named = t_ice | t_rem, p_ice | p_rem
    if true_parent and not named:
        return "link_missed"
    if named and not true_parent:
        return "link_spurious"
    if named and not named & true_parent:
        return "link_wrong"
    if t_ice != p_ice or t_rem != p_rem:
        parts = []
        if t_ice - p_ice:
            parts.append("ice_missing")
        if p_ice - t_ice:
            parts.append("ice_extra")
        if t_rem - p_rem:
            parts.append("removal_missing")
        if p_rem - t_rem:
            parts.append("removal_extra")
        return "parent_records:" + "+".join(parts)
    return "classification"


def status_errors(world: World, export: Sequence[Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """The world reconciled and scored: status confusion and the cause of each wrong status."""
    if export is None:
        from bench.quality import export_of  # the whole reconciliation: only when asked for

        export = export_of(world)
    figures = score(export, world.truth)
    owner = {str(c): t for t, obj in enumerate(world.truth) for c in obj["child_record_ids"]}
    holders: dict[int, list[Mapping[str, Any]]] = {}
    for obj in export:
        seen = set()
        for cid in obj.get("child_record_ids") or []:
            t = owner.get(str(cid))
            if t is not None and t not in seen:
                seen.add(t)
                holders.setdefault(t, []).append(obj)
    causes: Counter[str] = Counter()
    by_pair: Counter[tuple[str, str, str]] = Counter()
    for t, truth in enumerate(world.truth):
        held = holders.get(t, [])
        answer = None
        if held:
            # the scorer's choice: the object holding most of the child's records
            answer = max(held, key=lambda o: sum(owner.get(str(c)) == t for c in o["child_record_ids"]))
        got = str(answer.get("status")) if answer else "(missing)"
        if got == truth["status"]:
            continue
        foreign = answer is not None and any(owner.get(str(c), t) != t for c in answer["child_record_ids"])
        cause = status_cause(truth, answer, len(held), foreign)
        causes[cause] += 1
        by_pair[(truth["status"], got, cause)] += 1
    return {
        "children": figures.children,
        "status_accuracy": round(figures.status_accuracy, 4),
        "dedup_f1": round(figures.dedup_f1, 4),
        "wrong_status": sum(causes.values()),
        "confusion": figures.status_confusion,
        "causes": dict(causes.most_common()),
        "by_truth_export_cause": [[*k, n] for k, n in by_pair.most_common(30)],
    }


# -- output ------------------------------------------------------------------------------------


def render(name: str, d: Mapping[str, Any], s: Mapping[str, Any] | None) -> str:
    """The breakdown as readable lines."""
    lines = [
        f"{name}: {d['records']} child records in {d['groups']} groups; {d['true_pairs']} true pairs",
        f"split: {d['split_children']} children, {d['split_pairs']} pairs; turned away by:",
        *(f"    {k:<44} {n:6d}" for k, n in d["split_turned_away_by"].items()),
        "  evidence of the split pairs:",
        *(f"    {k:<44} {n:6d}" for k, n in d["split_evidence"].items()),
        "  commonest signatures (labels departing from agreement):",
        *(f"    {n:6d}  {' '.join(sig) or '(full agreement)'}" for sig, n in d["split_signatures"]),
        f"wrong merges: {d['wrong_merge_groups']} groups, {d['wrong_merge_pairs']} pairs; how:",
        *(f"    {k:<44} {n:6d}" for k, n in d["wrong_merge_how"].items()),
        "  evidence of the wrongly merged pairs:",
        *(f"    {k:<44} {n:6d}" for k, n in d["wrong_merge_evidence"].items()),
        "  commonest signatures:",
        *(f"    {n:6d}  {' '.join(sig) or '(full agreement)'}" for sig, n in d["wrong_merge_signatures"]),
    ]
    if s is not None:
        lines += [
            f"status: accuracy {s['status_accuracy']:.4f} ({s['wrong_status']} of {s['children']} wrong), "
            f"dedup F1 {s['dedup_f1']:.4f}; causes:",
            *(f"    {k:<44} {n:6d}" for k, n in s["causes"].items()),
            "  confusion (truth -> export: children), errors only:",
            *(
                f"    {truth} -> {got}: {n}"
                for truth, row in s["confusion"].items()
                for got, n in sorted(row.items())
                if got != truth
            ),
            "  truth -> export by cause:",
            *(f"    {n:6d}  {t} -> {g} ({c})" for t, g, c, n in s["by_truth_export_cause"]),
        ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Break down one world's de-duplication and status errors."""
    parser = argparse.ArgumentParser(prog="python -m bench.dedup_errors", description=__doc__.split("\n")[0])
    parser.add_argument("--world", required=True, help="a world directory (pipeline.sim generate)")
    parser.add_argument("--no-status", action="store_true", help="skip the reconciliation (dedup only)")
    parser.add_argument("--json", action="store_true", help="one JSON object instead of lines")
    args = parser.parse_args(argv)
    world = load_world(args.world)
    d = dedup_errors(world)
    s = None if args.no_status else status_errors(world)
    print(
        json.dumps({"world": args.world, "dedup": d, "status": s}) if args.json else render(args.world, d, s)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
