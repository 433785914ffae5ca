"""Hand-made typed records for the matching and classification tests."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from pipeline.records import AdultRecord, ChildRecord, ClaimedChild, DnaResult, RemovalRecord

TS = datetime(2018, 7, 1, tzinfo=UTC)
AS_OF = date(2018, 7, 12)


def child(record_id: str = "ORR-1", **kw: Any) -> ChildRecord:
    base: dict[str, Any] = dict(
        record_id=record_id,
        a_number=None,
        first_name="Ana",
        last_name="López García",
        dob=date(2010, 3, 4),
        sex="F",
        country="GUATEMALA",
        facility_id="TX-1",
        facility_name="Shelter",
        admitted_at=date(2018, 5, 3),
        event_id=None,
        apprehension_date=date(2018, 5, 1),
        station="RGV-MCA",
        reported_parent_name=None,
        reported_parent_relation=None,
        discharge_date=None,
        discharge_type=None,
        updated_at=TS,
    )
    base.update(kw)
    return ChildRecord(**base)


def adult(record_id: str = "ICE-1", **kw: Any) -> AdultRecord:
    claimed = kw.pop("claimed", ())
    base: dict[str, Any] = dict(
        record_id=record_id,
        a_number=None,
        first_name="JUAN",
        last_name="LOPEZ PEREZ",
        dob=date(1980, 6, 7),
        sex="M",
        country="GUATEMALA",
        custody_status="detained",
        facility_code="ELOY",
        facility_name="Eloy",
        custody_as_of=date(2018, 6, 1),
        event_id=None,
        apprehension_date=date(2018, 5, 1),
        station="RGV-MCA",
        criminal_history="none",
        medical_hold=False,
        claimed_children=tuple(ClaimedChild(n, d) for n, d in claimed),
        updated_at=TS,
    )
    base.update(kw)
    return AdultRecord(**base)


def removal(record_id: str = "RM-1", **kw: Any) -> RemovalRecord:
    base: dict[str, Any] = dict(
        record_id=record_id,
        a_number=None,
        first_name="JUAN",
        last_name="LOPEZ PEREZ",
        dob=date(1980, 6, 7),
        country="GUATEMALA",
        removal_date=date(2018, 6, 20),
        port="HARLINGEN TX",
    )
    base.update(kw)
    return RemovalRecord(**base)


def dna(result: str, child_id: str = "ORR-1", adult_id: str = "ICE-1", record_id: str = "DNA-1") -> DnaResult:
    return DnaResult(record_id, None, None, adult_id, child_id, result, TS)
