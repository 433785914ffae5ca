"""The matching state workers hand each other survives its JSON form."""

from __future__ import annotations

from pipeline import jsontext
from pipeline.match import state
from pipeline.match.blocking import DnaIndex
from pipeline.match.link import confident
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
