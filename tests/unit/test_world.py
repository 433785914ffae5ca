"""The synthetic world generator: determinism, the contract's rules in its truth, round trips."""

from __future__ import annotations

import copy
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from pipeline import normalise
from pipeline.sim.world import (
    RESOLVED_STATES,
    STATUSES,
    ChildLink,
    World,
    compute_truth,
    find_malformed,
    generate_world,
    load_world,
    mutate_world,
)

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "samples"


@pytest.fixture(scope="module")
def world() -> World:
    return generate_world(400, seed=11)


def test_same_seed_same_world() -> None:
    a, b = generate_world(150, seed=3), generate_world(150, seed=3)
    assert (a.orr, a.ice, a.removals, a.dna, a.truth) == (b.orr, b.ice, b.removals, b.dna, b.truth)
    c = generate_world(150, seed=4)
    assert c.orr != a.orr


def test_volumes_follow_the_sample() -> None:
    w = generate_world(2300, seed=1)
    assert len(w.truth) == 2300
    assert 16_500 <= len(w.ice) <= 19_000  # the brief's ~17,800
    assert 15_000 <= len(w.removals) <= 17_000
    assert all(w.malformed[feed] for feed in ("orr", "ice", "removals", "dna"))


def test_malformed_indexes_are_what_the_parsers_reject(world: World) -> None:
    assert world.malformed == find_malformed(world)
    assert world.malformed["orr"] and world.malformed["ice"]


def test_every_well_formed_child_record_is_in_exactly_one_truth_object(world: World) -> None:
    bad = set(world.malformed["orr"])
    ids = [r["childId"] for i, r in enumerate(world.orr) if i not in bad]
    in_truth = [cid for obj in world.truth for cid in obj["child_record_ids"]]
    assert sorted(in_truth) == sorted(set(ids))
    assert not world.malformed_ids()["orr"] & set(in_truth)


def test_truth_follows_the_status_rules(world: World) -> None:
    seen = set()
    for obj in world.truth:
        status, loc, parent = obj["status"], obj["parent_location"], obj["parent"]
        seen.add(status)
        assert status in STATUSES
        assert loc["resolved"] == (loc["state"] in RESOLVED_STATES)
        assert obj["reasons"] == sorted(set(obj["reasons"]))
        assert (status == "reunified") == (loc["state"] == "with_child")
        if status == "no_parent_match":
            assert parent is None and loc["state"] == "unknown"
        if parent is None:
            assert status in {"no_parent_match", "discharged_other", "reunified"}
        if status == "not_a_parent":
            assert parent is not None and loc["state"] == "unknown"
        if status == "eligible":
            assert loc["state"] == "in_ice_custody"
            assert not {"serious_criminal_history", "communicable_disease"} & set(obj["reasons"])
        if status == "parent_removed":
            assert loc["state"] == "removed"
        if status == "parent_released":
            assert loc["state"] == "released"
        if status == "safety_concern":
            assert {"serious_criminal_history", "communicable_disease"} & set(obj["reasons"])
    # A 400-child world shows every status.
    assert seen == set(STATUSES)


def test_cohort_comes_from_the_recorded_date_of_birth(world: World) -> None:
    by_id = {r["childId"]: r for r in world.orr if isinstance(r, dict) and r.get("childId")}
    for obj in world.truth:
        dobs = [by_id[c]["dateOfBirth"] for c in obj["child_record_ids"] if by_id[c]["dateOfBirth"]]
        if not dobs:
            assert obj["cohort"] == "unknown"
            continue
        cohorts = {
            "under_5" if normalise.age_years(date.fromisoformat(d), world.as_of) < 5 else "5_and_over"
            for d in dobs
        }
        assert obj["cohort"] == (cohorts.pop() if len(cohorts) == 1 else sorted(cohorts))


def _tiny(
    ice: list[dict[str, Any]],
    rows: list[list[str]],
    dna: list[dict[str, Any]],
    discharge: dict[str, str] | None = None,
) -> dict[str, Any]:
    child = {
        "childId": "ORR-1",
        "firstName": "Ana",
        "lastName": "Pérez",
        "dateOfBirth": "2015-03-01",
        "countryOfBirth": "Honduras",
        "discharge": discharge,
        "updatedAt": "2018-06-01T00:00:00Z",
    }
    world = World(
        as_of=date(2018, 7, 12),
        seed=None,
        orr=[child],
        ice=ice,
        removals=rows,
        dna=dna,
        links=[ChildLink(["ORR-1"], [a["subject_id"] for a in ice], [r[0] for r in rows])],
    )
    world.malformed = find_malformed(world)
    return compute_truth(world)[0]


def _adult(rid: str, status: str, as_of: str, **extra: Any) -> dict[str, Any]:
    return {
        "subject_id": rid,
        "first_name": "ROSA",
        "last_name": "PEREZ",
        "criminal_history": "none",
        "medical_hold": False,
        "custody": {"status": status, "as_of": as_of},
        "updated_at": f"{as_of}T10:00:00Z",
        **extra,
    }


def _row(rid: str, day: str) -> list[str]:
    return [rid, "", "PEREZ", "ROSA", "", "HONDURAS", day, "EL PASO TX"]


def test_on_a_tie_the_removal_wins() -> None:
    obj = _tiny([_adult("ICE-1", "detained", "2018-07-01")], [_row("RM-1", "07/01/2018")], [])
    assert (obj["status"], obj["parent_location"]["state"]) == ("parent_removed", "removed")
    obj = _tiny([_adult("ICE-1", "detained", "2018-07-02")], [_row("RM-1", "07/01/2018")], [])
    assert (obj["status"], obj["parent_location"]["state"]) == ("eligible", "in_ice_custody")


def test_the_latest_ice_record_gives_the_location() -> None:
    stale = _adult("ICE-1", "detained", "2018-05-01")
    latest = _adult("ICE-2", "released", "2018-06-01")
    obj = _tiny([stale, latest], [], [])
    assert obj["status"] == "parent_released"
    assert obj["parent"] == {"ice_record_ids": ["ICE-1", "ICE-2"], "removal_record_ids": []}


def test_exclusion_makes_not_a_parent_but_a_discharge_comes_first() -> None:
    dna = [
        {
            "case_id": "DNA-1",
            "adult_subject_id": "ICE-1",
            "child_id": "ORR-1",
            "result": "exclusion",
            "reported_at": "2018-07-05T12:00:00Z",
        }
    ]
    adult = _adult("ICE-1", "detained", "2018-07-01", criminal_history="serious")
    obj = _tiny([adult], [], dna)
    assert (obj["status"], obj["parent_location"]["state"], obj["reasons"]) == ("not_a_parent", "unknown", [])
    obj = _tiny([adult], [], dna, discharge={"date": "2018-07-01", "type": "released_to_sponsor"})
    assert obj["status"] == "discharged_other"


def test_flags_are_listed_beyond_the_status() -> None:
    dna = [
        {
            "case_id": "DNA-1",
            "adult_subject_id": "ICE-1",
            "child_id": "ORR-1",
            "result": "pending",
            "reported_at": "2018-07-05T12:00:00Z",
        }
    ]
    adult = _adult("ICE-1", "removed", "2018-07-01", criminal_history="serious", medical_hold=True)
    obj = _tiny([adult], [], dna)
    assert obj["status"] == "parent_removed"
    assert obj["reasons"] == ["communicable_disease", "dna_pending", "serious_criminal_history"]
    obj = _tiny([_adult("ICE-1", "released", "2018-07-01", medical_hold=True)], [], [])
    assert obj["status"] == "safety_concern"
    reunified = _tiny([adult], [], dna, discharge={"date": "2018-07-02", "type": "reunified_with_parent"})
    assert (reunified["status"], reunified["parent_location"]) == (
        "reunified",
        {"state": "with_child", "resolved": True},
    )


def test_write_and_load_round_trip(world: World, tmp_path: Path) -> None:
    world.write(tmp_path)
    back = load_world(tmp_path)
    assert back.as_of == world.as_of and back.seed == world.seed
    assert (back.orr, back.ice, back.removals, back.dna) == (world.orr, world.ice, world.removals, world.dna)
    assert back.truth == world.truth == compute_truth(back)
    assert back.malformed == world.malformed


def test_mutation_changes_a_fraction_and_recomputes_the_truth(world: World) -> None:
    before = copy.deepcopy(world.orr)
    later = mutate_world(world, 0.05, seed=2)
    assert world.orr == before  # the input is left alone
    assert later.as_of > world.as_of
    changed = [b for a, b in zip(world.orr, later.orr, strict=False) if a != b]
    assert 0.03 * len(world.orr) <= len(changed) <= 0.07 * len(world.orr)
    cutoff = f"{world.as_of.isoformat()}T23:59:59Z"
    assert all(rec["updatedAt"] > cutoff for rec in changed)
    assert len(later.removals) > len(world.removals)
    assert later.truth == compute_truth(later)
    assert later.truth != world.truth
    assert mutate_world(world, 0.05, seed=2).truth == later.truth


@pytest.mark.sample
@pytest.mark.skipif(not SAMPLES.exists(), reason="shared samples not present")
def test_the_sample_loads_and_its_answer_follows_from_the_rules() -> None:
    sample = load_world(SAMPLES)
    assert sample.as_of == date(2018, 7, 12)
    assert {feed: len(idx) for feed, idx in sample.malformed.items()} == {
        "orr": 3,
        "ice": 2,
        "removals": 0,
        "dna": 0,
    }
    assert len(sample.truth) == 200
    assert compute_truth(sample) == sample.truth
