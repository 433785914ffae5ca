"""The compiled pre-score (pipeline/match/_prescore.pyx, built by ``make install``) gives exactly
the pure-Python one's candidates -- the same people in the same order, ties included -- for every
child of generated worlds (default and hard noise), at the linker's limits and at others, with
boosts, exclusions and the country penalty (and without it), whatever the hash salt."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.match import blocking
from pipeline.match.blocking import (
    PRESCORE_ENV,
    _reference_top,
    candidates_of,
    compiled_prescore,
    top_candidates,
)
from pipeline.match.link import CANDIDATE_MARGIN, MAX_CANDIDATES
from pipeline.reconcile import Prepared, prepare
from pipeline.sim.profiles import rates_for
from pipeline.sim.world import generate_world

ROOT = Path(__file__).resolve().parents[2]
LIMITS = [(MAX_CANDIDATES, CANDIDATE_MARGIN), (1, 0.0), (3, 2.0), (18, 100.0), (60, 4.0)]


@pytest.fixture(scope="module", params=["default", "hard"])
def prep(request: pytest.FixtureRequest) -> Prepared:
    world = generate_world(1200, seed=11, rates=rates_for(request.param))
    return prepare(world.to_snapshot(), as_of=world.as_of)


def _both(monkeypatch: pytest.MonkeyPatch, *args: object, **kwargs: object) -> tuple[list[int], list[int]]:
    """``top_candidates`` compiled and in pure Python."""
    monkeypatch.setenv(PRESCORE_ENV, "compiled")
    compiled = top_candidates(*args, **kwargs)  # type: ignore[arg-type]
    monkeypatch.setenv(PRESCORE_ENV, "python")
    python = top_candidates(*args, **kwargs)  # type: ignore[arg-type]
    return compiled, python


def test_the_compiled_prescore_is_built_and_selected_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.match import _prescore  # make install builds it: a missing build fails here

    assert _prescore.PreScorer
    monkeypatch.delenv(PRESCORE_ENV, raising=False)
    assert compiled_prescore()
    monkeypatch.setenv(PRESCORE_ENV, "python")
    assert not compiled_prescore()
    monkeypatch.setenv(PRESCORE_ENV, "fast")
    with pytest.raises(ValueError):
        compiled_prescore()


def test_compiled_and_python_prescores_give_the_same_candidates_for_every_child(
    prep: Prepared, monkeypatch: pytest.MonkeyPatch
) -> None:
    compared = tied = 0
    for cview in prep.cviews:
        for n, margin in LIMITS:
            compiled, python = _both(monkeypatch, cview, prep.index, n, margin)
            assert compiled == python == _reference_top(cview, prep.index, n, margin)
            compared += len(compiled)
        pre = candidates_of(cview, prep.index)
        scores = [pre[pid] for pid in _reference_top(cview, prep.index, 60, 100.0)]
        tied += len(scores) != len(set(scores))
    assert compared > len(prep.cviews)  # the worlds' children do meet people
    assert tied > 100  # and equal scores, whose order the tie rule (pid) decides


def test_compiled_and_python_prescores_agree_with_boosts_and_exclusions(
    prep: Prepared, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(5)
    n_people = len(prep.people)
    for cview in prep.cviews:
        reached = sorted(candidates_of(cview, prep.index))
        # boosts on people the child reaches and on one it does not (anyone, even one beyond
        # the index), one person boosted twice (tested and confirmed)
        boosted = [*rng.sample(reached, min(2, len(reached))), rng.randrange(2 * n_people)]
        boosts = [(pid, 100.0) for pid in boosted] + [(boosted[0], 100.0)]
        compiled, python = _both(monkeypatch, cview, prep.index, MAX_CANDIDATES, CANDIDATE_MARGIN, boosts)
        assert compiled == python
        assert compiled[0] == boosted[0]  # boosted twice
        # the runner-ups' case: the best people taken out (an excluded boost stays out)
        best = _reference_top(cview, prep.index, 2, CANDIDATE_MARGIN)
        exclude = set(best) | set(rng.sample(reached, min(3, len(reached))))
        compiled, python = _both(
            monkeypatch, cview, prep.index, MAX_CANDIDATES, CANDIDATE_MARGIN, exclude=exclude
        )
        assert compiled == python
        assert not exclude & set(compiled)
        compiled, python = _both(
            monkeypatch, cview, prep.index, MAX_CANDIDATES, CANDIDATE_MARGIN, boosts, exclude=exclude
        )
        assert compiled == python


def test_compiled_and_python_prescores_agree_with_and_without_the_country_penalty(
    prep: Prepared, monkeypatch: pytest.MonkeyPatch
) -> None:
    with_penalty = [_both(monkeypatch, c, prep.index, MAX_CANDIDATES, CANDIDATE_MARGIN) for c in prep.cviews]
    monkeypatch.setattr(blocking, "COUNTRY_PENALTY", 0.0)
    without = [_both(monkeypatch, c, prep.index, MAX_CANDIDATES, CANDIDATE_MARGIN) for c in prep.cviews]
    assert all(compiled == python for compiled, python in with_penalty + without)
    # the penalty is under test: it changes the candidates of many children
    assert sum(a[0] != b[0] for a, b in zip(with_penalty, without, strict=True)) > 20


# every child's compiled candidates, under a given hash salt
_CANDIDATES = """
from pipeline import reconcile
from pipeline.match.blocking import top_candidates
from pipeline.match.link import CANDIDATE_MARGIN, MAX_CANDIDATES
from pipeline.match.model import prior_model
from pipeline.sim.world import generate_world

world = generate_world(300, seed=31)
prep = reconcile.prepare(world.to_snapshot(), model=prior_model())
for cview in prep.cviews:
    print(top_candidates(cview, prep.index, 60, 8.0), top_candidates(cview, prep.index, 3, 0.5))
"""


def test_the_compiled_prescore_does_not_depend_on_the_hash_salt() -> None:
    outs = []
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT), PRESCORE_ENV: "compiled"}
        run = subprocess.run(
            [sys.executable, "-c", _CANDIDATES], env=env, capture_output=True, text=True, check=True
        )
        outs.append(run.stdout)
    assert outs[0].count("\n") > 200
    assert outs[0] == outs[1]
