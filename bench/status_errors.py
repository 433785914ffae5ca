"""Wrong statuses of one world, by cause: truth status, exported status, and what the link did.

    python -m bench.status_errors --world DIR      # a world written by pipeline.sim generate

Reconciles the world as ``bench/quality.py`` does and counts, over the truth children, those whose
exported status differs, by (truth status, exported status, link): ``missed`` (a true parent and
none named), ``wrong`` (another adult named), ``spurious`` (a parent named where there is none),
``right`` (the right parent, the status wrong all the same: the parent's records are incomplete).
Only statuses and counts are printed: no names, A-numbers or dates of birth.
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Sequence

from bench.quality import _answers, _parent_ids, _truth_answer, export_of
from pipeline.sim.world import load_world


def status_errors(directory: str) -> tuple[int, Counter[tuple[str, str, str]]]:
    """The number of truth children and the wrong statuses among them, by cause."""
    world = load_world(directory)
    answers = _answers(export_of(world))
    errors: Counter[tuple[str, str, str]] = Counter()
    for truth in world.truth:
        got = _truth_answer(truth, answers)
        if got is None:
            errors[(truth["status"], "(missing)", "-")] += 1
            continue
        if got["status"] == truth["status"]:
            continue
        want, named = _parent_ids(truth), _parent_ids(got)
        if want & named:
            link = "right"
        elif not named:
            link = "missed" if want else "no parent either side"
        else:
            link = "wrong" if want else "spurious"
        errors[(truth["status"], got["status"], link)] += 1
    return len(world.truth), errors


def main(argv: Sequence[str] | None = None) -> int:
    """Print the world's wrong statuses by cause, most frequent first."""
    parser = argparse.ArgumentParser(prog="python -m bench.status_errors", description=__doc__.split("\n")[0])
    parser.add_argument("--world", required=True, help="a world directory")
    args = parser.parse_args(argv)
    n, errors = status_errors(args.world)
    wrong = sum(errors.values())
    print(f"{args.world}: {n} children, {wrong} wrong statuses, status {1 - wrong / max(1, n):.4f}")
    for (want, got, link), k in errors.most_common():
        print(f"  {k:5d}  {want} -> {got}  (link {link})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
