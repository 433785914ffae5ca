"""Mutation: a later state of a world (about a given fraction of records changed), truth recomputed."""

from __future__ import annotations

import json
import random
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any

from pipeline import normalise
from pipeline.sim import names
from pipeline.sim.world.model import ChildLink, World
from pipeline.sim.world.model import us_date as _us
from pipeline.sim.world.truth import compute_truth

_NEW_DNA = ("match", "pending", "inconclusive", "exclusion")


def mutate_world(world: World, fraction: float, seed: int, *, days: int = 1) -> World:
    """A later state of ``world``: about ``fraction`` of records change, the truth is recomputed.

    The report date moves ``days`` forward and every change is stamped after the old report
    date, so an incremental pull (``updated_since`` / ``since``) sees exactly the changes:
    children discharged or moved, adults released, removed, jailed or flagged, new removal
    rows (some late entries dated before the old report date), DNA results reported or
    updated. Changed records keep their place and id; the input world is not modified.
    """
    rng = random.Random(seed)
    old = world.as_of
    new_as_of = old + timedelta(days=days)
    out = World(
        as_of=new_as_of,
        seed=world.seed,
        orr=list(world.orr),
        ice=list(world.ice),
        removals=[list(row) for row in world.removals],
        dna=list(world.dna),
        links=[
            ChildLink(list(lk.child_record_ids), list(lk.ice_record_ids), list(lk.removal_record_ids))
            for lk in world.links
        ],
        malformed={k: list(v) for k, v in world.malformed.items()},
    )

    def when() -> date:
        return old + timedelta(days=rng.randint(1, days))

    def stamp(day: date) -> str:
        return f"{day.isoformat()}T{rng.randrange(24):02d}:{rng.randrange(60):02d}:00Z"

    bad = {feed: set(v) for feed, v in out.malformed.items()}
    orr_idx = [i for i, rec in enumerate(out.orr) if i not in bad["orr"] and isinstance(rec, dict)]
    ice_idx = [i for i, rec in enumerate(out.ice) if i not in bad["ice"] and isinstance(rec, dict)]
    parent_of: dict[str, ChildLink] = {}
    for link in out.links:
        for aid in link.ice_record_ids:
            parent_of[aid] = link

    status_of = {cid: obj["status"] for obj in world.truth for cid in obj["child_record_ids"]}
    for i in rng.sample(orr_idx, min(len(orr_idx), round(fraction * len(orr_idx)))):
        rec = json.loads(json.dumps(out.orr[i]))
        day = when()
        if rec.get("discharge") is None and rng.random() < 0.6:
            # Only a child whose parent could take them is reunified; others go to a sponsor.
            kind = "released_to_sponsor"
            if status_of.get(rec.get("childId")) == "eligible" and rng.random() < 0.7:
                kind = "reunified_with_parent"
            elif rng.random() < 0.2:
                kind = "other"
            rec["discharge"] = {"date": day.isoformat(), "type": kind}
        elif rec.get("discharge") is None:
            rec["facilityId"], rec["facilityName"] = _transfer(rng, out.orr, rec)
        rec["updatedAt"] = stamp(day)
        out.orr[i] = rec

    new_rows: list[tuple[list[str], str | None]] = []  # (row, the parent's ICE id or None)
    for i in rng.sample(ice_idx, min(len(ice_idx), round(fraction * len(ice_idx)))):
        rec = json.loads(json.dumps(out.ice[i]))
        day = when()
        custody = rec.get("custody") or {}
        x = rng.random()
        if custody.get("status") == "detained" and x < 0.75:
            status = rng.choices(("released", "removed", "criminal_custody"), (0.45, 0.4, 0.15))[0]
            code, name = (None, None) if status != "criminal_custody" else names.CRIMINAL_FACILITIES[0]
            rec["custody"] = {
                "status": status,
                "facility_code": code,
                "facility_name": name,
                "as_of": day.isoformat(),
            }
            if status == "removed" and rng.random() < 0.6:
                owner = rec["subject_id"] if rec["subject_id"] in parent_of else None
                new_rows.append((_row_for(rng, rec, day), owner))
        elif x < 0.85:
            rec["medical_hold"] = not bool(rec.get("medical_hold"))
            rec["custody"] = {**custody, "as_of": day.isoformat()}
        else:
            if rec.get("criminal_history") in (None, "none"):
                rec["criminal_history"] = rng.choice(("none", "non_serious", "serious"))
            rec["custody"] = {**custody, "as_of": day.isoformat()}
        rec["updated_at"] = stamp(day)
        out.ice[i] = rec

    # Late entries: removals of detained adults that reach the list with an earlier date.
    detained = [i for i in ice_idx if (out.ice[i].get("custody") or {}).get("status") == "detained"]
    for i in rng.sample(detained, min(len(detained), max(1, round(fraction * len(detained) * 0.2)))):
        rec = out.ice[i]
        day = old - timedelta(days=rng.randint(0, 10))
        owner = rec["subject_id"] if rec["subject_id"] in parent_of else None
        new_rows.append((_row_for(rng, rec, day), owner))
    next_id = 1 + max((int(r[0][3:]) for r in out.removals if r and r[0][3:].isdigit()), default=0)
    for row, owner in new_rows:
        row[0] = f"RM-{next_id:08d}"
        next_id += 1
        out.removals.append(row)
        if owner is not None:
            parent_of[owner].removal_record_ids.append(row[0])

    # DNA: pending cases resolve; some untested children get a first result.
    dna_idx = [i for i, rec in enumerate(out.dna) if i not in bad["dna"] and isinstance(rec, dict)]
    for i in dna_idx:
        rec = out.dna[i]
        if rec.get("result") == "pending" and rng.random() < min(1.0, fraction * 5):
            rec = dict(rec, result=rng.choices(("match", "inconclusive", "exclusion"), (0.85, 0.1, 0.05))[0])
            rec["reported_at"] = f"{when().isoformat()}T12:00:00Z"
            out.dna[i] = rec
    tested = {rec.get("child_id") for i, rec in enumerate(out.dna) if i in dna_idx}
    candidates = [lk for lk in out.links if lk.ice_record_ids and not tested & set(lk.child_record_ids)]
    next_case = 1 + max(
        (
            int(r["case_id"][4:])
            for r in (out.dna[i] for i in dna_idx)
            if str(r.get("case_id", ""))[4:].isdigit()
        ),
        default=0,
    )
    adults = {rec.get("subject_id"): rec for i, rec in enumerate(out.ice) if i in ice_idx}
    for link in rng.sample(candidates, min(len(candidates), round(fraction * len(out.links)))):
        adult = adults.get(link.ice_record_ids[-1]) or {}
        out.dna.append(
            {
                "case_id": f"DNA-{next_case:07d}",
                "adult_a_number": normalise.a_number(adult.get("a_number")),
                "child_a_number": None,
                "adult_subject_id": link.ice_record_ids[-1],
                "child_id": rng.choice(link.child_record_ids),
                "result": rng.choices(_NEW_DNA, (0.75, 0.15, 0.06, 0.04))[0],
                "reported_at": f"{when().isoformat()}T12:00:00Z",
            }
        )
        next_case += 1
    # Changes replace records in place or append well-formed ones: malformed indexes stand.
    out.truth = compute_truth(out)
    return out


def _transfer(rng: random.Random, orr: Sequence[Any], rec: Mapping[str, Any]) -> tuple[Any, Any]:
    """Another shelter already seen in the feed (a transfer between shelters)."""
    for _ in range(10):
        other = orr[rng.randrange(len(orr))]
        facility = other.get("facilityId") if isinstance(other, dict) else None
        if facility and facility != rec.get("facilityId"):
            return other["facilityId"], other.get("facilityName")
    return rec.get("facilityId"), rec.get("facilityName")


def _row_for(rng: random.Random, adult: Mapping[str, Any], day: date) -> list[str]:
    """A removal row for an ICE adult, written the way the removal list writes people."""
    dob = normalise.iso_date(adult.get("birth_date"))
    a = normalise.a_number(adult.get("a_number"))
    return [
        "@",
        a or "",
        normalise.fold(adult.get("last_name")),
        normalise.fold(adult.get("first_name")),
        _us(dob) if dob else "",
        normalise.country(adult.get("citizenship")) or "",
        _us(day),
        rng.choice(names.PORTS),
    ]
