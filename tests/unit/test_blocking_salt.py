"""The pre-score does not depend on the process's hash salt: its sums run in one order, so two
runs of the same feeds (a full run and a run without fetching, in two processes) rank the same
near-ties the same way."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# every child's probed buckets in the order the pre-score sums them, and its scored candidates
# with their scores to the last bit
_SCORES = """
from pipeline import reconcile
from pipeline.match.blocking import candidates_of, weighted_buckets
from pipeline.match.model import prior_model
from pipeline.sim.world import generate_world

world = generate_world(150, seed=31)
prep = reconcile.prepare(world.to_snapshot(), model=prior_model())
for cview in prep.cviews:
    keys = [key for *_, key in weighted_buckets(cview, prep.index)]
    scores = sorted(candidates_of(cview, prep.index).items())
    print(repr(keys), [(pid, score.hex()) for pid, score in scores])
"""


def test_the_pre_score_sums_in_the_same_order_whatever_the_hash_salt() -> None:
    outs = []
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)}
        run = subprocess.run(
            [sys.executable, "-c", _SCORES], env=env, capture_output=True, text=True, check=True
        )
        outs.append(run.stdout)
    assert outs[0].count("\n") > 100
    assert outs[0] == outs[1]
