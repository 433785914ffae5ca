"""Source records as an operator reads them: the fields that matter, one row per field, records side
by side. Works on the raw payloads the run stored (as the agencies sent them). Shows names, A-numbers
and dates of birth: for operators working a case, never for logs."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pipeline.feeds.fetch import adapter
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
        view = adapter(self.feed).view  # each feed shows its own fields (its adapter module)
        return base | {k: v for k, v in view(self.raw).items() if v}


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
