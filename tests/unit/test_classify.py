"""The contract's status table, one test per row, and the location, cohort and reason rules."""

from __future__ import annotations

import dataclasses
import re
from datetime import date
from pathlib import Path

import pytest
from factories import AS_OF, TS, adult, child, dna, removal

from pipeline import classify
from pipeline.classify import ParentFacts
from pipeline.results import BLOCKED_STATUSES, STATUS_WORDS


def _status(children, parent):  # type: ignore[no-untyped-def]
    return classify.status(children, parent, classify.location(children, parent, AS_OF))


def test_reunified_first() -> None:
    kids = [child(discharge_type="reunified_with_parent", discharge_date=date(2018, 7, 1)), child("ORR-2")]
    parent = ParentFacts([adult(custody_status="removed")], [], dna_exclusion=True)
    assert _status(kids, parent) == "reunified"


def test_discharged_other() -> None:
    assert (
        _status([child(discharge_type="released_to_sponsor")], ParentFacts([adult()], []))
        == "discharged_other"
    )


def test_not_a_parent_on_dna_exclusion() -> None:
    assert (
        _status([child()], ParentFacts([adult(custody_status="removed")], [], dna_exclusion=True))
        == "not_a_parent"
    )


def test_parent_removed() -> None:
    assert (
        _status([child()], ParentFacts([adult(criminal_history="serious")], [removal()])) == "parent_removed"
    )


def test_parent_in_criminal_custody() -> None:
    parent = ParentFacts([adult(custody_status="criminal_custody", medical_hold=True)], [])
    assert _status([child()], parent) == "parent_in_criminal_custody"


def test_safety_concern_serious_history() -> None:
    assert _status(
        [child()], ParentFacts([adult(criminal_history="serious", custody_status="released")], [])
    ) == ("safety_concern")


def test_safety_concern_medical_hold_on_any_record() -> None:
    parent = ParentFacts([adult(), adult("ICE-2", medical_hold=True, custody_as_of=date(2018, 1, 1))], [])
    assert _status([child()], parent) == "safety_concern"


def test_parent_released() -> None:
    assert _status([child()], ParentFacts([adult(custody_status="released")], [])) == "parent_released"


def test_eligible() -> None:
    assert _status([child()], ParentFacts([adult()], [])) == "eligible"


def test_no_parent_match() -> None:
    assert _status([child()], None) == "no_parent_match"


def test_location_latest_event_wins() -> None:
    parent = ParentFacts(
        [
            adult(custody_status="removed", custody_as_of=date(2018, 5, 1)),
            adult("ICE-2", custody_status="detained", custody_as_of=date(2018, 6, 30)),
        ],
        [removal(removal_date=date(2018, 6, 2))],
    )
    loc = classify.location([child()], parent, AS_OF)
    assert (loc.state, loc.resolved, loc.since, loc.facility) == (
        "in_ice_custody",
        True,
        date(2018, 6, 30),
        "Eloy",
    )


def test_location_removal_wins_a_tie() -> None:
    parent = ParentFacts([adult(custody_as_of=date(2018, 6, 20))], [removal(removal_date=date(2018, 6, 20))])
    loc = classify.location([child()], parent, AS_OF)
    assert (loc.state, loc.resolved, loc.country, loc.days_unresolved) == ("removed", False, "GUATEMALA", 22)


def test_location_with_child_when_reunified() -> None:
    kids = [child(discharge_type="reunified_with_parent", discharge_date=date(2018, 7, 2))]
    loc = classify.location(kids, ParentFacts([adult(custody_status="removed")], []), AS_OF)
    assert (loc.state, loc.resolved, loc.since) == ("with_child", True, date(2018, 7, 2))


def test_location_unknown_without_parent_or_after_exclusion() -> None:
    assert classify.location([child()], None, AS_OF).state == "unknown"
    excluded = ParentFacts([adult()], [], dna_exclusion=True)
    assert classify.location([child()], excluded, AS_OF).resolved is False


def test_released_is_unresolved_criminal_custody_resolved() -> None:
    assert (
        classify.location([child()], ParentFacts([adult(custody_status="released")], []), AS_OF).resolved
        is False
    )
    crim = ParentFacts([adult(custody_status="criminal_custody")], [])
    assert classify.location([child()], crim, AS_OF).resolved is True


def test_cohort_from_recorded_dob() -> None:
    assert classify.cohort([child(dob=date(2013, 7, 13))], AS_OF) == "under_5"
    assert classify.cohort([child(dob=date(2013, 7, 12))], AS_OF) == "5_and_over"
    # a placeholder 1 January counts as recorded
    assert classify.cohort([child(dob=date(2013, 1, 1))], AS_OF) == "5_and_over"
    assert classify.cohort([child(dob=None)], AS_OF) == "unknown"


def test_reason_serious_criminal_history_and_disease() -> None:
    parent = ParentFacts([adult(criminal_history="serious"), adult("ICE-2", medical_hold=True)], [])
    assert classify.reasons([child()], parent, []) == ["communicable_disease", "serious_criminal_history"]


def test_reasons_not_for_an_excluded_adult() -> None:
    parent = ParentFacts([adult(criminal_history="serious")], [], dna_exclusion=True)
    assert classify.reasons([child()], parent, []) == []


def test_reason_possible_us_citizen() -> None:
    assert classify.reasons([child(country="UNITED STATES")], None, []) == ["possible_us_citizen"]


def test_reason_dna_pending_until_decided() -> None:
    parent = ParentFacts([adult()], [])
    assert classify.reasons([child()], parent, [dna("pending")]) == ["dna_pending"]
    later = dataclasses.replace(dna("match", record_id="DNA-2"), reported_at=TS.replace(day=5))
    assert classify.reasons([child()], parent, [dna("pending"), later]) == []


def _contract_status_rows() -> list[str]:
    contract = Path(__file__).resolve().parents[3] / "shared" / "CONTRACT.md"
    if not contract.exists():
        pytest.skip(f"no contract at {contract}")
    section = contract.read_text().split("**Status**", 1)[1].split("**Cohort**", 1)[0]
    return re.findall(r"^\| `(\w+)` \|", section, flags=re.M)


def test_the_status_table_is_the_contracts_in_its_precedence() -> None:
    assert tuple(_contract_status_rows()) == classify.STATUSES
    assert tuple(rule.status for rule in classify.STATUS_RULES) == classify.STATUSES


def test_every_status_has_plain_words_and_the_blocked_ones_are_statuses() -> None:
    assert set(STATUS_WORDS) == set(classify.STATUSES)
    assert set(BLOCKED_STATUSES) <= set(classify.STATUSES)


def test_the_first_rule_that_holds_decides_and_the_last_always_holds() -> None:
    facts = classify.StatusFacts(
        reunified=False, discharged=False, linked=True, dna_exclusion=True, location="removed", safety=True
    )
    assert classify.status_of(facts) == "not_a_parent"
    assert classify.status_of(dataclasses.replace(facts, dna_exclusion=False)) == "parent_removed"
    assert classify.status_of(dataclasses.replace(facts, linked=False)) == "no_parent_match"
    # a linked adult that nothing places: the table's last row
    placeless = dataclasses.replace(facts, dna_exclusion=False, location="unknown", safety=False)
    assert classify.status_of(placeless) == "no_parent_match"
