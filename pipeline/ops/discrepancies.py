"""Conflicts between (or within) the agencies' feeds that the data owners must fix.

* ``a_number_dob``: records that share one A-number give dates of birth that no keying noise
  explains (placeholder 1 January, day/month swap and a year off are noise, not conflicts);
* ``a_number_name``: records that share one A-number name different people (neither the first
  given name nor any surname agrees, one typo allowed);
* ``two_facilities``: one child (as the run merged its records) has open records, without a
  discharge, in two different facilities;
* ``detained_and_removed``: one adult (as the run recognised the person across ICE and the
  removal list) is ``detained`` in an ICE record and removed in a removal row on the same date;
* ``location_flip``: a parent's location went back to an earlier state between succeeded runs
  (e.g. removed, then in ICE custody, then removed);
* ``future_updated_at``: a record's update time is after the run's start plus the allowed clock
  skew (``REUNIFY_CLOCK_SKEW_SECONDS``; 9999-12-31, say): kept, but it never moves the feed's
  high-water mark;
* ``impossible_date``: a date that cannot be true at the run's report date (``pipeline.dates``: a
  date of birth after it or before 1900, a custody ``as_of``, ``REMOVAL_DATE`` or other event
  after it): the run took that field as unknown. The other kinds look at the records as the run
  did, without these dates.

Descriptions carry record ids, field names, facility ids, custody states and dates only; the
conflicting personal values (A-numbers, names, dates of birth) are listed only ``with_names``.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from itertools import combinations

from pipeline import dates
from pipeline.match.adults import build_people
from pipeline.match.compare import dob_compatible, given_agree, given_tokens, name_near, surname_tokens
from pipeline.ops.common import resolve_run, table
from pipeline.ops.escape import json_text
from pipeline.ops.result_row import result_rows
from pipeline.records import FeedSnapshot
from pipeline.snapshot import load_snapshot
from pipeline.store import RunInfo, Store
from pipeline.store.models import HistoryRow

KINDS: tuple[str, ...] = (
    "a_number_dob",
    "a_number_name",
    "two_facilities",
    "detained_and_removed",
    "location_flip",
    "future_updated_at",
    "impossible_date",
)


@dataclass(frozen=True, slots=True)
class Discrepancy:
    """One conflict: its kind, the records concerned, a description without personal data, and the
    conflicting personal values (shown only with names)."""

    kind: str
    record_ids: tuple[str, ...]
    detail: str
    values: tuple[str, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class _Ident:
    feed: str
    record_id: str
    a_number: str
    first: str
    last: str
    dob: date | None

    def name(self) -> str:
        return f"{self.first} {self.last}".strip()


def _names_agree(a: _Ident, b: _Ident) -> bool:
    ga, gb = given_tokens(a.first), given_tokens(b.first)
    sa, sb = surname_tokens(a.last), surname_tokens(b.last)
    if not (ga or sa) or not (gb or sb):
        return True  # nothing to compare
    if given_agree(ga, gb):
        return True
    return any(name_near(x, y) for x in sa for y in sb)


def a_number_conflicts(snapshot: FeedSnapshot) -> list[Discrepancy]:
    """Records sharing an A-number whose dates of birth or names cannot be the same person's."""
    groups: dict[str, list[_Ident]] = defaultdict(list)
    for c in snapshot.children:
        if c.a_number:
            groups[c.a_number].append(
                _Ident("orr", c.record_id, c.a_number, c.first_name, c.last_name, c.dob)
            )
    for a in snapshot.adults:
        if a.a_number:
            groups[a.a_number].append(
                _Ident("ice", a.record_id, a.a_number, a.first_name, a.last_name, a.dob)
            )
    for r in snapshot.removals:
        if r.a_number:
            groups[r.a_number].append(
                _Ident("removals", r.record_id, r.a_number, r.first_name, r.last_name, r.dob)
            )
    out: list[Discrepancy] = []
    for number in sorted(groups):
        recs = sorted(groups[number], key=lambda i: (i.feed, i.record_id))
        if len({i.record_id for i in recs}) < 2:
            continue
        dob_pairs = [
            (a, b) for a, b in combinations(recs, 2) if a.dob and b.dob and not dob_compatible(a.dob, b.dob)
        ]
        if dob_pairs:
            involved = sorted({i.record_id for pair in dob_pairs for i in pair})
            dobs = sorted({i.dob.isoformat() for pair in dob_pairs for i in pair if i.dob})
            out.append(
                Discrepancy(
                    "a_number_dob",
                    tuple(involved),
                    f"{len(involved)} records share one A-number, {len(dobs)} incompatible birth dates",
                    (
                        f"A-number {number}",
                        *(f"{i.record_id}: born {i.dob}" for i in recs if i.record_id in involved),
                    ),
                )
            )
        name_pairs = [(a, b) for a, b in combinations(recs, 2) if not _names_agree(a, b)]
        if name_pairs:
            involved = sorted({i.record_id for pair in name_pairs for i in pair})
            out.append(
                Discrepancy(
                    "a_number_name",
                    tuple(involved),
                    f"{len(involved)} records share one A-number but name different people",
                    (
                        f"A-number {number}",
                        *(f"{i.record_id}: {i.name()}" for i in recs if i.record_id in involved),
                    ),
                )
            )
    return out


def two_facilities(snapshot: FeedSnapshot, child_groups: Iterable[Sequence[str]]) -> list[Discrepancy]:
    """Children whose open records (no discharge) are in more than one facility."""
    by_id = {c.record_id: c for c in snapshot.children}
    out = []
    for record_ids in child_groups:
        open_recs = [
            by_id[rid]
            for rid in sorted(record_ids)
            if rid in by_id and by_id[rid].discharge_type is None and by_id[rid].facility_id
        ]
        facilities = sorted({str(r.facility_id) for r in open_recs})
        if len(facilities) > 1:
            where = ", ".join(f"{r.facility_id} ({r.record_id})" for r in open_recs)
            out.append(
                Discrepancy(
                    "two_facilities",
                    tuple(r.record_id for r in open_recs),
                    f"one child has open records (no discharge) in {len(facilities)} facilities: {where}",
                )
            )
    return out


def detained_and_removed(snapshot: FeedSnapshot) -> list[Discrepancy]:
    """Adults an ICE record has detained on the very date a removal row says they were removed."""
    out = []
    for person in build_people(snapshot.adults, snapshot.removals):
        removed = {r.removal_date: r for r in person.removals}
        for rec in sorted(person.ice, key=lambda r: r.record_id):
            day = rec.custody_as_of
            if rec.custody_status == "detained" and day is not None and day in removed:
                rem = removed[day]
                out.append(
                    Discrepancy(
                        "detained_and_removed",
                        (rec.record_id, rem.record_id),
                        f"{rec.record_id} says detained as of {day.isoformat()}; "
                        f"{rem.record_id} says removed on {day.isoformat()}",
                    )
                )
    return out


def location_flips(history: Iterable[HistoryRow]) -> list[Discrepancy]:
    """Parents whose location returned to an earlier state across succeeded runs (oldest first)."""
    runs: dict[tuple[str, str], list[HistoryRow]] = defaultdict(list)
    for h in history:
        if h.parent_key is not None and h.location_state != "with_child":
            runs[(h.parent_key, h.child_key)].append(h)
    by_parent: dict[str, tuple[list[str], list[HistoryRow]]] = {}
    for (parent, child), rows in sorted(runs.items()):
        steps: list[HistoryRow] = []
        for h in rows:
            if not steps or steps[-1].location_state != h.location_state:
                steps.append(h)
        states = [s.location_state for s in steps]
        if len(states) != len(set(states)):
            by_parent.setdefault(parent, ([], steps))[0].append(child)
    out = []
    for parent, (children, steps) in sorted(by_parent.items()):
        path = " -> ".join(f"{s.location_state} ({s.as_of.isoformat()})" for s in steps)
        out.append(
            Discrepancy(
                "location_flip",
                (parent, *children),
                f"parent {parent} (child {', '.join(children)}) went back and forth between runs: {path}",
            )
        )
    return out


def future_updated(snapshot: FeedSnapshot, run: RunInfo, skew_seconds: float) -> list[Discrepancy]:
    """Records updated after the run's start plus the clock skew allowed (by feed and record id)."""
    cutoff = dates.latest_plausible_update(run.started_at, skew_seconds)
    return [
        Discrepancy(
            "future_updated_at",
            (record_id,),
            f"{feed} record {record_id} is updated after the run started (beyond "
            f"REUNIFY_CLOCK_SKEW_SECONDS={skew_seconds:g}): kept, not used as the feed's high-water mark",
        )
        for feed, record_id in dates.future_dated(snapshot, cutoff)
    ]


def impossible_dates(snapshot: FeedSnapshot, as_of: date) -> list[Discrepancy]:
    """Dates that cannot be true at the report date, by feed, record id, field and rule (the value
    only with names: a date of birth is personal data)."""
    return [
        Discrepancy(
            "impossible_date",
            (bad.record_id,),
            f"{bad.feed} record {bad.record_id}: {bad.field} {dates.RULES[bad.rule]} ({bad.rule}); "
            "taken as unknown",
            (f"{bad.record_id}: {bad.field} {bad.value.isoformat()}",),
        )
        for bad in dates.snapshot_impossible_dates(snapshot, as_of)
    ]


def find_discrepancies(
    store: Store, run_id: str | None, skew_seconds: float
) -> tuple[RunInfo, list[Discrepancy]]:
    """Every discrepancy in a succeeded run's records (default: the latest) and in the run history;
    ``skew_seconds`` is ``REUNIFY_CLOCK_SKEW_SECONDS``."""
    run = resolve_run(store, run_id)
    raw = load_snapshot(run.id, store)  # as stored: the raw dates
    screened = dates.screen_snapshot(raw, run.as_of)
    groups = [r.child_record_ids for r in result_rows(store, run.id)]
    found = [
        *a_number_conflicts(screened),
        *two_facilities(screened, groups),
        *detained_and_removed(screened),
        *location_flips(store.iter_history()),
        *future_updated(raw, run, skew_seconds),
        *impossible_dates(raw, run.as_of),
    ]
    order = {k: i for i, k in enumerate(KINDS)}
    return run, sorted(found, key=lambda d: (order[d.kind], d.record_ids))


def render_text(run: RunInfo, found: Sequence[Discrepancy], with_names: bool) -> str:
    """A terminal listing, grouped by kind, with a count per kind."""
    out = [f"discrepancies in run {run.id} (report date {run.as_of}) and the run history: {len(found)}"]
    for kind in KINDS:
        mine = [d for d in found if d.kind == kind]
        out.append(f"  {kind}: {len(mine)}")
    rows = []
    for d in found:
        rows.append([d.kind, ", ".join(d.record_ids), d.detail])
        if with_names:
            rows += [["", "", f"  {v}"] for v in d.values]
    if rows:
        out += ["", table(["kind", "records", "detail"], rows)]
    if not with_names and any(d.values for d in found):
        out.append("\n(conflicting A-numbers, names and dates of birth are shown with --with-names)")
    return "\n".join(out) + "\n"


def render_json(found: Sequence[Discrepancy], with_names: bool) -> str:
    """JSON lines, one discrepancy each (values only with names)."""
    lines = []
    for d in found:
        obj = asdict(d)
        obj["record_ids"] = list(d.record_ids)
        obj["values"] = list(d.values) if with_names else []
        lines.append(json_text(json.dumps(obj, ensure_ascii=False)) + "\n")
    return "".join(lines)
