import copy
from typing import Any

import pytest

from pipeline.errors import MalformedRecord
from pipeline.parse import parse_adult, parse_child, parse_dna, parse_removal

CHILD: dict[str, Any] = {
    "childId": "ORR-0001929",
    "aNumber": "A-216-707-355",
    "firstName": "Jennifer Daniela",
    "lastName": "López García",
    "dateOfBirth": "2012-05-19",
    "sex": "F",
    "countryOfBirth": "Guatemala",
    "facilityId": "TX-0002",
    "facilityName": "Bokenkamp Shelter 2",
    "admittedAt": "2018-06-19",
    "apprehension": {"eventId": None, "date": "2018-06-16", "station": "ELC-CAX"},
    "reportedParent": {"name": "Norma García", "relation": "mother"},
    "discharge": None,
    "updatedAt": "2018-06-21T21:56:00Z",
}
ADULT: dict[str, Any] = {
    "subject_id": "ICE-00009358",
    "a_number": "A-204-946-313",
    "first_name": "ANA",
    "last_name": "REYES",
    "birth_date": "1973-04-20",
    "gender": "F",
    "citizenship": "HONDURAS",
    "custody": {
        "status": "detained",
        "facility_code": "ELOY",
        "facility_name": "Eloy",
        "as_of": "2018-06-29",
    },
    "apprehension_event_id": "CBP-20180007085",
    "apprehension_date": "2018-05-02",
    "apprehension_station": None,
    "criminal_history": "none",
    "medical_hold": False,
    "claimed_children": [{"name": "JUAN PEREZ", "dob": None}],
    "updated_at": "2018-06-29T19:57:00Z",
}


def test_a_valid_child_record_parses_with_normalised_fields() -> None:
    child = parse_child(CHILD)
    assert child.record_id == "ORR-0001929"
    assert child.a_number == "216707355"
    assert child.country == "GUATEMALA"
    assert child.station == "ELC-CAX"
    assert child.reported_parent_relation == "mother"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"childId": None}, "childId"),
        ({"firstName": 12345}, "firstName"),
        ({"dateOfBirth": "19/05/2012"}, "dateOfBirth"),
        ({"apprehension": "yesterday"}, "apprehension"),
        ({"discharge": {"date": "2018-07-01", "type": "teleported"}}, "type"),
    ],
)
def test_a_malformed_child_record_says_which_field(change: dict[str, Any], reason: str) -> None:
    raw = copy.deepcopy(CHILD) | change
    with pytest.raises(MalformedRecord) as err:
        parse_child(raw)
    assert reason in err.value.reason


def test_a_non_object_is_malformed() -> None:
    with pytest.raises(MalformedRecord, match="not a JSON object"):
        parse_child("not an object")
    with pytest.raises(MalformedRecord, match="not a JSON object"):
        parse_adult(["garbage"])


def test_a_malformed_reason_never_quotes_the_value() -> None:
    raw = copy.deepcopy(CHILD) | {"dateOfBirth": "Jennifer-born-2012"}
    with pytest.raises(MalformedRecord) as err:
        parse_child(raw)
    assert "Jennifer" not in err.value.reason


def test_an_adult_record_parses_custody_and_claims() -> None:
    adult = parse_adult(ADULT)
    assert adult.custody_status == "detained"
    assert adult.claimed_children[0].name == "JUAN PEREZ"
    assert adult.a_number == "204946313"


def test_an_adult_with_a_non_boolean_medical_hold_is_malformed() -> None:
    with pytest.raises(MalformedRecord, match="medical_hold"):
        parse_adult(ADULT | {"medical_hold": "yes"})


def test_a_removal_row_parses_us_dates() -> None:
    row = {
        "REMOVAL_ID": "RM-1",
        "A_NUMBER": "",
        "LAST_NAME": "DIAZ",
        "FIRST_NAME": "CARLOS",
        "DOB": "05/01/1980",
        "COUNTRY": "GUATEMALA",
        "REMOVAL_DATE": "05/24/2018",
        "PORT": "HARLINGEN TX",
    }
    removal = parse_removal(row)
    assert removal.a_number is None
    assert str(removal.removal_date) == "2018-05-24"
    with pytest.raises(MalformedRecord, match="REMOVAL_DATE"):
        parse_removal(row | {"REMOVAL_DATE": "sometime"})


def test_a_dna_result_needs_a_known_result() -> None:
    raw = {
        "case_id": "DNA-1",
        "adult_a_number": "204946313",
        "child_a_number": None,
        "adult_subject_id": "ICE-1",
        "child_id": "ORR-1",
        "result": "match",
        "reported_at": "2018-07-03T12:00:00Z",
    }
    assert parse_dna(raw).result == "match"
    with pytest.raises(MalformedRecord, match="result"):
        parse_dna(raw | {"result": "maybe"})


@pytest.mark.parametrize(
    ("record_id", "reason"),
    [
        ("ORR-\x000001", "childId holds a NUL character"),
        ("ORR-" + "9" * 252, "childId is longer than 255 characters"),
        ("ORR-\x1b[2J0001", "childId holds a control or invisible formatting character"),
        ("ORR-\u202e1000", "childId holds a control or invisible formatting character"),
        ("ORR-\ud8000001", "childId holds a lone surrogate (not valid Unicode)"),
    ],
)
def test_a_record_id_no_store_or_reader_can_take_is_malformed(record_id: str, reason: str) -> None:
    with pytest.raises(MalformedRecord) as info:
        parse_child({**CHILD, "childId": record_id})
    assert info.value.reason == reason and info.value.record_id is None
    assert parse_child({**CHILD, "childId": "ORR-" + "9" * 251}).record_id == "ORR-" + "9" * 251


@pytest.mark.parametrize(
    ("value", "problem"), [("Ana\x00", "NUL character"), ("\udfffAna", "lone surrogate")]
)
def test_a_text_field_no_store_can_take_is_malformed_naming_the_field(value: str, problem: str) -> None:
    with pytest.raises(MalformedRecord, match=f"^first_name holds a {problem}") as info:
        parse_adult({**ADULT, "first_name": value})
    assert info.value.record_id == "ICE-00009358"
    # control characters in a name are kept: every output escapes them
    assert parse_adult({**ADULT, "first_name": "\x1b[2JAna"}).first_name == "\x1b[2JAna"
