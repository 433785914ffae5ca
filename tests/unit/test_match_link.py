"""Parent–child linking: event id, ties that go to review, DNA, review decisions."""

from __future__ import annotations

from datetime import date

from factories import AS_OF, adult, child, dna

from pipeline.reconcile import reconcile
from pipeline.records import FeedSnapshot
from pipeline.results import ReviewDecision


def _decoys(n: int = 8) -> list:  # type: ignore[type-arg]
    # unrelated adults sharing the date and station, as real custody rolls do
    names = ["ROSA", "JOSE", "MARTA", "LUIS", "ELVIA", "CARLOS", "GLENDA", "PEDRO", "SONIA", "MARIO"]
    return [
        adult(
            f"ICE-D{i}",
            a_number=f"2{i:08d}",
            first_name=names[i % len(names)],
            last_name="RAMOS CRUZ",
            dob=date(1970 + i, 2, 3),
            sex="F" if i % 2 else "M",
        )
        for i in range(n)
    ]


def test_link_via_shared_event_id() -> None:
    kid = child(event_id="CBP-7", last_name="Pérez Soto", first_name="Lucía")
    parent = adult(
        "ICE-P", a_number="212345678", first_name="JORGE", last_name="PEREZ LOPEZ", event_id="CBP-7"
    )
    [res] = reconcile(FeedSnapshot([kid], [parent, *_decoys()]), AS_OF)
    assert res.parent is not None and res.parent.ice_record_ids == ["ICE-P"]
    assert any("same apprehension event id" in e for e in res.parent.evidence)
    assert res.status == "eligible" and 0.0 <= res.parent.match_score <= 1.0


def test_two_unrelated_adults_tie_goes_to_review() -> None:
    kid = child(
        first_name="Lucía", last_name="Pérez", reported_parent_name="Jorge", reported_parent_relation="father"
    )
    twins = [
        adult(
            f"ICE-{i}",
            a_number=f"21234567{i}",
            first_name="JORGE",
            last_name="PEREZ",
            dob=date(1980 + i * 5, 6, 7),
        )
        for i in (1, 2)
    ]
    [res] = reconcile(FeedSnapshot([kid], twins), AS_OF)
    assert res.parent is None
    assert res.needs_review is True
    assert res.status == "no_parent_match"


def test_dna_exclusion_links_but_not_a_parent() -> None:
    kid = child("ORR-1")
    excluded = adult("ICE-1", a_number="212345678", first_name="ROSA", last_name="GARCIA", sex="F")
    [res] = reconcile(FeedSnapshot([kid], [excluded, *_decoys()], [], [dna("exclusion")]), AS_OF)
    assert res.parent is not None and res.parent.ice_record_ids == ["ICE-1"]
    assert res.status == "not_a_parent"
    assert (res.parent_location.state, res.parent_location.resolved) == ("unknown", False)


def test_dna_match_is_decisive() -> None:
    kid = child("ORR-1", first_name="Ana", last_name="Soto")
    stranger = adult(
        "ICE-1",
        a_number="212345678",
        first_name="ROSA",
        last_name="GARCIA",
        sex="F",
        apprehension_date=None,
        station=None,
    )
    [res] = reconcile(FeedSnapshot([kid], [stranger], [], [dna("match")]), AS_OF)
    assert res.parent is not None and res.parent.match_score == 1.0


def test_review_reject_and_confirm() -> None:
    kid = child(event_id="CBP-7")
    parent = adult("ICE-P", a_number="212345678", last_name="LOPEZ", event_id="CBP-7")
    snap = FeedSnapshot([kid], [parent])
    [rejected] = reconcile(snap, AS_OF, [ReviewDecision("ORR-1", "ICE-P", "reject")])
    assert rejected.parent is None
    other = adult(
        "ICE-Q",
        a_number="298765432",
        first_name="ZOE",
        last_name="QUIROGA",
        apprehension_date=None,
        station=None,
        country="MEXICO",
    )
    [confirmed] = reconcile(
        FeedSnapshot([kid], [parent, other]), AS_OF, [ReviewDecision("ORR-1", "ICE-Q", "confirm")]
    )
    assert confirmed.parent is not None and confirmed.parent.ice_record_ids == ["ICE-Q"]
