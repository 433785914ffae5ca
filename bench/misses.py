"""Why links are missed or wrong: the residual errors of one world, counted by cause.

    python -m bench.misses --world DIR [--json]
    python -m bench.misses --profile sparse --children 2300 --seed 5

Reconciles the world as ``bench/quality.py`` does (one partition, the same steps as
``pipeline.reconcile.reconcile``) but keeps the linker's intermediate state, and for every truth
child whose link is missed (a true parent, none named) or wrong (a parent named who is not theirs)
finds the first step that lost the true parent:

* ``parent not recognised`` — none of the true parent's records belongs to a person (quarantined);
* ``blocking miss`` — the child shares no blocking key with any person holding the true parent's
  records, so it was never compared;
* ``pre-score cut`` — it shares a key but was cut by the pre-score (``MAX_CANDIDATES`` /
  ``CANDIDATE_MARGIN``);
* ``lost to a rival`` — compared, but another candidate took more of the probability;
* ``below the link threshold`` — compared, the best candidate, but its posterior stayed below
  ``LINK_THRESHOLD`` (split further by where the rest of the probability went: the null mass of
  "the parent is not among them", or rivals);
* ``family pass`` — linked right in the first pass, lost in the second.

and beside the cause, flags that often come with it: the child split by de-duplication (its
records in more than one group), merged with another child, the true parent's records spread over
several people. For the compared true parents it tallies the comparison levels (how often each
level of each comparison occurs), and for the blocking misses what comparing them would have given.
Only counts are printed: no names, A-numbers, dates of birth nor record ids.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from pipeline.match.blocking import BlockingIndex, candidates_of
from pipeline.match.comparisons import COMPARISONS, FIELDS, Gamma, compare
from pipeline.match.link import (
    CANDIDATE_MARGIN,
    DNA_TESTED_WEIGHT,
    LINK_THRESHOLD,
    MAX_CANDIDATES,
    FirstLink,
    Linker,
    LinkOutcome,
)
from pipeline.reconcile import link_partition, no_gc_pauses, prepare
from pipeline.sim.profiles import PROFILES, rates_for
from pipeline.sim.world import World, generate_world, load_world


def _true_ids(t: Mapping[str, Any]) -> frozenset[str]:
    parent = t.get("parent")
    if not isinstance(parent, Mapping):
        return frozenset()
    return frozenset(
        map(str, (parent.get("ice_record_ids") or []) + (parent.get("removal_record_ids") or []))
    )


def _posteriors(
    linker: Linker,
    pairs: Sequence[tuple[int, Gamma]],
    tested: Mapping[int, str],
    bonus: Mapping[int, float] | None = None,
) -> tuple[dict[int, float], float]:
    """Each compared person's posterior, and the null mass's share (the linker's formula)."""
    prior, null = linker._prior()
    if not pairs:
        return {}, 1.0
    weights = {
        pid: prior
        + linker.model.weight(gamma)
        + (DNA_TESTED_WEIGHT if pid in tested else 0.0)
        + ((bonus or {}).get(pid, 0.0))
        for pid, gamma in pairs
    }
    top = max(weights.values())
    odds = {pid: 2.0 ** (w - top) for pid, w in weights.items()}
    null_odds = null * 2.0 ** (-top)
    denom = null_odds + sum(odds.values())
    return {pid: o / denom for pid, o in odds.items()}, null_odds / denom


def diagnose(world: World) -> dict[str, Any]:
    """The counts of missed and wrong links by cause, flags and comparison levels."""
    with no_gc_pauses():
        prep = prepare(world.to_snapshot(), (), 1, world.as_of)
        linker = prep.linker()
        firsts: list[FirstLink | None] = [None] * len(prep.groups)
        for part in prep.partitions:
            cviews = [prep.cviews[i] for i in part.children]
            linked = link_partition(linker, cviews, part, prep.dna_index, prep.index)
            for i, first in zip(part.children, linked, strict=True):
                firsts[i] = first
        done = [f for f in firsts if f is not None]
        revisits = linker.revisits(done)
        outcomes: list[LinkOutcome] = linker.second_pass(done, revisits)

    group_of = {rid: g for g, group in enumerate(prep.groups) for rid in group.record_ids}
    truth_of = {str(c): k for k, t in enumerate(world.truth) for c in t["child_record_ids"]}
    causes: Counter[str] = Counter()
    flags: Counter[str] = Counter()
    levels: Counter[str] = Counter()
    totals: Counter[str] = Counter()
    for t in world.truth:
        true_ids = _true_ids(t)
        if not true_ids:
            continue
        totals["true links"] += 1
        held = Counter(group_of[str(c)] for c in t["child_record_ids"] if str(c) in group_of)
        if not held:
            totals["child not in any group"] += 1
            continue
        g = max(held, key=lambda gi: (held[gi], -gi))
        true_pids = {prep.person_of[r] for r in true_ids if r in prep.person_of}
        outcome = outcomes[g]
        link = outcome.link
        named = link.person.pid if link is not None else None
        if named is not None and named in true_pids:
            totals["found"] += 1
            continue
        kind = "missed" if named is None else "wrong"
        totals[kind] += 1
        group = prep.groups[g]
        if len(held) > 1:
            flags[f"{kind}: child split by de-duplication"] += 1
        if len({truth_of.get(r) for r in group.record_ids}) > 1:
            flags[f"{kind}: child merged with another"] += 1
        if len(true_pids) > 1:
            flags[f"{kind}: true parent spread over {len(true_pids)} people"] += 1
        if named is not None and not outcome.needs_review:
            flags[f"{kind}: not flagged for review"] += 1
        if named is None and not outcome.needs_review:
            flags[f"{kind}: not flagged for review"] += 1
        if not true_pids:
            causes[f"{kind}: parent not recognised"] += 1
            continue
        first = done[g]
        compared = {pid: gamma for pid, gamma in first.pairs}
        there = true_pids & compared.keys()
        if not there:
            causes[f"{kind}: {_uncompared(kind, linker, prep.index, first, true_pids, flags, levels)}"] += 1
            continue
        bonus = revisits.get(g, ({}, {}))[0]
        post, null_share = _posteriors(linker, first.pairs, first.tested, bonus)
        pid = max(there, key=lambda p: post.get(p, 0.0))
        mine = post.get(pid, 0.0)
        best_rival = max((v for p, v in post.items() if p not in true_pids), default=0.0)
        first_link = first.outcome.link
        if first_link is not None and first_link.person.pid in true_pids and link is not None:
            cause = "family pass (linked right first, another after)"
        elif first_link is not None and first_link.person.pid in true_pids:
            cause = "family pass (linked right first, none after)"
        elif best_rival > mine:
            cause = "lost to a rival"
        elif null_share >= best_rival:
            cause = "below the link threshold, mass on 'not among them'"
        else:
            cause = "below the link threshold, mass split with rivals"
        if mine >= LINK_THRESHOLD and link is None:
            cause = "linked by posterior but not named (DNA/review)"
        causes[f"{kind}: {cause}"] += 1
        band = "<0.05" if mine < 0.05 else "<0.5" if mine < 0.5 else "<0.8" if mine < 0.8 else ">=0.8"
        flags[f"{kind}: compared, true parent posterior {band}"] += 1
        _tally(levels, cause.split(",")[0], compared[pid])
    return {
        "totals": dict(sorted(totals.items())),
        "causes": dict(causes.most_common()),
        "flags": dict(sorted(flags.items())),
        "levels": dict(sorted(levels.items())),
    }


def _uncompared(
    kind: str,
    linker: Linker,
    index: BlockingIndex,
    first: FirstLink,
    true_pids: set[int],
    flags: Counter[str],
    levels: Counter[str],
) -> str:
    """Why a true parent was not compared (blocking miss or pre-score cut); ``flags`` gains the
    details and ``levels`` the comparison vector it would have had."""
    cview = first.cview
    pre = candidates_of(cview, index)
    reached = true_pids & pre.keys()
    cause = "pre-score cut" if reached else "blocking miss"
    pid = min(reached or true_pids)
    if not reached:
        if not cview.app_dates:
            flags[f"{kind}: blocking miss, child has no apprehension date"] += 1
        if not linker.pview(pid).app_dates:
            flags[f"{kind}: blocking miss, parent has no apprehension date"] += 1
    else:
        mine, best = pre[pid], max(pre.values())
        rank = 1 + sum(v > mine for v in pre.values())
        if first.tested or cview.group.key in linker.confirmed:
            flags[f"{kind}: pre-score cut, a DNA-tested or confirmed adult led"] += 1
        elif best - mine > CANDIDATE_MARGIN:
            flags[f"{kind}: pre-score cut, beyond the margin (gap {_gap_band(best - mine)})"] += 1
        else:
            flags[f"{kind}: pre-score cut, beyond the top {MAX_CANDIDATES} (rank {_rank_band(rank)})"] += 1
    gamma = compare(cview, linker.pview(pid))
    post, _ = _posteriors(linker, [*first.pairs, (pid, gamma)], first.tested)
    would = "would link if compared" if post.get(pid, 0.0) >= LINK_THRESHOLD else "would stay below"
    flags[f"{kind}: {cause}, {would}"] += 1
    _tally(levels, cause, gamma)
    return cause


def _gap_band(gap: float) -> str:
    return "<12" if gap < 12 else "<16" if gap < 16 else ">=16"


def _rank_band(rank: int) -> str:
    return "<=30" if rank <= 30 else "<=60" if rank <= 60 else ">60"


def _tally(levels: Counter[str], cause: str, gamma: Gamma) -> None:
    for f, lv in enumerate(gamma[0]):
        levels[f"{cause} | {FIELDS[f]}: {COMPARISONS[f].levels[lv].label}"] += 1


def render(name: str, d: Mapping[str, Any], min_level: int = 2) -> str:
    """The counts as readable lines (comparison levels seen fewer than ``min_level`` times left out)."""
    lines = [f"{name}: " + ", ".join(f"{k} {v}" for k, v in d["totals"].items())]
    lines.append("  causes:")
    lines.extend(f"    {v:5d}  {k}" for k, v in d["causes"].items())
    lines.append("  flags:")
    lines.extend(f"    {v:5d}  {k}" for k, v in d["flags"].items())
    lines.append("  comparison levels of the true parent (by cause):")
    lines.extend(f"    {v:5d}  {k}" for k, v in d["levels"].items() if v >= min_level)
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Diagnose one world (a directory, or a profile, size and seed) and print the counts."""
    parser = argparse.ArgumentParser(prog="python -m bench.misses", description=__doc__.split("\n")[0])
    parser.add_argument("--world", help="a world directory (else one is generated)")
    parser.add_argument("--profile", default="default", choices=sorted(PROFILES))
    parser.add_argument("--children", type=int, default=2300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--min-level", type=int, default=2, help="hide levels seen fewer times")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.world:
        world, name = load_world(args.world), args.world
    else:
        world = generate_world(args.children, args.seed, rates=rates_for(args.profile))
        name = f"{args.profile} {args.children} seed {args.seed}"
    d = diagnose(world)
    print(json.dumps({"world": name, **d}) if args.json else render(name, d, args.min_level))
    return 0


if __name__ == "__main__":
    sys.exit(main())
