"""What a plausible date is (pipeline.dates): the rules at their edges, what screening changes,
and which update times are after a run's start plus the clock skew."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

import pytest
from factories import AS_OF, TS, adult, child, dna, removal

from pipeline import dates
from pipeline.parse import NO_TIMESTAMP
from pipeline.records import FeedSnapshot

DAY = timedelta(days=1)


@pytest.mark.parametrize(
    ("dob", "rule"),
    [
        (AS_OF, None),
        (AS_OF + DAY, dates.AFTER_REPORT_DATE),
        (date(1900, 1, 1), None),
        (date(1899, 12, 31), dates.BEFORE_1900),
        (None, None),
    ],
)
def test_a_date_of_birth_is_evidence_from_1900_to_the_report_date(dob: date | None, rule: str | None) -> None:
    assert dates.birth_rule(dob, AS_OF) == rule


def test_an_event_is_evidence_up_to_the_report_date_however_old() -> None:
    assert dates.event_rule(AS_OF, AS_OF) is None
    assert dates.event_rule(date(1850, 1, 1), AS_OF) is None
    assert dates.event_rule(AS_OF + DAY, AS_OF) == dates.AFTER_REPORT_DATE


def test_a_record_whose_dates_are_all_evidence_is_screened_to_itself() -> None:
    for record in (child(), adult(claimed=[("Ana", date(2010, 3, 4))]), removal()):
        assert dates.screen(record, AS_OF) is record
        assert dates.impossible_dates("any", record, AS_OF) == []


def test_screening_makes_only_the_impossible_dates_unknown() -> None:
    kid = child(dob=date(2112, 3, 4), apprehension_date=date(9999, 12, 31))
    assert dates.screen(kid, AS_OF) == child(dob=None, apprehension_date=None)

    parent = adult(
        dob=date(1880, 6, 7),
        custody_as_of=date(9999, 12, 31),
        claimed=[("Ana", date(1810, 3, 4)), ("Luis", date(2012, 1, 1))],
    )
    assert dates.screen(parent, AS_OF) == adult(
        dob=None, custody_as_of=None, claimed=[("Ana", None), ("Luis", date(2012, 1, 1))]
    )
    assert parent.custody_as_of == date(9999, 12, 31), "the input record is not modified"

    row = removal(removal_date=date(9999, 12, 31))
    assert dates.screen(row, AS_OF) == removal(removal_date=None)


def test_impossible_dates_name_the_feed_field_rule_and_raw_value() -> None:
    parent = adult(dob=date(1880, 6, 7), claimed=[("Luis", date(2012, 1, 1)), ("Ana", date(2112, 3, 4))])
    assert dates.impossible_dates("ice", parent, AS_OF) == [
        dates.ImpossibleDate("ice", "ICE-1", "birth_date", dates.BEFORE_1900, date(1880, 6, 7)),
        dates.ImpossibleDate(
            "ice", "ICE-1", "claimed_children[1].dob", dates.AFTER_REPORT_DATE, date(2112, 3, 4)
        ),
    ]
    snapshot = FeedSnapshot(
        children=[child("ORR-2", discharge_date=AS_OF + DAY), child("ORR-1")],
        adults=[parent],
        removals=[removal(dob=date(1066, 10, 14))],
    )
    found = dates.snapshot_impossible_dates(snapshot, AS_OF)
    assert [(d.feed, d.record_id, d.field) for d in found] == [
        ("ice", "ICE-1", "birth_date"),
        ("ice", "ICE-1", "claimed_children[1].dob"),
        ("orr", "ORR-2", "discharge.date"),
        ("removals", "RM-1", "DOB"),
    ]
    assert set(dates.RULES) == {d.rule for d in found}


def test_an_update_after_the_start_plus_the_skew_is_future_dated() -> None:
    started = TS
    cutoff = dates.latest_plausible_update(started, 300)
    assert cutoff == started + timedelta(minutes=5)
    snapshot = FeedSnapshot(
        children=[
            child("ORR-1", updated_at=cutoff),
            child("ORR-2", updated_at=cutoff + timedelta(microseconds=1)),
            child("ORR-3", updated_at=NO_TIMESTAMP),  # the feed gave none
        ],
        adults=[adult("ICE-1", updated_at=None), adult("ICE-2", updated_at=TS.replace(year=9999))],
        dna=[dataclasses.replace(dna("match"), reported_at=TS.replace(year=9999))],
    )
    assert dates.future_dated(snapshot, cutoff) == [("dna", "DNA-1"), ("ice", "ICE-2"), ("orr", "ORR-2")]
    assert dates.update_time(snapshot.children[2]) is None
