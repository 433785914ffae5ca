"""Case work's part of the store: cases that outlive runs, their members, the append-only contact
attempts and case events, and bringing the cases up to a published run (``CaseStore.sync``).

A **case** is one parent to locate (the children who share that parent are one case), or one
child whose parent is to be found. The parents-to-locate list of a run holds every parent whose
location is unresolved for a child not yet reunified or discharged (``DONE_STATUSES``), and every
such child with no parent found (``no_parent_match``, or ``not_a_parent``: the linked adult was
excluded by DNA, so the real parent is to be found).

**How a case survives runs** (``sync``). A case follows a person, never a run's row: a parent
case's identity is the set of the parent's record ids across feeds (``ice:ICE-…``,
``removals:RM-…``), a find-the-parent case's the child's ORR record ids (``orr:ORR-…``). When a
run is published, its children are grouped by that identity (every parent, located or not, so
that a case is followed even while it is out of the list), and each group of the run takes over
an existing case of its kind by these rules, in this order:

1. **Shared record ids.** A group and a case that share at least one record id are the same
   person (a record id names one agency record; a new record joining the person, or an old one
   leaving, keeps the others in common). Where several cases and groups share ids, the pairs
   with the most ids in common are matched first (ties: the older case), one case per group:
   a case that loses its person to an older case is flagged (the matcher now sees two cases as
   one person), a group that finds its case taken becomes a new case flagged as split from it.
2. **The adult identity, when the ids changed upstream.** A parent group that matched no case
   by rule 1 takes over a parent case that matched no group by rule 1 when both hold at least one
   child in common (the same child key) *and* a record of the case's parent, as stored with the
   run the case was last seen in, and a record of the group's parent satisfy the matcher's own
   pairwise rule of one adult (``pipeline.match.adults.records_same_adult``: the same A-number
   with a name agreeing, a mis-keyed A-number with name and date of birth agreeing, or no
   A-number with name, country, sex and date of birth or apprehension agreeing). Both
   conditions, because namesakes are many and a wrong parent is worse than none. The oldest
   such case wins. A group split off a case, and a case merged into another, by rule 1 take no
   part. When that run's records were pruned the rule cannot apply: a new case is opened and the
   old one stays out of the list (flagged, since its child is now another case's).
3. Otherwise a group in the run's list opens a new case (state ``open``, nobody assigned).

A case that takes over a group gets the group's identity (ids replaced) and children, and the
run's figures; the work on it (state, assignee, contact attempts) stays. A case that matched no
group keeps its last identity (so that a later run can still find the person) and leaves the
list. **A case is flagged for a look** when a child it held is now in another group: linked to
another adult, left without a parent (the link dropped, or DNA excluded the adult), or, for a
find-the-parent case, given a parent. The flag names ids only; a case worker clears it.
"""

from __future__ import annotations

import dataclasses
import json
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from pipeline.errors import MalformedRecord, NotFoundError, StoreError
from pipeline.match.adults import records_same_adult
from pipeline.parse import parse_adult, parse_removal
from pipeline.records import AdultRecord, RemovalRecord
from pipeline.results import COHORTS
from pipeline.store import browse
from pipeline.store.history import child_key, parent_key
from pipeline.store.schema import (
    CASE_STATES,
    CONTACT_CHANNELS,
    CONTACT_LANGUAGES,
    CONTACT_OUTCOMES,
    STATED_WISHES,
    case_events,
    case_identities,
    case_members,
    case_syncs,
    cases,
    contact_attempts,
)
from pipeline.store.sql import Store
from pipeline.store.sql import _copy_rows as copy_rows

#: Statuses of children whose case work is over: they are in no list.
DONE_STATUSES: tuple[str, ...] = ("reunified", "discharged_other")
#: Who writes the events a sync records.
SYSTEM = "reunify"
_SYNC_LOCK = "case-sync"
_SYNC_WAIT_SECONDS = 120.0
_CHUNK = 500
_FIGURES = (
    "in_list",
    "parent_key",
    "cohort",
    "days_unresolved",
    "location_state",
    "country",
    "parent_facility",
    "children",
)


@dataclass(frozen=True, slots=True)
class Case:
    """A case: the work on it and the figures of the run it was last seen in."""

    id: int
    kind: str
    state: str
    close_reason: str | None
    assignee: str | None
    flag: str | None
    flagged_at: datetime | None
    created_at: datetime
    updated_at: datetime
    created_run_id: str
    seen_run_id: str
    in_list: bool
    parent_key: str | None
    cohort: str | None
    days_unresolved: int | None
    location_state: str
    country: str | None
    parent_facility: str | None
    children: int


@dataclass(frozen=True, slots=True)
class Member:
    """A child of a case in the run the case was last seen in."""

    case_id: int
    child_key: str
    status: str
    cohort: str
    facility: str | None
    facility_name: str | None


@dataclass(frozen=True, slots=True)
class ContactAttempt:
    """One attempt to reach a parent (or someone who can find them); never changed once stored."""

    id: int
    case_id: int
    attempted_at: datetime
    channel: str
    language: str
    outcome: str
    wish: str | None
    notes: str
    next_action: str
    next_action_due: date | None
    author: str
    recorded_at: datetime


@dataclass(frozen=True, slots=True)
class CaseEvent:
    """Something that happened to a case (created, assigned, state, flagged, followed, seen)."""

    id: int
    case_id: int
    at: datetime
    who: str
    event: str
    detail: str


@dataclass(frozen=True, slots=True)
class CaseFilter:
    """What the case list is narrowed to; None means any. ``assignee`` ``"-"``: nobody."""

    kind: str | None = None
    cohorts: tuple[str, ...] | None = None
    location_state: str | None = None
    country: str | None = None
    facility: str | None = None  # a child's ORR facility id
    assignee: str | None = None
    state: str | None = None
    flagged: bool | None = None


@dataclass(frozen=True, slots=True)
class SyncResult:
    """What bringing the cases up to a run did."""

    run_id: str
    synced: bool  # False: already done before
    cases: int = 0
    in_list: int = 0
    created: int = 0
    followed_by_identity: int = 0
    flagged: int = 0


# -- grouping a run's children by the person their case follows ------------------------------


@dataclass(slots=True)
class GroupChild:
    """What a case needs of one child of a run."""

    key: str
    status: str
    cohort: str
    resolved: bool
    state: str
    days_unresolved: int | None
    country: str | None
    parent_facility: str | None
    facility: str | None
    facility_name: str | None

    @property
    def open(self) -> bool:
        """In the list: not reunified or discharged, and the parent's location unresolved."""
        return self.status not in DONE_STATUSES and not self.resolved


@dataclass(slots=True)
class Group:
    """The children of a run who share one parent (or one child whose parent is to be found)."""

    kind: str
    ids: set[str]
    parent_key: str | None
    children: list[GroupChild] = field(default_factory=list)

    @property
    def in_list(self) -> bool:
        """True when any of its children is in the parents-to-locate list."""
        return any(c.open for c in self.children)

    def figures(self, cohort_rank: Mapping[str, int]) -> dict[str, Any]:
        """The case's list columns for this run: the most urgent open child's cohort (earliest
        deadline), the longest days unresolved, the parent's location."""
        pool = [c for c in self.children if c.open] or self.children
        lead = max(pool, key=lambda c: (c.days_unresolved or -1, c.key))
        days = [c.days_unresolved for c in pool if c.days_unresolved is not None]
        return {
            "in_list": self.in_list,
            "parent_key": self.parent_key,
            "cohort": min((c.cohort for c in pool), key=lambda co: (cohort_rank.get(co, 99), co)),
            "days_unresolved": max(days) if days else None,
            "location_state": lead.state,
            "country": lead.country,
            "parent_facility": lead.parent_facility,
            "children": len(self.children),
        }

    def members(self) -> set[tuple[Any, ...]]:
        """(child key, status, cohort, facility, facility name) of each child."""
        return {(c.key, c.status, c.cohort, c.facility, c.facility_name) for c in self.children}


def identity_of(result: Mapping[str, Any]) -> tuple[str, set[str]]:
    """(kind, tagged record ids) of the person the case of this export object follows."""
    parent = result.get("parent") or {}
    if parent and result.get("status") != "not_a_parent":
        ids = {f"ice:{i}" for i in parent.get("ice_record_ids") or ()}
        ids |= {f"removals:{i}" for i in parent.get("removal_record_ids") or ()}
        if ids:
            return "parent", ids
    return "find_parent", {f"orr:{i}" for i in result["child_record_ids"]}


def group_children(
    results: Iterable[Mapping[str, Any]], facilities: Mapping[str, tuple[str | None, str | None, str]]
) -> list[Group]:
    """A run's export objects grouped by the person each case follows (see the module docstring);
    ``facilities``: ORR record id -> (facility id, facility name, recency key)."""
    groups: list[Group] = []
    holder: dict[str, Group] = {}
    for r in results:
        loc = r.get("parent_location") or {}
        ids = list(r["child_record_ids"])
        known = [facilities[i] for i in ids if i in facilities]
        fac = max(known, key=lambda f: f[2]) if known else (None, None, "")
        child = GroupChild(
            key=child_key(dict(r)),
            status=str(r["status"]),
            cohort=str(r["cohort"]),
            resolved=bool(loc.get("resolved")),
            state=str(loc.get("state") or "unknown"),
            days_unresolved=loc.get("days_unresolved"),
            country=(str(loc["country"])[:64] if loc.get("country") else None),
            parent_facility=(str(loc["facility"])[:64] if loc.get("facility") else None),
            facility=(str(fac[0])[:64] if fac[0] else None),
            facility_name=(str(fac[1])[:255] if fac[1] else None),
        )
        kind, tagged = identity_of(r)
        if kind == "find_parent":
            groups.append(Group(kind, tagged, None, [child]))
            continue
        hits: list[Group] = []
        for i in sorted(tagged):
            g = holder.get(i)
            if g is not None and all(g is not h for h in hits):
                hits.append(g)
        if not hits:
            group = Group(kind, set(), parent_key(dict(r)))
            groups.append(group)
        else:
            group = hits[0]
            for other in hits[1:]:  # one person under ids two objects split (never expected)
                group.ids |= other.ids
                group.children += other.children
                groups.remove(other)
        group.ids |= tagged
        group.children.append(child)
        for i in group.ids:
            holder[i] = group
    for g in groups:
        g.children.sort(key=lambda c: c.key)
        if g.kind == "parent":  # as pipeline.store.history.parent_key: the smallest ICE id first
            ice = sorted(i[4:] for i in g.ids if i.startswith("ice:"))
            g.parent_key = ice[0] if ice else min(i.split(":", 1)[1] for i in g.ids)
    return groups


# -- the store ---------------------------------------------------------------------------------


_CASE_FIELDS = tuple(f.name for f in dataclasses.fields(Case))


def _case(row: Mapping[str, Any] | sa.RowMapping) -> Case:
    return Case(**{k: row[k] for k in _CASE_FIELDS})


def _check(value: str | None, vocabulary: Mapping[str, str], what: str, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if value not in vocabulary:
        raise StoreError(f"unknown {what} {value!r}: one of {', '.join(vocabulary)}")


class CaseStore:
    """Cases, members, contact attempts and case events, in the store's database."""

    def __init__(self, store: Store) -> None:
        self._store = store

    @property
    def store(self) -> Store:
        """The results store this works beside."""
        return self._store

    # -- sync ------------------------------------------------------------------------------------

    def synced_run(self) -> str | None:
        """The run the cases were last brought up to, or None."""
        s = case_syncs.c
        with self._store._read("reading the cases' run") as conn:
            value = conn.execute(
                sa.select(s.run_id).order_by(s.synced_at.desc(), s.run_id.desc()).limit(1)
            ).scalar()
        return None if value is None else str(value)

    def is_synced(self, run_id: str) -> bool:
        """True when the cases were brought up to ``run_id``."""
        with self._store._read("reading the cases' runs") as conn:
            found = conn.execute(sa.select(case_syncs.c.run_id).where(case_syncs.c.run_id == run_id)).first()
        return found is not None

    def sync(self, run_id: str, cohort_order: Sequence[str] = ()) -> SyncResult:
        """Bring the cases up to a succeeded run (once: again is a no-op), by the rules of the
        module docstring. ``cohort_order``: cohorts by deadline, earliest first."""
        if self.is_synced(run_id):
            return SyncResult(run_id, False)
        owner = f"sync-{uuid.uuid4().hex}"
        deadline = time.monotonic() + _SYNC_WAIT_SECONDS
        while not self._store.acquire_lock(_SYNC_LOCK, owner, int(_SYNC_WAIT_SECONDS)):
            if time.monotonic() > deadline:
                raise StoreError("another process has been bringing the cases up to a run for 2 minutes")
            time.sleep(0.1)
            if self.is_synced(run_id):
                return SyncResult(run_id, False)
        try:
            if self.is_synced(run_id):
                return SyncResult(run_id, False)
            return self._sync(run_id, {c: n for n, c in enumerate(cohort_order)})
        finally:
            self._store.release_lock(_SYNC_LOCK, owner)

    def child_facilities(self, run_id: str) -> dict[str, tuple[str | None, str | None, str]]:
        """ORR record id -> (facility id, facility name, recency key) of the run's ORR records."""
        out: dict[str, tuple[str | None, str | None, str]] = {}
        for payload in self._store.iter_feed_payloads(run_id, "orr"):
            try:
                obj = json.loads(payload)
                rid = obj.get("childId") if isinstance(obj, dict) else None
            except ValueError:
                continue
            if isinstance(rid, str):
                fac, name = obj.get("facilityId"), obj.get("facilityName")
                out[rid] = (
                    fac if isinstance(fac, str) else None,
                    name if isinstance(name, str) else None,
                    f"{obj.get('admittedAt') or ''}|{obj.get('updatedAt') or ''}",
                )
        return out

    def _adult_records(self, run_id: str, tagged: Iterable[str]) -> list[AdultRecord | RemovalRecord]:
        by_feed: dict[str, list[str]] = defaultdict(list)
        for t in tagged:
            feed, _, rid = t.partition(":")
            by_feed[feed].append(rid)
        out: list[AdultRecord | RemovalRecord] = []
        for feed, rids in by_feed.items():
            if feed not in ("ice", "removals"):
                continue
            for payload in self._store.get_feed_payloads(run_id, feed, rids).values():
                try:
                    obj = json.loads(payload)
                    out.append(parse_adult(obj) if feed == "ice" else parse_removal(obj))
                except (MalformedRecord, ValueError, TypeError, AttributeError):
                    continue
        return out

    def _same_adult(self, old_run: str, old_ids: Iterable[str], new_run: str, new_ids: Iterable[str]) -> bool:
        before = self._adult_records(old_run, old_ids)
        if not before:
            return False
        after = self._adult_records(new_run, new_ids)
        return any(records_same_adult(a, b) for a in before for b in after)

    def _sync(self, run_id: str, cohort_rank: Mapping[str, int]) -> SyncResult:
        groups = group_children(self._store.iter_results(run_id), self.child_facilities(run_id))
        c, i, m = cases.c, case_identities.c, case_members.c
        with self._store._read("reading the cases") as conn:
            old = {int(r["id"]): dict(r) for r in conn.execute(sa.select(cases)).mappings()}
            holders: dict[str, list[int]] = defaultdict(list)
            idents: dict[int, set[str]] = defaultdict(set)
            for cid, rid in conn.execute(sa.select(i.case_id, i.record_id)):
                holders[rid].append(int(cid))
                idents[int(cid)].add(str(rid))
            members: dict[int, set[tuple[Any, ...]]] = defaultdict(set)
            cases_of_child: dict[str, list[int]] = defaultdict(list)
            for row in conn.execute(
                sa.select(m.case_id, m.child_key, m.status, m.cohort, m.facility, m.facility_name)
            ):
                members[int(row[0])].add(tuple(row[1:]))
                cases_of_child[str(row[1])].append(int(row[0]))

        # rule 1: shared record ids, most in common first, the older case on a tie
        pairs: list[tuple[int, int, int]] = []
        for gi, g in enumerate(groups):
            counted = Counter(cid for rid in g.ids for cid in holders.get(rid, ()))
            pairs += [(-n, cid, gi) for cid, n in counted.items() if old[cid]["kind"] == g.kind]
        pairs.sort()
        case_of: dict[int, int] = {}  # group index -> case id
        group_of: dict[int, int] = {}  # case id -> group index
        best_rival: dict[int, int] = {}  # a case that lost its group -> the group
        overlapped: dict[int, int] = {}  # a group that lost its case -> the case
        for _, cid, gi in pairs:
            if gi in case_of or cid in group_of:
                if cid not in group_of:
                    best_rival.setdefault(cid, gi)
                if gi not in case_of:
                    overlapped.setdefault(gi, cid)
                continue
            case_of[gi], group_of[cid] = cid, gi
        for gi in case_of:
            overlapped.pop(gi, None)
        for cid in group_of:
            best_rival.pop(cid, None)

        # rule 2: the ids changed upstream, the adult identity says same person
        followed: set[int] = set()
        for gi, g in enumerate(groups):
            if gi in case_of or gi in overlapped or g.kind != "parent":
                continue
            shared = sorted(
                {
                    cid
                    for ch in g.children
                    for cid in cases_of_child.get(ch.key, ())
                    if cid not in group_of and cid not in best_rival and old[cid]["kind"] == "parent"
                }
            )
            for cid in shared:
                if self._same_adult(old[cid]["seen_run_id"], idents[cid], run_id, g.ids):
                    case_of[gi], group_of[cid] = cid, gi
                    followed.add(cid)
                    break

        child_group = {ch.key: gi for gi, g in enumerate(groups) for ch in g.children}
        now = self._store.now()
        updates: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        new_idents: dict[int, set[str]] = {}
        new_members: dict[int, set[tuple[Any, ...]]] = {}
        flags: dict[int, str] = {}
        for cid, before in old.items():
            got = group_of.get(cid)
            if got is not None:
                g = groups[got]
                want = g.figures(cohort_rank) | {"seen_run_id": run_id}
                if any(before[k] != v for k, v in want.items()):
                    updates.append({"b_id": cid, **want})
                if idents[cid] != g.ids:
                    new_idents[cid] = g.ids
                    if cid in followed:
                        detail = "the same person under new record ids (adult identity): "
                    else:
                        detail = "record ids now: "
                    events.append(_event(cid, now, "followed", detail + ", ".join(sorted(g.ids))[:2000]))
                if members[cid] != g.members():
                    new_members[cid] = g.members()
            elif before["in_list"]:  # not seen in this run: out of its list, identity kept
                keep = {k: before[k] for k in _FIGURES}
                updates.append({"b_id": cid, **keep, "in_list": False, "seen_run_id": before["seen_run_id"]})
            text = _flag_text(cid, before["kind"], members[cid], got, groups, child_group, case_of)
            if cid in best_rival and cid not in group_of:
                rival = case_of.get(best_rival[cid])
                if rival is not None:
                    text = "; ".join(filter(None, [text, f"its person is now case #{rival}'s (merged)"]))
            if text and text != before["flag"]:
                flags[cid] = f"{text} (run {run_id})"

        created: list[tuple[int, str]] = []  # (group index, flag)
        for gi, g in enumerate(groups):
            if gi in case_of or not g.in_list:
                continue
            split = overlapped.get(gi)
            note = f"split from case #{split}: part of its person's records (run {run_id})" if split else ""
            created.append((gi, note))

        with self._store._write("bringing the cases up to a run") as conn:
            claimed = conn.execute(
                self._store._insert(case_syncs)
                .values(run_id=run_id, synced_at=now, cases=0, in_list=0)
                .on_conflict_do_nothing(index_elements=[case_syncs.c.run_id])
                .returning(case_syncs.c.run_id)
            ).first()
            if claimed is None:
                return SyncResult(run_id, False)
            cols = [*_FIGURES, "seen_run_id"]
            if updates:
                stmt = (
                    sa.update(cases)
                    .where(c.id == sa.bindparam("b_id"))
                    .values({k: sa.bindparam(k) for k in cols} | {"updated_at": now})
                )
                for chunk in _chunks(updates, _CHUNK):
                    conn.execute(stmt, [{k: u[k] for k in ["b_id", *cols]} for u in chunk])
            if created:
                rows = [
                    {
                        "kind": groups[gi].kind,
                        "state": "open",
                        "created_at": now,
                        "updated_at": now,
                        "created_run_id": run_id,
                        "seen_run_id": run_id,
                        "flag": flag or None,
                        "flagged_at": now if flag else None,
                        **groups[gi].figures(cohort_rank),
                    }
                    for gi, flag in created
                ]
                ids = self._new_ids(conn, len(rows))
                for new_row, cid in zip(rows, ids, strict=True):
                    new_row["id"] = cid
                self._bulk_insert(conn, cases, rows)
                for (gi, flag), cid in zip(created, ids, strict=True):
                    new_idents[int(cid)] = groups[gi].ids
                    new_members[int(cid)] = groups[gi].members()
                    events.append(_event(int(cid), now, "created", f"run {run_id}"))
                    if flag:
                        events.append(_event(int(cid), now, "flagged", flag))
            if flags:
                stmt = (
                    sa.update(cases)
                    .where(c.id == sa.bindparam("b_id"))
                    .values(flag=sa.bindparam("b_flag"), flagged_at=now)
                )
                conn.execute(stmt, [{"b_id": cid, "b_flag": text} for cid, text in flags.items()])
                events += [_event(cid, now, "flagged", text) for cid, text in flags.items()]
            for cids in _chunks(list(new_idents), _CHUNK):
                conn.execute(sa.delete(case_identities).where(i.case_id.in_(cids)))
            rows_i = [{"case_id": cid, "record_id": rid} for cid, ids_ in new_idents.items() for rid in ids_]
            self._bulk_insert(conn, case_identities, rows_i)
            for cids in _chunks(list(new_members), _CHUNK):
                conn.execute(sa.delete(case_members).where(m.case_id.in_(cids)))
            rows_m = [
                dict(zip(("child_key", "status", "cohort", "facility", "facility_name"), t, strict=True))
                | {"case_id": cid}
                for cid, ts in new_members.items()
                for t in ts
            ]
            self._bulk_insert(conn, case_members, rows_m)
            self._bulk_insert(conn, case_events, events)
            total = int(conn.execute(sa.select(sa.func.count()).select_from(cases)).scalar_one())
            listed = int(
                conn.execute(
                    sa.select(sa.func.count()).where(c.in_list.is_(True), c.seen_run_id == run_id)
                ).scalar_one()
            )
            conn.execute(
                sa.update(case_syncs).where(case_syncs.c.run_id == run_id).values(cases=total, in_list=listed)
            )
        return SyncResult(
            run_id,
            True,
            cases=total,
            in_list=listed,
            created=len(created),
            followed_by_identity=len(followed),
            flagged=len(flags) + sum(1 for _, f in created if f),
        )

    def _new_ids(self, conn: sa.Connection, n: int) -> list[int]:
        """``n`` new case ids (only a sync creates cases, and it holds the sync lock)."""
        if n == 0:
            return []
        if self._store.backend == "postgresql":
            stmt = sa.text(
                "SELECT nextval(pg_get_serial_sequence('cases', 'id')) FROM generate_series(1, :n)"
            )
            return [int(v) for v in conn.execute(stmt, {"n": n}).scalars()]
        top = int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(cases.c.id), 0))).scalar_one())
        return list(range(top + 1, top + 1 + n))

    def _bulk_insert(self, conn: sa.Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]]) -> None:
        """Many rows at once: COPY on PostgreSQL (statements of thousands of rows are slow to
        build there), batched INSERTs on SQLite."""
        if not rows:
            return
        if self._store.backend == "postgresql":
            names = [col.name for col in table.columns if col.name in rows[0]]
            copy_rows(
                conn,
                f"COPY {table.name} ({', '.join(names)}) FROM STDIN",
                ([row[n] for n in names] for row in rows),
            )
            return
        for chunk in _chunks(rows, 5000):
            conn.execute(sa.insert(table), list(chunk))

    # -- reading ---------------------------------------------------------------------------------

    def _where(self, run_id: str, f: CaseFilter) -> list[sa.ColumnElement[bool]]:
        c = cases.c
        where: list[sa.ColumnElement[bool]] = [c.in_list.is_(True), c.seen_run_id == run_id]
        if f.kind:
            where.append(c.kind == f.kind)
        if f.cohorts is not None:
            where.append(c.cohort.in_(list(f.cohorts)))
        if f.location_state:
            where.append(c.location_state == f.location_state)
        if f.country:
            where.append(c.country == f.country)
        if f.assignee == "-":
            where.append(c.assignee.is_(None))
        elif f.assignee:
            where.append(c.assignee == f.assignee)
        if f.state:
            where.append(c.state == f.state)
        if f.flagged is not None:
            where.append(c.flag.is_not(None) if f.flagged else c.flag.is_(None))
        if f.facility:
            m = case_members.c
            where.append(sa.exists().where(m.case_id == c.id, m.facility == f.facility))
        return where

    def count_cases(self, run_id: str, f: CaseFilter) -> int:
        """How many cases of the run's list the filter keeps."""
        stmt = sa.select(sa.func.count()).select_from(cases).where(*self._where(run_id, f))
        with self._store._read("counting cases") as conn:
            return int(conn.execute(stmt).scalar_one())

    def list_cases(
        self,
        run_id: str,
        f: CaseFilter,
        *,
        cohort_order: Sequence[str] = (),
        sort: str = "deadline",
        offset: int = 0,
        limit: int = 50,
    ) -> list[Case]:
        """A page of the run's list. ``deadline`` (default): the earliest cohort deadline first
        (``cohort_order``), then the longest unresolved; ``days_unresolved``; ``case``: by id."""
        c = cases.c
        cohort_order = tuple(cohort_order) or COHORTS
        urgency = sa.case(
            {co: n for n, co in enumerate(cohort_order)}, value=c.cohort, else_=len(cohort_order)
        )
        longest = c.days_unresolved.desc().nulls_last()
        orders: dict[str, list[Any]] = {
            "deadline": [urgency, longest, c.id],
            "days_unresolved": [longest, c.id],
            "case": [c.id],
        }
        order = orders.get(sort, orders["deadline"])
        stmt = (
            sa.select(cases)
            .where(*self._where(run_id, f))
            .order_by(*order)
            .offset(max(0, offset))
            .limit(max(1, min(limit, 500)))
        )
        with self._store._read("reading a page of cases") as conn:
            return [_case(r) for r in conn.execute(stmt).mappings()]

    def iter_list(self, run_id: str, f: CaseFilter, cohort_order: Sequence[str] = ()) -> Iterator[Case]:
        """Every case of the run's list the filter keeps, in the list's default order."""
        offset = 0
        while page := self.list_cases(run_id, f, cohort_order=cohort_order, offset=offset, limit=500):
            yield from page
            offset += len(page)

    def get_case(self, case_id: int) -> Case:
        """One case; NotFoundError when there is none."""
        with self._store._read("reading a case") as conn:
            row = conn.execute(sa.select(cases).where(cases.c.id == case_id)).mappings().first()
        if row is None:
            raise NotFoundError(f"no case #{case_id}")
        return _case(row)

    def members(self, case_ids: Sequence[int]) -> dict[int, list[Member]]:
        """The children of each case, by child key."""
        out: dict[int, list[Member]] = {cid: [] for cid in case_ids}
        m = case_members.c
        with self._store._read("reading case members") as conn:
            for cids in _chunks(list(case_ids), _CHUNK):
                for r in conn.execute(
                    sa.select(case_members).where(m.case_id.in_(cids)).order_by(m.case_id, m.child_key)
                ).mappings():
                    out[int(r["case_id"])].append(Member(**r))
        return out

    def results_of(self, run_id: str, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The export objects of these children (by child key) in a run, in one read."""
        return browse.results_of(self._store, run_id, keys)

    def identities(self, case_id: int) -> list[str]:
        """The tagged record ids a case follows."""
        i = case_identities.c
        with self._store._read("reading a case's identity") as conn:
            return [
                str(v)
                for v in conn.execute(
                    sa.select(i.record_id).where(i.case_id == case_id).order_by(i.record_id)
                ).scalars()
            ]

    def cases_of_child(self, child_key: str) -> list[Case]:
        """The cases that hold this child (by its key), newest first."""
        m = case_members.c
        stmt = (
            sa.select(cases)
            .where(cases.c.id.in_(sa.select(m.case_id).where(m.child_key == child_key)))
            .order_by(cases.c.id.desc())
        )
        with self._store._read("reading a child's cases") as conn:
            return [_case(r) for r in conn.execute(stmt).mappings()]

    def facilities(self, run_id: str) -> list[tuple[str, str | None]]:
        """(facility id, name) of the children of the run's list (for the filter's choices)."""
        m, c = case_members.c, cases.c
        stmt = (
            sa.select(m.facility, sa.func.max(m.facility_name))
            .join(cases, c.id == m.case_id)
            .where(c.in_list.is_(True), c.seen_run_id == run_id, m.facility.is_not(None))
            .group_by(m.facility)
            .order_by(m.facility)
        )
        with self._store._read("listing the cases' facilities") as conn:
            return [(str(a), b) for a, b in conn.execute(stmt)]

    def distinct(self, run_id: str, column: str) -> list[str]:
        """The values of a list column (``country``, ``location_state``, ``assignee``) in the run's list."""
        col = cases.c[column]
        stmt = (
            sa.select(col)
            .where(cases.c.in_list.is_(True), cases.c.seen_run_id == run_id, col.is_not(None))
            .distinct()
            .order_by(col)
        )
        with self._store._read("listing case values") as conn:
            return [str(v) for v in conn.execute(stmt).scalars()]

    def list_figures(
        self, run_id: str
    ) -> tuple[dict[tuple[str, str | None], int], list[tuple[str, str | None, bool, str | None]]]:
        """What the court's figures count, cheap at any size: the cases of the run's list by
        (kind, cohort) (one GROUP BY), and (kind, cohort, reached, last stated wish) of each of
        them with at least one contact attempt (the worked cases: few beside the list)."""
        c, a = cases.c, contact_attempts.c
        listed = [c.in_list.is_(True), c.seen_run_id == run_id]
        counts = sa.select(c.kind, c.cohort, sa.func.count()).where(*listed).group_by(c.kind, c.cohort)
        attempts = (
            sa.select(a.case_id, c.kind, c.cohort, a.outcome, a.wish)
            .join(cases, c.id == a.case_id)
            .where(*listed)
            .order_by(a.case_id, a.attempted_at, a.id)
        )
        worked: dict[int, list[Any]] = {}
        with self._store._read("counting case work") as conn:
            by = {(str(kind), cohort): int(n) for kind, cohort, n in conn.execute(counts)}
            for cid, kind, cohort, outcome, wish in conn.execute(attempts):
                entry = worked.setdefault(int(cid), [str(kind), cohort, False, None])
                entry[2] = entry[2] or outcome == "reached"
                entry[3] = wish or entry[3]
        return by, [(k, co, bool(r), w) for k, co, r, w in worked.values()]

    def next_actions(self, run_id: str) -> dict[str, str]:
        """Child key -> the next action (with its due date) last recorded on the child's case in
        the run's list."""
        c, a, m = cases.c, contact_attempts.c, case_members.c
        stmt = (
            sa.select(m.child_key, a.next_action, a.next_action_due)
            .join(cases, c.id == m.case_id)
            .join(contact_attempts, a.case_id == c.id)
            .where(c.in_list.is_(True), c.seen_run_id == run_id, a.next_action != "")
            .order_by(a.attempted_at, a.id)
        )
        out: dict[str, str] = {}
        with self._store._read("reading next actions") as conn:
            for key, action, due in conn.execute(stmt):
                out[str(key)] = str(action) + (f" (by {due.isoformat()})" if due else "")
        return out

    def attempts(self, case_ids: Sequence[int]) -> dict[int, list[ContactAttempt]]:
        """The contact attempts of each case, oldest first."""
        out: dict[int, list[ContactAttempt]] = {cid: [] for cid in case_ids}
        a = contact_attempts.c
        with self._store._read("reading contact attempts") as conn:
            for cids in _chunks(list(case_ids), _CHUNK):
                for r in conn.execute(
                    sa.select(contact_attempts).where(a.case_id.in_(cids)).order_by(a.attempted_at, a.id)
                ).mappings():
                    out[int(r["case_id"])].append(ContactAttempt(**r))
        return out

    def events(self, case_id: int) -> list[CaseEvent]:
        """What happened to a case, oldest first."""
        e = case_events.c
        with self._store._read("reading case events") as conn:
            return [
                CaseEvent(**r)
                for r in conn.execute(
                    sa.select(case_events).where(e.case_id == case_id).order_by(e.at, e.id)
                ).mappings()
            ]

    # -- the work ------------------------------------------------------------------------------

    def _change(self, case_id: int, who: str, event: str, detail: str, values: Mapping[str, Any]) -> Case:
        now = self._store.now()
        with self._store._write("changing a case") as conn:
            done = conn.execute(
                sa.update(cases).where(cases.c.id == case_id).values(**values, updated_at=now)
            ).rowcount
            if not done:
                raise NotFoundError(f"no case #{case_id}")
            conn.execute(sa.insert(case_events).values(_event(case_id, now, event, detail, who)))
        return self.get_case(case_id)

    def assign(self, case_id: int, assignee: str | None, who: str) -> Case:
        """Give the case to a case worker (None: to nobody)."""
        return self._change(case_id, who, "assigned", f"to {assignee or 'nobody'}", {"assignee": assignee})

    def set_state(self, case_id: int, state: str, who: str, reason: str | None = None) -> Case:
        """Move the case to ``state``; ``closed`` needs a reason."""
        _check(state, CASE_STATES, "case state")
        reason = (reason or "").strip() or None
        if state == "closed" and reason is None:
            raise StoreError("a case is closed with a reason: say why")
        return self._change(
            case_id,
            who,
            "state",
            state + (f": {reason}" if reason else ""),
            {"state": state, "close_reason": reason if state == "closed" else None},
        )

    def clear_flag(self, case_id: int, who: str) -> Case:
        """A case worker has looked at the flag."""
        return self._change(case_id, who, "flag_seen", "", {"flag": None, "flagged_at": None})

    def add_attempt(
        self,
        case_id: int,
        *,
        attempted_at: datetime,
        channel: str,
        language: str,
        outcome: str,
        author: str,
        wish: str | None = None,
        notes: str = "",
        next_action: str = "",
        next_action_due: date | None = None,
    ) -> ContactAttempt:
        """Append a contact attempt (never changed afterwards); StoreError on an unknown code."""
        _check(channel, CONTACT_CHANNELS, "channel")
        _check(language, CONTACT_LANGUAGES, "language")
        _check(outcome, CONTACT_OUTCOMES, "outcome")
        _check(wish, STATED_WISHES, "stated wish", optional=True)
        now = self._store.now()
        values = {
            "case_id": case_id,
            "attempted_at": attempted_at,
            "channel": channel,
            "language": language,
            "outcome": outcome,
            "wish": wish,
            "notes": notes,
            "next_action": next_action,
            "next_action_due": next_action_due,
            "author": author,
            "recorded_at": now,
        }
        with self._store._write("recording a contact attempt") as conn:
            if conn.execute(sa.select(cases.c.id).where(cases.c.id == case_id)).first() is None:
                raise NotFoundError(f"no case #{case_id}")
            new_id = conn.execute(
                sa.insert(contact_attempts).values(**values).returning(contact_attempts.c.id)
            ).scalar_one()
            conn.execute(sa.update(cases).where(cases.c.id == case_id).values(updated_at=now))
        return ContactAttempt(id=int(new_id), **values)  # type: ignore[arg-type]


def _event(case_id: int, at: datetime, event: str, detail: str, who: str = SYSTEM) -> dict[str, Any]:
    return {"case_id": case_id, "at": at, "who": who, "event": event, "detail": detail}


def _flag_text(
    case_id: int,
    kind: str,
    before: set[tuple[Any, ...]],
    group: int | None,
    groups: Sequence[Group],
    child_group: Mapping[str, int],
    case_of: Mapping[int, int],
) -> str:
    """Why a case needs a look: a child it held is now in another group (ids only)."""
    parts = []
    for key in sorted({t[0] for t in before}):
        now = child_group.get(key)
        if now is None or now == group:
            continue  # no longer in the feeds, or still with this case
        target = groups[now]
        other = case_of.get(now)
        where = f" (case #{other})" if other is not None and other != case_id else ""
        if kind == "find_parent":
            parts.append(f"a parent was found for child {key}: {target.parent_key}{where}")
        elif target.kind == "parent":
            parts.append(f"child {key} is now linked to another adult, {target.parent_key}{where}")
        else:
            parts.append(f"child {key} has no parent linked any more (link dropped or DNA exclusion){where}")
    return "; ".join(parts)


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
