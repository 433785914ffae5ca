"""The matching state workers hand each other survives its JSON form."""

from __future__ import annotations

import pytest

from pipeline import jsontext
from pipeline.errors import MatchStateError
from pipeline.match import state
from pipeline.match.blocking import DnaIndex
from pipeline.match.link import confident
from pipeline.match.model import prior_model
from pipeline.reconcile import prepare
from pipeline.sim.world import generate_world


def test_the_model_and_first_links_survive_their_json_form() -> None:
    snap = generate_world(300, seed=9).to_snapshot()
    prep = prepare(snap)
    model = state.model_from_json(jsontext.loads(jsontext.dumps(state.model_to_json(prep.model))))
    assert (model.raw, model.shares, model.mean_share) == (
        prep.model.raw,
        prep.model.shares,
        prep.model.mean_share,
    )

    linker = prep.linker()
    firsts = linker.first_pass(prep.cviews, prep.index, DnaIndex.of(prep.dna))
    people = {p.pid: p for p in prep.people}
    kinds = set()
    for first in firsts:
        back = state.first_from_json(
            jsontext.loads(jsontext.dumps(state.first_to_json(first))), first.cview, people.__getitem__
        )
        kinds.add(confident(first.outcome))
        assert back.outcome == first.outcome and back.tested == first.tested
        # pairs travel only for the children the family pass may revisit
        assert back.pairs == ([] if confident(first.outcome) else first.pairs)
    assert kinds == {True, False}


def _model_json() -> dict:  # type: ignore[type-arg]
    return state.model_to_json(prior_model())


def test_a_model_state_of_another_version_is_refused_with_what_to_do() -> None:
    obj = _model_json()
    obj["version"] = state.STATE_VERSION - 1
    with pytest.raises(MatchStateError, match=r"version 1, this matcher reads version 2.*reunify cancel"):
        state.model_from_json(obj)
    del obj["version"]
    with pytest.raises(MatchStateError, match="version None"):
        state.model_from_json(obj)


def test_a_model_state_with_other_comparison_levels_is_refused() -> None:
    obj = _model_json()
    # a level added inside one comparison renumbers its levels: the state no longer fits
    obj["comparisons"][4][1].insert(1, "a new surname level")
    with pytest.raises(MatchStateError, match="other comparisons"):
        state.model_from_json(obj)
    obj = _model_json()
    assert state.model_from_json(jsontext.loads(jsontext.dumps(obj))).raw == prior_model().raw
