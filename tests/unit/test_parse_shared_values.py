"""Records parsed apart hold one object for a repeated field value (a name, a facility), and the
table that keeps those objects stays bounded whatever a feed sends."""

from __future__ import annotations

import json

import pytest

from pipeline import parse


def _detainee(subject_id: str, first: str, last: str) -> bytes:
    return json.dumps(
        {
            "subject_id": subject_id,
            "first_name": first,
            "last_name": last,
            "gender": "F",
            "citizenship": "HONDURAS",
            "custody": {"status": "detained", "facility_code": "PISPC", "facility_name": "Port Isabel SPC"},
            "apprehension_station": "RGV",
            "criminal_history": "none",
            "medical_hold": False,
            "updated_at": "2018-07-06T04:51:00Z",
        }
    ).encode()


def test_equal_values_of_two_decoded_records_are_one_object() -> None:
    a = parse.parse_adult(_detainee("ICE-1", "VILMA DILCIA", "ROMERO GUTIERREZ"))
    b = parse.parse_adult(_detainee("ICE-2", "VILMA DILCIA", "ROMERO GUTIERREZ"))
    for field in ("first_name", "last_name", "custody_status", "facility_code", "facility_name", "station"):
        assert getattr(a, field) == getattr(b, field)
        assert getattr(a, field) is getattr(b, field), field


def test_removal_rows_share_their_names_and_port() -> None:
    def row(rid: str) -> dict[str, str]:
        # each cell a new string, as the CSV reader gives them
        return {
            "REMOVAL_ID": rid,
            "A_NUMBER": "",
            "LAST_NAME": "".join(["RAMOS", " CUC"]),
            "FIRST_NAME": "".join(["JU", "AN"]),
            "DOB": "",
            "COUNTRY": "HONDURAS",
            "REMOVAL_DATE": "01/10/2018",
            "PORT": "".join(["HARLINGEN", " TX"]),
        }

    a, b = parse.parse_removal(row("RM-1")), parse.parse_removal(row("RM-2"))
    assert a.first_name is b.first_name and a.last_name is b.last_name and a.port is b.port


def test_the_shared_values_table_empties_when_full(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parse, "_SHARED", {})
    monkeypatch.setattr(parse, "_SHARED_MAX", 8)
    for n in range(100):
        parse.parse_adult(_detainee(f"ICE-{n}", f"GIVEN{n}", f"SURNAME{n}"))
        assert len(parse._SHARED) <= 8
    # still the same values after it emptied
    record = parse.parse_adult(_detainee("ICE-x", "ANA", "LOPEZ"))
    assert (record.first_name, record.last_name, record.facility_code) == ("ANA", "LOPEZ", "PISPC")


def test_a_value_seen_before_is_still_stripped_and_one_object_with_its_text() -> None:
    bare = parse.parse_adult(_detainee("ICE-1", "MARIA", "LOPEZ"))
    padded = parse.parse_adult(_detainee("ICE-2", "  MARIA ", "LOPEZ  "))
    again = parse.parse_adult(_detainee("ICE-3", "  MARIA ", "LOPEZ  "))
    assert padded.first_name == again.first_name == "MARIA" and padded.last_name == "LOPEZ"
    assert padded.first_name is bare.first_name is again.first_name


def test_a_refused_value_is_refused_every_time_it_comes() -> None:
    # the table keeps only values that passed the check: the second copy is checked again
    for subject_id in ("ICE-1", "ICE-2"):
        assert parse.fast_adult(_detainee(subject_id, "ANA\x00", "LOPEZ")) is None
