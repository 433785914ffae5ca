"""A mutation of a world in which an agency re-keyed people: the same records (names, A-numbers,
dates, custody) under new record ids, as when ICE migrates its detainees to another system or the
removal list is re-exported with new row ids. Case work must recognise such a person as the same
(pipeline/store/cases.py, rule 2 of the survival rule)."""

from __future__ import annotations

import json
from collections.abc import Iterable

from pipeline.sim.world import ChildLink, World, compute_truth


def reissue_ids(world: World, record_ids: Iterable[str], prefix: str = "NEW") -> World:
    """A copy of ``world`` whose ICE and removal records with these ids carry new ids
    (``ICE-00001`` -> ``ICE-NEW00001``), everywhere they are named (DNA results, the hidden
    links); the report date and everything else stay, and the truth is recomputed."""
    wanted = set(record_ids)

    def new(rid: str) -> str:
        head, _, tail = rid.partition("-")
        return f"{head}-{prefix}{tail}" if rid in wanted else rid

    out = World(
        as_of=world.as_of,
        seed=world.seed,
        orr=list(world.orr),
        ice=[
            dict(json.loads(json.dumps(rec)), subject_id=new(rec["subject_id"]))
            if isinstance(rec, dict) and rec.get("subject_id") in wanted
            else rec
            for rec in world.ice
        ],
        removals=[
            [new(row[0]), *row[1:]] if row and row[0] in wanted else list(row) for row in world.removals
        ],
        dna=[
            dict(rec, adult_subject_id=new(rec["adult_subject_id"]))
            if isinstance(rec, dict) and rec.get("adult_subject_id") in wanted
            else rec
            for rec in world.dna
        ],
        links=[
            ChildLink(
                list(lk.child_record_ids),
                [new(i) for i in lk.ice_record_ids],
                [new(i) for i in lk.removal_record_ids],
            )
            for lk in world.links
        ],
        malformed={k: list(v) for k, v in world.malformed.items()},
    )
    out.truth = compute_truth(out)
    return out
