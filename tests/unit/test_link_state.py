"""Re-linking only the children a change touches (issue 19 item 3, issue 16 item 8): a
reconciliation that reuses the previous one's link state gives exactly the results of one from
scratch under the same model, after a changed world and after new review decisions; the change
detection re-links a child whose probed bucket or decision changed, and only reuses under the
same model; fingerprints do not depend on the process's string-hash salt."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from pipeline import reconcile
from pipeline.errors import MatchStateError
from pipeline.match import link_state
from pipeline.match.adults import Person
from pipeline.match.blocking import BlockingIndex, Bucket, weighted_buckets
from pipeline.match.link_state import LinkState, fingerprint
from pipeline.match.model import prior_model
from pipeline.match.views import PersonView
from pipeline.records import AdultRecord, ClaimedChild, FeedSnapshot, RemovalRecord
from pipeline.results import ChildResult, ReviewDecision
from pipeline.sim.world import generate_world, mutate_world

ROOT = Path(__file__).resolve().parents[2]


def _kept(done: reconcile.Reconciled) -> LinkState:
    assert done.links is not None
    return link_state.loads(link_state.dumps(done.links))  # through its stored form


def _prints(snap: FeedSnapshot, decisions: Sequence[ReviewDecision] = ()) -> dict[str, bytes]:
    prep = reconcile.prepare(snap, decisions, model=prior_model())
    prints = fingerprint(prep.cviews, prep.people, prep.index, prep.dna_index, prep.rejected, prep.confirmed)
    return {c.group.key: fp for c, fp in zip(prep.cviews, prints.children, strict=True)}


def _assert_same(reused: list[ChildResult], scratch: list[ChildResult]) -> None:
    assert len(reused) == len(scratch)
    for a, b in zip(reused, scratch, strict=True):
        for f in dataclasses.fields(ChildResult):
            assert getattr(a, f.name) == getattr(b, f.name), (a.child_key, f.name)


def _adult(
    record_id: str, first: str, last: str, day: date | None, station: str | None, **more: Any
) -> AdultRecord:
    fields = dict.fromkeys(f.name for f in dataclasses.fields(AdultRecord)) | {"medical_hold": False}
    fields.update(record_id=record_id, first_name=first, last_name=last, sex="M")
    fields.update({"apprehension_date": day, "station": station, "claimed_children": ()} | more)
    return AdultRecord(**fields)


def _late_parents(snap: FeedSnapshot, every: int) -> FeedSnapshot:
    """``snap`` with a late ICE record for every ``every``-th dated child: an adult apprehended
    with it who claims it by name (mutate_world adds no adults: without these, blocking buckets
    would barely change and a detection that ignored them would go unnoticed)."""
    dated = [c for c in snap.children if c.apprehension_date and c.station and c.last_name]
    late = [
        _adult(
            f"ICE-LATE-{i:04d}",
            "Rosa",
            c.last_name,
            c.apprehension_date,
            c.station,
            claimed_children=(ClaimedChild(c.name, c.dob),),
            country=c.country,
        )
        for i, c in enumerate(dated[::every])
    ]
    return dataclasses.replace(snap, adults=[*snap.adults, *late])


def _corrected_parents(snap: FeedSnapshot, results: Sequence[ChildResult], every: int) -> FeedSnapshot:
    """``snap`` with the ICE records of every ``every``-th linked parent corrected to another
    date of birth: a field no blocking key nor the pre-score reads (the country is one now:
    blocking.COUNTRY_PENALTY), which changes comparison vectors."""
    ids = {rid for r in results[::every] if r.parent is not None for rid in r.parent.ice_record_ids}
    adults = [dataclasses.replace(a, dob=date(1960, 1, 2)) if a.record_id in ids else a for a in snap.adults]
    return dataclasses.replace(snap, adults=adults)


def test_after_a_changed_world_reuse_equals_a_reconcile_from_scratch() -> None:
    world = generate_world(500, seed=21)
    first = reconcile.reconcile_reusing(world.to_snapshot(), world.as_of)
    later = mutate_world(world, 0.01, seed=4)
    snap = _corrected_parents(_late_parents(later.to_snapshot(), 40), first.results, 25)
    reused = reconcile.reconcile_reusing(snap, later.as_of, model=first.model, previous=_kept(first))
    scratch = reconcile.reconcile_reusing(snap, later.as_of, model=first.model)
    _assert_same(reused.results, scratch.results)
    assert reused.links == scratch.links  # the state it keeps is the one from scratch too
    assert 0 < reused.relinked < len(scratch.results) // 2 and reused.recompared > 0
    assert scratch.relinked == len(scratch.results)
    # other adults: the people were recognised again, every input digested again
    assert not reused.people_reused and not reused.inputs_reused
    # partitioned, the reuse is the same
    parts = reconcile.reconcile_reusing(
        snap, later.as_of, partitions=3, model=first.model, previous=_kept(first)
    )
    _assert_same(parts.results, scratch.results)


def test_after_new_review_decisions_reuse_equals_a_reconcile_from_scratch() -> None:
    world = generate_world(500, seed=22)
    snap = world.to_snapshot()
    first = reconcile.reconcile_reusing(snap, world.as_of)
    linked = [r for r in first.results if r.parent is not None and r.parent.ice_record_ids]
    open_ = [r for r in first.results if r.candidates and r.candidates[0].ice_record_ids]
    rejected, confirmed = linked[0], next(r for r in open_ if r.child_key != linked[0].child_key)
    assert rejected.parent is not None
    decisions = [
        ReviewDecision(rejected.child_key, rejected.parent.ice_record_ids[0], "reject", who="t"),
        ReviewDecision(confirmed.child_key, confirmed.candidates[0].ice_record_ids[0], "confirm", who="t"),
    ]
    reused = reconcile.reconcile_reusing(
        snap, world.as_of, decisions, model=first.model, previous=_kept(first)
    )
    scratch = reconcile.reconcile_reusing(snap, world.as_of, decisions, model=first.model)
    _assert_same(reused.results, scratch.results)
    # the decisions took effect; only the confirmed child was blocked again (a confirmation
    # leads its pre-score), the rejected one took its kept candidates less the rejected adult
    by_key = {r.child_key: r for r in reused.results}
    assert by_key[rejected.child_key].parent != rejected.parent
    assert by_key[confirmed.child_key].parent is not None
    assert by_key[confirmed.child_key].parent.ice_record_ids == confirmed.candidates[0].ice_record_ids
    assert reused.relinked == 1 and reused.buckets_built
    # the same records (a run without fetching): the people and the children's inputs were
    # taken from the kept state, not matched and digested again, and it keeps what scratch keeps
    assert reused.people_reused and reused.inputs_reused
    assert not scratch.people_reused and not scratch.inputs_reused
    assert reused.links == scratch.links


def test_when_only_the_shelter_feed_changed_the_people_are_reused_and_the_inputs_digested_again() -> None:
    world = generate_world(400, seed=27)
    first = reconcile.reconcile_reusing(world.to_snapshot(), world.as_of)
    later = mutate_world(world, 0.02, seed=5).to_snapshot().children
    # and a surname corrected: a change the child's candidates read
    later[0] = dataclasses.replace(later[0], last_name="Quispe")
    snap = dataclasses.replace(world.to_snapshot(), children=later)
    reused = reconcile.reconcile_reusing(snap, world.as_of, model=first.model, previous=_kept(first))
    scratch = reconcile.reconcile_reusing(snap, world.as_of, model=first.model)
    _assert_same(reused.results, scratch.results)
    assert reused.links == scratch.links
    assert reused.people_reused and not reused.inputs_reused
    assert 0 < reused.relinked < len(scratch.results)


def test_a_kept_state_of_another_report_date_is_not_taken_for_the_same_records() -> None:
    # the records are screened at the report date: a date of birth after it is no evidence
    world = generate_world(200, seed=28)
    snap = world.to_snapshot()
    first = reconcile.reconcile_reusing(snap, world.as_of)
    youngest = max(a.dob for a in snap.adults if a.dob)
    earlier = youngest - timedelta(days=1)
    reused = reconcile.reconcile_reusing(snap, earlier, model=first.model, previous=_kept(first))
    scratch = reconcile.reconcile_reusing(snap, earlier, model=first.model)
    assert not reused.people_reused and not reused.inputs_reused
    _assert_same(reused.results, scratch.results)


def test_a_child_whose_probed_bucket_gained_a_person_is_relinked() -> None:
    world = generate_world(300, seed=23)
    snap = world.to_snapshot()
    before = _prints(snap)
    child = next(c for c in snap.children if c.apprehension_date and c.last_name and c.station)
    # a stranger apprehended on the child's day at another station, sharing only its surname
    stranger = _adult("ICE-STRANGER", "Zebulon", child.last_name, child.apprehension_date, "NOWHERE")
    after = _prints(dataclasses.replace(snap, adults=[*snap.adults, stranger]))
    groups = reconcile.prepare(snap, model=prior_model()).groups
    key = next(g.key for g in groups if child.record_id in g.record_ids)
    assert before[key] != after[key]
    changed = [k for k in before if before[k] != after[k]]
    assert 0 < len(changed) < len(before) // 4  # the rest is reused


def test_a_child_whose_candidate_changed_country_is_relinked() -> None:
    # a removal row of another country moves nobody into another bucket, yet changes the
    # pre-score's country penalty of that person for every child that reaches them
    world = generate_world(300, seed=23)
    snap = world.to_snapshot()
    before = _prints(snap)
    linked = reconcile.reconcile_reusing(snap, world.as_of).results
    target = next(r for r in linked if r.parent is not None and r.parent.ice_record_ids)
    assert target.parent is not None
    rid = target.parent.ice_record_ids[0]
    adult = next(a for a in snap.adults if a.record_id == rid)
    row = RemovalRecord(
        "REM-ELSEWHERE",
        adult.a_number,
        adult.first_name,
        adult.last_name,
        adult.dob,
        "NOWHERELAND",
        world.as_of,
        None,
    )
    after = _prints(dataclasses.replace(snap, removals=[*snap.removals, row]))
    assert before[target.child_key] != after[target.child_key]


def test_a_child_whose_decision_changed_is_relinked() -> None:
    world = generate_world(300, seed=24)
    snap = world.to_snapshot()
    first = reconcile.reconcile_reusing(snap, world.as_of)
    target = next(r for r in first.results if r.parent is not None and r.parent.ice_record_ids)
    assert target.parent is not None
    before = _prints(snap)
    for verdict in ("reject", "confirm"):
        after = _prints(snap, [ReviewDecision(target.child_key, target.parent.ice_record_ids[0], verdict)])
        assert [k for k in before if before[k] != after[k]] == [target.child_key]


def test_the_same_records_and_decisions_again_build_no_blocking_buckets() -> None:
    # a run without fetching and without new decisions: every child's candidates, and the
    # DNA-excluded children's runner-ups, come from the kept state
    world = generate_world(400, seed=29)
    snap = world.to_snapshot()
    first = reconcile.reconcile_reusing(snap, world.as_of)
    assert first.links is not None and first.buckets_built
    assert any(c.runners for c in first.links.children.values())  # the case under test is there
    again = reconcile.reconcile_reusing(snap, world.as_of, model=first.model, previous=_kept(first))
    assert again.relinked == 0 and not again.buckets_built
    scratch = reconcile.reconcile_reusing(snap, world.as_of, model=first.model)
    _assert_same(again.results, scratch.results)
    assert again.links == scratch.links


def _reject(result: ChildResult, rank: int = 0) -> ReviewDecision:
    adults = [result.parent] if result.parent is not None else []
    adults += result.candidates
    return ReviewDecision(result.child_key, adults[rank].ice_record_ids[0], "reject", who="t")


def test_another_rejection_reuses_the_childs_candidates_less_the_rejected() -> None:
    world = generate_world(400, seed=30)
    snap = world.to_snapshot()
    plain = reconcile.reconcile_reusing(snap, world.as_of)
    target = next(r for r in plain.results if r.parent is not None and len(r.candidates) >= 1)
    once = [_reject(target)]
    first = reconcile.reconcile_reusing(snap, world.as_of, once, model=plain.model, previous=_kept(plain))
    assert first.relinked == 0  # a first rejection: the kept candidates less that adult
    twice = [*once, _reject(target, 1)]
    reused = reconcile.reconcile_reusing(snap, world.as_of, twice, model=plain.model, previous=_kept(first))
    scratch = reconcile.reconcile_reusing(snap, world.as_of, twice, model=plain.model)
    assert reused.relinked == 0 and not reused.buckets_built
    _assert_same(reused.results, scratch.results)
    assert reused.links == scratch.links
    rejected = {d.adult_record_id for d in twice}
    parent = {r.child_key: r.parent for r in reused.results}[target.child_key]
    assert parent is None or not rejected & set(parent.ice_record_ids)


def test_a_withdrawn_rejection_blocks_the_child_again() -> None:
    # kept candidates less a rejected adult cannot give that adult back: the child is blocked
    world = generate_world(400, seed=30)
    snap = world.to_snapshot()
    plain = reconcile.reconcile_reusing(snap, world.as_of)
    target = next(r for r in plain.results if r.parent is not None)
    decided = reconcile.reconcile_reusing(
        snap, world.as_of, [_reject(target)], model=plain.model, previous=_kept(plain)
    )
    withdrawn = reconcile.reconcile_reusing(snap, world.as_of, model=plain.model, previous=_kept(decided))
    assert withdrawn.relinked == 1 and withdrawn.buckets_built
    _assert_same(withdrawn.results, plain.results)


def test_the_blocking_buckets_are_built_on_first_use() -> None:
    world = generate_world(100, seed=31)
    prep = reconcile.prepare(world.to_snapshot(), model=prior_model())
    index = BlockingIndex(prep.people)
    person = prep.people[0]
    # the DNA results' lookups need no buckets
    assert index.by_record[person.ice[0].record_id] == person.pid and not index.built
    assert index.by_key and index.built
    assert index.by_key == prep.index.by_key


def test_the_pre_score_takes_the_buckets_the_fingerprints_gathered_and_links_the_same() -> None:
    world = generate_world(300, seed=33)
    prep = reconcile.prepare(world.to_snapshot(), model=prior_model())
    probed: dict[str, list[Bucket]] = {}
    fingerprint(
        prep.cviews, prep.people, prep.index, prep.dna_index, prep.rejected, prep.confirmed, None, probed
    )
    assert set(probed) == {c.group.key for c in prep.cviews}
    assert all(probed[c.group.key] == weighted_buckets(c, prep.index) for c in prep.cviews)

    shared = prep.linker().first_pass(prep.cviews, prep.index, prep.dna_index, probed=probed)
    alone = prep.linker().first_pass(prep.cviews, prep.index, prep.dna_index)

    assert not probed  # each child's buckets taken as it was blocked, none left behind
    assert [(f.pairs, f.outcome) for f in shared] == [(f.pairs, f.outcome) for f in alone]
    # a run (which keeps its links) and a reconcile that keeps none give the same results
    kept = reconcile.reconcile_reusing(world.to_snapshot(), world.as_of, partitions=2, keep=True)
    _assert_same(kept.results, reconcile.reconcile(world.to_snapshot(), world.as_of, partitions=2))


def test_links_are_reused_only_under_the_same_model() -> None:
    world = generate_world(200, seed=25)
    snap = world.to_snapshot()
    first = reconcile.reconcile_reusing(snap, world.as_of)
    same = reconcile.reconcile_reusing(snap, world.as_of, model=first.model, previous=_kept(first))
    assert same.relinked == 0
    other = reconcile.reconcile_reusing(snap, world.as_of, model=prior_model(), previous=_kept(first))
    assert other.relinked == len(other.results)


def test_fields_outside_the_match_fields_change_no_key_nor_view() -> None:
    snap = generate_world(200, seed=26).to_snapshot()
    ice_read = set(_names(link_state.ICE_MATCH_FIELDS))
    rem_read = set(_names(link_state.REMOVAL_MATCH_FIELDS))
    ice_other = {f.name for f in dataclasses.fields(AdultRecord)} - ice_read - {"record_id", "a_number"}
    rem_other = {f.name for f in dataclasses.fields(RemovalRecord)} - rem_read - {"record_id", "a_number"}
    assert ice_other and rem_other
    adult = next(a for a in snap.adults if a.apprehension_date and a.claimed_children)
    removal = snap.removals[0]
    base = Person(0, [adult], [removal])
    for name in ice_other:
        _assert_unread(
            base, Person(0, [dataclasses.replace(adult, **{name: _other(getattr(adult, name))})], [removal])
        )
    for name in rem_other:
        _assert_unread(
            base, Person(0, [adult], [dataclasses.replace(removal, **{name: _other(getattr(removal, name))})])
        )


def _names(getter: object) -> list[str]:
    # attrgetter's repr names its attributes: operator.attrgetter('a', 'b')
    return [part.strip(" '") for part in repr(getter).split("(", 1)[1].rstrip(")").split(",")]


def _other(value: object) -> object:
    import datetime as dt

    if isinstance(value, bool):
        return not value
    if isinstance(value, dt.datetime):
        return value + dt.timedelta(days=3)
    if isinstance(value, dt.date):
        return value + dt.timedelta(days=3)
    return "CHANGED" if value != "CHANGED" else "OTHER"


def _assert_unread(a: Person, b: Person) -> None:
    va, vb = PersonView.of(a), PersonView.of(b)
    for f in dataclasses.fields(PersonView):
        if f.name != "person":
            assert getattr(va, f.name) == getattr(vb, f.name), f.name
    ia, ib = BlockingIndex([a]), BlockingIndex([b])
    assert dict(ia.by_key) == dict(ib.by_key) and dict(ia.multi_day) == dict(ib.multi_day)
    assert link_state.person_match_digest(a) == link_state.person_match_digest(b)


_PRINTS = """
import hashlib
from pipeline import reconcile
from pipeline.match.link_state import fingerprint
from pipeline.match.model import prior_model
from pipeline.sim.world import generate_world
prep = reconcile.prepare(generate_world(150, seed=27).to_snapshot(), model=prior_model())
p = fingerprint(prep.cviews, prep.people, prep.index, prep.dna_index, prep.rejected, prep.confirmed)
print(hashlib.sha256(b"".join(p.children) + "".join(p.people).encode()).hexdigest(), p.ordered)
"""


@pytest.mark.parametrize("seeds", [("1", "2")])
def test_fingerprints_do_not_depend_on_the_hash_salt(seeds: tuple[str, str]) -> None:
    outs = []
    for seed in seeds:
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)}
        run = subprocess.run(
            [sys.executable, "-c", _PRINTS], env=env, capture_output=True, text=True, check=True
        )
        outs.append(run.stdout.strip())
    assert outs[0] == outs[1] and outs[0].endswith("True")


def test_links_of_another_matcher_or_out_of_order_people_are_not_reused() -> None:
    world = generate_world(200, seed=28)
    snap = world.to_snapshot()
    first = reconcile.reconcile_reusing(snap, world.as_of)
    assert first.links is not None
    prep = reconcile.prepare(snap, model=first.model)
    prints = fingerprint(prep.cviews, prep.people, prep.index, prep.dna_index, prep.rejected, prep.confirmed)
    assert len(first.links.reusable(prep.cviews, prints, prep.model)) == len(prep.cviews)
    other = dataclasses.replace(first.links, matcher="another version")
    assert other.reusable(prep.cviews, prints, prep.model) == {}
    # pids that do not follow the people's first ICE record ids: nothing reused, nothing kept
    swapped = [*prep.people]
    swapped[0], swapped[1] = swapped[1], swapped[0]
    _, ordered = link_state.identities(swapped)
    assert not ordered and link_state.identities(prep.people)[1]
    prints.ordered = False
    assert first.links.reusable(prep.cviews, prints, prep.model) == {}
    firsts = prep.linker().first_pass(prep.cviews, prep.index, prep.dna_index)
    assert LinkState.of(firsts, prints, prep.model).children == {}


def test_an_unreadable_link_state_is_refused() -> None:
    with pytest.raises(MatchStateError):
        link_state.loads("not a link state")
    with pytest.raises(MatchStateError):
        link_state.loads(link_state.dumps(LinkState(b"m")).replace("A", "B", 3))
