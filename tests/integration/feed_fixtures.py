"""Shared helpers for the feed tests: a small synthetic world and what each feed should serve."""

from __future__ import annotations

import csv
import io
import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from pipeline.feeds.http import FeedClient, RetryPolicy
from pipeline.settings import FeedSettings
from pipeline.sim.payloads import WorldPayloads
from pipeline.sim.server import FeedSimulator

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "samples"
TIME_FIELDS = {"orr": "updatedAt", "ice": "updated_at", "dna": "reported_at"}
FAST = RetryPolicy(max_attempts=8, max_seconds=10.0, backoff_initial=0.001, backoff_max=0.01, jitter=0.001)

# Exactly which synthetic records are malformed, and why (reason fragments).
SYNTHETIC_MALFORMED = {
    "orr": ["not a JSON object", "missing or invalid childId", "dateOfBirth is not valid"],
    "ice": ["not a JSON object", "missing or invalid subject_id", "medical_hold must be true or false"],
    "removals": ["wrong number of columns", "wrong number of columns", "REMOVAL_DATE is not valid"],
    "dna": ["not a JSON object", "result has an unknown value"],
}


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def synthetic_payloads(seed: int = 7) -> WorldPayloads:
    """A small world in the contract's shapes, out of time order, with known malformed records."""
    rng = random.Random(seed)
    base = datetime(2018, 6, 1, tzinfo=UTC)
    orr: list[Any] = []
    for i in range(60):
        orr.append(
            {
                "childId": f"ORR-{i:07d}",
                "aNumber": f"A-2{i:02d}-707-355" if i % 3 else None,
                "firstName": "Jennifer Daniela" if i % 2 else "Juan",
                "lastName": "López García",
                "dateOfBirth": f"201{i % 8}-05-19",
                "sex": "F",
                "countryOfBirth": "Guatemala",
                "facilityId": "TX-0002",
                "facilityName": "Shelter 2",
                "admittedAt": "2018-06-19",
                "apprehension": {"eventId": None, "date": "2018-06-16", "station": "ELC-CAX"},
                "reportedParent": {"name": "Norma García", "relation": "mother"},
                "discharge": None,
                "updatedAt": _stamp(base + timedelta(hours=rng.randrange(0, 24 * 30))),
            }
        )
    orr.append(dict(orr[3], updatedAt=_stamp(base + timedelta(days=40))))  # a later copy of the same id
    orr.insert(5, "not an object")
    orr.insert(17, {"childId": None, "firstName": 12345, "updatedAt": _stamp(base)})
    orr.insert(40, dict(orr[20], childId="ORR-BADDATE", dateOfBirth="2012-13-45"))

    ice: list[Any] = []
    for i in range(45):
        ice.append(
            {
                "subject_id": f"ICE-{i:08d}",
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
                "apprehension_event_id": f"CBP-2018{i:07d}",
                "apprehension_date": "2018-05-02",
                "apprehension_station": None,
                "criminal_history": "none",
                "medical_hold": False,
                "claimed_children": [{"name": "JUAN PEREZ", "dob": None}],
                "updated_at": _stamp(base + timedelta(hours=rng.randrange(0, 24 * 30))),
            }
        )
    ice.insert(0, ["garbage"])
    ice.insert(22, {"subject_id": None, "first_name": None})
    ice.append(dict(ice[10], subject_id="ICE-BADHOLD", medical_hold="yes"))

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        ["REMOVAL_ID", "A_NUMBER", "LAST_NAME", "FIRST_NAME", "DOB", "COUNTRY", "REMOVAL_DATE", "PORT"]
    )
    for i in range(130):
        removed = date(2018, 1, 1) + timedelta(days=rng.randrange(0, 200))
        port = "LAREDO, TX" if i % 11 == 0 else ("MULTI\nLINE PORT" if i == 50 else "HARLINGEN TX")
        writer.writerow(
            [
                f"RM-{i:08d}",
                f"A-213-406-{i:03d}" if i % 4 else "",
                "MUÑOZ DIAZ" if i % 5 == 0 else "DIAZ ZELAYA",
                "CARLOS NELSON",
                "05/01/1980" if i % 7 else "",
                "GUATEMALA",
                removed.strftime("%m/%d/%Y"),
                port,
            ]
        )
        if i == 30:
            writer.writerow(["RM-TOO-MANY", "", "X", "Y", "", "GUATEMALA", "02/02/2018", "PORT", "EXTRA"])
        if i == 60:
            writer.writerow(["RM-TOO-FEW", "", "X"])
        if i == 90:
            writer.writerow(["RM-BAD-DATE", "", "X", "Y", "", "GUATEMALA", "13/45/2018", "PORT"])

    dna: list[Any] = []
    for i in range(35):
        dna.append(
            {
                "case_id": f"DNA-{i:07d}",
                "adult_a_number": "204946313",
                "child_a_number": None,
                "adult_subject_id": f"ICE-{i:08d}",
                "child_id": f"ORR-{i:07d}",
                "result": ["match", "exclusion", "inconclusive", "pending"][i % 4],
                "reported_at": _stamp(base + timedelta(hours=rng.randrange(0, 24 * 30))),
            }
        )
    dna.insert(9, 42)
    dna.append(dict(dna[3], case_id="DNA-BADRESULT", result="maybe"))
    return WorldPayloads(orr=orr, ice=ice, removals_csv=out.getvalue(), dna=dna)


def parse_instant(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def csv_rows(text: str) -> list[dict[str | None, Any]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def expected(payloads: WorldPayloads, feed: str, since: datetime | date | None = None) -> list[Any]:
    """What the feed serves, computed independently of the simulator."""
    if feed == "removals":
        rows = csv_rows(payloads.removals_csv)
        if since is None:
            return rows
        assert isinstance(since, date)
        out = []
        for row in rows:
            try:
                month, day, year = (row.get("REMOVAL_DATE") or "").split("/")
                if date(int(year), int(month), int(day)) >= since:
                    out.append(row)
            except ValueError:
                continue
        return out
    records: list[Any] = getattr(payloads, feed)
    if since is None:
        return list(records)
    assert isinstance(since, datetime)
    result = []
    for record in records:
        if isinstance(record, dict):
            stamp = parse_instant(record.get(TIME_FIELDS[feed]))
            if stamp is not None and stamp >= since:
                result.append(record)
    return result


def median_time(payloads: WorldPayloads, feed: str) -> datetime:
    stamps = sorted(
        s
        for r in getattr(payloads, feed)
        if isinstance(r, dict) and (s := parse_instant(r.get(TIME_FIELDS[feed])))
    )
    return stamps[len(stamps) // 2]


def client_for(
    sim: FeedSimulator,
    feed: str,
    *,
    token: str | None = None,
    timeout: float = 2.0,
    policy: RetryPolicy = FAST,
    **kw: Any,
) -> FeedClient:
    settings = FeedSettings(
        name=feed, url=sim.urls[feed], token=token if token is not None else sim.tokens[feed]
    )
    return FeedClient(settings, timeout=timeout, policy=policy, **kw)
