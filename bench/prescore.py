"""The compiled pre-score against the pure-Python one (task "kernel", issue 19 item 2).

    PYTHONPATH=<tree> .venv/bin/python bench/prescore.py micro /tmp/worlds/world-20000-s7-default
    PYTHONPATH=<tree> .venv/bin/python bench/prescore.py exports OUT.jsonl WORLD [WORLD ...]
    PYTHONPATH=<tree> .venv/bin/python bench/prescore.py cold /tmp/worlds/world-20000-s7-default

``micro`` prepares the world once, then times (CPU seconds) ``top_candidates`` over every child,
compiled and pure Python in turn (three rounds, interleaved), the bucket gathering both share
(``weighted_buckets``) and the compiled scorer alone on the gathered buckets; it checks that both
give the same candidates. ``exports`` writes the in-process reconcile export of each world (run
id fixed), one JSON line a child, reconciled as a run does (four partitions, keeping its links,
so the pre-score takes the buckets the fingerprints gathered): run it under main's tree and this
one and ``cmp`` the files.
``cold`` is a new process's first-use cost: importing the extension, building the index's scorer
(its countries and scratch arrays) and the first child's call.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from pipeline.reconcile import prepare, reconcile_reusing
from pipeline.sim.world import load_world


def _micro(world_dir: str) -> None:
    from pipeline.match import blocking
    from pipeline.match.link import CANDIDATE_MARGIN, MAX_CANDIDATES

    world = load_world(world_dir)
    prep = prepare(world.to_snapshot(), as_of=world.as_of)
    cviews, index = prep.cviews, prep.index

    def run(mode: str) -> tuple[float, list[list[int]]]:
        os.environ[blocking.PRESCORE_ENV] = mode
        t0 = time.process_time()
        got = [blocking.top_candidates(c, index, MAX_CANDIDATES, CANDIDATE_MARGIN) for c in cviews]
        return time.process_time() - t0, got

    for rnd in range(3):
        t_py, py = run("python")
        t_c, comp = run("compiled")
        assert comp == py, "compiled candidates differ from the pure-Python ones"
        t0 = time.process_time()
        buckets = [blocking.weighted_buckets(c, index) for c in cviews]
        t_b = time.process_time() - t0
        scorer = blocking._scorer(index)
        t0 = time.process_time()
        for c, b in zip(cviews, buckets, strict=True):
            scorer.top(b, c.countries, blocking.COUNTRY_PENALTY, (), (), MAX_CANDIDATES, CANDIDATE_MARGIN)
        t_k = time.process_time() - t0
        print(
            json.dumps(
                {
                    "round": rnd,
                    "children": len(cviews),
                    "python_s": round(t_py, 3),
                    "compiled_s": round(t_c, 3),
                    "buckets_s": round(t_b, 3),
                    "scorer_only_s": round(t_k, 3),
                    "additions": sum(len(f) for b in buckets for f, *_ in b),
                    "same": True,
                }
            )
        )


def _exports(out: str, worlds: list[str]) -> None:
    with Path(out).open("w") as fh:
        for world_dir in worlds:
            world = load_world(world_dir)
            t0 = time.process_time()
            results = reconcile_reusing(world.to_snapshot(), world.as_of, partitions=4, keep=True).results
            cpu = time.process_time() - t0
            for r in results:
                fh.write(json.dumps(r.to_export("bench"), sort_keys=True, default=str) + "\n")
            print(json.dumps({"world": world_dir, "children": len(results), "cpu_s": round(cpu, 2)}))


def _cold(world_dir: str) -> None:
    world = load_world(world_dir)
    prep = prepare(world.to_snapshot(), as_of=world.as_of)
    from pipeline.match.link import CANDIDATE_MARGIN, MAX_CANDIDATES

    t0 = time.perf_counter()
    from pipeline.match import _prescore  # noqa: F401  (its import time: a shared object, no JIT)

    t_import = time.perf_counter() - t0
    from pipeline.match import blocking

    t0 = time.perf_counter()
    blocking._scorer(prep.index)
    t_build = time.perf_counter() - t0
    t0 = time.perf_counter()
    blocking.top_candidates(prep.cviews[0], prep.index, MAX_CANDIDATES, CANDIDATE_MARGIN)
    t_first = time.perf_counter() - t0
    print(
        json.dumps(
            {
                "import_ms": round(1000 * t_import, 2),
                "scorer_build_ms": round(1000 * t_build, 2),
                "first_call_ms": round(1000 * t_first, 3),
                "people": len(prep.people),
            }
        )
    )


def main(argv: list[str]) -> int:
    """``micro WORLD``, ``exports OUT WORLD...`` or ``cold WORLD`` (see the module docstring)."""
    what, rest = argv[0], argv[1:]
    if what == "micro":
        _micro(rest[0])
    elif what == "exports":
        _exports(rest[0], rest[1:])
    elif what == "cold":
        _cold(rest[0])
    else:
        raise SystemExit(__doc__)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
