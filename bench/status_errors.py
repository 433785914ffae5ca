"""Wrong statuses of one world, by cause: truth status, exported status, and what the link did.

    python -m bench.status_errors --world DIR      # a world written by pipeline.sim generate

Reconciles the world as ``bench/quality.py`` does and counts, over the truth children, those whose
exported status differs, by (truth status, exported status, link): ``missed`` (a true parent and
none named), ``wrong`` (another adult named), ``spurious`` (a parent named where there is none),
``right`` (the right parent, the status wrong all the same: the parent's records are incomplete).
For the ``right`` links it also counts whose parent records came out exactly as the truth's,
with records of someone else's added, or with records of the parent's missing. ``--save FILE``
writes which truth children (by position) have a right status; ``--against FILE`` compares this
tree with a saved one: the children mended and broken.

Only statuses and counts are printed or saved: no names, A-numbers or dates of birth.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.quality import _answers, _parent_ids, _truth_answer, export_of
from pipeline.sim.world import load_world


@dataclass
class StatusErrors:
    """A world's wrong statuses by cause, the records of the right parents, who is right."""

    errors: Counter[tuple[str, str, str]]
    #: right parents named: "exact", "extra" (someone else's records too), "missing" (not all)
    parent_records: Counter[str]
    #: per truth child, in the truth's order: is its exported status right
    right: list[bool]


def status_errors(directory: str) -> StatusErrors:
    """The wrong statuses of the truth children by cause, the right parents' records, who is right."""
    world = load_world(directory)
    answers = _answers(export_of(world))
    errors: Counter[tuple[str, str, str]] = Counter()
    records: Counter[str] = Counter()
    right: list[bool] = []
    for truth in world.truth:
        got = _truth_answer(truth, answers)
        right.append(got is not None and got["status"] == truth["status"])
        if got is None:
            errors[(truth["status"], "(missing)", "-")] += 1
            continue
        want, named = _parent_ids(truth), _parent_ids(got)
        if want & named:
            if want == named:
                records["exact"] += 1
            records["extra"] += bool(named - want)
            records["missing"] += bool(want - named)
        if got["status"] == truth["status"]:
            continue
        if want & named:
            link = "right"
        elif not named:
            link = "missed" if want else "no parent either side"
        else:
            link = "wrong" if want else "spurious"
        errors[(truth["status"], got["status"], link)] += 1
    return StatusErrors(errors, records, right)


def main(argv: Sequence[str] | None = None) -> int:
    """Print the world's wrong statuses by cause, most frequent first."""
    parser = argparse.ArgumentParser(prog="python -m bench.status_errors", description=__doc__.split("\n")[0])
    parser.add_argument("--world", required=True, help="a world directory")
    parser.add_argument("--save", type=Path, help="write who has a right status to this file")
    parser.add_argument("--against", type=Path, help="a --save file of another tree: mended, broken")
    args = parser.parse_args(argv)
    found = status_errors(args.world)
    n, errors = len(found.right), found.errors
    wrong = sum(errors.values())
    print(f"{args.world}: {n} children, {wrong} wrong statuses, status {1 - wrong / max(1, n):.4f}")
    for (want, got, link), k in errors.most_common():
        print(f"  {k:5d}  {want} -> {got}  (link {link})")
    records = found.parent_records
    print(
        f"  right parent named: {records['exact']} with exactly its records, {records['extra']} with"
        f" someone else's too, {records['missing']} with some of its own missing"
    )
    if args.save:
        args.save.write_text(json.dumps(found.right))
    if args.against:
        before = json.loads(args.against.read_text())
        if len(before) != len(found.right):
            raise SystemExit(f"{args.against} was saved for another world")
        mended = sum(not b and a for b, a in zip(before, found.right, strict=True))
        broken = sum(b and not a for b, a in zip(before, found.right, strict=True))
        print(f"  against {args.against}: {mended} mended, {broken} broken")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
