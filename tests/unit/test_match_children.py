"""Child de-duplication across re-referrals."""

from __future__ import annotations

from datetime import date

from factories import child

from pipeline.match.children import group_children

#: a re-referral's admission, weeks after the first (the factory's 2018-05-03)
REREFERRED = date(2018, 5, 24)


def _groups(*records):  # type: ignore[no-untyped-def]
    return sorted(sorted(g.record_ids) for g in group_children(records))


def test_same_a_number_merges_despite_dob_year_off() -> None:
    a = child("ORR-1", a_number="215645147", dob=date(2003, 1, 17))
    b = child("ORR-2", a_number="215645147", dob=date(2002, 1, 17))
    assert _groups(a, b) == [["ORR-1", "ORR-2"]]


def test_mis_keyed_a_number_merges_when_names_agree() -> None:
    a = child("ORR-1", a_number="215645147")
    b = child("ORR-2", a_number="215645174", first_name="Ana Maria", admitted_at=REREFERRED)
    assert _groups(a, b) == [["ORR-1", "ORR-2"]]


def test_near_a_number_of_another_child_does_not_merge() -> None:
    a = child("ORR-1", a_number="215645147")
    b = child("ORR-2", a_number="215645148", first_name="Pedro", dob=date(2008, 2, 2))
    assert _groups(a, b) == [["ORR-1"], ["ORR-2"]]


def test_no_a_number_name_dob_and_apprehension() -> None:
    a = child("ORR-1", first_name="María", last_name="Torres Rodríguez", event_id="CBP-1")
    b = child(
        "ORR-2",
        first_name="Maria",
        last_name="Torres",
        event_id=None,
        apprehension_date=date(2018, 5, 2),
        admitted_at=REREFERRED,
    )
    assert _groups(a, b) == [["ORR-1", "ORR-2"]]


def test_siblings_stay_apart() -> None:
    a = child("ORR-1", first_name="Ana", dob=date(2010, 3, 4))
    b = child("ORR-2", first_name="Luis", dob=date(2012, 8, 9))
    assert _groups(a, b) == [["ORR-1"], ["ORR-2"]]


def test_duplicate_record_id_collapses() -> None:
    assert _groups(child("ORR-1"), child("ORR-1")) == [["ORR-1"]]


def test_siblings_sharing_a_given_name_admitted_together_stay_apart() -> None:
    # no date of birth on one side, same apprehension: only the admissions tell them apart
    a = child("ORR-1", first_name="Rigoberto", dob=None)
    b = child("ORR-2", first_name="Rigoberto José", admitted_at=date(2018, 5, 5))
    assert _groups(a, b) == [["ORR-1"], ["ORR-2"]]


def test_re_referral_with_a_typo_in_the_given_name_merges() -> None:
    a = child("ORR-1", first_name="Alejandra", dob=date(2005, 1, 1))
    b = child("ORR-2", first_name="Alejanrda", dob=date(2005, 1, 18), admitted_at=REREFERRED)
    assert _groups(a, b) == [["ORR-1", "ORR-2"]]
