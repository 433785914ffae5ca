"""Source records as an operator reads them: the fields that matter, one row per field, records side
by side. Works on the raw payloads the run stored (as the agencies sent them). Shows names, A-numbers
and dates of birth: for operators working a case, never for logs."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pipeline.ops.common import table
from pipeline.store import Store

FIELDS: tuple[str, ...] = (
    "record",
    "A-number",
    "name",
    "date of birth",
    "sex",
    "country",
    "apprehension",
    "custody / facility",
    "reported parent / claimed children",
    "discharge / removal",
    "flags",
    "updated",
)


@dataclass(frozen=True, slots=True)
class SourceRecord:
    """One stored source record: its feed, id, raw payload (None when the run no longer holds it)."""

    feed: str
    record_id: str
    raw: Mapping[str, Any] | None

    def fields(self) -> dict[str, str]:
        """The display fields of this record (see FIELDS)."""
        base = {"record": f"{self.feed.upper()} {self.record_id}"}
        if self.raw is None:
            return base | {"name": "(record not kept for this run)"}
        view = {"orr": _orr, "ice": _ice, "removals": _removal, "dna": _dna}[self.feed]
        return base | {k: v for k, v in view(self.raw).items() if v}


def _s(value: Any) -> str:
    return "" if value is None else str(value)


def _orr(r: Mapping[str, Any]) -> dict[str, str]:
    app = r.get("apprehension") or {}
    rep = r.get("reportedParent") or {}
    dis = r.get("discharge") or {}
    return {
        "A-number": _s(r.get("aNumber")),
        "name": f"{_s(r.get('firstName'))} {_s(r.get('lastName'))}".strip(),
        "date of birth": _s(r.get("dateOfBirth")),
        "sex": _s(r.get("sex")),
        "country": _s(r.get("countryOfBirth")),
        "apprehension": " ".join(
            x for x in (_s(app.get("eventId")), _s(app.get("date")), _s(app.get("station"))) if x
        ),
        "custody / facility": " ".join(
            x
            for x in (
                _s(r.get("facilityId")),
                _s(r.get("facilityName")),
                f"admitted {_s(r.get('admittedAt'))}",
            )
            if x
        ),
        "reported parent / claimed children": f"{_s(rep.get('name'))} ({_s(rep.get('relation'))})"
        if rep
        else "",
        "discharge / removal": f"{_s(dis.get('type'))} {_s(dis.get('date'))}".strip() if dis else "",
        "updated": _s(r.get("updatedAt")),
    }


def _ice(r: Mapping[str, Any]) -> dict[str, str]:
    c = r.get("custody") or {}
    claims = "; ".join(
        f"{_s(k.get('name'))}{' ' + _s(k.get('dob')) if k.get('dob') else ''}"
        for k in (r.get("claimed_children") or [])
        if isinstance(k, Mapping)
    )
    flags = []
    if r.get("criminal_history"):
        flags.append(f"criminal history {r['criminal_history']}")
    if r.get("medical_hold"):
        flags.append("medical hold")
    app = (r.get("apprehension_event_id"), r.get("apprehension_date"), r.get("apprehension_station"))
    return {
        "A-number": _s(r.get("a_number")),
        "name": f"{_s(r.get('first_name'))} {_s(r.get('last_name'))}".strip(),
        "date of birth": _s(r.get("birth_date")),
        "sex": _s(r.get("gender")),
        "country": _s(r.get("citizenship")),
        "apprehension": " ".join(_s(x) for x in app if x),
        "custody / facility": " ".join(
            x for x in (_s(c.get("status")), _s(c.get("facility_code")), f"as of {_s(c.get('as_of'))}") if x
        ),
        "reported parent / claimed children": claims,
        "flags": ", ".join(flags),
        "updated": _s(r.get("updated_at")),
    }


def _removal(r: Mapping[str, Any]) -> dict[str, str]:
    return {
        "A-number": _s(r.get("A_NUMBER")),
        "name": f"{_s(r.get('FIRST_NAME'))} {_s(r.get('LAST_NAME'))}".strip(),
        "date of birth": _s(r.get("DOB")),
        "country": _s(r.get("COUNTRY")),
        "discharge / removal": f"removed {_s(r.get('REMOVAL_DATE'))} via {_s(r.get('PORT'))}",
    }


def _dna(r: Mapping[str, Any]) -> dict[str, str]:
    return {
        "A-number": f"adult {_s(r.get('adult_a_number'))} child {_s(r.get('child_a_number'))}",
        "name": f"adult {_s(r.get('adult_subject_id'))}, child {_s(r.get('child_id'))}",
        "flags": f"DNA {_s(r.get('result'))}",
        "updated": _s(r.get("reported_at")),
    }


def fetch(store: Store, run_id: str, feed: str, record_ids: Sequence[str]) -> list[SourceRecord]:
    """The stored records of a run's feed, in the order asked (placeholders for records not kept)."""
    found = store.get_feed_payloads(run_id, feed, record_ids)
    return [SourceRecord(feed, rid, json.loads(found[rid]) if rid in found else None) for rid in record_ids]


def dna_for_child(
    store: Store, run_id: str, record_ids: Sequence[str], a_number: str | None
) -> list[SourceRecord]:
    """The run's DNA results that name one of the child's records or its A-number."""
    from pipeline.normalise import a_number as norm_a

    out = []
    wanted = set(record_ids)
    for text in store.iter_feed_payloads(run_id, "dna"):
        raw = json.loads(text)
        if raw.get("child_id") in wanted or (a_number and norm_a(raw.get("child_a_number")) == a_number):
            out.append(SourceRecord("dna", str(raw.get("case_id")), raw))
    return out


def side_by_side(records: Sequence[SourceRecord], labels: Sequence[str] | None = None) -> str:
    """Records as columns, fields as rows (only fields some record has)."""
    views = [r.fields() for r in records]
    head = ["", *(labels or [v["record"] for v in views])]
    rows = [[f, *(v.get(f, "") for v in views)] for f in FIELDS if any(v.get(f) for v in views)]
    return table(head, rows)
