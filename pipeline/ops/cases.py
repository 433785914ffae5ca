"""Case work's services: the parents-to-locate list brought up to the published run, a case with
its children, attempts and events, the court's figures of case work, and the agencies' lists
(ICE ERO's parents to locate, ORR's children per facility, the court table).

The store part (cases that survive runs, the rule by which they follow a person) is
:mod:`pipeline.store.cases`; the vocabularies are declared once in :mod:`pipeline.store.schema`.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pipeline.ops.common import table
from pipeline.ops.deadlines import deadlines_of
from pipeline.ops.escape import term_text
from pipeline.ops.export import write_table_csv, write_table_xlsx
from pipeline.ops.result_row import result_rows
from pipeline.results import COHORTS, STATUS_WORDS, STATUSES
from pipeline.settings import Settings
from pipeline.store import RunInfo, Store
from pipeline.store.cases import (
    Case,
    CaseEvent,
    CaseFilter,
    CaseStore,
    ContactAttempt,
    Member,
    SyncResult,
)
from pipeline.store.schema import (
    CASE_KINDS,
    CASE_STATES,
    CONTACT_CHANNELS,
    CONTACT_LANGUAGES,
    CONTACT_OUTCOMES,
    STATED_WISHES,
)

__all__ = [
    "CASE_KINDS",
    "CASE_STATES",
    "CONTACT_CHANNELS",
    "CONTACT_LANGUAGES",
    "CONTACT_OUTCOMES",
    "STATED_WISHES",
]

#: The court's buckets of case work: every case of the list is in exactly one. A stated wish
#: counts as reached (whoever relayed it), the last one stated is the one that counts.
FIGURE_BUCKETS: dict[str, str] = {
    "not_contacted": "not contacted yet",
    "not_reached": "contacted, not reached",
    "reached_undecided": "reached, no wish stated (or undecided)",
    "wishes_reunification": "wishes reunification",
    "waives_reunification": "waives reunification",
}

#: What comes next for a child, by status (ORR's list; a case's next action comes first).
NEXT_STEPS: dict[str, str] = {
    "reunified": "none: reunified",
    "discharged_other": "none: discharged",
    "not_a_parent": "find the real parent (DNA excluded the linked adult)",
    "parent_removed": "reach the parent abroad (consulate, NGO) and ask their wish",
    "parent_in_criminal_custody": "reach the parent through the custodian; reunify after release",
    "safety_concern": "safety assessment before any reunification",
    "parent_released": "locate the released parent in the country",
    "eligible": "reunify: the parent is in ICE custody",
    "no_parent_match": "find the parent",
}


def deadlines_by_cohort(settings: Settings, as_of: date) -> dict[str, int]:
    """Days from the report date to each dated cohort's court deadline (pipeline.ops.deadlines)."""
    return {d.cohort: d.days_left for d in deadlines_of({}, settings, as_of)}


def cohort_order(settings: Settings, as_of: date) -> list[str]:
    """The cohorts by court deadline, earliest first; undated cohorts last."""
    days = deadlines_by_cohort(settings, as_of)
    return sorted(COHORTS, key=lambda c: (c not in days, days.get(c, 0), COHORTS.index(c)))


def current_run(store: Store, settings: Settings) -> str | None:
    """The published run the cases are brought up to (here, if its publish did not), or None."""
    run = store.latest_succeeded_run()
    if run is None:
        return None
    bring_up(store, settings, run)
    return run.id


def bring_up(store: Store, settings: Settings, run: RunInfo) -> SyncResult:
    """Bring the cases up to a published run: once (again is a no-op), by the rules of
    ``pipeline.store.cases``; the cohorts ranked by their court deadlines."""
    return CaseStore(store).sync(run.id, cohort_order(settings, run.as_of))


def bucket_of(contacted: bool, reached: bool, wish: str | None) -> str:
    """The figure bucket of one case (see FIGURE_BUCKETS)."""
    if wish == "reunify":
        return "wishes_reunification"
    if wish == "waive":
        return "waives_reunification"
    if reached or wish == "undecided":
        return "reached_undecided"
    return "not_reached" if contacted else "not_contacted"


@dataclass(slots=True)
class CohortCases:
    """The case work of one cohort (a case counts in its most urgent child's cohort)."""

    cohort: str
    parents_to_locate: int = 0  # the parent is known, their location is not
    parents_to_find: int = 0  # no parent found, or DNA excluded the linked adult
    buckets: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FIGURE_BUCKETS, 0))

    @property
    def cases(self) -> int:
        """Cases in the list."""
        return self.parents_to_locate + self.parents_to_find

    @property
    def contacted(self) -> int:
        """Cases with at least one contact attempt."""
        return self.cases - self.buckets["not_contacted"]

    @property
    def reached(self) -> int:
        """Cases whose parent was reached (or whose wish is known)."""
        return sum(
            self.buckets[b] for b in ("reached_undecided", "wishes_reunification", "waives_reunification")
        )

    def sums(self) -> bool:
        """True when the buckets sum to the cases."""
        return sum(self.buckets.values()) == self.cases


@dataclass(slots=True)
class CaseFigures:
    """The court's figures of case work for one run, per cohort, with their total."""

    run_id: str
    cohorts: list[CohortCases]
    total: CohortCases

    def checks(self) -> bool:
        """True when every cohort's buckets sum to its cases and the cohorts to the total."""
        return (
            all(c.sums() for c in [*self.cohorts, self.total])
            and sum(c.cases for c in self.cohorts) == self.total.cases
            and all(sum(c.buckets[b] for c in self.cohorts) == self.total.buckets[b] for b in FIGURE_BUCKETS)
        )

    def rows(self) -> list[list[object]]:
        """One row per cohort and the total: cases, to locate, to find, each bucket, contacted, reached."""
        return [
            [
                c.cohort,
                c.cases,
                c.parents_to_locate,
                c.parents_to_find,
                *(c.buckets[b] for b in FIGURE_BUCKETS),
                c.contacted,
                c.reached,
            ]
            for c in [*self.cohorts, self.total]
        ]

    def check_text(self) -> str:
        """The check in one line."""
        verdict = "OK" if self.checks() else "FAILED"
        return (
            f"case check {verdict}: in every cohort the buckets sum to its {self.total.cases} cases "
            f"in all; the cohorts sum to the total"
        )


FIGURE_HEAD: tuple[str, ...] = (
    "cohort",
    "cases",
    "parents to locate",
    "parents to find",
    *FIGURE_BUCKETS.values(),
    "contacted",
    "reached",
)


#: The figures' keys, column by column (JSON and the dashboard's data attributes).
FIGURE_KEYS: tuple[str, ...] = (
    "cohort",
    "cases",
    "parents_to_locate",
    "parents_to_find",
    *FIGURE_BUCKETS,
    "contacted",
    "reached",
)


def case_figures(store: Store, settings: Settings, run_id: str | None = None) -> CaseFigures | None:
    """The case figures of the published run (None for an older run: cases follow the latest)."""
    latest = current_run(store, settings)
    if latest is None or (run_id is not None and run_id != latest):
        return None
    by = {c: CohortCases(c) for c in COHORTS}
    total = CohortCases("total")

    def count(kind: str, cohort: str | None, n: int, bucket: str, before: str | None = None) -> None:
        for target in (by.setdefault(cohort or "unknown", CohortCases(cohort or "unknown")), total):
            if before is None:
                if kind == "parent":
                    target.parents_to_locate += n
                else:
                    target.parents_to_find += n
            else:
                target.buckets[before] -= n
            target.buckets[bucket] += n

    listed, worked = CaseStore(store).list_figures(latest)
    for (kind, cohort), n in listed.items():
        count(kind, cohort, n, "not_contacted")
    for kind, cohort, reached, wish in worked:  # contacted: out of "not contacted"
        count(kind, cohort, 1, bucket_of(True, reached, wish), before="not_contacted")
    return CaseFigures(latest, list(by.values()), total)


def figures_json(figures: CaseFigures) -> dict[str, Any]:
    """The figures as JSON (aggregates only)."""
    return {
        "run_id": figures.run_id,
        "by_cohort": {
            c.cohort: {
                "cases": c.cases,
                "parents_to_locate": c.parents_to_locate,
                "parents_to_find": c.parents_to_find,
                "contacted": c.contacted,
                "reached": c.reached,
                **c.buckets,
            }
            for c in [*figures.cohorts, figures.total]
        },
        "check": figures.checks(),
    }


# -- the list and one case -------------------------------------------------------------------


def case_filter(params: Mapping[str, Any], settings: Settings, as_of: date) -> CaseFilter:
    """The list's filter from a page's or the API's parameters (codes only). ``days``: cases
    whose cohort's court deadline is at most that many days away (passed ones included)."""

    def get(name: str) -> str | None:
        value = params.get(name)
        return (str(value).strip() or None) if value is not None else None

    cohort = get("cohort")
    cohorts: tuple[str, ...] | None = (cohort,) if cohort else None
    days = get("days")
    if days is not None:
        try:
            limit = int(days)
        except ValueError:
            limit = None
        if limit is not None:
            near = tuple(c for c, d in deadlines_by_cohort(settings, as_of).items() if d <= limit)
            cohorts = tuple(c for c in (cohorts or near) if c in near)
    flagged = {"yes": True, "no": False}.get(get("flagged") or "")
    return CaseFilter(
        kind=get("kind"),
        cohorts=cohorts,
        location_state=get("location"),
        country=get("country"),
        facility=get("facility"),
        assignee=get("assignee"),
        state=get("state"),
        flagged=flagged,
    )


@dataclass(frozen=True, slots=True)
class ListRow:
    """One row of the parents-to-locate page: the case, its children and the parent's export part."""

    case: Case
    members: list[Member]
    parent: dict[str, Any] | None
    location: dict[str, Any]
    children: list[dict[str, Any]]
    days_to_deadline: int | None

    @property
    def child_ids(self) -> list[str]:
        """The children's keys (for the audit trail)."""
        return [m.child_key for m in self.members]


def list_rows(store: Store, settings: Settings, run_id: str, found: Sequence[Case]) -> list[ListRow]:
    """The page's rows for these cases (their members' export objects read, a page at a time)."""
    run = store.get_run(run_id)
    days = deadlines_by_cohort(settings, run.as_of) if run else {}
    cs = CaseStore(store)
    members = cs.members([c.id for c in found])
    by_run: dict[str, list[str]] = {}
    for case in found:
        by_run.setdefault(case.seen_run_id, []).extend(m.child_key for m in members.get(case.id, []))
    read = {run: cs.results_of(run, keys) for run, keys in by_run.items()}
    rows = []
    for case in found:
        mine = members.get(case.id, [])
        results = read.get(case.seen_run_id, {})
        objs = [results[m.child_key] for m in mine if m.child_key in results]
        lead = next((o for o in objs if o.get("parent")), objs[0] if objs else {})
        rows.append(
            ListRow(
                case=case,
                members=mine,
                parent=(lead.get("parent") if case.kind == "parent" else None),
                location=lead.get("parent_location") or {},
                children=objs,
                days_to_deadline=days.get(case.cohort or ""),
            )
        )
    return rows


@dataclass(frozen=True, slots=True)
class CaseView:
    """One case: its row, the record ids it follows, attempts and events."""

    row: ListRow
    identity: list[str]
    attempts: list[ContactAttempt]
    events: list[CaseEvent]

    @property
    def next_action(self) -> ContactAttempt | None:
        """The latest attempt that names a next action."""
        return next((a for a in reversed(self.attempts) if a.next_action), None)


def case_view(store: Store, settings: Settings, case_id: int) -> CaseView:
    """One case, whole (brought up to the published run first); NotFoundError when there is none."""
    current_run(store, settings)
    cs = CaseStore(store)
    case = cs.get_case(case_id)
    row = list_rows(store, settings, case.seen_run_id, [case])[0]
    return CaseView(row, cs.identities(case_id), cs.attempts([case_id])[case_id], cs.events(case_id))


def child_cases(store: Store, settings: Settings, key: str) -> list[tuple[Case, list[ContactAttempt]]]:
    """The cases that hold a child, with their contact attempts (the child page, `reunify show`)."""
    current_run(store, settings)
    cs = CaseStore(store)
    found = cs.cases_of_child(key)
    attempts = cs.attempts([c.id for c in found])
    return [(c, attempts[c.id]) for c in found]


def attempt_line(a: ContactAttempt) -> str:
    """One attempt in words (for the terminal)."""
    wish = f", wish: {STATED_WISHES[a.wish]}" if a.wish else ""
    nxt = f"; next: {a.next_action}" + (f" by {a.next_action_due.isoformat()}" if a.next_action_due else "")
    return (
        f"{a.attempted_at.strftime('%Y-%m-%d %H:%M')} {CONTACT_CHANNELS[a.channel]} in "
        f"{CONTACT_LANGUAGES[a.language]}: {CONTACT_OUTCOMES[a.outcome]}{wish} (by {a.author})"
        + (f"; notes: {a.notes}" if a.notes else "")
        + (nxt if a.next_action else "")
    )


def render_child_cases(store: Store, settings: Settings, key: str) -> str:
    """The case-work section of ``reunify show CHILD``."""
    found = child_cases(store, settings, key)
    if not found:
        return "Case work: no case holds this child\n"
    out = ["Case work"]
    for case, attempts in found:
        who = case.assignee or "nobody"
        state = CASE_STATES[case.state] + (f" ({case.close_reason})" if case.close_reason else "")
        out.append(f"  case #{case.id} ({CASE_KINDS[case.kind]}): {state}, assigned to {who}")
        if case.flag:
            out.append(f"    flagged: {case.flag}")
        if not attempts:
            out.append("    no contact attempt yet")
        out += [f"    {term_text(attempt_line(a))}" for a in attempts]
    return "\n".join(out) + "\n"


# -- the agencies' lists ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AgencyTable:
    """A list for an agency: its columns, rows, and the children it names (for the audit trail)."""

    name: str
    columns: tuple[str, ...]
    rows: list[list[Any]]
    child_ids: list[str]


def _parents_to_locate(store: Store, settings: Settings, run_id: str) -> AgencyTable:
    """ICE ERO: each parent to locate, with the ids and A-number to find them by, the last known
    custody and country, and the children's ids and shelters."""
    cs = CaseStore(store)
    run = store.get_run(run_id)
    order = cohort_order(settings, run.as_of) if run else list(COHORTS)
    found = list(cs.iter_list(run_id, CaseFilter(kind="parent"), order))
    members = cs.members([c.id for c in found])
    attempts = cs.attempts([c.id for c in found])
    results = {r.child_key: r for r in result_rows(store, run_id)}
    rows: list[list[Any]] = []
    child_ids: list[str] = []
    for case in found:
        mine = members.get(case.id, [])
        objs = [results[m.child_key] for m in mine if m.child_key in results]
        # a parent case's children share the parent: the first with a parent found speaks for all
        lead = next((o for o in objs if o.parent is not None), None)
        parent = lead.parent if lead is not None else None
        loc = lead.parent_location if lead is not None else None
        nxt = next((a for a in reversed(attempts.get(case.id, [])) if a.next_action), None)
        child_ids += [m.child_key for m in mine]
        rows.append(
            [
                case.id,
                ";".join(parent.ice_record_ids) if parent else "",
                ";".join(parent.removal_record_ids) if parent else "",
                (parent.a_number if parent else None) or "",
                (parent.name if parent else None) or "",
                (loc.state if loc else None) or "",
                (loc.facility if loc else None) or "",
                (loc.since if loc else None) or "",
                (loc.country if loc else None) or "",
                "" if case.days_unresolved is None else case.days_unresolved,
                ";".join(";".join(o.child_record_ids) for o in objs),
                ";".join(sorted({m.facility or "" for m in mine} - {""})),
                case.cohort or "",
                CASE_STATES[case.state],
                case.assignee or "",
                (nxt.next_action if nxt else ""),
                (nxt.next_action_due.isoformat() if nxt and nxt.next_action_due else ""),
            ]
        )
    columns = (
        "case",
        "parent_ice_record_ids",
        "parent_removal_record_ids",
        "parent_a_number",
        "parent_name",
        "last_known_custody",
        "custody_facility",
        "custody_since",
        "country",
        "days_unresolved",
        "children_record_ids",
        "children_facilities",
        "cohort",
        "case_state",
        "assignee",
        "next_action",
        "next_action_due",
    )
    return AgencyTable("parents-to-locate", columns, rows, child_ids)


def _children_per_facility(store: Store, settings: Settings, run_id: str) -> AgencyTable:
    """ORR: every child by shelter, with the status, whether a parent was found, the parent's
    location and the next step (the case's next action when one is recorded)."""
    cs = CaseStore(store)
    facilities = cs.child_facilities(run_id)
    next_of = cs.next_actions(run_id)
    rows: list[list[Any]] = []
    for r in result_rows(store, run_id):
        known = [facilities[i] for i in r.child_record_ids if i in facilities]
        fac = max(known, key=lambda f: f[2]) if known else (None, None, "")
        loc = r.parent_location
        rows.append(
            [
                fac[0] or "",
                fac[1] or "",
                ";".join(r.child_record_ids),
                r.name or "",
                r.cohort,
                r.status,
                STATUS_WORDS.get(r.status, r.status),
                "yes" if r.parent is not None and r.status != "not_a_parent" else "no",
                loc.state or "",
                loc.facility or "",
                loc.country or "",
                next_of.get(r.child_key) or NEXT_STEPS.get(r.status, ""),
            ]
        )
    rows.sort(key=lambda row: (row[0], row[2]))
    columns = (
        "facility_id",
        "facility_name",
        "child_record_ids",
        "child_name",
        "cohort",
        "status",
        "status_words",
        "parent_found",
        "parent_location",
        "parent_location_facility",
        "parent_location_country",
        "next_step",
    )
    return AgencyTable("children-per-facility", columns, rows, [str(row[2]).split(";")[0] for row in rows])


def _court_table(store: Store, settings: Settings, run_id: str) -> AgencyTable:
    """The court: children per cohort and status with totals, then the case figures (the
    report's numbers). Aggregates only."""
    totals = store.result_totals(run_id)
    cells = totals.by_cohort_status
    rows: list[list[Any]] = []
    for s in STATUSES:
        by = [cells.get(c, {}).get(s, 0) for c in COHORTS]
        rows.append(["children by status", s, *by, sum(by)])
    by = [sum(cells.get(c, {}).values()) for c in COHORTS]
    rows.append(["children by status", "total", *by, sum(by)])
    figures = case_figures(store, settings, run_id)
    if figures is not None:
        per = {c.cohort: c for c in figures.cohorts}
        for label, get in (
            ("cases", lambda c: c.cases),
            ("parents to locate", lambda c: c.parents_to_locate),
            ("parents to find", lambda c: c.parents_to_find),
            *((words, _bucket_getter(b)) for b, words in FIGURE_BUCKETS.items()),
            ("contacted", lambda c: c.contacted),
            ("reached", lambda c: c.reached),
        ):
            rows.append(["case work", label, *(get(per[c]) for c in COHORTS), get(figures.total)])
    return AgencyTable("court-table", ("section", "row", *COHORTS, "total"), rows, [])


def _bucket_getter(bucket: str) -> Callable[[CohortCases], int]:
    return lambda c: c.buckets[bucket]


#: The agencies' lists by name (`reunify export --list NAME`, the console's downloads).
AGENCY_LISTS: dict[str, Callable[[Store, Settings, str], AgencyTable]] = {
    "parents-to-locate": _parents_to_locate,
    "children-per-facility": _children_per_facility,
    "court-table": _court_table,
}
#: What each list is for, in a line.
LIST_PURPOSES: dict[str, str] = {
    "parents-to-locate": "for ICE ERO: parent ids, A-numbers, last custody, country, children, shelters",
    "children-per-facility": "for ORR shelters: each child's status, parent found, location, next step",
    "court-table": "for the court: cohort x status with totals, and the case figures",
}
LIST_FORMATS: tuple[str, ...] = ("csv", "xlsx")


def agency_list(store: Store, settings: Settings, name: str) -> AgencyTable:
    """One of the agencies' lists over the published run (cases brought up to it first)."""
    from pipeline.errors import NotFoundError, RunFailedError

    if name not in AGENCY_LISTS:
        raise NotFoundError(f"no list {name!r}: one of {', '.join(AGENCY_LISTS)}")
    run_id = current_run(store, settings)
    if run_id is None:
        raise RunFailedError("no successful run yet: run `reunify run` first")
    return AGENCY_LISTS[name](store, settings, run_id)


def list_bytes(found: AgencyTable, fmt: str) -> bytes:
    """The list as a CSV (UTF-8) or XLSX file's bytes."""
    if fmt == "xlsx":
        buf = io.BytesIO()
        write_table_xlsx(found.columns, found.rows, buf, title=found.name)
        return buf.getvalue()
    text = io.StringIO()
    write_table_csv(found.columns, found.rows, text)
    return text.getvalue().encode("utf-8")


def render_figures_text(figures: CaseFigures | None) -> str:
    """The case figures as a terminal table (the text report)."""
    if figures is None:
        return "Case work: kept for the latest published run only\n"
    return (
        "Case work: parents to locate and to find, by cohort\n"
        + table(list(FIGURE_HEAD), figures.rows(), right=tuple(range(1, len(FIGURE_HEAD))))
        + "\n"
        + figures.check_text()
        + "\n"
    )
