"""The truth oracle: each child's expected result, derived from the payloads by CONTRACT.md section 4."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from pipeline import normalise
from pipeline.results import RESOLVED_STATES
from pipeline.sim.world.model import World

_US = frozenset({"UNITED STATES", "USA", "US", "UNITED STATES OF AMERICA"})
_ICE_STATE = {
    "detained": "in_ice_custody",
    "criminal_custody": "in_criminal_custody",
    "released": "released",
    "removed": "removed",
}


def compute_truth(world: World) -> list[dict[str, Any]]:
    """Each child's expected result (the sample's ``expected.jsonl`` shape), by CONTRACT.md §4.

    Reads the payloads as served: for a repeated record id the copy with the latest update
    time counts, malformed entries are ignored, and a record id that only a malformed entry
    carries does not appear. Sorted by first child record id, as the sample is.
    """
    bad = {feed: set(idx) for feed, idx in world.malformed.items()}
    children = _latest(world.orr, "childId", "updatedAt", bad.get("orr", set()))
    adults = _latest(world.ice, "subject_id", "updated_at", bad.get("ice", set()))
    results = _latest(world.dna, "case_id", "reported_at", bad.get("dna", set()))
    rows: dict[str, list[str]] = {}
    bad_rows = bad.get("removals", set())
    for i, row in enumerate(world.removals):
        if i not in bad_rows and row:
            rows[row[0]] = row  # a repeated removal id: the later row counts
    dna_by_child: dict[str, list[dict[str, Any]]] = {}
    for result in results.values():
        cid = result.get("child_id")
        if isinstance(cid, str):
            dna_by_child.setdefault(cid, []).append(result)

    out: list[dict[str, Any]] = []
    for link in world.links:
        kids = [children[c] for c in link.child_record_ids if c in children]
        if not kids:
            continue
        ice_ids = sorted(i for i in link.ice_record_ids if i in adults)
        rm_ids = sorted(r for r in link.removal_record_ids if r in rows)
        parent_ice = [adults[i] for i in ice_ids]
        parent_rows = [rows[r] for r in rm_ids]
        has_parent = bool(ice_ids or rm_ids)
        kid_ids = sorted(k["childId"] for k in kids)

        discharge_types = {(k.get("discharge") or {}).get("type") for k in kids} - {None}
        parent_a = {normalise.a_number(a.get("a_number")) for a in parent_ice}
        parent_a |= {normalise.a_number(r[1]) for r in parent_rows}
        parent_a.discard(None)
        pair_results = (
            [
                r
                for cid in kid_ids
                for r in dna_by_child.get(cid, [])
                if r.get("adult_subject_id") in ice_ids
                or (
                    r.get("adult_subject_id") is None
                    and normalise.a_number(r.get("adult_a_number")) in parent_a
                )
            ]
            if has_parent
            else []
        )
        excluded = any(r.get("result") == "exclusion" for r in pair_results)
        serious = any(a.get("criminal_history") == "serious" for a in parent_ice)
        medical = any(a.get("medical_hold") is True for a in parent_ice)

        state = _parent_state(parent_ice, parent_rows) if has_parent else "unknown"
        if "reunified_with_parent" in discharge_types:
            state = "with_child"
        elif excluded:
            state = "unknown"  # the adult is not the parent

        # the truth keeps its own copy of classify.STATUS_RULES on purpose: an independent oracle
        if "reunified_with_parent" in discharge_types:
            status = "reunified"
        elif discharge_types:
            status = "discharged_other"
        elif excluded:
            status = "not_a_parent"
        elif not has_parent:
            status = "no_parent_match"
        elif state == "removed":
            status = "parent_removed"
        elif state == "in_criminal_custody":
            status = "parent_in_criminal_custody"
        elif serious or medical:
            status = "safety_concern"
        elif state == "released":
            status = "parent_released"
        elif state == "in_ice_custody":
            status = "eligible"
        else:
            status = "no_parent_match"

        reasons = set()
        # Flags about the adult only hold while the adult is taken to be the parent.
        if has_parent and not excluded:
            if serious:
                reasons.add("serious_criminal_history")
            if medical:
                reasons.add("communicable_disease")
            if any(r.get("result") == "pending" for r in pair_results):
                reasons.add("dna_pending")
        if any(normalise.country(k.get("countryOfBirth")) in _US for k in kids):
            reasons.add("possible_us_citizen")

        out.append(
            {
                "child_record_ids": kid_ids,
                "cohort": _cohort(kids, world.as_of),
                "status": status,
                "parent": {"ice_record_ids": ice_ids, "removal_record_ids": rm_ids} if has_parent else None,
                "parent_location": {"state": state, "resolved": state in RESOLVED_STATES},
                "reasons": sorted(reasons),
            }
        )
    out.sort(key=lambda o: str(o["child_record_ids"][0]))
    return out


def _latest(payload: Sequence[Any], id_key: str, time_key: str, bad: set[int]) -> dict[str, dict[str, Any]]:
    """The latest copy of each record id among the well-formed entries."""
    out: dict[str, dict[str, Any]] = {}
    stamps: dict[str, datetime] = {}
    for i, raw in enumerate(payload):
        if i in bad or not isinstance(raw, dict):
            continue
        rid = raw.get(id_key)
        if not isinstance(rid, str):
            continue
        try:
            stamp = normalise.iso_datetime(raw.get(time_key))
        except ValueError:
            stamp = datetime.min.replace(tzinfo=UTC)
        if rid not in out or stamp >= stamps[rid]:
            out[rid] = raw
            stamps[rid] = stamp
    return out


def _parent_state(parent_ice: Sequence[Mapping[str, Any]], parent_rows: Sequence[Sequence[str]]) -> str:
    """Location from the latest-dated custody event; a removal wins a tie."""
    best: tuple[date, int] | None = None
    state = "unknown"
    for adult in parent_ice:
        custody = adult.get("custody") or {}
        day = normalise.iso_date(custody.get("as_of"))
        status = custody.get("status")
        if day is None or status not in _ICE_STATE:
            continue
        if best is None or (day, 0) > best:
            best, state = (day, 0), _ICE_STATE[status]
    for row in parent_rows:
        day = normalise.us_date(row[6])
        if day is not None and (best is None or (day, 1) > best):
            best, state = (day, 1), "removed"
    return state


def _cohort(kids: Sequence[Mapping[str, Any]], as_of: date) -> str | list[str]:
    cohorts = set()
    for kid in kids:
        dob = normalise.iso_date(kid.get("dateOfBirth"))
        if dob is not None:
            cohorts.add("under_5" if normalise.age_years(dob, as_of) < 5 else "5_and_over")
    if not cohorts:
        return "unknown"
    if len(cohorts) == 1:
        return cohorts.pop()
    return sorted(cohorts)  # the records disagree: either cohort is right
