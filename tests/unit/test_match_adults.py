"""Adult identity across duplicate ICE records and the removal list."""

from __future__ import annotations

from datetime import date

import pytest
from factories import adult, removal

from pipeline.match.adults import _file, _ident, _members, build_people


def _people(adults, removals=()):  # type: ignore[no-untyped-def]
    return sorted(sorted(p.ice_record_ids + p.removal_record_ids) for p in build_people(adults, removals))


def test_same_a_number_merges_and_attaches_removal() -> None:
    people = _people(
        [adult("ICE-1", a_number="204946313"), adult("ICE-2", a_number="204946313")],
        [removal("RM-1", a_number="204946313")],
    )
    assert people == [["ICE-1", "ICE-2", "RM-1"]]


def test_mis_keyed_a_number_with_same_name_and_dob() -> None:
    people = _people([adult("ICE-1", a_number="204946313"), adult("ICE-2", a_number="204946331")])
    assert people == [["ICE-1", "ICE-2"]]


def test_near_a_number_with_other_name_is_another_person() -> None:
    people = _people(
        [
            adult("ICE-1", a_number="204946313"),
            adult("ICE-2", a_number="204946314", first_name="PEDRO", last_name="RAMOS"),
        ]
    )
    assert people == [["ICE-1"], ["ICE-2"]]


def test_removal_without_a_number_by_name_and_noisy_dob() -> None:
    # dropped second surname, no accents, DOB a year off
    people = _people(
        [adult("ICE-1", a_number="210090736", first_name="JOSE", last_name="DIAZ LOPEZ")],
        [removal("RM-1", first_name="JOSE", last_name="DIAZ", dob=date(1981, 6, 7))],
    )
    assert people == [["ICE-1", "RM-1"]]


def test_ice_without_a_number_placeholder_dob() -> None:
    people = _people([adult("ICE-1", a_number="210090736"), adult("ICE-2", dob=date(1980, 1, 1))])
    assert people == [["ICE-1", "ICE-2"]]


def test_different_a_numbers_never_merge() -> None:
    people = _people([adult("ICE-1", a_number="210090736"), adult("ICE-2", a_number="299999999")])
    assert people == [["ICE-1"], ["ICE-2"]]


def test_namesake_with_other_dob_stays_apart() -> None:
    people = _people([adult("ICE-1"), adult("ICE-2", dob=date(1975, 11, 20))])
    assert people == [["ICE-1"], ["ICE-2"]]


def test_record_without_a_number_does_not_chain_two_numbered_people() -> None:
    # same name, same apprehension day, placeholder dates of birth: the bare record may be
    # either person, but never makes the two one
    people = _people(
        [
            adult("ICE-1", a_number="210090736", dob=date(1980, 1, 1)),
            adult("ICE-2", dob=date(1980, 1, 1)),
            adult("ICE-3", a_number="299999999", dob=date(1981, 1, 1)),
        ]
    )
    assert len(people) == 2
    assert not any("ICE-1" in p and "ICE-3" in p for p in people)


def test_second_surname_that_differs_is_another_person() -> None:
    people = _people([adult("ICE-1", a_number="210090736")], [removal("RM-1", last_name="LOPEZ CRUZ")])
    assert people == [["ICE-1"]]  # a row that fits nobody stays outside


def test_removal_whose_a_number_conflicts_is_not_attached() -> None:
    people = _people([adult("ICE-1", a_number="210090736")], [removal("RM-1", a_number="299999999")])
    assert people == [["ICE-1"]]


def test_placeholder_dob_fit_needs_no_rival_row() -> None:
    parent = adult("ICE-1", a_number="210090736", dob=date(1980, 1, 1))
    row = removal("RM-1", dob=date(1980, 3, 9))
    assert _people([parent], [row]) == [["ICE-1", "RM-1"]]
    # another removed JUAN LOPEZ born in 1980: the row could be either's
    rival = removal("RM-2", dob=date(1980, 8, 30))
    assert ["ICE-1", "RM-1"] not in _people([parent], [row, rival])


def test_removal_whose_number_is_on_someone_of_another_name_attaches_by_name() -> None:
    # the row's number is on an ICE record of another name: that record does not fit it, so the
    # row is still looked for by name and fits the numberless JUAN LOPEZ PEREZ
    other = adult("ICE-1", a_number="210090736", first_name="PEDRO", last_name="RAMOS", dob=date(1975, 2, 3))
    juan = adult("ICE-2")
    row = removal("RM-1", a_number="210090736")
    assert _people([other, juan], [row]) == [["ICE-1"], ["ICE-2", "RM-1"]]


@pytest.mark.parametrize(
    ("row_number", "attached"),
    [
        ("310090736", True),  # first digit mis-keyed: only the last four digits are the person's
        ("210090737", True),  # last digit mis-keyed: only the first four are
        ("211190736", False),  # the last four the person's, two other digits not: someone else
    ],
)
def test_removal_with_a_near_or_conflicting_number_by_either_half(row_number: str, attached: bool) -> None:
    people = _people([adult("ICE-1", a_number="210090736")], [removal("RM-1", a_number=row_number)])
    assert people == ([["ICE-1", "RM-1"]] if attached else [["ICE-1"]])


def test_a_bucket_of_one_record_is_its_index_and_reads_back_in_filing_order() -> None:
    buckets: dict[str, int | list[int]] = {}
    _file(buckets, "key", 7)
    assert buckets["key"] == 7 and list(_members(buckets, "key")) == [7]
    _file(buckets, "key", 3)
    _file(buckets, "key", 9)
    assert list(_members(buckets, "key")) == [7, 3, 9]
    assert list(_members(buckets, "other")) == []


def test_four_records_of_one_number_and_one_without_are_one_person() -> None:
    people = _people(
        [
            adult("ICE-1", a_number="204946313"),
            adult("ICE-2", a_number="204946313"),
            adult("ICE-3", a_number="204946313", first_name="JUAN CARLOS"),
            adult("ICE-4", event_id="EV-1"),
            adult("ICE-5", a_number="204946313", event_id="EV-1"),
        ],
        [removal("RM-1", a_number="204946313")],
    )
    assert people == [["ICE-1", "ICE-2", "ICE-3", "ICE-4", "ICE-5", "RM-1"]]


def test_records_of_one_name_share_one_name_key() -> None:
    table: dict[tuple[str, str, str], tuple[str, str, str]] = {}
    a = _ident(adult("ICE-1", first_name="Juan"), table)
    b = _ident(removal("RM-1", first_name="JUAN"), table)
    assert a.name_key == ("JUAN", "LOPEZ", "GUATEMALA") and a.name_key is b.name_key


@pytest.mark.parametrize(
    ("ice_number", "attached"),
    [
        (None, True),  # a numberless namesake with a typo in the given name fits the row
        ("210090737", True),  # so does one whose number is the row's one mis-keyed digit apart
        ("377745120", False),  # a number far from the row's rules the namesake out
    ],
)
def test_a_row_of_an_unknown_number_meets_a_typo_namesake_only_if_its_number_allows(
    ice_number: str | None, attached: bool
) -> None:
    # met on the day key: the surname, the country, the day of birth and the year one off
    ice = adult("ICE-1", a_number=ice_number, first_name="JUAM", dob=date(1981, 3, 9))
    row = removal("RM-1", a_number="210090736", dob=date(1980, 3, 9))
    assert _people([ice], [row]) == ([["ICE-1", "RM-1"]] if attached else [["ICE-1"]])
